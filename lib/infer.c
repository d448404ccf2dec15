/* The shared read-only model, its workspaces, and the inference path that
 * lrmlp_net_predict_* shares with it (include/lrmlp/infer.h). */
#include "internal.h"
#include "kernel.h"
#include "numerics.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Chunks of up to this many rows use the direct kernel (infer_impl.h). */
#define INFER_DIRECT_MAX 16
/* ... and layers with at least this many inputs. */
#define INFER_DIRECT_MIN_IN 32
/* Larger chunks use packed weights (infer_impl.h) for layers with at least
 * INFER_DIRECT_MIN_IN inputs and this many outputs (fewer would leave most
 * of a panel's 128 bytes padding), the others GEMM. */
#define INFER_PACK_MIN_OUT 32

/* Whether layer ly is kept packed (and so runs the packed kernel, or its
 * rowlane stand-in, from 2 rows). */
static int infer_packable(const lrmlp_layer_ *ly)
{
    return ly->in >= INFER_DIRECT_MIN_IN && ly->out >= INFER_PACK_MIN_OUT;
}

#include "real_f32.h"
#include "infer_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "infer_impl.h"
#include "real_undef.h"

struct lrmlp_model {
    lrmlp_dtype dtype;
    size_t n_layers;
    size_t *widths;
    lrmlp_layer_ *layers;
    void *params;
    size_t n_params;
    lrmlp_preproc_ *prep;
    size_t chunk;            /* lrmlp__chunk_rows of the source network */
    void **packed;           /* per layer: its packed weights in packed_buf, or NULL */
    void *packed_buf;
    size_t packed_size;      /* bytes of packed_buf */
};

struct lrmlp_infer_ws {
    const lrmlp_model *model;
    size_t cap;              /* rows per chunk */
    atomic_int busy;
    void *xin, *h0, *h1;     /* cap x d (input transform), cap x widest hidden (two) */
    size_t bytes;
};

/* What one inference pass needs to know, from a network or a model. */
typedef struct view_ {
    lrmlp_dtype dtype;
    size_t L;
    const size_t *widths;
    const lrmlp_layer_ *layers;
    const void *params;
    const lrmlp_preproc_ *prep;
    const void *const *packed; /* NULL, or per layer packed weights or NULL */
} view_;

/* Bytes of layer ly's packed weights (infer_impl.h), rounded up to 64; 0
 * when the layer is not packed. The layer sizes were checked when the
 * network was made (at most 2^40 bytes of parameters): no overflow. */
static size_t packed_layer_bytes(const lrmlp_layer_ *ly, lrmlp_dtype dt)
{
    if (!infer_packable(ly))
        return 0;
    const size_t es = lrmlp__dtype_size(dt), pnr = 128 / es;
    return (((ly->out + pnr - 1) / pnr * pnr * ly->in * es) + 63) & ~(size_t)63;
}

/* Bytes of the transposed rows the packed kernel's stand-in needs (16 x
 * the widest packed layer's input), rounded up to 64. */
static size_t rowlane_bytes(const lrmlp_layer_ *layers, size_t L, lrmlp_dtype dt)
{
    size_t in = 0;
    for (size_t l = 0; l < L; l++)
        if (packed_layer_bytes(&layers[l], dt) && layers[l].in > in)
            in = layers[l].in;
    return (16 * in * lrmlp__dtype_size(dt) + 63) & ~(size_t)63;
}

/* Bytes for every layer's packed weights and, before them, the table of L
 * pointers to them. */
static size_t packed_bytes(const lrmlp_layer_ *layers, size_t L, lrmlp_dtype dt)
{
    size_t b = (L * sizeof(void *) + 63) & ~(size_t)63;
    for (size_t l = 0; l < L; l++)
        b += packed_layer_bytes(&layers[l], dt);
    return b;
}

/* Packs params' packable layers into buf (packed_bytes long, 64-byte
 * aligned); returns the pointer table at its start. */
static const void *const *pack_all(const void *params, const lrmlp_layer_ *layers, size_t L,
                                   lrmlp_dtype dt, char *buf)
{
    void **tab = (void **)buf;
    char *at = buf + ((L * sizeof(void *) + 63) & ~(size_t)63);
    for (size_t l = 0; l < L; l++) {
        const lrmlp_layer_ *ly = &layers[l];
        size_t b = packed_layer_bytes(ly, dt);
        tab[l] = b ? at : NULL;
        if (b && dt == LRMLP_F32)
            pack_f32((const float *)params + ly->w_off, ly->out, ly->in, (float *)at);
        else if (b)
            pack_f64((const double *)params + ly->w_off, ly->out, ly->in, (double *)at);
        at += b;
    }
    return (const void *const *)tab;
}

static size_t widest_hidden(const size_t *widths, size_t L)
{
    size_t w = 0;
    for (size_t l = 1; l < L; l++)
        w = widths[l] > w ? widths[l] : w;
    return w;
}

/* Scratch bytes for chunks of cap rows: the transformed input, when the
 * view has an input map, and two hidden-layer buffers. 0 on overflow. */
static size_t scratch_bytes(const size_t *widths, size_t L, lrmlp_dtype dt, int has_input,
                            size_t cap, size_t parts[3])
{
    size_t es = lrmlp__dtype_size(dt), a = 0, h = 0, tot;
    if (has_input && !lrmlp__mul_ok(cap, widths[0] * es, &a))
        return 0;
    if (!lrmlp__mul_ok(cap, widest_hidden(widths, L) * es, &h))
        return 0;
    /* each part rounded up to 64 bytes so every buffer is cache-line aligned */
    a = (a + 63) & ~(size_t)63;
    h = (h + 63) & ~(size_t)63;
    if (!lrmlp__add_ok(a, 2 * h, &tot) || h > SIZE_MAX / 4)
        return 0;
    if (parts) {
        parts[0] = a;
        parts[1] = h;
        parts[2] = h;
    }
    return tot ? tot : 64;
}

/* Input and output maps, then the whole pass, for each precision. */
#define DEFINE_RUN(SFX_, REAL_)                                                                \
    static void input_map_##SFX_(const lrmlp_preproc_ *p, const REAL_ *X, size_t n, REAL_ *Z)  \
    {                                                                                          \
        const REAL_ *M = p->Mr, *c = p->cr;                                                    \
        size_t d = p->d;                                                                       \
        if (p->flags & LRMLP_PREP_INPUT_AFFINE) {                                              \
            direct_##SFX_(X, n, d, M, c, Z, d);                                                \
            return;                                                                            \
        }                                                                                      \
        for (size_t i = 0; i < n; i++)                                                         \
            for (size_t j = 0; j < d; j++)                                                     \
                Z[i * d + j] = X[i * d + j] * M[j] + c[j];                                     \
    }                                                                                          \
    static void output_map_##SFX_(const lrmlp_preproc_ *p, REAL_ *Y, size_t n)                 \
    {                                                                                          \
        const REAL_ *s = p->sr, *t = p->tr;                                                    \
        size_t k = p->k;                                                                       \
        for (size_t i = 0; i < n; i++)                                                         \
            for (size_t j = 0; j < k; j++)                                                     \
                Y[i * k + j] = Y[i * k + j] * s[j] + t[j];                                     \
    }                                                                                          \
    static void run_##SFX_(const view_ *v, const REAL_ *X, size_t n, REAL_ *Y, unsigned flags, \
                           size_t cap, void *xin, void *h0, void *h1, void *xt)                \
    {                                                                                          \
        size_t d = v->widths[0], k = v->widths[v->L];                                          \
        const lrmlp_preproc_ *p = (flags & LRMLP_PREDICT_RAW) ? NULL : v->prep;                \
        int in_map = p && (p->flags & (LRMLP_PREP_INPUT_DIAGONAL | LRMLP_PREP_INPUT_AFFINE));  \
        int out_map = p && (p->flags & LRMLP_PREP_OUTPUT);                                     \
        for (size_t c0 = 0; c0 < n; c0 += cap) {                                               \
            size_t cc = n - c0 < cap ? n - c0 : cap;                                           \
            const REAL_ *x = X + c0 * d;                                                       \
            if (in_map) {                                                                      \
                input_map_##SFX_(p, x, cc, (REAL_ *)xin);                                      \
                x = (const REAL_ *)xin;                                                        \
            }                                                                                  \
            lrmlp__infer_chunk_##SFX_(v->params, v->packed, v->layers, v->L, x, cc, Y + c0 * k, \
                                      h0, h1, xt);                                             \
            if (out_map)                                                                       \
                output_map_##SFX_(p, Y + c0 * k, cc);                                          \
        }                                                                                      \
    }                                                                                          \
    static int finite_##SFX_(const REAL_ *x, size_t n)                                         \
    {                                                                                          \
        REAL_ acc = 0;                                                                         \
        for (size_t i = 0; i < n; i++)                                                         \
            acc += x[i] - x[i];                                                                \
        return acc == 0;                                                                       \
    }

DEFINE_RUN(f32, float)
DEFINE_RUN(f64, double)

static void run(const view_ *v, const void *X, size_t n, void *Y, unsigned flags, size_t cap,
                void *xin, void *h0, void *h1, void *xt)
{
    if (v->dtype == LRMLP_F32)
        run_f32(v, X, n, Y, flags, cap, xin, h0, h1, xt);
    else
        run_f64(v, X, n, Y, flags, cap, xin, h0, h1, xt);
}

static int check_finite(lrmlp_dtype dt, const void *X, size_t count)
{
    int ok = dt == LRMLP_F32 ? finite_f32(X, count) : finite_f64(X, count);
    return ok ? LRMLP_OK : lrmlp__err(LRMLP_ERR_NONFINITE, "input X holds NaN or Inf");
}

static const char *dtype_name(lrmlp_dtype dt)
{
    return dt == LRMLP_F32 ? "float32" : "float64";
}

/* ---- lrmlp_net_predict_* ---- */

int lrmlp__net_predict(lrmlp_net *net, lrmlp_dtype dt, const void *X, size_t n, void *Y,
                       unsigned flags)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "predict: net is NULL");
    if (net->dtype != dt)
        return lrmlp__err(LRMLP_ERR_DTYPE, "network is %s, call is %s",
                          dtype_name(net->dtype), dtype_name(dt));
    if (!X)
        return lrmlp__err(LRMLP_ERR_INVALID, "input X is NULL");
    if (!Y)
        return lrmlp__err(LRMLP_ERR_INVALID, "output Y is NULL");
    if (n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "batch has no samples");
    /* as the other batch entry points of net.h */
    if (!lrmlp__blas_int_ok(n))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large for BLAS", n);
    size_t count;
    if (!lrmlp__mul_ok(n, net->widths[0], &count))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large", n);
    int rc = check_finite(dt, X, count);
    if (rc)
        return rc;
    if (net->adapter) /* side terms: adapter.h; adapters carry no preprocessing */
        return lrmlp__net_forward_eval(net, X, n, Y);
    size_t chunk = lrmlp__chunk_rows(net);
    size_t cap = n < chunk ? n : chunk;
    /* The scratch grows to the largest chunk seen, at most lrmlp__chunk_rows
     * rows: bounded whatever n is. */
    size_t parts[3];
    size_t bytes = scratch_bytes(net->widths, net->n_layers, dt, net->prep != NULL, cap,
                                 parts);
    if (!bytes)
        return lrmlp__err(LRMLP_ERR_INVALID, "network too wide for inference scratch");
    /* Chunks of more than INFER_DIRECT_MAX rows use packed weights, as the
     * model does, so that both give the same bits: packed here once per
     * call, after the scratch buffers. Chunks of 2 to 16 rows compute the
     * same sums without them (infer_impl.h rowlane), from a transposed
     * copy of the rows. */
    const size_t pk = n > INFER_DIRECT_MAX ? packed_bytes(net->layers, net->n_layers, dt) : 0;
    const size_t xtb = n <= INFER_DIRECT_MAX && n >= 2 ? rowlane_bytes(net->layers,
                                                                       net->n_layers, dt)
                                                       : 0;
    if (!lrmlp__add_ok(bytes, pk, &bytes) || !lrmlp__add_ok(bytes, xtb, &bytes))
        return lrmlp__err(LRMLP_ERR_INVALID, "network too large for inference scratch");
    if (net->iws_size < bytes) {
        void *p = lrmlp__big_alloc(bytes, 0);
        if (!p)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for inference scratch");
        free(net->iws);
        net->iws = p;
        net->iws_size = bytes;
    }
    char *b = net->iws;
    const size_t sb = parts[0] + parts[1] + parts[2];
    view_ v = { net->dtype, net->n_layers, net->widths, net->layers, net->params, net->prep,
                pk ? pack_all(net->params, net->layers, net->n_layers, dt, b + sb) : NULL };
    run(&v, X, n, Y, flags, cap, b, b + parts[0], b + parts[0] + parts[1], b + sb + pk);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_net_predict_raw_f32(lrmlp_net *net, const float *X, size_t n, float *Y)
{
    return lrmlp__net_predict(net, LRMLP_F32, X, n, Y, LRMLP_PREDICT_RAW);
}

LRMLP_API int lrmlp_net_predict_raw_f64(lrmlp_net *net, const double *X, size_t n, double *Y)
{
    return lrmlp__net_predict(net, LRMLP_F64, X, n, Y, LRMLP_PREDICT_RAW);
}

/* ---- the model ---- */

LRMLP_API void lrmlp_model_free(lrmlp_model *m)
{
    if (!m)
        return;
    free(m->widths);
    free(m->layers);
    free(m->params);
    free(m->packed_buf);
    lrmlp__preproc_free(m->prep);
    free(m);
}

LRMLP_API int lrmlp_model_from_net(lrmlp_model **out, const lrmlp_net *net)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_from_net: out is NULL");
    *out = NULL;
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_from_net: net is NULL");
    if (net->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_from_net: an adapter network's "
                                             "function is not its chain: lrmlp_adapter_merge "
                                             "it first");
    size_t es = lrmlp__dtype_size(net->dtype);
    size_t pbytes = (net->n_params * es + 63) & ~(size_t)63;
    lrmlp_model *m = calloc(1, sizeof *m);
    if (!m)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    m->dtype = net->dtype;
    m->n_layers = net->n_layers;
    m->n_params = net->n_params;
    m->chunk = lrmlp__chunk_rows(net);
    m->widths = malloc((net->n_layers + 1) * sizeof *m->widths);
    m->layers = malloc(net->n_layers * sizeof *m->layers);
    m->params = lrmlp__big_alloc(pbytes, 0);
    m->packed_size = packed_bytes(net->layers, net->n_layers, net->dtype);
    m->packed_buf = lrmlp__big_alloc(m->packed_size, 0);
    int rc = !m->widths || !m->layers || !m->params || !m->packed_buf ? LRMLP_ERR_NOMEM
                                                                       : LRMLP_OK;
    if (rc == LRMLP_OK)
        rc = lrmlp__preproc_clone(&m->prep, net->prep);
    if (rc) {
        lrmlp_model_free(m);
        return rc == LRMLP_ERR_NOMEM ? lrmlp__err(rc, "out of memory for the model") : rc;
    }
    memcpy(m->widths, net->widths, (net->n_layers + 1) * sizeof *m->widths);
    memcpy(m->layers, net->layers, net->n_layers * sizeof *m->layers);
    memcpy(m->params, net->params, net->n_params * es);
    m->packed = (void **)pack_all(m->params, m->layers, m->n_layers, m->dtype, m->packed_buf);
    *out = m;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_model_read_mem(lrmlp_model **out, const void *buf, size_t len)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_read_mem: out is NULL");
    *out = NULL;
    lrmlp_net *net = NULL;
    int rc = lrmlp_model_load_mem(buf, len, &net, NULL);
    if (rc)
        return rc;
    rc = lrmlp_model_from_net(out, net);
    lrmlp_net_free(net);
    return rc;
}

LRMLP_API int lrmlp_model_read(lrmlp_model **out, const char *path)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_read: out is NULL");
    *out = NULL;
    lrmlp_net *net = NULL;
    int rc = lrmlp_model_load(path, &net, NULL);
    if (rc)
        return rc;
    rc = lrmlp_model_from_net(out, net);
    lrmlp_net_free(net);
    return rc;
}

LRMLP_API lrmlp_dtype lrmlp_model_dtype(const lrmlp_model *m)
{
    return m ? m->dtype : (lrmlp_dtype)0;
}

LRMLP_API size_t lrmlp_model_input_dim(const lrmlp_model *m) { return m ? m->widths[0] : 0; }

LRMLP_API size_t lrmlp_model_output_dim(const lrmlp_model *m)
{
    return m ? m->widths[m->n_layers] : 0;
}

LRMLP_API size_t lrmlp_model_memory(const lrmlp_model *m)
{
    if (!m)
        return 0;
    size_t b = sizeof *m + (m->n_layers + 1) * sizeof *m->widths +
               m->n_layers * sizeof *m->layers + m->n_params * lrmlp__dtype_size(m->dtype) +
               m->packed_size;
    if (m->prep) {
        size_t d = m->prep->d, k = m->prep->k;
        size_t nm = (m->prep->flags & LRMLP_PREP_INPUT_AFFINE) ? d * d + d
                    : (m->prep->flags & LRMLP_PREP_INPUT_DIAGONAL) ? 2 * d : 0;
        size_t no = (m->prep->flags & LRMLP_PREP_OUTPUT) ? 2 * k : 0;
        b += (nm + no) * (8 + lrmlp__dtype_size(m->dtype));
    }
    return b;
}

/* ---- workspaces ---- */

static size_t ws_cap(const lrmlp_model *m, size_t max_batch)
{
    return max_batch < m->chunk ? max_batch : m->chunk;
}

LRMLP_API size_t lrmlp_infer_ws_size(const lrmlp_model *m, size_t max_batch)
{
    if (!m || max_batch == 0)
        return 0;
    size_t b = scratch_bytes(m->widths, m->n_layers, m->dtype, m->prep != NULL,
                             ws_cap(m, max_batch), NULL);
    return b ? b + sizeof(lrmlp_infer_ws) : 0;
}

LRMLP_API int lrmlp_infer_ws_create(lrmlp_infer_ws **out, const lrmlp_model *m, size_t max_batch)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_infer_ws_create: out is NULL");
    *out = NULL;
    if (!m)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_infer_ws_create: model is NULL");
    if (max_batch == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_infer_ws_create: max_batch is 0");
    size_t cap = ws_cap(m, max_batch), parts[3];
    size_t bytes = scratch_bytes(m->widths, m->n_layers, m->dtype, m->prep != NULL, cap, parts);
    if (!bytes)
        return lrmlp__err(LRMLP_ERR_INVALID, "workspace too large");
    lrmlp_infer_ws *ws = calloc(1, sizeof *ws);
    char *b = lrmlp__big_alloc(bytes, 0);
    if (!ws || !b) {
        free(ws);
        free(b);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for a workspace of %zu bytes", bytes);
    }
    ws->model = m;
    ws->cap = cap;
    atomic_init(&ws->busy, 0);
    ws->xin = b;
    ws->h0 = b + parts[0];
    ws->h1 = b + parts[0] + parts[1];
    ws->bytes = bytes;
    *out = ws;
    return LRMLP_OK;
}

LRMLP_API void lrmlp_infer_ws_free(lrmlp_infer_ws *ws)
{
    if (!ws)
        return;
    free(ws->xin);
    free(ws);
}

static int model_predict(const lrmlp_model *m, lrmlp_infer_ws *ws, lrmlp_dtype dt,
                         const void *X, size_t n, void *Y, unsigned flags)
{
    if (!m || !ws || !X || !Y)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_predict: NULL argument");
    if (m->dtype != dt)
        return lrmlp__err(LRMLP_ERR_DTYPE, "model is %s, call is %s", dtype_name(m->dtype),
                          dtype_name(dt));
    if (n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "batch has no samples");
    if (flags & ~LRMLP_PREDICT_RAW)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown flags 0x%x", flags);
    if (ws->model != m)
        return lrmlp__err(LRMLP_ERR_INVALID, "the workspace was made for another model");
    size_t count;
    if (!lrmlp__mul_ok(n, m->widths[0], &count))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch of %zu samples is too large", n);
    if (atomic_exchange_explicit(&ws->busy, 1, memory_order_acquire))
        return lrmlp__err(LRMLP_ERR_STATE,
                          "the workspace is in use by another call (one thread at a time)");
    int rc = check_finite(dt, X, count);
    if (rc == LRMLP_OK) {
        view_ v = { m->dtype, m->n_layers, m->widths, m->layers, m->params, m->prep,
                    (const void *const *)m->packed };
        run(&v, X, n, Y, flags, ws->cap, ws->xin, ws->h0, ws->h1, NULL); /* all packed */
    }
    atomic_store_explicit(&ws->busy, 0, memory_order_release);
    return rc;
}

LRMLP_API int lrmlp_model_predict_f32(const lrmlp_model *m, lrmlp_infer_ws *ws, const float *X,
                                      size_t n, float *Y, unsigned flags)
{
    return model_predict(m, ws, LRMLP_F32, X, n, Y, flags);
}

LRMLP_API int lrmlp_model_predict_f64(const lrmlp_model *m, lrmlp_infer_ws *ws,
                                      const double *X, size_t n, double *Y, unsigned flags)
{
    return model_predict(m, ws, LRMLP_F64, X, n, Y, flags);
}
