/* The training-dynamics tracker (track.h, docs/theory.md section 4): block
 * fractions, singular values, stable rank and update norm of each analysed
 * weight matrix, and the gap and rotation of G_1's top-K singular subspaces.
 *
 * Everything is computed in double. All scratch (LAPACK workspaces
 * included) is allocated at creation: recording allocates nothing (the
 * LAPACKE *_work drivers are called column-major, which LAPACKE passes
 * straight to LAPACK without a transposed copy). */
#include "internal.h"
#include "numerics.h"

#include <cblas.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct trk_layer_ {
    size_t in, out, mn;     /* W is out x in; mn = min(in, out) */
    size_t p;               /* columns of U2 / V2 (blocks only) */
    double *W0;             /* out x in: W(0) */
    double *U;              /* out x out or NULL: columns [U1 U2] */
    double *V;              /* in x in or NULL: columns [V1 V2] */
    /* latest values (NaN until recorded) */
    double last_block[4];
    double *last_sv;        /* mn */
    double last_stable;
    double last_update;
} trk_layer_;

struct lrmlp_tracker {
    size_t net_layers;      /* shape of the network, for the check */
    size_t *widths;         /* net_layers + 1 */
    uint64_t every;
    size_t sv_count;
    FILE *csv;
    lrmlp_track_fn fn;
    void *fn_user;
    size_t n_layers;        /* analysed layers 0 .. n_layers-1 */
    trk_layer_ *layers;
    /* gradient quantities (has_grad = 0: G_1 was zero at creation) */
    int has_grad;
    size_t k, gm, gd, gmn;  /* K; G_1 is gm x gd */
    double *L0, *R0;        /* gm x k, gd x k: top-K singular vectors of G_1(0) */
    double last_grad[3];    /* gap, angle left, angle right */
    /* scratch */
    double *bufA, *bufB;    /* max out * in (and >= gm * gd) */
    double *sv;             /* max mn */
    double *gU, *gVT;       /* gd x gmn, gmn x gm (column-major SVD of G^T) */
    double *Lt, *Rt;        /* gm x k, gd x k */
    double *C, *E;          /* k x k, max(gm, gd) x k */
    double *work;
    lapack_int lwork;
    lapack_int *iwork;      /* 8 * max mn */
};

#define QUANTITY_NAME_(name, value, str) [LRMLP_TRACK_##name] = str,
LRMLP__NAME_TABLE(quantity_names, LRMLP_TRACK_QUANTITY_MAP, QUANTITY_NAME_,
                  LRMLP_TRACK_QUANTITY_COUNT_);
#undef QUANTITY_NAME_

LRMLP_API const char *lrmlp_track_quantity_name(lrmlp_track_quantity q)
{
    return lrmlp__enum_name(quantity_names, LRMLP_TRACK_QUANTITY_COUNT_, (int)q);
}

LRMLP__OPTS_TYPE(tracker_opts_type, lrmlp_tracker_options, LRMLP_TRACKER_OPTIONS_VERSION,
                 LRMLP_TRACKER_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_tracker_options, on_record_user));

LRMLP_API int lrmlp_tracker_options_init(lrmlp_tracker_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&tracker_opts_type, opts, version);
}

/* ---- helpers ---- */

/* Copies n values of the network's dtype at element offset off of v into
 * dst as double. */
static void load_f64(const lrmlp_net *net, const void *v, size_t off, size_t n, double *dst)
{
    if (net->dtype == LRMLP_F64) {
        memcpy(dst, (const double *)v + off, n * sizeof *dst);
    } else {
        const float *f = (const float *)v + off;
        for (size_t i = 0; i < n; i++)
            dst[i] = (double)f[i];
    }
}

static double sumsq(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

/* The fallback driver's copy of the matrix: reload(t, net, which). */
typedef struct {
    void (*reload)(lrmlp_tracker *, const lrmlp_net *, size_t);
    lrmlp_tracker *t;
    const lrmlp_net *net;
    size_t which;
} svd_refill_;

static void svd_refill(void *ctx, double *A)
{
    const svd_refill_ *r = ctx;
    (void)A; /* reload writes t->bufA, which A is */
    r->reload(r->t, r->net, r->which);
}

/* SVD of the column-major r x c matrix A (destroyed; reload() refills it
 * for the fallback driver) in the tracker's workspace. job 'N': values
 * only; 'S': thin U (r x mn, ldu r) and VT (mn x c, ldvt mn). */
static int svd_run(lrmlp_tracker *t, char job, size_t r, size_t c, double *A, double *s, double *U,
                   double *VT, void (*reload)(lrmlp_tracker *, const lrmlp_net *, size_t),
                   const lrmlp_net *net, size_t which)
{
    size_t mn = r < c ? r : c;
    const lrmlp__svd_ws ws = { t->work, t->lwork, t->iwork };
    svd_refill_ ctx = { reload, t, net, which };
    lapack_int info = lrmlp__svd(LAPACK_COL_MAJOR, job, r, c, A, r, s, U, r, VT, mn, NULL,
                                 svd_refill, &ctx, &ws);
    if (info != 0)
        return lrmlp__err(LRMLP_ERR_LINALG, "SVD failed (info %d)", (int)info);
    return LRMLP_OK;
}

/* W_l(t) into bufA (row-major out x in = column-major in x out). */
static void reload_w(lrmlp_tracker *t, const lrmlp_net *net, size_t l)
{
    const lrmlp_layer_ *nl = &net->layers[l];
    load_f64(net, net->params, nl->w_off, nl->in * nl->out, t->bufA);
}

/* G_1(t) into bufA (row-major gm x gd = column-major gd x gm). */
static void reload_g(lrmlp_tracker *t, const lrmlp_net *net, size_t unused)
{
    (void)unused;
    load_f64(net, net->grads, net->layers[0].w_off, t->gm * t->gd, t->bufA);
}

/* SVD of G_1 in bufA (destroyed) into t->sv, Lt and Rt (top K columns). */
static int grad_svd(lrmlp_tracker *t, const lrmlp_net *net)
{
    size_t gm = t->gm, gd = t->gd, mn = t->gmn, k = t->k;
    /* Row-major G (gm x gd) is column-major G^T (gd x gm) = gU S gVT, so
     * G = gVT^T S gU^T: left vectors of G are the rows of gVT (whose memory,
     * read row-major gm x mn, holds them as columns), right ones the
     * columns of gU. */
    int rc = svd_run(t, 'S', gd, gm, t->bufA, t->sv, t->gU, t->gVT, reload_g, net, 0);
    if (rc)
        return rc;
    for (size_t j = 0; j < gm; j++)
        for (size_t i = 0; i < k; i++)
            t->Lt[j * k + i] = t->gVT[j * mn + i];
    for (size_t r = 0; r < gd; r++)
        for (size_t i = 0; i < k; i++)
            t->Rt[r * k + i] = t->gU[r + i * gd];
    return LRMLP_OK;
}

/* ||sin Theta||_2 between span(A) and span(B) (n x k, orthonormal
 * columns) as ||B - A (A^T B)||_F; scratch C (k x k), E (n x k). */
static double sin_theta(lrmlp_tracker *t, const double *A, const double *B, size_t n)
{
    size_t k = t->k;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)k, (lrmlp_blasint)k,
                (lrmlp_blasint)n, 1.0, A, (lrmlp_blasint)k, B, (lrmlp_blasint)k, 0.0, t->C,
                (lrmlp_blasint)k);
    memcpy(t->E, B, n * k * sizeof *t->E);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)n, (lrmlp_blasint)k,
                (lrmlp_blasint)k, -1.0, A, (lrmlp_blasint)k, t->C, (lrmlp_blasint)k, 1.0, t->E,
                (lrmlp_blasint)k);
    return sqrt(sumsq(t->E, n * k));
}

/* ---- emitting records ---- */

/* "%.9g" with '.' as the decimal separator whatever the C locale, without
 * localeconv() (not thread-safe): %g writes [-]digits[radix digits][e...],
 * so the radix is whatever non-digit bytes follow the first digits, unless
 * they start the exponent. */
static void format_double(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.9g", v);
    char *p = buf + (buf[0] == '-');
    if (!isdigit((unsigned char)*p))
        return; /* inf, nan */
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == 'e' || *p == 'E')
        return;
    char *q = p;
    while (*q && !isdigit((unsigned char)*q))
        q++;
    *p = '.';
    memmove(p + 1, q, strlen(q) + 1);
}

/* A write error on the CSV file; the stream's error flag stays set, so every
 * later write or flush reports it too (records were lost). */
static int csv_error(const char *what)
{
    int e = errno;
    char es[128];
    return lrmlp__err(LRMLP_ERR_IO, "%s the CSV file: %s", what,
                      e ? lrmlp__errno_str(e, es, sizeof es)
                        : "an earlier write failed; records were lost");
}

static int emit(lrmlp_tracker *t, uint64_t step, size_t layer, lrmlp_track_quantity q,
                size_t index, double value)
{
    if (t->csv) {
        char num[64];
        format_double(num, sizeof num, value);
        errno = 0;
        /* ferror too: stdio may drop a buffer it failed to write and still
         * report success for the call that triggered the write */
        if (fprintf(t->csv, "%" PRIu64 ",%zu,%s,%zu,%s\n", step, layer, quantity_names[q], index,
                    num) < 0 || ferror(t->csv))
            return csv_error("writing");
    }
    if (t->fn) {
        lrmlp_track_record rec = {step, layer, q, index, value};
        if (t->fn(t->fn_user, &rec))
            return lrmlp__err(LRMLP_ERR_STOPPED, "stopped by record callback");
    }
    return LRMLP_OK;
}

/* ---- recording ---- */

static int check_shape(lrmlp_tracker *t, const lrmlp_net *net)
{
    if (net->n_layers != t->net_layers)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "network has %zu layers, the tracker was created for %zu",
                          net->n_layers, t->net_layers);
    for (size_t i = 0; i <= t->net_layers; i++)
        if (net->widths[i] != t->widths[i])
            return lrmlp__err(LRMLP_ERR_SHAPE,
                              "network width %zu is %zu, the tracker was created for %zu", i,
                              net->widths[i], t->widths[i]);
    return LRMLP_OK;
}

static int record_layer(lrmlp_tracker *t, const lrmlp_net *net, size_t l, uint64_t step)
{
    trk_layer_ *ly = &t->layers[l];
    size_t in = ly->in, out = ly->out, n = in * out, mn = ly->mn;
    reload_w(t, net, l);
    if (!lrmlp__all_finite_f64(t->bufA, n))
        return lrmlp__err(LRMLP_ERR_DIVERGED, "layer %zu weights hold NaN/Inf", l);
    double fro2 = sumsq(t->bufA, n);
    for (size_t i = 0; i < n; i++)
        t->bufB[i] = t->bufA[i] - ly->W0[i];
    double upd2 = sumsq(t->bufB, n);
    int rc = svd_run(t, 'N', in, out, t->bufA, t->sv, NULL, NULL, reload_w, net, l);
    if (rc)
        return rc;
    double frac[4] = {NAN, NAN, NAN, NAN};
    if (ly->U) {
        /* bufA = D V, bufB = U^T D V: the block matrix of the change. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)out,
                    (lrmlp_blasint)in, (lrmlp_blasint)in, 1.0, t->bufB, (lrmlp_blasint)in, ly->V,
                    (lrmlp_blasint)in, 0.0, t->bufA, (lrmlp_blasint)in);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)out, (lrmlp_blasint)in,
                    (lrmlp_blasint)out, 1.0, ly->U, (lrmlp_blasint)out, t->bufA, (lrmlp_blasint)in,
                    0.0, t->bufB, (lrmlp_blasint)in);
        lrmlp__block_fractions(t->bufB, out, in, ly->p, frac);
        for (size_t i = 0; i < 4; i++) {
            ly->last_block[i] = frac[i];
            if ((rc = emit(t, step, l, LRMLP_TRACK_BLOCK_FRACTION, i, frac[i])))
                return rc;
        }
    }
    size_t c = t->sv_count;
    for (size_t i = 0; i < mn; i++) {
        if (c && 2 * c < mn && i >= c && i < mn - c)
            continue;
        ly->last_sv[i] = t->sv[i];
        if ((rc = emit(t, step, l, LRMLP_TRACK_SINGULAR_VALUE, i, t->sv[i])))
            return rc;
    }
    double s1 = t->sv[0];
    ly->last_stable = s1 > 0 ? fro2 / (s1 * s1) : NAN;
    if ((rc = emit(t, step, l, LRMLP_TRACK_STABLE_RANK, 0, ly->last_stable)))
        return rc;
    ly->last_update = sqrt(upd2);
    return emit(t, step, l, LRMLP_TRACK_UPDATE_NORM, 0, ly->last_update);
}

static int record_grad(lrmlp_tracker *t, const lrmlp_net *net, uint64_t step)
{
    size_t gm = t->gm, gd = t->gd, k = t->k;
    reload_g(t, net, 0);
    if (!lrmlp__all_finite_f64(t->bufA, gm * gd))
        return lrmlp__err(LRMLP_ERR_DIVERGED, "layer 0 gradient holds NaN/Inf");
    double v[3] = {NAN, NAN, NAN};
    if (sumsq(t->bufA, gm * gd) > 0) {
        int rc = grad_svd(t, net);
        if (rc)
            return rc;
        double sk = t->sv[k - 1], sk1 = k < t->gmn ? t->sv[k] : 0.0;
        v[0] = sk > 0 ? sk1 / sk : NAN;
        v[1] = sin_theta(t, t->L0, t->Lt, gm);
        v[2] = sin_theta(t, t->R0, t->Rt, gd);
    }
    for (int i = 0; i < 3; i++) {
        t->last_grad[i] = v[i];
        int rc = emit(t, step, 0, (lrmlp_track_quantity)(LRMLP_TRACK_GRAD_GAP + i), 0, v[i]);
        if (rc)
            return rc;
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_tracker_record(lrmlp_tracker *t, lrmlp_net *net, uint64_t step)
{
    if (!t)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_tracker_record: tracker is NULL");
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL network");
    int rc = check_shape(t, net);
    if (rc)
        return rc;
    for (size_t l = 0; l < t->n_layers; l++)
        if ((rc = record_layer(t, net, l, step)))
            return rc;
    if (t->has_grad)
        rc = record_grad(t, net, step);
    return rc;
}

LRMLP_API int lrmlp_tracker_on_step(void *tracker, lrmlp_net *net, const lrmlp_step_info *info)
{
    lrmlp_tracker *t = tracker;
    if (!t)
        return 1;
    if (!info)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL step info") != 0;
    if (info->step % t->every)
        return 0;
    return lrmlp_tracker_record(t, net, info->step) != LRMLP_OK;
}

LRMLP_API int lrmlp_tracker_flush(lrmlp_tracker *t)
{
    if (!t)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_tracker_flush: tracker is NULL");
    errno = 0;
    if (t->csv && (fflush(t->csv) != 0 || ferror(t->csv)))
        return csv_error("flushing");
    return LRMLP_OK;
}

LRMLP_API double lrmlp_tracker_last(const lrmlp_tracker *t, size_t layer,
                                    lrmlp_track_quantity q, size_t index)
{
    if (!t)
        return NAN;
    if (q >= LRMLP_TRACK_GRAD_GAP && q < LRMLP_TRACK_QUANTITY_COUNT_)
        return layer == 0 && index == 0 ? t->last_grad[q - LRMLP_TRACK_GRAD_GAP] : NAN;
    if (layer >= t->n_layers)
        return NAN;
    const trk_layer_ *ly = &t->layers[layer];
    switch (q) {
    case LRMLP_TRACK_BLOCK_FRACTION:
        return index < 4 ? ly->last_block[index] : NAN;
    case LRMLP_TRACK_SINGULAR_VALUE:
        return index < ly->mn ? ly->last_sv[index] : NAN;
    case LRMLP_TRACK_STABLE_RANK:
        return index == 0 ? ly->last_stable : NAN;
    case LRMLP_TRACK_UPDATE_NORM:
        return index == 0 ? ly->last_update : NAN;
    default:
        return NAN;
    }
}

/* ---- creation ---- */

LRMLP_API void lrmlp_tracker_free(lrmlp_tracker *t)
{
    if (!t)
        return;
    if (t->csv)
        fclose(t->csv);
    if (t->layers)
        for (size_t l = 0; l < t->n_layers; l++) {
            free(t->layers[l].W0);
            free(t->layers[l].U);
            free(t->layers[l].V);
            free(t->layers[l].last_sv);
        }
    free(t->layers);
    free(t->widths);
    free(t->L0);
    free(t->R0);
    free(t->bufA);
    free(t->bufB);
    free(t->sv);
    free(t->gU);
    free(t->gVT);
    free(t->Lt);
    free(t->Rt);
    free(t->C);
    free(t->E);
    free(t->work);
    free(t->iwork);
    free(t);
}

/* Copies the subspace's bases of layer l into ly (checks the shape). */
static int copy_bases(trk_layer_ *ly, const lrmlp_subspace *s, size_t l)
{
    size_t in = 0, out = 0, p = 0;
    int has_u = 0;
    if (lrmlp_subspace_layer_dims(s, l, &in, &out, &p, &has_u) != LRMLP_OK)
        return lrmlp__err_prefix(LRMLP_ERR_INVALID, "subspace: ");
    if (in != ly->in || out != ly->out)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                               "subspace layer %zu is %zu x %zu, the network's is %zu x %zu", l,
                               out, in, ly->out, ly->in);
    /* A layer narrower than p has V bases only (subspace.h): no block split. */
    if (p > in || (has_u && p > out))
        return lrmlp__err(LRMLP_ERR_SHAPE, "subspace layer %zu: p = %zu does not fit", l, p);
    if (!has_u)
        return LRMLP_OK;
    ly->p = p;
    ly->U = lrmlp__dalloc(out, out);
    ly->V = lrmlp__dalloc(in, in);
    if (!ly->U || !ly->V)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    /* V = [V1 V2] and U = [U1 U2], columns side by side. */
    double *tmp = lrmlp__dalloc(in > out ? in : out, in > out ? in : out);
    if (!tmp)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    static const lrmlp_subspace_basis which[4] = {LRMLP_SUBSPACE_V1, LRMLP_SUBSPACE_V2,
                                                  LRMLP_SUBSPACE_U1, LRMLP_SUBSPACE_U2};
    int rc = LRMLP_OK;
    for (int b = 0; b < 4 && !rc; b++) {
        int isv = b < 2;
        size_t rows = isv ? in : out, cols = b % 2 ? p : rows - p, c0 = b % 2 ? rows - p : 0;
        double *dst = isv ? ly->V : ly->U;
        if (cols == 0)
            continue;
        if (lrmlp_subspace_get_basis(s, l, which[b], tmp) != LRMLP_OK) {
            rc = lrmlp__err_prefix(LRMLP_ERR_INVALID, "subspace: ");
            break;
        }
        for (size_t i = 0; i < rows; i++)
            memcpy(dst + i * rows + c0, tmp + i * cols, cols * sizeof *dst);
    }
    free(tmp);
    return rc;
}

static int alloc_scratch(lrmlp_tracker *t)
{
    size_t maxn = 1, maxmn = 1;
    lapack_int lw = 1;
    for (size_t l = 0; l < t->n_layers; l++) {
        const trk_layer_ *ly = &t->layers[l];
        if (ly->in * ly->out > maxn)
            maxn = ly->in * ly->out;
        if (ly->mn > maxmn)
            maxmn = ly->mn;
        lapack_int q = lrmlp__svd_lwork('N', ly->in, ly->out);
        if (q > lw)
            lw = q;
    }
    if (t->has_grad) {
        size_t gm = t->gm, gd = t->gd, k = t->k, mn = t->gmn;
        if (gm * gd > maxn)
            maxn = gm * gd;
        if (mn > maxmn)
            maxmn = mn;
        lapack_int q = lrmlp__svd_lwork('S', gd, gm);
        if (q > lw)
            lw = q;
        t->gU = lrmlp__dalloc(gd, mn);
        t->gVT = lrmlp__dalloc(mn, gm);
        t->Lt = lrmlp__dalloc(gm, k);
        t->Rt = lrmlp__dalloc(gd, k);
        t->L0 = lrmlp__dalloc(gm, k);
        t->R0 = lrmlp__dalloc(gd, k);
        t->C = lrmlp__dalloc(k, k);
        t->E = lrmlp__dalloc(gm > gd ? gm : gd, k);
        if (!t->gU || !t->gVT || !t->Lt || !t->Rt || !t->L0 || !t->R0 || !t->C || !t->E)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    t->bufA = lrmlp__dalloc(maxn, 1);
    t->bufB = lrmlp__dalloc(maxn, 1);
    t->sv = lrmlp__dalloc(maxmn, 1);
    t->lwork = lw;
    t->work = lrmlp__dalloc((size_t)lw, 1);
    t->iwork = malloc(8 * maxmn * sizeof *t->iwork);
    if (!t->bufA || !t->bufB || !t->sv || !t->work || !t->iwork)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    return LRMLP_OK;
}

static int create(lrmlp_tracker *t, lrmlp_net *net, const lrmlp_subspace *s,
                  const lrmlp_tracker_options *o)
{
    size_t L = net->n_layers;
    t->net_layers = L;
    t->every = o->every;
    t->sv_count = o->sv_count;
    t->fn = o->on_record;
    t->fn_user = o->on_record_user;
    t->widths = malloc((L + 1) * sizeof *t->widths);
    if (!t->widths)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    memcpy(t->widths, net->widths, (L + 1) * sizeof *t->widths);
    for (size_t i = 0; i <= L; i++)
        if (net->widths[i] > INT_MAX)
            return lrmlp__err(LRMLP_ERR_SHAPE, "width %zu too large for BLAS", i);

    size_t nl = s ? lrmlp_subspace_n_layers(s) : (L > 1 ? L - 1 : 1);
    if (nl > L)
        return lrmlp__err(LRMLP_ERR_SHAPE, "subspace has %zu layers, the network %zu", nl,
                               L);
    t->layers = calloc(nl, sizeof *t->layers);
    if (!t->layers)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    t->n_layers = nl;
    for (size_t l = 0; l < nl; l++) {
        trk_layer_ *ly = &t->layers[l];
        ly->in = net->layers[l].in;
        ly->out = net->layers[l].out;
        ly->mn = ly->in < ly->out ? ly->in : ly->out;
        ly->W0 = lrmlp__dalloc(ly->out, ly->in);
        ly->last_sv = lrmlp__dalloc(ly->mn, 1);
        if (!ly->W0 || !ly->last_sv)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        load_f64(net, net->params, net->layers[l].w_off, ly->in * ly->out, ly->W0);
        if (!lrmlp__all_finite_f64(ly->W0, ly->in * ly->out))
            return lrmlp__err(LRMLP_ERR_DIVERGED, "layer %zu weights hold NaN/Inf", l);
        for (int i = 0; i < 4; i++)
            ly->last_block[i] = NAN;
        for (size_t i = 0; i < ly->mn; i++)
            ly->last_sv[i] = NAN;
        ly->last_stable = ly->last_update = NAN;
        if (s) {
            int rc = copy_bases(ly, s, l);
            if (rc)
                return rc;
        }
    }

    /* Gradient quantities: K and G_1(0). */
    t->gm = net->layers[0].out;
    t->gd = net->layers[0].in;
    t->gmn = t->gm < t->gd ? t->gm : t->gd;
    t->k = o->k ? o->k : s ? lrmlp_subspace_rank(s) : net->widths[L];
    if (t->k < 1 || t->k > t->gmn)
        return lrmlp__err(LRMLP_ERR_SHAPE, "K = %zu is outside 1..min(%zu, %zu)", t->k,
                               t->gm, t->gd);
    for (int i = 0; i < 3; i++)
        t->last_grad[i] = NAN;
    size_t gn = t->gm * t->gd;
    int nonzero = 0, finite = 1;
    if (net->dtype == LRMLP_F64) {
        const double *g = (const double *)net->grads + net->layers[0].w_off;
        for (size_t i = 0; i < gn; i++)
            nonzero |= g[i] != 0, finite &= isfinite(g[i]) != 0;
    } else {
        const float *g = (const float *)net->grads + net->layers[0].w_off;
        for (size_t i = 0; i < gn; i++)
            nonzero |= g[i] != 0, finite &= isfinite(g[i]) != 0;
    }
    if (!finite)
        return lrmlp__err(LRMLP_ERR_DIVERGED, "layer 0 gradient holds NaN/Inf");
    t->has_grad = nonzero;

    int rc = alloc_scratch(t);
    if (rc)
        return rc;
    if (t->has_grad) {
        reload_g(t, net, 0);
        if ((rc = grad_svd(t, net)))
            return rc;
        memcpy(t->L0, t->Lt, t->gm * t->k * sizeof *t->L0);
        memcpy(t->R0, t->Rt, t->gd * t->k * sizeof *t->R0);
    }

    if (o->csv_path) {
        t->csv = fopen(o->csv_path, "w");
        if (!t->csv) {
            char es[128];
            return lrmlp__err(LRMLP_ERR_IO, "cannot open %s: %s", o->csv_path,
                                   lrmlp__errno_str(errno, es, sizeof es));
        }
        if (fputs("step,layer,quantity,index,value\n", t->csv) < 0) {
            char es[128];
            return lrmlp__err(LRMLP_ERR_IO, "writing %s: %s", o->csv_path,
                                   lrmlp__errno_str(errno, es, sizeof es));
        }
    }
    if ((rc = lrmlp_tracker_record(t, net, 0)))
        return rc;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_tracker_create(lrmlp_tracker **out, lrmlp_net *net,
                                   const lrmlp_subspace *subspace,
                                   const lrmlp_tracker_options *opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL network");
    lrmlp_tracker_options o;
    int rc0 = lrmlp__opts_read(&tracker_opts_type, opts, &o, "lrmlp_tracker_create");
    if (rc0 != LRMLP_OK)
        return rc0;
    if (o.every == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "every must be >= 1");
    lrmlp_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    int rc = create(t, net, subspace, &o);
    if (rc) {
        lrmlp_tracker_free(t);
        return rc;
    }
    *out = t;
    return LRMLP_OK;
}
