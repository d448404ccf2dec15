/* The dense network: creation, parameter access, initializers and the
 * forward/backward passes (net_impl.h, instantiated for float and double). */
#include "internal.h"
#include "numerics.h"

#include <cblas.h>
#include <lapacke.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INIT_NAME_(name, value, str) [LRMLP_INIT_##name] = str,
LRMLP__NAME_TABLE(init_names, LRMLP_INIT_MAP, INIT_NAME_, LRMLP_INIT_COUNT_);
#undef INIT_NAME_

LRMLP_API const char *lrmlp_init_name(lrmlp_init init)
{
    return lrmlp__enum_name(init_names, LRMLP_INIT_COUNT_, (int)init);
}

LRMLP__OPTS_TYPE(net_opts_type, lrmlp_net_options, LRMLP_NET_OPTIONS_VERSION,
                 LRMLP_NET_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_net_options, init_scale));

LRMLP_API int lrmlp_net_options_init(lrmlp_net_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&net_opts_type, opts, version);
}

static void free_workspace(lrmlp_net *net)
{
    free(net->ws);
    free(net->h);
    free(net->dact);
    net->ws = NULL;
    net->h = NULL;
    net->dact = NULL;
    net->delta[0] = net->delta[1] = net->delta[2] = NULL;
    net->ws_n = 0;
}

LRMLP_API void lrmlp_net_free(lrmlp_net *net)
{
    if (!net)
        return;
    free_workspace(net);
    lrmlp__preproc_free(net->prep);
    free(net->iws);
    lrmlp__adapter_free(net->adapter);
    free(net->tbuf);
    free(net->widths);
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net);
}

int lrmlp__net_alloc(lrmlp_net **out, lrmlp_dtype dtype, size_t n_layers, const size_t *widths,
                     const lrmlp_activation *acts, int bias, uint64_t seed)
{
    *out = NULL;
    if (dtype != LRMLP_F32 && dtype != LRMLP_F64)
        return lrmlp__err(LRMLP_ERR_INVALID, "dtype must be LRMLP_F32 or LRMLP_F64");
    if (n_layers < 1 || n_layers > 4096)
        return lrmlp__err(LRMLP_ERR_INVALID, "n_layers must be in [1, 4096], got %zu",
                          n_layers);
    if (!widths)
        return lrmlp__err(LRMLP_ERR_INVALID, "widths is NULL");
    size_t total = 0;
    for (size_t i = 0; i <= n_layers; i++) {
        if (widths[i] < 1 || widths[i] > ((size_t)1 << 30))
            return lrmlp__err(LRMLP_ERR_INVALID, "width %zu is %zu (must be 1..2^30)",
                              i, widths[i]);
    }
    for (size_t l = 0; l < n_layers; l++) {
        size_t w;
        if (acts && ((int)acts[l] < 0 || acts[l] >= LRMLP_ACT_COUNT_))
            return lrmlp__err(LRMLP_ERR_INVALID, "activation of layer %zu is invalid", l);
        if (!lrmlp__mul_ok(widths[l], widths[l + 1], &w) || !lrmlp__add_ok(total, w, &total) ||
            (bias && !lrmlp__add_ok(total, widths[l + 1], &total)))
            return lrmlp__err(LRMLP_ERR_INVALID, "parameter count overflows");
    }
    size_t bytes;
    if (!lrmlp__mul_ok(total, lrmlp__dtype_size(dtype), &bytes) || bytes > ((size_t)1 << 40))
        return lrmlp__err(LRMLP_ERR_INVALID, "network too large (%zu parameters)", total);

    lrmlp_net *net = calloc(1, sizeof *net);
    if (!net)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    net->dtype = dtype;
    net->n_layers = n_layers;
    net->bias = bias ? 1 : 0;
    net->n_params = total;
    net->widths = malloc((n_layers + 1) * sizeof *net->widths);
    net->layers = calloc(n_layers, sizeof *net->layers);
    net->params = lrmlp__big_alloc(bytes, 1);
    net->grads = lrmlp__big_alloc(bytes, 1);
    if (!net->widths || !net->layers || !net->params || !net->grads) {
        lrmlp_net_free(net);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for %zu parameters", total);
    }
    memcpy(net->widths, widths, (n_layers + 1) * sizeof *widths);
    size_t off = 0;
    for (size_t l = 0; l < n_layers; l++) {
        lrmlp_layer_ *ly = &net->layers[l];
        ly->in = widths[l];
        ly->out = widths[l + 1];
        ly->act = acts ? acts[l] : LRMLP_ACT_IDENTITY;
        ly->w_off = off;
        off += ly->in * ly->out;
        if (bias) {
            ly->b_off = off;
            off += ly->out;
        } else {
            ly->b_off = SIZE_MAX;
        }
    }
    lrmlp__rng_seed(&net->rng, seed);
    *out = net;
    return LRMLP_OK;
}

static void param_set(lrmlp_net *net, size_t i, double v)
{
    if (net->dtype == LRMLP_F32)
        ((float *)net->params)[i] = (float)v;
    else
        ((double *)net->params)[i] = v;
}

/* W = scale * Q with orthonormal columns (out >= in) or rows (out < in):
 * Householder QR of a Gaussian matrix, signs fixed by diag(R) so that Q is
 * Haar distributed. */
static int init_orthogonal(lrmlp_net *net, const lrmlp_layer_ *ly, double scale)
{
    size_t rows = ly->out > ly->in ? ly->out : ly->in; /* tall orientation */
    size_t cols = ly->out > ly->in ? ly->in : ly->out;
    double *A = malloc(rows * cols * sizeof *A);
    double *tau = malloc(cols * sizeof *tau);
    if (!A || !tau) {
        free(A);
        free(tau);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory in orthogonal init");
    }
    for (size_t i = 0; i < rows * cols; i++)
        A[i] = lrmlp__rng_normal(&net->rng);
    int rc = lrmlp__qr(A, rows, cols, cols, cols, tau, 1, NULL);
    if (rc == LRMLP_OK) {
        /* Q is rows x cols; W (out x in) is Q or Q^T. */
        for (size_t i = 0; i < rows; i++) {
            for (size_t j = 0; j < cols; j++) {
                double v = scale * A[i * cols + j];
                size_t idx = ly->out >= ly->in ? i * ly->in + j : j * ly->in + i;
                param_set(net, ly->w_off + idx, v);
            }
        }
    }
    free(A);
    free(tau);
    return rc;
}

static int check_layer(const lrmlp_net *net, size_t layer)
{
    if (layer >= net->n_layers)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "layer %zu out of range (network has %zu)", layer, net->n_layers);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_init_layer(lrmlp_net *net, size_t layer, lrmlp_init init, double scale)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_init_layer: network is NULL");
    int rc = check_layer(net, layer);
    if (rc)
        return rc;
    if ((int)init < 0 || init >= LRMLP_INIT_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown initializer %d", (int)init);
    if (!isfinite(scale) || scale < 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "init scale must be finite and >= 0");
    const lrmlp_layer_ *ly = &net->layers[layer];
    size_t nw = ly->in * ly->out;
    double fan_in = (double)ly->in, fan_out = (double)ly->out;
    double a = 0, s = 0;
    switch (init) {
    case LRMLP_INIT_ORTHOGONAL:
        a = scale; /* for the bound below: |Q_ij| <= 1 */
        break;
    case LRMLP_INIT_TORCH_DEFAULT:
        a = 1.0 / sqrt(fan_in);
        break;
    case LRMLP_INIT_GAUSSIAN:
        s = scale;
        break;
    case LRMLP_INIT_XAVIER_UNIFORM:
        a = scale * sqrt(6.0 / (fan_in + fan_out));
        break;
    case LRMLP_INIT_XAVIER_NORMAL:
        s = scale * sqrt(2.0 / (fan_in + fan_out));
        break;
    case LRMLP_INIT_HE_UNIFORM:
        a = scale * sqrt(6.0 / fan_in);
        break;
    case LRMLP_INIT_HE_NORMAL:
        s = scale * sqrt(2.0 / fan_in);
        break;
    default:
        break;
    }
    /* Refuse, before anything is drawn or written, a scale for which some
     * weight could overflow the dtype: uniform values are within a, normal
     * ones within 8.6 s (Box-Muller from 53-bit uniforms). */
    double bound = a > 8.6 * s ? a : 8.6 * s;
    if (!(bound <= (net->dtype == LRMLP_F32 ? FLT_MAX : DBL_MAX)))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "init scale %g gives weights that overflow %s (layer %zu)", scale,
                          net->dtype == LRMLP_F32 ? "float32" : "float64", layer);
    switch (init) {
    case LRMLP_INIT_ORTHOGONAL:
        a = 0;
        rc = init_orthogonal(net, ly, scale);
        if (rc)
            return rc;
        break;
    default:
        break;
    }
    if (init != LRMLP_INIT_ORTHOGONAL) {
        for (size_t i = 0; i < nw; i++) {
            double v = 0;
            if (a > 0)
                v = a * (2.0 * lrmlp__rng_uniform(&net->rng) - 1.0);
            else if (s > 0)
                v = s * lrmlp__rng_normal(&net->rng);
            param_set(net, ly->w_off + i, v);
        }
    }
    if (ly->b_off != SIZE_MAX) {
        double ab = init == LRMLP_INIT_TORCH_DEFAULT ? 1.0 / sqrt(fan_in) : 0.0;
        for (size_t j = 0; j < ly->out; j++)
            param_set(net, ly->b_off + j,
                      ab > 0 ? ab * (2.0 * lrmlp__rng_uniform(&net->rng) - 1.0) : 0.0);
    }
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_create(lrmlp_net **out, const lrmlp_net_options *user_opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!user_opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "options are NULL");
    lrmlp_net_options full;
    int rc = lrmlp__opts_read(&net_opts_type, user_opts, &full, "lrmlp_net_create");
    if (rc != LRMLP_OK)
        return rc;
    const lrmlp_net_options *opts = &full;
    if ((int)opts->init < 0 || opts->init >= LRMLP_INIT_COUNT_ || !isfinite(opts->init_scale) ||
        opts->init_scale < 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "invalid initializer or init_scale");
    if (!opts->activations &&
        ((int)opts->hidden_activation < 0 || opts->hidden_activation >= LRMLP_ACT_COUNT_ ||
         (int)opts->output_activation < 0 || opts->output_activation >= LRMLP_ACT_COUNT_))
        return lrmlp__err(LRMLP_ERR_INVALID, "invalid activation");
    if (opts->n_layers < 1 || opts->n_layers > 4096)
        return lrmlp__err(LRMLP_ERR_INVALID, "n_layers must be in [1, 4096]");
    lrmlp_activation *acts = malloc(opts->n_layers * sizeof *acts);
    if (!acts)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    for (size_t l = 0; l < opts->n_layers; l++)
        acts[l] = opts->activations ? opts->activations[l]
                  : l + 1 == opts->n_layers ? opts->output_activation
                                            : opts->hidden_activation;
    lrmlp_net *net;
    rc = lrmlp__net_alloc(&net, opts->dtype, opts->n_layers, opts->widths, acts, opts->bias,
                              opts->seed);
    free(acts);
    if (rc)
        return rc;
    for (size_t l = 0; l < net->n_layers; l++) {
        rc = lrmlp_net_init_layer(net, l, opts->init, opts->init_scale);
        if (rc) {
            lrmlp_net_free(net);
            return rc;
        }
    }
    *out = net;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_clone(lrmlp_net **out, const lrmlp_net *src)
{
    if (!out || !src)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL argument");
    *out = NULL;
    lrmlp_activation *acts = malloc(src->n_layers * sizeof *acts);
    if (!acts)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    for (size_t l = 0; l < src->n_layers; l++)
        acts[l] = src->layers[l].act;
    lrmlp_net *net;
    int rc = lrmlp__net_alloc(&net, src->dtype, src->n_layers, src->widths, acts, src->bias, 0);
    free(acts);
    if (rc)
        return rc;
    size_t bytes = src->n_params * lrmlp__dtype_size(src->dtype);
    memcpy(net->params, src->params, bytes);
    memcpy(net->grads, src->grads, bytes);
    for (size_t l = 0; l < src->n_layers; l++)
        net->layers[l].frozen = src->layers[l].frozen;
    net->rng = src->rng;
    net->epochs = src->epochs;
    net->lr_rank = src->lr_rank;
    net->lr_layers = src->lr_layers;
    if ((rc = lrmlp__preproc_clone(&net->prep, src->prep)) != LRMLP_OK ||
        (src->adapter && (rc = lrmlp__adapter_clone(net, src)) != LRMLP_OK)) {
        lrmlp_net_free(net);
        return rc;
    }
    *out = net;
    return LRMLP_OK;
}

LRMLP_API lrmlp_dtype lrmlp_net_dtype(const lrmlp_net *net)
{
    return net ? net->dtype : (lrmlp_dtype)0;
}

LRMLP_API size_t lrmlp_net_n_layers(const lrmlp_net *net) { return net ? net->n_layers : 0; }

LRMLP_API size_t lrmlp_net_width(const lrmlp_net *net, size_t i)
{
    return net && i <= net->n_layers ? net->widths[i] : 0;
}

LRMLP_API lrmlp_activation lrmlp_net_activation(const lrmlp_net *net, size_t layer)
{
    return net && layer < net->n_layers ? net->layers[layer].act : LRMLP_ACT_IDENTITY;
}

LRMLP_API int lrmlp_net_has_bias(const lrmlp_net *net) { return net ? net->bias : 0; }

LRMLP_API size_t lrmlp_net_param_count(const lrmlp_net *net) { return net ? net->n_params : 0; }

LRMLP_API void *lrmlp_net_params(lrmlp_net *net) { return net ? net->params : NULL; }

LRMLP_API void *lrmlp_net_grads(lrmlp_net *net) { return net ? net->grads : NULL; }

LRMLP_API int lrmlp_net_layer_offsets(const lrmlp_net *net, size_t layer, size_t *w_offset,
                                      size_t *b_offset)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_layer_offsets: network is NULL");
    int rc = check_layer(net, layer);
    if (rc)
        return rc;
    if (w_offset)
        *w_offset = net->layers[layer].w_off;
    if (b_offset)
        *b_offset = net->layers[layer].b_off;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_seed(lrmlp_net *net, uint64_t seed)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_seed: network is NULL");
    lrmlp__rng_seed(&net->rng, seed);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_set_frozen(lrmlp_net *net, size_t layer, int frozen)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_set_frozen: network is NULL");
    int rc = check_layer(net, layer);
    if (rc)
        return rc;
    net->layers[layer].frozen = frozen ? 1 : 0;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_is_frozen(const lrmlp_net *net, size_t layer)
{
    return net && layer < net->n_layers ? net->layers[layer].frozen : 0;
}

size_t lrmlp__chunk_rows(const lrmlp_net *net)
{
    size_t widest = 1;
    for (size_t l = 0; l <= net->n_layers; l++)
        widest = net->widths[l] > widest ? net->widths[l] : widest;
    size_t rows = ((size_t)1 << 20) / (widest * lrmlp__dtype_size(net->dtype));
    rows = rows < 256 ? 256 : (rows > 2048 ? 2048 : rows);
    return rows & ~(size_t)15;
}

int lrmlp__net_same_shape(const lrmlp_net *a, const lrmlp_net *b)
{
    if (a->dtype != b->dtype || a->n_layers != b->n_layers || a->bias != b->bias)
        return 0;
    return memcmp(a->widths, b->widths, (a->n_layers + 1) * sizeof *a->widths) == 0;
}

const void *lrmlp__net_output(const lrmlp_net *net)
{
    return net->h ? net->h[net->n_layers] : NULL;
}

/* Sizes the workspace for batches of up to n samples. Only grows. */
static int ensure_workspace(lrmlp_net *net, size_t n)
{
    if (n <= net->ws_n)
        return LRMLP_OK;
    size_t L = net->n_layers, es = lrmlp__dtype_size(net->dtype), maxw = 0, total = 0;
    for (size_t i = 0; i <= L; i++)
        maxw = net->widths[i] > maxw ? net->widths[i] : maxw;
    size_t cnt;
    int ok = 1;
    for (size_t l = 0; l < L && ok; l++) {
        size_t copies = net->layers[l].act == LRMLP_ACT_IDENTITY ? 1 : 2; /* h, dact */
        ok = lrmlp__mul_ok(n, net->widths[l + 1], &cnt) && lrmlp__mul_ok(cnt, copies, &cnt) &&
             lrmlp__add_ok(total, cnt, &total);
    }
    const size_t n_delta = net->adapter ? 3 : 2; /* adapters: delta W0 (adapter.c) */
    ok = ok && lrmlp__mul_ok(n, maxw, &cnt) && lrmlp__mul_ok(cnt, n_delta, &cnt) &&
         lrmlp__add_ok(total, cnt, &total) && lrmlp__mul_ok(total, es, &cnt);
    if (!ok)
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large", n);
    free_workspace(net);
    net->ws = lrmlp__big_alloc(cnt, 0);
    net->h = calloc(L + 1, sizeof *net->h);
    net->dact = calloc(L, sizeof *net->dact);
    if (!net->ws || !net->h || !net->dact) {
        free_workspace(net);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for a batch of %zu", n);
    }
    char *p = net->ws;
    for (size_t l = 0; l < L; l++) {
        net->h[l + 1] = p;
        p += n * net->widths[l + 1] * es;
        if (net->layers[l].act != LRMLP_ACT_IDENTITY) {
            net->dact[l] = p;
            p += n * net->widths[l + 1] * es;
        }
    }
    net->delta[0] = p;
    net->delta[1] = p + n * maxw * es;
    net->delta[2] = net->adapter ? p + 2 * n * maxw * es : NULL;
    net->ws_n = n;
    return LRMLP_OK;
}

/* n rows of the input and of the output, in bytes, fit in a size_t (so the
 * NaN scans of whole batches are bounded). */
static int rows_fit(const lrmlp_net *net, size_t n)
{
    size_t c, es = lrmlp__dtype_size(net->dtype);
    if (!lrmlp__mul_ok(n, net->widths[0], &c) || !lrmlp__mul_ok(c, es, &c) ||
        !lrmlp__mul_ok(n, net->widths[net->n_layers], &c) || !lrmlp__mul_ok(c, es, &c))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large", n);
    return LRMLP_OK;
}

/* Common validation for the batch entry points. */
static int check_batch(lrmlp_net *net, lrmlp_dtype dt, const void *X, size_t n)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "network is NULL");
    if (net->dtype != dt)
        return lrmlp__err(LRMLP_ERR_DTYPE, "network is %s, call is %s",
                          net->dtype == LRMLP_F32 ? "float32" : "float64",
                          dt == LRMLP_F32 ? "float32" : "float64");
    if (!X)
        return lrmlp__err(LRMLP_ERR_INVALID, "input X is NULL");
    if (n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "batch has no samples");
    if (!lrmlp__blas_int_ok(n))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large for BLAS", n);
    return ensure_workspace(net, n);
}

/* What a pass over one batch does (net_impl.h): keep what the backward
 * pass needs, skip the NaN/Inf scan, add to the gradient vector. */
enum { PASS_TRAINING = 1u, PASS_TRUSTED = 2u, PASS_ACCUMULATE = 4u };

/* Parameter copy-in / copy-out (below). */
enum { PART_W, PART_B };
static int get_part(const lrmlp_net *net, size_t layer, int part, lrmlp_dtype dt, int grads,
                    void *dst);
static int set_part(lrmlp_net *net, size_t layer, int part, lrmlp_dtype dt, const void *src);

#include "real_f32.h"
#include "net_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "net_impl.h"
#include "real_undef.h"

int lrmlp__net_gradient_trusted(lrmlp_net *net, const void *X, const void *T, size_t n,
                                lrmlp_loss loss, size_t norm_n, int accumulate,
                                const lrmlp__grad_ready_ *ready, double *loss_out)
{
    const unsigned flags = PASS_TRUSTED | (accumulate ? PASS_ACCUMULATE : 0);
    return net->dtype == LRMLP_F32
               ? gradient_f32(net, X, T, n, loss, flags, norm_n, ready, loss_out)
               : gradient_f64(net, X, T, n, loss, flags, norm_n, ready, loss_out);
}

int lrmlp__net_forward_eval(lrmlp_net *net, const void *X, size_t n, void *Y)
{
    const size_t d = net->widths[0], k = net->widths[net->n_layers];
    const size_t es = lrmlp__dtype_size(net->dtype), cs = lrmlp__chunk_rows(net);
    for (size_t c0 = 0; c0 < n; c0 += cs) {
        size_t cc = n - c0 < cs ? n - c0 : cs;
        int rc = ensure_workspace(net, cc);
        if (rc)
            return rc;
        const char *x = (const char *)X + c0 * d * es;
        if (net->dtype == LRMLP_F32)
            forward_f32(net, (const float *)x, cc, 0);
        else
            forward_f64(net, (const double *)x, cc, 0);
        memcpy((char *)Y + c0 * k * es, net->h[net->n_layers], cc * k * es);
    }
    return LRMLP_OK;
}

/* ---- copy-in / copy-out ---- */

/* Validates a layer/part request and returns its range in the vectors. */
static int part_range(const lrmlp_net *net, size_t layer, int part, lrmlp_dtype dt,
                      const void *buf, size_t *off, size_t *cnt)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "network is NULL");
    int rc = check_layer(net, layer);
    if (rc)
        return rc;
    if (net->dtype != dt)
        return lrmlp__err(LRMLP_ERR_DTYPE, "network is %s, call is %s",
                          net->dtype == LRMLP_F32 ? "float32" : "float64",
                          dt == LRMLP_F32 ? "float32" : "float64");
    if (!buf)
        return lrmlp__err(LRMLP_ERR_INVALID, "buffer is NULL");
    const lrmlp_layer_ *ly = &net->layers[layer];
    if (part == PART_B && ly->b_off == SIZE_MAX)
        return lrmlp__err(LRMLP_ERR_INVALID, "network has no biases");
    *off = part == PART_W ? ly->w_off : ly->b_off;
    *cnt = part == PART_W ? ly->in * ly->out : ly->out;
    return LRMLP_OK;
}

static int get_part(const lrmlp_net *net, size_t layer, int part, lrmlp_dtype dt, int grads,
                    void *dst)
{
    size_t off = 0, cnt = 0;
    int rc = part_range(net, layer, part, dt, dst, &off, &cnt);
    if (rc)
        return rc;
    size_t es = lrmlp__dtype_size(dt);
    memcpy(dst, (const char *)(grads ? net->grads : net->params) + off * es, cnt * es);
    return LRMLP_OK;
}

static int set_part(lrmlp_net *net, size_t layer, int part, lrmlp_dtype dt, const void *src)
{
    size_t off = 0, cnt = 0;
    int rc = part_range(net, layer, part, dt, src, &off, &cnt);
    if (rc)
        return rc;
    int finite = dt == LRMLP_F32 ? lrmlp__all_finite_f32(src, cnt)
                                 : lrmlp__all_finite_f64(src, cnt);
    if (!finite)
        return lrmlp__err(LRMLP_ERR_NONFINITE, "values hold NaN or Inf");
    size_t es = lrmlp__dtype_size(dt);
    memcpy((char *)net->params + off * es, src, cnt * es);
    return LRMLP_OK;
}

