/* Activation tests: closed-form values, derivatives against central
 * differences, the float32 kernels against float64, RReLU's two modes. */
#include "testutil.h"

#include <lrmlp.h>
#include <float.h>
#include <math.h>
#include <string.h>

START_TEST(test_known_values)
{
    struct { lrmlp_activation a; double x, y; } c[] = {
        {LRMLP_ACT_IDENTITY, -2.5, -2.5},
        {LRMLP_ACT_TANH, 0.5, 0.46211715726000974},
        {LRMLP_ACT_SIGMOID, 0.0, 0.5},
        {LRMLP_ACT_SIGMOID, -800.0, 0.0},
        {LRMLP_ACT_SOFTPLUS, 0.0, 0.69314718055994531},
        {LRMLP_ACT_SOFTPLUS, 800.0, 800.0},
        {LRMLP_ACT_ELU, -1.0, -0.63212055882855767},
        {LRMLP_ACT_ELU, 2.0, 2.0},
        {LRMLP_ACT_GELU, 1.0, 0.84134474606854293},
        {LRMLP_ACT_GELU_TANH, 1.0, 0.84119199060827676},
        {LRMLP_ACT_SILU, 1.0, 0.73105857863000487},
        {LRMLP_ACT_RELU, -3.0, 0.0},
        {LRMLP_ACT_LEAKY_RELU, -3.0, -0.03},
        {LRMLP_ACT_RRELU, -4.8, -4.8 * 11.0 / 48.0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double y;
        ck_assert_int_eq(lrmlp_activation_eval(c[i].a, c[i].x, &y, NULL), LRMLP_OK);
        ck_assert_msg(fabs(y - c[i].y) < 1e-12 * (1 + fabs(c[i].y)), "%s(%g) = %.17g, want %.17g",
                      lrmlp_activation_name(c[i].a), c[i].x, y, c[i].y);
    }
}
END_TEST

START_TEST(test_derivatives_fd)
{
    lrmlp_activation a = (lrmlp_activation)_i;
    const double h = 1e-6;
    for (double x = -6.0; x <= 6.0; x += 0.0731) {
        if (fabs(x) < 10 * h)
            continue;
        double d, yp, ym;
        ck_assert_int_eq(lrmlp_activation_eval(a, x, NULL, &d), LRMLP_OK);
        lrmlp_activation_eval(a, x + h, &yp, NULL);
        lrmlp_activation_eval(a, x - h, &ym, NULL);
        double fd = (yp - ym) / (2 * h);
        ck_assert_msg(fabs(fd - d) < 1e-7 * (1 + fabs(d)), "%s'(%g) = %.12g, fd %.12g",
                      lrmlp_activation_name(a), x, d, fd);
    }
}
END_TEST

/* A 1x1 network of dtype dt with weight 1 and output activation a: its
 * outputs are the activation's kernels applied to the inputs. */
static lrmlp_net *unit_net(lrmlp_dtype dt, lrmlp_activation a)
{
    const size_t w[] = {1, 1};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = 1;
    o.widths = w;
    o.output_activation = a;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    float onef = 1.0f;
    double oned = 1.0;
    ck_assert_int_eq(dt == LRMLP_F32 ? lrmlp_net_set_weights_f32(net, 0, &onef)
                                     : lrmlp_net_set_weights_f64(net, 0, &oned),
                     LRMLP_OK);
    return net;
}

/* Y = act(X) for n points evenly spaced on [lo, hi] through the float32
 * kernels (evaluation mode). */
static void eval_f32(lrmlp_activation a, double lo, double hi, float *X, float *Y, int n)
{
    lrmlp_net *net = unit_net(LRMLP_F32, a);
    for (int i = 0; i < n; i++)
        X[i] = (float)(lo + (hi - lo) * i / (n - 1));
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, (size_t)n, Y), LRMLP_OK);
    lrmlp_net_free(net);
}

/* The float32 kernels (including the rational tanh) against float64 libm. */
START_TEST(test_f32_kernels)
{
    lrmlp_activation a = (lrmlp_activation)_i;
    if (a == LRMLP_ACT_RRELU)
        return; /* random in training; evaluation is the linear case below */
    enum { N = 4001 };
    static float X[N], Y[N];
    eval_f32(a, -10.0, 10.0, X, Y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double ref;
        lrmlp_activation_eval(a, (double)X[i], &ref, NULL);
        double err = fabs((double)Y[i] - ref) / (fabs(ref) > 1e-3 ? fabs(ref) : 1e-3);
        worst = err > worst ? err : worst;
    }
    /* A few float ulps: 1e-6 relative (absolute near zero). */
    ck_assert_msg(worst < 1e-6, "%s: worst relative error %g", lrmlp_activation_name(a), worst);
}
END_TEST

/* Subnormal activations slow every later GEMM down several times on x86;
 * the float kernels return 0 (or exact tails) instead. */
START_TEST(test_f32_no_subnormals)
{
    lrmlp_activation a = (lrmlp_activation)_i;
    enum { N = 12001 };
    static float X[N], Y[N];
    eval_f32(a, -60.0, 60.0, X, Y, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fpclassify(Y[i]) != FP_SUBNORMAL, "%s(%g) = %g is subnormal",
                      lrmlp_activation_name(a), (double)X[i], (double)Y[i]);
}
END_TEST

/* The float64 tanh kernel (exp_kd and Cephes's rational function, not
 * libm) within 4 ulp of libm's tanh, through the vectorized loop of a 1x1
 * network: a dense sweep, the branch point 0.625, tiny and subnormal
 * inputs, and the saturated range. */
START_TEST(test_f64_tanh_ulp)
{
    enum { N = 40001, M = 16 };
    static double X[N + M], Y[N + M];
    for (int i = 0; i < N; i++)
        X[i] = -25.0 + 50.0 * i / (N - 1);
    const double extra[M] = {0.625, nextafter(0.625, 0), nextafter(0.625, 1), -0.625, 1e-300,
                             4.9e-324, -2.2e-308, 1e-8, -3e-5, 0.1, 19.0, 21.99, 22.0, 30.0,
                             700.0, -1e300};
    memcpy(X + N, extra, sizeof extra);
    lrmlp_net *net = unit_net(LRMLP_F64, LRMLP_ACT_TANH);
    ck_assert_int_eq(lrmlp_net_predict_f64(net, X, N + M, Y), LRMLP_OK);
    lrmlp_net_free(net);
    for (int i = 0; i < N + M; i++) {
        double ref = tanh(X[i]);
        double ulp = nextafter(fabs(ref), INFINITY) - fabs(ref);
        double e = fabs(Y[i] - ref) / ulp;
        ck_assert_msg(e <= 4.0, "tanh(%a) = %a, libm %a: %.1f ulp", X[i], Y[i], ref, e);
        ck_assert_msg(!signbit(Y[i]) == !signbit(ref), "tanh(%a): sign", X[i]);
    }
}
END_TEST

START_TEST(test_rrelu_modes)
{
    lrmlp_net *net = unit_net(LRMLP_F64, LRMLP_ACT_RRELU);
    double x = -1, t = 0, y, loss;
    ck_assert_int_eq(lrmlp_net_predict_f64(net, &x, 1, &y), LRMLP_OK);
    ck_assert_double_eq_tol(y, -11.0 / 48.0, 1e-15);
    double slopes[64];
    lrmlp_net_seed(net, 5);
    double lo = 1, hi = 0;
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(lrmlp_net_gradient_f64(net, &x, &t, 1, LRMLP_LOSS_SSE, &loss), LRMLP_OK);
        slopes[i] = sqrt(2 * loss); /* loss = 0.5 (a x)^2 with x = -1 */
        lo = slopes[i] < lo ? slopes[i] : lo;
        hi = slopes[i] > hi ? slopes[i] : hi;
    }
    ck_assert(lo >= 1.0 / 8.0 - 1e-15 && hi <= 1.0 / 3.0 + 1e-15);
    ck_assert(hi - lo > 0.1); /* they really vary */
    lrmlp_net_seed(net, 5);
    for (int i = 0; i < 64; i++) {
        lrmlp_net_gradient_f64(net, &x, &t, 1, LRMLP_LOSS_SSE, &loss);
        ck_assert(sqrt(2 * loss) == slopes[i]);
    }
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_names)
{
    for (int i = 0; i < LRMLP_ACT_COUNT_; i++) {
        lrmlp_activation a;
        const char *n = lrmlp_activation_name((lrmlp_activation)i);
        ck_assert_ptr_nonnull(n);
        ck_assert_int_eq(lrmlp_activation_from_name(n, &a), LRMLP_OK);
        ck_assert_int_eq(a, i);
    }
    lrmlp_activation a;
    ck_assert_int_eq(lrmlp_activation_from_name("GELU", &a), LRMLP_OK);
    ck_assert_int_eq(a, LRMLP_ACT_GELU);
    ck_assert_int_eq(lrmlp_activation_from_name("swish", &a), LRMLP_OK);
    ck_assert_int_eq(a, LRMLP_ACT_SILU);
    /* aliases, and '-' for '_' */
    static const struct { const char *name; lrmlp_activation act; } alias[] = {
        { "leaky", LRMLP_ACT_LEAKY_RELU }, { "Leaky-ReLU", LRMLP_ACT_LEAKY_RELU },
        { "gelu-tanh", LRMLP_ACT_GELU_TANH }, { "GELU_TANH", LRMLP_ACT_GELU_TANH },
        { "SWISH", LRMLP_ACT_SILU },
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
        a = LRMLP_ACT_IDENTITY;
        ck_assert_int_eq(lrmlp_activation_from_name(alias[i].name, &a), LRMLP_OK);
        ck_assert_int_eq(a, alias[i].act);
    }
    ck_assert_int_eq(lrmlp_activation_from_name("nope", &a), LRMLP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "'nope'"));
    ck_assert_int_eq(lrmlp_activation_from_name("gelu_", &a), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_activation_from_name("gel", &a), LRMLP_ERR_INVALID);
    /* the enum values are the stable ones stored in model files */
    ck_assert_int_eq(LRMLP_ACT_RRELU, 10);
    ck_assert_int_eq(LRMLP_ACT_COUNT_, 11);
    ck_assert_int_eq(LRMLP_INIT_ZERO, 7);
    ck_assert_int_eq(LRMLP_OPTIM_MUON, 4);
    ck_assert_int_eq(LRMLP_SCHEDULE_STEP, 2);
    ck_assert_int_eq(LRMLP_TRACK_GRAD_ANGLE_RIGHT, 6);
    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_ADAMW), "adamw");
    ck_assert_str_eq(lrmlp_schedule_name(LRMLP_SCHEDULE_COSINE), "cosine");
    ck_assert_ptr_null(lrmlp_schedule_name(LRMLP_SCHEDULE_COUNT_));
    ck_assert_str_eq(lrmlp_init_name(LRMLP_INIT_HE_NORMAL), "he_normal");
    ck_assert_ptr_null(lrmlp_init_name((lrmlp_init)-1));
    ck_assert_str_eq(lrmlp_track_quantity_name(LRMLP_TRACK_STABLE_RANK), "stable_rank");
    ck_assert_str_eq(lrmlp_loss_name(LRMLP_LOSS_CROSS_ENTROPY), "cross_entropy");
    ck_assert_ptr_null(lrmlp_loss_name(LRMLP_LOSS_COUNT_));
    ck_assert_ptr_null(lrmlp_activation_name(LRMLP_ACT_COUNT_));
    ck_assert_int_eq(lrmlp_activation_eval(LRMLP_ACT_COUNT_, 0, NULL, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_activation_eval(LRMLP_ACT_TANH, NAN, NULL, NULL), LRMLP_ERR_INVALID);
    /* The paper's smooth class: phi(0) = 0 and bounded phi', phi''. */
    ck_assert(lrmlp_activation_is_smooth(LRMLP_ACT_GELU));
    ck_assert(lrmlp_activation_is_smooth(LRMLP_ACT_ELU));
    ck_assert(!lrmlp_activation_is_smooth(LRMLP_ACT_RELU));
    ck_assert(!lrmlp_activation_is_smooth(LRMLP_ACT_SIGMOID));
    ck_assert_str_eq(lrmlp_loss_name(LRMLP_LOSS_SSE), "sse");
}
END_TEST

/* act(+inf), act(-inf), act(NaN) through a 1 -> 1 -> 1 network of dtype dt
 * (identity hidden layer of weight big, output layer weight 1 or 0): the
 * hidden value overflows to +-inf and inf * 0 makes the NaN. */
static void eval_special(lrmlp_dtype dt, lrmlp_activation a, double out[3])
{
    const size_t w[] = {1, 1, 1};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = 2;
    o.widths = w;
    o.hidden_activation = LRMLP_ACT_IDENTITY;
    o.output_activation = a;
    for (int k = 0; k < 3; k++) {
        lrmlp_net *net;
        ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
        if (dt == LRMLP_F32) {
            float w0 = FLT_MAX, w1 = k < 2 ? 1.0f : 0.0f, x = k == 1 ? -2.0f : 2.0f, y;
            ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 0, &w0), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 1, &w1), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_predict_f32(net, &x, 1, &y), LRMLP_OK);
            out[k] = y;
        } else {
            double w0 = DBL_MAX, w1 = k < 2 ? 1.0 : 0.0, x = k == 1 ? -2.0 : 2.0;
            ck_assert_int_eq(lrmlp_net_set_weights_f64(net, 0, &w0), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_set_weights_f64(net, 1, &w1), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_predict_f64(net, &x, 1, &out[k]), LRMLP_OK);
        }
        lrmlp_net_free(net);
    }
}

/* At +-inf every activation has its limit (never NaN), NaN stays NaN, and
 * the float32 kernels agree with float64 (the float exp kernel once turned
 * NaN into an integer and shifted a negative value: run under UBSan). */
START_TEST(test_nonfinite_inputs)
{
    lrmlp_activation a = (lrmlp_activation)_i;
    double y32[3], y64[3];
    eval_special(LRMLP_F32, a, y32);
    eval_special(LRMLP_F64, a, y64);
    const char *in[3] = {"inf", "-inf", "nan"};
    for (int k = 0; k < 3; k++) {
        const char *nm = lrmlp_activation_name(a);
        if (k == 2) {
            ck_assert_msg(isnan(y32[k]) && isnan(y64[k]), "%s(nan): f32 %g, f64 %g", nm, y32[k],
                          y64[k]);
            continue;
        }
        ck_assert_msg(!isnan(y64[k]), "%s(%s) is NaN in float64", nm, in[k]);
        ck_assert_msg(!isnan(y32[k]), "%s(%s) is NaN in float32", nm, in[k]);
        if (isinf(y64[k]))
            ck_assert_msg(y32[k] == y64[k], "%s(%s): f32 %g, f64 %g", nm, in[k], y32[k], y64[k]);
        else
            ck_assert_msg(fabs(y32[k] - y64[k]) <= 1e-30 + 1e-6 * fabs(y64[k]),
                          "%s(%s): f32 %g, f64 %g", nm, in[k], y32[k], y64[k]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("activation");
    tcase_add_test(tc, test_known_values);
    tcase_add_loop_test(tc, test_derivatives_fd, 0, LRMLP_ACT_COUNT_);
    tcase_add_loop_test(tc, test_f32_kernels, 0, LRMLP_ACT_COUNT_);
    tcase_add_loop_test(tc, test_f32_no_subnormals, 0, LRMLP_ACT_COUNT_);
    tcase_add_test(tc, test_f64_tanh_ulp);
    tcase_add_test(tc, test_rrelu_modes);
    tcase_add_loop_test(tc, test_nonfinite_inputs, 0, LRMLP_ACT_COUNT_);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
