/* Optimizers (GD, SGD, Adam, AdamW, Muon) and learning-rate schedules.
 *
 * The optimizer works on the network's flat parameter and gradient vectors,
 * one contiguous range per weight matrix and per bias vector, using the
 * network's layer table; frozen layers are skipped entirely. Its state
 * vectors (m, v) have the parameter vector's layout.
 *
 * Precision: the per-element kernels are written once, in the first part of
 * this file, and instantiated for float and double (the BLAS s/d pattern):
 * the second part defines REAL, SFX, GEMM and SQRT and includes this file
 * again with LRMLP_OPTIM_KERNELS defined, once per precision.
 *
 * Choices the public header leaves open, made here:
 * - Clipping does not write the gradient vector: the kernels read the
 *   gradient multiplied by the clipping factor.
 * - weight_decay is coupled (g + wd*w) for GD as for SGD, and for Muon's
 *   bias vectors, which follow the SGD rule; Muon's weight matrices use the
 *   header's w -= lr*(scale*NS(M) + wd*w).
 * - AdamW decays first (w *= 1 - lr*wd) and then takes the Adam step, in
 *   PyTorch's order.
 * - State: GD keeps none, SGD and Muon one vector (m) when momentum > 0,
 *   Adam(W) two (m, v). */

#ifdef LRMLP_OPTIM_KERNELS
/* ------------------------------------------------------------------------
 * Kernels for one precision. Expects REAL (float or double), SFX(name)
 * (name_f32 / name_f64), GEMM (cblas_sgemm / cblas_dgemm) and SQRT. */

/* Sum of squares of x[0..n), accumulated in double. */
static double SFX(sumsq)(const REAL *x, size_t n)
{
    /* Eight independent partial sums: the compiler may vectorize them
     * without reassociating, so the result stays deterministic. */
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++)
        acc[0] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* 1 if every x[i] is finite. */
static int SFX(all_finite)(const REAL *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static double SFX(max_abs)(const REAL *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > m)
            m = a;
    }
    return m;
}

/* Sum of squares of x / scale (scale > 0), for gradients whose plain sum of
 * squares overflows. */
static double SFX(sumsq_scaled)(const REAL *x, size_t n, double scale)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = (double)x[i] / scale;
        s += a * a;
    }
    return s;
}

/* GD/SGD on one contiguous range: d = gs*g + wd*w; without state w -= lr*d;
 * with state m = mu*m + d, w -= lr*(nesterov ? d + mu*m : m). */
static void SFX(sgd)(REAL *restrict w, const REAL *restrict g, REAL *restrict m, size_t n,
                     const step_args *a)
{
    const REAL lr = (REAL)a->lr, wd = (REAL)a->wd, gs = (REAL)a->gs, mu = (REAL)a->mu;
    if (!m) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * (gs * g[i] + wd * w[i]);
    } else if (a->nesterov) {
        for (size_t i = 0; i < n; i++) {
            REAL d = gs * g[i] + wd * w[i];
            REAL b = mu * m[i] + d;
            m[i] = b;
            w[i] -= lr * (d + mu * b);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            REAL b = mu * m[i] + (gs * g[i] + wd * w[i]);
            m[i] = b;
            w[i] -= lr * b;
        }
    }
}

/* Adam (decoupled = 0) or AdamW (decoupled = 1) on one contiguous range. */
static void SFX(adam)(REAL *restrict w, const REAL *restrict g, REAL *restrict m,
                      REAL *restrict v, size_t n, const step_args *a, int decoupled)
{
    const REAL gs = (REAL)a->gs, b1 = (REAL)a->b1, b2 = (REAL)a->b2, eps = (REAL)a->eps;
    const REAL c1 = (REAL)(1.0 - a->b1), c2 = (REAL)(1.0 - a->b2);
    const REAL step = (REAL)(a->lr / a->bc1);          /* lr / (1 - b1^t) */
    const REAL bc2s = (REAL)sqrt(a->bc2);              /* sqrt(1 - b2^t) */
    const REAL wdc = decoupled ? (REAL)0 : (REAL)a->wd; /* coupled decay */
    const REAL keep = decoupled ? (REAL)(1.0 - a->lr * a->wd) : (REAL)1;
    for (size_t i = 0; i < n; i++) {
        REAL gi = gs * g[i] + wdc * w[i];
        REAL mi = b1 * m[i] + c1 * gi;
        REAL vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = keep * w[i] - step * mi / (SQRT(vi) / bc2s + eps);
    }
}

/* Muon on one rows x cols weight matrix (row-major). ws holds
 * 2*rows*cols + 2*r*r elements, r = min(rows, cols). */
static void SFX(muon)(REAL *restrict w, const REAL *restrict g, REAL *restrict m,
                      size_t rows, size_t cols, const step_args *a, REAL *ws)
{
    const int trans = rows > cols;
    const size_t r = trans ? cols : rows, c = trans ? rows : cols, n = rows * cols;
    const REAL gs = (REAL)a->gs, mu = (REAL)a->mu;
    REAL *X = ws, *Y = ws + n, *A = ws + 2 * n, *B = A + r * r;

    /* M = momentum-filtered gradient, rows x cols, into Y. */
    if (!m) {
        for (size_t i = 0; i < n; i++)
            Y[i] = gs * g[i];
    } else if (a->nesterov) {
        for (size_t i = 0; i < n; i++) {
            REAL gi = gs * g[i];
            REAL b = mu * m[i] + gi;
            m[i] = b;
            Y[i] = gi + mu * b;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            REAL b = mu * m[i] + gs * g[i];
            m[i] = b;
            Y[i] = b;
        }
    }

    /* X = M / (||M||_F + 1e-7), as r x c with r <= c (M^T when rows > cols). */
    const REAL s = (REAL)(1.0 / (sqrt(SFX(sumsq)(Y, n)) + 1e-7));
    if (!trans) {
        for (size_t i = 0; i < n; i++)
            X[i] = s * Y[i];
    } else {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                X[j * rows + i] = s * Y[i * cols + j];
    }

    /* Quintic Newton-Schulz: A = X X^T; B = nb*A + nc*A*A; X = na*X + B*X. */
    const REAL na = (REAL)3.4445, nb = (REAL)-4.7750, nc = (REAL)2.0315;
    const int ir = (int)r, ic = (int)c;
    for (int k = 0; k < a->ns_steps; k++) {
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, ir, ir, ic, (REAL)1, X, ic, X, ic,
             (REAL)0, A, ir);
        for (size_t i = 0; i < r * r; i++)
            B[i] = nb * A[i];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, ir, ir, ir, nc, A, ir, A, ir,
             (REAL)1, B, ir);
        for (size_t i = 0; i < n; i++)
            Y[i] = na * X[i];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, ir, ic, ir, (REAL)1, B, ir, X, ic,
             (REAL)1, Y, ic);
        REAL *t = X;
        X = Y;
        Y = t;
    }
    if (trans) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                Y[i * cols + j] = X[j * rows + i];
        X = Y;
    }

    /* w -= lr * (sqrt(max(1, rows/cols)) * X + wd * w) */
    const double ratio = (double)rows / (double)cols;
    const REAL scale = (REAL)(ratio > 1.0 ? sqrt(ratio) : 1.0);
    const REAL lr = (REAL)a->lr, wd = (REAL)a->wd;
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * (scale * X[i] + wd * w[i]);
}

/* L2 norm of the gradient over unfrozen layers, in double. Returns 0 and
 * sets *bad to the first layer holding NaN/Inf; otherwise returns 1 with the
 * norm in *norm (finite: squares that overflow are rescaled). */
static int SFX(grad_norm)(const lrmlp_net *net, double *norm, size_t *bad)
{
    const REAL *g = (const REAL *)net->grads;
    double s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        s += SFX(sumsq)(g + L->w_off, L->out * L->in);
        if (L->b_off != SIZE_MAX)
            s += SFX(sumsq)(g + L->b_off, L->out);
    }
    if (isfinite(s)) {
        *norm = sqrt(s);
        return 1;
    }
    /* Either a non-finite entry or an overflow of the squares (doubles only). */
    double mx = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        size_t nb = L->b_off != SIZE_MAX ? L->out : 0;
        if (!SFX(all_finite)(g + L->w_off, L->out * L->in) ||
            (nb && !SFX(all_finite)(g + L->b_off, nb))) {
            *bad = l;
            return 0;
        }
        double a = SFX(max_abs)(g + L->w_off, L->out * L->in);
        double b = nb ? SFX(max_abs)(g + L->b_off, nb) : 0.0;
        if (a > mx)
            mx = a;
        if (b > mx)
            mx = b;
    }
    s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        s += SFX(sumsq_scaled)(g + L->w_off, L->out * L->in, mx);
        if (L->b_off != SIZE_MAX)
            s += SFX(sumsq_scaled)(g + L->b_off, L->out, mx);
    }
    *norm = sqrt(s) * mx;
    return 1;
}

/* One update of every unfrozen layer. */
static void SFX(apply)(lrmlp_optim *opt, lrmlp_net *net, const step_args *a)
{
    REAL *w = (REAL *)net->params;
    const REAL *g = (const REAL *)net->grads;
    REAL *m = (REAL *)opt->m, *v = (REAL *)opt->v;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        const size_t nw = L->out * L->in, wo = L->w_off, bo = L->b_off;
        const int has_b = bo != SIZE_MAX;
        switch (opt->o.kind) {
        case LRMLP_OPTIM_ADAM:
        case LRMLP_OPTIM_ADAMW: {
            int dec = opt->o.kind == LRMLP_OPTIM_ADAMW;
            SFX(adam)(w + wo, g + wo, m + wo, v + wo, nw, a, dec);
            if (has_b)
                SFX(adam)(w + bo, g + bo, m + bo, v + bo, L->out, a, dec);
            break;
        }
        case LRMLP_OPTIM_MUON:
            SFX(muon)(w + wo, g + wo, m ? m + wo : NULL, L->out, L->in, a, (REAL *)opt->ws);
            if (has_b)
                SFX(sgd)(w + bo, g + bo, m ? m + bo : NULL, L->out, a);
            break;
        default: /* GD, SGD */
            SFX(sgd)(w + wo, g + wo, m ? m + wo : NULL, nw, a);
            if (has_b)
                SFX(sgd)(w + bo, g + bo, m ? m + bo : NULL, L->out, a);
            break;
        }
    }
}

#else /* !LRMLP_OPTIM_KERNELS */
/* ------------------------------------------------------------------------
 * The module. */
#include "internal.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Everything one step's kernels need, in double; kernels convert. */
typedef struct step_args {
    double lr, wd, mu;
    double b1, b2, eps, bc1, bc2; /* bc = 1 - beta^t for the step being taken */
    double gs;                    /* gradient scale from clipping (1 = none) */
    int nesterov;
    int ns_steps;
} step_args;

#define LRMLP_OPTIM_KERNELS 1
#define REAL float
#define SFX(name) name##_f32
#define GEMM cblas_sgemm
#define SQRT sqrtf
#include "optim.c"
#undef REAL
#undef SFX
#undef GEMM
#undef SQRT
#define REAL double
#define SFX(name) name##_f64
#define GEMM cblas_dgemm
#define SQRT sqrt
#include "optim.c"
#undef REAL
#undef SFX
#undef GEMM
#undef SQRT
#undef LRMLP_OPTIM_KERNELS

static const double lrmlp_pi = 3.14159265358979323846;

LRMLP_API int lrmlp_optim_options_init(lrmlp_optim_options *opts, unsigned int version)
{
    if (!opts)
        return lrmlp__last_err(LRMLP_ERR_INVALID, "lrmlp_optim_options_init: opts is NULL");
    if (version != LRMLP_OPTIM_OPTIONS_VERSION)
        return lrmlp__last_err(LRMLP_ERR_VERSION,
                               "lrmlp_optim_options_init: unknown options version %u", version);
    const lrmlp_optim_options def = LRMLP_OPTIM_OPTIONS_INIT;
    *opts = def;
    return LRMLP_OK;
}

static int in_unit(double x) { return x >= 0.0 && x < 1.0; } /* false for NaN */

/* Checks every field; the message (errbuf may be NULL) names the first bad one. */
static int validate(const lrmlp_optim_options *o, char *errbuf)
{
    if (!o)
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID, "optimizer options are NULL");
    if (o->version != LRMLP_OPTIM_OPTIONS_VERSION)
        return lrmlp__err(errbuf, LRMLP_ERR_VERSION,
                          "optimizer options: unknown version %u (this library knows %u)",
                          o->version, (unsigned)LRMLP_OPTIM_OPTIONS_VERSION);
    if ((int)o->kind < 0 || (int)o->kind >= (int)LRMLP_OPTIM_COUNT_)
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID, "optimizer options: unknown kind %d",
                          (int)o->kind);
    if (!(isfinite(o->lr) && o->lr > 0.0))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: lr must be finite and > 0 (got %g)", o->lr);
    if (!in_unit(o->momentum))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: momentum must be in [0, 1) (got %g)", o->momentum);
    if (!in_unit(o->beta1))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: beta1 must be in [0, 1) (got %g)", o->beta1);
    if (!in_unit(o->beta2))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: beta2 must be in [0, 1) (got %g)", o->beta2);
    if (!(isfinite(o->eps) && o->eps > 0.0))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: eps must be finite and > 0 (got %g)", o->eps);
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0.0))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: weight_decay must be finite and >= 0 (got %g)",
                          o->weight_decay);
    if (!(isfinite(o->clip_norm) && o->clip_norm >= 0.0))
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: clip_norm must be finite and >= 0 (got %g)",
                          o->clip_norm);
    if (o->ns_steps < 1 || o->ns_steps > 100)
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                          "optimizer options: ns_steps must be in 1..100 (got %d)", o->ns_steps);
    switch (o->schedule) {
    case LRMLP_SCHEDULE_CONSTANT:
        break;
    case LRMLP_SCHEDULE_COSINE:
        if (o->total_steps <= o->warmup_steps)
            return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                              "optimizer options: total_steps (%llu) must exceed warmup_steps "
                              "(%llu) for the cosine schedule",
                              (unsigned long long)o->total_steps,
                              (unsigned long long)o->warmup_steps);
        if (!(isfinite(o->min_lr) && o->min_lr >= 0.0))
            return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                              "optimizer options: min_lr must be finite and >= 0 (got %g)",
                              o->min_lr);
        break;
    case LRMLP_SCHEDULE_STEP:
        if (o->step_size < 1)
            return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                              "optimizer options: step_size must be >= 1 for the step schedule");
        if (!(isfinite(o->gamma) && o->gamma > 0.0))
            return lrmlp__err(errbuf, LRMLP_ERR_INVALID,
                              "optimizer options: gamma must be finite and > 0 (got %g)",
                              o->gamma);
        break;
    default:
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID, "optimizer options: unknown schedule %d",
                          (int)o->schedule);
    }
    return LRMLP_OK;
}

/* The schedule of valid options. */
static double schedule_lr(const lrmlp_optim_options *o, uint64_t t)
{
    if (t < o->warmup_steps)
        return o->lr * ((double)(t + 1) / (double)o->warmup_steps);
    const uint64_t s = t - o->warmup_steps;
    switch (o->schedule) {
    case LRMLP_SCHEDULE_STEP:
        return o->lr * pow(o->gamma, (double)(s / o->step_size));
    case LRMLP_SCHEDULE_COSINE: {
        const uint64_t T = o->total_steps - o->warmup_steps;
        const double x = (double)(s < T ? s : T) / (double)T;
        return o->min_lr + (o->lr - o->min_lr) * (1.0 + cos(lrmlp_pi * x)) / 2.0;
    }
    default:
        return o->lr;
    }
}

LRMLP_API double lrmlp_schedule_lr(const lrmlp_optim_options *opts, uint64_t t)
{
    if (validate(opts, NULL) != LRMLP_OK)
        return NAN;
    return schedule_lr(opts, t);
}

static size_t n_state_for(const lrmlp_optim_options *o)
{
    switch (o->kind) {
    case LRMLP_OPTIM_ADAM:
    case LRMLP_OPTIM_ADAMW:
        return 2;
    case LRMLP_OPTIM_SGD:
    case LRMLP_OPTIM_MUON:
        return o->momentum > 0.0 ? 1 : 0;
    default:
        return 0;
    }
}

size_t lrmlp__optim_n_state(const lrmlp_optim *opt)
{
    return opt ? n_state_for(&opt->o) : 0;
}

/* Muon workspace in elements: the largest 2*rows*cols + 2*r*r over layers. */
static int muon_ws_elems(const lrmlp_net *net, size_t *out, char *errbuf)
{
    size_t best = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t rows = net->layers[l].out, cols = net->layers[l].in;
        const size_t r = rows < cols ? rows : cols;
        size_t rc, rr, sum;
        if (rows > INT_MAX || cols > INT_MAX || !lrmlp__mul_ok(rows, cols, &rc) ||
            !lrmlp__mul_ok(r, r, &rr) || !lrmlp__add_ok(rc, rr, &sum) ||
            !lrmlp__mul_ok(sum, 2, &sum))
            return lrmlp__err(errbuf, LRMLP_ERR_UNSUPPORTED,
                              "Muon: layer %zu (%zu x %zu) is too large for BLAS", l, rows, cols);
        if (sum > best)
            best = sum;
    }
    *out = best;
    return LRMLP_OK;
}

LRMLP_API void lrmlp_optim_free(lrmlp_optim *opt)
{
    if (!opt)
        return;
    free(opt->widths);
    free(opt->m);
    free(opt->v);
    free(opt->ws);
    free(opt);
}

int lrmlp__optim_alloc(lrmlp_optim **out, const lrmlp_net *net,
                       const lrmlp_optim_options *opts, char *errbuf)
{
    if (out)
        *out = NULL;
    if (!out || !net)
        return lrmlp__err(errbuf, LRMLP_ERR_INVALID, "lrmlp_optim_create: %s is NULL",
                          !out ? "out" : "net");
    int rc = validate(opts, errbuf);
    if (rc != LRMLP_OK)
        return rc;
    const size_t esize = lrmlp__dtype_size(net->dtype);
    if (esize == 0)
        return lrmlp__err(errbuf, LRMLP_ERR_DTYPE, "lrmlp_optim_create: network has no valid dtype");

    size_t ws_elems = 0, ws_bytes = 0, state_bytes;
    if (opts->kind == LRMLP_OPTIM_MUON) {
        rc = muon_ws_elems(net, &ws_elems, errbuf);
        if (rc != LRMLP_OK)
            return rc;
        if (!lrmlp__mul_ok(ws_elems, esize, &ws_bytes))
            return lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "Muon workspace size overflows");
    }
    if (!lrmlp__mul_ok(net->n_params, esize, &state_bytes))
        return lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "optimizer state size overflows");

    lrmlp_optim *o = calloc(1, sizeof *o);
    if (!o)
        return lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "out of memory allocating an optimizer");
    o->o = *opts;
    o->dtype = net->dtype;
    o->n_layers = net->n_layers;
    o->bias = net->bias;
    o->n_params = net->n_params;
    o->widths = malloc((net->n_layers + 1) * sizeof *o->widths);
    const size_t ns = n_state_for(opts);
    int ok = o->widths != NULL;
    if (ok && ns >= 1)
        ok = (o->m = calloc(state_bytes ? state_bytes : 1, 1)) != NULL;
    if (ok && ns >= 2)
        ok = (o->v = calloc(state_bytes ? state_bytes : 1, 1)) != NULL;
    if (ok && ws_bytes)
        ok = (o->ws = malloc(ws_bytes)) != NULL;
    if (!ok) {
        lrmlp_optim_free(o);
        return lrmlp__err(errbuf, LRMLP_ERR_NOMEM, "out of memory allocating optimizer state");
    }
    memcpy(o->widths, net->widths, (net->n_layers + 1) * sizeof *o->widths);
    o->ws_size = ws_bytes;
    *out = o;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_optim_create(lrmlp_optim **out, const lrmlp_net *net,
                                 const lrmlp_optim_options *opts)
{
    char buf[LRMLP_ERRMSG_LEN];
    int rc = lrmlp__optim_alloc(out, net, opts, buf);
    if (rc != LRMLP_OK)
        return lrmlp__last_err_copy(rc, buf);
    return LRMLP_OK;
}

LRMLP_API const char *lrmlp_optim_errmsg(const lrmlp_optim *opt)
{
    return opt ? opt->errmsg : "optimizer handle is NULL";
}

LRMLP_API int lrmlp_optim_get_options(const lrmlp_optim *opt, lrmlp_optim_options *opts)
{
    if (!opt || !opts)
        return LRMLP_ERR_INVALID;
    *opts = opt->o;
    return LRMLP_OK;
}

/* LRMLP_OK if net has the shape the optimizer was made for. */
static int check_shape(lrmlp_optim *opt, const lrmlp_net *net)
{
    if (net->dtype != opt->dtype)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_DTYPE,
                          "optimizer was created for a %s network, got a %s one",
                          opt->dtype == LRMLP_F64 ? "float64" : "float32",
                          net->dtype == LRMLP_F64 ? "float64" : "float32");
    if (net->n_layers != opt->n_layers)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_SHAPE,
                          "optimizer was created for %zu layers, network has %zu",
                          opt->n_layers, net->n_layers);
    for (size_t i = 0; i <= net->n_layers; i++)
        if (net->widths[i] != opt->widths[i])
            return lrmlp__err(opt->errmsg, LRMLP_ERR_SHAPE,
                              "optimizer was created for width %zu = %zu, network has %zu", i,
                              opt->widths[i], net->widths[i]);
    if (!net->bias != !opt->bias)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_SHAPE,
                          "optimizer was created for a network %s biases", opt->bias ? "with" : "without");
    if (net->n_params != opt->n_params)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_SHAPE,
                          "optimizer was created for %zu parameters, network has %zu",
                          opt->n_params, net->n_params);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_optim_step(lrmlp_optim *opt, lrmlp_net *net)
{
    if (!opt)
        return LRMLP_ERR_INVALID;
    if (!net)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_INVALID, "lrmlp_optim_step: net is NULL");
    int rc = check_shape(opt, net);
    if (rc != LRMLP_OK)
        return rc;

    double norm = 0.0;
    size_t bad = 0;
    int finite = opt->dtype == LRMLP_F32 ? grad_norm_f32(net, &norm, &bad)
                                         : grad_norm_f64(net, &norm, &bad);
    if (!finite)
        return lrmlp__err(opt->errmsg, LRMLP_ERR_DIVERGED,
                          "gradient of layer %zu holds NaN or Inf; nothing was changed", bad);

    const lrmlp_optim_options *o = &opt->o;
    step_args a;
    a.lr = schedule_lr(o, opt->t);
    a.wd = o->weight_decay;
    a.mu = o->momentum;
    a.nesterov = o->nesterov != 0;
    a.b1 = o->beta1;
    a.b2 = o->beta2;
    a.eps = o->eps;
    a.bc1 = 1.0 - pow(o->beta1, (double)opt->t + 1.0);
    a.bc2 = 1.0 - pow(o->beta2, (double)opt->t + 1.0);
    a.ns_steps = o->ns_steps;
    a.gs = (o->clip_norm > 0.0 && norm > o->clip_norm) ? o->clip_norm / norm : 1.0;

    if (opt->dtype == LRMLP_F32)
        apply_f32(opt, net, &a);
    else
        apply_f64(opt, net, &a);
    opt->t++;
    opt->last_grad_norm = norm;
    return LRMLP_OK;
}

LRMLP_API uint64_t lrmlp_optim_steps(const lrmlp_optim *opt) { return opt ? opt->t : 0; }

LRMLP_API double lrmlp_optim_current_lr(const lrmlp_optim *opt)
{
    return opt ? schedule_lr(&opt->o, opt->t) : NAN;
}

LRMLP_API double lrmlp_optim_last_grad_norm(const lrmlp_optim *opt)
{
    return opt ? opt->last_grad_norm : NAN;
}

LRMLP_API void lrmlp_optim_reset(lrmlp_optim *opt)
{
    if (!opt)
        return;
    const size_t bytes = opt->n_params * lrmlp__dtype_size(opt->dtype);
    if (opt->m)
        memset(opt->m, 0, bytes);
    if (opt->v)
        memset(opt->v, 0, bytes);
    opt->t = 0;
    opt->last_grad_norm = 0.0;
}

LRMLP_API const char *lrmlp_optim_kind_name(lrmlp_optim_kind kind)
{
    switch (kind) {
    case LRMLP_OPTIM_GD: return "gd";
    case LRMLP_OPTIM_SGD: return "sgd";
    case LRMLP_OPTIM_ADAM: return "adam";
    case LRMLP_OPTIM_ADAMW: return "adamw";
    case LRMLP_OPTIM_MUON: return "muon";
    default: return NULL;
    }
}

#endif /* LRMLP_OPTIM_KERNELS */
