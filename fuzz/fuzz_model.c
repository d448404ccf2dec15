/* Fuzz target: the model-file reader (lrmlp_model_load_mem) and the
 * adapter-file reader (lrmlp_adapter_load_mem, on fixed bases).
 *
 * Each input is loaded twice: as given, and with every CRC recomputed (when
 * its section table can be read), so mutations get past the checksums and
 * reach the field validation. A file that loads must behave: it is written
 * again, read back and written once more, and the two writes must agree;
 * its network runs a forward pass and its optimizer a step. */
#include "fuzz.h"

#include <lrmlp.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const char fuzz_target_name[] = "model";

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc(const uint8_t *p, uint64_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    return (uint32_t)crc32(c, p, (uInt)n);
}

/* Recomputes the CRCs of every section that lies inside the buffer and the
 * header CRC (docs/format.md). Returns 0 when the table is unreadable. */
static int fix_crcs(uint8_t *b, size_t size)
{
    if (size < 16)
        return 0;
    uint64_t n = rd32(b + 12);
    if (n < 1 || n > 256 || 16 + 32 * n + 4 > size)
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *e = b + 16 + 32 * i;
        uint64_t off = rd64(e + 8), len = rd64(e + 16);
        if (off <= size && len <= size - off)
            wr32(e + 24, crc(b + off, len));
    }
    wr32(b + 16 + 32 * n, crc(b, 16 + 32 * n));
    return 1;
}

static void check_loaded(lrmlp_net *net, lrmlp_optim *opt)
{
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (lrmlp_model_save_mem(net, opt, &b1, &l1) != LRMLP_OK)
        abort();  /* a loaded model must be writable */
    lrmlp_net *n2 = NULL;
    lrmlp_optim *o2 = NULL;
    if (lrmlp_model_load_mem(b1, l1, &n2, &o2) != LRMLP_OK || (opt == NULL) != (o2 == NULL))
        abort();  /* and what we write must read back */
    if (lrmlp_model_save_mem(n2, o2, &b2, &l2) != LRMLP_OK || l1 != l2 || memcmp(b1, b2, l1))
        abort();  /* identically */
    lrmlp_free(b1);
    lrmlp_free(b2);
    lrmlp_optim_free(o2);
    lrmlp_net_free(n2);

    /* Exercise the loaded handles on one sample (the file bounds the sizes). */
    size_t in = lrmlp_net_width(net, 0), out = lrmlp_net_width(net, lrmlp_net_n_layers(net));
    size_t es = lrmlp_net_dtype(net) == LRMLP_F64 ? 8 : 4;
    if (in <= (1u << 16) && out <= (1u << 16)) {
        void *x = calloc(in, es), *y = calloc(out, es);
        if (x && y) {
            if (es == 4)
                (void)lrmlp_net_predict_f32(net, x, 1, y);
            else
                (void)lrmlp_net_predict_f64(net, x, 1, y);
            if (opt) {
                memset(lrmlp_net_grads(net), 0, lrmlp_net_param_count(net) * es);
                (void)lrmlp_optim_step(opt, net);
            }
        }
        free(x);
        free(y);
    }
}

static void one(const uint8_t *data, size_t size)
{
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    int rc = lrmlp_model_load_mem(data, size, &net, &opt);
    if (rc != LRMLP_OK) {
        if (net || opt || rc >= 0 || lrmlp_last_errmsg()[0] == '\0')
            abort();  /* errors leave nothing allocated and say why */
        return;
    }
    /* The shared model of a valid file predicts (its PREP transforms are
     * applied) as the network does, bit for bit; then check_loaded may
     * change the network. */
    lrmlp_model *m = NULL;
    lrmlp_infer_ws *ws = NULL;
    size_t d = lrmlp_net_width(net, 0), k = lrmlp_net_width(net, lrmlp_net_n_layers(net));
    if (lrmlp_model_read_mem(&m, data, size) != LRMLP_OK ||
        lrmlp_infer_ws_create(&ws, m, 1) != LRMLP_OK)
        abort();
    if (d <= 4096 && k <= 4096) {
        double x[4096] = { 0 }, y1[4096], y2[4096];
        float *xf = (float *)x, *y1f = (float *)y1, *y2f = (float *)y2;
        int f32 = lrmlp_net_dtype(net) == LRMLP_F32;
        int r1 = f32 ? lrmlp_net_predict_f32(net, xf, 1, y1f) : lrmlp_net_predict_f64(net, x, 1, y1);
        int r2 = f32 ? lrmlp_model_predict_f32(m, ws, xf, 1, y2f, 0)
                     : lrmlp_model_predict_f64(m, ws, x, 1, y2, 0);
        if (r1 != LRMLP_OK || r2 != LRMLP_OK || memcmp(y1, y2, k * (f32 ? 4 : 8)))
            abort();
    }
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
    check_loaded(net, opt);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    /* The file is valid: its optional subspace estimate must decode or be
     * refused cleanly. */
    lrmlp_subspace *sub = NULL;
    rc = lrmlp_model_load_subspace_mem(data, size, &sub);
    if (rc != LRMLP_OK && (sub || rc >= 0 || lrmlp_last_errmsg()[0] == '\0'))
        abort();
    if (sub) {
        size_t in, out, p;
        int has_u;
        for (size_t l = 0; l < lrmlp_subspace_n_layers(sub); l++)
            if (lrmlp_subspace_layer_dims(sub, l, &in, &out, &p, &has_u) != LRMLP_OK)
                abort();
        lrmlp_subspace_free(sub);
    }
}

/* The fixed bases of the adapter seeds: 5-4-3, biases, one per dtype. */
static lrmlp_net *adapter_base(lrmlp_dtype dt)
{
    static lrmlp_net *base[3];
    if (!base[dt]) {
        static const size_t w[4] = { 5, 4, 4, 3 };
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.dtype = dt;
        o.n_layers = 3;
        o.widths = w;
        o.bias = 1;
        if (lrmlp_net_create(&base[dt], &o) != LRMLP_OK)
            abort();
    }
    return base[dt];
}

/* An adapter file either loads on its base and behaves (forward pass,
 * merge, the same bytes when written again) or fails cleanly. */
static void one_adapter(const uint8_t *data, size_t size, lrmlp_dtype dt)
{
    lrmlp_net *ad = NULL;
    int rc = lrmlp_adapter_load_mem(data, size, adapter_base(dt), &ad);
    if (rc != LRMLP_OK) {
        if (ad || rc >= 0 || lrmlp_last_errmsg()[0] == '\0')
            abort();
        return;
    }
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    lrmlp_net *back = NULL, *merged = NULL;
    if (lrmlp_adapter_save_mem(ad, &b1, &l1) != LRMLP_OK ||
        lrmlp_adapter_load_mem(b1, l1, adapter_base(dt), &back) != LRMLP_OK ||
        lrmlp_adapter_save_mem(back, &b2, &l2) != LRMLP_OK || l1 != l2 || memcmp(b1, b2, l1) ||
        lrmlp_adapter_merge(&merged, ad) != LRMLP_OK)
        abort();
    double x[5] = { 0 }, y[3];
    float xf[5] = { 0 }, yf[3];
    if ((dt == LRMLP_F32 ? lrmlp_net_predict_f32(ad, xf, 1, yf)
                         : lrmlp_net_predict_f64(ad, x, 1, y)) != LRMLP_OK)
        abort();
    lrmlp_free(b1);
    lrmlp_free(b2);
    lrmlp_net_free(merged);
    lrmlp_net_free(back);
    lrmlp_net_free(ad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    one_adapter(data, size, LRMLP_F32);
    one_adapter(data, size, LRMLP_F64);
    if (size >= 20 && size <= ((size_t)1 << 24)) {
        uint8_t *c = malloc(size);
        if (c) {
            memcpy(c, data, size);
            if (fix_crcs(c, size) && memcmp(c, data, size) != 0) {
                one(c, size);
                one_adapter(c, size, LRMLP_F32);
                one_adapter(c, size, LRMLP_F64);
            }
            free(c);
        }
    }
    return 0;
}

static size_t add_model(uint8_t **seeds, size_t *lens, lrmlp_dtype dt, int bias,
                        lrmlp_optim_kind kind, double momentum, int with_opt)
{
    static const size_t w[4] = { 3, 4, 2, 2 };
    static const lrmlp_activation acts[3] = { LRMLP_ACT_RRELU, LRMLP_ACT_GELU,
                                              LRMLP_ACT_IDENTITY };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = 3;
    o.widths = w;
    o.activations = acts;
    o.bias = bias;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    if (lrmlp_net_create(&net, &o) != LRMLP_OK)
        abort();
    lrmlp_net_set_frozen(net, 1, 1);
    if (with_opt) {
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = kind;
        oo.momentum = momentum;
        if (lrmlp_optim_create(&opt, net, &oo) != LRMLP_OK)
            abort();
        double X[3] = { 0.5, -1, 2 }, T[2] = { 1, 0 };
        float Xf[3] = { 0.5f, -1, 2 }, Tf[2] = { 1, 0 };
        for (int k = 0; k < 2; k++) {
            int rc = dt == LRMLP_F32 ? lrmlp_net_gradient_f32(net, Xf, Tf, 1, LRMLP_LOSS_SSE, NULL)
                                     : lrmlp_net_gradient_f64(net, X, T, 1, LRMLP_LOSS_SSE, NULL);
            if (rc != LRMLP_OK || lrmlp_optim_step(opt, net) != LRMLP_OK)
                abort();
        }
    }
    void *buf = NULL;
    size_t len = 0;
    if (lrmlp_model_save_mem(net, opt, &buf, &len) != LRMLP_OK)
        abort();
    *seeds = malloc(len);
    if (!*seeds)
        abort();
    memcpy(*seeds, buf, len);
    *lens = len;
    lrmlp_free(buf);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return 1;
}

/* A low-rank network with learning-rate scales, a subspace estimate of a
 * dense network and input/output transforms: a file with every optional
 * section. */
static size_t add_optional_sections(uint8_t **seeds, size_t *lens)
{
    static const size_t w[4] = { 6, 6, 6, 2 };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 3;
    o.widths = w;
    o.init = LRMLP_INIT_ORTHOGONAL;
    o.init_scale = 0.1;
    lrmlp_net *dense = NULL, *lr = NULL;
    lrmlp_subspace *sub = NULL;
    lrmlp_optim *opt = NULL;
    double X[12] = { 1, -1, 0.5, 2, 0, 1, -0.5, 1, 1, 0, -2, 0.25 }, T[4] = { 1, 0, 0, 1 };
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    lo.dtype = LRMLP_F64;
    lo.n_layers = 3;
    lo.input_dim = 6;
    lo.width = 6;
    lo.output_dim = 2;
    lo.rank = 2;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    if (lrmlp_net_create(&dense, &o) != LRMLP_OK ||
        lrmlp_subspace_estimate_f64(&sub, dense, X, T, 2, LRMLP_LOSS_SSE, NULL) != LRMLP_OK ||
        lrmlp_lowrank_create(&lr, &lo) != LRMLP_OK ||
        lrmlp_optim_create(&opt, lr, &oo) != LRMLP_OK ||
        lrmlp_optim_set_layer_lr_scale(opt, 1, 0.5) != LRMLP_OK)
        abort();
    double M[36] = { 0 }, c[6] = { 0.5, -1, 2, 0, 1, -0.25 }, s[2] = { 3, 0.5 }, t[2] = { 1, -2 };
    for (int i = 0; i < 6; i++)
        M[i * 6 + i] = 1.0 + 0.25 * i, M[i * 6 + (i + 1) % 6] = -0.5;
    if (lrmlp_net_set_input_affine(lr, M, c) != LRMLP_OK ||
        lrmlp_net_set_output_affine(lr, s, t) != LRMLP_OK)
        abort();
    void *buf = NULL;
    size_t len = 0;
    if (lrmlp_model_save_subspace_mem(lr, opt, sub, &buf, &len) != LRMLP_OK)
        abort();
    *seeds = malloc(len);
    if (!*seeds)
        abort();
    memcpy(*seeds, buf, len);
    *lens = len;
    lrmlp_free(buf);
    lrmlp_optim_free(opt);
    lrmlp_subspace_free(sub);
    lrmlp_net_free(lr);
    lrmlp_net_free(dense);
    return 1;
}

/* An adapter file on adapter_base(dt) (ranks 2, 0, 1, last layer trainable). */
static size_t add_adapter(uint8_t **seeds, size_t *lens, lrmlp_dtype dt, lrmlp_adapter_init init)
{
    static const size_t ranks[3] = { 2, 0, 1 };
    lrmlp_adapter_options o = LRMLP_ADAPTER_OPTIONS_INIT;
    o.ranks = ranks;
    o.init = init;
    o.train_last = 1;
    lrmlp_net *ad = NULL;
    void *buf = NULL;
    size_t len = 0;
    if (lrmlp_adapter_create(&ad, adapter_base(dt), &o) != LRMLP_OK ||
        lrmlp_adapter_save_mem(ad, &buf, &len) != LRMLP_OK)
        abort();
    *seeds = malloc(len);
    if (!*seeds)
        abort();
    memcpy(*seeds, buf, len);
    *lens = len;
    lrmlp_free(buf);
    lrmlp_net_free(ad);
    return 1;
}

size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max)
{
    size_t n = 0;
    if (n < max)
        n += add_adapter(seeds + n, lens + n, LRMLP_F32, LRMLP_ADAPTER_LORA);
    if (n < max)
        n += add_adapter(seeds + n, lens + n, LRMLP_F64, LRMLP_ADAPTER_PISSA);
    if (n < max)
        n += add_optional_sections(seeds + n, lens + n);
    if (n < max)
        n += add_model(seeds + n, lens + n, LRMLP_F32, 1, LRMLP_OPTIM_ADAM, 0, 1);
    if (n < max)
        n += add_model(seeds + n, lens + n, LRMLP_F64, 0, LRMLP_OPTIM_SGD, 0.9, 1);
    if (n < max)
        n += add_model(seeds + n, lens + n, LRMLP_F32, 0, LRMLP_OPTIM_GD, 0, 0);
    if (n < max)
        n += add_model(seeds + n, lens + n, LRMLP_F64, 1, LRMLP_OPTIM_MUON, 0.5, 1);
    return n;
}
