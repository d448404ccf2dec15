/* Datasets: storage, IDX and CSV readers, standardization (a per-feature
 * affine map applied on copy-out), whitening, shuffling, splitting and the
 * batch copy-out used by every training step.
 *
 * Reference datasets: a dataset that standardizes or whitens itself
 * (reference NULL) remembers the transform it fitted (the last one of each
 * kind). Naming it later as reference for the same kind of call (same mode;
 * for whitening the same options) applies that remembered transform, so
 * "standardize(train); standardize(test, train)" and the reverse order give
 * the test set the same map. Otherwise the statistics come from the
 * reference's features as they are now (transforms applied). */
#include "dataset_internal.h"
#include "internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <zlib.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* The handle                                                               */

enum { ST_U8 = 0, ST_F32 = 1, ST_F64 = 2 };       /* feature storage */
enum { LAB_NONE = 0, LAB_U8 = 1, LAB_I32 = 2 };    /* label storage */

/* Largest number of elements an IDX file may claim. */
#define IDX_MAX_ELEMS ((uint64_t)1 << 31)
/* Rows per block when statistics or whitening walk the data as doubles. */
#define BLOCK_ROWS 1024

struct lrmlp_dataset {
    size_t n, d;
    lrmlp_dtype dtype;      /* precision: of T, of whitened features, of float input */
    int storage;            /* ST_*: element type of X */
    void *X;                /* n x d, row-major */
    size_t n_classes;       /* > 0: classification with labels */
    int lab_kind;           /* LAB_*: element type of labels */
    void *labels;           /* n class indices */
    size_t n_targets;       /* > 0: regression with targets */
    void *T;                /* n x n_targets of dtype */
    /* Affine map x * scale + shift per feature (NULL: identity). The double
     * arrays are the truth; the float copies feed the f32 copy-out. */
    double *scale, *shift;
    float *scale_f, *shift_f;
    /* Transforms fitted on this dataset's own statistics (reference NULL),
     * applied as they are to datasets that name this one as reference, so
     * that the order of the calls does not matter. NULL: none. */
    double *std_m, *std_s;  /* d: x -> (x - std_m) / std_s, in std_mode */
    int std_mode;
    double *wh_mu, *wh_W;   /* d and d x d: x -> W (x - mu) */
    lrmlp_whiten_options wh_opts;
    char errmsg[LRMLP_ERRMSG_LEN];
};

/* Sets a handle's message. Functions taking a const handle may report too:
 * the message buffer is the only thing they write. */
#define DS_ERR(ds, status, ...) \
    lrmlp__err(((lrmlp_dataset *)(uintptr_t)(ds))->errmsg, (status), __VA_ARGS__)

static size_t storage_size(int st)
{
    return st == ST_U8 ? 1 : st == ST_F32 ? sizeof(float) : sizeof(double);
}

static int dtype_storage(lrmlp_dtype dt) { return dt == LRMLP_F64 ? ST_F64 : ST_F32; }

static size_t label_size(int kind)
{
    return kind == LAB_U8 ? 1 : kind == LAB_I32 ? sizeof(int32_t) : 0;
}

static inline int32_t ds_label(const lrmlp_dataset *ds, size_t i)
{
    return ds->lab_kind == LAB_U8 ? (int32_t)((const uint8_t *)ds->labels)[i]
                                  : ((const int32_t *)ds->labels)[i];
}

LRMLP_API void lrmlp_dataset_free(lrmlp_dataset *ds)
{
    if (!ds)
        return;
    free(ds->X);
    free(ds->labels);
    free(ds->T);
    free(ds->scale);
    free(ds->shift);
    free(ds->scale_f);
    free(ds->shift_f);
    free(ds->std_m);
    free(ds->std_s);
    free(ds->wh_mu);
    free(ds->wh_W);
    free(ds);
}

LRMLP_API const char *lrmlp_dataset_errmsg(const lrmlp_dataset *ds)
{
    return ds ? ds->errmsg : "NULL dataset handle";
}

LRMLP_API size_t lrmlp_dataset_size(const lrmlp_dataset *ds) { return ds ? ds->n : 0; }
LRMLP_API size_t lrmlp_dataset_dim(const lrmlp_dataset *ds) { return ds ? ds->d : 0; }
LRMLP_API size_t lrmlp_dataset_n_classes(const lrmlp_dataset *ds)
{
    return ds ? ds->n_classes : 0;
}
LRMLP_API size_t lrmlp_dataset_target_dim(const lrmlp_dataset *ds)
{
    return ds ? (ds->n_classes ? ds->n_classes : ds->n_targets) : 0;
}

LRMLP_API size_t lrmlp_dataset_memory(const lrmlp_dataset *ds)
{
    if (!ds)
        return 0;
    size_t m = sizeof *ds;
    m += ds->n * ds->d * storage_size(ds->storage);
    m += ds->n * label_size(ds->lab_kind);
    m += ds->n * ds->n_targets * lrmlp__dtype_size(ds->dtype);
    if (ds->scale)
        m += ds->d * (2 * sizeof(double) + 2 * sizeof(float));
    if (ds->std_m)
        m += ds->d * 2 * sizeof(double);
    if (ds->wh_W)
        m += ds->d * (ds->d + 1) * sizeof(double);
    return m;
}

/* Allocates labels in the compact type for n_classes and fills them from
 * src (int32) or src8 (bytes). Values must already be in range. */
static int ds_set_labels(lrmlp_dataset *ds, const int32_t *src, const uint8_t *src8,
                         size_t n_classes)
{
    size_t n = ds->n;
    if (n_classes <= 256) {
        uint8_t *l = malloc(n);
        if (!l)
            return LRMLP_ERR_NOMEM;
        if (src8)
            memcpy(l, src8, n);
        else
            for (size_t i = 0; i < n; i++)
                l[i] = (uint8_t)src[i];
        ds->labels = l;
        ds->lab_kind = LAB_U8;
    } else {
        int32_t *l = malloc(n * sizeof *l);
        if (!l)
            return LRMLP_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            l[i] = src8 ? (int32_t)src8[i] : src[i];
        ds->labels = l;
        ds->lab_kind = LAB_I32;
    }
    ds->n_classes = n_classes;
    return LRMLP_OK;
}

/* ------------------------------------------------------------------------ */
/* Row conversion kernels. The 8-wide inner loops let GCC and Clang
 * vectorize at -O2 without runtime alias checks.                           */

#define DEF_AFFINE(NAME, TS, TO, TC)                                                      \
    static void NAME(TO *restrict o, const TS *restrict s, const TC *restrict sc,         \
                     const TC *restrict sh, size_t d)                                      \
    {                                                                                      \
        size_t j = 0;                                                                      \
        for (; j + 8 <= d; j += 8)                                                         \
            for (size_t k = 0; k < 8; k++)                                                 \
                o[j + k] = (TO)((TC)s[j + k] * sc[j + k] + sh[j + k]);                     \
        for (; j < d; j++)                                                                 \
            o[j] = (TO)((TC)s[j] * sc[j] + sh[j]);                                         \
    }
#define DEF_CONVERT(NAME, TS, TO)                                                         \
    static void NAME(TO *restrict o, const TS *restrict s, size_t d)                       \
    {                                                                                      \
        size_t j = 0;                                                                      \
        for (; j + 8 <= d; j += 8)                                                         \
            for (size_t k = 0; k < 8; k++)                                                 \
                o[j + k] = (TO)s[j + k];                                                   \
        for (; j < d; j++)                                                                 \
            o[j] = (TO)s[j];                                                               \
    }

DEF_AFFINE(aff_u8_f32, uint8_t, float, float)
DEF_AFFINE(aff_f32_f32, float, float, float)
DEF_AFFINE(aff_f32_f64, float, double, double)
DEF_AFFINE(aff_f64_f32, double, float, double)
DEF_AFFINE(aff_f64_f64, double, double, double)
DEF_CONVERT(cvt_u8_f32, uint8_t, float)

/* Bytes to double go through int32 so that GCC finds vector types at -O2. */
static void aff_u8_f64(double *restrict o, const uint8_t *restrict s,
                       const double *restrict sc, const double *restrict sh, size_t d)
{
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        int32_t t[8];
        for (size_t k = 0; k < 8; k++)
            t[k] = s[j + k];
        for (size_t k = 0; k < 8; k++)
            o[j + k] = (double)t[k] * sc[j + k] + sh[j + k];
    }
    for (; j < d; j++)
        o[j] = (double)s[j] * sc[j] + sh[j];
}

static void cvt_u8_f64(double *restrict o, const uint8_t *restrict s, size_t d)
{
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        int32_t t[8];
        for (size_t k = 0; k < 8; k++)
            t[k] = s[j + k];
        for (size_t k = 0; k < 8; k++)
            o[j + k] = (double)t[k];
    }
    for (; j < d; j++)
        o[j] = (double)s[j];
}
DEF_CONVERT(cvt_f32_f64, float, double)
DEF_CONVERT(cvt_f64_f32, double, float)

/* Feature row r with every transform applied, as float. */
static void row_f32(const lrmlp_dataset *ds, size_t r, float *o)
{
    size_t d = ds->d;
    switch (ds->storage) {
    case ST_U8: {
        const uint8_t *s = (const uint8_t *)ds->X + r * d;
        if (ds->scale)
            aff_u8_f32(o, s, ds->scale_f, ds->shift_f, d);
        else
            cvt_u8_f32(o, s, d);
        break;
    }
    case ST_F32: {
        const float *s = (const float *)ds->X + r * d;
        if (ds->scale)
            aff_f32_f32(o, s, ds->scale_f, ds->shift_f, d);
        else
            memcpy(o, s, d * sizeof *o);
        break;
    }
    default: {
        const double *s = (const double *)ds->X + r * d;
        if (ds->scale)
            aff_f64_f32(o, s, ds->scale, ds->shift, d);
        else
            cvt_f64_f32(o, s, d);
        break;
    }
    }
}

/* Feature row r with every transform applied, as double. */
static void row_f64(const lrmlp_dataset *ds, size_t r, double *o)
{
    size_t d = ds->d;
    switch (ds->storage) {
    case ST_U8: {
        const uint8_t *s = (const uint8_t *)ds->X + r * d;
        if (ds->scale)
            aff_u8_f64(o, s, ds->scale, ds->shift, d);
        else
            cvt_u8_f64(o, s, d);
        break;
    }
    case ST_F32: {
        const float *s = (const float *)ds->X + r * d;
        if (ds->scale)
            aff_f32_f64(o, s, ds->scale, ds->shift, d);
        else
            cvt_f32_f64(o, s, d);
        break;
    }
    default: {
        const double *s = (const double *)ds->X + r * d;
        if (ds->scale)
            aff_f64_f64(o, s, ds->scale, ds->shift, d);
        else
            memcpy(o, s, d * sizeof *o);
        break;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* Datasets from caller memory                                              */

static int all_finite_f32(const float *x, size_t count, size_t *bad)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) {
            *bad = i;
            return 0;
        }
    return 1;
}

static int all_finite_f64(const double *x, size_t count, size_t *bad)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) {
            *bad = i;
            return 0;
        }
    return 1;
}

/* st: ST_F32 or ST_F64 (X and T have that type). */
static int from_mem(lrmlp_dataset **out, const void *X, int st, size_t n, size_t d,
                    const int32_t *labels, size_t n_classes, const void *T, size_t n_targets,
                    const char *fn)
{
    if (!out)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!X)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: X is NULL", fn);
    if (n == 0 || d == 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: n = %zu and d = %zu must be positive",
                               fn, n, d);
    size_t nd, ndb, nt = 0, ntb = 0, es = storage_size(st);
    if (!lrmlp__mul_ok(n, d, &nd) || !lrmlp__mul_ok(nd, es, &ndb))
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: n x d = %zu x %zu is too large", fn, n,
                               d);
    if (labels && n_classes == 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: labels given with n_classes = 0", fn);
    if (!labels && n_classes != 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID,
                               "%s: n_classes = %zu given without labels", fn, n_classes);
    if (n_classes > (size_t)INT32_MAX)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: n_classes = %zu exceeds INT32_MAX", fn,
                               n_classes);
    if (T && n_targets == 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: T given with n_targets = 0", fn);
    if (!T && n_targets != 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: n_targets = %zu given without T", fn,
                               n_targets);
    if (T && (!lrmlp__mul_ok(n, n_targets, &nt) || !lrmlp__mul_ok(nt, es, &ntb)))
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: n x n_targets = %zu x %zu is too large",
                               fn, n, n_targets);

    size_t bad;
    if (st == ST_F32 ? !all_finite_f32(X, nd, &bad) : !all_finite_f64(X, nd, &bad))
        return lrmlp__last_err(LRMLP_ERR_NONFINITE,
                               "%s: X[%zu] (sample %zu, feature %zu) is not finite", fn, bad,
                               bad / d, bad % d);
    if (T && (st == ST_F32 ? !all_finite_f32(T, nt, &bad) : !all_finite_f64(T, nt, &bad)))
        return lrmlp__last_err(LRMLP_ERR_NONFINITE,
                               "%s: T[%zu] (sample %zu, target %zu) is not finite", fn, bad,
                               bad / n_targets, bad % n_targets);
    if (labels)
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
                return lrmlp__last_err(LRMLP_ERR_INVALID,
                                       "%s: labels[%zu] = %ld is outside [0, %zu)", fn, i,
                                       (long)labels[i], n_classes);

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    ds->n = n;
    ds->d = d;
    ds->storage = st;
    ds->dtype = st == ST_F64 ? LRMLP_F64 : LRMLP_F32;
    ds->X = malloc(ndb);
    if (!ds->X)
        goto nomem;
    memcpy(ds->X, X, ndb);
    if (labels && ds_set_labels(ds, labels, NULL, n_classes) != LRMLP_OK)
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
    return lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu x %zu)", fn, n, d);
}

LRMLP_API int lrmlp_dataset_from_labels_f32(lrmlp_dataset **out, const float *X, size_t n,
                                            size_t d, const int32_t *labels, size_t n_classes)
{
    return from_mem(out, X, ST_F32, n, d, labels, n_classes, NULL, 0,
                    "lrmlp_dataset_from_labels_f32");
}

LRMLP_API int lrmlp_dataset_from_labels_f64(lrmlp_dataset **out, const double *X, size_t n,
                                            size_t d, const int32_t *labels, size_t n_classes)
{
    return from_mem(out, X, ST_F64, n, d, labels, n_classes, NULL, 0,
                    "lrmlp_dataset_from_labels_f64");
}

LRMLP_API int lrmlp_dataset_from_targets_f32(lrmlp_dataset **out, const float *X, size_t n,
                                             size_t d, const float *T, size_t n_targets)
{
    return from_mem(out, X, ST_F32, n, d, NULL, 0, T, n_targets,
                    "lrmlp_dataset_from_targets_f32");
}

LRMLP_API int lrmlp_dataset_from_targets_f64(lrmlp_dataset **out, const double *X, size_t n,
                                             size_t d, const double *T, size_t n_targets)
{
    return from_mem(out, X, ST_F64, n, d, NULL, 0, T, n_targets,
                    "lrmlp_dataset_from_targets_f64");
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                      */

typedef struct idx_hdr {
    size_t count;       /* first dimension: samples */
    size_t dim;         /* product of the other dimensions */
    size_t hdr_len;     /* bytes before the data */
    size_t data_len;    /* count * dim bytes */
} idx_hdr;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Parses an IDX header from p[0..len). labels: expect magic 0x00000801,
 * else 0x0000080N with N >= 2 (count and at least one dimension). */
static int idx_header(const unsigned char *p, size_t len, int labels, const char *what,
                      idx_hdr *h)
{
    if (len < 4)
        return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: truncated IDX header (%zu bytes)", what,
                               len);
    uint32_t magic = be32(p);
    unsigned ndims = p[3];
    if (p[0] != 0 || p[1] != 0 || p[2] != 0x08 || (labels ? ndims != 1 : ndims < 2))
        return lrmlp__last_err(LRMLP_ERR_FORMAT,
                               "%s: bad IDX magic 0x%08lx (expected %s)", what,
                               (unsigned long)magic,
                               labels ? "0x00000801: u8 labels"
                                      : "0x0000080N, N >= 2: u8 images");
    size_t hl = 4 + 4 * (size_t)ndims;
    if (len < hl)
        return lrmlp__last_err(LRMLP_ERR_FORMAT,
                               "%s: truncated IDX header (%zu of %zu bytes)", what, len, hl);
    uint64_t count = be32(p + 4), dim = 1;
    if (count == 0)
        return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: IDX file holds no samples", what);
    for (unsigned k = 1; k < ndims; k++) {
        uint64_t s = be32(p + 4 + 4 * k);
        if (s == 0)
            return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: IDX dimension %u is 0", what, k);
        dim *= s;   /* both factors <= 2^32, and dim <= 2^31 before: no overflow */
        if (dim > IDX_MAX_ELEMS)
            return lrmlp__last_err(LRMLP_ERR_FORMAT,
                                   "%s: IDX sample size exceeds 2^31 elements", what);
    }
    if (count * dim > IDX_MAX_ELEMS)
        return lrmlp__last_err(LRMLP_ERR_FORMAT,
                               "%s: IDX claims %llu x %llu elements, more than 2^31", what,
                               (unsigned long long)count, (unsigned long long)dim);
    h->count = (size_t)count;
    h->dim = (size_t)dim;
    h->hdr_len = hl;
    h->data_len = (size_t)(count * dim);
    return LRMLP_OK;
}

static int idx_check_len(const idx_hdr *h, size_t len, const char *what)
{
    size_t have = len - h->hdr_len;
    if (have < h->data_len)
        return lrmlp__last_err(LRMLP_ERR_FORMAT,
                               "%s: truncated IDX data (%zu of %zu bytes)", what, have,
                               h->data_len);
    if (have > h->data_len)
        return lrmlp__last_err(LRMLP_ERR_FORMAT,
                               "%s: %zu trailing bytes after the IDX data", what,
                               have - h->data_len);
    return LRMLP_OK;
}

/* Validates the two files' bytes and builds the dataset. When adopt is not
 * NULL, *adopt is the malloc'ed buffer that holds img: its memory becomes
 * the feature storage (the header is moved out) and *adopt is set to NULL. */
static int idx_build(lrmlp_dataset **out, const unsigned char *img, size_t img_len,
                     const unsigned char *lab, size_t lab_len, unsigned char **adopt)
{
    idx_hdr hi = {0}, hl = {0};
    int rc = idx_header(img, img_len, 0, "images", &hi);
    if (rc == LRMLP_OK)
        rc = idx_check_len(&hi, img_len, "images");
    if (rc != LRMLP_OK)
        return rc;
    size_t n_classes = 0;
    if (lab) {
        rc = idx_header(lab, lab_len, 1, "labels", &hl);
        if (rc == LRMLP_OK)
            rc = idx_check_len(&hl, lab_len, "labels");
        if (rc != LRMLP_OK)
            return rc;
        if (hl.count != hi.count)
            return lrmlp__last_err(LRMLP_ERR_FORMAT,
                                   "label file has %zu labels, image file %zu images",
                                   hl.count, hi.count);
        const unsigned char *lv = lab + hl.hdr_len;
        for (size_t i = 0; i < hl.count; i++)
            if ((size_t)lv[i] + 1 > n_classes)
                n_classes = (size_t)lv[i] + 1;
    }

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_NOMEM, "lrmlp_dataset_load_idx: out of memory");
    ds->n = hi.count;
    ds->d = hi.dim;
    ds->storage = ST_U8;
    ds->dtype = LRMLP_F32;
    if (lab && ds_set_labels(ds, NULL, lab + hl.hdr_len, n_classes) != LRMLP_OK) {
        lrmlp_dataset_free(ds);
        return lrmlp__last_err(LRMLP_ERR_NOMEM, "lrmlp_dataset_load_idx: out of memory");
    }
    if (adopt) {
        unsigned char *buf = *adopt;
        memmove(buf, buf + hi.hdr_len, hi.data_len);
        unsigned char *shrunk = realloc(buf, hi.data_len);
        ds->X = shrunk ? shrunk : buf;
        *adopt = NULL;
    } else {
        ds->X = malloc(hi.data_len);
        if (!ds->X) {
            lrmlp_dataset_free(ds);
            return lrmlp__last_err(LRMLP_ERR_NOMEM,
                                   "lrmlp_dataset_load_idx: out of memory (%zu bytes)",
                                   hi.data_len);
        }
        memcpy(ds->X, img + hi.hdr_len, hi.data_len);
    }
    *out = ds;
    return LRMLP_OK;
}

int lrmlp__dataset_idx_from_mem(lrmlp_dataset **out, const void *img, size_t img_len,
                                const void *lab, size_t lab_len)
{
    if (!out)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "idx_from_mem: out is NULL");
    *out = NULL;
    if (!img)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "idx_from_mem: images buffer is NULL");
    return idx_build(out, img, img_len, lab, lab_len, NULL);
}

/* A status with "what: verb 'path': strerror(errno)" as the last error. */
static int errno_err(int status, const char *what, const char *verb, const char *path)
{
    char eb[128];
    int e = errno;
    if (strerror_r(e, eb, sizeof eb) != 0)
        snprintf(eb, sizeof eb, "errno %d", e);
    return lrmlp__last_err(status, "%s: %s '%s': %s", what, verb, path, eb);
}

/* A file read through zlib when it starts with the gzip magic, else
 * directly. */
typedef struct idx_reader {
    int fd;
    gzFile gz;
    const char *path, *what;
} idx_reader;

/* Reads up to len bytes; *got is how many arrived (fewer only at the end). */
static int rd_read(idx_reader *r, void *buf, size_t len, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30;
        if (r->gz) {
            int k = gzread(r->gz, p + *got, (unsigned)want);
            if (k < 0) {
                int zerr;
                const char *m = gzerror(r->gz, &zerr);
                if (zerr == Z_ERRNO)
                    return errno_err(LRMLP_ERR_IO, r->what, "reading", r->path);
                return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: corrupt gzip data in '%s': %s",
                                       r->what, r->path, m ? m : "unknown zlib error");
            }
            if (k == 0)
                break;
            *got += (size_t)k;
        } else {
            ssize_t k = read(r->fd, p + *got, want);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                return errno_err(LRMLP_ERR_IO, r->what, "reading", r->path);
            }
            if (k == 0)
                break;
            *got += (size_t)k;
        }
    }
    return LRMLP_OK;
}

/* Reads a whole IDX file (decompressed) into *buf_out. Memory grows only as
 * data actually arrives, and never past what a valid header allows. */
static int idx_read_file(const char *path, int labels, const char *what,
                         unsigned char **buf_out, size_t *len_out)
{
    *buf_out = NULL;
    idx_reader r = { -1, NULL, path, what };
    unsigned char *buf = NULL;
    int rc;
    r.fd = open(path, O_RDONLY);
    if (r.fd < 0)
        return errno_err(LRMLP_ERR_IO, what, "cannot open", path);
    struct stat st;
    unsigned char head[4 + 4 * 255];
    ssize_t k;
    do
        k = pread(r.fd, head, 2, 0);
    while (k < 0 && errno == EINTR);
    if (fstat(r.fd, &st) != 0 || k < 0) {
        rc = errno_err(LRMLP_ERR_IO, what, "reading", path);
        close(r.fd);
        return rc;
    }
    if (k == 2 && head[0] == 0x1f && head[1] == 0x8b) {
        r.gz = gzdopen(r.fd, "rb");
        if (!r.gz) {
            close(r.fd);
            return lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: cannot start zlib on '%s'", what,
                                   path);
        }
        gzbuffer(r.gz, 1u << 17);
    }

    /* Header: magic, then 4 bytes per dimension. */
    size_t got, hlen;
    idx_hdr h;
    rc = rd_read(&r, head, 4, &got);
    if (rc != LRMLP_OK)
        goto done;
    hlen = got == 4 ? 4 + 4 * (size_t)head[3] : got;
    if (got == 4 && hlen > 4) {
        rc = rd_read(&r, head + 4, hlen - 4, &got);
        if (rc != LRMLP_OK)
            goto done;
        hlen = 4 + got;
    }
    rc = idx_header(head, hlen, labels, what, &h);
    if (rc != LRMLP_OK)
        goto done;

    size_t total = h.hdr_len + h.data_len;
    size_t cap;
    if (!r.gz && S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size != (uintmax_t)total) {
            rc = (uintmax_t)st.st_size < (uintmax_t)total
                     ? lrmlp__last_err(LRMLP_ERR_FORMAT,
                                       "%s: '%s' is truncated: %zu bytes, header claims %zu",
                                       what, path, (size_t)st.st_size, total)
                     : lrmlp__last_err(LRMLP_ERR_FORMAT,
                                       "%s: '%s' has %zu trailing bytes after the IDX data",
                                       what, path, (size_t)st.st_size - total);
            goto done;
        }
        cap = total;
    } else {
        /* Unknown size: start from a guess and double as data arrives. */
        cap = (size_t)1 << 20;
        if (r.gz && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < (uintmax_t)(SIZE_MAX / 8))
            cap = (size_t)st.st_size * 4 > cap ? (size_t)st.st_size * 4 : cap;
        if (cap > total)
            cap = total;
    }
    buf = malloc(cap);
    if (!buf) {
        rc = lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, cap);
        goto done;
    }
    memcpy(buf, head, h.hdr_len);
    size_t len = h.hdr_len;
    for (;;) {
        rc = rd_read(&r, buf + len, cap - len, &got);
        if (rc != LRMLP_OK)
            goto done;
        len += got;
        if (len < cap || cap == total)
            break;
        size_t ncap = cap > total / 2 ? total : cap * 2;
        unsigned char *nb = realloc(buf, ncap);
        if (!nb) {
            rc = lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, ncap);
            goto done;
        }
        buf = nb;
        cap = ncap;
    }
    if (len < total) {
        rc = lrmlp__last_err(LRMLP_ERR_FORMAT,
                             "%s: '%s' is truncated: %zu of %zu bytes of IDX data", what, path,
                             len - h.hdr_len, h.data_len);
        goto done;
    }
    unsigned char probe;
    rc = rd_read(&r, &probe, 1, &got);
    if (rc == LRMLP_OK && got != 0)
        rc = lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: '%s' has trailing bytes after the IDX data",
                             what, path);
    if (rc == LRMLP_OK) {
        *buf_out = buf;
        *len_out = len;
        buf = NULL;
    }
done:
    free(buf);
    if (r.gz)
        gzclose(r.gz);   /* closes fd */
    else
        close(r.fd);
    return rc;
}

LRMLP_API int lrmlp_dataset_load_idx(lrmlp_dataset **out, const char *images_path,
                                     const char *labels_path)
{
    if (!out)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_dataset_load_idx: images_path is NULL");
    unsigned char *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0;
    int rc = idx_read_file(images_path, 0, "images", &img, &img_len);
    if (rc == LRMLP_OK && labels_path)
        rc = idx_read_file(labels_path, 1, "labels", &lab, &lab_len);
    if (rc == LRMLP_OK)
        rc = idx_build(out, img, img_len, lab, lab_len, &img);
    free(img);
    free(lab);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                      */

LRMLP_API int lrmlp_csv_options_init(lrmlp_csv_options *opts, unsigned int version)
{
    if (!opts)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_csv_options_init: opts is NULL");
    if (version != LRMLP_CSV_OPTIONS_VERSION)
        return lrmlp__last_err(LRMLP_ERR_VERSION,
                               "lrmlp_csv_options_init: unknown options version %u (this "
                               "library knows %u)",
                               version, (unsigned)LRMLP_CSV_OPTIONS_VERSION);
    lrmlp_csv_options d = LRMLP_CSV_OPTIONS_INIT;
    *opts = d;
    return LRMLP_OK;
}

enum { PN_OK = 0, PN_NONFINITE, PN_SYNTAX, PN_RANGE };

static int ci_equal(const char *s, size_t len, const char *lit)
{
    size_t i = 0;
    for (; i < len && lit[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return i == len && lit[i] == '\0';
}

/* Parses [+-]? (digits [. digits] | . digits) ([eE] [+-]? digits)? from
 * s[0..len), independently of the locale. Correctly rounded when the
 * significand has at most 15 digits and |exponent| <= 22 (the common case),
 * otherwise within about an ulp. nan/inf spellings give PN_NONFINITE,
 * magnitudes beyond DBL_MAX PN_RANGE, anything else malformed PN_SYNTAX. */
static int parse_number(const char *s, size_t len, double *out)
{
    static const double p10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (ci_equal(s + i, len - i, "nan") || ci_equal(s + i, len - i, "inf") ||
        ci_equal(s + i, len - i, "infinity"))
        return PN_NONFINITE;
    uint64_t m = 0;
    int nd = 0, any = 0;
    long e10 = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = 1;
        if (m == 0 && s[i] == '0')
            continue;
        if (nd < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            nd++;
        } else {
            e10++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = 1;
            if (m == 0 && s[i] == '0') {
                e10--;
            } else if (nd < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                nd++;
                e10--;
            }
        }
    }
    if (!any)
        return PN_SYNTAX;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        long ex = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= len || s[i] < '0' || s[i] > '9')
            return PN_SYNTAX;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (ex < 100000)
                ex = ex * 10 + (s[i] - '0');
        e10 += eneg ? -ex : ex;
    }
    if (i != len)
        return PN_SYNTAX;
    double v;
    if (m == 0) {
        v = 0.0;
    } else if (m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        v = e10 >= 0 ? (double)m * p10[e10] : (double)m / p10[-e10];
    } else if (e10 + nd > 310) {
        return PN_RANGE;
    } else if (e10 + nd < -330) {
        v = 0.0;
    } else {
        /* Scale in steps of the exact 1e22 so that no intermediate leaves
         * the range of the result, even where long double is double. */
        long double x = (long double)m;
        if (e10 >= 0) {
            for (; e10 > 22; e10 -= 22)
                x *= 1e22L;
            x *= (long double)p10[e10];
        } else {
            for (; e10 < -22; e10 += 22)
                x /= 1e22L;
            x /= (long double)p10[-e10];
        }
        v = (double)x;
        if (!isfinite(v))
            return PN_RANGE;
    }
    *out = neg ? -v : v;
    return PN_OK;
}

typedef struct csv_iter {
    const char *p, *end;
    size_t line_no;
} csv_iter;

/* Next line without its terminator ("\n" or "\r\n"). */
static int csv_next_line(csv_iter *it, const char **ls, size_t *ll)
{
    if (it->p >= it->end)
        return 0;
    const char *s = it->p;
    const char *nl = memchr(s, '\n', (size_t)(it->end - s));
    const char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    if (e > s && e[-1] == '\r')
        e--;
    it->line_no++;
    *ls = s;
    *ll = (size_t)(e - s);
    return 1;
}

static int csv_is_space(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

static int csv_blank(const char *s, size_t len, char delim)
{
    for (size_t i = 0; i < len; i++)
        if (!csv_is_space(s[i], delim))
            return 0;
    return 1;
}

static int csv_bad_delim(char c)
{
    return c == '\0' || c == '\n' || c == '\r' || c == '.' || c == '+' || c == '-' ||
           c == 'e' || c == 'E' || (c >= '0' && c <= '9');
}

int lrmlp__dataset_csv_from_mem(lrmlp_dataset **out, const char *text, size_t len,
                                const lrmlp_csv_options *opts)
{
    static const char fn[] = "lrmlp_dataset_load_csv";
    if (!out)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!text && len)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: text is NULL", fn);
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    if (opts) {
        if (opts->version != LRMLP_CSV_OPTIONS_VERSION)
            return lrmlp__last_err(LRMLP_ERR_VERSION, "%s: unknown options version %u", fn,
                                   opts->version);
        o = *opts;
    }
    if (csv_bad_delim(o.delimiter))
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: delimiter 0x%02x is not usable", fn,
                               (unsigned)(unsigned char)o.delimiter);
    if (o.dtype != LRMLP_F32 && o.dtype != LRMLP_F64)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: dtype %d is not LRMLP_F32 or LRMLP_F64",
                               fn, (int)o.dtype);
    if (o.label_column < -1)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: label_column %ld is not >= -1", fn,
                               o.label_column);
    if (o.label_column >= 0 && o.n_targets != 0)
        return lrmlp__last_err(LRMLP_ERR_INVALID,
                               "%s: n_targets = %zu needs label_column = -1", fn, o.n_targets);
    const char delim = o.delimiter;

    /* Pass 1: rows and columns; every data line has the same field count. */
    csv_iter it = { text, text + len, 0 };
    const char *ls;
    size_t ll, n = 0, ncols = 0, first_line = 0;
    while (csv_next_line(&it, &ls, &ll)) {
        if ((it.line_no == 1 && o.has_header) || csv_blank(ls, ll, delim))
            continue;
        size_t f = 1;
        for (size_t i = 0; i < ll; i++)
            f += ls[i] == delim;
        if (ncols == 0) {
            ncols = f;
            first_line = it.line_no;
        } else if (f != ncols) {
            return lrmlp__last_err(LRMLP_ERR_FORMAT,
                                   "%s: line %zu has %zu fields, line %zu has %zu", fn,
                                   it.line_no, f, first_line, ncols);
        }
        n++;
    }
    if (n == 0)
        return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: no data rows", fn);

    size_t d, nt = 0, label_col = SIZE_MAX;
    if (o.label_column >= 0) {
        if ((size_t)o.label_column >= ncols)
            return lrmlp__last_err(LRMLP_ERR_INVALID,
                                   "%s: label_column %ld, but the rows have %zu fields", fn,
                                   o.label_column, ncols);
        label_col = (size_t)o.label_column;
        d = ncols - 1;
    } else {
        nt = o.n_targets;
        if (nt >= ncols)
            return lrmlp__last_err(LRMLP_ERR_INVALID,
                                   "%s: n_targets = %zu leaves no feature in %zu fields", fn,
                                   nt, ncols);
        d = ncols - nt;
    }
    if (d == 0)
        return lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: rows have no feature column", fn);

    int st = dtype_storage(o.dtype);
    size_t es = storage_size(st), nd, ndb, ntb = 0;
    if (!lrmlp__mul_ok(n, d, &nd) || !lrmlp__mul_ok(nd, es, &ndb) ||
        !lrmlp__mul_ok(n, nt, &ntb) || !lrmlp__mul_ok(ntb, es, &ntb))
        return lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: %zu x %zu is too large", fn, n, ncols);

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    int32_t *lab = NULL;
    int rc = LRMLP_OK;
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    ds->n = n;
    ds->d = d;
    ds->storage = st;
    ds->dtype = o.dtype;
    ds->X = malloc(ndb);
    if (nt) {
        ds->T = malloc(ntb);
        ds->n_targets = nt;
    }
    if (label_col != SIZE_MAX)
        lab = malloc(n * sizeof *lab);
    if (!ds->X || (nt && !ds->T) || (label_col != SIZE_MAX && !lab)) {
        rc = lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu x %zu)", fn, n, ncols);
        goto fail;
    }

    /* Pass 2: the values. */
    it.p = text;
    it.line_no = 0;
    size_t row = 0, max_label = 0;
    while (csv_next_line(&it, &ls, &ll)) {
        if ((it.line_no == 1 && o.has_header) || csv_blank(ls, ll, delim))
            continue;
        const char *p = ls, *e = ls + ll;
        size_t fi = 0;
        for (size_t c = 0; c < ncols; c++) {
            const char *fe = memchr(p, delim, (size_t)(e - p));
            if (!fe)
                fe = e;
            const char *a = p, *b = fe;
            while (a < b && csv_is_space(*a, delim))
                a++;
            while (b > a && csv_is_space(b[-1], delim))
                b--;
            double v = 0.0;
            int pr = parse_number(a, (size_t)(b - a), &v);
            int tl = (int)((b - a) > 40 ? 40 : (b - a));
            if (pr == PN_NONFINITE || pr == PN_RANGE) {
                rc = lrmlp__last_err(LRMLP_ERR_NONFINITE,
                                     "%s: line %zu, column %zu: '%.*s' is not a finite number",
                                     fn, it.line_no, c + 1, tl, a);
                goto fail;
            }
            if (pr != PN_OK) {
                rc = lrmlp__last_err(LRMLP_ERR_FORMAT,
                                     "%s: line %zu, column %zu: '%.*s' is not a number", fn,
                                     it.line_no, c + 1, tl, a);
                goto fail;
            }
            if (c == label_col) {
                if (!(v >= 0.0 && v <= (double)(INT32_MAX - 1) && v == floor(v))) {
                    rc = lrmlp__last_err(LRMLP_ERR_FORMAT,
                                         "%s: line %zu, column %zu: label '%.*s' is not a "
                                         "non-negative integer",
                                         fn, it.line_no, c + 1, tl, a);
                    goto fail;
                }
                lab[row] = (int32_t)v;
                if ((size_t)lab[row] > max_label)
                    max_label = (size_t)lab[row];
            } else {
                void *dst;
                size_t k;
                if (nt && c >= ncols - nt) {
                    dst = ds->T;
                    k = row * nt + (c - (ncols - nt));
                } else {
                    dst = ds->X;
                    k = row * d + fi++;
                }
                if (st == ST_F32) {
                    float f = (float)v;
                    if (!isfinite(f)) {
                        rc = lrmlp__last_err(LRMLP_ERR_NONFINITE,
                                             "%s: line %zu, column %zu: '%.*s' overflows float",
                                             fn, it.line_no, c + 1, tl, a);
                        goto fail;
                    }
                    ((float *)dst)[k] = f;
                } else {
                    ((double *)dst)[k] = v;
                }
            }
            p = fe + 1;
        }
        row++;
    }
    if (lab && ds_set_labels(ds, lab, NULL, max_label + 1) != LRMLP_OK) {
        rc = lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    free(lab);
    *out = ds;
    return LRMLP_OK;
fail:
    free(lab);
    lrmlp_dataset_free(ds);
    return rc;
}

LRMLP_API int lrmlp_dataset_load_csv(lrmlp_dataset **out, const char *path,
                                     const lrmlp_csv_options *opts)
{
    static const char fn[] = "lrmlp_dataset_load_csv";
    if (!out)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!path)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: path is NULL", fn);
    if (opts && opts->version != LRMLP_CSV_OPTIONS_VERSION)
        return lrmlp__last_err(LRMLP_ERR_VERSION, "%s: unknown options version %u", fn,
                               opts->version);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno_err(LRMLP_ERR_IO, fn, "cannot open", path);
    size_t cap = (size_t)1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = LRMLP_OK;
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        size_t ncap;
        char *nb = lrmlp__mul_ok(cap, 2, &ncap) ? realloc(buf, ncap) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap = ncap;
    }
    if (!buf)
        rc = lrmlp__last_err(LRMLP_ERR_NOMEM, "%s: out of memory reading '%s'", fn, path);
    else if (ferror(f))
        rc = errno_err(LRMLP_ERR_IO, fn, "reading", path);
    else if (len == 0)
        rc = lrmlp__last_err(LRMLP_ERR_FORMAT, "%s: '%s' is empty", fn, path);
    else
        rc = lrmlp__dataset_csv_from_mem(out, buf, len, opts);
    fclose(f);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Standardization                                                          */

/* Per-feature mean and population variance of ds's features with its
 * transforms applied, in double. cst[j] = 1 when feature j is constant. */
static int feature_stats(const lrmlp_dataset *ds, double *mean, double *var, unsigned char *cst)
{
    size_t n = ds->n, d = ds->d;
    double *row = malloc(d * sizeof *row);
    double *first = malloc(d * sizeof *first);
    if (!row || !first) {
        free(row);
        free(first);
        return LRMLP_ERR_NOMEM;
    }
    for (size_t j = 0; j < d; j++) {
        mean[j] = 0.0;
        var[j] = 0.0;
        cst[j] = 1;
    }
    row_f64(ds, 0, first);
    for (size_t i = 0; i < n; i++) {
        row_f64(ds, i, row);
        for (size_t j = 0; j < d; j++) {
            mean[j] += row[j];
            cst[j] &= (unsigned char)(row[j] == first[j]);
        }
    }
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        row_f64(ds, i, row);
        for (size_t j = 0; j < d; j++) {
            double t = row[j] - mean[j];
            var[j] += t * t;
        }
    }
    for (size_t j = 0; j < d; j++)
        var[j] = cst[j] ? 0.0 : var[j] / (double)n;
    free(row);
    free(first);
    return LRMLP_OK;
}

/* Replaces ds's affine map by x -> (x * scale + shift - m) / s, composed
 * with the current one. m and s have d entries. */
static int compose_affine(lrmlp_dataset *ds, const double *m, const double *s)
{
    size_t d = ds->d;
    double *sc = malloc(d * sizeof *sc), *sh = malloc(d * sizeof *sh);
    float *scf = malloc(d * sizeof *scf), *shf = malloc(d * sizeof *shf);
    if (!sc || !sh || !scf || !shf) {
        free(sc);
        free(sh);
        free(scf);
        free(shf);
        return LRMLP_ERR_NOMEM;
    }
    for (size_t j = 0; j < d; j++) {
        double a = ds->scale ? ds->scale[j] : 1.0, b = ds->scale ? ds->shift[j] : 0.0;
        sc[j] = a / s[j];
        sh[j] = (b - m[j]) / s[j];
        scf[j] = (float)sc[j];
        shf[j] = (float)sh[j];
    }
    free(ds->scale);
    free(ds->shift);
    free(ds->scale_f);
    free(ds->shift_f);
    ds->scale = sc;
    ds->shift = sh;
    ds->scale_f = scf;
    ds->shift_f = shf;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_dataset_standardize(lrmlp_dataset *ds, lrmlp_standardize_mode mode,
                                        const lrmlp_dataset *reference)
{
    static const char fn[] = "lrmlp_dataset_standardize";
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    if (mode != LRMLP_STANDARDIZE_GLOBAL && mode != LRMLP_STANDARDIZE_FEATURE)
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: unknown mode %d", fn, (int)mode);
    const lrmlp_dataset *ref = reference ? reference : ds;
    if (ref->d != ds->d)
        return DS_ERR(ds, LRMLP_ERR_SHAPE, "%s: reference has %zu features, dataset %zu", fn,
                      ref->d, ds->d);
    size_t d = ds->d;
    int self = ref == ds;
    int reuse = !self && ref->std_m && ref->std_mode == (int)mode;
    double *mean = malloc(d * sizeof *mean), *sd = malloc(d * sizeof *sd);
    unsigned char *cst = reuse ? NULL : malloc(d);
    int rc = LRMLP_ERR_NOMEM;
    if (mean && sd && reuse) {
        /* The reference standardized itself: apply the same map. */
        memcpy(mean, ref->std_m, d * sizeof *mean);
        memcpy(sd, ref->std_s, d * sizeof *sd);
        rc = LRMLP_OK;
    } else if (mean && sd && cst) {
        rc = feature_stats(ref, mean, sd, cst);
        if (rc == LRMLP_OK && mode == LRMLP_STANDARDIZE_GLOBAL) {
            /* Pooled over all features: each feature has n values. */
            double gm = 0.0, gv = 0.0;
            int all_const = 1;
            for (size_t j = 0; j < d; j++)
                gm += mean[j];
            gm /= (double)d;
            for (size_t j = 0; j < d; j++) {
                double t = mean[j] - gm;
                gv += sd[j] + t * t;
                all_const &= cst[j] && t == 0.0;
            }
            gv /= (double)d;
            double gs = all_const || !(gv > 0.0) ? 1.0 : sqrt(gv);
            for (size_t j = 0; j < d; j++) {
                mean[j] = gm;
                sd[j] = gs;
            }
        } else if (rc == LRMLP_OK) {
            for (size_t j = 0; j < d; j++)
                sd[j] = cst[j] || !(sd[j] > 0.0) ? 1.0 : sqrt(sd[j]);
        }
    }
    if (rc == LRMLP_OK)
        rc = compose_affine(ds, mean, sd);
    if (rc == LRMLP_OK && self) {
        /* Remember the fit for datasets that name this one as reference. */
        free(ds->std_m);
        free(ds->std_s);
        ds->std_m = mean;
        ds->std_s = sd;
        ds->std_mode = (int)mode;
        mean = sd = NULL;
    }
    free(mean);
    free(sd);
    free(cst);
    if (rc != LRMLP_OK)
        return DS_ERR(ds, rc, "%s: out of memory", fn);
    return LRMLP_OK;
}

/* ------------------------------------------------------------------------ */
/* Whitening                                                                */

LRMLP_API int lrmlp_whiten_options_init(lrmlp_whiten_options *opts, unsigned int version)
{
    if (!opts)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_whiten_options_init: opts is NULL");
    if (version != LRMLP_WHITEN_OPTIONS_VERSION)
        return lrmlp__last_err(LRMLP_ERR_VERSION,
                               "lrmlp_whiten_options_init: unknown options version %u (this "
                               "library knows %u)",
                               version, (unsigned)LRMLP_WHITEN_OPTIONS_VERSION);
    lrmlp_whiten_options d = LRMLP_WHITEN_OPTIONS_INIT;
    *opts = d;
    return LRMLP_OK;
}

/* Rows [r0, r0 + rows) with transforms applied, minus mu when not NULL. */
static void block_f64(const lrmlp_dataset *ds, size_t r0, size_t rows, const double *mu,
                      double *B)
{
    size_t d = ds->d;
    for (size_t i = 0; i < rows; i++) {
        double *b = B + i * d;
        row_f64(ds, r0 + i, b);
        if (mu)
            for (size_t j = 0; j < d; j++)
                b[j] -= mu[j];
    }
}

/* Computes the whitening matrix W (d x d, row-major: y = W (x - mu)) and mu
 * (zero without centering) from ref. B is a BLOCK_ROWS x d workspace. */
static int whiten_matrix(const lrmlp_dataset *ref, const lrmlp_whiten_options *o, double *W,
                         double *mu, double *B, char *errbuf)
{
    static const char fn[] = "lrmlp_dataset_whiten";
    size_t n = ref->n, d = ref->d;
    double *C = calloc(d * d, sizeof *C), *w = malloc(d * sizeof *w);
    double *G = malloc(d * d * sizeof *G);
    int rc = LRMLP_OK;
    if (!C || !w || !G) {
        rc = lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "%s: out of memory (d = %zu)", fn, d);
        goto done;
    }
    memset(mu, 0, d * sizeof *mu);
    if (o->center) {
        for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
            size_t rows = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
            block_f64(ref, r0, rows, NULL, B);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < d; j++)
                    mu[j] += B[i * d + j];
        }
        for (size_t j = 0; j < d; j++)
            mu[j] /= (double)n;
    }
    /* Covariance (second moment about mu) / n, upper triangle. */
    for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
        size_t rows = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
        block_f64(ref, r0, rows, o->center ? mu : NULL, B);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows, 1.0 / (double)n,
                    B, (int)d, 1.0, C, (int)d);
    }
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, C,
                                     (lapack_int)d, w);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        rc = lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "%s: out of memory in LAPACKE_dsyevd", fn);
        goto done;
    }
    if (info != 0) {
        rc = lrmlp__err(errbuf, LRMLP_ERR_LINALG, "%s: LAPACKE_dsyevd failed (info = %d)", fn,
                        (int)info);
        goto done;
    }
    /* Eigenvalues ascend; C's columns are the eigenvectors. */
    double lmax = w[d - 1];
    if (!isfinite(lmax) || !isfinite(w[0])) {
        rc = lrmlp__err(errbuf, LRMLP_ERR_LINALG, "%s: non-finite eigenvalue", fn);
        goto done;
    }
    double tol = lmax > 0.0 ? lmax * (double)d * DBL_EPSILON : 0.0;
    if (o->eps == 0.0 && !(w[0] > tol)) {
        size_t bad = 0;
        while (bad < d && !(w[bad] > tol))
            bad++;
        rc = lrmlp__err(errbuf, LRMLP_ERR_LINALG,
                        "%s: covariance is singular (%zu of %zu eigenvalues <= %g, from %zu "
                        "samples); use eps > 0",
                        fn, bad, d, tol, n);
        goto done;
    }
    double post = o->unit_sum ? 1.0 / sqrt((double)n) : 1.0;
    for (size_t k = 0; k < d; k++) {
        /* Fix each eigenvector's sign: largest component positive. */
        size_t arg = 0;
        for (size_t i = 1; i < d; i++)
            if (fabs(C[i * d + k]) > fabs(C[arg * d + k]))
                arg = i;
        double sgn = C[arg * d + k] < 0.0 ? -1.0 : 1.0;
        double f = sgn * post / sqrt((w[k] > 0.0 ? w[k] : 0.0) + o->eps);
        for (size_t i = 0; i < d; i++)
            G[i * d + k] = C[i * d + k] * f;     /* G = E D^-1/2 (signed) */
        if (sgn < 0.0)
            for (size_t i = 0; i < d; i++)
                C[i * d + k] = -C[i * d + k];
    }
    if (o->mode == LRMLP_WHITEN_PCA) {
        /* Row r of W: the eigenvector of the r-th largest eigenvalue, scaled. */
        for (size_t k = 0; k < d; k++)
            for (size_t i = 0; i < d; i++)
                W[(d - 1 - k) * d + i] = G[i * d + k];
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)d, 1.0, G,
                    (int)d, C, (int)d, 0.0, W, (int)d);
        for (size_t i = 0; i < d; i++)
            for (size_t j = i + 1; j < d; j++) {
                double a = 0.5 * (W[i * d + j] + W[j * d + i]);
                W[i * d + j] = a;
                W[j * d + i] = a;
            }
    }
    for (size_t i = 0; i < d * d; i++)
        if (!isfinite(W[i])) {
            rc = lrmlp__err(errbuf, LRMLP_ERR_LINALG, "%s: whitening matrix is not finite", fn);
            goto done;
        }
done:
    free(C);
    free(w);
    free(G);
    return rc;
}

LRMLP_API int lrmlp_dataset_whiten(lrmlp_dataset *ds, const lrmlp_whiten_options *opts,
                                   const lrmlp_dataset *reference)
{
    static const char fn[] = "lrmlp_dataset_whiten";
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    lrmlp_whiten_options o = LRMLP_WHITEN_OPTIONS_INIT;
    if (opts) {
        if (opts->version != LRMLP_WHITEN_OPTIONS_VERSION)
            return DS_ERR(ds, LRMLP_ERR_VERSION, "%s: unknown options version %u", fn,
                          opts->version);
        o = *opts;
    }
    if (o.mode != LRMLP_WHITEN_PCA && o.mode != LRMLP_WHITEN_ZCA)
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: unknown mode %d", fn, (int)o.mode);
    if (!(o.eps >= 0.0) || !isfinite(o.eps))
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: eps = %g must be finite and >= 0", fn, o.eps);
    const lrmlp_dataset *ref = reference ? reference : ds;
    if (ref->d != ds->d)
        return DS_ERR(ds, LRMLP_ERR_SHAPE, "%s: reference has %zu features, dataset %zu", fn,
                      ref->d, ds->d);
    size_t n = ds->n, d = ds->d, dd, nd, ndb, blk;
    size_t brows = ref->n > n ? ref->n : n;
    if (brows > BLOCK_ROWS)
        brows = BLOCK_ROWS;
    if (d > (size_t)INT_MAX || !lrmlp__mul_ok(d, d, &dd) || !lrmlp__mul_ok(dd, 8, &dd) ||
        !lrmlp__mul_ok(n, d, &nd) || !lrmlp__mul_ok(nd, sizeof(double), &ndb) ||
        !lrmlp__mul_ok(d, sizeof(double) * brows, &blk))
        return DS_ERR(ds, LRMLP_ERR_NOMEM, "%s: %zu x %zu is too large", fn, n, d);
    int st = dtype_storage(ds->dtype);
    double *W = malloc(d * d * sizeof *W), *mu = malloc(d * sizeof *mu);
    double *B = malloc(blk), *Y = malloc(blk);
    void *X = malloc(st == ST_F64 ? ndb : nd * sizeof(float));
    int rc = LRMLP_OK;
    if (!W || !mu || !B || !Y || !X) {
        rc = DS_ERR(ds, LRMLP_ERR_NOMEM, "%s: out of memory (%zu x %zu)", fn, n, d);
        goto done;
    }
    o.center = o.center != 0;
    o.unit_sum = o.unit_sum != 0;
    int self = ref == ds;
    const lrmlp_whiten_options *ro = &ref->wh_opts;
    if (!self && ref->wh_W && ro->mode == o.mode && ro->eps == o.eps &&
        ro->center == o.center && ro->unit_sum == o.unit_sum) {
        /* The reference whitened itself with these options: same transform. */
        memcpy(W, ref->wh_W, d * d * sizeof *W);
        memcpy(mu, ref->wh_mu, d * sizeof *mu);
    } else {
        rc = whiten_matrix(ref, &o, W, mu, B, ds->errmsg);
        if (rc != LRMLP_OK)
            goto done;
    }
    for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
        size_t rows = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
        block_f64(ds, r0, rows, o.center ? mu : NULL, B);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)d, (int)d, 1.0, B,
                    (int)d, W, (int)d, 0.0, Y, (int)d);
        size_t cnt = rows * d;
        if (st == ST_F32) {
            float *x = (float *)X + r0 * d;
            for (size_t k = 0; k < cnt; k++)
                x[k] = (float)Y[k];
        } else {
            memcpy((double *)X + r0 * d, Y, cnt * sizeof *Y);
        }
    }
    free(ds->X);
    free(ds->scale);
    free(ds->shift);
    free(ds->scale_f);
    free(ds->shift_f);
    ds->X = X;
    X = NULL;
    ds->storage = st;
    ds->scale = ds->shift = NULL;
    ds->scale_f = ds->shift_f = NULL;
    if (self) {
        /* Remember the fit for datasets that name this one as reference. */
        free(ds->wh_W);
        free(ds->wh_mu);
        ds->wh_W = W;
        ds->wh_mu = mu;
        ds->wh_opts = o;
        W = mu = NULL;
    }
done:
    free(W);
    free(mu);
    free(B);
    free(Y);
    free(X);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Shuffle and split                                                        */

static void swap_bytes(unsigned char *a, unsigned char *b, size_t len)
{
    unsigned char tmp[256];
    while (len) {
        size_t c = len < sizeof tmp ? len : sizeof tmp;
        memcpy(tmp, a, c);
        memcpy(a, b, c);
        memcpy(b, tmp, c);
        a += c;
        b += c;
        len -= c;
    }
}

LRMLP_API int lrmlp_dataset_shuffle(lrmlp_dataset *ds, uint64_t seed)
{
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_dataset_shuffle: dataset is NULL");
    lrmlp_rng rng;
    lrmlp__rng_seed(&rng, seed);
    size_t xr = ds->d * storage_size(ds->storage);
    size_t lr = label_size(ds->lab_kind);
    size_t tr = ds->n_targets * lrmlp__dtype_size(ds->dtype);
    unsigned char *X = ds->X, *L = ds->labels, *T = ds->T;
    for (size_t i = ds->n; i-- > 1;) {
        size_t j = (size_t)lrmlp__rng_below(&rng, (uint64_t)i + 1);
        if (j == i)
            continue;
        swap_bytes(X + i * xr, X + j * xr, xr);
        if (L)
            swap_bytes(L + i * lr, L + j * lr, lr);
        if (T)
            swap_bytes(T + i * tr, T + j * tr, tr);
    }
    return LRMLP_OK;
}

static double *dup_doubles(const double *p, size_t count)
{
    double *q = malloc(count * sizeof *q);
    if (q)
        memcpy(q, p, count * sizeof *q);
    return q;
}

/* Deep copy of samples [r0, r0 + cnt) with ds's transforms (and the fits
 * it remembers). */
static lrmlp_dataset *ds_subset(const lrmlp_dataset *ds, size_t r0, size_t cnt)
{
    lrmlp_dataset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t xr = ds->d * storage_size(ds->storage);
    size_t lr = label_size(ds->lab_kind);
    size_t tr = ds->n_targets * lrmlp__dtype_size(ds->dtype);
    size_t d = ds->d;
    *s = *ds;
    s->n = cnt;
    s->X = s->labels = s->T = NULL;
    s->scale = s->shift = NULL;
    s->scale_f = s->shift_f = NULL;
    s->std_m = s->std_s = s->wh_mu = s->wh_W = NULL;
    s->errmsg[0] = '\0';
    if (!(s->X = malloc(cnt * xr)))
        goto fail;
    memcpy(s->X, (const unsigned char *)ds->X + r0 * xr, cnt * xr);
    if (ds->labels) {
        if (!(s->labels = malloc(cnt * lr)))
            goto fail;
        memcpy(s->labels, (const unsigned char *)ds->labels + r0 * lr, cnt * lr);
    }
    if (ds->T) {
        if (!(s->T = malloc(cnt * tr)))
            goto fail;
        memcpy(s->T, (const unsigned char *)ds->T + r0 * tr, cnt * tr);
    }
    if (ds->scale) {
        s->scale = malloc(d * sizeof *s->scale);
        s->shift = malloc(d * sizeof *s->shift);
        s->scale_f = malloc(d * sizeof *s->scale_f);
        s->shift_f = malloc(d * sizeof *s->shift_f);
        if (!s->scale || !s->shift || !s->scale_f || !s->shift_f)
            goto fail;
        memcpy(s->scale, ds->scale, d * sizeof *s->scale);
        memcpy(s->shift, ds->shift, d * sizeof *s->shift);
        memcpy(s->scale_f, ds->scale_f, d * sizeof *s->scale_f);
        memcpy(s->shift_f, ds->shift_f, d * sizeof *s->shift_f);
    }
    if (ds->std_m) {
        if (!(s->std_m = dup_doubles(ds->std_m, d)) || !(s->std_s = dup_doubles(ds->std_s, d)))
            goto fail;
    }
    if (ds->wh_W) {
        if (!(s->wh_mu = dup_doubles(ds->wh_mu, d)) ||
            !(s->wh_W = dup_doubles(ds->wh_W, d * d)))
            goto fail;
    }
    return s;
fail:
    lrmlp_dataset_free(s);
    return NULL;
}

LRMLP_API int lrmlp_dataset_split(const lrmlp_dataset *ds, size_t n_first,
                                  lrmlp_dataset **first, lrmlp_dataset **second)
{
    static const char fn[] = "lrmlp_dataset_split";
    if (first)
        *first = NULL;
    if (second)
        *second = NULL;
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    if (n_first > ds->n)
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: n_first = %zu exceeds n = %zu", fn, n_first,
                      ds->n);
    if (first && n_first == 0)
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: n_first = 0 leaves the first part empty", fn);
    if (second && n_first == ds->n)
        return DS_ERR(ds, LRMLP_ERR_INVALID,
                      "%s: n_first = n = %zu leaves the second part empty", fn, ds->n);
    lrmlp_dataset *a = NULL, *b = NULL;
    if (first && !(a = ds_subset(ds, 0, n_first)))
        goto nomem;
    if (second && !(b = ds_subset(ds, n_first, ds->n - n_first)))
        goto nomem;
    if (first)
        *first = a;
    if (second)
        *second = b;
    return LRMLP_OK;
nomem:
    lrmlp_dataset_free(a);
    lrmlp_dataset_free(b);
    return DS_ERR(ds, LRMLP_ERR_NOMEM, "%s: out of memory", fn);
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                  */

static int batch_check(const lrmlp_dataset *ds, const size_t *idx, size_t start, size_t count,
                       const void *out, const char *fn, const char *outname)
{
    if (!ds)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    if (count == 0)
        return LRMLP_OK;
    if (!out)
        return DS_ERR(ds, LRMLP_ERR_INVALID, "%s: %s is NULL", fn, outname);
    if (idx) {
        for (size_t i = 0; i < count; i++)
            if (idx[i] >= ds->n)
                return DS_ERR(ds, LRMLP_ERR_INVALID,
                              "%s: idx[%zu] = %zu is out of range (n = %zu)", fn, i, idx[i],
                              ds->n);
    } else if (start > ds->n || count > ds->n - start) {
        return DS_ERR(ds, LRMLP_ERR_INVALID,
                      "%s: samples [%zu, %zu + %zu) are out of range (n = %zu)", fn, start,
                      start, count, ds->n);
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_dataset_batch_f32(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                      size_t count, float *X, float *T)
{
    int rc = batch_check(ds, idx, start, count, X, "lrmlp_dataset_batch_f32", "X");
    if (rc != LRMLP_OK || count == 0)
        return rc;
    size_t d = ds->d, nc = ds->n_classes, nt = ds->n_targets;
    for (size_t i = 0; i < count; i++) {
        size_t r = idx ? idx[i] : start + i;
        row_f32(ds, r, X + i * d);
        if (!T)
            continue;
        if (nc) {
            float *t = T + i * nc;
            memset(t, 0, nc * sizeof *t);
            t[ds_label(ds, r)] = 1.0f;
        } else if (nt) {
            if (ds->dtype == LRMLP_F32)
                memcpy(T + i * nt, (const float *)ds->T + r * nt, nt * sizeof *T);
            else
                cvt_f64_f32(T + i * nt, (const double *)ds->T + r * nt, nt);
        }
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_dataset_batch_f64(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                      size_t count, double *X, double *T)
{
    int rc = batch_check(ds, idx, start, count, X, "lrmlp_dataset_batch_f64", "X");
    if (rc != LRMLP_OK || count == 0)
        return rc;
    size_t d = ds->d, nc = ds->n_classes, nt = ds->n_targets;
    for (size_t i = 0; i < count; i++) {
        size_t r = idx ? idx[i] : start + i;
        row_f64(ds, r, X + i * d);
        if (!T)
            continue;
        if (nc) {
            double *t = T + i * nc;
            memset(t, 0, nc * sizeof *t);
            t[ds_label(ds, r)] = 1.0;
        } else if (nt) {
            if (ds->dtype == LRMLP_F64)
                memcpy(T + i * nt, (const double *)ds->T + r * nt, nt * sizeof *T);
            else
                cvt_f32_f64(T + i * nt, (const float *)ds->T + r * nt, nt);
        }
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_dataset_labels(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                   size_t count, int32_t *labels)
{
    static const char fn[] = "lrmlp_dataset_labels";
    if (ds && !ds->n_classes)
        return DS_ERR(ds, LRMLP_ERR_STATE, "%s: the dataset has no class labels", fn);
    int rc = batch_check(ds, idx, start, count, labels, fn, "labels");
    if (rc != LRMLP_OK)
        return rc;
    for (size_t i = 0; i < count; i++)
        labels[i] = ds_label(ds, idx ? idx[i] : start + i);
    return LRMLP_OK;
}
