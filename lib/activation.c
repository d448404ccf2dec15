/* Activation functions: names, scalar evaluation, and the batch kernels. */
#include "internal.h"
#include "kernel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define LRMLP_LEAKY_SLOPE 0.01
#define LRMLP_RRELU_LOWER (1.0 / 8.0)
#define LRMLP_RRELU_UPPER (1.0 / 3.0)
#define LRMLP_RRELU_MEAN ((LRMLP_RRELU_LOWER + LRMLP_RRELU_UPPER) / 2.0)

/* The elementwise loops (tanh, GELU, SiLU, ReLU) are LRMLP_KERNELs
 * (kernel.h): also compiled for AVX2+FMA and AVX-512+FMA on x86-64. */

#define REAL float
#define SFX f32
#define LRMLP_FAST_TANH 1
#define M_EXP exp_kf
#define M_EXPM1 expm1f
#define M_LOG1P log1pf
#define M_TANH tanhf
#include "activation_impl.h"
#undef REAL
#undef SFX
#undef LRMLP_FAST_TANH
#undef M_EXP
#undef M_EXPM1
#undef M_LOG1P
#undef M_TANH

#define REAL double
#define SFX f64
#define LRMLP_FAST_TANH 0
#define M_EXP exp
#define M_EXPM1 expm1
#define M_LOG1P log1p
/* erfc keeps the tail accurate where 1 + erf would cancel */
#define M_PHI(x) (0.5 * erfc(-(x) * 0.70710678118654752440))
#define M_TANH tanh
#include "activation_impl.h"

static const char *const act_names[LRMLP_ACT_COUNT_] = {
    "identity", "tanh", "sigmoid", "softplus", "elu", "gelu",
    "gelu_tanh", "silu", "relu", "leaky_relu", "rrelu",
};

LRMLP_API const char *lrmlp_activation_name(lrmlp_activation act)
{
    if ((int)act < 0 || act >= LRMLP_ACT_COUNT_)
        return NULL;
    return act_names[act];
}

LRMLP_API int lrmlp_activation_from_name(const char *name, lrmlp_activation *out)
{
    if (!name || !out)
        return LRMLP_ERR_INVALID;
    for (int i = 0; i < LRMLP_ACT_COUNT_; i++) {
        if (strcasecmp(name, act_names[i]) == 0) {
            *out = (lrmlp_activation)i;
            return LRMLP_OK;
        }
    }
    if (strcasecmp(name, "swish") == 0) {
        *out = LRMLP_ACT_SILU;
        return LRMLP_OK;
    }
    return LRMLP_ERR_INVALID;
}

LRMLP_API int lrmlp_activation_is_smooth(lrmlp_activation act)
{
    switch (act) {
    case LRMLP_ACT_IDENTITY:
    case LRMLP_ACT_TANH:
    case LRMLP_ACT_ELU:
    case LRMLP_ACT_GELU:
    case LRMLP_ACT_GELU_TANH:
    case LRMLP_ACT_SILU:
        return 1;
    default:
        return 0;
    }
}

LRMLP_API int lrmlp_activation_eval(lrmlp_activation act, double x, double *value,
                                    double *derivative)
{
    if ((int)act < 0 || act >= LRMLP_ACT_COUNT_ || !isfinite(x))
        return LRMLP_ERR_INVALID;
    double z = x, d = 0;
    lrmlp__act_forward_f64(act, &z, &d, 1, 0, NULL);
    if (value)
        *value = z;
    if (derivative)
        *derivative = d;
    return LRMLP_OK;
}

LRMLP_API const char *lrmlp_loss_name(lrmlp_loss loss)
{
    switch (loss) {
    case LRMLP_LOSS_SSE: return "sse";
    case LRMLP_LOSS_MSE: return "mse";
    case LRMLP_LOSS_CROSS_ENTROPY: return "cross_entropy";
    case LRMLP_LOSS_MEAN_SQUARED: return "mean_squared";
    default: return NULL;
    }
}
