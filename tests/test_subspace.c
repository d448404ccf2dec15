/* Subspace estimator tests: orthogonality of S_big / S_small and of the
 * propagated bases, the spectral gap of G_1(0) against eps, exact against
 * randomized SVD, principal angles on hand-made cases, block fractions on
 * constructed changes, the law of parsimony for a linear two-layer net
 * trained by full-batch GD, and bad input. */
#include "testutil.h"

#include <lrmlp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* Q (n x c, row-major, n >= c): orthonormal columns from random entries by
 * modified Gram-Schmidt, done twice. */
static void orthonormal_cols(double *Q, size_t n, size_t c, uint64_t seed)
{
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n * c; i++)
        Q[i] = tu_rand(&s);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t j = 0; j < c; j++) {
            for (size_t k = 0; k < j; k++) {
                double dot = 0;
                for (size_t i = 0; i < n; i++)
                    dot += Q[i * c + k] * Q[i * c + j];
                for (size_t i = 0; i < n; i++)
                    Q[i * c + j] -= dot * Q[i * c + k];
            }
            double nrm = 0;
            for (size_t i = 0; i < n; i++)
                nrm += Q[i * c + j] * Q[i * c + j];
            nrm = sqrt(nrm);
            for (size_t i = 0; i < n; i++)
                Q[i * c + j] /= nrm;
        }
    }
}

/* max |Q^T Q - I| for Q n x c */
static double orth_error(const double *Q, size_t n, size_t c)
{
    double worst = 0;
    for (size_t a = 0; a < c; a++)
        for (size_t b = 0; b < c; b++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++)
                dot += Q[i * c + a] * Q[i * c + b];
            double e = fabs(dot - (a == b ? 1.0 : 0.0));
            worst = e > worst ? e : worst;
        }
    return worst;
}

/* C (m x n) = op(A) B, A is m x k (ta = 0) or k x m (ta = 1), B is k x n. */
static void matmul(double *C, const double *A, int ta, const double *B, size_t m, size_t k,
                   size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t r = 0; r < k; r++)
                s += (ta ? A[r * m + i] : A[i * k + r]) * B[r * n + j];
            C[i * n + j] = s;
        }
}

/* Whitened inputs (orthonormal columns: X^T X = I_d, the paper's X X^T = I)
 * and one-hot targets of a linear teacher, every class present. */
static void whitened_data(double *X, double *T, size_t n, size_t d, size_t K, uint64_t seed)
{
    orthonormal_cols(X, n, d, seed);
    uint64_t s = seed * 7 + 3;
    double *A = tu_dmalloc(K * d);
    for (size_t i = 0; i < K * d; i++)
        A[i] = tu_rand(&s);
    for (size_t i = 0; i < n; i++) {
        size_t best = i % K; /* the first K samples get class i */
        if (i >= K) {
            double bv = -INFINITY;
            for (size_t k = 0; k < K; k++) {
                double v = 0;
                for (size_t j = 0; j < d; j++)
                    v += A[k * d + j] * X[i * d + j];
                if (v > bv) {
                    bv = v;
                    best = k;
                }
            }
        }
        for (size_t k = 0; k < K; k++)
            T[i * K + k] = k == best ? 1.0 : 0.0;
    }
    free(A);
}

static lrmlp_subspace *estimate(lrmlp_net *net, const double *X, const double *T, size_t n,
                                const lrmlp_subspace_options *o)
{
    lrmlp_subspace *s = NULL;
    int rc = lrmlp_subspace_estimate_f64(&s, net, X, T, n, LRMLP_LOSS_SSE, o);
    ck_assert_msg(rc == LRMLP_OK, "estimate: %d %s", rc, lrmlp_last_errmsg());
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Full V = [V1 V2] (in x in) and U = [U1 U2] (out x out) of a layer. */
static void full_bases(const lrmlp_subspace *s, size_t layer, double *V, double *U)
{
    size_t in, out, p;
    int has_u;
    ck_assert_int_eq(lrmlp_subspace_layer_dims(s, layer, &in, &out, &p, &has_u), LRMLP_OK);
    double *a = tu_dmalloc(in * in), *b = tu_dmalloc(in * in);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, layer, LRMLP_SUBSPACE_V1, a), LRMLP_OK);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, layer, LRMLP_SUBSPACE_V2, b), LRMLP_OK);
    for (size_t i = 0; i < in; i++) {
        memcpy(V + i * in, a + i * (in - p), (in - p) * sizeof *V);
        memcpy(V + i * in + in - p, b + i * p, p * sizeof *V);
    }
    free(a);
    free(b);
    if (!U)
        return;
    ck_assert(has_u);
    a = tu_dmalloc(out * out);
    b = tu_dmalloc(out * out);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, layer, LRMLP_SUBSPACE_U1, a), LRMLP_OK);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, layer, LRMLP_SUBSPACE_U2, b), LRMLP_OK);
    for (size_t i = 0; i < out; i++) {
        memcpy(U + i * out, a + i * (out - p), (out - p) * sizeof *U);
        memcpy(U + i * out + out - p, b + i * p, p * sizeof *U);
    }
    free(a);
    free(b);
}

/* || B - A A^T B ||_F: how far the columns of B (n x c) are from span(A) (n x r). */
static double outside_span(const double *A, size_t r, const double *B, size_t c, size_t n)
{
    double *C = tu_dmalloc(r * c), *P = tu_dmalloc(n * c);
    matmul(C, A, 1, B, r, n, c);
    matmul(P, A, 0, C, n, r, c);
    double f = 0;
    for (size_t i = 0; i < n * c; i++)
        f += (B[i] - P[i]) * (B[i] - P[i]);
    free(C);
    free(P);
    return sqrt(f);
}

/* ---- S_big, S_small and the first layer's U ---- */

START_TEST(test_sbig_orthogonal)
{
    const size_t d = 32, m = 48, K = 4, n = 64;
    const size_t w[] = {d, m, K};
    const double eps = 0.1;
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_TANH, eps, 11);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 5);
    lrmlp_subspace *s = estimate(net, X, T, n, NULL);

    ck_assert_uint_eq(lrmlp_subspace_rank(s), K);
    ck_assert_uint_eq(lrmlp_subspace_n_layers(s), 1);
    size_t in, out, p;
    int has_u;
    ck_assert_int_eq(lrmlp_subspace_layer_dims(s, 0, &in, &out, &p, &has_u), LRMLP_OK);
    ck_assert_uint_eq(in, d);
    ck_assert_uint_eq(out, m);
    ck_assert_uint_eq(p, d - 2 * K);
    ck_assert_int_eq(has_u, 1);

    double *V = tu_dmalloc(d * d), *U = tu_dmalloc(m * m);
    full_bases(s, 0, V, U);
    ck_assert_double_le(orth_error(V, d, d), 1e-12);
    ck_assert_double_le(orth_error(U, m, m), 1e-12);

    /* V1 (2K columns) contains R11 and W^T L11 / eps: S_big has dimension 2K. */
    double *V1 = tu_dmalloc(d * 2 * K), *L = tu_dmalloc(m * K), *R = tu_dmalloc(d * K);
    double *W = tu_dmalloc(m * d), *WL = tu_dmalloc(d * K);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_V1, V1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_subspace_singular_vectors(s, L, R), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 0, W), LRMLP_OK);
    matmul(WL, W, 1, L, d, m, K);
    for (size_t i = 0; i < d * K; i++)
        WL[i] /= eps;
    ck_assert_double_le(outside_span(V1, 2 * K, R, K, d), 1e-12);
    ck_assert_double_le(outside_span(V1, 2 * K, WL, K, d), 1e-12);
    ck_assert_double_le(orth_error(R, d, K), 1e-12);
    ck_assert_double_le(orth_error(L, m, K), 1e-12);

    /* U2 = W V2 / eps is already orthonormal (W eps-scaled orthogonal, m >= d)
     * and is returned unchanged; L11 lies in U1. */
    double dev = -1;
    ck_assert_int_eq(lrmlp_subspace_u2_deviation(s, 0, &dev), LRMLP_OK);
    ck_assert_double_le(dev, 1e-12);
    double *V2 = tu_dmalloc(d * p), *U2 = tu_dmalloc(m * p), *WV = tu_dmalloc(m * p);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_V2, V2), LRMLP_OK);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U2, U2), LRMLP_OK);
    matmul(WV, W, 0, V2, m, d, p);
    for (size_t i = 0; i < m * p; i++)
        ck_assert_double_eq_tol(U2[i], WV[i] / eps, 1e-12);
    double *U1 = tu_dmalloc(m * (m - p));
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U1, U1), LRMLP_OK);
    ck_assert_double_le(outside_span(U1, m - p, L, K, m), 1e-12);

    double sv[5];
    ck_assert_int_eq(lrmlp_subspace_singular_values(s, sv), LRMLP_OK);
    for (size_t i = 0; i < K; i++)
        ck_assert_double_ge(sv[i], sv[i + 1]);
    ck_assert_double_gt(sv[K - 1], 0);

    free(V);
    free(U);
    free(V1);
    free(L);
    free(R);
    free(W);
    free(WL);
    free(V2);
    free(U2);
    free(WV);
    free(U1);
    free(X);
    free(T);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_narrow_layers)
{
    /* m = 28 < d = 32 but >= p = 24: W has orthonormal rows, so W V2 / eps is
     * not orthonormal; the returned U2 is, and the deviation says how far
     * the raw one was. m = 16 < p: V bases only. */
    const size_t d = 32, K = 4, n = 48;
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 9);
    {
        const size_t m = 28, w[] = {d, m, K};
        lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_SILU, 0.1, 3);
        lrmlp_subspace *s = estimate(net, X, T, n, NULL);
        double dev = 0, *V = tu_dmalloc(d * d), *U = tu_dmalloc(m * m);
        ck_assert_int_eq(lrmlp_subspace_u2_deviation(s, 0, &dev), LRMLP_OK);
        ck_assert_double_gt(dev, 1e-3);
        full_bases(s, 0, V, U);
        ck_assert_double_le(orth_error(V, d, d), 1e-12);
        ck_assert_double_le(orth_error(U, m, m), 1e-12);
        lrmlp_subspace_free(s);
        /* the randomized method on a wide G_1 (m < d), with more probes than m allows */
        lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
        o.method = LRMLP_SUBSPACE_RANDOMIZED;
        o.oversample = 100;
        s = estimate(net, X, T, n, &o);
        full_bases(s, 0, V, U);
        ck_assert_double_le(orth_error(V, d, d), 1e-12);
        ck_assert_double_le(orth_error(U, m, m), 1e-12);
        free(V);
        free(U);
        lrmlp_subspace_free(s);
        lrmlp_net_free(net);
    }
    {
        const size_t m = 16, w[] = {d, m, 8, K};
        lrmlp_net *net = tu_make_net(LRMLP_F64, 3, w, LRMLP_ACT_SILU, 0.1, 3);
        lrmlp_subspace *s = estimate(net, X, T, n, NULL);
        ck_assert_uint_eq(lrmlp_subspace_n_layers(s), 1);
        int has_u = 1;
        ck_assert_int_eq(lrmlp_subspace_layer_dims(s, 0, NULL, NULL, NULL, &has_u), LRMLP_OK);
        ck_assert_int_eq(has_u, 0);
        double *V = tu_dmalloc(d * d), *buf = tu_dmalloc(m * m), fr[4], dev;
        full_bases(s, 0, V, NULL);
        ck_assert_double_le(orth_error(V, d, d), 1e-12);
        ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U2, buf), LRMLP_ERR_SHAPE);
        ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U1, buf), LRMLP_ERR_SHAPE);
        ck_assert(strlen(lrmlp_last_errmsg()) > 0);
        ck_assert_int_eq(lrmlp_subspace_u2_deviation(s, 0, &dev), LRMLP_ERR_SHAPE);
        double *W = tu_dmalloc(m * d);
        ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W, W, fr), LRMLP_ERR_SHAPE);
        ck_assert_int_eq(lrmlp_subspace_get_basis(s, 1, LRMLP_SUBSPACE_V1, buf),
                         LRMLP_ERR_INVALID);
        free(W);
        free(V);
        free(buf);
        lrmlp_subspace_free(s);
        lrmlp_net_free(net);
    }
    free(X);
    free(T);
}
END_TEST

/* ---- propagation through deeper layers ---- */

START_TEST(test_propagated)
{
    const size_t d = 32, m = 40, K = 4, n = 64, L = 4;
    const size_t w[] = {d, m, m, m, K};
    const double eps = 0.1;
    lrmlp_net *net = tu_make_net(LRMLP_F64, L, w, LRMLP_ACT_GELU, eps, 21);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 17);
    lrmlp_subspace *s = estimate(net, X, T, n, NULL);
    ck_assert_uint_eq(lrmlp_subspace_n_layers(s), L - 1);
    const size_t p = d - 2 * K;
    double *prevU2 = tu_dmalloc(m * p);
    for (size_t l = 0; l < L - 1; l++) {
        size_t in, out, pp;
        int has_u;
        ck_assert_int_eq(lrmlp_subspace_layer_dims(s, l, &in, &out, &pp, &has_u), LRMLP_OK);
        ck_assert_uint_eq(in, w[l]);
        ck_assert_uint_eq(out, w[l + 1]);
        ck_assert_uint_eq(pp, p);
        ck_assert_int_eq(has_u, 1);
        double *V = tu_dmalloc(in * in), *U = tu_dmalloc(out * out);
        full_bases(s, l, V, U);
        ck_assert_double_le(orth_error(V, in, in), 1e-12);
        ck_assert_double_le(orth_error(U, out, out), 1e-12);
        double dev;
        ck_assert_int_eq(lrmlp_subspace_u2_deviation(s, l, &dev), LRMLP_OK);
        ck_assert_double_le(dev, 1e-12);
        double *V2 = tu_dmalloc(in * p), *U2 = tu_dmalloc(out * p), *W = tu_dmalloc(out * in);
        double *WV = tu_dmalloc(out * p);
        ck_assert_int_eq(lrmlp_subspace_get_basis(s, l, LRMLP_SUBSPACE_V2, V2), LRMLP_OK);
        ck_assert_int_eq(lrmlp_subspace_get_basis(s, l, LRMLP_SUBSPACE_U2, U2), LRMLP_OK);
        if (l > 0) /* V_{l,2} = U_{l-1,2} exactly */
            ck_assert_int_eq(memcmp(V2, prevU2, in * p * sizeof *V2), 0);
        ck_assert_int_eq(lrmlp_net_get_weights_f64(net, l, W), LRMLP_OK);
        matmul(WV, W, 0, V2, out, in, p);
        for (size_t i = 0; i < out * p; i++)
            ck_assert_double_eq_tol(U2[i], WV[i] / eps, 1e-12);
        memcpy(prevU2, U2, out * p * sizeof *U2);
        free(V);
        free(U);
        free(V2);
        free(U2);
        free(W);
        free(WV);
    }
    size_t in;
    ck_assert_int_eq(lrmlp_subspace_layer_dims(s, L - 1, &in, NULL, NULL, NULL),
                     LRMLP_ERR_INVALID);
    free(prevU2);
    free(X);
    free(T);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
}
END_TEST

/* ---- the spectral gap of G_1(0) ---- */

static double gap_ratio(double eps, lrmlp_activation act)
{
    const size_t d = 32, m = 48, K = 4, n = 128;
    const size_t w[] = {d, m, K};
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, act, eps, 31);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 13);
    lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    o.eps = eps;
    o.theory = 1;
    lrmlp_subspace *s = estimate(net, X, T, n, &o);
    double sv[5];
    ck_assert_int_eq(lrmlp_subspace_singular_values(s, sv), LRMLP_OK);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
    free(X);
    free(T);
    return sv[K] / sv[K - 1];
}

START_TEST(test_gap_shrinks_with_eps)
{
    lrmlp_activation act = _i == 0 ? LRMLP_ACT_TANH : LRMLP_ACT_GELU;
    double r1 = gap_ratio(0.1, act), r2 = gap_ratio(0.01, act);
    ck_assert_msg(r2 < 0.5 * r1 && r1 < 0.5, "gap ratio eps=0.1: %g, eps=0.01: %g", r1, r2);
}
END_TEST

/* ---- exact against randomized ---- */

START_TEST(test_exact_vs_randomized)
{
    const size_t d = 64, m = 96, K = 5, n = 160;
    const size_t w[] = {d, m, m, K};
    const double eps = 0.01;
    lrmlp_net *net = tu_make_net(LRMLP_F64, 3, w, LRMLP_ACT_TANH, eps, 41);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 19);
    lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    o.eps = eps;
    lrmlp_subspace *se = estimate(net, X, T, n, &o);
    o.method = LRMLP_SUBSPACE_RANDOMIZED;
    o.seed = 7;
    lrmlp_subspace *sr = estimate(net, X, T, n, &o);

    double sve[6], svr[6];
    lrmlp_subspace_singular_values(se, sve);
    lrmlp_subspace_singular_values(sr, svr);
    ck_assert_msg(sve[K] / sve[K - 1] < 0.05, "no clear gap: %g", sve[K] / sve[K - 1]);
    for (size_t i = 0; i < K; i++)
        ck_assert_double_eq_tol(svr[i], sve[i], 1e-10 * sve[0]);

    double *a = tu_dmalloc(m * m), *b = tu_dmalloc(m * m);
    lrmlp_subspace_singular_vectors(se, a, NULL);
    lrmlp_subspace_singular_vectors(sr, b, NULL);
    ck_assert_double_lt(lrmlp_principal_angles(a, b, m, K, NULL), 1e-6);
    lrmlp_subspace_singular_vectors(se, NULL, a);
    lrmlp_subspace_singular_vectors(sr, NULL, b);
    ck_assert_double_lt(lrmlp_principal_angles(a, b, d, K, NULL), 1e-6);
    const size_t p = d - 2 * K;
    for (size_t l = 0; l < 2; l++) {
        size_t in = w[l], out = w[l + 1];
        lrmlp_subspace_get_basis(se, l, LRMLP_SUBSPACE_V1, a);
        lrmlp_subspace_get_basis(sr, l, LRMLP_SUBSPACE_V1, b);
        ck_assert_double_lt(lrmlp_principal_angles(a, b, in, in - p, NULL), 1e-6);
        lrmlp_subspace_get_basis(se, l, LRMLP_SUBSPACE_U2, a);
        lrmlp_subspace_get_basis(sr, l, LRMLP_SUBSPACE_U2, b);
        ck_assert_double_lt(lrmlp_principal_angles(a, b, out, p, NULL), 1e-6);
    }

    /* The same network in float32 gives nearly the same S_big. */
    lrmlp_net *n32 = tu_make_net(LRMLP_F32, 3, w, LRMLP_ACT_TANH, eps, 41);
    float *X32 = malloc(n * d * sizeof *X32), *T32 = malloc(n * K * sizeof *T32);
    for (size_t i = 0; i < n * d; i++)
        X32[i] = (float)X[i];
    for (size_t i = 0; i < n * K; i++)
        T32[i] = (float)T[i];
    lrmlp_subspace *s32 = NULL;
    o.method = LRMLP_SUBSPACE_EXACT;
    ck_assert_int_eq(lrmlp_subspace_estimate_f32(&s32, n32, X32, T32, n, LRMLP_LOSS_SSE, &o),
                     LRMLP_OK);
    lrmlp_subspace_get_basis(se, 0, LRMLP_SUBSPACE_V1, a);
    lrmlp_subspace_get_basis(s32, 0, LRMLP_SUBSPACE_V1, b);
    ck_assert_double_lt(lrmlp_principal_angles(a, b, d, 2 * K, NULL), 1e-3);

    free(a);
    free(b);
    free(X);
    free(T);
    free(X32);
    free(T32);
    lrmlp_subspace_free(se);
    lrmlp_subspace_free(sr);
    lrmlp_subspace_free(s32);
    lrmlp_net_free(net);
    lrmlp_net_free(n32);
}
END_TEST

/* ---- principal angles ---- */

START_TEST(test_principal_angles_known)
{
    /* A = Q [e1 e2], B = Q [cos a e1 + sin a e3, cos b e2 + sin b e4], Q a
     * random 5 x 5 orthogonal matrix: the angles are exactly a and b. */
    const size_t n = 5, r = 2;
    const double ta = 1.2, tb = 0.3;
    double Q[25], A0[10] = {0}, B0[10] = {0}, A[10], B[10], ang[2];
    orthonormal_cols(Q, n, n, 77);
    A0[0 * r + 0] = 1;
    A0[1 * r + 1] = 1;
    B0[0 * r + 0] = cos(ta);
    B0[2 * r + 0] = sin(ta);
    B0[1 * r + 1] = cos(tb);
    B0[3 * r + 1] = sin(tb);
    matmul(A, Q, 0, A0, n, n, r);
    matmul(B, Q, 0, B0, n, n, r);
    double sn = lrmlp_principal_angles(A, B, n, r, ang);
    ck_assert_double_eq_tol(sn, sqrt(sin(ta) * sin(ta) + sin(tb) * sin(tb)), 1e-14);
    ck_assert_double_eq_tol(ang[0], tb, 1e-12);
    ck_assert_double_eq_tol(ang[1], ta, 1e-12);
    /* symmetric in A and B */
    ck_assert_double_eq_tol(lrmlp_principal_angles(B, A, n, r, NULL), sn, 1e-14);
    /* same span, other basis: all angles zero */
    double Bs[10];
    for (size_t i = 0; i < n; i++) {
        Bs[i * r + 0] = (A[i * r + 0] + A[i * r + 1]) / sqrt(2.0);
        Bs[i * r + 1] = (A[i * r + 0] - A[i * r + 1]) / sqrt(2.0);
    }
    ck_assert_double_le(lrmlp_principal_angles(A, Bs, n, r, ang), 1e-15);
    ck_assert_double_le(ang[1], 1e-7);
    /* tiny angle stays accurate; a right angle */
    const double t = 1e-9;
    double a1[2] = {1, 0}, b1[2] = {cos(t), sin(t)}, c1[2] = {0, 1}, th;
    ck_assert_double_eq_tol(lrmlp_principal_angles(a1, b1, 2, 1, &th), t, 1e-18);
    ck_assert_double_eq_tol(th, t, 1e-18);
    ck_assert_double_eq_tol(lrmlp_principal_angles(a1, c1, 2, 1, &th), 1.0, 1e-15);
    ck_assert_double_eq_tol(th, acos(0.0), 1e-15);
    /* invalid input */
    ck_assert(isnan(lrmlp_principal_angles(NULL, B, n, r, NULL)));
    ck_assert(isnan(lrmlp_principal_angles(A, B, n, 0, NULL)));
    ck_assert(isnan(lrmlp_principal_angles(A, B, 1, 2, NULL)));
    B[3] = NAN;
    ck_assert(isnan(lrmlp_principal_angles(A, B, n, r, NULL)));
}
END_TEST

/* ---- block fractions ---- */

START_TEST(test_block_fractions)
{
    const size_t d = 24, m = 30, K = 3, n = 40;
    const size_t w[] = {d, m, K};
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_ELU, 0.1, 51);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 23);
    lrmlp_subspace *s = estimate(net, X, T, n, NULL);
    const size_t p = d - 2 * K, r1 = 2 * K, u1 = m - p;
    double *Ub[2] = {tu_dmalloc(m * u1), tu_dmalloc(m * p)};
    double *Vb[2] = {tu_dmalloc(d * r1), tu_dmalloc(d * p)};
    const size_t ucols[2] = {u1, p}, vcols[2] = {r1, p};
    lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U1, Ub[0]);
    lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_U2, Ub[1]);
    lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_V1, Vb[0]);
    lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_V2, Vb[1]);
    double *W0 = tu_dmalloc(m * d), *Wt = tu_dmalloc(m * d), *M = tu_dmalloc(m * d),
           *UM = tu_dmalloc(m * d);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 0, W0), LRMLP_OK);
    uint64_t st = 99;
    double fr[4];
    /* D = U_i M V_j^T lands entirely in block ij. */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            for (size_t k = 0; k < ucols[i] * vcols[j]; k++)
                M[k] = tu_rand(&st);
            matmul(UM, Ub[i], 0, M, m, ucols[i], vcols[j]);
            for (size_t a = 0; a < m; a++)
                for (size_t b = 0; b < d; b++) {
                    double v = 0;
                    for (size_t c = 0; c < vcols[j]; c++)
                        v += UM[a * vcols[j] + c] * Vb[j][b * vcols[j] + c];
                    Wt[a * d + b] = W0[a * d + b] + v;
                }
            ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, Wt, fr), LRMLP_OK);
            for (int q = 0; q < 4; q++)
                ck_assert_double_eq_tol(fr[q], q == 2 * i + j ? 1.0 : 0.0, 1e-12);
        }
    /* A random change: fractions sum to 1 and match ||U_i^T D V_j||^2 / ||D||^2. */
    double tot = 0;
    for (size_t k = 0; k < m * d; k++) {
        Wt[k] = W0[k] + tu_rand(&st);
        tot += (Wt[k] - W0[k]) * (Wt[k] - W0[k]);
    }
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, Wt, fr), LRMLP_OK);
    ck_assert_double_eq_tol(fr[0] + fr[1] + fr[2] + fr[3], 1.0, 1e-12);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double *D = tu_dmalloc(m * d), *DV = tu_dmalloc(m * vcols[j]), *B = tu_dmalloc(m * d);
            for (size_t k = 0; k < m * d; k++)
                D[k] = Wt[k] - W0[k];
            matmul(DV, D, 0, Vb[j], m, d, vcols[j]);
            matmul(B, Ub[i], 1, DV, ucols[i], m, vcols[j]);
            double f = 0;
            for (size_t k = 0; k < ucols[i] * vcols[j]; k++)
                f += B[k] * B[k];
            ck_assert_double_eq_tol(fr[2 * i + j], f / tot, 1e-12);
            free(D);
            free(DV);
            free(B);
        }
    /* no change: all zero; NaN: error */
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, W0, fr), LRMLP_OK);
    for (int q = 0; q < 4; q++)
        ck_assert_double_eq(fr[q], 0.0);
    Wt[5] = NAN;
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, Wt, fr), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, NULL, fr), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 1, W0, W0, fr), LRMLP_ERR_INVALID);

    for (int i = 0; i < 2; i++) {
        free(Ub[i]);
        free(Vb[i]);
    }
    free(W0);
    free(Wt);
    free(M);
    free(UM);
    free(X);
    free(T);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
}
END_TEST

/* ---- the law of parsimony (docs/theory.md section 2, linear case) ---- */

/* eps is cross-checked against the network's orthogonal init; 0 takes it
 * from there and gives the same bases as the right value. */
START_TEST(test_eps_from_network)
{
    const size_t d = 12, m = 10, K = 2, n = 30;
    const size_t w[] = { d, m, m, K };
    lrmlp_net *net = tu_make_net(LRMLP_F64, 3, w, LRMLP_ACT_TANH, 0.1, 71);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 29);
    lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    lrmlp_subspace *s = NULL;
    o.eps = 0.2;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, LRMLP_LOSS_SSE, &o),
                     LRMLP_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "eps = 0.2"));
    o.eps = 0.1;
    lrmlp_subspace *a = estimate(net, X, T, n, &o);
    o.eps = 0;
    lrmlp_subspace *b = estimate(net, X, T, n, &o);
    const size_t p = d - 2 * K;
    double *Ua = tu_dmalloc(m * p), *Ub = tu_dmalloc(m * p);
    for (size_t l = 0; l < 2; l++) {
        ck_assert_int_eq(lrmlp_subspace_get_basis(a, l, LRMLP_SUBSPACE_U2, Ua), LRMLP_OK);
        ck_assert_int_eq(lrmlp_subspace_get_basis(b, l, LRMLP_SUBSPACE_U2, Ub), LRMLP_OK);
        for (size_t i = 0; i < m * p; i++)
            ck_assert_double_eq_tol(Ua[i], Ub[i], 1e-12);
    }
    free(Ua);
    free(Ub);
    lrmlp_subspace_free(a);
    lrmlp_subspace_free(b);
    lrmlp_net_free(net);
    free(X);
    free(T);
}
END_TEST

/* A layer with out == p (here layer 1, m -> p) has an empty U1: blocks 11
 * and 12 do not exist and are reported as NaN, not as a fraction 0. */
START_TEST(test_empty_u1)
{
    const size_t d = 8, K = 2, p = d - 2 * K, m = 8, n = 30;
    const size_t w[] = { d, m, p, K };
    lrmlp_net *net = tu_make_net(LRMLP_F64, 3, w, LRMLP_ACT_TANH, 0.1, 73);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 31);
    lrmlp_subspace *s = estimate(net, X, T, n, NULL);
    size_t in, out, pp;
    int has_u;
    ck_assert_int_eq(lrmlp_subspace_layer_dims(s, 1, &in, &out, &pp, &has_u), LRMLP_OK);
    ck_assert(in == m && out == p && pp == p && has_u);
    double *W0 = tu_dmalloc(p * m), *Wt = tu_dmalloc(p * m), fr[4];
    lrmlp_net_get_weights_f64(net, 1, W0);
    uint64_t st = 5;
    for (size_t i = 0; i < p * m; i++)
        Wt[i] = W0[i] + tu_rand(&st);
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 1, W0, Wt, fr), LRMLP_OK);
    ck_assert(isnan(fr[0]) && isnan(fr[1]));
    ck_assert(fr[2] > 0 && fr[3] > 0);
    ck_assert_double_eq_tol(fr[2] + fr[3], 1.0, 1e-12);
    /* layer 0 (out = m > p) has all four blocks */
    double *A0 = tu_dmalloc(m * d), *At = tu_dmalloc(m * d);
    lrmlp_net_get_weights_f64(net, 0, A0);
    for (size_t i = 0; i < m * d; i++)
        At[i] = A0[i] + tu_rand(&st);
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, A0, At, fr), LRMLP_OK);
    ck_assert(!isnan(fr[0]) && !isnan(fr[1]) && !isnan(fr[2]) && !isnan(fr[3]));
    free(A0);
    free(At);
    free(W0);
    free(Wt);
    free(X);
    free(T);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_parsimony_linear_gd)
{
    /* Identity activation, W_2 fixed with orthonormal rows, whitened inputs,
     * a linear teacher, SSE, full-batch GD on W_1: the gradient stays in
     * U1 (x) V1, so all of the change lies in block 11. */
    const size_t d = 16, m = 24, K = 3, n = 40;
    const size_t w[] = {d, m, K};
    const double eps = 0.1;
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_IDENTITY, eps, 61);
    ck_assert_int_eq(lrmlp_net_init_layer(net, 1, LRMLP_INIT_ORTHOGONAL, 1.0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 1, 1), LRMLP_OK);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K), *A = tu_dmalloc(K * d);
    orthonormal_cols(X, n, d, 71);
    uint64_t st = 5;
    for (size_t i = 0; i < K * d; i++)
        A[i] = tu_rand(&st);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++) {
            double v = 0;
            for (size_t j = 0; j < d; j++)
                v += A[k * d + j] * X[i * d + j];
            T[i * K + k] = v;
        }
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.eps = eps;
    so.theory = 1;
    lrmlp_subspace *s = estimate(net, X, T, n, &so);

    double *W0 = tu_dmalloc(m * d), *Wt = tu_dmalloc(m * d), *W2a = tu_dmalloc(K * m),
           *W2b = tu_dmalloc(K * m);
    lrmlp_net_get_weights_f64(net, 0, W0);
    lrmlp_net_get_weights_f64(net, 1, W2a);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = 0.2;
    lrmlp_optim *opt = NULL;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    double loss0 = 0, loss = 0;
    for (int step = 0; step < 200; step++) {
        ck_assert_int_eq(lrmlp_net_gradient_f64(net, X, T, n, LRMLP_LOSS_SSE, &loss), LRMLP_OK);
        if (step == 0)
            loss0 = loss;
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
    lrmlp_net_get_weights_f64(net, 0, Wt);
    lrmlp_net_get_weights_f64(net, 1, W2b);
    ck_assert_int_eq(memcmp(W2a, W2b, K * m * sizeof *W2a), 0);
    ck_assert_double_lt(loss, 0.5 * loss0);
    double ch = 0;
    for (size_t i = 0; i < m * d; i++)
        ch += (Wt[i] - W0[i]) * (Wt[i] - W0[i]);
    ck_assert_double_gt(sqrt(ch), 0.1);
    double fr[4];
    ck_assert_int_eq(lrmlp_subspace_block_fractions(s, 0, W0, Wt, fr), LRMLP_OK);
    ck_assert_msg(fr[0] >= 1.0 - 1e-6, "block fractions %g %g %g %g", fr[0], fr[1], fr[2],
                  fr[3]);

    lrmlp_optim_free(opt);
    free(W0);
    free(Wt);
    free(W2a);
    free(W2b);
    free(A);
    free(X);
    free(T);
    lrmlp_subspace_free(s);
    lrmlp_net_free(net);
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_bad_input)
{
    const size_t d = 32, m = 40, K = 4, n = 48;
    const size_t w[] = {d, m, K};
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_TANH, 0.1, 81);
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * K);
    whitened_data(X, T, n, d, K, 29);
    lrmlp_subspace *s = (lrmlp_subspace *)&s; /* must be reset to NULL on error */
    lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    const lrmlp_loss sse = LRMLP_LOSS_SSE;

    ck_assert_int_eq(lrmlp_subspace_options_init(&o, 99), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_subspace_options_init(NULL, 1), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_subspace_options_init(&o, LRMLP_SUBSPACE_OPTIONS_VERSION), LRMLP_OK);
    ck_assert_double_eq(o.eps, 0.1);
    ck_assert_uint_eq(o.oversample, 10);
    ck_assert_uint_eq(o.power_iters, 2);

    ck_assert_int_eq(lrmlp_subspace_estimate_f64(NULL, net, X, T, n, sse, NULL),
                     LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, NULL, X, T, n, sse, NULL),
                     LRMLP_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, NULL, T, n, sse, NULL),
                     LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, 0, sse, NULL),
                     LRMLP_ERR_INVALID);
    float xf[1] = {0}, tf[1] = {0};
    ck_assert_int_eq(lrmlp_subspace_estimate_f32(&s, net, xf, tf, 1, sse, NULL),
                     LRMLP_ERR_DTYPE);

    /* theory: 2K < d; otherwise 2K <= d and K <= min(m, d) */
    o.theory = 1;
    o.k = 16;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    ck_assert(strstr(lrmlp_last_errmsg(), "K < d/2") != NULL);
    o.k = 1000;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    o.theory = 0;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_SHAPE);
    o.k = 17;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_SHAPE);
    ck_assert_ptr_null(s);
    o.k = 0;
    o.eps = -0.1;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    o.eps = NAN;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    o.eps = 0.1;
    o.method = (lrmlp_subspace_method)7;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    o.method = LRMLP_SUBSPACE_RANDOMIZED;
    o.power_iters = 1000;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_INVALID);
    o.power_iters = 2;
    o.version = 42;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o), LRMLP_ERR_VERSION);
    o.version = LRMLP_SUBSPACE_OPTIONS_VERSION;

    /* NaN in the data */
    X[7] = NAN;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o),
                     LRMLP_ERR_NONFINITE);
    ck_assert_ptr_null(s);
    ck_assert(strlen(lrmlp_last_errmsg()) > 0);
    X[7] = 0.0;
    T[3] = INFINITY;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, net, X, T, n, sse, &o),
                     LRMLP_ERR_NONFINITE);
    T[3] = 0.0;

    /* 2K = d without the theory flag: S_small is empty, U2 too. */
    o.k = 16;
    o.method = LRMLP_SUBSPACE_EXACT;
    s = estimate(net, X, T, n, &o);
    size_t p = 1;
    ck_assert_int_eq(lrmlp_subspace_layer_dims(s, 0, NULL, NULL, &p, NULL), LRMLP_OK);
    ck_assert_uint_eq(p, 0);
    double *V = tu_dmalloc(d * d), *U = tu_dmalloc(m * m);
    full_bases(s, 0, V, U);
    ck_assert_double_le(orth_error(V, d, d), 1e-12);
    ck_assert_double_le(orth_error(U, m, m), 1e-12);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, (lrmlp_subspace_basis)9, V),
                     LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_subspace_get_basis(s, 0, LRMLP_SUBSPACE_V1, NULL), LRMLP_ERR_INVALID);
    lrmlp_subspace_free(s);
    s = NULL;
    o.k = 0;

    /* A frozen first layer is used (and stays frozen). */
    lrmlp_net_set_frozen(net, 0, 1);
    s = estimate(net, X, T, n, &o);
    ck_assert_int_eq(lrmlp_net_is_frozen(net, 0), 1);
    lrmlp_subspace_free(s);
    s = NULL;

    /* one layer: nothing to analyse; K > m */
    const size_t w1[] = {d, K}, w3[] = {d, 3, K};
    lrmlp_net *n1 = tu_make_net(LRMLP_F64, 1, w1, LRMLP_ACT_TANH, 0.1, 1);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, n1, X, T, n, sse, NULL), LRMLP_ERR_SHAPE);
    lrmlp_net *n3 = tu_make_net(LRMLP_F64, 2, w3, LRMLP_ACT_TANH, 0.1, 1);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, n3, X, T, n, sse, NULL), LRMLP_ERR_SHAPE);

    /* zero weights: G_1 = 0, no subspace */
    const size_t w4[] = {d, m, K};
    lrmlp_net *n4 = tu_make_net(LRMLP_F64, 2, w4, LRMLP_ACT_TANH, 0.1, 1);
    lrmlp_net_init_layer(n4, 0, LRMLP_INIT_ZERO, 0);
    lrmlp_net_init_layer(n4, 1, LRMLP_INIT_ZERO, 0);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&s, n4, X, T, n, sse, NULL), LRMLP_ERR_LINALG);
    ck_assert_ptr_null(s);

    /* NULL-safe queries */
    lrmlp_subspace_free(NULL);
    ck_assert_uint_eq(lrmlp_subspace_rank(NULL), 0);
    ck_assert_uint_eq(lrmlp_subspace_n_layers(NULL), 0);
    ck_assert_ptr_nonnull(lrmlp_last_errmsg());
    ck_assert_int_eq(lrmlp_subspace_singular_values(NULL, V), LRMLP_ERR_INVALID);

    free(V);
    free(U);
    free(X);
    free(T);
    lrmlp_net_free(n1);
    lrmlp_net_free(n3);
    lrmlp_net_free(n4);
    lrmlp_net_free(net);
}
END_TEST

static Suite *subspace_suite(void)
{
    Suite *s = suite_create("subspace");
    TCase *tb = tcase_create("bases");
    tcase_set_timeout(tb, 120);
    tcase_add_test(tb, test_sbig_orthogonal);
    tcase_add_test(tb, test_narrow_layers);
    tcase_add_test(tb, test_propagated);
    tcase_add_loop_test(tb, test_gap_shrinks_with_eps, 0, 2);
    tcase_add_test(tb, test_exact_vs_randomized);
    suite_add_tcase(s, tb);
    TCase *tm = tcase_create("measures");
    tcase_set_timeout(tm, 120);
    tcase_add_test(tm, test_principal_angles_known);
    tcase_add_test(tm, test_block_fractions);
    tcase_add_test(tm, test_eps_from_network);
    tcase_add_test(tm, test_empty_u1);
    tcase_add_test(tm, test_parsimony_linear_gd);
    suite_add_tcase(s, tm);
    TCase *ta = tcase_create("api");
    tcase_add_test(ta, test_bad_input);
    suite_add_tcase(s, ta);
    return s;
}

int main(void) { return tu_run_suite(subspace_suite()); }
