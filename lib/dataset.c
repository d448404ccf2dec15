/* Datasets: storage, standardization (a per-feature affine map applied on
 * copy-out), whitening, shuffling, splitting and the batch copy-out used by
 * every training step. The IDX and CSV readers are in dataset_io.c; the
 * copy-out kernels and memory constructors in dataset_impl.h, instantiated
 * here for float and double.
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
#include "numerics.h"
#include "kernel.h"

#include <cblas.h>
#include <lapacke.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The handle                                                               */

/* Rows per block when statistics or whitening walk the data as doubles. */
#define BLOCK_ROWS 1024

/* Sets a handle's message. Functions taking a const handle may report too:
 * the message buffer is the only thing they write. */
#define DS_ERR(ds, status, ...) \
    lrmlp__err((status), __VA_ARGS__)

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
    free(ds->raw_P);
    free(ds->raw_q);
    free(ds->tgt_m);
    free(ds->tgt_s);
    free(ds);
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
    m += ds->n * ds->d * lrmlp__dataset_storage_size(ds->storage);
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
int lrmlp__dataset_set_labels(lrmlp_dataset *ds, const int32_t *src, const uint8_t *src8,
                              size_t n_classes)
{
    size_t n = ds->n;
    if (n_classes <= 256) {
        uint8_t *l = malloc(n);
        if (!l)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for labels");
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
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for labels");
        for (size_t i = 0; i < n; i++)
            l[i] = src8 ? (int32_t)src8[i] : src[i];
        ds->labels = l;
        ds->lab_kind = LAB_I32;
    }
    ds->n_classes = n_classes;
    return LRMLP_OK;
}

/* ------------------------------------------------------------------------ */
/* Copy-out and memory constructors (dataset_impl.h)                        */

/* Checks the arguments of a batch copy-out into out (named outname) for
 * the public function fn. */
static int batch_check(const lrmlp_dataset *ds, const size_t *idx, size_t start, size_t count,
                       const void *out, const char *fn, const char *outname)
{
    if (!ds)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
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

#include "real_f32.h"
#include "dataset_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "dataset_impl.h"
#include "real_undef.h"

/* ------------------------------------------------------------------------ */
/* Standardization                                                          */

/* Per-feature mean and population standard deviation of ds's features with
 * its transforms applied, in double, two-pass. cst[j] = 1 when feature j is
 * constant. Sums that overflow (values near DBL_MAX, squares beyond it) are
 * redone scaled: the mean as a sum of x / n, the deviation as
 * c * sqrt(sum(((x - mean) / c)^2) / n) with c the largest |x - mean|. */
static int feature_stats(const lrmlp_dataset *ds, double *mean, double *sd, unsigned char *cst)
{
    size_t n = ds->n, d = ds->d;
    double *row = malloc(d * sizeof *row);
    double *first = malloc(d * sizeof *first);
    double *big = malloc(d * sizeof *big);
    if (!row || !first || !big) {
        free(row);
        free(first);
        free(big);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < d; j++) {
        mean[j] = 0.0;
        sd[j] = 0.0;
        big[j] = 0.0;
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
    int redo = 0;
    for (size_t j = 0; j < d; j++) {
        mean[j] /= (double)n;
        redo |= !isfinite(mean[j]);
    }
    if (redo) {
        for (size_t j = 0; j < d; j++)
            mean[j] = 0.0;
        for (size_t i = 0; i < n; i++) {
            row_f64(ds, i, row);
            for (size_t j = 0; j < d; j++)
                mean[j] += row[j] / (double)n;
        }
    }
    redo = 0;
    for (size_t i = 0; i < n; i++) {
        row_f64(ds, i, row);
        for (size_t j = 0; j < d; j++) {
            double t = row[j] - mean[j];
            sd[j] += t * t;
            big[j] = fabs(t) > big[j] ? fabs(t) : big[j];
        }
    }
    for (size_t j = 0; j < d; j++)
        redo |= !isfinite(sd[j]);
    if (redo) {
        for (size_t j = 0; j < d; j++)
            sd[j] = 0.0;
        for (size_t i = 0; i < n; i++) {
            row_f64(ds, i, row);
            for (size_t j = 0; j < d; j++) {
                double t = big[j] > 0 ? (row[j] / big[j] - mean[j] / big[j]) : 0.0;
                sd[j] += t * t;
            }
        }
    }
    for (size_t j = 0; j < d; j++)
        sd[j] = cst[j] ? 0.0 : sqrt(sd[j] / (double)n) * (redo ? big[j] : 1.0);
    free(row);
    free(first);
    free(big);
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
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < d; j++) {
        double a = ds->scale ? ds->scale[j] : 1.0, b = ds->scale ? ds->shift[j] : 0.0;
        sc[j] = a / s[j];
        sh[j] = (b - m[j]) / s[j];
        scf[j] = (float)sc[j];
        shf[j] = (float)sh[j];
        int fits = isfinite(sc[j]) && isfinite(sh[j]) &&
                   (ds->dtype != LRMLP_F32 || (isfinite(scf[j]) && isfinite(shf[j])));
        if (!fits) {
            free(sc);
            free(sh);
            free(scf);
            free(shf);
            return lrmlp__err(LRMLP_ERR_NONFINITE,
                              "feature %zu: mean %g and std %g give a map (scale %g) that "
                              "%s cannot represent",
                              j, m[j], s[j], a / s[j],
                              ds->dtype == LRMLP_F32 ? "float32" : "float64");
        }
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
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
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
            /* pooled variance: mean over features of sd^2 + (mean - gm)^2,
             * scaled by the largest term so that it cannot overflow */
            double gm = 0.0, gv = 0.0, c = 0.0;
            int all_const = 1;
            for (size_t j = 0; j < d; j++)
                gm += mean[j] / (double)d;
            for (size_t j = 0; j < d; j++) {
                double t = fabs(mean[j] - gm);
                c = sd[j] > c ? sd[j] : c;
                c = t > c ? t : c;
                all_const &= cst[j] && t == 0.0;
            }
            for (size_t j = 0; j < d && c > 0.0; j++) {
                double t = (mean[j] - gm) / c, u = sd[j] / c;
                gv += u * u + t * t;
            }
            gv /= (double)d;
            double gs = all_const || !(gv > 0.0) ? 1.0 : sqrt(gv) * c;
            for (size_t j = 0; j < d; j++) {
                mean[j] = gm;
                sd[j] = gs;
            }
        } else if (rc == LRMLP_OK) {
            for (size_t j = 0; j < d; j++)
                sd[j] = cst[j] || !(sd[j] > 0.0) ? 1.0 : sd[j];
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
    if (rc == LRMLP_ERR_NOMEM)
        return DS_ERR(ds, rc, "%s: out of memory", fn);
    if (rc != LRMLP_OK)
        return lrmlp__err_prefix(rc, "%s: ", fn);
    return LRMLP_OK;
}

/* ------------------------------------------------------------------------ */
/* Whitening                                                                */

LRMLP__OPTS_TYPE(whiten_opts_type, lrmlp_whiten_options, LRMLP_WHITEN_OPTIONS_VERSION,
                 LRMLP_WHITEN_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_whiten_options, unit_sum));

LRMLP_API int lrmlp_whiten_options_init(lrmlp_whiten_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&whiten_opts_type, opts, version);
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
                         double *mu, double *B)
{
    static const char fn[] = "lrmlp_dataset_whiten";
    size_t n = ref->n, d = ref->d;
    double *C = calloc(d * d, sizeof *C), *w = malloc(d * sizeof *w);
    double *G = malloc(d * d * sizeof *G);
    int rc = LRMLP_OK;
    if (!C || !w || !G) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory (d = %zu)", fn, d);
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
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (lrmlp_blasint)d, (lrmlp_blasint)rows,
                    1.0 / (double)n, B, (lrmlp_blasint)d, 1.0, C, (lrmlp_blasint)d);
    }
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, C,
                                     (lapack_int)d, w);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory in LAPACKE_dsyevd", fn);
        goto done;
    }
    if (info != 0) {
        rc = lrmlp__err(LRMLP_ERR_LINALG, "%s: LAPACKE_dsyevd failed (info = %d)", fn,
                        (int)info);
        goto done;
    }
    /* Eigenvalues ascend; C's columns are the eigenvectors. */
    double lmax = w[d - 1];
    if (!isfinite(lmax) || !isfinite(w[0])) {
        rc = lrmlp__err(LRMLP_ERR_LINALG, "%s: non-finite eigenvalue", fn);
        goto done;
    }
    double tol = lmax > 0.0 ? lmax * (double)d * DBL_EPSILON : 0.0;
    if (o->eps == 0.0 && !(w[0] > tol)) {
        size_t bad = 0;
        while (bad < d && !(w[bad] > tol))
            bad++;
        rc = lrmlp__err(LRMLP_ERR_LINALG,
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
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (lrmlp_blasint)d, (lrmlp_blasint)d,
                    (lrmlp_blasint)d, 1.0, G, (lrmlp_blasint)d, C, (lrmlp_blasint)d, 0.0, W,
                    (lrmlp_blasint)d);
        for (size_t i = 0; i < d; i++)
            for (size_t j = i + 1; j < d; j++) {
                double a = 0.5 * (W[i * d + j] + W[j * d + i]);
                W[i * d + j] = a;
                W[j * d + i] = a;
            }
    }
    for (size_t i = 0; i < d * d; i++)
        if (!isfinite(W[i])) {
            rc = lrmlp__err(LRMLP_ERR_LINALG, "%s: whitening matrix is not finite", fn);
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
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    lrmlp_whiten_options o;
    int rc0 = lrmlp__opts_read(&whiten_opts_type, opts, &o, fn);
    if (rc0 != LRMLP_OK)
        return rc0;
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
    int st = lrmlp__dataset_dtype_storage(ds->dtype);
    double *W = malloc(d * d * sizeof *W), *mu = malloc(d * sizeof *mu);
    double *B = malloc(blk), *Y = malloc(blk);
    void *X = lrmlp__big_alloc(st == ST_F64 ? ndb : nd * sizeof(float), 0);
    /* the composed map, and with an earlier one a second d x d for W diag(a) */
    size_t pb = 0;
    double *P = lrmlp__mul_ok(dd, ds->raw_P ? 2 : 1, &pb) ? malloc(pb) : NULL;
    double *q = malloc(d * sizeof *q);
    int rc = LRMLP_OK;
    if (!W || !mu || !B || !Y || !X || !P || !q) {
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
        rc = whiten_matrix(ref, &o, W, mu, B);
        if (rc != LRMLP_OK)
            goto done;
    }
    for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
        size_t rows = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
        block_f64(ds, r0, rows, o.center ? mu : NULL, B);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (lrmlp_blasint)rows, (lrmlp_blasint)d,
                    (lrmlp_blasint)d, 1.0, B, (lrmlp_blasint)d, W, (lrmlp_blasint)d, 0.0, Y,
                    (lrmlp_blasint)d);
        size_t cnt = rows * d;
        if (st == ST_F32) {
            float *x = (float *)X + r0 * d;
            for (size_t k = 0; k < cnt; k++)
                x[k] = (float)Y[k];
        } else {
            memcpy((double *)X + r0 * d, Y, cnt * sizeof *Y);
        }
    }
    /* The map from the original features: W (a (P x + q) + b - mu) for the
     * per-feature map a x + b and the earlier map P x + q. */
    double *Wa = P + (ds->raw_P ? d * d : 0);
    for (size_t j = 0; j < d; j++) {
        double acc = 0.0;
        for (size_t r = 0; r < d; r++) {
            double a = ds->scale ? ds->scale[r] : 1.0, b = ds->scale ? ds->shift[r] : 0.0;
            double qr = ds->raw_q ? ds->raw_q[r] : 0.0;
            acc += W[j * d + r] * (a * qr + b - mu[r]);
            Wa[j * d + r] = W[j * d + r] * a;
        }
        q[j] = acc;
    }
    if (ds->raw_P)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)d, (lrmlp_blasint)d,
                    (lrmlp_blasint)d, 1.0, Wa, (lrmlp_blasint)d, ds->raw_P, (lrmlp_blasint)d, 0.0,
                    P, (lrmlp_blasint)d);
    free(ds->raw_P);
    free(ds->raw_q);
    ds->raw_P = P;
    ds->raw_q = q;
    P = q = NULL;
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
    free(P);
    free(q);
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

/* Swaps samples i and j (features, label, targets) of the dataset ctx. */
static void swap_samples(void *ctx, size_t i, size_t j)
{
    lrmlp_dataset *ds = ctx;
    size_t xr = ds->d * lrmlp__dataset_storage_size(ds->storage);
    size_t lr = label_size(ds->lab_kind);
    size_t tr = ds->n_targets * lrmlp__dtype_size(ds->dtype);
    unsigned char *X = ds->X, *L = ds->labels, *T = ds->T;
    swap_bytes(X + i * xr, X + j * xr, xr);
    if (L)
        swap_bytes(L + i * lr, L + j * lr, lr);
    if (T)
        swap_bytes(T + i * tr, T + j * tr, tr);
}

LRMLP_API int lrmlp_dataset_shuffle(lrmlp_dataset *ds, uint64_t seed)
{
    if (!ds)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_dataset_shuffle: dataset is NULL");
    lrmlp_rng rng;
    lrmlp__rng_seed(&rng, seed);
    lrmlp__shuffle(ds->n, &rng, swap_samples, ds);
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
    size_t xr = ds->d * lrmlp__dataset_storage_size(ds->storage);
    size_t lr = label_size(ds->lab_kind);
    size_t tr = ds->n_targets * lrmlp__dtype_size(ds->dtype);
    size_t d = ds->d;
    *s = *ds;
    s->n = cnt;
    s->X = s->labels = s->T = NULL;
    s->scale = s->shift = NULL;
    s->scale_f = s->shift_f = NULL;
    s->std_m = s->std_s = s->wh_mu = s->wh_W = NULL;
    s->raw_P = s->raw_q = s->tgt_m = s->tgt_s = NULL;
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
    if (ds->raw_P && (!(s->raw_P = dup_doubles(ds->raw_P, d * d)) ||
                      !(s->raw_q = dup_doubles(ds->raw_q, d))))
        goto fail;
    if (ds->tgt_m && (!(s->tgt_m = dup_doubles(ds->tgt_m, ds->n_targets)) ||
                      !(s->tgt_s = dup_doubles(ds->tgt_s, ds->n_targets))))
        goto fail;
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
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
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
/* Labels                                                                   */

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
