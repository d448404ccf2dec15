/* Weight interop tests (interop.h): bit-exact export -> import round trips
 * (f32/f64, with and without biases, both containers, stored and deflated,
 * both naming styles, low-rank), the bytes checked against an independent
 * reading of the safetensors layout, .npz files built here by an
 * independent stored-zip writer (C-order, Fortran-order, big-endian), and
 * hostile files: every truncation, bad header lengths, malformed JSON,
 * unsupported dtypes, bad shapes, missing/extra tensors, bad index
 * patterns, overlapping/out-of-range/holed offsets, NaN weights. */
#include "testutil.h"

#include <lrmlp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---------- helpers ---------- */

static lrmlp_net *make_net(lrmlp_dtype dt, int bias, uint64_t seed)
{
    const size_t w[] = {4, 7, 5, 3};
    const lrmlp_activation acts[] = {LRMLP_ACT_TANH, LRMLP_ACT_GELU, LRMLP_ACT_SIGMOID};
    return tu_net(dt, 3, w, acts, bias, seed);
}

/* Same shape, activations and bit-identical parameters. */
static void assert_same_net(const lrmlp_net *a, const lrmlp_net *b)
{
    ck_assert_int_eq(lrmlp_net_dtype(a), lrmlp_net_dtype(b));
    ck_assert_uint_eq(lrmlp_net_n_layers(a), lrmlp_net_n_layers(b));
    for (size_t i = 0; i <= lrmlp_net_n_layers(a); i++)
        ck_assert_uint_eq(lrmlp_net_width(a, i), lrmlp_net_width(b, i));
    for (size_t l = 0; l < lrmlp_net_n_layers(a); l++)
        ck_assert_int_eq(lrmlp_net_activation(a, l), lrmlp_net_activation(b, l));
    ck_assert_int_eq(lrmlp_net_has_bias(a), lrmlp_net_has_bias(b));
    ck_assert_uint_eq(lrmlp_net_param_count(a), lrmlp_net_param_count(b));
    size_t es = lrmlp_net_dtype(a) == LRMLP_F64 ? 8 : 4;
    ck_assert(!memcmp(lrmlp_net_params((lrmlp_net *)a), lrmlp_net_params((lrmlp_net *)b),
                      lrmlp_net_param_count(a) * es));
    ck_assert_uint_eq(lrmlp_lowrank_rank(a), lrmlp_lowrank_rank(b));
}

static lrmlp_export_options eopts(lrmlp_weights_format f)
{
    lrmlp_export_options o = LRMLP_EXPORT_OPTIONS_INIT;
    o.format = f;
    return o;
}

static void export_mem(const lrmlp_net *net, const lrmlp_export_options *o, uint8_t **b,
                       size_t *n)
{
    void *p = NULL;
    int rc = lrmlp_weights_export_mem(net, &p, n, o);
    ck_assert_msg(rc == LRMLP_OK, "export: %s", lrmlp_last_errmsg());
    *b = p;
}

static lrmlp_net *import_ok(const void *b, size_t n, const lrmlp_import_options *o)
{
    lrmlp_net *net = NULL;
    int rc = lrmlp_weights_import_mem(&net, b, n, o);
    ck_assert_msg(rc == LRMLP_OK, "import: %s", lrmlp_last_errmsg());
    return net;
}

/* Import must fail with status st and a message containing needle. */
static void import_fails(const void *b, size_t n, const lrmlp_import_options *o, int st,
                         const char *needle)
{
    lrmlp_net *net = (lrmlp_net *)1;
    int rc = lrmlp_weights_import_mem(&net, b, n, o);
    ck_assert_msg(rc == st, "status %d (%s), expected %d", rc, lrmlp_last_errmsg(), st);
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(lrmlp_last_errmsg(), needle), "message '%s' lacks '%s'",
                  lrmlp_last_errmsg(), needle);
}

static void wr64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A safetensors file from a header text and data bytes. */
static uint8_t *st_file(const char *hdr, const void *data, size_t dlen, size_t *n)
{
    size_t hl = strlen(hdr);
    uint8_t *b = malloc(8 + hl + dlen + 1);
    wr64le(b, hl);
    memcpy(b + 8, hdr, hl);
    if (dlen)
        memcpy(b + 8 + hl, data, dlen);
    *n = 8 + hl + dlen;
    return b;
}

/* ---------- independent stored-zip and .npy writers (PKWARE APPNOTE, NEP 1) ---------- */

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t len;
} zentry_;

static void put16(uint8_t **p, unsigned v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void put32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 4;
}

static uint8_t *zip_stored(const zentry_ *e, size_t n, size_t *out_len)
{
    size_t cap = 22;
    for (size_t i = 0; i < n; i++)
        cap += 30 + 46 + 2 * strlen(e[i].name) + e[i].len;
    uint8_t *b = malloc(cap), *p = b;
    uint32_t *offs = malloc(n * sizeof *offs);
    for (size_t i = 0; i < n; i++) {
        offs[i] = (uint32_t)(p - b);
        uint32_t crc = (uint32_t)crc32(0, e[i].data, (uInt)e[i].len);
        put32(&p, 0x04034b50);
        put16(&p, 20); put16(&p, 0); put16(&p, 0); put16(&p, 0); put16(&p, 0x21);
        put32(&p, crc); put32(&p, (uint32_t)e[i].len); put32(&p, (uint32_t)e[i].len);
        put16(&p, (unsigned)strlen(e[i].name)); put16(&p, 0);
        memcpy(p, e[i].name, strlen(e[i].name));
        p += strlen(e[i].name);
        memcpy(p, e[i].data, e[i].len);
        p += e[i].len;
    }
    uint8_t *cd = p;
    for (size_t i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(0, e[i].data, (uInt)e[i].len);
        put32(&p, 0x02014b50);
        put16(&p, 20); put16(&p, 20); put16(&p, 0); put16(&p, 0); put16(&p, 0); put16(&p, 0x21);
        put32(&p, crc); put32(&p, (uint32_t)e[i].len); put32(&p, (uint32_t)e[i].len);
        put16(&p, (unsigned)strlen(e[i].name)); put16(&p, 0); put16(&p, 0); put16(&p, 0);
        put16(&p, 0); put32(&p, 0); put32(&p, offs[i]);
        memcpy(p, e[i].name, strlen(e[i].name));
        p += strlen(e[i].name);
    }
    uint32_t cdlen = (uint32_t)(p - cd), cdoff = (uint32_t)(cd - b);
    put32(&p, 0x06054b50);
    put16(&p, 0); put16(&p, 0); put16(&p, (unsigned)n); put16(&p, (unsigned)n);
    put32(&p, cdlen); put32(&p, cdoff); put16(&p, 0);
    free(offs);
    *out_len = (size_t)(p - b);
    return b;
}

/* A version-1.0 .npy array with the given header dict text and data. */
static uint8_t *npy(const char *dict, const void *data, size_t dlen, size_t *n)
{
    size_t hl = strlen(dict) + 1;
    uint8_t *b = malloc(10 + hl + dlen);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)hl;
    b[9] = (uint8_t)(hl >> 8);
    memcpy(b + 10, dict, hl - 1);
    b[10 + hl - 1] = '\n';
    memcpy(b + 10 + hl, data, dlen);
    *n = 10 + hl + dlen;
    return b;
}

/* ---------- round trips ---------- */

/* _i: dtype (bit 0), bias (bit 1), format (bit 2), compress (bit 3). */
START_TEST(test_roundtrip)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_dtype dt = (_i & 1) ? LRMLP_F64 : LRMLP_F32;
    int bias = (_i >> 1) & 1;
    lrmlp_weights_format f = (_i & 4) ? LRMLP_WEIGHTS_SAFETENSORS : LRMLP_WEIGHTS_NPZ;
    lrmlp_net *net = make_net(dt, bias, 10 + (uint64_t)_i);
    lrmlp_export_options eo = eopts(f);
    eo.compress = (_i >> 3) & 1;
    for (int contiguous = 0; contiguous < 2; contiguous++) {
        eo.contiguous_names = contiguous;
        uint8_t *b;
        size_t n;
        export_mem(net, &eo, &b, &n);
        lrmlp_net *back = import_ok(b, n, NULL);
        assert_same_net(net, back);
        /* Deterministic bytes. */
        uint8_t *b2;
        size_t n2;
        export_mem(net, &eo, &b2, &n2);
        ck_assert_uint_eq(n, n2);
        ck_assert(!memcmp(b, b2, n));
        /* And through the file forms. */
        char path[512];
        snprintf(path, sizeof path, "%s.%s", tu_tmp_path("rt"),
                 f == LRMLP_WEIGHTS_NPZ ? "npz" : "safetensors");
        lrmlp_export_options ef = eo;
        ef.format = LRMLP_WEIGHTS_AUTO;
        ck_assert_int_eq(lrmlp_weights_export(net, path, &ef), LRMLP_OK);
        lrmlp_net *back2 = NULL;
        ck_assert_int_eq(lrmlp_weights_import(&back2, path, NULL), LRMLP_OK);
        assert_same_net(net, back2);
        remove(path);
        lrmlp_net_free(back);
        lrmlp_net_free(back2);
        lrmlp_free(b);
        lrmlp_free(b2);
    }
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_roundtrip_lowrank)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_dtype dt = (_i & 1) ? LRMLP_F64 : LRMLP_F32;
    lrmlp_weights_format f = (_i & 2) ? LRMLP_WEIGHTS_SAFETENSORS : LRMLP_WEIGHTS_NPZ;
    lrmlp_net *lr = tu_make_lowrank(dt, 4, 6, 9, 2, 3, LRMLP_ACT_SILU, 5);
    lrmlp_export_options eo = eopts(f);
    uint8_t *b;
    size_t n;
    export_mem(lr, &eo, &b, &n);
    lrmlp_net *back = import_ok(b, n, NULL);
    assert_same_net(lr, back);
    ck_assert_uint_eq(lrmlp_lowrank_rank(back), 3);
    /* The same function. */
    double X[6 * 5], Y1[2 * 5], Y2[2 * 5];
    uint64_t s = 3;
    for (size_t i = 0; i < 30; i++)
        X[i] = tu_rand(&s);
    if (dt == LRMLP_F64) {
        lrmlp_net_predict_f64(lr, X, 5, Y1);
        lrmlp_net_predict_f64(back, X, 5, Y2);
        ck_assert(!memcmp(Y1, Y2, sizeof Y1));
    }
    /* Without metadata the chain is still readable, given activations:
     * the index gaps place them (V^T and A_{L-1} have none). */
    eo.metadata = 0;
    lrmlp_free(b);
    export_mem(lr, &eo, &b, &n);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    import_fails(b, n, &io, LRMLP_ERR_INVALID, "no activations metadata");
    io.activations = LRMLP_IMPORT_ACTS_GIVEN;
    io.hidden_activation = LRMLP_ACT_SILU;
    lrmlp_net *plain = import_ok(b, n, &io);
    for (size_t l = 0; l < lrmlp_net_n_layers(lr); l++)
        ck_assert_int_eq(lrmlp_net_activation(plain, l), lrmlp_net_activation(lr, l));
    ck_assert_uint_eq(lrmlp_lowrank_rank(plain), 0);
    lrmlp_net_free(plain);
    lrmlp_free(b);
    lrmlp_net_free(back);
    lrmlp_net_free(lr);
}
END_TEST

/* A float64 network exported as float32 holds the rounded values; an
 * import may convert either way. */
START_TEST(test_dtype_conversion)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_net *net = make_net(LRMLP_F64, 1, 7);
    lrmlp_export_options eo = eopts(LRMLP_WEIGHTS_SAFETENSORS);
    eo.dtype = LRMLP_F32;
    uint8_t *b;
    size_t n;
    export_mem(net, &eo, &b, &n);
    lrmlp_net *f = import_ok(b, n, NULL);
    ck_assert_int_eq(lrmlp_net_dtype(f), LRMLP_F32);
    const double *p64 = lrmlp_net_params(net);
    const float *p32 = lrmlp_net_params(f);
    for (size_t i = 0; i < lrmlp_net_param_count(net); i++)
        ck_assert(p32[i] == (float)p64[i]);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.dtype = LRMLP_F64;
    lrmlp_net *d = import_ok(b, n, &io);
    const double *q = lrmlp_net_params(d);
    for (size_t i = 0; i < lrmlp_net_param_count(net); i++)
        ck_assert(q[i] == (double)p32[i]);
    lrmlp_net_free(d);
    lrmlp_net_free(f);
    lrmlp_free(b);
    /* A float64 value beyond float32's range cannot be exported as F32. */
    double *p = lrmlp_net_params(net);
    p[0] = 1e300;
    void *vb = NULL;
    ck_assert_int_eq(lrmlp_weights_export_mem(net, &vb, &n, &eo), LRMLP_ERR_NONFINITE);
    ck_assert_ptr_null(vb);
    lrmlp_net_free(net);
}
END_TEST

/* The safetensors bytes read independently: header length, tensor
 * entries in Sequential order, data where data_offsets say. */
START_TEST(test_safetensors_layout)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_net *net = make_net(LRMLP_F32, 1, 3);
    lrmlp_export_options eo = eopts(LRMLP_WEIGHTS_SAFETENSORS);
    uint8_t *b;
    size_t n;
    export_mem(net, &eo, &b, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | b[i];
    ck_assert_uint_eq(hl % 8, 0);
    char *h = strndup((const char *)b + 8, (size_t)hl);
    /* tanh, gelu, sigmoid: modules 0 Linear, 1 Tanh, 2 Linear, 3 GELU, 4 Linear */
    const char *names[3] = {"\"0.weight\"", "\"2.weight\"", "\"4.weight\""};
    const size_t w[] = {4, 7, 5, 3};
    for (int l = 0; l < 3; l++) {
        const char *e = strstr(h, names[l]);
        ck_assert_ptr_nonnull(e);
        unsigned rows, cols;
        unsigned long long beg, end;
        ck_assert_int_eq(sscanf(e + strlen(names[l]),
                                ":{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":[%llu,%llu]}",
                                &rows, &cols, &beg, &end), 4);
        ck_assert_uint_eq(rows, w[l + 1]);
        ck_assert_uint_eq(cols, w[l]);
        ck_assert_uint_eq(end - beg, 4ull * rows * cols);
        float W[64];
        ck_assert_int_eq(lrmlp_net_get_weights_f32(net, (size_t)l, W), LRMLP_OK);
        ck_assert(!memcmp(b + 8 + hl + beg, W, end - beg)); /* little-endian host */
    }
    ck_assert_ptr_nonnull(strstr(h, "\"lrmlp.activations\":\"tanh,gelu,sigmoid\""));
    free(h);
    lrmlp_free(b);
    lrmlp_net_free(net);
}
END_TEST

/* .npz files from the independent writer: C order, Fortran order and
 * big-endian float64 give the same network; metadata entry honoured. */
/* A device is refused before anything is read (it used to be read until
 * memory ran out). */
START_TEST(test_not_regular_file)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_net *net = (lrmlp_net *)&net;
    ck_assert_int_eq(lrmlp_weights_import(&net, "/dev/zero", NULL), LRMLP_ERR_IO);
    ck_assert_ptr_null(net);
    ck_assert(strstr(lrmlp_last_errmsg(), "regular file") != NULL);
}
END_TEST

START_TEST(test_npz_independent)
{
    if (!lrmlp_interop_available())
        return;
    const float W0[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    const float b0[2] = {0.5f, -0.5f};
    const float W1[2] = {-1, 2};            /* 1 x 2 */
    float W0f[6];                           /* column-major */
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            W0f[c * 2 + r] = W0[r * 3 + c];
    uint8_t W1be[16];
    for (int i = 0; i < 2; i++) {
        double v = W1[i];
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int k = 0; k < 8; k++)
            W1be[i * 8 + k] = (uint8_t)(u >> (8 * (7 - k)));
    }
    size_t l0, l1, l2, l3;
    uint8_t *a0 = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", W0, 24, &l0);
    uint8_t *a0f = npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", W0f, 24, &l3);
    uint8_t *a1 = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", b0, 8, &l1);
    uint8_t *a2 = npy("{'descr':'>f8','shape':(1,2),'fortran_order':False}", W1be, 16, &l2);
    const char *meta = "{\"lrmlp.activations\":\"relu,sigmoid\"}";
    size_t lm;
    uint8_t *am = npy("{'descr': '|u1', 'fortran_order': False, 'shape': (36,), }", meta,
                      strlen(meta), &lm);
    ck_assert_uint_eq(strlen(meta), 36);
    for (int variant = 0; variant < 2; variant++) {
        zentry_ e[] = {{"0.weight.npy", variant ? a0f : a0, variant ? l3 : l0},
                       {"0.bias.npy", a1, l1},
                       {"1.weight.npy", a2, l2},
                       {"__lrmlp__.npy", am, lm}};
        /* biases on every layer or none: 1.bias is missing */
        size_t zn;
        uint8_t *z = zip_stored(e, 3, &zn);
        lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
        io.activations = LRMLP_IMPORT_ACTS_GIVEN;
        io.dtype = LRMLP_F32;
        import_fails(z, zn, &io, LRMLP_ERR_FORMAT, "bias");
        free(z);
        float b1 = 0.25f;
        size_t lb1;
        uint8_t *ab1 = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &b1, 4,
                           &lb1);
        zentry_ e2[] = {e[0], e[1], e[2], {"1.bias.npy", ab1, lb1}, e[3]};
        z = zip_stored(e2, 5, &zn);
        io.activations = LRMLP_IMPORT_ACTS_METADATA;
        lrmlp_net *net = import_ok(z, zn, &io);
        ck_assert_int_eq(lrmlp_net_activation(net, 0), LRMLP_ACT_RELU);
        ck_assert_int_eq(lrmlp_net_activation(net, 1), LRMLP_ACT_SIGMOID);
        float W[6], B[2], x[3] = {1, -1, 2}, y;
        lrmlp_net_get_weights_f32(net, 0, W);
        lrmlp_net_get_bias_f32(net, 0, B);
        ck_assert(!memcmp(W, W0, sizeof W) && !memcmp(B, b0, sizeof B));
        /* relu(W0 x + b0) = relu(5.5, 9.5); y = sigmoid(-5.5 + 19 + 0.25) */
        lrmlp_net_predict_f32(net, x, 1, &y);
        ck_assert_double_eq_tol(y, 1 / (1 + exp(-13.75)), 1e-6);
        lrmlp_net_free(net);
        /* Mixed dtypes need an explicit dtype. */
        io.dtype = 0;
        import_fails(z, zn, &io, LRMLP_ERR_DTYPE, "mix");
        free(z);
        free(ab1);
    }
    free(a0);
    free(a0f);
    free(a1);
    free(a2);
    free(am);
}
END_TEST

/* ---------- hostile files ---------- */

START_TEST(test_truncations)
{
    if (!lrmlp_interop_available())
        return;
    lrmlp_net *net = make_net(LRMLP_F32, 1, 4);
    for (int f = 1; f <= 2; f++) {
        for (int compress = 0; compress < 2; compress++) {
            lrmlp_export_options eo = eopts((lrmlp_weights_format)f);
            eo.compress = compress;
            uint8_t *b;
            size_t n;
            export_mem(net, &eo, &b, &n);
            for (size_t k = 0; k < n; k++) {
                lrmlp_net *out = (lrmlp_net *)1;
                int rc = lrmlp_weights_import_mem(&out, b, k, NULL);
                ck_assert_msg(rc == LRMLP_ERR_FORMAT, "format %d truncated to %zu of %zu: %d",
                              f, k, n, rc);
                ck_assert_ptr_null(out);
                ck_assert(strlen(lrmlp_last_errmsg()) > 0);
            }
            /* Appended bytes: refused by safetensors (data after the last
             * tensor); a zip tolerates a prefix/suffix only where its
             * directory still resolves, so only check no crash there. */
            uint8_t *big = malloc(n + 3);
            memcpy(big, b, n);
            memset(big + n, 0, 3);
            lrmlp_net *out = NULL;
            int rc = lrmlp_weights_import_mem(&out, big, n + 3, NULL);
            if (f == LRMLP_WEIGHTS_SAFETENSORS)
                ck_assert_int_eq(rc, LRMLP_ERR_FORMAT);
            lrmlp_net_free(out);
            free(big);
            lrmlp_free(b);
        }
    }
    lrmlp_net_free(net);
}
END_TEST

static const float data8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Builds a safetensors file from a header and the 32 data bytes above,
 * imports it with given activations, expects st and needle. */
static void st_case(const char *hdr, size_t dlen, int st, const char *needle)
{
    size_t n;
    uint8_t *b = st_file(hdr, data8, dlen, &n);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.activations = LRMLP_IMPORT_ACTS_METADATA_OR_GIVEN;
    if (st == LRMLP_OK) {
        lrmlp_net *net = import_ok(b, n, &io);
        lrmlp_net_free(net);
    } else {
        import_fails(b, n, &io, st, needle);
    }
    free(b);
}

#define T22 "{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":"

START_TEST(test_hostile_safetensors)
{
    if (!lrmlp_interop_available())
        return;
    /* the valid base: two 2x2 layers, 0 and 2 */
    st_case("{\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[16,32]}}", 32, LRMLP_OK, "");
    /* header length */
    size_t n;
    uint8_t *b = st_file("{}", NULL, 0, &n);
    wr64le(b, (uint64_t)200 * 1000 * 1000);
    import_fails(b, n, NULL, LRMLP_ERR_FORMAT, "exceeds the limit");
    wr64le(b, 3);
    import_fails(b, n, NULL, LRMLP_ERR_FORMAT, "past the end");
    wr64le(b, UINT64_MAX);
    import_fails(b, n, NULL, LRMLP_ERR_FORMAT, "exceeds");
    free(b);
    import_fails("\x02\0\0\0\0\0\0\0{", 9, NULL, LRMLP_ERR_FORMAT, "");
    /* malformed JSON */
    st_case("{\"0.weight\":" T22 "[0,16]},", 16, LRMLP_ERR_FORMAT, "malformed JSON");
    st_case("{\"0.weight\":" T22 "[0,16]},\"0.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT,
            "malformed JSON"); /* duplicate key */
    st_case("[1,2]     ", 0, LRMLP_ERR_FORMAT, "");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"x\":1}}",
            16, LRMLP_ERR_FORMAT, "exactly");
    st_case("{\"0.weight\":" T22 "[0,16.5]}}", 16, LRMLP_ERR_FORMAT, "data_offsets");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[-2,2],\"data_offsets\":[0,16]}}", 16,
            LRMLP_ERR_FORMAT, "shape");
    /* dtypes */
    st_case("{\"0.weight\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", 8,
            LRMLP_ERR_UNSUPPORTED, "F16");
    st_case("{\"0.weight\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", 8,
            LRMLP_ERR_UNSUPPORTED, "BF16");
    st_case("{\"0.weight\":{\"dtype\":\"I64\",\"shape\":[2,2],\"data_offsets\":[0,32]}}", 32,
            LRMLP_ERR_UNSUPPORTED, "I64");
    st_case("{\"0.weight\":{\"dtype\":\"Q4\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", 8,
            LRMLP_ERR_FORMAT, "unknown dtype");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", 8,
            LRMLP_ERR_FORMAT, "needs 16");
    /* offsets: out of range, overlapping, holes, trailing bytes */
    st_case("{\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[16,48]}}", 32, LRMLP_ERR_FORMAT,
            "past the");
    st_case("{\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[8,24]}}", 32, LRMLP_ERR_FORMAT,
            "overlap");
    st_case("{\"0.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT, "belong to no tensor");
    st_case("{\"0.weight\":" T22 "[0,16]}}", 32, LRMLP_ERR_FORMAT, "after the last tensor");
    /* shapes */
    st_case("{\"0.weight\":" T22 "[0,16]},\"2.weight\":{\"dtype\":\"F32\",\"shape\":[4,1],"
            "\"data_offsets\":[16,32]}}", 32, LRMLP_ERR_SHAPE, "inputs");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 32,
            LRMLP_ERR_SHAPE, "2-D");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[0,2],\"data_offsets\":[0,0]}}", 0,
            LRMLP_ERR_SHAPE, "2-D");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,32]}}",
            32, LRMLP_ERR_FORMAT, "needs 12");
    st_case("{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[24,32]}}",
            32, LRMLP_ERR_SHAPE, "1-D");
    /* names and index patterns */
    st_case("{\"0.weight\":" T22 "[0,16]},\"foo\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT,
            "unexpected tensor 'foo'");
    st_case("{\"0.weight\":" T22 "[0,16]},\"02.weight\":" T22 "[16,32]}}", 32,
            LRMLP_ERR_FORMAT, "unexpected tensor");
    st_case("{\"1.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT,
            "expected 0.weight");
    st_case("{\"0.weight\":" T22 "[0,16]},\"3.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT,
            "modules apart");
    st_case("{\"0.weight\":" T22 "[0,16]},\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],"
            "\"data_offsets\":[16,24]},\"1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],"
            "\"data_offsets\":[24,32]}}", 32, LRMLP_ERR_FORMAT, "has no weight");
    st_case("{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
            LRMLP_ERR_FORMAT, "has no weight");
    st_case("{}", 0, LRMLP_ERR_FORMAT, "no layer weights");
    /* metadata */
    st_case("{\"__metadata__\":{\"lrmlp.activations\":3},\"0.weight\":" T22 "[0,16]}}", 16,
            LRMLP_ERR_FORMAT, "not a string");
    st_case("{\"__metadata__\":{\"lrmlp.activations\":\"tanh,nope\"},\"0.weight\":" T22
            "[0,16]},\"2.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT, "unknown activation");
    st_case("{\"__metadata__\":{\"lrmlp.activations\":\"tanh\"},\"0.weight\":" T22
            "[0,16]},\"2.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT, "name 2");
    st_case("{\"__metadata__\":{\"lrmlp.activations\":\"identity,tanh\"},\"0.weight\":" T22
            "[0,16]},\"2.weight\":" T22 "[16,32]}}", 32, LRMLP_ERR_FORMAT, "index pattern");
    st_case("{\"__metadata__\":{\"lrmlp.activations\":\"tanh,tanh\",\"lrmlp.lowrank.rank\":\"2\","
            "\"lrmlp.lowrank.layers\":\"5\"},\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22
            "[16,32]}}", 32, LRMLP_ERR_FORMAT, "low-rank");
    st_case("{\"__metadata__\":{\"format\":\"pt\"},\"0.weight\":" T22 "[0,16]},\"2.weight\":"
            T22 "[16,32]}}", 32, LRMLP_OK, "");
    /* NaN and infinite weights */
    float bad[8] = {1, 2, NAN, 4, 5, 6, 7, 8};
    b = st_file("{\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[16,32]}}", bad, 32, &n);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.activations = LRMLP_IMPORT_ACTS_GIVEN;
    import_fails(b, n, &io, LRMLP_ERR_NONFINITE, "0.weight");
    free(b);
    bad[2] = 3;
    bad[7] = INFINITY;
    b = st_file("{\"0.weight\":" T22 "[0,16]},\"2.weight\":" T22 "[16,32]}}", bad, 32, &n);
    import_fails(b, n, &io, LRMLP_ERR_NONFINITE, "2.weight");
    free(b);
    /* more layers than a network may have (4096) */
    {
        size_t cap = 4097 * 80 + 16, at = 0;
        char *h = malloc(cap);
        at += (size_t)snprintf(h + at, cap - at, "{");
        for (int i = 0; i < 4097; i++)
            at += (size_t)snprintf(h + at, cap - at, "%s\"%d.weight\":{\"dtype\":\"F32\","
                                   "\"shape\":[1,1],\"data_offsets\":[%d,%d]}", i ? "," : "",
                                   i, 4 * i, 4 * i + 4);
        snprintf(h + at, cap - at, "}");
        float *ones = malloc(4097 * sizeof *ones);
        for (int i = 0; i < 4097; i++)
            ones[i] = 1;
        b = st_file(h, ones, 4097 * sizeof *ones, &n);
        import_fails(b, n, &io, LRMLP_ERR_FORMAT, "n_layers");
        free(b);
        free(ones);
        free(h);
    }
    /* neither container */
    import_fails("hello, world", 12, NULL, LRMLP_ERR_FORMAT, "neither");
    import_fails("", 0, NULL, LRMLP_ERR_FORMAT, "neither");
}
END_TEST

/* With given activations, contiguous indices put the hidden activation on
 * every hidden layer; gapped ones where the gaps are. A prefix selects the
 * tensors. */
START_TEST(test_index_patterns)
{
    if (!lrmlp_interop_available())
        return;
    float d12[12] = {0};
    static const char *const hdrs[] = {
        "{\"p.0.weight\":" T22 "[0,16]},\"p.1.weight\":" T22 "[16,32]},\"p.2.weight\":" T22
        "[32,48]}}",
        "{\"p.0.weight\":" T22 "[0,16]},\"p.2.weight\":" T22 "[16,32]},\"p.3.weight\":" T22
        "[32,48]}}"};
    const lrmlp_activation expect[2][3] = {
        {LRMLP_ACT_ELU, LRMLP_ACT_ELU, LRMLP_ACT_SOFTPLUS},
        {LRMLP_ACT_ELU, LRMLP_ACT_IDENTITY, LRMLP_ACT_SOFTPLUS}};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *b = st_file(hdrs[k], d12, 48, &n);
        lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
        io.activations = LRMLP_IMPORT_ACTS_GIVEN;
        io.hidden_activation = LRMLP_ACT_ELU;
        io.output_activation = LRMLP_ACT_SOFTPLUS;
        import_fails(b, n, &io, LRMLP_ERR_FORMAT, "unexpected tensor 'p.0.weight'");
        io.prefix = "p.";
        lrmlp_net *net = import_ok(b, n, &io);
        for (size_t l = 0; l < 3; l++)
            ck_assert_int_eq(lrmlp_net_activation(net, l), expect[k][l]);
        lrmlp_net_free(net);
        free(b);
    }
    /* An exporter prefix comes back. */
    lrmlp_net *net = make_net(LRMLP_F32, 0, 9);
    lrmlp_export_options eo = eopts(LRMLP_WEIGHTS_NPZ);
    eo.prefix = "model.net.";
    uint8_t *b;
    size_t n;
    export_mem(net, &eo, &b, &n);
    import_fails(b, n, NULL, LRMLP_ERR_FORMAT, "unexpected tensor 'model.net.0.weight'");
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.prefix = "model.net.";
    lrmlp_net *back = import_ok(b, n, &io);
    assert_same_net(net, back);
    lrmlp_net_free(back);
    lrmlp_net_free(net);
    lrmlp_free(b);
}
END_TEST

static void npz_case(const char *entry, const char *dict, const void *data, size_t dlen,
                     int st, const char *needle)
{
    size_t l, zn;
    uint8_t *a = npy(dict, data, dlen, &l);
    zentry_ e[] = {{entry, a, l}};
    uint8_t *z = zip_stored(e, 1, &zn);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.activations = LRMLP_IMPORT_ACTS_GIVEN;
    if (st == LRMLP_OK)
        lrmlp_net_free(import_ok(z, zn, &io));
    else
        import_fails(z, zn, &io, st, needle);
    free(z);
    free(a);
}

START_TEST(test_hostile_npz)
{
    if (!lrmlp_interop_available())
        return;
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    npz_case("0.weight.npy", ok, data8, 16, LRMLP_OK, "");
    npz_case("0.weight.npy", ok, data8, 12, LRMLP_ERR_FORMAT, "needs 16");
    npz_case("0.weight.npy", ok, data8, 20, LRMLP_ERR_FORMAT, "needs 16");
    npz_case("0.weight.bin", ok, data8, 16, LRMLP_ERR_FORMAT, "not a .npy");
    npz_case("0.weight.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }",
             data8, 8, LRMLP_ERR_UNSUPPORTED, "<f2");
    npz_case("0.weight.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }",
             data8, 32, LRMLP_ERR_UNSUPPORTED, "<i8");
    npz_case("0.weight.npy", "{'descr': '<f4', 'shape': (2, 2), }", data8, 16,
             LRMLP_ERR_FORMAT, "malformed header");
    npz_case("0.weight.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), "
             "'extra': 1}", data8, 16, LRMLP_ERR_FORMAT, "malformed header");
    npz_case("0.weight.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}",
             data8, 16, LRMLP_ERR_FORMAT, "malformed header");
    npz_case("0.weight.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} x",
             data8, 16, LRMLP_ERR_FORMAT, "malformed header");
    npz_case("0.weight.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': "
             "(99999999999999999999, 2)}", data8, 16, LRMLP_ERR_FORMAT, "malformed header");
    npz_case("0.weight.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': "
             "(4294967296, 4294967296, 4294967296)}", data8, 16, LRMLP_ERR_FORMAT, "");
    npz_case("__lrmlp__.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
             "{x}", 3, LRMLP_ERR_FORMAT, "malformed metadata JSON");
    npz_case("__lrmlp__.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
             data8, 4, LRMLP_ERR_FORMAT, "uint8");
    /* bad .npy magic and version */
    size_t l, zn;
    uint8_t *a = npy(ok, data8, 16, &l);
    a[6] = 9;
    zentry_ e[] = {{"0.weight.npy", a, l}};
    uint8_t *z = zip_stored(e, 1, &zn);
    import_fails(z, zn, NULL, LRMLP_ERR_FORMAT, "version 9");
    free(z);
    a[1] = 'X';
    z = zip_stored(e, 1, &zn);
    import_fails(z, zn, NULL, LRMLP_ERR_FORMAT, "bad magic");
    free(z);
    /* a corrupted stored byte fails the zip CRC */
    a[1] = 'N';
    a[6] = 1;
    z = zip_stored(e, 1, &zn);
    z[30 + strlen("0.weight.npy") + l - 1] ^= 0x40;
    import_fails(z, zn, NULL, LRMLP_ERR_FORMAT, "corrupt");
    free(z);
    /* duplicate entries */
    zentry_ e2[] = {{"0.weight.npy", a, l}, {"0.weight.npy", a, l}};
    z = zip_stored(e2, 2, &zn);
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.activations = LRMLP_IMPORT_ACTS_GIVEN;
    import_fails(z, zn, &io, LRMLP_ERR_FORMAT, "twice");
    free(z);
    free(a);
}
END_TEST

START_TEST(test_api_errors)
{
    lrmlp_net *net = make_net(LRMLP_F32, 0, 1), *out = (lrmlp_net *)1;
    lrmlp_import_options io;
    lrmlp_export_options eo;
    ck_assert_int_eq(lrmlp_import_options_init(&io, 99), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_export_options_init(&eo, 99), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_import_options_init(&io, LRMLP_IMPORT_OPTIONS_VERSION), LRMLP_OK);
    ck_assert_int_eq(lrmlp_export_options_init(&eo, LRMLP_EXPORT_OPTIONS_VERSION), LRMLP_OK);
    lrmlp_weights_format f;
    ck_assert_int_eq(lrmlp_weights_format_from_path("a/b.NPZ", &f), LRMLP_OK);
    ck_assert_int_eq(f, LRMLP_WEIGHTS_NPZ);
    ck_assert_int_eq(lrmlp_weights_format_from_path("x.safetensors", &f), LRMLP_OK);
    ck_assert_int_eq(f, LRMLP_WEIGHTS_SAFETENSORS);
    ck_assert_int_eq(lrmlp_weights_format_from_path("x.npz/y", &f), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_weights_export(net, tu_tmp_path("w.txt"), NULL), LRMLP_ERR_INVALID);
    void *b = NULL;
    size_t n;
    ck_assert_int_eq(lrmlp_weights_export_mem(net, &b, &n, NULL), LRMLP_ERR_INVALID);
    io.dtype = (lrmlp_dtype)7;
    ck_assert_int_eq(lrmlp_weights_import_mem(&out, "x", 1, &io), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(out);
    io.dtype = 0;
    io.hidden_activation = LRMLP_ACT_COUNT_;
    ck_assert_int_eq(lrmlp_weights_import_mem(&out, "x", 1, &io), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_weights_import_mem(NULL, "x", 1, NULL), LRMLP_ERR_INVALID);
    if (lrmlp_interop_available()) {
        out = (lrmlp_net *)1;
        ck_assert_int_eq(lrmlp_weights_import(&out, "/nonexistent/x.npz", NULL), LRMLP_ERR_IO);
        ck_assert_ptr_null(out);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "/nonexistent/x.npz"));
        ck_assert_int_eq(lrmlp_weights_export(net, "/nonexistent/dir/x.npz", NULL),
                         LRMLP_ERR_IO);
    } else {
        /* Without the feature: the same API, a clear refusal. */
        ck_assert_int_eq(lrmlp_weights_import(&out, "x.npz", NULL), LRMLP_ERR_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "interop"));
        char path[512];
        snprintf(path, sizeof path, "%s.npz", tu_tmp_path("w"));
        ck_assert_int_eq(lrmlp_weights_export(net, path, NULL), LRMLP_ERR_UNSUPPORTED);
    }
    lrmlp_net_free(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("interop");
    TCase *tc = tcase_create("interop");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, 16);
    tcase_add_loop_test(tc, test_roundtrip_lowrank, 0, 4);
    tcase_add_test(tc, test_dtype_conversion);
    tcase_add_test(tc, test_safetensors_layout);
    tcase_add_test(tc, test_npz_independent);
    tcase_add_test(tc, test_not_regular_file);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_hostile_safetensors);
    tcase_add_test(tc, test_index_patterns);
    tcase_add_test(tc, test_hostile_npz);
    tcase_add_test(tc, test_api_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
