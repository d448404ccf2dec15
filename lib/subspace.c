/* The invariant-subspace estimator (docs/theory.md sections 2-3): top-K singular
 * triplets of G_1, S_big / S_small, the U/V bases of every analysed layer,
 * block fractions and principal angles. Everything is computed in double. */
#include "internal.h"
#include "numerics.h"
#include "le.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sub_layer_ {
    size_t in, out, p;
    int has_u;
    double *V;      /* in x in: columns 0..in-p-1 = V1, in-p..in-1 = V2 */
    double *U;      /* out x out or NULL: columns 0..out-p-1 = U1, the rest U2 */
    double u2_dev;  /* ||U2raw^T U2raw - I||_F */
} sub_layer_;

struct lrmlp_subspace {
    size_t k;
    size_t m, d;          /* shape of G_1 */
    double eps;
    double *sv;           /* k + 1 */
    double *L11;          /* m x k */
    double *R11;          /* d x k */
    size_t n_alloc;       /* entries in layers (L - 1) */
    size_t n_layers;      /* layers with bases */
    sub_layer_ *layers;
};

/* ---- small numerical helpers ---- */

/* Singular values (descending) of the m x n row-major matrix A, not changed. */
static int svals(const double *A, size_t m, size_t n, double *s)
{
    size_t mn = m < n ? m : n;
    if (mn == 0)
        return LRMLP_OK;
    double *C = lrmlp__dalloc(m, n);
    if (!C)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    memcpy(C, A, m * n * sizeof *C);
    /* The row-major m x n A is the column-major n x m A^T: same singular
     * values, and the column-major driver takes 1 x 1 dummies for U, VT. */
    lapack_int info = lrmlp__svd(LAPACK_COL_MAJOR, 'N', n, m, C, n, s, NULL, 1, NULL, 1, A,
                                 NULL, NULL, NULL);
    free(C);
    if (info != 0)
        return lrmlp__err(LRMLP_ERR_LINALG, "singular values failed (info %d)", (int)info);
    return LRMLP_OK;
}

/* Thin QR in place: A (n x c, n >= c >= 1) becomes Q with orthonormal columns. */
static int orth_inplace(double *A, size_t n, size_t c, double *tau)
{
    return lrmlp__qr(A, n, c, c, c, tau, 0, NULL);
}

/* Full QR of A (n x r row-major, n >= r): Q (n x n) gets in its first r
 * columns an orthonormal basis of span(A), signs chosen so that diag(R) > 0
 * (so Q's first r columns equal A when A is already orthonormal), and in
 * the last n - r columns a basis of the complement. R (r x r, optional)
 * receives the triangular factor with that sign convention. */
static int full_qr(const double *A, size_t n, size_t r, double *Q, double *R)
{
    memset(Q, 0, n * n * sizeof *Q);
    if (r == 0) {
        for (size_t i = 0; i < n; i++)
            Q[i * n + i] = 1.0;
        return LRMLP_OK;
    }
    double *tau = lrmlp__dalloc(r, 1);
    if (!tau)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(Q + i * n, A + i * r, r * sizeof *Q);
    int rc = lrmlp__qr(Q, n, r, n, n, tau, 1, R);
    free(tau);
    return rc;
}

/* Copies columns [c0, c0 + nc) of the rows x cols matrix S into D (rows x nc). */
static void copy_cols(double *D, const double *S, size_t rows, size_t cols, size_t c0, size_t nc)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(D + i * nc, S + i * cols + c0, nc * sizeof *D);
}

/* ---- top-K singular triplets of G (m x d) ---- */

/* R = Vt[:K, :]^T (d x K) and sv = the top K of the ns singular values S,
 * then sigma_{K+1} (0 when there is none). */
static void topk_tail(const double *Vt, const double *S, size_t d, size_t K, size_t ns,
                      double *R, double *sv)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < K; j++)
            R[i * K + j] = Vt[j * d + i];
    for (size_t j = 0; j < K; j++)
        sv[j] = S[j];
    sv[K] = ns > K ? S[K] : 0.0;
}

static int topk_exact(const double *G, size_t m, size_t d, size_t K, double *sv, double *L,
                      double *R)
{
    size_t mn = m < d ? m : d;
    double *A = lrmlp__dalloc(m, d), *U = lrmlp__dalloc(m, mn), *S = lrmlp__dalloc(mn, 1),
           *VT = lrmlp__dalloc(mn, d);
    int rc = LRMLP_OK;
    if (!A || !U || !S || !VT) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the SVD of G_1 (%zu x %zu)",
                        m, d);
        goto done;
    }
    memcpy(A, G, m * d * sizeof *A);
    lapack_int info = lrmlp__svd(LAPACK_ROW_MAJOR, 'S', m, d, A, d, S, U, mn, VT, d, G, NULL,
                                 NULL, NULL);
    if (info != 0) {
        rc = lrmlp__err(LRMLP_ERR_LINALG, "SVD of G_1 failed (info %d)", (int)info);
        goto done;
    }
    copy_cols(L, U, m, mn, 0, K);
    topk_tail(VT, S, d, K, mn, R, sv);
done:
    free(A);
    free(U);
    free(S);
    free(VT);
    return rc;
}

static int topk_randomized(const double *G, size_t m, size_t d, size_t K, size_t over,
                           size_t q, uint64_t seed, double *sv, double *L, double *R)
{
    size_t mn = m < d ? m : d;
    size_t l = K + (over < mn - K ? over : mn - K); /* K <= l <= min(m, d) */
    double *Y = lrmlp__dalloc(m, l), *Z = lrmlp__dalloc(d, l), *tau = lrmlp__dalloc(l, 1),
           *B = lrmlp__dalloc(l, d);
    double *Ub = lrmlp__dalloc(l, l), *S = lrmlp__dalloc(l, 1), *Vt = lrmlp__dalloc(l, d);
    int rc = LRMLP_OK;
    if (!Y || !Z || !tau || !B || !Ub || !S || !Vt) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the randomized SVD");
        goto done;
    }
    lrmlp_rng rng;
    lrmlp__rng_seed(&rng, seed);
    for (size_t i = 0; i < d * l; i++)
        Z[i] = lrmlp__rng_normal(&rng);
    /* Y = G Omega, then q rounds of Y <- G orth(G^T orth(Y)). */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)l,
                (lrmlp_blasint)d, 1.0, G, (lrmlp_blasint)d, Z, (lrmlp_blasint)l, 0.0, Y,
                (lrmlp_blasint)l);
    if ((rc = orth_inplace(Y, m, l, tau)))
        goto done;
    for (size_t it = 0; it < q; it++) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)d, (lrmlp_blasint)l,
                    (lrmlp_blasint)m, 1.0, G, (lrmlp_blasint)d, Y, (lrmlp_blasint)l, 0.0, Z,
                    (lrmlp_blasint)l);
        if ((rc = orth_inplace(Z, d, l, tau)))
            goto done;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)l,
                    (lrmlp_blasint)d, 1.0, G, (lrmlp_blasint)d, Z, (lrmlp_blasint)l, 0.0, Y,
                    (lrmlp_blasint)l);
        if ((rc = orth_inplace(Y, m, l, tau)))
            goto done;
    }
    /* B = Q^T G (l x d) and its SVD B = Ub S Vt. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)l, (lrmlp_blasint)d,
                (lrmlp_blasint)m, 1.0, Y, (lrmlp_blasint)l, G, (lrmlp_blasint)d, 0.0, B,
                (lrmlp_blasint)d);
    lapack_int info = lrmlp__svd(LAPACK_ROW_MAJOR, 'S', l, d, B, d, S, Ub, l, Vt, d, NULL, NULL,
                                 NULL, NULL);
    if (info != 0) {
        rc = lrmlp__err(LRMLP_ERR_LINALG, "SVD of the projected G_1 failed (info %d)",
                        (int)info);
        goto done;
    }
    /* L = Q Ub[:, :K], R = Vt[:K, :]^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)K,
                (lrmlp_blasint)l, 1.0, Y, (lrmlp_blasint)l, Ub, (lrmlp_blasint)l, 0.0, L,
                (lrmlp_blasint)K);
    topk_tail(Vt, S, d, K, l, R, sv);
done:
    free(Y);
    free(Z);
    free(tau);
    free(B);
    free(Ub);
    free(S);
    free(Vt);
    return rc;
}

/* ---- the estimator ---- */

LRMLP__OPTS_TYPE(subspace_opts_type, lrmlp_subspace_options, LRMLP_SUBSPACE_OPTIONS_VERSION,
                 LRMLP_SUBSPACE_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_subspace_options, theory));

LRMLP_API int lrmlp_subspace_options_init(lrmlp_subspace_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&subspace_opts_type, opts, version);
}

LRMLP_API void lrmlp_subspace_free(lrmlp_subspace *s)
{
    if (!s)
        return;
    if (s->layers) {
        for (size_t l = 0; l < s->n_alloc; l++) {
            free(s->layers[l].V);
            free(s->layers[l].U);
        }
    }
    free(s->layers);
    free(s->sv);
    free(s->L11);
    free(s->R11);
    free(s);
}

/* Weights of a layer as a new double matrix (out x in); NULL on no memory. */
static double *layer_weights(const lrmlp_net *net, size_t l)
{
    const lrmlp_layer_ *ly = &net->layers[l];
    double *W = lrmlp__dalloc(ly->out, ly->in);
    if (!W)
        return NULL;
    size_t nw = ly->out * ly->in;
    if (net->dtype == LRMLP_F32) {
        const float *p = (const float *)net->params + ly->w_off;
        for (size_t i = 0; i < nw; i++)
            W[i] = (double)p[i];
    } else {
        memcpy(W, (const double *)net->params + ly->w_off, nw * sizeof *W);
    }
    return W;
}

/* S_big and S_small of layer 0 from the singular vectors. */
static int build_first_v(lrmlp_subspace *s, const double *W, sub_layer_ *ly)
{
    size_t d = s->d, m = s->m, K = s->k, r = 2 * K;
    double *A = lrmlp__dalloc(d, r), *Rf = lrmlp__dalloc(r, r), *sr = lrmlp__dalloc(r, 1);
    int rc = LRMLP_OK;
    ly->V = lrmlp__dalloc(d, d);
    if (!A || !Rf || !sr || !ly->V) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the input bases");
        goto done;
    }
    /* A = [R11, W^T L11 / eps] (d x 2K) */
    for (size_t i = 0; i < d; i++)
        memcpy(A + i * r, s->R11 + i * K, K * sizeof *A);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)d, (lrmlp_blasint)K,
                (lrmlp_blasint)m, 1.0 / s->eps, W, (lrmlp_blasint)d, s->L11, (lrmlp_blasint)K, 0.0,
                A + K, (lrmlp_blasint)r);
    if (!lrmlp__all_finite_f64(A, d * r)) {
        rc = lrmlp__err(LRMLP_ERR_DIVERGED, "W_1(0)^T L11 / eps is not finite");
        goto done;
    }
    if ((rc = full_qr(A, d, r, ly->V, Rf)))
        goto done;
    /* Dimension check on the exact singular values of A (= those of R). */
    if ((rc = svals(Rf, r, r, sr)))
        goto done;
    if (!(sr[r - 1] > 1e-10 * sr[0])) {
        rc = lrmlp__err(LRMLP_ERR_LINALG,
                        "S_big has dimension < 2K = %zu: W_1(0)^T L11 / eps nearly lies in "
                        "span(R11) (smallest/largest singular value %.3g)",
                        r, sr[0] > 0 ? sr[r - 1] / sr[0] : 0.0);
        goto done;
    }
done:
    free(A);
    free(Rf);
    free(sr);
    return rc;
}

/* Output bases of a layer from its V2 and W(0). */
static int build_u(lrmlp_subspace *s, const double *W, sub_layer_ *ly, size_t layer)
{
    size_t in = ly->in, out = ly->out, p = ly->p;
    double *U2 = lrmlp__dalloc(out, p), *Q = lrmlp__dalloc(out, out), *Rf = lrmlp__dalloc(p, p),
           *C = lrmlp__dalloc(p, p);
    int rc = LRMLP_OK;
    ly->U = lrmlp__dalloc(out, out);
    if (!U2 || !Q || !Rf || !C || !ly->U) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the output bases");
        goto done;
    }
    ly->u2_dev = 0;
    if (p > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)out, (lrmlp_blasint)p,
                    (lrmlp_blasint)in, 1.0 / s->eps, W, (lrmlp_blasint)in, ly->V + (in - p),
                    (lrmlp_blasint)in, 0.0, U2, (lrmlp_blasint)p);
        if (!lrmlp__all_finite_f64(U2, out * p)) {
            rc = lrmlp__err(LRMLP_ERR_DIVERGED, "W(0) V2 / eps of layer %zu is not finite",
                            layer);
            goto done;
        }
        /* deviation ||U2^T U2 - I||_F from the upper triangle */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (lrmlp_blasint)p, (lrmlp_blasint)out,
                    1.0, U2, (lrmlp_blasint)p, 0.0, C, (lrmlp_blasint)p);
        double dev = 0;
        for (size_t i = 0; i < p; i++) {
            double e = C[i * p + i] - 1.0;
            dev += e * e;
            for (size_t j = i + 1; j < p; j++)
                dev += 2.0 * C[i * p + j] * C[i * p + j];
        }
        ly->u2_dev = sqrt(dev);
    }
    if ((rc = full_qr(U2, out, p, Q, Rf)))
        goto done;
    if (p > 0) {
        double dmin = INFINITY, dmax = 0;
        for (size_t j = 0; j < p; j++) {
            double a = fabs(Rf[j * p + j]);
            dmin = a < dmin ? a : dmin;
            dmax = a > dmax ? a : dmax;
        }
        if (!(dmin > 1e-12 * dmax)) {
            rc = lrmlp__err(LRMLP_ERR_LINALG,
                            "W(0) V2 / eps of layer %zu is rank-deficient: no output bases", layer);
            goto done;
        }
    }
    /* U = [complement, Q_U2] */
    for (size_t i = 0; i < out; i++) {
        memcpy(ly->U + i * out, Q + i * out + p, (out - p) * sizeof *Q);
        memcpy(ly->U + i * out + (out - p), Q + i * out, p * sizeof *Q);
    }
    ly->has_u = 1;
done:
    free(U2);
    free(Q);
    free(Rf);
    free(C);
    return rc;
}

/* Input bases of layer l >= 1: V2 = U2 of layer l-1, V1 its complement. */
static int build_next_v(const sub_layer_ *prev, sub_layer_ *ly)
{
    size_t in = ly->in, p = ly->p;
    double *V2 = lrmlp__dalloc(in, p), *Q = lrmlp__dalloc(in, in);
    int rc = LRMLP_OK;
    ly->V = lrmlp__dalloc(in, in);
    if (!V2 || !Q || !ly->V) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the input bases");
        goto done;
    }
    copy_cols(V2, prev->U, in, in, in - p, p);
    if ((rc = full_qr(V2, in, p, Q, NULL)))
        goto done;
    for (size_t i = 0; i < in; i++) {
        memcpy(ly->V + i * in, Q + i * in + p, (in - p) * sizeof *Q);
        memcpy(ly->V + i * in + (in - p), V2 + i * p, p * sizeof *Q);
    }
done:
    free(V2);
    free(Q);
    return rc;
}

static int build(lrmlp_subspace *s, const lrmlp_net *net, const double *G,
                 const lrmlp_subspace_options *o)
{
    size_t K = s->k, m = s->m, d = s->d;
    int rc = o->method == LRMLP_SUBSPACE_EXACT
                 ? topk_exact(G, m, d, K, s->sv, s->L11, s->R11)
                 : topk_randomized(G, m, d, K, o->oversample, o->power_iters, o->seed, s->sv,
                                   s->L11, s->R11);
    if (rc)
        return rc;
    size_t big = m > d ? m : d;
    if (!(s->sv[K - 1] > s->sv[0] * DBL_EPSILON * (double)big))
        return lrmlp__err(LRMLP_ERR_LINALG,
                          "G_1 has numerical rank < K = %zu (sigma_K = %.3g, sigma_1 = %.3g): "
                          "use more samples or a smaller k",
                          K, s->sv[K - 1], s->sv[0]);
    size_t p = d - 2 * K;
    for (size_t l = 0; l + 1 < net->n_layers; l++) {
        sub_layer_ *ly = &s->layers[l];
        ly->in = net->layers[l].in;
        ly->out = net->layers[l].out;
        ly->p = p;
        double *W = layer_weights(net, l);
        if (!W)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        if (!lrmlp__all_finite_f64(W, ly->in * ly->out)) {
            free(W);
            return lrmlp__err(LRMLP_ERR_DIVERGED, "weights of layer %zu are not finite", l);
        }
        rc = l == 0 ? build_first_v(s, W, ly) : build_next_v(&s->layers[l - 1], ly);
        if (rc == LRMLP_OK && ly->out >= p)
            rc = build_u(s, W, ly, l);
        free(W);
        if (rc)
            return rc;
        s->n_layers = l + 1;
        if (!ly->has_u)
            break; /* out < p: nothing to propagate */
    }
    return LRMLP_OK;
}

static int estimate(lrmlp_subspace **out, lrmlp_net *net, const void *X, const void *T,
                    size_t n, lrmlp_loss loss, const lrmlp_subspace_options *opts,
                    lrmlp_dtype dtype)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!net || !X || !T)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL network or data");
    lrmlp_subspace_options o;
    int rc0 = lrmlp__opts_read(&subspace_opts_type, opts, &o, "lrmlp_subspace_estimate");
    if (rc0 != LRMLP_OK)
        return rc0;
    if (net->dtype != dtype)
        return lrmlp__err(LRMLP_ERR_DTYPE, "network is %s, call the _%s function",
                               net->dtype == LRMLP_F32 ? "float32" : "float64",
                               net->dtype == LRMLP_F32 ? "f32" : "f64");
    if (n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "n must be >= 1");
    if (!isfinite(o.eps) || !(o.eps >= 0))
        return lrmlp__err(LRMLP_ERR_INVALID, "eps must be finite and >= 0, got %g", o.eps);
    if ((int)o.method < 0 || o.method >= LRMLP_SUBSPACE_METHOD_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown method %d", (int)o.method);
    if (o.power_iters > 64)
        return lrmlp__err(LRMLP_ERR_INVALID, "power_iters must be <= 64, got %zu",
                               o.power_iters);
    size_t L = net->n_layers;
    if (L < 2)
        return lrmlp__err(LRMLP_ERR_SHAPE, "the network needs >= 2 layers, has %zu", L);
    size_t d = net->widths[0], m = net->widths[1];
    size_t K = o.k ? o.k : net->widths[L];
    size_t mn = m < d ? m : d;
    if (o.theory && (K > d || 2 * K >= d))
        return lrmlp__err(LRMLP_ERR_INVALID,
                               "theory setting needs K < d/2, got K = %zu, d = %zu", K, d);
    if (K > mn || K > d - K)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                               "K = %zu out of range: need K <= min(m, d) = %zu and 2K <= d = %zu",
                               K, mn, d);
    rc0 = lrmlp__net_init_eps(net, L - 1, o.eps, &o.eps, "lrmlp_subspace_estimate");
    if (rc0 != LRMLP_OK)
        return rc0;

    /* G_1 from one training-mode pass. Only layer 0's gradient is needed:
     * the others are frozen for the pass, which skips their weight-gradient
     * GEMMs (a third of the backward work) while the error signal still
     * flows down to layer 0. Every frozen flag is restored after. */
    unsigned char frozen_small[64], *frozen = frozen_small;
    if (net->n_layers > sizeof frozen_small) {
        frozen = malloc(net->n_layers);
        if (!frozen)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        frozen[l] = (unsigned char)net->layers[l].frozen;
        net->layers[l].frozen = l > 0;
    }
    int rc = dtype == LRMLP_F32
                 ? lrmlp_net_gradient_f32(net, (const float *)X, (const float *)T, n, loss, NULL)
                 : lrmlp_net_gradient_f64(net, (const double *)X, (const double *)T, n, loss,
                                          NULL);
    for (size_t l = 0; l < net->n_layers; l++)
        net->layers[l].frozen = frozen[l];
    if (frozen != frozen_small)
        free(frozen);
    if (rc)
        return rc;

    lrmlp_subspace *s = calloc(1, sizeof *s);
    double *G = lrmlp__dalloc(m, d);
    if (!s || !G) {
        free(s);
        free(G);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    s->k = K;
    s->m = m;
    s->d = d;
    s->eps = o.eps;
    s->n_alloc = L - 1;
    s->sv = lrmlp__dalloc(K + 1, 1);
    s->L11 = lrmlp__dalloc(m, K);
    s->R11 = lrmlp__dalloc(d, K);
    s->layers = calloc(L - 1, sizeof *s->layers);
    if (!s->sv || !s->L11 || !s->R11 || !s->layers) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t w0 = net->layers[0].w_off;
    if (dtype == LRMLP_F32) {
        const float *g = (const float *)net->grads + w0;
        for (size_t i = 0; i < m * d; i++)
            G[i] = (double)g[i];
    } else {
        memcpy(G, (const double *)net->grads + w0, m * d * sizeof *G);
    }
    if (!lrmlp__all_finite_f64(G, m * d)) {
        rc = lrmlp__err(LRMLP_ERR_DIVERGED, "the gradient G_1 holds NaN/Inf");
        goto fail;
    }
    rc = build(s, net, G, &o);
    if (rc)
        goto fail;
    free(G);
    *out = s;
    return LRMLP_OK;
fail:
    free(G);
    lrmlp_subspace_free(s);
    return rc;
}

LRMLP_API int lrmlp_subspace_estimate_f32(lrmlp_subspace **out, lrmlp_net *net, const float *X,
                                          const float *T, size_t n, lrmlp_loss loss,
                                          const lrmlp_subspace_options *opts)
{
    return estimate(out, net, X, T, n, loss, opts, LRMLP_F32);
}

LRMLP_API int lrmlp_subspace_estimate_f64(lrmlp_subspace **out, lrmlp_net *net,
                                          const double *X, const double *T, size_t n,
                                          lrmlp_loss loss, const lrmlp_subspace_options *opts)
{
    return estimate(out, net, X, T, n, loss, opts, LRMLP_F64);
}

/* ---- queries ---- */

LRMLP_API size_t lrmlp_subspace_rank(const lrmlp_subspace *s) { return s ? s->k : 0; }

LRMLP_API size_t lrmlp_subspace_n_layers(const lrmlp_subspace *s) { return s ? s->n_layers : 0; }

/* The layer, or NULL with the handle's message set. */
static const sub_layer_ *get_layer(const lrmlp_subspace *s, size_t layer, int need_u, int *rc)
{
    if (layer >= s->n_layers) {
        *rc = lrmlp__err(LRMLP_ERR_INVALID, "layer %zu has no bases (%zu layers have)",
                         layer, s->n_layers);
        return NULL;
    }
    const sub_layer_ *ly = &s->layers[layer];
    if (need_u && !ly->has_u) {
        *rc = lrmlp__err(LRMLP_ERR_SHAPE,
                         "layer %zu has no output bases: its width %zu < p = %zu", layer,
                         ly->out, ly->p);
        return NULL;
    }
    *rc = LRMLP_OK;
    return ly;
}

LRMLP_API int lrmlp_subspace_layer_dims(const lrmlp_subspace *s, size_t layer, size_t *in,
                                        size_t *out, size_t *p, int *has_u)
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_layer_dims: estimate is NULL");
    int rc;
    const sub_layer_ *ly = get_layer(s, layer, 0, &rc);
    if (!ly)
        return rc;
    if (in)
        *in = ly->in;
    if (out)
        *out = ly->out;
    if (p)
        *p = ly->p;
    if (has_u)
        *has_u = ly->has_u;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_subspace_get_basis(const lrmlp_subspace *s, size_t layer,
                                       lrmlp_subspace_basis which, double *out)
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_get_basis: estimate is NULL");
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "out is NULL");
    if ((int)which < 0 || which >= LRMLP_SUBSPACE_BASIS_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown basis %d", (int)which);
    int rc;
    const sub_layer_ *ly =
        get_layer(s, layer, which == LRMLP_SUBSPACE_U1 || which == LRMLP_SUBSPACE_U2, &rc);
    if (!ly)
        return rc;
    switch (which) {
    case LRMLP_SUBSPACE_V1:
        copy_cols(out, ly->V, ly->in, ly->in, 0, ly->in - ly->p);
        break;
    case LRMLP_SUBSPACE_V2:
        copy_cols(out, ly->V, ly->in, ly->in, ly->in - ly->p, ly->p);
        break;
    case LRMLP_SUBSPACE_U1:
        copy_cols(out, ly->U, ly->out, ly->out, 0, ly->out - ly->p);
        break;
    default:
        copy_cols(out, ly->U, ly->out, ly->out, ly->out - ly->p, ly->p);
        break;
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_subspace_singular_values(const lrmlp_subspace *s, double *sv)
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_singular_values: estimate is NULL");
    if (!sv)
        return lrmlp__err(LRMLP_ERR_INVALID, "sv is NULL");
    memcpy(sv, s->sv, (s->k + 1) * sizeof *sv);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_subspace_singular_vectors(const lrmlp_subspace *s, double *L, double *R)
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_singular_vectors: estimate is NULL");
    if (L)
        memcpy(L, s->L11, s->m * s->k * sizeof *L);
    if (R)
        memcpy(R, s->R11, s->d * s->k * sizeof *R);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_subspace_u2_deviation(const lrmlp_subspace *s, size_t layer, double *dev)
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_u2_deviation: estimate is NULL");
    if (!dev)
        return lrmlp__err(LRMLP_ERR_INVALID, "dev is NULL");
    int rc;
    const sub_layer_ *ly = get_layer(s, layer, 1, &rc);
    if (!ly)
        return rc;
    *dev = ly->u2_dev;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_subspace_block_fractions(const lrmlp_subspace *s, size_t layer,
                                             const double *W0, const double *Wt,
                                             double frac[4])
{
    if (!s)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_subspace_block_fractions: estimate is NULL");
    if (!W0 || !Wt || !frac)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL argument");
    int rc;
    const sub_layer_ *ly = get_layer(s, layer, 1, &rc);
    if (!ly)
        return rc;
    size_t in = ly->in, out = ly->out, p = ly->p;
    double *D = lrmlp__dalloc(out, in), *T1 = lrmlp__dalloc(out, in);
    if (!D || !T1) {
        free(D);
        free(T1);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < out * in; i++)
        D[i] = Wt[i] - W0[i];
    if (!lrmlp__all_finite_f64(D, out * in)) {
        free(D);
        free(T1);
        return lrmlp__err(LRMLP_ERR_NONFINITE, "W0 or Wt holds NaN/Inf");
    }
    /* T1 = D V, then D = U^T T1: the block matrix Wt of the change. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)out, (lrmlp_blasint)in,
                (lrmlp_blasint)in, 1.0, D, (lrmlp_blasint)in, ly->V, (lrmlp_blasint)in, 0.0, T1,
                (lrmlp_blasint)in);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)out, (lrmlp_blasint)in,
                (lrmlp_blasint)out, 1.0, ly->U, (lrmlp_blasint)out, T1, (lrmlp_blasint)in, 0.0, D,
                (lrmlp_blasint)in);
    lrmlp__block_fractions(D, out, in, p, frac);
    free(D);
    free(T1);
    return LRMLP_OK;
}

LRMLP_API double lrmlp_principal_angles(const double *A, const double *B, size_t n, size_t r,
                                        double *angles)
{
    if (!A || !B || r == 0 || r > n || n > ((size_t)1 << 30))
        return NAN;
    size_t nr;
    if (!lrmlp__mul_ok(n, r, &nr) || !lrmlp__all_finite_f64(A, nr) ||
        !lrmlp__all_finite_f64(B, nr))
        return NAN;
    double *C = lrmlp__dalloc(r, r), *E = lrmlp__dalloc(n, r), *sc = lrmlp__dalloc(r, 1),
           *ss = lrmlp__dalloc(r, 1);
    double res = NAN;
    if (!C || !E || !sc || !ss)
        goto done;
    /* C = A^T B, E = B - A C: the part of B outside span(A) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)r, (lrmlp_blasint)r,
                (lrmlp_blasint)n, 1.0, A, (lrmlp_blasint)r, B, (lrmlp_blasint)r, 0.0, C,
                (lrmlp_blasint)r);
    memcpy(E, B, nr * sizeof *E);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)n, (lrmlp_blasint)r,
                (lrmlp_blasint)r, -1.0, A, (lrmlp_blasint)r, C, (lrmlp_blasint)r, 1.0, E,
                (lrmlp_blasint)r);
    double f = 0;
    for (size_t i = 0; i < nr; i++)
        f += E[i] * E[i];
    if (angles) {
        if (svals(C, r, r, sc) || svals(E, n, r, ss))
            goto done;
        /* sc descending = cosines of ascending angles; ss descending = sines of
         * descending angles. */
        for (size_t i = 0; i < r; i++) {
            double c = sc[i] > 1.0 ? 1.0 : sc[i];
            double sn = ss[r - 1 - i] > 1.0 ? 1.0 : ss[r - 1 - i];
            angles[i] = c * c >= 0.5 ? asin(sn) : acos(c);
        }
    }
    res = sqrt(f);
done:
    free(C);
    free(E);
    free(sc);
    free(ss);
    return res;
}

/* ---- encoding for model files (docs/format.md, section SUBS) ---- */

#define SUBS_HEAD 40u  /* k, m, d, eps, n_layers */
#define SUBS_LAYER 40u /* in, out, p, has_u, reserved, u2_dev */

size_t lrmlp__subspace_encoded_size(const lrmlp_subspace *s)
{
    size_t n = SUBS_HEAD + 8 * ((s->k + 1) + s->m * s->k + s->d * s->k);
    for (size_t l = 0; l < s->n_layers; l++) {
        const sub_layer_ *ly = &s->layers[l];
        n += SUBS_LAYER + 8 * ly->in * ly->in + (ly->has_u ? 8 * ly->out * ly->out : 0);
    }
    return n;
}

void lrmlp__subspace_encode(const lrmlp_subspace *s, uint8_t *p)
{
    put_u64(p, s->k);
    put_u64(p + 8, s->m);
    put_u64(p + 16, s->d);
    put_f64(p + 24, s->eps);
    put_u64(p + 32, s->n_layers);
    p += SUBS_HEAD;
    p = put_doubles(p, s->sv, s->k + 1);
    p = put_doubles(p, s->L11, s->m * s->k);
    p = put_doubles(p, s->R11, s->d * s->k);
    for (size_t l = 0; l < s->n_layers; l++) {
        const sub_layer_ *ly = &s->layers[l];
        put_u64(p, ly->in);
        put_u64(p + 8, ly->out);
        put_u64(p + 16, ly->p);
        put_u32(p + 24, ly->has_u ? 1u : 0u);
        put_u32(p + 28, 0u);
        put_f64(p + 32, ly->u2_dev);
        p += SUBS_LAYER;
        p = put_doubles(p, ly->V, ly->in * ly->in);
        if (ly->has_u)
            p = put_doubles(p, ly->U, ly->out * ly->out);
    }
}

/* Reads n doubles at *p within [*p, end), advancing *p; 0 if short or NaN/Inf. */
static int take_doubles(const uint8_t **p, const uint8_t *end, double *x, size_t n)
{
    if ((size_t)(end - *p) / 8 < n)
        return 0;
    for (size_t i = 0; i < n; i++, *p += 8) {
        x[i] = get_f64(*p);
        if (!isfinite(x[i]))
            return 0;
    }
    return 1;
}

int lrmlp__subspace_decode(const uint8_t *p, uint64_t len, lrmlp_subspace **out)
{
    *out = NULL;
    const uint8_t *end = p + len;
    if (len < SUBS_HEAD)
        return lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS section too short");
    uint64_t k = get_u64(p), m = get_u64(p + 8), d = get_u64(p + 16), nl = get_u64(p + 32);
    double eps = get_f64(p + 24);
    const uint64_t lim = (uint64_t)1 << 30;
    /* Every size is bounded by the section length before anything is allocated. */
    if (k < 1 || m < 1 || d < 1 || m > lim || d > lim || k > m || k > d || 2 * k > d ||
        nl < 1 || nl > 4096 || !isfinite(eps) || eps <= 0 ||
        (len - SUBS_HEAD) / 8 / (m + d + 1) < k)
        return lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS header is invalid");
    lrmlp_subspace *s = calloc(1, sizeof *s);
    if (!s)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    s->k = (size_t)k;
    s->m = (size_t)m;
    s->d = (size_t)d;
    s->eps = eps;
    s->sv = lrmlp__dalloc(k + 1, 1);
    s->L11 = lrmlp__dalloc(m, k);
    s->R11 = lrmlp__dalloc(d, k);
    s->layers = calloc((size_t)nl, sizeof *s->layers);
    s->n_alloc = (size_t)nl;
    int rc = LRMLP_OK;
    p += SUBS_HEAD;
    if (!s->sv || !s->L11 || !s->R11 || !s->layers)
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    else if (!take_doubles(&p, end, s->sv, k + 1) || !take_doubles(&p, end, s->L11, m * k) ||
             !take_doubles(&p, end, s->R11, d * k))
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS singular data is invalid");
    uint64_t prev_out = 0, prev_p = 0;
    for (uint64_t l = 0; rc == LRMLP_OK && l < nl; l++) {
        sub_layer_ *ly = &s->layers[l];
        if ((uint64_t)(end - p) < SUBS_LAYER) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS layer %llu truncated",
                                 (unsigned long long)l);
            break;
        }
        uint64_t in = get_u64(p), o = get_u64(p + 8), pp = get_u64(p + 16);
        uint32_t hu = get_u32(p + 24), reserved = get_u32(p + 28);
        double dev = get_f64(p + 32);
        p += SUBS_LAYER;
        int ok = in >= 1 && in <= lim && o >= 1 && o <= lim && pp == d - 2 * k && pp <= in &&
                 hu <= 1 && (!hu || pp <= o) && reserved == 0 && isfinite(dev) && dev >= 0 &&
                 (l == 0 ? in == d : (in == prev_out && prev_p == pp)) &&
                 (size_t)(end - p) / 8 / in >= in &&
                 (!hu || ((size_t)(end - p) / 8 - in * in) / o >= o) && (l + 1 == nl || hu);
        if (!ok) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS layer %llu is invalid",
                                 (unsigned long long)l);
            break;
        }
        ly->in = (size_t)in;
        ly->out = (size_t)o;
        ly->p = (size_t)pp;
        ly->has_u = (int)hu;
        ly->u2_dev = dev;
        ly->V = lrmlp__dalloc(in, in);
        ly->U = hu ? lrmlp__dalloc(o, o) : NULL;
        if (!ly->V || (hu && !ly->U)) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            break;
        }
        if (!take_doubles(&p, end, ly->V, in * in) ||
            (hu && !take_doubles(&p, end, ly->U, o * o))) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS layer %llu bases are "
                                 "invalid", (unsigned long long)l);
            break;
        }
        prev_out = o;
        prev_p = pp;
        s->n_layers++;
    }
    if (rc == LRMLP_OK && p != end)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: SUBS section has trailing bytes");
    if (rc != LRMLP_OK) {
        lrmlp_subspace_free(s);
        return rc;
    }
    *out = s;
    return LRMLP_OK;
}
