/* Activation functions: names, scalar evaluation, and the batch kernels. */
#include "internal.h"
#include "kernel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LRMLP_LEAKY_SLOPE 0.01
#define LRMLP_RRELU_LOWER (1.0 / 8.0)
#define LRMLP_RRELU_UPPER (1.0 / 3.0)
#define LRMLP_RRELU_MEAN ((LRMLP_RRELU_LOWER + LRMLP_RRELU_UPPER) / 2.0)

/* The elementwise loops (tanh, GELU, SiLU, ReLU) are LRMLP_KERNELs
 * (kernel.h): also compiled for AVX2+FMA and AVX-512+FMA on x86-64. */

#include "real_f32.h"
#include "activation_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "activation_impl.h"
#include "real_undef.h"

#define ACT_NAME_(name, value, str) [LRMLP_ACT_##name] = str,
LRMLP__NAME_TABLE(act_names, LRMLP_ACTIVATION_MAP, ACT_NAME_, LRMLP_ACT_COUNT_);
#undef ACT_NAME_

/* Other names people use, each for one activation. */
static const struct {
    const char *name;
    lrmlp_activation act;
} act_aliases[] = {
    { "swish", LRMLP_ACT_SILU },
    { "leaky", LRMLP_ACT_LEAKY_RELU },
};

LRMLP_API const char *lrmlp_activation_name(lrmlp_activation act)
{
    return lrmlp__enum_name(act_names, LRMLP_ACT_COUNT_, (int)act);
}

LRMLP_API int lrmlp_activation_from_name(const char *name, lrmlp_activation *out)
{
    if (!name || !out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_activation_from_name: %s is NULL",
                          !name ? "name" : "out");
    int i = lrmlp__enum_from_name(act_names, LRMLP_ACT_COUNT_, name);
    for (size_t a = 0; i < 0 && a < sizeof act_aliases / sizeof act_aliases[0]; a++) {
        const char *alias = act_aliases[a].name;
        if (lrmlp__enum_from_name(&alias, 1, name) == 0)
            i = (int)act_aliases[a].act;
    }
    if (i < 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_activation_from_name: unknown activation "
                          "'%s'", name);
    *out = (lrmlp_activation)i;
    return LRMLP_OK;
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
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "lrmlp_activation_eval: invalid activation or non-finite x");
    double z = x, d = 0;
    lrmlp__act_forward_f64(act, &z, &d, 1, 0, NULL);
    if (value)
        *value = z;
    if (derivative)
        *derivative = d;
    return LRMLP_OK;
}

#define LOSS_NAME_(name, value, str) [LRMLP_LOSS_##name] = str,
LRMLP__NAME_TABLE(loss_names, LRMLP_LOSS_MAP, LOSS_NAME_, LRMLP_LOSS_COUNT_);
#undef LOSS_NAME_

LRMLP_API const char *lrmlp_loss_name(lrmlp_loss loss)
{
    return lrmlp__enum_name(loss_names, LRMLP_LOSS_COUNT_, (int)loss);
}
