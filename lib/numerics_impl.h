/* The per-precision helpers of numerics.c, instantiated between
 * real_f32.h / real_f64.h and real_undef.h. */

int SFX(lrmlp__all_finite)(const REAL *x, size_t n)
{
    REAL acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] - x[i];
    return acc == 0;
}

size_t SFX(lrmlp__first_nonfinite)(const REAL *x, size_t n)
{
    if (SFX(lrmlp__all_finite)(x, n))
        return n;
    size_t i = 0;
    while (i < n && isfinite(x[i]))
        i++;
    return i;
}

static size_t SFX(argmax)(const REAL *r, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (r[j] > r[best])
            best = j;
    return best;
}
