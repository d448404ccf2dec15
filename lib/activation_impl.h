/* Activation kernels, written once and instantiated for float and double by
 * activation.c between real_f32.h / real_f64.h and real_undef.h. Float
 * uses the library's own vectorizable tanh, exp (exp_kf) and normal CDF
 * (phi_kf) below; double uses libm, with erfc for the normal CDF. */

#if !REAL_IS_F32
/* exp(x) for double without a libm call, for |x| <= 708 (tanh_k needs
 * [0, 44]): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, with fdlibm's
 * split of ln2 (n ln2_hi exact for |n| < 2^11), e^r by its Taylor series to
 * degree 13 (truncation below 1e-17 relative) and 2^n assembled in the
 * exponent bits; n is read from the bits of x log2(e) + 1.5 * 2^52, so that
 * no float-to-integer conversion stops the loop from vectorizing. */
static inline double exp_kd(double x)
{
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double t = x * 1.4426950408889634 + magic;
    double n = t - magic;
    double r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t tb, mb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&mb, &magic, sizeof mb);
    uint64_t bits = (tb - mb + 1023) << 52; /* n + 1023 in [1, 2046] */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif

/* tanh: for float a [13/6] rational function (the Eigen/XLA approximation,
 * a few ulp); for double Cephes's rational function below |x| = 0.625 and
 * 1 - 2 / (e^2|x| + 1) above, with exp_kd (within 4 ulp of libm's tanh,
 * tests/test_activation.c). Both vectorize, where libm's tanh would cost a
 * call per element (1 s of a 5 s float64 epoch of 784-512-512-10). */
static inline REAL SFX(tanh_k)(REAL x)
{
#if REAL_IS_F32
    const REAL lim = (REAL)7.90531110763549805;
    REAL c = x > lim ? lim : (x < -lim ? -lim : x);
    REAL x2 = c * c;
    REAL p = (REAL)-2.76076847742355e-16;
    p = p * x2 + (REAL)2.00018790482477e-13;
    p = p * x2 + (REAL)-8.60467152213735e-11;
    p = p * x2 + (REAL)5.12229709037114e-08;
    p = p * x2 + (REAL)1.48572235717979e-05;
    p = p * x2 + (REAL)6.37261928875436e-04;
    p = p * x2 + (REAL)4.89352455891786e-03;
    p = p * c;
    REAL q = (REAL)1.19825839466702e-06;
    q = q * x2 + (REAL)1.18534705686654e-04;
    q = q * x2 + (REAL)2.26843463243900e-03;
    q = q * x2 + (REAL)4.89352518554385e-03;
    REAL r = p / q;
    /* Below 4e-4 tanh(x) = x to float precision; keeps tiny values exact. */
    return (x < (REAL)4e-4 && x > (REAL)-4e-4) ? x : r;
#else
    const double a = fabs(x), z = x * x;
    const double P = (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z -
                     1.61468768441708447952e3;
    const double Q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z +
                     4.84406305325125486048e3;
    const double small = x + x * z * (P / Q);
    /* tanh(22) is 1 to double precision; the clamp keeps exp_kd in range
     * (and sends NaN to 22: NaN is returned below) */
    const double e = exp_kd(2.0 * (a < 22.0 ? a : 22.0));
    const double big = copysign(1.0 - 2.0 / (e + 1.0), x);
    return x != x ? x : (a < 0.625 ? small : big);
#endif
}

#if REAL_IS_F32
/* exp(x) for float without a libm call, so that loops vectorize: Cody-Waite
 * reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r and
 * 2^n assembled in the exponent bits. About 2 ulp; inputs are clamped to
 * [-87.3, 88.7] (results from 1.2e-38 to 3.4e38; below, the true value is
 * subnormal or 0 and at most 1.2e-38 away). NaN gives NaN; the clamp sends
 * it to the bottom of the range first, so that the float-to-int conversion
 * below is always defined. */
static inline float exp_kf(float x)
{
    float x0 = x;
    x = x > -87.3f ? x : -87.3f; /* NaN too */
    x = x < 88.7f ? x : 88.7f;
    /* round to nearest with the 1.5 * 2^23 trick (no rint call) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f; /* ln2 high part, exact in float */
    r = r - n * 1.428606765330187045e-06f; /* ln2 low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* n + 127 in [1, 255] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x0 == x0 ? p * scale : x0;
}

/* The normal CDF Phi(x) for float, vectorizable, from the tail
 * Q(|x|) = phi(|x|) M(|x|): the Gaussian density phi times the Mills ratio
 * M, which is smooth and is fitted here as a degree-8 polynomial in
 * t = 1 / (1 + 0.3 |x|) (least squares on [0, 6.5]: 2.1e-8 relative in
 * exact arithmetic, 3.1e-7 evaluated in float). This needs one exponential
 * where an erfc formula needs two, and the Gaussian factor serves GELU's
 * derivative too. It is taken from x itself, not from a rounded x^2, with
 * x split as xh + xl (xh holding 12 bits, so xh^2 is exact): in float,
 * rounding x^2 would cost up to x^2 ulps of relative accuracy in the tail.
 * Beyond |x| = 6.5, where the fit ends, Phi is below 4e-11 from 0 or 1.
 * Beyond |x| = 9 the Gaussian factor is set to 0, so Phi is exactly 0 or 1
 * there (the true tail is below 1.2e-19) and GELU and its derivative are
 * within 1e-17 of theirs: left exact, these tiny values would turn
 * subnormal from |x| = 12.9 on, and subnormal activations (and their
 * products in the next layer's GEMM) slow x86 CPUs down several times. */
static inline float phi_kf(float x, float *gauss)
{
    float z = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3f * z);
    float m = 0.0793981254f;
    m = m * t - 0.337341219f;
    m = m * t + 0.381347924f;
    m = m * t + 0.0456898585f;
    m = m * t + 0.177537352f;
    m = m * t + 0.322466761f;
    m = m * t + 0.280983508f;
    m = m * t + 0.303488582f;
    m = m * t - 0.000256712665f;
    int32_t xb;
    memcpy(&xb, &x, sizeof xb);
    xb &= (int32_t)0xfffff000;
    float xh;
    memcpy(&xh, &xb, sizeof xh);
    /* exp(-x^2/2) = exp(-xh^2/2) exp(a), a = -xl (x + xh) / 2 with
     * |a| <= x^2 2^-12: a 4-term series for exp(a) errs by a^4/120, below
     * 1e-8 relative for |x| <= 10 (beyond, Phi is 0 or 1 in float). */
    float a = -0.5f * (x - xh) * (x + xh);
    float g = exp_kf(-0.5f * xh * xh) * (1.0f + a * (1.0f + a * (0.5f + a * (1.0f / 6.0f))));
    g = z > 9.0f ? 0.0f : g;
    *gauss = g;
    float tail = 0.39894228040143267794f * g * m;
    return x <= 0 ? tail : 1.0f - tail;
}
#endif

/* exp as the kernels use it */
static inline REAL SFX(exp_k)(REAL x)
{
#if REAL_IS_F32
    return exp_kf(x);
#else
    return R_EXP(x);
#endif
}

static inline REAL SFX(sigmoid_k)(REAL x)
{
    /* With e = exp(-|x|) (never overflows): 1 / (1 + e) for x >= 0 and
     * e / (1 + e) below; one exponential and one division, branch-free so
     * that the float loops vectorize. */
    REAL e = SFX(exp_k)(x < 0 ? x : -x);
    REAL r = 1 / (1 + e);
    return x >= 0 ? r : e * r;
}

/* x * s(x) for the gated activations (GELU, SiLU, GELU-tanh), whose gate s
 * vanishes as x -> -inf: the limit 0 there, not -inf * 0 = NaN (nor -inf
 * times float's smallest clamped exponential). */
static inline REAL SFX(gated_k)(REAL x, REAL s)
{
    return x == -(REAL)INFINITY ? 0 : x * s;
}

#define GELU_RSQRT2PI ((REAL)0.39894228040143267794)
#define GELU_SQRT2_PI ((REAL)0.79788456080286535588)
#define GELU_C ((REAL)0.044715)

LRMLP_KERNEL(SFX(tanh_loop), (REAL *restrict z, REAL *restrict d, size_t n), (z, d, n))
{
    if (d) {
        for (size_t i = 0; i < n; i++) {
            REAL t = SFX(tanh_k)(z[i]);
            z[i] = t;
            d[i] = 1 - t * t;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            z[i] = SFX(tanh_k)(z[i]);
    }
}

LRMLP_KERNEL(SFX(gelu_loop), (REAL *restrict z, REAL *restrict d, size_t n), (z, d, n))
{
    for (size_t i = 0; i < n; i++) {
        REAL x = z[i];
#if REAL_IS_F32
        /* the Gaussian factor of Phi serves the derivative too */
        float g;
        REAL cdf = phi_kf(x, &g);
        z[i] = SFX(gated_k)(x, cdf);
        if (d)
            d[i] = cdf + SFX(gated_k)(x, GELU_RSQRT2PI * g);
#else
        /* erfc keeps the tail accurate where 1 + erf would cancel */
        REAL cdf = (0.5 * erfc(-(x) * 0.70710678118654752440));
        z[i] = SFX(gated_k)(x, cdf);
        if (d)
            d[i] = cdf + SFX(gated_k)(x, GELU_RSQRT2PI * R_EXP((REAL)-0.5 * x * x));
#endif
    }
}

LRMLP_KERNEL(SFX(silu_loop), (REAL *restrict z, REAL *restrict d, size_t n), (z, d, n))
{
    for (size_t i = 0; i < n; i++) {
        REAL x = z[i];
        REAL s = SFX(sigmoid_k)(x);
        z[i] = SFX(gated_k)(x, s);
        if (d)
            d[i] = s + SFX(gated_k)(x, s * (1 - s));
    }
}

LRMLP_KERNEL(SFX(relu_loop), (REAL *restrict z, REAL *restrict d, size_t n, REAL slope),
             (z, d, n, slope))
{
    for (size_t i = 0; i < n; i++) {
        REAL x = z[i];
        int pos = x > 0;
        REAL y = slope * x; /* NaN for NaN, and for ReLU (slope 0) at -inf: 0 there */
        z[i] = pos ? x : (y == y || x != x ? y : 0);
        if (d)
            d[i] = pos ? (REAL)1 : slope;
    }
}

void SFX(lrmlp__act_forward)(lrmlp_activation act, REAL *z, REAL *d, size_t n, int training,
                            lrmlp_rng *rng)
{
    size_t i;
    switch (act) {
    case LRMLP_ACT_IDENTITY:
        if (d)
            for (i = 0; i < n; i++)
                d[i] = 1;
        return;
    case LRMLP_ACT_TANH:
        SFX(tanh_loop)(z, d, n);
        return;
    case LRMLP_ACT_SIGMOID:
        for (i = 0; i < n; i++) {
            REAL s = SFX(sigmoid_k)(z[i]);
            z[i] = s;
            if (d)
                d[i] = s * (1 - s);
        }
        return;
    case LRMLP_ACT_SOFTPLUS:
        for (i = 0; i < n; i++) {
            REAL x = z[i];
            /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable everywhere */
            REAL ax = x < 0 ? -x : x;
            z[i] = (x > 0 ? x : 0) + R_LOG1P(SFX(exp_k)(-ax));
            if (d)
                d[i] = SFX(sigmoid_k)(x);
        }
        return;
    case LRMLP_ACT_ELU:
        for (i = 0; i < n; i++) {
            REAL x = z[i];
            if (x > 0) {
                if (d)
                    d[i] = 1;
            } else {
                REAL e = R_EXPM1(x);
                z[i] = e;
                if (d)
                    d[i] = e + 1;
            }
        }
        return;
    case LRMLP_ACT_GELU:
        if (d)
            SFX(gelu_loop)(z, d, n);
        else
            SFX(gelu_loop)(z, NULL, n);
        return;
    case LRMLP_ACT_GELU_TANH:
        /* 0.5 (1 + tanh(u)) = sigmoid(2u): no cancellation for negative x. */
        for (i = 0; i < n; i++) {
            REAL x = z[i];
            REAL u = GELU_SQRT2_PI * (x + GELU_C * x * x * x);
            REAL s = SFX(sigmoid_k)(2 * u);
            z[i] = SFX(gated_k)(x, s);
            if (d)
                d[i] = s + SFX(gated_k)(x, 2 * s * (1 - s) * GELU_SQRT2_PI *
                                              (1 + 3 * GELU_C * x * x));
        }
        return;
    case LRMLP_ACT_SILU:
        SFX(silu_loop)(z, d, n);
        return;
    case LRMLP_ACT_RELU:
        SFX(relu_loop)(z, d, n, 0);
        return;
    case LRMLP_ACT_LEAKY_RELU:
        SFX(relu_loop)(z, d, n, (REAL)LRMLP_LEAKY_SLOPE);
        return;
    case LRMLP_ACT_RRELU:
        if (!training) {
            SFX(relu_loop)(z, d, n, (REAL)LRMLP_RRELU_MEAN);
            return;
        }
        for (i = 0; i < n; i++) {
            REAL x = z[i];
            if (x >= 0) {
                if (d)
                    d[i] = 1;
            } else {
                REAL a = (REAL)(LRMLP_RRELU_LOWER +
                                (LRMLP_RRELU_UPPER - LRMLP_RRELU_LOWER) *
                                    lrmlp__rng_uniform(rng));
                z[i] = a * x;
                if (d)
                    d[i] = a;
            }
        }
        return;
    default:
        return; /* callers validate act; never reached */
    }
}

#undef GELU_RSQRT2PI
#undef GELU_SQRT2_PI
#undef GELU_C
