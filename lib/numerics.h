/* Numerical helpers written once for every module (numerics.c). Not
 * installed; every symbol is hidden. */
#ifndef LRMLP_NUMERICS_H
#define LRMLP_NUMERICS_H

#include "internal.h"

#include <lapacke.h>

/* 1 if all n values are finite (branch-free: sums x - x, which is 0 for
 * finite x and NaN otherwise). */
LRMLP_INTERNAL int lrmlp__all_finite_f32(const float *x, size_t n);
LRMLP_INTERNAL int lrmlp__all_finite_f64(const double *x, size_t n);
/* Index of the first NaN or Inf among the n values, n if there is none. */
LRMLP_INTERNAL size_t lrmlp__first_nonfinite_f32(const float *x, size_t n);
LRMLP_INTERNAL size_t lrmlp__first_nonfinite_f64(const double *x, size_t n);

/* Index of the largest of the k values of row (of dtype dt), the first one
 * on ties. k >= 1. */
LRMLP_INTERNAL size_t lrmlp__argmax(const void *row, size_t k, lrmlp_dtype dt);

/* malloc of a * b doubles (at least one), NULL on overflow or failure. */
LRMLP_INTERNAL double *lrmlp__dalloc(size_t a, size_t b);

/* Buffers of at least this many bytes come from lrmlp__big_alloc aligned
 * and advised for transparent huge pages (bigalloc.c says why). */
#define LRMLP__BIG_BYTES ((size_t)1 << 20)
/* bytes (zero: zero-filled), aligned to at least 64 bytes, for one of the
 * library's large buffers (parameters, gradients, optimizer state,
 * workspaces, dataset storage, inference weights); released with free().
 * NULL on failure. */
LRMLP_INTERNAL void *lrmlp__big_alloc(size_t bytes, int zero);

/* errno's text in buf (strerror_r, thread-safe), or "errno N". */
LRMLP_INTERNAL const char *lrmlp__errno_str(int e, char *buf, size_t len);

/* Fisher-Yates from the back: for i = n - 1 down to 1, j uniform in
 * [0, i] from rng (lrmlp__rng_below), swap(ctx, i, j) when j != i. Every
 * shuffle in the library draws this one sequence. */
LRMLP_INTERNAL void lrmlp__shuffle(size_t n, lrmlp_rng *rng,
                                   void (*swap)(void *ctx, size_t i, size_t j), void *ctx);
/* idx = a random permutation of 0..n-1 (lrmlp__shuffle of the identity). */
LRMLP_INTERNAL void lrmlp__permutation(size_t *idx, size_t n, lrmlp_rng *rng);

/* QR of the row-major rows x cols matrix A (leading dimension lda,
 * rows >= cols >= 1) by dgeqrf + dorgqr: A is overwritten by the first
 * q_cols columns of Q (cols <= q_cols <= rows; beyond cols they complete
 * the basis). With positive_diag, column j of Q and row j of R are
 * negated where R_jj < 0, so that Q's first cols columns are A itself when
 * A already has orthonormal columns. R (cols x cols, optional) receives the
 * triangular factor. tau: cols doubles of scratch. Returns LRMLP_OK, or
 * LRMLP_ERR_NOMEM / LRMLP_ERR_LINALG with a message. */
LRMLP_INTERNAL int lrmlp__qr(double *A, size_t rows, size_t cols, size_t lda, size_t q_cols,
                             double *tau, int positive_diag, double *R);

/* Squared-Frobenius fractions of the four blocks of the out x in row-major
 * matrix B = U^T D V, split after row out - p and column in - p: frac[0] =
 * block 11 (rows and columns before the split), 1 = 12, 2 = 21, 3 = 22. A
 * block with no rows or no columns gets NaN (it does not exist: e.g. U1
 * when out == p); the others are 0 when B = 0. */
LRMLP_INTERNAL void lrmlp__block_fractions(const double *B, size_t out, size_t in, size_t p,
                                           double frac[4]);

/* The paper's eps, cross-checked (lowrank.c, subspace.c): layers
 * 0 .. n_check-1 of net were initialized as W_l(0) = eps Q_l (Q_l with
 * orthonormal rows or columns) when each is such a scaled orthogonal matrix
 * (to 1e-4 relative, which float32 weights meet). eps > 0: fails with
 * LRMLP_ERR_INVALID when a layer is scaled orthogonal with another scale;
 * layers that are not scaled orthogonal are not checked. eps == 0: takes
 * eps from the network, which fails unless every checked layer is scaled
 * orthogonal with one common scale. *eps_out receives the eps to use.
 * Messages start with fn. */
LRMLP_INTERNAL int lrmlp__net_init_eps(const lrmlp_net *net, size_t n_check, double eps,
                                       double *eps_out, const char *fn);

/* Workspace of the _work LAPACK drivers, for callers that must not
 * allocate (the tracker): lwork doubles and 8 * min(m, n) integers. */
typedef struct lrmlp__svd_ws {
    double *work;
    lapack_int lwork;
    lapack_int *iwork;
} lrmlp__svd_ws;
/* lwork large enough for both drivers on an m x n column-major matrix. */
LRMLP_INTERNAL lapack_int lrmlp__svd_lwork(char job, size_t m, size_t n);

/* SVD of the m x n matrix A (layout LAPACK_ROW_MAJOR or LAPACK_COL_MAJOR,
 * leading dimension lda; destroyed) by divide and conquer (dgesdd) and,
 * when that does not converge, by the slower, more robust QR iteration
 * (dgesvd) on the matrix restored from A0 (m x n, same layout and lda) or
 * by refill(ctx, A); with neither there is no second try. job 'N': the
 * min(m, n) singular values s only (U, VT unused); 'S': also thin U and VT.
 * ws NULL: LAPACKE allocates; otherwise the _work drivers use ws. Returns
 * LAPACK's info: 0, < 0 (bad argument; LAPACK_WORK_MEMORY_ERROR when out
 * of memory) or > 0 (no convergence); the caller words the message. */
LRMLP_INTERNAL lapack_int lrmlp__svd(int layout, char job, size_t m, size_t n, double *A,
                                     size_t lda, double *s, double *U, size_t ldu, double *VT,
                                     size_t ldvt, const double *A0,
                                     void (*refill)(void *ctx, double *A), void *ctx,
                                     const lrmlp__svd_ws *ws);

#endif
