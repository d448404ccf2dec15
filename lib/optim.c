/* Optimizers (GD, SGD, Adam, AdamW, Muon) and learning-rate schedules.
 *
 * The optimizer works on the network's flat parameter and gradient vectors,
 * one contiguous range per weight matrix and per bias vector, using the
 * network's layer table; frozen layers are skipped entirely. Its state
 * vectors (m, v) have the parameter vector's layout.
 *
 * Precision: the per-element kernels are written once, in optim_impl.h,
 * and instantiated here for float and double (the BLAS s/d pattern).
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

#include "internal.h"
#include "kernel.h"
#include "numerics.h"

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

/* Elements per tile of the element-wise passes (optim_impl.h tile_work):
 * 64 KiB of float gradient, which stays in L2 between the two reads of the
 * dry run. */
#define OPT_TILE ((size_t)16384)
/* Steps over fewer parameters than this run on the calling thread only:
 * waking a helper costs more than it saves. */
#define OPT_PARALLEL_MIN ((size_t)4 * OPT_TILE)

/* One tiled pass of a step (optim_impl.h tile_work) over the first n_tiles
 * of opt->tiles. */
typedef struct tile_job_ {
    lrmlp_optim *opt;
    lrmlp_net *net;
    const step_args *a;
    size_t n_tiles;
    int dry;
} tile_job_;

#include "real_f32.h"
#include "optim_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "optim_impl.h"
#include "real_undef.h"

static const double lrmlp_pi = 3.14159265358979323846;

LRMLP__OPTS_TYPE(optim_opts_type, lrmlp_optim_options, LRMLP_OPTIM_OPTIONS_VERSION,
                 LRMLP_OPTIM_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_optim_options, warmup_steps));

LRMLP_API int lrmlp_optim_options_init(lrmlp_optim_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&optim_opts_type, opts, version);
}

static int in_unit(double x) { return x >= 0.0 && x < 1.0; } /* false for NaN */

/* Reads the caller's options into *o (a current-version struct) and checks
 * every field; the message names the first bad one. */
static int validate(const lrmlp_optim_options *user, lrmlp_optim_options *o)
{
    if (!user)
        return lrmlp__err(LRMLP_ERR_INVALID, "optimizer options are NULL");
    int rc = lrmlp__opts_read(&optim_opts_type, user, o, "optimizer options");
    if (rc != LRMLP_OK)
        return rc;
    if ((int)o->kind < 0 || (int)o->kind >= (int)LRMLP_OPTIM_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "optimizer options: unknown kind %d",
                          (int)o->kind);
    if (!(isfinite(o->lr) && o->lr > 0.0))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: lr must be finite and > 0 (got %g)", o->lr);
    if (!in_unit(o->momentum))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: momentum must be in [0, 1) (got %g)", o->momentum);
    if (!in_unit(o->beta1))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: beta1 must be in [0, 1) (got %g)", o->beta1);
    if (!in_unit(o->beta2))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: beta2 must be in [0, 1) (got %g)", o->beta2);
    if (!(isfinite(o->eps) && o->eps > 0.0))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: eps must be finite and > 0 (got %g)", o->eps);
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0.0))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: weight_decay must be finite and >= 0 (got %g)",
                          o->weight_decay);
    if (!(isfinite(o->clip_norm) && o->clip_norm >= 0.0))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: clip_norm must be finite and >= 0 (got %g)",
                          o->clip_norm);
    if (o->ns_steps < 1 || o->ns_steps > 100)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "optimizer options: ns_steps must be in 1..100 (got %d)", o->ns_steps);
    switch (o->schedule) {
    case LRMLP_SCHEDULE_CONSTANT:
        break;
    case LRMLP_SCHEDULE_COSINE:
        if (o->total_steps <= o->warmup_steps)
            return lrmlp__err(LRMLP_ERR_INVALID,
                              "optimizer options: total_steps (%llu) must exceed warmup_steps "
                              "(%llu) for the cosine schedule",
                              (unsigned long long)o->total_steps,
                              (unsigned long long)o->warmup_steps);
        if (!(isfinite(o->min_lr) && o->min_lr >= 0.0))
            return lrmlp__err(LRMLP_ERR_INVALID,
                              "optimizer options: min_lr must be finite and >= 0 (got %g)",
                              o->min_lr);
        break;
    case LRMLP_SCHEDULE_STEP:
        if (o->step_size < 1)
            return lrmlp__err(LRMLP_ERR_INVALID,
                              "optimizer options: step_size must be >= 1 for the step schedule");
        if (!(isfinite(o->gamma) && o->gamma > 0.0))
            return lrmlp__err(LRMLP_ERR_INVALID,
                              "optimizer options: gamma must be finite and > 0 (got %g)",
                              o->gamma);
        break;
    default:
        return lrmlp__err(LRMLP_ERR_INVALID, "optimizer options: unknown schedule %d",
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
    lrmlp_optim_options o;
    if (validate(opts, &o) != LRMLP_OK)
        return NAN;
    return schedule_lr(&o, t);
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
static int muon_ws_elems(const lrmlp_net *net, size_t *out)
{
    size_t best = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t rows = net->layers[l].out, cols = net->layers[l].in;
        const size_t r = rows < cols ? rows : cols;
        size_t rc, rr, sum;
        if (!lrmlp__blas_int_ok(rows) || !lrmlp__blas_int_ok(cols) ||
            !lrmlp__mul_ok(rows, cols, &rc) ||
            !lrmlp__mul_ok(r, r, &rr) || !lrmlp__add_ok(rc, rr, &sum) ||
            !lrmlp__mul_ok(sum, 2, &sum))
            return lrmlp__err(LRMLP_ERR_UNSUPPORTED,
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
    free(opt->lr_scale);
    free(opt->tiles);
    free(opt->tile_sq);
    free(opt->tile_ok);
    lrmlp__pool_free(opt->pool);
    free(opt);
}

int lrmlp__optim_alloc(lrmlp_optim **out, const lrmlp_net *net,
                       const lrmlp_optim_options *user_opts)
{
    if (out)
        *out = NULL;
    if (!out || !net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_optim_create: %s is NULL",
                          !out ? "out" : "net");
    lrmlp_optim_options full;
    int rc = validate(user_opts, &full);
    if (rc != LRMLP_OK)
        return rc;
    const lrmlp_optim_options *opts = &full;
    const size_t esize = lrmlp__dtype_size(net->dtype);
    if (esize == 0)
        return lrmlp__err(LRMLP_ERR_DTYPE, "lrmlp_optim_create: network has no valid dtype");

    size_t ws_elems = 0, ws_bytes = 0, state_bytes;
    if (opts->kind == LRMLP_OPTIM_MUON) {
        rc = muon_ws_elems(net, &ws_elems);
        if (rc != LRMLP_OK)
            return rc;
        if (!lrmlp__mul_ok(ws_elems, esize, &ws_bytes))
            return lrmlp__err(LRMLP_ERR_NOMEM, "Muon workspace size overflows");
    }
    if (!lrmlp__mul_ok(net->n_params, esize, &state_bytes))
        return lrmlp__err(LRMLP_ERR_NOMEM, "optimizer state size overflows");

    lrmlp_optim *o = calloc(1, sizeof *o);
    if (!o)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory allocating an optimizer");
    o->o = *opts;
    o->dtype = net->dtype;
    o->n_layers = net->n_layers;
    o->bias = net->bias;
    o->n_params = net->n_params;
    o->widths = malloc((net->n_layers + 1) * sizeof *o->widths);
    o->lr_scale = malloc(net->n_layers * sizeof *o->lr_scale);
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t out = net->layers[l].out, nw = out * net->layers[l].in;
        o->max_tiles += (nw + OPT_TILE - 1) / OPT_TILE;
        if (net->layers[l].b_off != SIZE_MAX)
            o->max_tiles += (out + OPT_TILE - 1) / OPT_TILE;
    }
    o->tiles = malloc((o->max_tiles ? o->max_tiles : 1) * sizeof *o->tiles);
    o->tile_sq = malloc((o->max_tiles ? o->max_tiles : 1) * sizeof *o->tile_sq);
    o->tile_ok = malloc((o->max_tiles ? o->max_tiles : 1) * sizeof *o->tile_ok);
    const size_t ns = n_state_for(opts);
    int ok = o->widths != NULL && o->lr_scale != NULL && o->tiles != NULL && o->tile_sq != NULL &&
             o->tile_ok != NULL;
    if (ok && ns >= 1)
        ok = (o->m = lrmlp__big_alloc(state_bytes, 1)) != NULL;
    if (ok && ns >= 2)
        ok = (o->v = lrmlp__big_alloc(state_bytes, 1)) != NULL;
    if (ok && ws_bytes)
        ok = (o->ws = lrmlp__big_alloc(ws_bytes, 0)) != NULL;
    if (!ok) {
        lrmlp_optim_free(o);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory allocating optimizer state");
    }
    memcpy(o->widths, net->widths, (net->n_layers + 1) * sizeof *o->widths);
    for (size_t l = 0; l < net->n_layers; l++)
        o->lr_scale[l] = 1.0;
    o->ws_size = ws_bytes;
    *out = o;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_optim_create(lrmlp_optim **out, const lrmlp_net *net,
                                 const lrmlp_optim_options *opts)
{
    return lrmlp__optim_alloc(out, net, opts);
}

LRMLP_API int lrmlp_optim_get_options(const lrmlp_optim *opt, lrmlp_optim_options *opts)
{
    if (!opt || !opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_optim_get_options: NULL argument");
    *opts = opt->o;
    return LRMLP_OK;
}

/* LRMLP_OK if net has the shape the optimizer was made for. */
static int check_shape(lrmlp_optim *opt, const lrmlp_net *net)
{
    if (net->dtype != opt->dtype)
        return lrmlp__err(LRMLP_ERR_DTYPE,
                          "optimizer was created for a %s network, got a %s one",
                          opt->dtype == LRMLP_F64 ? "float64" : "float32",
                          net->dtype == LRMLP_F64 ? "float64" : "float32");
    if (net->n_layers != opt->n_layers)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "optimizer was created for %zu layers, network has %zu",
                          opt->n_layers, net->n_layers);
    for (size_t i = 0; i <= net->n_layers; i++)
        if (net->widths[i] != opt->widths[i])
            return lrmlp__err(LRMLP_ERR_SHAPE,
                              "optimizer was created for width %zu = %zu, network has %zu", i,
                              opt->widths[i], net->widths[i]);
    if (!net->bias != !opt->bias)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "optimizer was created for a network %s biases", opt->bias ? "with" : "without");
    if (net->n_params != opt->n_params)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "optimizer was created for %zu parameters, network has %zu",
                          opt->n_params, net->n_params);
    return LRMLP_OK;
}

/* The tiled dry run: whether every tile's update stays finite, and in *sq
 * the gradient's sum of squares, summed in tile order. */
static int dry_run(lrmlp_optim *opt, tile_job_ *job, size_t threads, lrmlp__pool_fn work,
                   double *sq)
{
    job->dry = 1;
    lrmlp__pool_run(&opt->pool, threads, job->n_tiles, work, job);
    double s = 0.0;
    int ok = 1;
    for (size_t t = 0; t < job->n_tiles; t++) {
        s += opt->tile_sq[t];
        ok &= opt->tile_ok[t];
    }
    *sq = s;
    return ok;
}

LRMLP_API int lrmlp_optim_step(lrmlp_optim *opt, lrmlp_net *net)
{
    if (!opt)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_optim_step: optimizer is NULL");
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_optim_step: net is NULL");
    int rc = check_shape(opt, net);
    if (rc != LRMLP_OK)
        return rc;

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
    a.gs = 1.0;
    int f32 = opt->dtype == LRMLP_F32;

    /* All or nothing: a dry run first, so that an update leaving any weight
     * or state value non-finite changes nothing at all. Without clipping
     * the update does not depend on the gradient's norm, so the dry run and
     * the norm share one tiled pass over the gradient (tile_work); a
     * non-finite or overflowing sum of squares takes the general path, which
     * names the bad layer and rescales. The element-wise passes of GD, SGD
     * and Adam(W) run on as many threads as OpenBLAS has (optim.h). */
    const int tiled = o->kind != LRMLP_OPTIM_MUON;
    tile_job_ job = {opt, net, &a, 0, 1};
    size_t threads = 1, n_elems = 0;
    if (tiled) {
        for (size_t l = 0; l < net->n_layers; l++) {
            const lrmlp_layer_ *L = &net->layers[l];
            if (L->frozen)
                continue;
            for (int part = 0; part < 2; part++) {
                size_t off = part ? L->b_off : L->w_off, n = part ? L->out : L->out * L->in;
                for (size_t t = 0; off != SIZE_MAX && t < n; t += OPT_TILE)
                    opt->tiles[job.n_tiles++] =
                        (lrmlp__tile){off + t, n - t < OPT_TILE ? n - t : OPT_TILE, l};
                n_elems += off != SIZE_MAX ? n : 0;
            }
        }
        const int bt = lrmlp_blas_threads();
        threads = n_elems >= OPT_PARALLEL_MIN && bt > 1 ? (size_t)bt : 1;
    }
    lrmlp__pool_fn work = f32 ? tile_work_f32 : tile_work_f64;
    double norm = 0.0, sq = NAN;
    int ok = 0;
    if (o->clip_norm == 0.0 && tiled)
        ok = dry_run(opt, &job, threads, work, &sq);
    if (!isfinite(sq)) {
        size_t bad = 0;
        int finite = f32 ? grad_norm_f32(net, &norm, &bad) : grad_norm_f64(net, &norm, &bad);
        if (!finite)
            return lrmlp__err(LRMLP_ERR_DIVERGED,
                              "gradient of layer %zu holds NaN or Inf; nothing was changed",
                              bad);
        a.gs = (o->clip_norm > 0.0 && norm > o->clip_norm) ? o->clip_norm / norm : 1.0;
        if (tiled)
            ok = dry_run(opt, &job, threads, work, &sq); /* same tiles as the update */
        else
            ok = f32 ? apply_f32(opt, net, &a, 1) : apply_f64(opt, net, &a, 1);
    } else {
        norm = sqrt(sq);
    }
    if (!ok)
        return lrmlp__err(LRMLP_ERR_DIVERGED,
                          "the update (learning rate %g) would make weights or optimizer "
                          "state not finite; nothing was changed", a.lr);
    if (tiled) {
        job.dry = 0;
        lrmlp__pool_run(&opt->pool, threads, job.n_tiles, work, &job);
    } else if (f32) {
        apply_f32(opt, net, &a, 0);
    } else {
        apply_f64(opt, net, &a, 0);
    }
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

#define KIND_NAME_(name, value, str) [LRMLP_OPTIM_##name] = str,
LRMLP__NAME_TABLE(kind_names, LRMLP_OPTIM_KIND_MAP, KIND_NAME_, LRMLP_OPTIM_COUNT_);
#undef KIND_NAME_
#define SCHEDULE_NAME_(name, value, str) [LRMLP_SCHEDULE_##name] = str,
LRMLP__NAME_TABLE(schedule_names, LRMLP_SCHEDULE_MAP, SCHEDULE_NAME_, LRMLP_SCHEDULE_COUNT_);
#undef SCHEDULE_NAME_

LRMLP_API const char *lrmlp_optim_kind_name(lrmlp_optim_kind kind)
{
    return lrmlp__enum_name(kind_names, LRMLP_OPTIM_COUNT_, (int)kind);
}

LRMLP_API const char *lrmlp_schedule_name(lrmlp_schedule schedule)
{
    return lrmlp__enum_name(schedule_names, LRMLP_SCHEDULE_COUNT_, (int)schedule);
}


LRMLP_API int lrmlp_optim_set_layer_lr_scale(lrmlp_optim *opt, size_t layer, double scale)
{
    if (!opt)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_optim_set_layer_lr_scale: optimizer is NULL");
    if (layer >= opt->n_layers)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "layer %zu out of range (the optimizer has %zu)", layer, opt->n_layers);
    if (!isfinite(scale) || scale < 0)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "learning-rate scale must be finite and >= 0 (got %g)", scale);
    opt->lr_scale[layer] = scale;
    return LRMLP_OK;
}

LRMLP_API double lrmlp_optim_layer_lr_scale(const lrmlp_optim *opt, size_t layer)
{
    return opt && layer < opt->n_layers ? opt->lr_scale[layer] : NAN;
}
