/* Network tests: gradients against central finite differences for every
 * activation x loss (float64), float32 against float64, biases, freezing,
 * initializers, bad input. */
#include "testutil.h"

#include <lrmlp.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static lrmlp_net *make_net(lrmlp_dtype dt, size_t L, const size_t *w, lrmlp_activation hid,
                           lrmlp_activation outa, int bias, uint64_t seed)
{
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = L;
    o.widths = w;
    o.hidden_activation = hid;
    o.output_activation = outa;
    o.bias = bias;
    o.seed = seed;
    o.init = LRMLP_INIT_XAVIER_NORMAL;
    o.init_scale = 1.5;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    return net;
}

static void fill_data(double *X, double *T, size_t n, size_t d, size_t k, lrmlp_loss loss,
                      uint64_t seed)
{
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n * d; i++)
        X[i] = 1.5 * tu_rand(&s);
    for (size_t i = 0; i < n; i++) {
        if (loss == LRMLP_LOSS_CROSS_ENTROPY) {
            size_t c = (size_t)((tu_rand(&s) + 1.0) * 0.5 * (double)k) % k;
            for (size_t j = 0; j < k; j++)
                T[i * k + j] = j == c ? 1.0 : 0.0;
        } else {
            for (size_t j = 0; j < k; j++)
                T[i * k + j] = tu_rand(&s);
        }
    }
}

/* Loss in training mode with the generator reset, so RReLU draws the same
 * slopes for every evaluation. */
static double train_loss(lrmlp_net *net, const double *X, const double *T, size_t n,
                         lrmlp_loss loss)
{
    double v = NAN;
    ck_assert_int_eq(lrmlp_net_seed(net, 99), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, n, loss, &v), LRMLP_OK);
    return v;
}

/* Smallest |pre-activation| over all layers and samples (evaluation mode),
 * computed independently of the library's forward pass. Central differences
 * are only meaningful for kinked activations when no pre-activation lies
 * within the step of the kink. */
static double min_abs_preact(lrmlp_net *net, const double *X, size_t n)
{
    size_t L = lrmlp_net_n_layers(net);
    double best = INFINITY;
    double *cur = malloc(64 * n * sizeof *cur), *nxt = malloc(64 * n * sizeof *nxt);
    memcpy(cur, X, n * lrmlp_net_width(net, 0) * sizeof *cur);
    for (size_t l = 0; l < L; l++) {
        size_t in = lrmlp_net_width(net, l), out = lrmlp_net_width(net, l + 1);
        double W[64 * 64], b[64] = {0};
        lrmlp_net_get_weights_f64(net, l, W);
        if (lrmlp_net_has_bias(net))
            lrmlp_net_get_bias_f64(net, l, b);
        for (size_t s = 0; s < n; s++)
            for (size_t j = 0; j < out; j++) {
                double z = b[j];
                for (size_t i = 0; i < in; i++)
                    z += W[j * in + i] * cur[s * in + i];
                if (fabs(z) < best)
                    best = fabs(z);
                lrmlp_activation_eval(lrmlp_net_activation(net, l), z, &nxt[s * out + j], NULL);
            }
        double *t = cur;
        cur = nxt;
        nxt = t;
    }
    free(cur);
    free(nxt);
    return best;
}

/* The relative error bound for central differences with h = 1e-6 in double:
 * truncation O(h^2) plus round-off O(eps/h), both far below 1e-5 here. */
#define FD_REL_TOL 1e-5

static void check_fd(lrmlp_activation act, lrmlp_loss loss, int bias, lrmlp_activation outa)
{
    const size_t w[] = {4, 5, 6, 3};
    const size_t n = 7, L = 3;
    lrmlp_net *net = make_net(LRMLP_F64, L, w, act, outa, bias, 1234 + (uint64_t)act);
    double X[7 * 4], T[7 * 3];
    uint64_t seed = 77 + (uint64_t)loss;
    fill_data(X, T, n, w[0], w[L], loss, seed);
    while (!lrmlp_activation_is_smooth(act) && min_abs_preact(net, X, n) < 1e-3)
        fill_data(X, T, n, w[0], w[L], loss, ++seed);
    size_t P = lrmlp_net_param_count(net);
    double *p = lrmlp_net_params(net);
    double *g = malloc(P * sizeof *g);
    train_loss(net, X, T, n, loss);
    memcpy(g, lrmlp_net_grads(net), P * sizeof *g);
    double num2 = 0, den2 = 0;
    const double h = 1e-6;
    for (size_t i = 0; i < P; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = train_loss(net, X, T, n, loss);
        p[i] = keep - h;
        double lm = train_loss(net, X, T, n, loss);
        p[i] = keep;
        double fd = (lp - lm) / (2 * h);
        num2 += (fd - g[i]) * (fd - g[i]);
        den2 += fd * fd + g[i] * g[i];
    }
    double rel = sqrt(num2 / (den2 > 0 ? den2 : 1));
    ck_assert_msg(den2 > 1e-12, "gradient vanished for %s", lrmlp_activation_name(act));
    ck_assert_msg(rel < FD_REL_TOL, "act %s loss %s bias %d: rel err %g",
                  lrmlp_activation_name(act), lrmlp_loss_name(loss), bias, rel);
    free(g);
    lrmlp_net_free(net);
}

START_TEST(test_fd_all)
{
    lrmlp_activation act = (lrmlp_activation)_i;
    for (int loss = 0; loss < LRMLP_LOSS_COUNT_; loss++)
        for (int bias = 0; bias < 2; bias++)
            check_fd(act, (lrmlp_loss)loss, bias, LRMLP_ACT_IDENTITY);
}
END_TEST

START_TEST(test_fd_output_activation)
{
    /* A non-identity output activation goes through the chain rule at the top. */
    check_fd(LRMLP_ACT_TANH, LRMLP_LOSS_SSE, 1, LRMLP_ACT_SIGMOID);
    check_fd(LRMLP_ACT_GELU, LRMLP_LOSS_MSE, 0, LRMLP_ACT_SOFTPLUS);
}
END_TEST

/* float32 gradients agree with float64 ones on the same weights and data. */
START_TEST(test_f32_vs_f64)
{
    lrmlp_activation act = (lrmlp_activation)_i;
    const size_t w[] = {6, 8, 8, 4};
    const size_t n = 16, L = 3;
    for (int loss = 0; loss < LRMLP_LOSS_COUNT_; loss++) {
        lrmlp_net *nd = make_net(LRMLP_F64, L, w, act, LRMLP_ACT_IDENTITY, 1, 5);
        lrmlp_net *nf = make_net(LRMLP_F32, L, w, act, LRMLP_ACT_IDENTITY, 1, 5);
        size_t P = lrmlp_net_param_count(nd);
        double *pd = lrmlp_net_params(nd);
        float *pf = lrmlp_net_params(nf);
        for (size_t i = 0; i < P; i++)
            pf[i] = (float)pd[i], pd[i] = (double)pf[i];
        double X[16 * 6], T[16 * 4];
        float Xf[16 * 6], Tf[16 * 4];
        fill_data(X, T, n, w[0], w[L], (lrmlp_loss)loss, 3);
        for (size_t i = 0; i < n * w[0]; i++)
            Xf[i] = (float)X[i], X[i] = Xf[i];
        for (size_t i = 0; i < n * w[L]; i++)
            Tf[i] = (float)T[i];
        double ld, lf;
        lrmlp_net_seed(nd, 11);
        lrmlp_net_seed(nf, 11);
        ck_assert_int_eq(lrmlp_net_gradient_f64(nd, X, T, n, (lrmlp_loss)loss, &ld), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_gradient_f32(nf, Xf, Tf, n, (lrmlp_loss)loss, &lf), LRMLP_OK);
        ck_assert_double_eq_tol(lf, ld, 1e-4 * (1 + fabs(ld)));
        const double *gd = lrmlp_net_grads(nd);
        const float *gf = lrmlp_net_grads(nf);
        double num2 = 0, den2 = 0;
        for (size_t i = 0; i < P; i++) {
            num2 += ((double)gf[i] - gd[i]) * ((double)gf[i] - gd[i]);
            den2 += gd[i] * gd[i];
        }
        /* float32 round-off through 3 layers: relative error well below 1e-4. */
        ck_assert_msg(sqrt(num2 / den2) < 1e-4, "%s/%s: f32 vs f64 rel err %g",
                      lrmlp_activation_name(act), lrmlp_loss_name((lrmlp_loss)loss),
                      sqrt(num2 / den2));
        lrmlp_net_free(nd);
        lrmlp_net_free(nf);
    }
}
END_TEST

START_TEST(test_frozen)
{
    const size_t w[] = {3, 4, 2};
    lrmlp_net *a = make_net(LRMLP_F64, 2, w, LRMLP_ACT_TANH, LRMLP_ACT_IDENTITY, 1, 8);
    lrmlp_net *b = NULL;
    ck_assert_int_eq(lrmlp_net_clone(&b, a), LRMLP_OK);
    double X[5 * 3], T[5 * 2];
    fill_data(X, T, 5, 3, 2, LRMLP_LOSS_SSE, 4);
    ck_assert_int_eq(lrmlp_net_set_frozen(b, 0, 1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_is_frozen(b, 0), 1);
    ck_assert_int_eq(lrmlp_net_gradient_f64(a, X, T, 5, LRMLP_LOSS_SSE, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_gradient_f64(b, X, T, 5, LRMLP_LOSS_SSE, NULL), LRMLP_OK);
    double ga[12], gb[12];
    lrmlp_net_get_weight_grad_f64(b, 0, gb);
    for (int i = 0; i < 12; i++)
        ck_assert(gb[i] == 0.0);
    lrmlp_net_get_weight_grad_f64(a, 1, ga);
    lrmlp_net_get_weight_grad_f64(b, 1, gb);
    for (int i = 0; i < 8; i++)
        ck_assert(ga[i] == gb[i]);
    lrmlp_net_get_weight_grad_f64(a, 0, ga);
    int nonzero = 0;
    for (int i = 0; i < 12; i++)
        nonzero += ga[i] != 0.0;
    ck_assert_int_gt(nonzero, 0);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

START_TEST(test_orthogonal_init)
{
    const size_t shapes[][2] = {{6, 10}, {10, 6}, {7, 7}};
    for (int s = 0; s < 3; s++) {
        size_t w[] = {shapes[s][0], shapes[s][1]};
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.dtype = LRMLP_F64;
        o.n_layers = 1;
        o.widths = w;
        o.init = LRMLP_INIT_ORTHOGONAL;
        o.init_scale = 0.1;
        lrmlp_net *net;
        ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
        size_t in = w[0], out = w[1];
        double W[100];
        ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 0, W), LRMLP_OK);
        /* Gram matrix of the shorter side equals eps^2 I. */
        size_t r = in < out ? in : out;
        for (size_t a = 0; a < r; a++)
            for (size_t b = 0; b < r; b++) {
                double dot = 0;
                if (out >= in) /* columns orthonormal */
                    for (size_t i = 0; i < out; i++)
                        dot += W[i * in + a] * W[i * in + b];
                else
                    for (size_t j = 0; j < in; j++)
                        dot += W[a * in + j] * W[b * in + j];
                ck_assert_double_eq_tol(dot, a == b ? 0.01 : 0.0, 1e-14);
            }
        lrmlp_net_free(net);
    }
}
END_TEST

START_TEST(test_seed_determinism)
{
    const size_t w[] = {5, 7, 3};
    for (int init = 0; init < LRMLP_INIT_COUNT_; init++) {
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.n_layers = 2;
        o.widths = w;
        o.init = (lrmlp_init)init;
        o.bias = 1;
        o.seed = 42;
        lrmlp_net *a, *b, *c;
        ck_assert_int_eq(lrmlp_net_create(&a, &o), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_create(&b, &o), LRMLP_OK);
        o.seed = 43;
        ck_assert_int_eq(lrmlp_net_create(&c, &o), LRMLP_OK);
        size_t P = lrmlp_net_param_count(a);
        ck_assert_uint_eq(P, 5 * 7 + 7 + 7 * 3 + 3);
        ck_assert(memcmp(lrmlp_net_params(a), lrmlp_net_params(b), P * sizeof(float)) == 0);
        if (init != LRMLP_INIT_ZERO)
            ck_assert(memcmp(lrmlp_net_params(a), lrmlp_net_params(c), P * sizeof(float)) != 0);
        lrmlp_net_free(a);
        lrmlp_net_free(b);
        lrmlp_net_free(c);
    }
}
END_TEST

START_TEST(test_init_statistics)
{
    /* Large layer: empirical std/range matches the formula within 3%. */
    const size_t w[] = {400, 300};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 1;
    o.widths = w;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    const double *p = lrmlp_net_params(net);
    size_t P = 400 * 300;
    struct { lrmlp_init init; double scale, std; } cases[] = {
        {LRMLP_INIT_GAUSSIAN, 0.3, 0.3},
        {LRMLP_INIT_XAVIER_NORMAL, 1.0, sqrt(2.0 / 700.0)},
        {LRMLP_INIT_XAVIER_UNIFORM, 1.0, sqrt(6.0 / 700.0) / sqrt(3.0)},
        {LRMLP_INIT_HE_NORMAL, 1.0, sqrt(2.0 / 400.0)},
        {LRMLP_INIT_HE_UNIFORM, 1.0, sqrt(6.0 / 400.0) / sqrt(3.0)},
        {LRMLP_INIT_TORCH_DEFAULT, 1.0, 1.0 / sqrt(400.0) / sqrt(3.0)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_int_eq(lrmlp_net_init_layer(net, 0, cases[c].init, cases[c].scale), LRMLP_OK);
        double s2 = 0, mean = 0;
        for (size_t i = 0; i < P; i++)
            mean += p[i], s2 += p[i] * p[i];
        mean /= (double)P;
        double sd = sqrt(s2 / (double)P - mean * mean);
        ck_assert_msg(fabs(sd / cases[c].std - 1) < 0.03, "init %d: std %g want %g",
                      (int)cases[c].init, sd, cases[c].std);
    }
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_bad_input)
{
    const size_t w[] = {2, 3, 2};
    lrmlp_net *net = make_net(LRMLP_F32, 2, w, LRMLP_ACT_TANH, LRMLP_ACT_IDENTITY, 0, 1);
    float X[4] = {1, 2, NAN, 0}, Y[4], T[4] = {0, 1, 1, 0};
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 2, Y), LRMLP_ERR_NONFINITE);
    ck_assert(strstr(lrmlp_last_errmsg(), "NaN") != NULL);
    X[2] = 0.5f;
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 2, Y), LRMLP_OK);
    double Xd[4] = {0};
    double Yd[4];
    ck_assert_int_eq(lrmlp_net_predict_f64(net, Xd, 2, Yd), LRMLP_ERR_DTYPE);
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 0, Y), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_net_predict_f32(net, NULL, 2, Y), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_net_gradient_f32(net, X, T, 2, (lrmlp_loss)9, NULL),
                     LRMLP_ERR_INVALID);
    T[0] = INFINITY;
    ck_assert_int_eq(lrmlp_net_gradient_f32(net, X, T, 2, LRMLP_LOSS_SSE, NULL),
                     LRMLP_ERR_NONFINITE);
    float W[6], W2[6];
    ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 0, W), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 2, W), LRMLP_ERR_INVALID);
    float Wbad[6] = {1, 2, 3, NAN, 5, 6};
    ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 0, Wbad), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 0, W2), LRMLP_OK);
    ck_assert(memcmp(W, W2, sizeof W) == 0);
    float b[3];
    ck_assert_int_eq(lrmlp_net_get_bias_f32(net, 0, b), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 5, 1), LRMLP_ERR_INVALID);
    /* A batch large enough to be processed in chunks is checked whole: a
     * NaN in its last sample is found before any chunk runs. */
    {
        enum { NB = 3000 };
        static float Xb[NB * 2], Tb[NB * 2];
        for (int i = 0; i < NB * 2; i++)
            Xb[i] = 0.001f * (float)(i % 97), Tb[i] = (float)(i % 2);
        double lbig;
        ck_assert_int_eq(lrmlp_net_gradient_f32(net, Xb, Tb, NB, LRMLP_LOSS_SSE, &lbig), LRMLP_OK);
        ck_assert(isfinite(lbig));
        Xb[NB * 2 - 1] = NAN;
        ck_assert_int_eq(lrmlp_net_gradient_f32(net, Xb, Tb, NB, LRMLP_LOSS_SSE, NULL),
                         LRMLP_ERR_NONFINITE);
        Xb[NB * 2 - 1] = 0;
        Tb[NB * 2 - 1] = INFINITY;
        ck_assert_int_eq(lrmlp_net_gradient_f32(net, Xb, Tb, NB, LRMLP_LOSS_SSE, NULL),
                         LRMLP_ERR_NONFINITE);
    }
    /* Still usable after all of that. */
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 2, Y), LRMLP_OK);
    lrmlp_net_free(net);
    lrmlp_net_free(NULL);

    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    lrmlp_net *bad = (lrmlp_net *)&o;
    size_t zw[] = {3, 0, 2};
    o.n_layers = 2;
    o.widths = zw;
    ck_assert_int_eq(lrmlp_net_create(&bad, &o), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(bad);
    ck_assert(strlen(lrmlp_last_errmsg()) > 0);
    o.widths = w;
    o.version = 99;
    ck_assert_int_eq(lrmlp_net_create(&bad, &o), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_net_options_init(&o, 99), LRMLP_ERR_VERSION);
    size_t huge[] = {(size_t)1 << 30, (size_t)1 << 30, 2};
    ck_assert_int_eq(lrmlp_net_options_init(&o, LRMLP_NET_OPTIONS_VERSION), LRMLP_OK);
    o.n_layers = 2;
    o.widths = huge;
    ck_assert_int_eq(lrmlp_net_create(&bad, &o), LRMLP_ERR_INVALID);
}
END_TEST

START_TEST(test_predict_matches_manual)
{
    /* One hidden layer with biases, checked against a direct loop. */
    const size_t w[] = {3, 4, 2};
    lrmlp_net *net = make_net(LRMLP_F64, 2, w, LRMLP_ACT_SILU, LRMLP_ACT_IDENTITY, 1, 21);
    double W0[12], b0[4], W1[8], b1[2];
    lrmlp_net_get_weights_f64(net, 0, W0);
    lrmlp_net_get_bias_f64(net, 0, b0);
    lrmlp_net_get_weights_f64(net, 1, W1);
    lrmlp_net_get_bias_f64(net, 1, b1);
    double X[2 * 3] = {0.3, -1.2, 2.0, 1.0, 0.5, -0.7}, Y[4];
    ck_assert_int_eq(lrmlp_net_predict_f64(net, X, 2, Y), LRMLP_OK);
    for (int s = 0; s < 2; s++) {
        double h[4];
        for (int j = 0; j < 4; j++) {
            double z = b0[j];
            for (int i = 0; i < 3; i++)
                z += W0[j * 3 + i] * X[s * 3 + i];
            h[j] = z / (1 + exp(-z));
        }
        for (int k = 0; k < 2; k++) {
            double y = b1[k];
            for (int j = 0; j < 4; j++)
                y += W1[k * 4 + j] * h[j];
            ck_assert_double_eq_tol(Y[s * 2 + k], y, 1e-14);
        }
    }
    /* SSE loss value against the manual outputs. */
    double T[4] = {0.1, 0.2, -0.3, 0.4}, loss;
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, 2, LRMLP_LOSS_SSE, &loss, NULL), LRMLP_OK);
    double ref = 0;
    for (int i = 0; i < 4; i++)
        ref += 0.5 * (Y[i] - T[i]) * (Y[i] - T[i]);
    ck_assert_double_eq_tol(loss, ref, 1e-14);
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, 2, LRMLP_LOSS_MSE, &loss, NULL), LRMLP_OK);
    ck_assert_double_eq_tol(loss, ref / 2, 1e-14);
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_cross_entropy_stable)
{
    /* Huge logits stay finite and match the closed form. */
    const size_t w[] = {1, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F32;
    o.n_layers = 1;
    o.widths = w;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    float W[3] = {1000, 0, -1000};
    ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 0, W), LRMLP_OK);
    float X[1] = {1}, T[3] = {0, 1, 0};
    double loss;
    ck_assert_int_eq(lrmlp_net_gradient_f32(net, X, T, 1, LRMLP_LOSS_CROSS_ENTROPY, &loss),
                     LRMLP_OK);
    ck_assert_double_eq_tol(loss, 1000.0, 1e-3);
    float g[3];
    lrmlp_net_get_weight_grad_f32(net, 0, g);
    ck_assert_float_eq_tol(g[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(g[1], -1.0f, 1e-6f);
    lrmlp_net_free(net);
}
END_TEST

/* A scale whose weights would not fit the dtype is refused before anything
 * is written (the network and its generator stay as they were); scales that
 * fit give finite weights. TORCH_DEFAULT ignores the scale. */
START_TEST(test_init_scale_overflow)
{
    for (int dt = 0; dt < 2; dt++) {
        lrmlp_dtype dtype = dt ? LRMLP_F64 : LRMLP_F32;
        double huge = dt ? DBL_MAX : 1e300, fits = dt ? 1e300 : 1e30;
        for (int init = 0; init < LRMLP_INIT_COUNT_; init++) {
            if (init == LRMLP_INIT_TORCH_DEFAULT || init == LRMLP_INIT_ZERO ||
                (dt && init == LRMLP_INIT_ORTHOGONAL)) /* |Q_ij| <= 1: always fits */
                continue;
            const size_t w[] = {1, 2, 1}; /* every fan factor >= 1 */
            lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
            o.dtype = dtype;
            o.n_layers = 2;
            o.widths = w;
            o.bias = 1;
            o.init = (lrmlp_init)init;
            o.init_scale = huge;
            lrmlp_net *net = (lrmlp_net *)&o;
            lrmlp_error_clear();
            int rc = lrmlp_net_create(&net, &o);
            ck_assert_msg(rc == LRMLP_ERR_INVALID, "dtype %d init %d scale %g: %d", dt, init,
                          huge, rc);
            ck_assert_ptr_null(net);
            ck_assert_str_ne(lrmlp_last_errmsg(), "");
            o.init_scale = fits;
            ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
            size_t P = lrmlp_net_param_count(net), es = dt ? 8 : 4;
            for (size_t i = 0; i < P; i++) {
                double v = dt ? ((double *)lrmlp_net_params(net))[i]
                              : ((float *)lrmlp_net_params(net))[i];
                ck_assert_msg(isfinite(v), "init %d scale %g: weight %zu is %g", init, fits, i,
                              v);
            }
            /* lrmlp_net_init_layer: refused, parameters and generator kept. */
            void *before = malloc(P * es);
            memcpy(before, lrmlp_net_params(net), P * es);
            ck_assert_int_eq(lrmlp_net_init_layer(net, 1, (lrmlp_init)init, huge),
                             LRMLP_ERR_INVALID);
            ck_assert_int_eq(memcmp(before, lrmlp_net_params(net), P * es), 0);
            lrmlp_net *twin;
            ck_assert_int_eq(lrmlp_net_clone(&twin, net), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_init_layer(net, 0, LRMLP_INIT_GAUSSIAN, 1.0), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_init_layer(twin, 0, LRMLP_INIT_GAUSSIAN, 1.0), LRMLP_OK);
            ck_assert_int_eq(memcmp(lrmlp_net_params(twin), lrmlp_net_params(net), P * es), 0);
            free(before);
            lrmlp_net_free(twin);
            lrmlp_net_free(net);
        }
    }
}
END_TEST

/* Batch sizes are checked before anything is read: more rows than the BLAS
 * integer holds (predict, loss, gradient), and a chunked gradient whose
 * n * width overflows size_t (the NaN in T must not be what is reported:
 * scanning a wrapped-around length would read outside the arrays). */
START_TEST(test_batch_size_limits)
{
    const size_t w[] = {4, 3, 2};
    lrmlp_net *net = make_net(LRMLP_F32, 2, w, LRMLP_ACT_TANH, LRMLP_ACT_IDENTITY, 0, 1);
    float X[8] = {0}, T[4] = {NAN, 0, 0, 0}, Y[4];
    double l;
    size_t big = (size_t)INT_MAX + 1;
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, big, Y), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_net_loss_f32(net, X, T, big, LRMLP_LOSS_SSE, &l, NULL),
                     LRMLP_ERR_INVALID);
    size_t wrap = SIZE_MAX / 4 + 2; /* wrap * 4 == 4 (mod 2^64) */
    ck_assert_int_eq(lrmlp_net_gradient_f32(net, X, T, wrap, LRMLP_LOSS_SSE, &l),
                     LRMLP_ERR_INVALID);
    lrmlp_net_free(net);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_fd_all, 0, LRMLP_ACT_COUNT_);
    tcase_add_test(tc, test_fd_output_activation);
    tcase_add_loop_test(tc, test_f32_vs_f64, 0, LRMLP_ACT_COUNT_);
    tcase_add_test(tc, test_frozen);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("init");
    tcase_add_test(ti, test_orthogonal_init);
    tcase_add_test(ti, test_seed_determinism);
    tcase_add_test(ti, test_init_statistics);
    tcase_add_test(ti, test_init_scale_overflow);
    suite_add_tcase(s, ti);
    TCase *tb = tcase_create("api");
    tcase_add_test(tb, test_bad_input);
    tcase_add_test(tb, test_batch_size_limits);
    tcase_add_test(tb, test_predict_matches_manual);
    tcase_add_test(tb, test_cross_entropy_stable);
    suite_add_tcase(s, tb);
    return s;
}

int main(void) { return tu_run_suite(net_suite()); }
