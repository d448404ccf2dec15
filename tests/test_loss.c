/* Squared-error losses for regression (activation.h): SSE, MSE ("half mean
 * of summed squares") and MEAN_SQUARED (PyTorch's mse_loss) against their
 * formulas, MEAN_SQUARED's gradient against finite differences and its
 * value against torch.nn.functional.mse_loss when /usr/bin/python3 has
 * torch (skipped otherwise). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 7, D = 3, K = 4 };

static lrmlp_net *make(lrmlp_dtype dt)
{
    static const size_t w[] = { D, 5, K };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = 2;
    o.widths = w;
    o.bias = 1;
    o.seed = 3;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    return net;
}

static void data(double *X, double *T)
{
    uint64_t s = 11;
    for (int i = 0; i < N * D; i++)
        X[i] = tu_rand(&s);
    for (int i = 0; i < N * K; i++)
        T[i] = 3.0 * tu_rand(&s);
}

START_TEST(test_formulas)
{
    double X[N * D], T[N * K], Y[N * K];
    data(X, T);
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *net = make((lrmlp_dtype)dt);
        double sse, mse, ms, sum = 0;
        if (dt == 2) {
            ck_assert_int_eq(lrmlp_net_predict_f64(net, X, N, Y), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_SSE, &sse, NULL), 0);
            ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MSE, &mse, NULL), 0);
            ck_assert_int_eq(
                lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MEAN_SQUARED, &ms, NULL), 0);
        } else {
            float Xf[N * D], Tf[N * K], Yf[N * K];
            for (int i = 0; i < N * D; i++)
                Xf[i] = (float)X[i];
            for (int i = 0; i < N * K; i++)
                Tf[i] = (float)T[i];
            ck_assert_int_eq(lrmlp_net_predict_f32(net, Xf, N, Yf), LRMLP_OK);
            for (int i = 0; i < N * K; i++) {
                Y[i] = Yf[i];
                T[i] = Tf[i];
            }
            ck_assert_int_eq(lrmlp_net_loss_f32(net, Xf, Tf, N, LRMLP_LOSS_SSE, &sse, NULL), 0);
            ck_assert_int_eq(lrmlp_net_loss_f32(net, Xf, Tf, N, LRMLP_LOSS_MSE, &mse, NULL), 0);
            ck_assert_int_eq(
                lrmlp_net_loss_f32(net, Xf, Tf, N, LRMLP_LOSS_MEAN_SQUARED, &ms, NULL), 0);
        }
        for (int i = 0; i < N * K; i++)
            sum += (Y[i] - T[i]) * (Y[i] - T[i]);
        double tol = dt == 1 ? 1e-6 : 1e-14;
        ck_assert(fabs(sse - 0.5 * sum) <= tol * sum);
        ck_assert(fabs(mse - 0.5 * sum / N) <= tol * sum);
        ck_assert(fabs(ms - sum / (N * K)) <= tol * sum);
        /* the documented relation: MSE = K/2 * MEAN_SQUARED */
        ck_assert(fabs(mse - 0.5 * K * ms) <= tol * sum);
        lrmlp_net_free(net);
    }
    ck_assert_str_eq(lrmlp_loss_name(LRMLP_LOSS_MEAN_SQUARED), "mean_squared");
    ck_assert_str_eq(lrmlp_loss_name(LRMLP_LOSS_MSE), "mse");
    ck_assert_ptr_null(lrmlp_loss_name(LRMLP_LOSS_COUNT_));
}
END_TEST

/* d loss / d params of MEAN_SQUARED against central differences (f64). */
START_TEST(test_gradient_fd)
{
    double X[N * D], T[N * K];
    data(X, T);
    lrmlp_net *net = make(LRMLP_F64);
    double loss;
    ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, N, LRMLP_LOSS_MEAN_SQUARED, &loss), 0);
    size_t P = lrmlp_net_param_count(net);
    double *g = tu_dmalloc(P);
    memcpy(g, lrmlp_net_grads(net), P * sizeof *g);
    double *p = lrmlp_net_params(net);
    for (size_t i = 0; i < P; i++) {
        double h = 1e-6, keep = p[i], lp, lm;
        p[i] = keep + h;
        lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MEAN_SQUARED, &lp, NULL);
        p[i] = keep - h;
        lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MEAN_SQUARED, &lm, NULL);
        p[i] = keep;
        double fd = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(fd - g[i]) <= 1e-7 * (1 + fabs(fd)), "param %zu: %g vs fd %g", i,
                      g[i], fd);
    }
    free(g);
    lrmlp_net_free(net);
}
END_TEST

/* A batch larger than one chunk gives the same loss and gradient as the
 * mean of its parts (chunks are accumulated with the whole batch's n). */
START_TEST(test_chunked)
{
    size_t n = 4500;
    double *X = tu_dmalloc(n * D), *T = tu_dmalloc(n * K);
    uint64_t s = 5;
    for (size_t i = 0; i < n * D; i++)
        X[i] = tu_rand(&s);
    for (size_t i = 0; i < n * K; i++)
        T[i] = tu_rand(&s);
    lrmlp_net *net = make(LRMLP_F64);
    double whole, a, b;
    ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, n, LRMLP_LOSS_MEAN_SQUARED, &whole), 0);
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, 1000, LRMLP_LOSS_MEAN_SQUARED, &a, NULL), 0);
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X + 1000 * D, T + 1000 * K, n - 1000,
                                        LRMLP_LOSS_MEAN_SQUARED, &b, NULL), 0);
    double want = (a * 1000 + b * (double)(n - 1000)) / (double)n;
    ck_assert(fabs(whole - want) <= 1e-12 * want);
    free(X);
    free(T);
    lrmlp_net_free(net);
}
END_TEST

/* The value PyTorch computes for the same outputs and targets. */
START_TEST(test_against_torch)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_against_torch: /usr/bin/python3 with torch not found; skipped\n");
        return;
    }
    double X[N * D], T[N * K], Y[N * K], ms;
    data(X, T);
    lrmlp_net *net = make(LRMLP_F64);
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MEAN_SQUARED, &ms, Y), 0);
    const char *path = tu_tmp_path("mse.bin");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(Y, sizeof *Y, N * K, f), N * K);
    ck_assert_uint_eq(fwrite(T, sizeof *T, N * K, f), N * K);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np, torch; v = np.fromfile('%s', "
             "dtype=np.float64).reshape(2, %d, %d); y, t = torch.from_numpy(v[0]), "
             "torch.from_numpy(v[1]); print(repr(torch.nn.functional.mse_loss(y, t).item()))\"",
             path, N, K);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    double torch_v = NAN;
    ck_assert_int_eq(fscanf(p, "%lf", &torch_v), 1);
    pclose(p);
    remove(path);
    ck_assert_msg(fabs(ms - torch_v) <= 1e-14 * torch_v, "%.17g vs torch %.17g", ms, torch_v);
    double mse;
    ck_assert_int_eq(lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_MSE, &mse, NULL), 0);
    ck_assert(fabs(mse - 0.5 * K * torch_v) <= 1e-13 * mse);
    lrmlp_net_free(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("squared");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_formulas);
    tcase_add_test(tc, test_gradient_fd);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_against_torch);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
