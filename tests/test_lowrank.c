/* Low-rank networks: factor gradients against finite differences, the
 * initializations against their definitions, and the conversions to and
 * from dense networks against the functions they must compute. */
#include "testutil.h"

#include <lrmlp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef LR_SBIG_TEST
#define LR_SBIG_TEST 0.01
#endif

static lrmlp_net *make_dense(size_t L, size_t d, size_t m, size_t K, lrmlp_activation act,
                             double eps, uint64_t seed)
{
    size_t w[16];
    w[0] = d;
    for (size_t i = 1; i < L; i++)
        w[i] = m;
    w[L] = K;
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = L;
    o.widths = w;
    o.hidden_activation = act;
    o.init = LRMLP_INIT_ORTHOGONAL;
    o.init_scale = eps;
    o.seed = seed;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    return net;
}

/* A d x r row-major matrix with orthonormal columns, from an orthogonal init. */
static void orthonormal_basis(size_t d, size_t r, uint64_t seed, double *B)
{
    size_t w[] = {r, d};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 1;
    o.widths = w;
    o.init = LRMLP_INIT_ORTHOGONAL;
    o.seed = seed;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 0, B), LRMLP_OK); /* d x r */
    lrmlp_net_free(net);
}

START_TEST(test_fd_factors)
{
    lrmlp_net *net = tu_make_lowrank(LRMLP_F64, 4, 6, 7, 3, 2, LRMLP_ACT_GELU, 3);
    ck_assert_uint_eq(lrmlp_net_n_layers(net), 6);
    size_t P = lrmlp_net_param_count(net);
    ck_assert_uint_eq(P, 2 * 6 + 3 * 4 + 7 * 2 + 3 * 7);
    double X[5 * 6], T[5 * 3];
    uint64_t s = 9;
    for (int i = 0; i < 30; i++)
        X[i] = tu_rand(&s);
    for (int i = 0; i < 15; i++)
        T[i] = tu_rand(&s);
    /* Larger weights than the eps-scaled init so every factor matters. */
    double *p = lrmlp_net_params(net);
    for (size_t i = 0; i < P; i++)
        p[i] = 0.8 * tu_rand(&s);
    double loss;
    ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, 5, LRMLP_LOSS_SSE, &loss), LRMLP_OK);
    double *g = malloc(P * sizeof *g);
    memcpy(g, lrmlp_net_grads(net), P * sizeof *g);
    double num = 0, den = 0;
    for (size_t i = 0; i < P; i++) {
        double keep = p[i], lp, lm;
        p[i] = keep + 1e-6;
        lrmlp_net_loss_f64(net, X, T, 5, LRMLP_LOSS_SSE, &lp, NULL);
        p[i] = keep - 1e-6;
        lrmlp_net_loss_f64(net, X, T, 5, LRMLP_LOSS_SSE, &lm, NULL);
        p[i] = keep;
        double fd = (lp - lm) / 2e-6;
        num += (fd - g[i]) * (fd - g[i]);
        den += fd * fd;
        ck_assert_msg(fabs(fd - g[i]) < 1e-6 * (1 + fabs(fd)), "param %zu: fd %g grad %g", i, fd,
                      g[i]);
    }
    ck_assert(sqrt(num / den) < 1e-6);
    free(g);
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_param_count_paper)
{
    /* docs/theory.md: the Fashion-MNIST low-rank net has 40,400 weights. */
    lrmlp_lowrank_options o = LRMLP_LOWRANK_OPTIONS_INIT;
    o.n_layers = 4;
    o.input_dim = 784;
    o.width = 784;
    o.output_dim = 10;
    o.rank = 20;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_lowrank_create(&net, &o), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_param_count(net), 40400);
    ck_assert_uint_eq(lrmlp_lowrank_rank(net), 20);
    size_t l;
    ck_assert_int_eq(lrmlp_lowrank_layer(net, LRMLP_FACTOR_V, 0, &l), LRMLP_OK);
    ck_assert_uint_eq(l, 0);
    ck_assert_uint_eq(lrmlp_net_width(net, 1), 20);
    ck_assert_int_eq(lrmlp_lowrank_layer(net, LRMLP_FACTOR_A, 3, &l), LRMLP_OK);
    ck_assert_uint_eq(l, 3);
    ck_assert_int_eq(lrmlp_lowrank_layer(net, LRMLP_FACTOR_A, 4, &l), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_lowrank_layer(net, LRMLP_FACTOR_U, 0, &l), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_width(net, l + 1), 784);
    ck_assert_int_eq(lrmlp_lowrank_layer(net, LRMLP_FACTOR_OUT, 0, &l), LRMLP_OK);
    ck_assert_uint_eq(l, 5);
    ck_assert_int_eq(lrmlp_net_activation(net, 0), LRMLP_ACT_IDENTITY);
    ck_assert_int_eq(lrmlp_net_activation(net, 1), LRMLP_ACT_GELU);
    ck_assert_int_eq(lrmlp_net_activation(net, 3), LRMLP_ACT_IDENTITY);
    ck_assert_int_eq(lrmlp_net_activation(net, 4), LRMLP_ACT_GELU);
    lrmlp_net_free(net);
    o.rank = 785;
    ck_assert_int_eq(lrmlp_lowrank_create(&net, &o), LRMLP_ERR_INVALID);
    o.rank = 20;
    o.n_layers = 1;
    ck_assert_int_eq(lrmlp_lowrank_create(&net, &o), LRMLP_ERR_INVALID);
    /* A dense network is not low-rank. */
    lrmlp_net *dense = make_dense(2, 3, 3, 2, LRMLP_ACT_TANH, 0.1, 1);
    ck_assert_uint_eq(lrmlp_lowrank_rank(dense), 0);
    ck_assert_int_eq(lrmlp_lowrank_layer(dense, LRMLP_FACTOR_V, 0, &l), LRMLP_ERR_STATE);
    lrmlp_net_free(dense);
}
END_TEST

START_TEST(test_init_from_dense)
{
    const size_t L = 4, d = 8, m = 10, K = 2, r = 3;
    const double eps = 0.1;
    lrmlp_net *dense = make_dense(L, d, m, K, LRMLP_ACT_SILU, eps, 5);
    lrmlp_net *lr = tu_make_lowrank(LRMLP_F64, L, d, m, K, r, LRMLP_ACT_SILU, 6);
    double Vb[8 * 3];
    orthonormal_basis(d, r, 7, Vb);
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, Vb, eps), LRMLP_OK);
    double Vt[3 * 8], U[10 * 3], W1[10 * 8], W2[100], W3[100], A[9];
    size_t l;
    lrmlp_lowrank_layer(lr, LRMLP_FACTOR_V, 0, &l);
    lrmlp_net_get_weights_f64(lr, l, Vt);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < r; j++)
            ck_assert(Vt[j * d + i] == Vb[i * r + j]);
    /* U = W3 W2 W1 Vb / eps^3, computed here with plain loops. */
    lrmlp_net_get_weights_f64(dense, 0, W1);
    lrmlp_net_get_weights_f64(dense, 1, W2);
    lrmlp_net_get_weights_f64(dense, 2, W3);
    double M1[10 * 3], M2[10 * 3], M3[10 * 3];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < r; j++) {
            double a = 0;
            for (size_t k = 0; k < d; k++)
                a += W1[i * d + k] * Vb[k * r + j];
            M1[i * r + j] = a / eps;
        }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < r; j++) {
            double a = 0, b = 0;
            for (size_t k = 0; k < m; k++)
                a += W2[i * m + k] * M1[k * r + j];
            M2[i * r + j] = a / eps;
            (void)b;
        }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < r; j++) {
            double a = 0;
            for (size_t k = 0; k < m; k++)
                a += W3[i * m + k] * M2[k * r + j];
            M3[i * r + j] = a / eps;
        }
    lrmlp_lowrank_layer(lr, LRMLP_FACTOR_U, 0, &l);
    lrmlp_net_get_weights_f64(lr, l, U);
    for (size_t i = 0; i < m * r; i++)
        ck_assert_double_eq_tol(U[i], M3[i], 1e-12);
    /* eps-orthogonal dense weights make U orthonormal. */
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double dot = 0;
            for (size_t i = 0; i < m; i++)
                dot += U[i * r + a] * U[i * r + b];
            ck_assert_double_eq_tol(dot, a == b, 1e-12);
        }
    /* Cores eps-orthogonal; the head is the dense head. */
    lrmlp_lowrank_layer(lr, LRMLP_FACTOR_A, 2, &l);
    lrmlp_net_get_weights_f64(lr, l, A);
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double dot = 0;
            for (size_t i = 0; i < r; i++)
                dot += A[i * r + a] * A[i * r + b];
            ck_assert_double_eq_tol(dot, a == b ? eps * eps : 0.0, 1e-14);
        }
    double H1[20], H2[20];
    lrmlp_lowrank_layer(lr, LRMLP_FACTOR_OUT, 0, &l);
    lrmlp_net_get_weights_f64(lr, l, H1);
    lrmlp_net_get_weights_f64(dense, L - 1, H2);
    ck_assert(memcmp(H1, H2, sizeof H1) == 0);
    /* Not orthonormal, NaN, wrong shape. */
    double bad[8 * 3];
    memcpy(bad, Vb, sizeof bad);
    bad[0] += 0.01;
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, bad, eps), LRMLP_ERR_INVALID);
    bad[0] = NAN;
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, bad, eps), LRMLP_ERR_NONFINITE);
    lrmlp_net *other = make_dense(3, d, m, K, LRMLP_ACT_SILU, eps, 5);
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, other, Vb, eps), LRMLP_ERR_SHAPE);
    ck_assert(strlen(lrmlp_last_errmsg()) > 0);
    /* The random baseline: orthonormal V and U that differ from S_big's. */
    ck_assert_int_eq(lrmlp_lowrank_init_random(lr, dense, eps), LRMLP_OK);
    lrmlp_lowrank_layer(lr, LRMLP_FACTOR_U, 0, &l);
    lrmlp_net_get_weights_f64(lr, l, U);
    double diff = 0;
    for (size_t i = 0; i < m * r; i++)
        diff += fabs(U[i] - M3[i]);
    ck_assert(diff > 0.1);
    lrmlp_net_free(other);
    lrmlp_net_free(lr);
    lrmlp_net_free(dense);
}
END_TEST

/* eps is given once: a mismatch with the dense network's scale is an
 * error (it used to give ||U||_F^2 = r / 16 silently for L = 3, eps 0.2 on
 * an eps 0.1 net); eps = 0 takes it from the network. */
START_TEST(test_init_from_dense_eps)
{
    const size_t L = 3, d = 8, m = 10, K = 2, r = 6;
    for (int f32 = 0; f32 < 2; f32++) {
        lrmlp_net *dense = make_dense(L, d, m, K, LRMLP_ACT_SILU, 0.1, 5);
        if (f32) { /* the same weights in a float32 network */
            const size_t w[] = { d, m, m, K };
            lrmlp_net *d32 = tu_make_net(LRMLP_F32, L, w, LRMLP_ACT_SILU, 0.1, 5);
            double W[100];
            float Wf[100];
            for (size_t l = 0; l < L; l++) {
                lrmlp_net_get_weights_f64(dense, l, W);
                for (size_t i = 0; i < 100; i++)
                    Wf[i] = (float)W[i];
                ck_assert_int_eq(lrmlp_net_set_weights_f32(d32, l, Wf), LRMLP_OK);
            }
            lrmlp_net_free(dense);
            dense = d32;
        }
        lrmlp_net *lr = tu_make_lowrank(f32 ? LRMLP_F32 : LRMLP_F64, L, d, m, K, r,
                                        LRMLP_ACT_SILU, 6);
        double Vb[8 * 6], U[10 * 6];
        orthonormal_basis(d, r, 7, Vb);
        size_t lu;
        ck_assert_int_eq(lrmlp_lowrank_layer(lr, LRMLP_FACTOR_U, 0, &lu), LRMLP_OK);
        ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, Vb, 0.2), LRMLP_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "eps = 0.2"));
        ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, Vb, -0.1), LRMLP_ERR_INVALID);
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, dense, Vb, k ? 0.0 : 0.1),
                             LRMLP_OK);
            if (f32) {
                float Uf[10 * 6];
                lrmlp_net_get_weights_f32(lr, lu, Uf);
                for (size_t i = 0; i < m * r; i++)
                    U[i] = Uf[i];
            } else {
                lrmlp_net_get_weights_f64(lr, lu, U);
            }
            double fro2 = 0;
            for (size_t i = 0; i < m * r; i++)
                fro2 += U[i] * U[i];
            ck_assert_double_eq_tol(fro2, (double)r, f32 ? 1e-4 : 1e-12);
        }
        lrmlp_net_free(lr);
        lrmlp_net_free(dense);
    }
    /* A dense net that is not eps-orthogonal: eps is the caller's, eps = 0
     * has nothing to take it from. */
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    const size_t w[] = { d, m, m, K };
    no.dtype = LRMLP_F64;
    no.n_layers = L;
    no.widths = w;
    no.init = LRMLP_INIT_GAUSSIAN;
    no.init_scale = 0.1;
    lrmlp_net *g = NULL;
    ck_assert_int_eq(lrmlp_net_create(&g, &no), LRMLP_OK);
    lrmlp_net *lr = tu_make_lowrank(LRMLP_F64, L, d, m, K, r, LRMLP_ACT_SILU, 6);
    double Vb[8 * 6];
    orthonormal_basis(d, r, 7, Vb);
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, g, Vb, 0.2), LRMLP_OK);
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(lr, g, Vb, 0.0), LRMLP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "not a scaled orthogonal"));
    lrmlp_net_free(lr);
    lrmlp_net_free(g);
}
END_TEST

/* Cores: lrmlp_lowrank_layer's A index is 1-based, lrmlp_lowrank_core_layer
 * 0-based; both name the same layers. */
START_TEST(test_core_layer)
{
    lrmlp_net *lr = tu_make_lowrank(LRMLP_F64, 4, 8, 10, 2, 3, LRMLP_ACT_SILU, 6);
    for (size_t c = 0; c < 3; c++) {
        size_t a = 99, b = 98;
        ck_assert_int_eq(lrmlp_lowrank_core_layer(lr, c, &a), LRMLP_OK);
        ck_assert_int_eq(lrmlp_lowrank_layer(lr, LRMLP_FACTOR_A, c + 1, &b), LRMLP_OK);
        ck_assert_uint_eq(a, b);
        ck_assert_uint_eq(a, c + 1);
        ck_assert_uint_eq(lrmlp_net_width(lr, a), 3);
        ck_assert_uint_eq(lrmlp_net_width(lr, a + 1), 3);
    }
    size_t l;
    ck_assert_int_eq(lrmlp_lowrank_core_layer(lr, 3, &l), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_lowrank_core_layer(lr, SIZE_MAX, &l), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_lowrank_core_layer(lr, 0, NULL), LRMLP_ERR_INVALID);
    lrmlp_net *dense = make_dense(2, 3, 3, 2, LRMLP_ACT_TANH, 0.1, 1);
    ck_assert_int_eq(lrmlp_lowrank_core_layer(dense, 0, &l), LRMLP_ERR_STATE);
    lrmlp_net_free(dense);
    lrmlp_net_free(lr);
}
END_TEST

START_TEST(test_rotate)
{
    /* psi = 0 gives the basis itself; psi = 90 degrees is orthogonal to it;
     * any psi stays orthonormal. */
    const size_t n = 9, r = 2;
    double Q[9 * 4], B[9 * 2], P[9 * 2], O[9 * 2];
    orthonormal_basis(n, 4, 3, Q);
    for (size_t i = 0; i < n; i++) {
        B[i * r] = Q[i * 4], B[i * r + 1] = Q[i * 4 + 1];
        P[i * r] = Q[i * 4 + 2], P[i * r + 1] = Q[i * 4 + 3];
    }
    ck_assert_int_eq(lrmlp_basis_rotate(B, P, n, r, 0.0, O), LRMLP_OK);
    ck_assert(memcmp(O, B, sizeof O) == 0);
    ck_assert_int_eq(lrmlp_basis_rotate(B, P, n, r, 1.5707963267948966, O), LRMLP_OK);
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++)
                dot += O[i * r + a] * B[i * r + b];
            ck_assert_double_eq_tol(dot, 0.0, 1e-15);
        }
    ck_assert_int_eq(lrmlp_basis_rotate(B, P, n, r, 0.7, O), LRMLP_OK);
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double dot = 0, cb = 0;
            for (size_t i = 0; i < n; i++)
                dot += O[i * r + a] * O[i * r + b], cb += O[i * r + a] * B[i * r + b];
            ck_assert_double_eq_tol(dot, a == b, 1e-14);
            ck_assert_double_eq_tol(cb, a == b ? cos(0.7) : 0.0, 1e-14);
        }
    ck_assert_int_eq(lrmlp_basis_rotate(NULL, P, n, r, 0.1, O), LRMLP_ERR_INVALID);
}
END_TEST

START_TEST(test_expand_same_function)
{
    /* L = 2, 3, 4; input wider than the hidden layers for _i >= 3 (the
     * 784 -> 512 case: the buffers must hold r x d as well as m x r). */
    size_t L = (size_t)_i % 3 + 2;
    const size_t d = _i < 3 ? 7 : 16, m = _i < 3 ? 9 : 6, K = 4, r = 3, n = 6;
    lrmlp_net *lr = tu_make_lowrank(LRMLP_F64, L, d, m, K, r, LRMLP_ACT_ELU, 10 + L);
    size_t P = lrmlp_net_param_count(lr);
    double *p = lrmlp_net_params(lr);
    uint64_t s = 77;
    for (size_t i = 0; i < P; i++)
        p[i] = tu_rand(&s);
    lrmlp_net *dense = NULL;
    ck_assert_int_eq(lrmlp_lowrank_expand(&dense, lr), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_n_layers(dense), L);
    ck_assert_uint_eq(lrmlp_net_width(dense, 1), m);
    double X[6 * 16], Y1[6 * 4], Y2[6 * 4];
    for (size_t i = 0; i < n * d; i++)
        X[i] = tu_rand(&s);
    ck_assert_int_eq(lrmlp_net_predict_f64(lr, X, n, Y1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_predict_f64(dense, X, n, Y2), LRMLP_OK);
    for (size_t i = 0; i < n * K; i++)
        ck_assert_double_eq_tol(Y1[i], Y2[i], 1e-12 * (1 + fabs(Y1[i])));
    lrmlp_net_free(dense);
    lrmlp_net_free(lr);
}
END_TEST

START_TEST(test_factorize)
{
    const size_t w[] = {6, 8, 5, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 3;
    o.widths = w;
    o.bias = 1;
    o.hidden_activation = LRMLP_ACT_TANH;
    o.seed = 4;
    lrmlp_net *dense;
    ck_assert_int_eq(lrmlp_net_create(&dense, &o), LRMLP_OK);
    double X[4 * 6], Y0[4 * 3], Y1[4 * 3];
    uint64_t s = 5;
    for (int i = 0; i < 24; i++)
        X[i] = tu_rand(&s);
    lrmlp_net_predict_f64(dense, X, 4, Y0);
    /* Full rank (and beyond) reproduces the dense network. */
    size_t full[] = {6, 100, 0};
    lrmlp_net *f;
    ck_assert_int_eq(lrmlp_net_factorize(&f, dense, full), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_n_layers(f), 5);
    ck_assert_int_eq(lrmlp_net_predict_f64(f, X, 4, Y1), LRMLP_OK);
    for (int i = 0; i < 12; i++)
        ck_assert_double_eq_tol(Y1[i], Y0[i], 1e-12);
    lrmlp_net_free(f);
    /* Lower ranks approximate it, the error shrinking with the rank. */
    double prev = INFINITY;
    for (size_t k = 1; k <= 6; k++) { /* 6: full rank for both layers */
        size_t ranks[] = {k, k, 0};
        ck_assert_int_eq(lrmlp_net_factorize(&f, dense, ranks), LRMLP_OK);
        ck_assert_uint_eq(lrmlp_net_width(f, 1), k < 6 ? k : 6);
        lrmlp_net_predict_f64(f, X, 4, Y1);
        double err = 0;
        for (int i = 0; i < 12; i++)
            err += (Y1[i] - Y0[i]) * (Y1[i] - Y0[i]);
        ck_assert(err <= prev + 1e-20);
        prev = err;
        lrmlp_net_free(f);
    }
    ck_assert(prev < 1e-20);
    lrmlp_net_free(dense);
}
END_TEST

/* A non-finite weight is reported before the SVD (dgesdd never returns on
 * +-Inf); layers that are not factorized are copied as they are. */
START_TEST(test_factorize_nonfinite)
{
    const size_t w[] = {5, 4, 3};
    lrmlp_net *dense = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_TANH, 0.5, 3);
    const double bad[] = {INFINITY, -INFINITY, NAN};
    size_t ranks[] = {2, 0};
    for (int k = 0; k < 3; k++) {
        double *p = lrmlp_net_params(dense);
        double keep = p[7];
        p[7] = bad[k];
        lrmlp_net *f = (lrmlp_net *)&f;
        lrmlp_error_clear();
        ck_assert_int_eq(lrmlp_net_factorize(&f, dense, ranks), LRMLP_ERR_NONFINITE);
        ck_assert_ptr_null(f);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "layer 0"));
        p[7] = keep;
    }
    lrmlp_net_free(dense);
}
END_TEST

/* Full-batch GD loss after `steps` steps of a low-rank net. */
static double train_gd(lrmlp_net *net, const double *X, const double *T, size_t n, double lr,
                       int steps)
{
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = lr;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    double loss = NAN;
    for (int i = 0; i < steps; i++) {
        ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, n, LRMLP_LOSS_SSE, &loss), LRMLP_OK);
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
    lrmlp_net_loss_f64(net, X, T, n, LRMLP_LOSS_SSE, &loss, NULL);
    lrmlp_optim_free(opt);
    return loss;
}

START_TEST(test_sbig_beats_random)
{
    /* Linear-teacher classification, d = m = 24, K = 3, r = 2K = 6, L = 3,
     * GELU, eps = 0.1: after the same GD steps from the same dense init, the
     * S_big start reaches a clearly lower loss than random bases (measured:
     * 2.02 vs 5.60 after 400 steps). */
    const size_t L = 3, d = 24, m = 24, K = 3, r = 6, n = 96;
    const double eps = 0.1;
    double *X = malloc(n * d * sizeof *X), *T = calloc(n * K, sizeof *T), A[3 * 24];
    uint64_t s = 2024;
    for (size_t i = 0; i < K * d; i++)
        A[i] = tu_rand(&s);
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double bv = -INFINITY;
        for (size_t j = 0; j < d; j++)
            X[i * d + j] = tu_rand(&s);
        for (size_t k = 0; k < K; k++) {
            double v = 0;
            for (size_t j = 0; j < d; j++)
                v += A[k * d + j] * X[i * d + j];
            if (v > bv)
                bv = v, best = k;
        }
        T[i * K + best] = 1;
    }
    lrmlp_net *dense = make_dense(L, d, m, K, LRMLP_ACT_GELU, eps, 31);
    lrmlp_subspace *sub;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&sub, dense, X, T, n, LRMLP_LOSS_SSE, NULL),
                     LRMLP_OK);
    double Vb[24 * 6];
    ck_assert_int_eq(lrmlp_subspace_get_basis(sub, 0, LRMLP_SUBSPACE_V1, Vb), LRMLP_OK);
    lrmlp_net *a = tu_make_lowrank(LRMLP_F64, L, d, m, K, r, LRMLP_ACT_GELU, 32);
    lrmlp_net *b = tu_make_lowrank(LRMLP_F64, L, d, m, K, r, LRMLP_ACT_GELU, 32);
    ck_assert_int_eq(lrmlp_lowrank_init_from_dense(a, dense, Vb, eps), LRMLP_OK);
    ck_assert_int_eq(lrmlp_lowrank_init_random(b, dense, eps), LRMLP_OK);
    double l0;
    lrmlp_net_loss_f64(a, X, T, n, LRMLP_LOSS_SSE, &l0, NULL);
    double la = train_gd(a, X, T, n, LR_SBIG_TEST, 400);
    double lb = train_gd(b, X, T, n, LR_SBIG_TEST, 400);
    ck_assert_msg(la < 0.5 * l0, "S_big did not train: %g -> %g", l0, la);
    ck_assert_msg(la < 0.7 * lb, "S_big loss %g not clearly below random %g", la, lb);
    lrmlp_subspace_free(sub);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_net_free(dense);
    free(X);
    free(T);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lowrank");
    TCase *tc = tcase_create("lowrank");
    tcase_add_test(tc, test_fd_factors);
    tcase_add_test(tc, test_param_count_paper);
    tcase_add_test(tc, test_init_from_dense);
    tcase_add_test(tc, test_init_from_dense_eps);
    tcase_add_test(tc, test_core_layer);
    tcase_add_test(tc, test_rotate);
    tcase_add_loop_test(tc, test_expand_same_function, 0, 6);
    tcase_add_test(tc, test_factorize);
    tcase_add_test(tc, test_factorize_nonfinite);
    tcase_add_test(tc, test_sbig_beats_random);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
