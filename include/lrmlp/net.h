/* liblrmlp: the network handle.
 *
 * A network is L weight layers. Layer l (0-based here, l = 0 .. L-1) maps
 * widths[l] inputs to widths[l+1] outputs:
 *
 *     h_{l+1} = act_l( W_l h_l + b_l )
 *
 * W_l is stored row-major with widths[l+1] rows and widths[l] columns (the
 * paper's W_{l+1}, "out x in"), b_l only when the network has biases.
 *
 * Data layout: a batch of n samples is n contiguous rows, each of the layer's
 * width (row-major n x d; the same memory as the paper's column-major d x n).
 *
 * Precision: a network is float32 or float64 for its whole life. Functions
 * ending in _f32 work on float32 networks, _f64 on float64 ones; calling the
 * other one returns LRMLP_ERR_DTYPE.
 *
 * Memory: all parameters live in one contiguous vector, all gradients in a
 * second one of the same length (lrmlp_net_params/lrmlp_net_grads). Forward
 * and backward use a workspace that is sized when a batch larger than any
 * before is first seen; after that, training allocates nothing.
 *
 * Threads: a handle may be used by one thread at a time (every call,
 * including predict, writes the handle's workspace). Distinct handles may be
 * used from distinct threads at once. The library never changes the BLAS
 * thread count.
 *
 * Errors: every function returning int returns LRMLP_OK or a negative
 * lrmlp_status, and on error records a message (lrmlp_last_errmsg, common.h).
 * A failed call leaves the network's parameters as they were. */
#ifndef LRMLP_NET_H
#define LRMLP_NET_H

#include "common.h"
#include "activation.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_net lrmlp_net;

/* Weight initializers. fan_in = columns, fan_out = rows of W_l. */
/* As X(NAME, value, "name"); the enum and the name table come from it. */
#define LRMLP_INIT_MAP(X)                                                            \
    /* W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (nn.Linear) */                      \
    X(TORCH_DEFAULT, 0, "torch_default")                                             \
    /* W = scale * Q, Q with orthonormal rows or columns (QR of a Gaussian           \
     * matrix); the paper's eps-scaled init */                                       \
    X(ORTHOGONAL, 1, "orthogonal")                                                   \
    /* W ~ N(0, scale^2) */                                                          \
    X(GAUSSIAN, 2, "gaussian")                                                       \
    /* U(-a, a), a = scale * sqrt(6 / (fan_in + fan_out)) */                         \
    X(XAVIER_UNIFORM, 3, "xavier_uniform")                                           \
    /* N(0, s^2), s = scale * sqrt(2 / (fan_in + fan_out)) */                        \
    X(XAVIER_NORMAL, 4, "xavier_normal")                                             \
    /* U(-a, a), a = scale * sqrt(6 / fan_in) */                                     \
    X(HE_UNIFORM, 5, "he_uniform")                                                   \
    /* N(0, s^2), s = scale * sqrt(2 / fan_in) */                                    \
    X(HE_NORMAL, 6, "he_normal")                                                     \
    X(ZERO, 7, "zero")

typedef enum lrmlp_init {
#define LRMLP_INIT_ENUM_(name, value, str) LRMLP_INIT_##name = value,
    LRMLP_INIT_MAP(LRMLP_INIT_ENUM_)
#undef LRMLP_INIT_ENUM_
    LRMLP_INIT_COUNT_
} lrmlp_init;

/* Short name ("orthogonal", "he_normal", ...), or NULL for an unknown value. */
LRMLP_API const char *lrmlp_init_name(lrmlp_init init);

#define LRMLP_NET_OPTIONS_VERSION 1

/* Network options. Always initialize with LRMLP_NET_OPTIONS_INIT or
 * lrmlp_net_options_init() so that fields added later get defaults. */
typedef struct lrmlp_net_options {
    unsigned int version;          /* LRMLP_NET_OPTIONS_VERSION */
    lrmlp_dtype dtype;             /* default LRMLP_F32 */
    size_t n_layers;               /* L >= 1 weight layers */
    const size_t *widths;          /* L + 1 widths, each >= 1: input, hidden..., output.
                                      Copied; the caller keeps ownership. */
    lrmlp_activation hidden_activation; /* default LRMLP_ACT_TANH */
    lrmlp_activation output_activation; /* default LRMLP_ACT_IDENTITY */
    const lrmlp_activation *activations;/* optional, L entries; overrides the two above */
    int bias;                      /* nonzero: every layer has a bias (default 0) */
    uint64_t seed;                 /* seeds the network's generator (default 1) */
    lrmlp_init init;               /* initializer for every layer (default TORCH_DEFAULT) */
    double init_scale;             /* eps / std / gain of the initializer (default 1.0) */
} lrmlp_net_options;

#define LRMLP_NET_OPTIONS_INIT \
    { LRMLP_NET_OPTIONS_VERSION, LRMLP_F32, 0, NULL, LRMLP_ACT_TANH, \
      LRMLP_ACT_IDENTITY, NULL, 0, 1u, LRMLP_INIT_TORCH_DEFAULT, 1.0 }

/* Fills opts with defaults for the given version. Returns LRMLP_ERR_VERSION
 * for an unknown version. Thread-safe. */
LRMLP_API int lrmlp_net_options_init(lrmlp_net_options *opts, unsigned int version);

/* Creates a network and initializes its weights from its own generator.
 * On success *out owns a new handle (free with lrmlp_net_free). On error
 * *out is NULL and lrmlp_last_errmsg() describes the problem. */
LRMLP_API int lrmlp_net_create(lrmlp_net **out, const lrmlp_net_options *opts);

/* Deep copy: parameters, gradients, frozen flags and generator state. */
LRMLP_API int lrmlp_net_clone(lrmlp_net **out, const lrmlp_net *src);

/* Frees the handle; NULL is a no-op. */
LRMLP_API void lrmlp_net_free(lrmlp_net *net);

/* ---- shape queries (thread-safe on a handle no thread is modifying) ---- */
LRMLP_API lrmlp_dtype lrmlp_net_dtype(const lrmlp_net *net);
LRMLP_API size_t lrmlp_net_n_layers(const lrmlp_net *net);
/* Width i, i = 0 .. L (0 is the input dimension, L the output); 0 if out of range. */
LRMLP_API size_t lrmlp_net_width(const lrmlp_net *net, size_t i);
LRMLP_API lrmlp_activation lrmlp_net_activation(const lrmlp_net *net, size_t layer);
LRMLP_API int lrmlp_net_has_bias(const lrmlp_net *net);
/* Total number of trainable scalars (weights and biases of all layers). */
LRMLP_API size_t lrmlp_net_param_count(const lrmlp_net *net);

/* ---- the flat parameter and gradient vectors ----
 * Pointers into the network's own storage, of lrmlp_net_param_count()
 * elements of its dtype (float or double), valid until lrmlp_net_free.
 * Writing through lrmlp_net_params changes the weights; the gradient vector
 * is overwritten by every lrmlp_net_gradient_* call. */
LRMLP_API void *lrmlp_net_params(lrmlp_net *net);
LRMLP_API void *lrmlp_net_grads(lrmlp_net *net);
/* Where layer l lives in those vectors: W_l starts at *w_offset (row-major),
 * b_l at *b_offset (SIZE_MAX when the network has no biases). */
LRMLP_API int lrmlp_net_layer_offsets(const lrmlp_net *net, size_t layer,
                                      size_t *w_offset, size_t *b_offset);

/* ---- initialization and the generator ---- */
/* Re-initializes layer l with the given initializer, drawing from the
 * network's generator. Biases are zeroed except for TORCH_DEFAULT.
 * LRMLP_ERR_INVALID, with the network unchanged, for a scale that is not
 * finite and >= 0 or for which a weight could overflow the dtype (uniform
 * bound, or 8.6 standard deviations, above FLT_MAX / DBL_MAX); the same
 * holds for lrmlp_net_options.init_scale in lrmlp_net_create. */
LRMLP_API int lrmlp_net_init_layer(lrmlp_net *net, size_t layer,
                                   lrmlp_init init, double scale);
/* Re-seeds the network's generator (used by initializers, RReLU and the
 * training loop's shuffling). Same seed and same BLAS threads give a
 * bitwise identical run. */
LRMLP_API int lrmlp_net_seed(lrmlp_net *net, uint64_t seed);

/* ---- copy-in / copy-out of one layer ----
 * W is rows*cols = widths[l+1]*widths[l] values, row-major; b is widths[l+1].
 * set_* rejects NaN/Inf (LRMLP_ERR_NONFINITE) and then changes nothing.
 * Bias calls on a network without biases return LRMLP_ERR_INVALID. */
LRMLP_API int lrmlp_net_get_weights_f32(const lrmlp_net *net, size_t layer, float *W);
LRMLP_API int lrmlp_net_get_weights_f64(const lrmlp_net *net, size_t layer, double *W);
LRMLP_API int lrmlp_net_set_weights_f32(lrmlp_net *net, size_t layer, const float *W);
LRMLP_API int lrmlp_net_set_weights_f64(lrmlp_net *net, size_t layer, const double *W);
LRMLP_API int lrmlp_net_get_bias_f32(const lrmlp_net *net, size_t layer, float *b);
LRMLP_API int lrmlp_net_get_bias_f64(const lrmlp_net *net, size_t layer, double *b);
LRMLP_API int lrmlp_net_set_bias_f32(lrmlp_net *net, size_t layer, const float *b);
LRMLP_API int lrmlp_net_set_bias_f64(lrmlp_net *net, size_t layer, const double *b);
/* Gradients from the last lrmlp_net_gradient_* call (zeros before any). */
LRMLP_API int lrmlp_net_get_weight_grad_f32(const lrmlp_net *net, size_t layer, float *G);
LRMLP_API int lrmlp_net_get_weight_grad_f64(const lrmlp_net *net, size_t layer, double *G);
LRMLP_API int lrmlp_net_get_bias_grad_f32(const lrmlp_net *net, size_t layer, float *g);
LRMLP_API int lrmlp_net_get_bias_grad_f64(const lrmlp_net *net, size_t layer, double *g);

/* ---- freezing ----
 * A frozen layer keeps its weights and bias: its gradient is reported as
 * zero and optimizers skip it (no decay, no momentum). Default: not frozen. */
LRMLP_API int lrmlp_net_set_frozen(lrmlp_net *net, size_t layer, int frozen);
LRMLP_API int lrmlp_net_is_frozen(const lrmlp_net *net, size_t layer);

/* ---- compute ----
 * X: n x widths[0]; Y: n x widths[L]; T (targets): n x widths[L].
 * n >= 1. NaN/Inf in X or T give LRMLP_ERR_NONFINITE. predict and loss
 * take at most INT_MAX samples (the BLAS row count), the gradient any n
 * whose X and T sizes in bytes fit a size_t; larger n give
 * LRMLP_ERR_INVALID before any data is read. */

/* Evaluation-mode forward pass (RReLU uses its mean slope), with the
 * network's input/output transforms when it has them (infer.h; the _raw_
 * variants there skip them). It runs the shared model's code (infer.h) in
 * chunks through a scratch of at most one chunk and the packed weights
 * (infer.h), so it does not grow the workspace with n. For many calls, or
 * many threads on one network, use lrmlp_model. */
LRMLP_API int lrmlp_net_predict_f32(lrmlp_net *net, const float *X, size_t n, float *Y);
LRMLP_API int lrmlp_net_predict_f64(lrmlp_net *net, const double *X, size_t n, double *Y);

/* Evaluation-mode loss of a batch, written to *loss. Y may be NULL; when
 * not, the outputs are stored there too. */
LRMLP_API int lrmlp_net_loss_f32(lrmlp_net *net, const float *X, const float *T,
                                 size_t n, lrmlp_loss loss, double *loss_out, float *Y);
LRMLP_API int lrmlp_net_loss_f64(lrmlp_net *net, const double *X, const double *T,
                                 size_t n, lrmlp_loss loss, double *loss_out, double *Y);

/* Training-mode forward and backward pass: writes the loss to *loss_out
 * (may be NULL) and overwrites the gradient vector with d loss / d params
 * (zeros for frozen layers). RReLU draws its slopes from the generator.
 * Large batches are processed in chunks whose gradients are added up (the
 * same gradient up to summation order; the workspace stays the size of a
 * chunk). A chunk has between 256 and 2048 rows, sized so that the widest
 * layer's activations take about 1 MiB (320 rows for a 784-wide float
 * network); batches up to that size are one pass. On error the gradient vector's
 * contents are unspecified; the parameters are untouched. */
LRMLP_API int lrmlp_net_gradient_f32(lrmlp_net *net, const float *X, const float *T,
                                     size_t n, lrmlp_loss loss, double *loss_out);
LRMLP_API int lrmlp_net_gradient_f64(lrmlp_net *net, const double *X, const double *T,
                                     size_t n, lrmlp_loss loss, double *loss_out);

#ifdef __cplusplus
}
#endif
#endif
