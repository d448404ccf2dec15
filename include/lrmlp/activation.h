/* liblrmlp: activation functions and losses.
 *
 * Activations act elementwise. Each has an exact analytic derivative that the
 * backward pass uses; none is differentiated numerically. Parameters are the
 * PyTorch defaults: Leaky-ReLU slope 0.01, ELU alpha 1, RReLU slope drawn
 * uniformly from [1/8, 1/3] per element in training (from the network's own
 * seeded generator) and fixed to the mean 11/48 in evaluation.
 *
 * Precision: float64 networks evaluate the activations with the C library's
 * functions. float32 networks use vectorized kernels for tanh (a rational
 * approximation), sigmoid, SiLU and GELU (their own exp and normal CDF):
 * each within 1e-6 relative (absolute below 1e-3) of the float64 result,
 * which tests/test_activation.c checks on [-10, 10]. On x86-64 these loops
 * run in AVX2+FMA or AVX-512+FMA variants picked from the CPU at each call,
 * so float32 results can differ in the last bits between machines (as BLAS
 * results do); on one machine they are deterministic. */
#ifndef LRMLP_ACTIVATION_H
#define LRMLP_ACTIVATION_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The activations, as X(NAME, value, "name"): the enum below and the
 * library's name table are both generated from this one list. Values are
 * stable (they are stored in model files). */
#define LRMLP_ACTIVATION_MAP(X)                                                      \
    X(IDENTITY, 0, "identity")                                                       \
    X(TANH, 1, "tanh")                                                               \
    /* 1 / (1 + exp(-x)); note phi(0) = 1/2 */                                       \
    X(SIGMOID, 2, "sigmoid")                                                         \
    /* log(1 + exp(x)) */                                                            \
    X(SOFTPLUS, 3, "softplus")                                                       \
    /* x > 0 ? x : exp(x) - 1 */                                                     \
    X(ELU, 4, "elu")                                                                 \
    /* x * Phi(x), exact erf form */                                                 \
    X(GELU, 5, "gelu")                                                               \
    /* tanh approximation of GELU */                                                 \
    X(GELU_TANH, 6, "gelu_tanh")                                                     \
    /* x * sigmoid(x), also called swish */                                          \
    X(SILU, 7, "silu")                                                               \
    X(RELU, 8, "relu")                                                               \
    X(LEAKY_RELU, 9, "leaky_relu")                                                   \
    X(RRELU, 10, "rrelu")

typedef enum lrmlp_activation {
#define LRMLP_ACT_ENUM_(name, value, str) LRMLP_ACT_##name = value,
    LRMLP_ACTIVATION_MAP(LRMLP_ACT_ENUM_)
#undef LRMLP_ACT_ENUM_
    LRMLP_ACT_COUNT_          /* not an activation: one past the last */
} lrmlp_activation;

/* Short lower-case name ("tanh", "gelu", ...), or NULL for an unknown value. */
LRMLP_API const char *lrmlp_activation_name(lrmlp_activation act);
/* Parses a name as printed by lrmlp_activation_name, or one of the aliases
 * "swish" (silu) and "leaky" (leaky_relu). Case-insensitive; '-' and '_'
 * are the same ("gelu-tanh" = "gelu_tanh"). Returns LRMLP_OK or
 * LRMLP_ERR_INVALID (with a message). Thread-safe. */
LRMLP_API int lrmlp_activation_from_name(const char *name, lrmlp_activation *out);
/* 1 if the activation is smooth in the paper's sense (phi(0) = 0 with bounded
 * phi' and phi''): tanh, ELU, GELU, GELU_TANH, SiLU, identity. 0 otherwise. */
LRMLP_API int lrmlp_activation_is_smooth(lrmlp_activation act);

/* Evaluates phi(x) and phi'(x) in double precision, evaluation mode (RReLU
 * uses its mean slope). Either output pointer may be NULL. For tests and for
 * callers that want the exact functions the library uses. Thread-safe. */
LRMLP_API int lrmlp_activation_eval(lrmlp_activation act, double x,
                                    double *value, double *derivative);

/* The losses, as X(NAME, value, "name") (see LRMLP_ACTIVATION_MAP). */
#define LRMLP_LOSS_MAP(X)                                                            \
    /* 0.5 * sum over samples and outputs of (f - y)^2: the paper's loss.            \
     * A sum, not a mean: gradients grow with the batch size. */                     \
    X(SSE, 0, "sse")                                                                 \
    /* Half the mean over samples of the summed squares: 0.5 / n * sum over         \
     * samples and outputs of (f - y)^2, i.e. LRMLP_LOSS_SSE / n. With K outputs    \
     * this is K/2 times PyTorch's mse_loss: LRMLP_LOSS_MEAN_SQUARED is that one. */ \
    X(MSE, 1, "mse")                                                                 \
    /* softmax cross-entropy, mean over samples: -1/n sum_i sum_k y_ik log           \
     * softmax(f_i)_k. Fused and computed with the log-sum-exp shift, so it is       \
     * finite for any finite logits. Targets are probability rows (one-hot). */      \
    X(CROSS_ENTROPY, 2, "cross_entropy")                                             \
    /* The mean squared error of PyTorch's torch.nn.functional.mse_loss            \
     * (reduction "mean"): the mean over all n * K elements of (f - y)^2, no        \
     * factor 0.5. */                                                                \
    X(MEAN_SQUARED, 3, "mean_squared")

typedef enum lrmlp_loss {
#define LRMLP_LOSS_ENUM_(name, value, str) LRMLP_LOSS_##name = value,
    LRMLP_LOSS_MAP(LRMLP_LOSS_ENUM_)
#undef LRMLP_LOSS_ENUM_
    LRMLP_LOSS_COUNT_
} lrmlp_loss;

/* Short name ("sse", "mse", "cross_entropy", "mean_squared"), or NULL for an unknown value. */
LRMLP_API const char *lrmlp_loss_name(lrmlp_loss loss);

#ifdef __cplusplus
}
#endif
#endif
