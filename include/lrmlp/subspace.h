/* liblrmlp: the invariant-subspace estimator (docs/theory.md, sections 2-3).
 *
 * From a network at initialization and one batch, the estimator computes the
 * gradient G_1 of the first weight layer (the paper's W_1, widths[1] x
 * widths[0], "out x in"), its top-K singular triplets, and from them, for
 * each analysed layer l, an orthogonal basis V = [V1 V2] of the layer's input
 * space and U = [U1 U2] of its output space:
 *
 *   layer 0:  V1 spans S_big = span(R11, W_0(0)^T L11 / eps)   (2K columns)
 *             V2 spans S_small, the orthogonal complement       (p = d - 2K)
 *   every l:  U2 = orthonormalized W_l(0) V2 / eps               (p columns)
 *             U1 = orthogonal complement of U2 in R^out
 *   l >= 1:   V2 of layer l = U2 of layer l-1, V1 its complement
 *
 * L11 (m x K) and R11 (d x K) are the top-K left/right singular vectors of
 * G_1 and eps is the initialization scale. The last layer (K x m in the
 * paper) is never analysed. Layers are numbered from 0 as in net.h: layer 0
 * is the paper's W_1.
 *
 * Output-side bases exist only where out >= p. When a layer has out < p it
 * keeps its V bases but has no U bases (queries for them return
 * LRMLP_ERR_SHAPE) and propagation stops there: deeper layers get no bases.
 *
 * Matrices handed out are double precision, row-major, and their COLUMNS
 * are the basis vectors (an in x p V2 holds p vectors of length in). All
 * computation is done in double; for a float32 network G_1 and W(0) are
 * converted from float.
 *
 * Memory: the handle owns its bases (in^2 + out^2 doubles per layer); every
 * query copies into caller-provided storage.
 *
 * Threads: creating a handle uses the network (one thread at a time, as for
 * any network call). A finished handle is read-only: queries on one handle
 * may run from several threads at once.
 * Distinct handles are independent. The library never changes the BLAS
 * thread count.
 *
 * Errors: every function returning int returns LRMLP_OK or a negative
 * lrmlp_status and records a message (lrmlp_last_errmsg, common.h). */
#ifndef LRMLP_SUBSPACE_H
#define LRMLP_SUBSPACE_H

#include "common.h"
#include "activation.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_subspace lrmlp_subspace;

/* How the top-K singular triplets of G_1 are computed. */
typedef enum lrmlp_subspace_method {
    /* Full thin SVD of G_1 (LAPACK dgesdd, dgesvd if that fails to converge). */
    LRMLP_SUBSPACE_EXACT = 0,
    /* Randomized range finder (Halko, Martinsson, Tropp 2011): K + oversample
     * Gaussian probes, power_iters power iterations re-orthonormalized by QR
     * each time, then the SVD of the small projected matrix. sigma_{K+1} is
     * then that of the projection, a lower bound of the true one. */
    LRMLP_SUBSPACE_RANDOMIZED = 1,
    LRMLP_SUBSPACE_METHOD_COUNT_ = 2
} lrmlp_subspace_method;

/* Which basis lrmlp_subspace_get_basis copies out. */
typedef enum lrmlp_subspace_basis {
    LRMLP_SUBSPACE_V1 = 0, /* in x (in - p): input side, S_big on layer 0 */
    LRMLP_SUBSPACE_V2 = 1, /* in x p: input side, S_small on layer 0 */
    LRMLP_SUBSPACE_U1 = 2, /* out x (out - p): output side, complement of U2 */
    LRMLP_SUBSPACE_U2 = 3, /* out x p: orthonormalized W(0) V2 / eps */
    LRMLP_SUBSPACE_BASIS_COUNT_ = 4
} lrmlp_subspace_basis;

#define LRMLP_SUBSPACE_OPTIONS_VERSION 1

/* Estimator options. Always initialize with LRMLP_SUBSPACE_OPTIONS_INIT or
 * lrmlp_subspace_options_init() so that fields added later get defaults. */
typedef struct lrmlp_subspace_options {
    unsigned int version;          /* LRMLP_SUBSPACE_OPTIONS_VERSION */
    size_t k;                      /* rank K; 0 (default) = output width widths[L] */
    double eps;                    /* initialization scale W_l(0) = eps Q_l (default 0.1);
                                      0: taken from the network (see below) */
    lrmlp_subspace_method method;  /* default LRMLP_SUBSPACE_EXACT */
    size_t oversample;             /* RANDOMIZED: extra probes p (default 10) */
    size_t power_iters;            /* RANDOMIZED: power iterations q, <= 64 (default 2) */
    uint64_t seed;                 /* RANDOMIZED: seed of the probes (default 1) */
    int theory;                    /* nonzero: demand the theorem's K < d/2
                                      (LRMLP_ERR_INVALID otherwise); default 0 */
} lrmlp_subspace_options;

#define LRMLP_SUBSPACE_OPTIONS_INIT \
    { LRMLP_SUBSPACE_OPTIONS_VERSION, 0, 0.1, LRMLP_SUBSPACE_EXACT, 10, 2, 1u, 0 }

/* Fills opts with defaults for the given version. Returns LRMLP_ERR_VERSION
 * for an unknown version, LRMLP_ERR_INVALID for NULL. Thread-safe. */
LRMLP_API int lrmlp_subspace_options_init(lrmlp_subspace_options *opts, unsigned int version);

/* Estimates the subspaces of net (normally at initialization) from one batch:
 * X is n x widths[0], T is n x widths[L] (as for lrmlp_net_gradient_*), loss
 * is the loss whose gradient defines G_1 (the theory uses LRMLP_LOSS_SSE).
 * opts may be NULL for the defaults.
 *
 * Requirements: n >= 1; the network has L >= 2 layers; with d = widths[0],
 * m = widths[1]: 1 <= K <= min(m, d) and 2K <= d (else LRMLP_ERR_SHAPE);
 * with opts->theory, 2K < d (else LRMLP_ERR_INVALID). Biases, if any, are
 * ignored: only the weight matrices enter.
 *
 * eps, the one scale of the theory's W_l(0) = eps Q_l, is cross-checked
 * against the network (the same rule as lrmlp_lowrank_init_from_dense):
 * when a layer l < L - 1 is a scaled orthogonal matrix (as
 * LRMLP_INIT_ORTHOGONAL makes it) its scale must equal opts->eps to 1e-4
 * relative, else LRMLP_ERR_INVALID; eps = 0 takes the scale from the
 * network (every layer l < L - 1 must then be scaled orthogonal with one
 * scale). Layers that are not scaled orthogonal are not checked.
 *
 * Side effects on net: its gradient vector and workspace are overwritten by
 * one lrmlp_net_gradient_* call (RReLU draws from the network's generator)
 * in which only layer 0 is trainable: afterwards the gradient vector holds
 * G_1 for layer 0 and zeros for the other layers (their weight gradients
 * are not computed, which saves a third of the backward pass). Frozen flags
 * are restored after the call; weights are never changed.
 *
 * On success *out owns a new handle (free with lrmlp_subspace_free). On
 * error *out is NULL and lrmlp_last_errmsg() says why:
 *   LRMLP_ERR_INVALID   NULL argument, n == 0, bad option, theory violated
 *   LRMLP_ERR_VERSION   unknown options version
 *   LRMLP_ERR_DTYPE     _f32 on a float64 network or the reverse
 *   LRMLP_ERR_SHAPE     network shape or K out of range (see above)
 *   LRMLP_ERR_NONFINITE NaN/Inf in X or T (from the network)
 *   LRMLP_ERR_DIVERGED  G_1 or a weight matrix holds NaN/Inf
 *   LRMLP_ERR_LINALG    an SVD/QR failed, G_1 has numerical rank < K, S_big
 *                       has dimension < 2K, or some W_l(0) V2 is rank-deficient
 *   LRMLP_ERR_NOMEM     out of memory */
LRMLP_API int lrmlp_subspace_estimate_f32(lrmlp_subspace **out, lrmlp_net *net, const float *X,
                                          const float *T, size_t n, lrmlp_loss loss,
                                          const lrmlp_subspace_options *opts);
LRMLP_API int lrmlp_subspace_estimate_f64(lrmlp_subspace **out, lrmlp_net *net,
                                          const double *X, const double *T, size_t n,
                                          lrmlp_loss loss, const lrmlp_subspace_options *opts);

/* Frees the handle; NULL is a no-op. */
LRMLP_API void lrmlp_subspace_free(lrmlp_subspace *s);

/* The rank K in use (after resolving k = 0); 0 for NULL. */
LRMLP_API size_t lrmlp_subspace_rank(const lrmlp_subspace *s);

/* Number of layers with bases (layers 0 .. count-1, at most L - 1; at least
 * 1 for a handle that was created). 0 for NULL. */
LRMLP_API size_t lrmlp_subspace_n_layers(const lrmlp_subspace *s);

/* Dimensions of layer's bases: in = widths[layer], out = widths[layer+1],
 * p = columns of V2 and U2 (d - 2K on every layer), has_u = 1 when U1 and U2
 * exist (U1 has out - p columns: none when out == p, and block fractions
 * then report blocks 11 and 12 as NaN). Any output pointer may be NULL. LRMLP_ERR_INVALID for a layer
 * without bases. */
LRMLP_API int lrmlp_subspace_layer_dims(const lrmlp_subspace *s, size_t layer, size_t *in,
                                        size_t *out, size_t *p, int *has_u);

/* Copies one basis of a layer into out (row-major, columns are the basis
 * vectors; sizes in lrmlp_subspace_basis). A basis with zero columns copies
 * nothing. LRMLP_ERR_INVALID for NULL, a bad layer or a bad `which`;
 * LRMLP_ERR_SHAPE for U1/U2 on a layer without output bases. */
LRMLP_API int lrmlp_subspace_get_basis(const lrmlp_subspace *s, size_t layer,
                                       lrmlp_subspace_basis which, double *out);

/* Copies K + 1 singular values of G_1 into sv: sv[0] >= ... >= sv[K-1] are
 * the top K and sv[K] is sigma_{K+1} (0 when K = min(m, d)). The gap ratio is
 * sv[K] / sv[K-1]. */
LRMLP_API int lrmlp_subspace_singular_values(const lrmlp_subspace *s, double *sv);

/* Copies the top-K singular vectors of G_1: L (m x K, left) and R (d x K,
 * right), columns ordered like the singular values. Either may be NULL.
 * Their signs are arbitrary. */
LRMLP_API int lrmlp_subspace_singular_vectors(const lrmlp_subspace *s, double *L, double *R);

/* How far the raw U2 = W_layer(0) V2 / eps was from orthonormal before it
 * was orthonormalized: *dev = ||U2^T U2 - I||_F (0 when p = 0; about 1e-15
 * for an eps-scaled orthogonal W(0) with out >= in). LRMLP_ERR_SHAPE on a
 * layer without output bases. */
LRMLP_API int lrmlp_subspace_u2_deviation(const lrmlp_subspace *s, size_t layer, double *dev);

/* Splits the change D = Wt - W0 of layer's weights (both out x in,
 * row-major, e.g. from lrmlp_net_get_weights_f64) into the blocks of
 * U^T D V and writes their squared Frobenius fractions:
 *   frac[0] = block 11 (U1, V1)   frac[1] = block 12 (U1, V2)
 *   frac[2] = block 21 (U2, V1)   frac[3] = block 22 (U2, V2)
 * They sum to 1 (each is ||block||^2 / ||D||_F^2, U and V being orthogonal);
 * all four are 0 when D = 0. A block that does not exist is NaN, not 0: U1
 * has no columns when out == p (then block 11 and 12 are NaN and the
 * change lies in blocks 21 and 22), and U2, V2 have none when p == 0. LRMLP_ERR_INVALID for NULL or a bad layer,
 * LRMLP_ERR_SHAPE on a layer without output bases, LRMLP_ERR_NONFINITE for
 * NaN/Inf in W0 or Wt, LRMLP_ERR_NOMEM. Uses 2 * out * in doubles of scratch. */
LRMLP_API int lrmlp_subspace_block_fractions(const lrmlp_subspace *s, size_t layer,
                                             const double *W0, const double *Wt,
                                             double frac[4]);

/* Principal angles between the spans of A and B, two n x r row-major
 * matrices with orthonormal columns (not checked; 1 <= r <= n). Returns
 * ||sin Theta||_2 = sqrt(sum_i sin^2 theta_i), computed as
 * ||B - A (A^T B)||_F, which stays accurate for tiny angles. When angles is
 * not NULL it receives theta_1 <= ... <= theta_r in radians: arccos of the
 * singular values of A^T B for large angles, arcsin of those of
 * B - A (A^T B) for small ones. Returns NaN for invalid arguments, NaN/Inf
 * input, an SVD failure or no memory (angles is then unspecified). Pure
 * function: thread-safe. */
LRMLP_API double lrmlp_principal_angles(const double *A, const double *B, size_t n, size_t r,
                                        double *angles);

#ifdef __cplusplus
}
#endif
#endif
