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
