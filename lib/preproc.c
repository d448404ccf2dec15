/* Preprocessing that travels with a network (include/lrmlp/infer.h): the
 * record, its setters, and its PREP section in model files. */
#include "internal.h"
#include "numerics.h"
#include "dataset_internal.h"
#include "le.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREP_INPUT (LRMLP_PREP_INPUT_DIAGONAL | LRMLP_PREP_INPUT_AFFINE)
#define PREP_FIXED 24u /* flags, reserved, d, k */

void lrmlp__preproc_free(lrmlp_preproc_ *p)
{
    if (!p)
        return;
    free(p->M);
    free(p->c);
    free(p->s);
    free(p->t);
    free(p->Mr);
    free(p->cr);
    free(p->sr);
    free(p->tr);
    free(p);
}

static size_t m_count(size_t d, unsigned flags)
{
    return (flags & LRMLP_PREP_INPUT_AFFINE) ? d * d : d;
}

/* A copy of n doubles (src NULL: zeros) and its copy in dt. */
static int dup_pair(const double *src, size_t n, lrmlp_dtype dt, double **out, void **outr)
{
    *out = malloc(n * sizeof **out);
    *outr = malloc(n * lrmlp__dtype_size(dt));
    if (!*out || !*outr)
        return 0;
    for (size_t i = 0; i < n; i++) {
        double v = src ? src[i] : 0.0;
        (*out)[i] = v;
        if (dt == LRMLP_F32)
            ((float *)*outr)[i] = (float)v;
        else
            ((double *)*outr)[i] = v;
    }
    return 1;
}

/* 1 when v is NULL (an absent vector) or all finite. */
static int all_finite(const double *v, size_t n)
{
    return !v || lrmlp__all_finite_f64(v, n);
}

int lrmlp__preproc_make(lrmlp_preproc_ **out, lrmlp_dtype dt, size_t d, size_t k, unsigned flags,
                        const double *M, const double *c, const double *s, const double *t)
{
    *out = NULL;
    size_t mc = m_count(d, flags);
    if ((flags & PREP_INPUT) && (!all_finite(M, mc) || !all_finite(c, d)))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "input transform holds NaN or Inf");
    if ((flags & LRMLP_PREP_OUTPUT) && (!all_finite(s, k) || !all_finite(t, k)))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "output transform holds NaN or Inf");
    lrmlp_preproc_ *p = calloc(1, sizeof *p);
    if (!p)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    p->dtype = dt;
    p->d = d;
    p->k = k;
    p->flags = flags;
    int ok = 1;
    if (flags & PREP_INPUT)
        ok = dup_pair(M, mc, dt, &p->M, &p->Mr) && dup_pair(c, d, dt, &p->c, &p->cr);
    if (ok && (flags & LRMLP_PREP_OUTPUT))
        ok = dup_pair(s, k, dt, &p->s, &p->sr) && dup_pair(t, k, dt, &p->t, &p->tr);
    if (!ok) {
        lrmlp__preproc_free(p);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for preprocessing");
    }
    *out = p;
    return LRMLP_OK;
}

int lrmlp__preproc_clone(lrmlp_preproc_ **out, const lrmlp_preproc_ *src)
{
    *out = NULL;
    if (!src)
        return LRMLP_OK;
    return lrmlp__preproc_make(out, src->dtype, src->d, src->k, src->flags, src->M, src->c,
                               src->s, src->t);
}

/* Replaces one part (input or output) of net's record, keeping the other. */
static int replace_part(lrmlp_net *net, unsigned part, const double *M, const double *c,
                        const double *s, const double *t)
{
    lrmlp_preproc_ *old = net->prep;
    unsigned keep = old ? old->flags & ~(part & LRMLP_PREP_OUTPUT ? LRMLP_PREP_OUTPUT
                                                                   : (unsigned)PREP_INPUT)
                        : 0;
    unsigned flags = keep | part;
    lrmlp_preproc_ *p;
    int rc = lrmlp__preproc_make(&p, net->dtype, net->widths[0], net->widths[net->n_layers],
                                 flags, (part & PREP_INPUT) ? M : old ? old->M : NULL,
                                 (part & PREP_INPUT) ? c : old ? old->c : NULL,
                                 (part & LRMLP_PREP_OUTPUT) ? s : old ? old->s : NULL,
                                 (part & LRMLP_PREP_OUTPUT) ? t : old ? old->t : NULL);
    if (rc)
        return rc;
    lrmlp__preproc_free(old);
    net->prep = p;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_set_input_standardize(lrmlp_net *net, const double *mean,
                                              const double *std)
{
    if (!net || !mean || !std)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_set_input_standardize: NULL argument");
    size_t d = net->widths[0];
    if (!all_finite(mean, d) || !all_finite(std, d))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "mean or std holds NaN or Inf");
    double *m = malloc(d * sizeof *m), *c = malloc(d * sizeof *c);
    if (!m || !c) {
        free(m);
        free(c);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    int rc = LRMLP_OK;
    for (size_t j = 0; j < d && rc == LRMLP_OK; j++) {
        if (!(std[j] > 0))
            rc = lrmlp__err(LRMLP_ERR_INVALID, "std[%zu] is %g (must be > 0)", j, std[j]);
        m[j] = 1.0 / std[j];
        c[j] = -mean[j] / std[j];
    }
    if (rc == LRMLP_OK)
        rc = replace_part(net, LRMLP_PREP_INPUT_DIAGONAL, m, c, NULL, NULL);
    free(m);
    free(c);
    return rc;
}

LRMLP_API int lrmlp_net_set_input_affine(lrmlp_net *net, const double *M, const double *c)
{
    if (!net || !M)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_set_input_affine: NULL argument");
    return replace_part(net, LRMLP_PREP_INPUT_AFFINE, M, c, NULL, NULL);
}

LRMLP_API int lrmlp_net_set_output_affine(lrmlp_net *net, const double *scale,
                                          const double *shift)
{
    if (!net || !scale)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_set_output_affine: NULL argument");
    return replace_part(net, LRMLP_PREP_OUTPUT, NULL, NULL, scale, shift);
}

LRMLP_API void lrmlp_net_clear_preprocessing(lrmlp_net *net)
{
    if (!net)
        return;
    lrmlp__preproc_free(net->prep);
    net->prep = NULL;
}

LRMLP_API unsigned lrmlp_net_preprocessing(const lrmlp_net *net)
{
    return net && net->prep ? net->prep->flags : 0u;
}

/* ---- the PREP section (docs/format.md) ---- */

static size_t n_values(size_t d, size_t k, unsigned flags)
{
    size_t n = 0;
    if (flags & PREP_INPUT)
        n += m_count(d, flags) + d;
    if (flags & LRMLP_PREP_OUTPUT)
        n += 2 * k;
    return n;
}

size_t lrmlp__preproc_encoded_size(const lrmlp_preproc_ *p)
{
    return PREP_FIXED + 8u * n_values(p->d, p->k, p->flags);
}

void lrmlp__preproc_encode(const lrmlp_preproc_ *p, uint8_t *o)
{
    put_u32(o, p->flags);
    put_u32(o + 4, 0);
    put_u64(o + 8, (uint64_t)p->d);
    put_u64(o + 16, (uint64_t)p->k);
    o += PREP_FIXED;
    if (p->flags & PREP_INPUT) {
        o = put_doubles(o, p->M, m_count(p->d, p->flags));
        o = put_doubles(o, p->c, p->d);
    }
    if (p->flags & LRMLP_PREP_OUTPUT) {
        o = put_doubles(o, p->s, p->k);
        put_doubles(o, p->t, p->k);
    }
}

int lrmlp__preproc_decode(const uint8_t *b, uint64_t len, const lrmlp_net *net,
                          lrmlp_preproc_ **out)
{
    *out = NULL;
    if (len < PREP_FIXED)
        return lrmlp__err(LRMLP_ERR_FORMAT, "PREP section is truncated");
    unsigned flags = get_u32(b);
    uint64_t d = get_u64(b + 8), k = get_u64(b + 16);
    if (flags == 0 || (flags & ~(unsigned)(PREP_INPUT | LRMLP_PREP_OUTPUT)) ||
        (flags & PREP_INPUT) == PREP_INPUT || get_u32(b + 4) != 0)
        return lrmlp__err(LRMLP_ERR_FORMAT, "PREP section has invalid flags 0x%x", flags);
    if (d != net->widths[0] || k != net->widths[net->n_layers])
        return lrmlp__err(LRMLP_ERR_FORMAT,
                          "PREP section is for %llu inputs and %llu outputs, the network "
                          "has %zu and %zu",
                          (unsigned long long)d, (unsigned long long)k, net->widths[0],
                          net->widths[net->n_layers]);
    /* d and k are the network's widths (<= 2^30); d * d fits in 64 bits. */
    uint64_t nv = (uint64_t)n_values((size_t)d, (size_t)k, flags);
    if (len != PREP_FIXED + 8u * nv)
        return lrmlp__err(LRMLP_ERR_FORMAT, "PREP section has %llu bytes, expected %llu",
                          (unsigned long long)len, (unsigned long long)(PREP_FIXED + 8u * nv));
    double *v = calloc((size_t)(nv ? nv : 1), sizeof *v);
    if (!v)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for the PREP section");
    for (uint64_t i = 0; i < nv; i++)
        v[i] = get_f64(b + PREP_FIXED + 8 * i);
    if (!all_finite(v, (size_t)nv)) {
        free(v);
        return lrmlp__err(LRMLP_ERR_FORMAT, "PREP section holds NaN or Inf");
    }
    const double *M = NULL, *c = NULL, *s = NULL, *t = NULL, *q = v;
    if (flags & PREP_INPUT) {
        M = q;
        q += m_count((size_t)d, flags);
        c = q;
        q += d;
    }
    if (flags & LRMLP_PREP_OUTPUT) {
        s = q;
        t = q + k;
    }
    int rc = lrmlp__preproc_make(out, net->dtype, (size_t)d, (size_t)k, flags, M, c, s, t);
    free(v);
    return rc;
}

/* ---- from a dataset ---- */

LRMLP_API int lrmlp_dataset_standardize_targets(lrmlp_dataset *ds, const lrmlp_dataset *reference)
{
    static const char fn[] = "lrmlp_dataset_standardize_targets";
    if (!ds)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dataset is NULL", fn);
    const lrmlp_dataset *ref = reference ? reference : ds;
    size_t k = ds->n_targets;
    if (k == 0 || !ds->T)
        return lrmlp__err(LRMLP_ERR_STATE, "%s: the dataset has no real-valued targets", fn);
    if (ref->n_targets != k || !ref->T)
        return lrmlp__err(LRMLP_ERR_SHAPE, "%s: reference has %zu targets, dataset %zu", fn,
                          ref->n_targets, k);
    double *m = calloc(k, sizeof *m), *s = calloc(k, sizeof *s);
    double *cm = malloc(k * sizeof *cm), *cs = malloc(k * sizeof *cs);
    if (!m || !s || !cm || !cs) {
        free(m);
        free(s);
        free(cm);
        free(cs);
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    }
    if (ref != ds && ref->tgt_m) {
        /* The reference standardized its targets: the same map. */
        memcpy(m, ref->tgt_m, k * sizeof *m);
        memcpy(s, ref->tgt_s, k * sizeof *s);
    } else {
        /* Two passes in double: mean, then the centered sum of squares. */
        int f32 = ref->dtype == LRMLP_F32;
        for (size_t i = 0; i < ref->n; i++)
            for (size_t j = 0; j < k; j++)
                m[j] += f32 ? ((const float *)ref->T)[i * k + j]
                            : ((const double *)ref->T)[i * k + j];
        for (size_t j = 0; j < k; j++)
            m[j] /= (double)ref->n;
        for (size_t i = 0; i < ref->n; i++)
            for (size_t j = 0; j < k; j++) {
                double v = (f32 ? ((const float *)ref->T)[i * k + j]
                                : ((const double *)ref->T)[i * k + j]) - m[j];
                s[j] += v * v;
            }
        for (size_t j = 0; j < k; j++) {
            double sd = sqrt(s[j] / (double)ref->n);
            s[j] = sd > 0 && isfinite(sd) ? sd : 1.0;
        }
    }
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < k; j++) {
            if (ds->dtype == LRMLP_F32) {
                float *t = (float *)ds->T + i * k + j;
                *t = (float)(((double)*t - m[j]) / s[j]);
            } else {
                double *t = (double *)ds->T + i * k + j;
                *t = (*t - m[j]) / s[j];
            }
        }
    /* Compose with an earlier map: t'' = (t' - m) / s with t' = (t - m0) / s0. */
    for (size_t j = 0; j < k; j++) {
        double m0 = ds->tgt_m ? ds->tgt_m[j] : 0.0, s0 = ds->tgt_m ? ds->tgt_s[j] : 1.0;
        cm[j] = m0 + s0 * m[j];
        cs[j] = s0 * s[j];
    }
    free(ds->tgt_m);
    free(ds->tgt_s);
    ds->tgt_m = cm;
    ds->tgt_s = cs;
    free(m);
    free(s);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_set_preprocessing_from_dataset(lrmlp_net *net, const lrmlp_dataset *ds)
{
    static const char fn[] = "lrmlp_net_set_preprocessing_from_dataset";
    if (!net || !ds)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: NULL argument", fn);
    size_t d = ds->d, k = net->widths[net->n_layers];
    if (d != net->widths[0])
        return lrmlp__err(LRMLP_ERR_SHAPE, "%s: dataset has %zu features, network %zu inputs",
                          fn, d, net->widths[0]);
    if (ds->tgt_m && ds->n_targets != k)
        return lrmlp__err(LRMLP_ERR_SHAPE, "%s: dataset has %zu targets, network %zu outputs",
                          fn, ds->n_targets, k);
    unsigned flags = (ds->raw_P ? LRMLP_PREP_INPUT_AFFINE
                      : ds->scale ? LRMLP_PREP_INPUT_DIAGONAL
                                  : 0u) |
                     (ds->tgt_m ? LRMLP_PREP_OUTPUT : 0u);
    if (!flags)
        return lrmlp__err(LRMLP_ERR_STATE, "%s: the dataset has no fitted transform", fn);
    /* Input: x -> a (P x + q) + b, a x + b being the per-feature map. */
    double *M = NULL, *c = NULL;
    if (flags & (LRMLP_PREP_INPUT_AFFINE | LRMLP_PREP_INPUT_DIAGONAL)) {
        size_t mc = ds->raw_P ? d * d : d;
        M = malloc(mc * sizeof *M);
        c = malloc(d * sizeof *c);
        if (!M || !c) {
            free(M);
            free(c);
            return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
        }
        for (size_t j = 0; j < d; j++) {
            double a = ds->scale ? ds->scale[j] : 1.0, b = ds->scale ? ds->shift[j] : 0.0;
            if (ds->raw_P) {
                for (size_t q = 0; q < d; q++)
                    M[j * d + q] = a * ds->raw_P[j * d + q];
                c[j] = a * ds->raw_q[j] + b;
            } else {
                M[j] = a;
                c[j] = b;
            }
        }
    }
    lrmlp_preproc_ *p;
    int rc = lrmlp__preproc_make(&p, net->dtype, d, k, flags, M, c, ds->tgt_s, ds->tgt_m);
    free(M);
    free(c);
    if (rc)
        return rc;
    lrmlp__preproc_free(net->prep);
    net->prep = p;
    return LRMLP_OK;
}
