/* Numerical helpers shared by the modules (numerics.h). */
#include "numerics.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "real_f32.h"
#include "numerics_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "numerics_impl.h"
#include "real_undef.h"

size_t lrmlp__argmax(const void *row, size_t k, lrmlp_dtype dt)
{
    return dt == LRMLP_F32 ? argmax_f32(row, k) : argmax_f64(row, k);
}

double *lrmlp__dalloc(size_t a, size_t b)
{
    size_t n;
    if (!lrmlp__mul_ok(a, b, &n) || n > SIZE_MAX / sizeof(double))
        return NULL;
    return malloc((n ? n : 1) * sizeof(double));
}

const char *lrmlp__errno_str(int e, char *buf, size_t len)
{
    if (strerror_r(e, buf, len) != 0)
        snprintf(buf, len, "errno %d", e);
    return buf;
}

void lrmlp__shuffle(size_t n, lrmlp_rng *rng, void (*swap)(void *ctx, size_t i, size_t j),
                    void *ctx)
{
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)lrmlp__rng_below(rng, (uint64_t)i + 1);
        if (j != i)
            swap(ctx, i, j);
    }
}

static void swap_idx(void *ctx, size_t i, size_t j)
{
    size_t *idx = ctx, t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
}

void lrmlp__permutation(size_t *idx, size_t n, lrmlp_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    lrmlp__shuffle(n, rng, swap_idx, idx);
}

int lrmlp__qr(double *A, size_t rows, size_t cols, size_t lda, size_t q_cols, double *tau,
              int positive_diag, double *R)
{
    double *sgn = NULL;
    if (positive_diag && !(sgn = lrmlp__dalloc(cols, 1)))
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for a QR factorization");
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)cols, A,
                                     (lapack_int)lda, tau);
    if (info == 0) {
        for (size_t j = 0; sgn && j < cols; j++)
            sgn[j] = A[j * lda + j] < 0 ? -1.0 : 1.0;
        if (R) {
            for (size_t i = 0; i < cols; i++)
                for (size_t j = 0; j < cols; j++)
                    R[i * cols + j] = j >= i ? (sgn ? sgn[i] : 1.0) * A[i * lda + j] : 0.0;
        }
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)q_cols,
                              (lapack_int)cols, A, (lapack_int)lda, tau);
    }
    if (info == 0 && sgn) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                A[i * lda + j] *= sgn[j];
    }
    free(sgn);
    if (info != 0)
        return lrmlp__err(LRMLP_ERR_LINALG, "QR failed (info %d)", (int)info);
    return LRMLP_OK;
}

void lrmlp__block_fractions(const double *B, size_t out, size_t in, size_t p, double frac[4])
{
    double b[4] = { 0, 0, 0, 0 };
    for (size_t i = 0; i < out; i++) {
        size_t r2 = i >= out - p;
        for (size_t j = 0; j < in; j++) {
            size_t c2 = j >= in - p;
            double v = B[i * in + j];
            b[2 * r2 + c2] += v * v;
        }
    }
    double tot = b[0] + b[1] + b[2] + b[3];
    for (int i = 0; i < 4; i++) {
        size_t rows = i < 2 ? out - p : p, cols = i % 2 == 0 ? in - p : p;
        frac[i] = rows == 0 || cols == 0 ? NAN : tot > 0 ? b[i] / tot : 0.0;
    }
}

lapack_int lrmlp__svd_lwork(char job, size_t m, size_t n)
{
    size_t mn = m < n ? m : n;
    if (mn == 0)
        return 1;
    double q = 0, a = 0, s = 0, u = 0, vt = 0;
    lapack_int iw = 0;
    lapack_int lm = (lapack_int)m, ln = (lapack_int)n, lmn = (lapack_int)mn;
    lapack_int ldu = job == 'S' ? lm : 1, ldvt = job == 'S' ? lmn : 1;
    lapack_int best = 1;
    if (LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, job, lm, ln, &a, lm, &s, &u, ldu, &vt, ldvt, &q,
                            -1, &iw) == 0 && q > (double)best)
        best = (lapack_int)q;
    q = 0;
    if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, job, job, lm, ln, &a, lm, &s, &u, ldu, &vt, ldvt,
                            &q, -1) == 0 && q > (double)best)
        best = (lapack_int)q;
    return best + 1;
}

lapack_int lrmlp__svd(int layout, char job, size_t m, size_t n, double *A, size_t lda,
                      double *s, double *U, size_t ldu, double *VT, size_t ldvt,
                      const double *A0, void (*refill)(void *ctx, double *A), void *ctx,
                      const lrmlp__svd_ws *ws)
{
    size_t mn = m < n ? m : n;
    if (mn == 0)
        return 0;
    double du[1] = { 0 }, dvt[1] = { 0 };
    if (job != 'S') {
        U = du;
        VT = dvt;
        ldu = ldvt = 1;
    }
    lapack_int lm = (lapack_int)m, ln = (lapack_int)n, la = (lapack_int)lda;
    lapack_int lu = (lapack_int)ldu, lvt = (lapack_int)ldvt;
    lapack_int info = ws ? LAPACKE_dgesdd_work(layout, job, lm, ln, A, la, s, U, lu, VT, lvt,
                                               ws->work, ws->lwork, ws->iwork)
                         : LAPACKE_dgesdd(layout, job, lm, ln, A, la, s, U, lu, VT, lvt);
    if (info <= 0 || (!A0 && !refill))
        return info;
    /* did not converge: the slower, more robust driver on a fresh copy */
    if (A0)
        memcpy(A, A0, (layout == LAPACK_ROW_MAJOR ? m : n) * lda * sizeof *A);
    else
        refill(ctx, A);
    if (ws)
        return LAPACKE_dgesvd_work(layout, job, job, lm, ln, A, la, s, U, lu, VT, lvt, ws->work,
                                   ws->lwork);
    double *superb = lrmlp__dalloc(mn, 1);
    if (!superb)
        return LAPACK_WORK_MEMORY_ERROR;
    info = LAPACKE_dgesvd(layout, job, job, lm, ln, A, la, s, U, lu, VT, lvt, superb);
    free(superb);
    return info;
}

/* s when W (out x in) is s Q with Q's rows or columns orthonormal to
 * relative tol, else 0; < 0 when out of memory. G: min(out, in)^2 scratch. */
static double orth_scale(const double *W, size_t out, size_t in, double tol, double *G)
{
    size_t k = out < in ? out : in;
    /* G = W W^T (out <= in) or W^T W */
    if (out <= in)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (lrmlp_blasint)k, (lrmlp_blasint)k,
                    (lrmlp_blasint)in, 1.0, W, (lrmlp_blasint)in, W, (lrmlp_blasint)in, 0.0, G,
                    (lrmlp_blasint)k);
    else
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)k, (lrmlp_blasint)k,
                    (lrmlp_blasint)out, 1.0, W, (lrmlp_blasint)in, W, (lrmlp_blasint)in, 0.0, G,
                    (lrmlp_blasint)k);
    double s2 = 0;
    for (size_t i = 0; i < k; i++)
        s2 += G[i * k + i];
    s2 /= (double)k;
    if (!(s2 > 0) || !isfinite(s2))
        return 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            if (fabs(G[i * k + j] - (i == j ? s2 : 0.0)) > tol * s2)
                return 0;
    return sqrt(s2);
}

int lrmlp__net_init_eps(const lrmlp_net *net, size_t n_check, double eps, double *eps_out,
                        const char *fn)
{
    const double tol = 1e-4;
    size_t maxn = 0, maxk = 0;
    for (size_t l = 0; l < n_check; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        size_t k = ly->in < ly->out ? ly->in : ly->out;
        maxn = ly->in * ly->out > maxn ? ly->in * ly->out : maxn;
        maxk = k > maxk ? k : maxk;
    }
    double *W = lrmlp__dalloc(maxn, 1), *G = lrmlp__dalloc(maxk, maxk);
    int rc = W && G ? LRMLP_OK : lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    double common = 0;
    for (size_t l = 0; rc == LRMLP_OK && l < n_check; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        size_t n = ly->in * ly->out;
        for (size_t i = 0; i < n; i++)
            W[i] = net->dtype == LRMLP_F32 ? (double)((const float *)net->params)[ly->w_off + i]
                                           : ((const double *)net->params)[ly->w_off + i];
        double s = orth_scale(W, ly->out, ly->in, tol, G);
        if (eps > 0 && s > 0 && fabs(s - eps) > tol * eps)
            rc = lrmlp__err(LRMLP_ERR_INVALID,
                            "%s: eps = %g, but layer %zu of the network is %g times an "
                            "orthogonal matrix (pass eps = 0 to take it from the network)",
                            fn, eps, l, s);
        else if (eps == 0 && (s == 0 || (common > 0 && fabs(s - common) > tol * common)))
            rc = lrmlp__err(LRMLP_ERR_INVALID,
                            "%s: eps = 0 takes eps from the network, but layer %zu is not %s",
                            fn, l, s == 0 ? "a scaled orthogonal matrix"
                                          : "scaled like layer 0");
        else if (l == 0)
            common = s;
    }
    free(W);
    free(G);
    if (rc == LRMLP_OK)
        *eps_out = eps > 0 ? eps : common;
    return rc;
}
