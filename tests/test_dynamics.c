/* The paper's theory setting end to end (docs/theory.md sections 2 and 4): a
 * two-layer bias-free network with W_2 fixed, whitened linear-teacher data
 * (X X^T = I), eps-orthogonal W_1(0), full-batch GD on the summed squared
 * error. Smooth activations keep the change of W_1 in block 11; every
 * ReLU-family activation moves measurably more of it outside (measured at
 * 300 steps: ELU 0.9978, GELU 0.9962, SiLU 0.9985, tanh 0.99997; ReLU
 * 0.801, Leaky-ReLU 0.803, RReLU 0.853). */
#include "testutil.h"

#include <lrmlp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 32, K = 4, M = 64, N = 512 };

#ifndef DYN_STEPS
#define DYN_STEPS 300
#endif
#define DYN_LR 0.01

/* Whitened linear-teacher data: x ~ N(0, I) (Box-Muller on the test
 * generator), y = one-hot(argmax A x), then uncentered ZCA whitening with
 * sum_i x_i x_i^T = I (centering would make Y X^T rank K - 1). */
static void make_data(double *X, double *T)
{
    uint64_t s = 77;
    double A[K * D];
    for (int i = 0; i < K * D; i++)
        A[i] = tu_rand(&s);
    int32_t *y = malloc(N * sizeof *y);
    for (int i = 0; i < N * D; i += 2) {
        double u1 = 0.5 * (tu_rand(&s) + 1.0) + 1e-12, u2 = 0.5 * (tu_rand(&s) + 1.0);
        double r = sqrt(-2.0 * log(u1));
        X[i] = r * cos(6.283185307179586 * u2);
        X[i + 1] = r * sin(6.283185307179586 * u2);
    }
    for (int i = 0; i < N; i++) {
        int best = 0;
        double bv = -INFINITY;
        for (int k = 0; k < K; k++) {
            double v = 0;
            for (int j = 0; j < D; j++)
                v += A[k * D + j] * X[i * D + j];
            if (v > bv)
                bv = v, best = k;
        }
        y[i] = best;
    }
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, N, D, y, K), LRMLP_OK);
    lrmlp_whiten_options wo = LRMLP_WHITEN_OPTIONS_INIT;
    wo.center = 0;
    wo.unit_sum = 1;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &wo, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, N, X, T), LRMLP_OK);
    lrmlp_dataset_free(ds);
    free(y);
}

/* Block-11 fraction of W_1(t) - W_1(0) after DYN_STEPS GD steps. */
static double block11(lrmlp_activation act, const double *X, const double *T, double *loss0,
                      double *loss1)
{
    const size_t w[] = {D, M, K};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 2;
    o.widths = w;
    o.hidden_activation = act;
    o.init = LRMLP_INIT_ORTHOGONAL;
    o.init_scale = 0.1;
    o.seed = 5;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    /* W_2 with orthonormal rows (full row rank), fixed. */
    ck_assert_int_eq(lrmlp_net_init_layer(net, 1, LRMLP_INIT_ORTHOGONAL, 1.0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 1, 1), LRMLP_OK);
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.theory = 1;
    lrmlp_subspace *sub;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&sub, net, X, T, N, LRMLP_LOSS_SSE, &so),
                     LRMLP_OK);
    double *W0 = malloc(M * D * sizeof *W0), *Wt = malloc(M * D * sizeof *Wt);
    lrmlp_net_get_weights_f64(net, 0, W0);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = DYN_LR;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    lrmlp_net_seed(net, 9);
    for (int t = 0; t < DYN_STEPS; t++) {
        double l;
        ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, N, LRMLP_LOSS_SSE, &l), LRMLP_OK);
        if (t == 0)
            *loss0 = l;
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
    lrmlp_net_loss_f64(net, X, T, N, LRMLP_LOSS_SSE, loss1, NULL);
    lrmlp_net_get_weights_f64(net, 0, Wt);
    double frac[4];
    ck_assert_int_eq(lrmlp_subspace_block_fractions(sub, 0, W0, Wt, frac), LRMLP_OK);
    ck_assert_double_eq_tol(frac[0] + frac[1] + frac[2] + frac[3], 1.0, 1e-12);
    free(W0);
    free(Wt);
    lrmlp_optim_free(opt);
    lrmlp_subspace_free(sub);
    lrmlp_net_free(net);
    return frac[0];
}

START_TEST(test_smooth_vs_nonsmooth)
{
    static double X[N * D], T[N * K];
    make_data(X, T);
    const lrmlp_activation smooth[] = {LRMLP_ACT_ELU, LRMLP_ACT_GELU, LRMLP_ACT_SILU,
                                       LRMLP_ACT_TANH};
    const lrmlp_activation rough[] = {LRMLP_ACT_RELU, LRMLP_ACT_LEAKY_RELU, LRMLP_ACT_RRELU};
    double min_smooth = 1;
    for (size_t i = 0; i < 4; i++) {
        double l0, l1, f = block11(smooth[i], X, T, &l0, &l1);
        printf("%-10s block11 %.6f  loss %.3f -> %.3f\n", lrmlp_activation_name(smooth[i]), f,
               l0, l1);
        ck_assert_msg(l1 < 0.9 * l0, "%s did not train", lrmlp_activation_name(smooth[i]));
        ck_assert_msg(f >= 0.98, "%s: block-11 fraction %g < 0.98",
                      lrmlp_activation_name(smooth[i]), f);
        min_smooth = f < min_smooth ? f : min_smooth;
    }
    for (size_t i = 0; i < 3; i++) {
        double l0, l1, f = block11(rough[i], X, T, &l0, &l1);
        printf("%-10s block11 %.6f  loss %.3f -> %.3f\n", lrmlp_activation_name(rough[i]), f,
               l0, l1);
        ck_assert_msg(l1 < 0.9 * l0, "%s did not train", lrmlp_activation_name(rough[i]));
        /* "measurably lower": at least 0.02 below every smooth activation */
        ck_assert_msg(f < min_smooth - 0.02, "%s: block-11 fraction %g not below smooth %g",
                      lrmlp_activation_name(rough[i]), f, min_smooth);
    }
}
END_TEST

START_TEST(test_linear_is_exact)
{
    /* Identity activation: the law-of-parsimony limit, block 11 holds the
     * change to float64 round-off. */
    static double X[N * D], T[N * K];
    make_data(X, T);
    double l0, l1, f = block11(LRMLP_ACT_IDENTITY, X, T, &l0, &l1);
    ck_assert(l1 < l0);
    ck_assert_msg(f >= 1 - 1e-6, "linear block-11 fraction %.12f", f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dynamics");
    TCase *tc = tcase_create("theory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_smooth_vs_nonsmooth);
    tcase_add_test(tc, test_linear_is_exact);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
