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

typedef enum lrmlp_activation {
    LRMLP_ACT_IDENTITY = 0,
    LRMLP_ACT_TANH = 1,
    LRMLP_ACT_SIGMOID = 2,    /* 1 / (1 + exp(-x)); note phi(0) = 1/2 */
    LRMLP_ACT_SOFTPLUS = 3,   /* log(1 + exp(x)) */
    LRMLP_ACT_ELU = 4,        /* x > 0 ? x : exp(x) - 1 */
    LRMLP_ACT_GELU = 5,       /* x * Phi(x), exact erf form */
    LRMLP_ACT_GELU_TANH = 6,  /* tanh approximation of GELU */
    LRMLP_ACT_SILU = 7,       /* x * sigmoid(x), also called swish */
    LRMLP_ACT_RELU = 8,
    LRMLP_ACT_LEAKY_RELU = 9,
    LRMLP_ACT_RRELU = 10,
    LRMLP_ACT_COUNT_ = 11     /* not an activation: one past the last */
} lrmlp_activation;

/* Short lower-case name ("tanh", "gelu", ...), or NULL for an unknown value. */
LRMLP_API const char *lrmlp_activation_name(lrmlp_activation act);
/* Parses a name as printed by lrmlp_activation_name (case-insensitive).
 * Returns LRMLP_OK or LRMLP_ERR_INVALID. */
LRMLP_API int lrmlp_activation_from_name(const char *name, lrmlp_activation *out);
/* 1 if the activation is smooth in the paper's sense (phi(0) = 0 with bounded
 * phi' and phi''): tanh, ELU, GELU, GELU_TANH, SiLU, identity. 0 otherwise. */
LRMLP_API int lrmlp_activation_is_smooth(lrmlp_activation act);

/* Evaluates phi(x) and phi'(x) in double precision, evaluation mode (RReLU
 * uses its mean slope). Either output pointer may be NULL. For tests and for
 * callers that want the exact functions the library uses. Thread-safe. */
LRMLP_API int lrmlp_activation_eval(lrmlp_activation act, double x,
                                    double *value, double *derivative);

typedef enum lrmlp_loss {
    /* 0.5 * sum over samples and outputs of (f - y)^2: the paper's loss.
     * A sum, not a mean: gradients grow with the batch size. */
    LRMLP_LOSS_SSE = 0,
    /* Half the mean over samples of the summed squares: 0.5 / n * sum over
     * samples and outputs of (f - y)^2, i.e. LRMLP_LOSS_SSE / n. With K
     * outputs this is K/2 times PyTorch's mse_loss; use
     * LRMLP_LOSS_MEAN_SQUARED for that one. Kept as it was (name "mse"). */
    LRMLP_LOSS_MSE = 1,
    /* softmax cross-entropy, mean over samples: -1/n sum_i sum_k y_ik log
     * softmax(f_i)_k. Fused and computed with the log-sum-exp shift, so it is
     * finite for any finite logits. Targets are probability rows (one-hot). */
    LRMLP_LOSS_CROSS_ENTROPY = 2,
    /* The mean squared error as PyTorch's torch.nn.functional.mse_loss
     * (reduction "mean") computes it: the mean over all n * K elements of
     * (f - y)^2, no factor 0.5. Name "mean_squared". */
    LRMLP_LOSS_MEAN_SQUARED = 3,
    LRMLP_LOSS_COUNT_ = 4
} lrmlp_loss;

LRMLP_API const char *lrmlp_loss_name(lrmlp_loss loss);

#ifdef __cplusplus
}
#endif
#endif
