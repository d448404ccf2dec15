/* Row and batch copy-out and the constructors from caller memory, written
 * once and instantiated for float and double by dataset.c between
 * real_f32.h / real_f64.h and real_undef.h (REAL is the output and input
 * element type).
 *
 * The 8-wide inner loops of the kernels let GCC and Clang vectorize at -O2
 * without runtime alias checks; they are LRMLP_KERNELs (kernel.h). */

/* The members of the affine map, in REAL, that the u8 and float kernels
 * use. */
static inline const REAL *SFX(aff_scale)(const lrmlp_dataset *ds)
{
#if REAL_IS_F32
    return ds->scale_f;
#else
    return ds->scale;
#endif
}

static inline const REAL *SFX(aff_shift)(const lrmlp_dataset *ds)
{
#if REAL_IS_F32
    return ds->shift_f;
#else
    return ds->shift;
#endif
}

/* o = s * sc + sh, and o = s, from source elements TS: each goes through
 * TW, the affine map is computed in TC. */
#define DEF_AFFINE(NAME, TS, TW, TC)                                                      \
    LRMLP_KERNEL(NAME,                                                                     \
                 (REAL *restrict o, const TS *restrict s, const TC *restrict sc,          \
                  const TC *restrict sh, size_t d),                                        \
                 (o, s, sc, sh, d))                                                        \
    {                                                                                      \
        size_t j = 0;                                                                      \
        for (; j + 8 <= d; j += 8) {                                                       \
            TW t[8];                                                                       \
            for (size_t k = 0; k < 8; k++)                                                 \
                t[k] = s[j + k];                                                           \
            for (size_t k = 0; k < 8; k++)                                                 \
                o[j + k] = (REAL)((TC)t[k] * sc[j + k] + sh[j + k]);                       \
        }                                                                                  \
        for (; j < d; j++)                                                                 \
            o[j] = (REAL)((TC)s[j] * sc[j] + sh[j]);                                       \
    }
#define DEF_CONVERT(NAME, TS, TW)                                                         \
    LRMLP_KERNEL(NAME, (REAL *restrict o, const TS *restrict s, size_t d), (o, s, d))     \
    {                                                                                      \
        size_t j = 0;                                                                      \
        for (; j + 8 <= d; j += 8) {                                                       \
            TW t[8];                                                                       \
            for (size_t k = 0; k < 8; k++)                                                 \
                t[k] = s[j + k];                                                           \
            for (size_t k = 0; k < 8; k++)                                                 \
                o[j + k] = (REAL)t[k];                                                     \
        }                                                                                  \
        for (; j < d; j++)                                                                 \
            o[j] = (REAL)s[j];                                                             \
    }

/* Bytes and floats are scaled in REAL, doubles in double. cvt_f32 (for
 * floats) and cvt_f64 (for doubles) are plain copies where the types agree;
 * the callers take memcpy there instead. */
#if REAL_IS_F32
/* bytes to float are faster converted directly */
DEF_AFFINE(SFX(aff_u8), uint8_t, uint8_t, REAL)
#else
/* bytes to double go through int32 so that GCC finds vector types at -O2 */
DEF_AFFINE(SFX(aff_u8), uint8_t, int32_t, REAL)
#endif
DEF_AFFINE(SFX(aff_f32), float, float, REAL)
DEF_AFFINE(SFX(aff_f64), double, double, double)
#if REAL_IS_F32
DEF_CONVERT(SFX(cvt_u8), uint8_t, uint8_t)
#else
DEF_CONVERT(SFX(cvt_u8), uint8_t, int32_t)
#endif
DEF_CONVERT(SFX(cvt_f32), float, float)
DEF_CONVERT(SFX(cvt_f64), double, double)
#undef DEF_AFFINE
#undef DEF_CONVERT

/* Feature row r with every transform applied, as REAL. */
static void SFX(row)(const lrmlp_dataset *ds, size_t r, REAL *o)
{
    size_t d = ds->d;
    if (ds->storage == (REAL_IS_F32 ? ST_F32 : ST_F64) && !ds->scale) {
        memcpy(o, (const REAL *)ds->X + r * d, d * sizeof *o);
        return;
    }
    switch (ds->storage) {
    case ST_U8: {
        const uint8_t *s = (const uint8_t *)ds->X + r * d;
        if (ds->scale)
            SFX(aff_u8)(o, s, SFX(aff_scale)(ds), SFX(aff_shift)(ds), d);
        else
            SFX(cvt_u8)(o, s, d);
        break;
    }
    case ST_F32: {
        const float *s = (const float *)ds->X + r * d;
        if (ds->scale)
            SFX(aff_f32)(o, s, SFX(aff_scale)(ds), SFX(aff_shift)(ds), d);
        else
            SFX(cvt_f32)(o, s, d);
        break;
    }
    default: {
        const double *s = (const double *)ds->X + r * d;
        if (ds->scale)
            SFX(aff_f64)(o, s, ds->scale, ds->shift, d);
        else
            SFX(cvt_f64)(o, s, d);
        break;
    }
    }
}

/* The memory constructors: X (n x d) and, when given, T (n x n_targets) in
 * REAL; fn names the public function in messages. */
static int SFX(from_mem)(lrmlp_dataset **out, const REAL *X, size_t n, size_t d,
                        const int32_t *labels, size_t n_classes, const REAL *T, size_t n_targets,
                        const char *fn)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!X)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: X is NULL", fn);
    if (n == 0 || d == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: n = %zu and d = %zu must be positive",
                               fn, n, d);
    size_t nd, ndb, nt = 0, ntb = 0;
    if (!lrmlp__mul_ok(n, d, &nd) || !lrmlp__mul_ok(nd, sizeof(REAL), &ndb))
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: n x d = %zu x %zu is too large", fn, n,
                               d);
    if (labels && n_classes == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: labels given with n_classes = 0", fn);
    if (!labels && n_classes != 0)
        return lrmlp__err(LRMLP_ERR_INVALID,
                               "%s: n_classes = %zu given without labels", fn, n_classes);
    if (n_classes > (size_t)INT32_MAX)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: n_classes = %zu exceeds INT32_MAX", fn,
                               n_classes);
    if (T && n_targets == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: T given with n_targets = 0", fn);
    if (!T && n_targets != 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: n_targets = %zu given without T", fn,
                               n_targets);
    if (T && (!lrmlp__mul_ok(n, n_targets, &nt) || !lrmlp__mul_ok(nt, sizeof(REAL), &ntb)))
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: n x n_targets = %zu x %zu is too large",
                               fn, n, n_targets);

    size_t bad;
    if ((bad = SFX(lrmlp__first_nonfinite)(X, nd)) < nd)
        return lrmlp__err(LRMLP_ERR_NONFINITE,
                               "%s: X[%zu] (sample %zu, feature %zu) is not finite", fn, bad,
                               bad / d, bad % d);
    if (T && (bad = SFX(lrmlp__first_nonfinite)(T, nt)) < nt)
        return lrmlp__err(LRMLP_ERR_NONFINITE,
                               "%s: T[%zu] (sample %zu, target %zu) is not finite", fn, bad,
                               bad / n_targets, bad % n_targets);
    if (labels)
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
                return lrmlp__err(LRMLP_ERR_INVALID,
                                       "%s: labels[%zu] = %ld is outside [0, %zu)", fn, i,
                                       (long)labels[i], n_classes);

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    ds->n = n;
    ds->d = d;
    ds->storage = (REAL_IS_F32 ? ST_F32 : ST_F64);
    ds->dtype = REAL_DTYPE;
    ds->X = malloc(ndb);
    if (!ds->X)
        goto nomem;
    memcpy(ds->X, X, ndb);
    if (labels && lrmlp__dataset_set_labels(ds, labels, NULL, n_classes) != LRMLP_OK)
        goto nomem;
    if (T) {
        ds->T = malloc(ntb);
        if (!ds->T)
            goto nomem;
        memcpy(ds->T, T, ntb);
        ds->n_targets = n_targets;
    }
    *out = ds;
    return LRMLP_OK;
nomem:
    lrmlp_dataset_free(ds);
    return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu x %zu)", fn, n, d);
}

LRMLP_API int SFX(lrmlp_dataset_from_labels)(lrmlp_dataset **out, const REAL *X, size_t n,
                                            size_t d, const int32_t *labels, size_t n_classes)
{
    return SFX(from_mem)(out, X, n, d, labels, n_classes, NULL, 0, __func__);
}

LRMLP_API int SFX(lrmlp_dataset_from_targets)(lrmlp_dataset **out, const REAL *X, size_t n,
                                             size_t d, const REAL *T, size_t n_targets)
{
    return SFX(from_mem)(out, X, n, d, NULL, 0, T, n_targets, __func__);
}

LRMLP_API int SFX(lrmlp_dataset_batch)(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                      size_t count, REAL *X, REAL *T)
{
    int rc = batch_check(ds, idx, start, count, X, __func__, "X");
    if (rc != LRMLP_OK || count == 0)
        return rc;
    size_t d = ds->d, nc = ds->n_classes, nt = ds->n_targets;
    for (size_t i = 0; i < count; i++) {
        size_t r = idx ? idx[i] : start + i;
        SFX(row)(ds, r, X + i * d);
        if (!T)
            continue;
        if (nc) {
            REAL *t = T + i * nc;
            memset(t, 0, nc * sizeof *t);
            t[ds_label(ds, r)] = 1;
        } else if (nt) {
            if (ds->dtype == REAL_DTYPE)
                memcpy(T + i * nt, (const REAL *)ds->T + r * nt, nt * sizeof *T);
            else if (ds->dtype == LRMLP_F32)
                SFX(cvt_f32)(T + i * nt, (const float *)ds->T + r * nt, nt);
            else
                SFX(cvt_f64)(T + i * nt, (const double *)ds->T + r * nt, nt);
        }
    }
    return LRMLP_OK;
}

