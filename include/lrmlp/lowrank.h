/* liblrmlp: low-rank MLPs (the paper's eq. 10) and factorized networks.
 *
 * A low-rank network stands for an L-layer MLP of input d, hidden width m and
 * output K, with rank r:
 *
 *     f(x) = W_L phi( U A_{L-1} phi( A_{L-2} ... phi( A_1 V^T x ) ... ) )
 *
 * V is d x r, U is m x r, the cores A_l are r x r, W_L is K x m; inner
 * activations act on r-dimensional vectors. It is an ordinary lrmlp_net
 * handle (forward, gradients, optimizers, training, evaluation, model files
 * and threading rules are those of net.h) whose layers are the chain
 *
 *     V^T (identity), A_1 (phi), ..., A_{L-2} (phi), A_{L-1} (identity),
 *     U (phi), W_L (output activation)
 *
 * so it has L + 2 layers; lrmlp_lowrank_layer() maps a factor to its layer
 * index for lrmlp_net_get_weights_* and friends. Note that the V factor's
 * layer holds V^T (r x d). Low-rank networks have no biases, as in the paper.
 *
 * Errors: LRMLP_OK or a negative status with a message in
 * lrmlp_last_errmsg() (common.h). Threads: as net.h. */
#ifndef LRMLP_LOWRANK_H
#define LRMLP_LOWRANK_H

#include "common.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LRMLP_LOWRANK_OPTIONS_VERSION 1

typedef struct lrmlp_lowrank_options {
    unsigned int version;              /* LRMLP_LOWRANK_OPTIONS_VERSION */
    lrmlp_dtype dtype;                 /* default LRMLP_F32 */
    size_t n_layers;                   /* L of the dense counterpart, >= 2 */
    size_t input_dim;                  /* d */
    size_t width;                      /* m */
    size_t output_dim;                 /* K */
    size_t rank;                       /* r, 1 <= r <= min(d, m) */
    lrmlp_activation hidden_activation;/* phi, default LRMLP_ACT_GELU */
    lrmlp_activation output_activation;/* default LRMLP_ACT_IDENTITY */
    uint64_t seed;                     /* network generator seed, default 1 */
    double eps;                        /* scale of the eps-orthogonal cores, default 0.1 */
} lrmlp_lowrank_options;

#define LRMLP_LOWRANK_OPTIONS_INIT \
    { LRMLP_LOWRANK_OPTIONS_VERSION, LRMLP_F32, 0, 0, 0, 0, 0, LRMLP_ACT_GELU, \
      LRMLP_ACT_IDENTITY, 1u, 0.1 }

LRMLP_API int lrmlp_lowrank_options_init(lrmlp_lowrank_options *opts, unsigned int version);

/* Creates a low-rank network. Its initial state is the paper's random
 * baseline: V and U random semi-orthogonal, cores eps-scaled orthogonal,
 * W_L with the PyTorch default. Use lrmlp_lowrank_init_from_dense to start
 * it in given subspaces. */
LRMLP_API int lrmlp_lowrank_create(lrmlp_net **out, const lrmlp_lowrank_options *opts);

/* Rank r of a low-rank network, 0 for any other network. */
LRMLP_API size_t lrmlp_lowrank_rank(const lrmlp_net *net);

typedef enum lrmlp_factor {
    LRMLP_FACTOR_V = 0,   /* layer holds V^T, r x d */
    LRMLP_FACTOR_A = 1,   /* core A_index, index = 1 .. L-1 (1-based!), r x r */
    LRMLP_FACTOR_U = 2,   /* m x r */
    LRMLP_FACTOR_OUT = 3  /* W_L, K x m */
} lrmlp_factor;

/* The 0-based network layer (net.h numbering) that holds a factor: V -> 0,
 * A_index -> index, U -> L, OUT -> L + 1. index is used for
 * LRMLP_FACTOR_A only and, unlike every other index of the library, is
 * 1-based, following the paper's A_1 .. A_{L-1}; lrmlp_lowrank_core_layer
 * takes a 0-based core number instead and is preferred in new code.
 * LRMLP_ERR_STATE for a network that is not low-rank, LRMLP_ERR_INVALID
 * for an index out of range. Thread-safe (reads only). */
LRMLP_API int lrmlp_lowrank_layer(const lrmlp_net *net, lrmlp_factor factor, size_t index,
                                  size_t *layer);

/* The network layer holding core number `core`, 0-based like layers:
 * core 0 .. L-2 is the paper's A_1 .. A_{L-1}, in layer core + 1. Errors
 * as lrmlp_lowrank_layer. */
LRMLP_API int lrmlp_lowrank_core_layer(const lrmlp_net *net, size_t core, size_t *layer);

/* Starts a low-rank network in given subspaces of a dense network (the
 * paper's "S_big initialization" when V spans S_big):
 *   V <- Vb (d x r, row-major, orthonormal columns; checked to 1e-6),
 *   U <- W_{L-1}(0) ... W_1(0) Vb / eps^(L-1),
 *   A_l <- eps-scaled orthogonal (drawn from lr's generator),
 *   W_L <- the dense network's W_L.
 * dense must be an L-layer network with widths d, m, ..., m, K matching lr,
 * without biases. eps is the scale of the dense W_l(0) = eps Q_l (0.1 in
 * the paper), given once: pass 0 to take it from dense, whose layers
 * 0 .. L-2 must then be scaled orthogonal matrices with one scale. A
 * positive eps is cross-checked: LRMLP_ERR_INVALID when a dense layer
 * l < L - 1 is eps' times an orthogonal matrix with eps' != eps (to 1e-4
 * relative), since U would then be off by (eps'/eps)^(L-1) (||U||_F^2 =
 * r (eps'/eps)^(2(L-1)) instead of r). Layers that are not scaled
 * orthogonal are not checked.
 * The rotated bases of the angle ablation and widths r > 2K are expressed
 * by the caller's choice of Vb (see lrmlp_basis_rotate). */
LRMLP_API int lrmlp_lowrank_init_from_dense(lrmlp_net *lr, const lrmlp_net *dense,
                                            const double *Vb, double eps);

/* The paper's random-subspace baseline started from a dense network: V and
 * U random semi-orthogonal, cores eps-orthogonal, W_L from dense. */
LRMLP_API int lrmlp_lowrank_init_random(lrmlp_net *lr, const lrmlp_net *dense, double eps);

/* The dense L-layer network (widths d, m, ..., m, K, no biases) computing
 * exactly the same function, with the rank-r factors embedded in m-wide
 * matrices (zero elsewhere). Needs m >= r. */
LRMLP_API int lrmlp_lowrank_expand(lrmlp_net **out, const lrmlp_net *lr);

/* Classic post-training compression: every layer l with ranks[l] > 0 is
 * replaced by two layers, S V^T (ranks[l] x in, identity activation) and
 * U (out x ranks[l], the layer's activation and bias), from its truncated
 * SVD (LAPACKE). ranks has n_layers entries; ranks[l] >= min(in, out)
 * keeps all singular values, so the result computes the same function.
 * LRMLP_ERR_NONFINITE when a layer to factorize holds NaN or Inf. */
LRMLP_API int lrmlp_net_factorize(lrmlp_net **out, const lrmlp_net *dense, const size_t *ranks);

/* out = cos(psi) * B + sin(psi) * P for n x r row-major orthonormal bases B
 * and P with P orthogonal to B (the angle ablation of the paper's appendix
 * F.1); out is orthonormal. LRMLP_ERR_INVALID for NULL pointers, n or r 0,
 * non-finite psi, or 2r > n (no two orthogonal n x r bases exist). The
 * orthonormality of B and P is the caller's. Thread-safe. */
LRMLP_API int lrmlp_basis_rotate(const double *B, const double *P, size_t n, size_t r,
                                 double psi, double *out);

#ifdef __cplusplus
}
#endif
#endif
