/* liblrmlp: low-rank adapters on trained dense networks (docs/adaptation.md).
 *
 * An adapter network computes, for every base layer l with rank r_l > 0,
 *
 *     h_{l+1} = act_l( (W0_l + B_l A_l) h_l + b_l )
 *
 * with W0_l (out x in) frozen and kept outside the parameter vector, and the
 * factors A_l (r_l x in) and B_l (out x r_l) trainable. Base layers with
 * r_l = 0 are copied as they are and frozen (see train_last).
 *
 * It is an ordinary lrmlp_net handle: forward, gradients, every optimizer,
 * lrmlp_train_epoch, lrmlp_evaluate, freezing, per-layer learning rates and
 * the MPI add-on work on it unchanged. Its layers are the chain
 *
 *     adapted base layer l  ->  A_l (identity activation), B_l (act_l)
 *     other base layer l    ->  the layer itself
 *
 * (the layout lrmlp_net_factorize produces), where each B_l layer also adds
 * the frozen W0_l applied to the input of A_l; lrmlp_adapter_layer() maps a
 * base layer to its chain layers. The parameter and gradient vectors hold
 * only the chain's parameters: A, B, the biases and the unadapted layers.
 * When every layer is adapted or trainable they hold exactly the trainable
 * parameters, so a data-parallel step communicates only those.
 *
 * Biases: when the base has biases, B_l's layer carries b_l (trainable,
 * starting at the base's b_l) and A_l's layer a bias a_l (starting at 0),
 * so the layer computes W0 h + B (A h + a) + b; merging folds B a into b.
 *
 * Initializations (every one starts at the base's function: the adapter
 * network's outputs at creation equal the base's up to rounding):
 *   LORA:     A ~ U(-s/sqrt(in), s/sqrt(in)) (LoRA's Kaiming-uniform with
 *             a = sqrt(5)), B = 0. s = opts->scale.
 *   PISSA:    W0 = U S V^T (thin SVD); B = U_r S_r^(1/2), A = S_r^(1/2) V_r^T
 *             and the frozen part is the residual W0 - B A.
 *   GRADIENT: G = d loss / d W0 of the base on the new task's samples;
 *             G = U S V^T; A = (s / sqrt(3)) V_r^T, B = 0. The rows of A
 *             span the top-r right singular subspace of G, and the first
 *             plain-gradient step moves B to -lr (s^2/3) U_r S_r, i.e. the
 *             update B A is the rank-r truncation of the full fine-tuning
 *             step; the s/sqrt(3) scale gives A the expected Frobenius norm
 *             of LoRA's A, so GRADIENT and LORA differ only in directions.
 *             W0 is not modified. (LoRA-GA instead sets B and A from
 *             disjoint singular vectors and subtracts B A from W0; see
 *             docs/adaptation.md.)
 *
 * Other functions that rebuild a network from its weights (lrmlp_model_save,
 * and so the MPI add-on's lrmlp_mpi_broadcast_model; lrmlp_net_factorize)
 * refuse adapter networks: save them with lrmlp_adapter_save, or merge them
 * into a dense network; so do lrmlp_model_from_net and lrmlp_weights_export
 * (infer.h, interop.h). lrmlp_net_predict_* runs the training code path
 * (net.h) instead of the inference kernels. Creation is deterministic, so
 * data-parallel ranks build the same adapter from the same base and options.
 *
 * Preprocessing (infer.h) of the base is not carried into the adapter or
 * its merged network: an adapter works in the network's own coordinates,
 * like training; set the transforms again on the merged network.
 *
 * Errors: LRMLP_OK or a negative status, with a message in
 * lrmlp_last_errmsg() (common.h). Threads: as net.h; the pure functions
 * (lrmlp_rank_suggest, lrmlp_singular_values) are thread-safe. */
#ifndef LRMLP_ADAPTER_H
#define LRMLP_ADAPTER_H

#include "common.h"
#include "net.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lrmlp_adapter_init {
    LRMLP_ADAPTER_LORA = 0,
    LRMLP_ADAPTER_PISSA = 1,
    LRMLP_ADAPTER_GRADIENT = 2,
    LRMLP_ADAPTER_INIT_COUNT_ = 3
} lrmlp_adapter_init;

#define LRMLP_ADAPTER_OPTIONS_VERSION 1

/* Adapter options. Always initialize with LRMLP_ADAPTER_OPTIONS_INIT or
 * lrmlp_adapter_options_init() so that fields added later get defaults. */
typedef struct lrmlp_adapter_options {
    unsigned int version;          /* LRMLP_ADAPTER_OPTIONS_VERSION */
    const size_t *ranks;           /* n_layers entries (the base's); 0 = layer not
                                      adapted; else 1 <= r <= min(in, out). At least
                                      one nonzero. Copied. */
    lrmlp_adapter_init init;       /* default LRMLP_ADAPTER_LORA */
    double scale;                  /* s of LORA and GRADIENT, finite, > 0 (default 1) */
    int train_last;                /* nonzero: the last base layer, when not adapted,
                                      stays trainable (a new output layer); default 0 */
    uint64_t seed;                 /* seeds the adapter network's generator (LoRA's
                                      draws, shuffling); default 1 */
    /* GRADIENT only: the gradient is taken on the first n samples of data
     * (n = 0: all), with this loss, as one full batch. */
    const lrmlp_dataset *data;
    size_t n;
    lrmlp_loss loss;               /* default LRMLP_LOSS_CROSS_ENTROPY */
} lrmlp_adapter_options;

#define LRMLP_ADAPTER_OPTIONS_INIT \
    { LRMLP_ADAPTER_OPTIONS_VERSION, NULL, LRMLP_ADAPTER_LORA, 1.0, 0, 1u, NULL, 0, \
      LRMLP_LOSS_CROSS_ENTROPY }

/* Fills opts with defaults for the given version. LRMLP_ERR_VERSION for an
 * unknown version, LRMLP_ERR_INVALID for NULL. Thread-safe. */
LRMLP_API int lrmlp_adapter_options_init(lrmlp_adapter_options *opts, unsigned int version);

/* Creates an adapter network on base (which it copies what it needs from;
 * base is not kept and not modified). base must be a plain dense network
 * (not low-rank, factorized by lrmlp_lowrank_*, or itself an adapter) with
 * no layer frozen that is to be adapted.
 * On success *out owns a new handle (lrmlp_net_free). On error *out is NULL:
 *   LRMLP_ERR_INVALID   NULL argument, bad option, every rank 0, a rank
 *                       above min(in, out), an adapted layer frozen in base,
 *                       base low-rank or an adapter, GRADIENT without data
 *   LRMLP_ERR_VERSION   unknown options version
 *   LRMLP_ERR_SHAPE     data's dimensions do not match base
 *   LRMLP_ERR_NONFINITE base weights or the data hold NaN/Inf
 *   LRMLP_ERR_DIVERGED  the gradient (GRADIENT) is not finite
 *   LRMLP_ERR_LINALG    an SVD failed
 *   LRMLP_ERR_NOMEM     out of memory */
LRMLP_API int lrmlp_adapter_create(lrmlp_net **out, const lrmlp_net *base,
                                   const lrmlp_adapter_options *opts);

/* 1 when net is an adapter network, else 0 (also for NULL). */
LRMLP_API int lrmlp_adapter_is(const lrmlp_net *net);

/* Number of base layers of an adapter network (0 for any other network). */
LRMLP_API size_t lrmlp_adapter_n_base_layers(const lrmlp_net *ad);

/* Rank of base layer l's adapter (0 when not adapted, or not an adapter). */
LRMLP_API size_t lrmlp_adapter_rank(const lrmlp_net *ad, size_t base_layer);

/* Chain layers of base layer l: *a_layer holds A (r x in), *b_layer B
 * (out x r); for an unadapted layer both are the layer itself. Either
 * pointer may be NULL. LRMLP_ERR_INVALID for a non-adapter or a bad layer. */
LRMLP_API int lrmlp_adapter_layer(const lrmlp_net *ad, size_t base_layer, size_t *a_layer,
                                  size_t *b_layer);

/* Copies the frozen part of base layer l (out x in, row-major, double):
 * W0 for LORA and GRADIENT, the residual W0 - B0 A0 for PISSA.
 * LRMLP_ERR_INVALID for an unadapted layer or a non-adapter. */
LRMLP_API int lrmlp_adapter_get_frozen(const lrmlp_net *ad, size_t base_layer, double *W0);

/* The plain dense network (the base's shape, activations and bias flag)
 * computing the same function: W = W0 + B A, b = b + B a per adapted
 * layer, computed in double and rounded once. Frozen flags: none. The
 * generator state and epoch count are copied. */
LRMLP_API int lrmlp_adapter_merge(lrmlp_net **out, const lrmlp_net *ad);

/* Saves the adapter alone: a model file (docs/format.md) holding the
 * adapter network's parameter vector, frozen flags and generator state,
 * plus a critical ADPT section with the ranks, the initialization, the
 * PiSSA factors subtracted from W0, and a CRC-32 of the base's adapted
 * weight matrices W0 and of its shape. The frozen W0 are not stored: the
 * file's size is about that of the parameter vector. Unadapted layers are
 * part of the vector and therefore stored. lrmlp_model_load rejects the
 * file with LRMLP_ERR_FORMAT. Written atomically as lrmlp_model_save. */
LRMLP_API int lrmlp_adapter_save(const lrmlp_net *ad, const char *path);
LRMLP_API int lrmlp_adapter_save_mem(const lrmlp_net *ad, void **buf, size_t *len);

/* Loads an adapter saved by lrmlp_adapter_save on top of base, which must be
 * the network it was created from (same shape, activations, bias flag and
 * bitwise the same adapted weight matrices; the unadapted layers and the
 * biases come from the file). On a different base: LRMLP_ERR_SHAPE for
 * another shape or dtype, LRMLP_ERR_CHECKSUM for other weights, with a
 * message saying which. LRMLP_ERR_FORMAT for a model file that is not an
 * adapter. Other errors as lrmlp_model_load. */
LRMLP_API int lrmlp_adapter_load(const char *path, const lrmlp_net *base, lrmlp_net **out);
LRMLP_API int lrmlp_adapter_load_mem(const void *buf, size_t len, const lrmlp_net *base,
                                     lrmlp_net **out);

/* ---- choosing the rank ---- */

/* Singular values of the rows x cols row-major matrix M, in descending
 * order, into sv (min(rows, cols) entries). M is not modified. Errors:
 * LRMLP_ERR_INVALID (NULL, a zero dimension), LRMLP_ERR_NONFINITE,
 * LRMLP_ERR_LINALG, LRMLP_ERR_NOMEM. Thread-safe. */
LRMLP_API int lrmlp_singular_values(const double *M, size_t rows, size_t cols, double *sv);

/* Proposes a rank from singular values sv[0] >= ... >= sv[n-1] >= 0 (e.g. of
 * the new task's gradient of a layer):
 *   *r_energy: the smallest r with sv[0]^2 + ... + sv[r-1]^2 >= energy * total
 *              (0 < energy <= 1; 0.9 keeps 90 % of the squared norm);
 *   *r_gap:    the r maximizing sv[r-1] / sv[r], the largest relative gap,
 *              among 1 <= r < n with sv[r-1] > 1e-3 sv[0] (the numerically
 *              zero tail of a gradient would otherwise win); a zero sv[r]
 *              makes the gap infinite and the first such r wins; n when
 *              n == 1.
 * Either output may be NULL. Errors: LRMLP_ERR_INVALID for NULL sv, n == 0,
 * energy outside (0, 1], values not finite, negative, not sorted, or all
 * zero. Thread-safe. */
LRMLP_API int lrmlp_rank_suggest(const double *sv, size_t n, double energy, size_t *r_energy,
                                 size_t *r_gap);

#ifdef __cplusplus
}
#endif
#endif
