/* Model-file tests: bit-exact round trips (f32/f64, bias, optimizers),
 * file and memory forms, resume equals an uninterrupted run, every single
 * byte corruption and every truncation rejected, version and section rules
 * checked against an independent writer/reader written here from
 * docs/format.md, atomic saving, and committed golden version-1 files. */
#include "testutil.h"

#include <lrmlp.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------- independent little-endian / CRC helpers (docs/format.md) ---------- */

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

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

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct {
    char tag[4];
    uint32_t flags;
    uint8_t *data;  /* points into a file buffer or is owned by the caller */
    size_t len;
} tsec;

/* Reads the section table of a valid file into s (at most 16); returns n. */
static size_t t_sections(const uint8_t *b, size_t len, tsec *s)
{
    ck_assert_uint_ge(len, 20);
    uint32_t n = rd32(b + 12);
    ck_assert_uint_le(n, 16);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + 16 + 32 * i;
        memcpy(s[i].tag, e, 4);
        s[i].flags = rd32(e + 4);
        uint64_t off = rd64(e + 8), l = rd64(e + 16);
        ck_assert_uint_le(off + l, len);
        s[i].data = (uint8_t *)b + off;
        s[i].len = (size_t)l;
    }
    return n;
}

static tsec *t_find(tsec *s, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(s[i].tag, tag, 4))
            return &s[i];
    return NULL;
}

/* Independent writer: header with version ver, payloads in order at
 * 8-aligned offsets, CRCs. Returns a malloc'd buffer. */
static uint8_t *t_build(const tsec *s, size_t n, uint32_t ver, size_t *out_len)
{
    size_t hdr = 16 + 32 * n + 4, pos = hdr, total;
    size_t offs[16];
    for (size_t i = 0; i < n; i++) {
        pos = (pos + 7) & ~(size_t)7;
        offs[i] = pos;
        pos += s[i].len;
    }
    total = pos;
    uint8_t *b = calloc(1, total ? total : 1);
    ck_assert_ptr_nonnull(b);
    static const uint8_t magic[8] = { 0x89, 'L', 'R', 'M', 'L', 'P', 0x0D, 0x0A };
    memcpy(b, magic, 8);
    wr32(b + 8, ver);
    wr32(b + 12, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = b + 16 + 32 * i;
        memcpy(e, s[i].tag, 4);
        wr32(e + 4, s[i].flags);
        wr64(e + 8, offs[i]);
        wr64(e + 16, s[i].len);
        if (s[i].len)
            memcpy(b + offs[i], s[i].data, s[i].len);
        wr32(e + 24, crc32_ref(b + offs[i], s[i].len));
    }
    wr32(b + hdr - 4, crc32_ref(b, hdr - 4));
    *out_len = total;
    return b;
}

/* Recomputes every CRC of a file whose table is intact (after a test edits
 * a payload or a header field on purpose). */
static void t_fix_crcs(uint8_t *b, size_t len)
{
    uint32_t n = rd32(b + 12);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = b + 16 + 32 * i;
        uint64_t off = rd64(e + 8), l = rd64(e + 16);
        if (off + l <= len)
            wr32(e + 24, crc32_ref(b + off, (size_t)l));
    }
    size_t hdr = 16 + 32 * (size_t)n + 4;
    wr32(b + hdr - 4, crc32_ref(b, hdr - 4));
}

/* ---------- networks, optimizers, data ---------- */

enum { OPT_NONE, OPT_SGD, OPT_ADAM, OPT_COUNT };

static lrmlp_net *make_net(lrmlp_dtype dt, int bias, uint64_t seed)
{
    static const size_t w[4] = { 5, 7, 6, 3 };
    static const lrmlp_activation acts[3] = { LRMLP_ACT_RRELU, LRMLP_ACT_TANH,
                                              LRMLP_ACT_IDENTITY };
    return tu_net(dt, 3, w, acts, bias, seed);
}

static lrmlp_optim *make_opt(lrmlp_net *net, int kind)
{
    if (kind == OPT_NONE)
        return NULL;
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    if (kind == OPT_SGD) {
        o.kind = LRMLP_OPTIM_SGD;
        o.lr = 0.05;
        o.momentum = 0.9;
        o.nesterov = 1;
        o.weight_decay = 1e-3;
        o.schedule = LRMLP_SCHEDULE_STEP;
        o.step_size = 3;
        o.gamma = 0.5;
    } else {
        o.kind = LRMLP_OPTIM_ADAM;
        o.lr = 0.01;
        o.beta1 = 0.8;
        o.beta2 = 0.99;
        o.eps = 1e-7;
        o.clip_norm = 5.0;
        o.schedule = LRMLP_SCHEDULE_COSINE;
        o.total_steps = 20;
        o.min_lr = 1e-4;
        o.warmup_steps = 2;
    }
    lrmlp_optim *opt = NULL;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &o), LRMLP_OK);
    return opt;
}

#define NB 8

/* Batch `step` of fixed pseudo-random data for the 5 -> 3 network. */
static void batch(lrmlp_dtype dt, unsigned step, void *X, void *T)
{
    uint64_t s = 0x9E3779B97F4A7C15ull ^ (step + 1) * 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < NB * 5; i++) {
        double v = tu_rand(&s);
        if (dt == LRMLP_F32)
            ((float *)X)[i] = (float)v;
        else
            ((double *)X)[i] = v;
    }
    for (int i = 0; i < NB * 3; i++) {
        double v = tu_rand(&s);
        if (dt == LRMLP_F32)
            ((float *)T)[i] = (float)v;
        else
            ((double *)T)[i] = v;
    }
}

/* Training steps first .. first+count-1 (gradient then optimizer step). */
static void train(lrmlp_net *net, lrmlp_optim *opt, unsigned first, unsigned count)
{
    double X[NB * 5], T[NB * 3];
    for (unsigned k = first; k < first + count; k++) {
        lrmlp_dtype dt = lrmlp_net_dtype(net);
        batch(dt, k, X, T);
        int rc = dt == LRMLP_F32
                     ? lrmlp_net_gradient_f32(net, (float *)X, (float *)T, NB, LRMLP_LOSS_MSE, NULL)
                     : lrmlp_net_gradient_f64(net, X, T, NB, LRMLP_LOSS_MSE, NULL);
        ck_assert_int_eq(rc, LRMLP_OK);
        if (opt)
            ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
}

static size_t dsize(const lrmlp_net *n) { return lrmlp_net_dtype(n) == LRMLP_F32 ? 4 : 8; }

/* Same shape, flags and bit-identical parameters. */
static void assert_same_net(lrmlp_net *a, lrmlp_net *b)
{
    ck_assert_int_eq(lrmlp_net_dtype(a), lrmlp_net_dtype(b));
    ck_assert_uint_eq(lrmlp_net_n_layers(a), lrmlp_net_n_layers(b));
    for (size_t i = 0; i <= lrmlp_net_n_layers(a); i++)
        ck_assert_uint_eq(lrmlp_net_width(a, i), lrmlp_net_width(b, i));
    for (size_t l = 0; l < lrmlp_net_n_layers(a); l++) {
        ck_assert_int_eq(lrmlp_net_activation(a, l), lrmlp_net_activation(b, l));
        ck_assert_int_eq(lrmlp_net_is_frozen(a, l), lrmlp_net_is_frozen(b, l));
    }
    ck_assert_int_eq(lrmlp_net_has_bias(a), lrmlp_net_has_bias(b));
    ck_assert_uint_eq(lrmlp_net_param_count(a), lrmlp_net_param_count(b));
    ck_assert_uint_eq(lrmlp_net_epochs(a), lrmlp_net_epochs(b));
    ck_assert(memcmp(lrmlp_net_params(a), lrmlp_net_params(b),
                     lrmlp_net_param_count(a) * dsize(a)) == 0);
}

/* The generators are in the same state: re-initializing a layer of clones
 * draws the same weights. */
static void assert_same_rng(lrmlp_net *a, lrmlp_net *b)
{
    lrmlp_net *ca, *cb;
    ck_assert_int_eq(lrmlp_net_clone(&ca, a), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_clone(&cb, b), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_init_layer(ca, 0, LRMLP_INIT_GAUSSIAN, 1.0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_init_layer(cb, 0, LRMLP_INIT_GAUSSIAN, 1.0), LRMLP_OK);
    ck_assert(memcmp(lrmlp_net_params(ca), lrmlp_net_params(cb),
                     lrmlp_net_param_count(ca) * dsize(ca)) == 0);
    /* and the draw changed something (the comparison can fail) */
    ck_assert(memcmp(lrmlp_net_params(ca), lrmlp_net_params(a),
                     lrmlp_net_param_count(ca) * dsize(ca)) != 0);
    lrmlp_net_free(ca);
    lrmlp_net_free(cb);
}

static void assert_same_opt(const lrmlp_optim *a, const lrmlp_optim *b)
{
    lrmlp_optim_options x, y;
    ck_assert_int_eq(lrmlp_optim_get_options(a, &x), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_get_options(b, &y), LRMLP_OK);
    ck_assert_int_eq(x.kind, y.kind);
    ck_assert_int_eq(x.nesterov, y.nesterov);
    ck_assert_int_eq(x.ns_steps, y.ns_steps);
    ck_assert_int_eq(x.schedule, y.schedule);
    const double fx[9] = { x.lr, x.momentum, x.beta1, x.beta2, x.eps, x.weight_decay,
                           x.clip_norm, x.min_lr, x.gamma };
    const double fy[9] = { y.lr, y.momentum, y.beta1, y.beta2, y.eps, y.weight_decay,
                           y.clip_norm, y.min_lr, y.gamma };
    ck_assert(memcmp(fx, fy, sizeof fx) == 0);
    ck_assert_uint_eq(x.total_steps, y.total_steps);
    ck_assert_uint_eq(x.step_size, y.step_size);
    ck_assert_uint_eq(x.warmup_steps, y.warmup_steps);
    ck_assert_uint_eq(lrmlp_optim_steps(a), lrmlp_optim_steps(b));
    double ga = lrmlp_optim_last_grad_norm(a), gb = lrmlp_optim_last_grad_norm(b);
    ck_assert(memcmp(&ga, &gb, sizeof ga) == 0);
    ck_assert(lrmlp_optim_current_lr(a) == lrmlp_optim_current_lr(b));
}

static void *save_mem(lrmlp_net *net, lrmlp_optim *opt, size_t *len)
{
    void *buf = NULL;
    int rc = lrmlp_model_save_mem(net, opt, &buf, len);
    ck_assert_msg(rc == LRMLP_OK, "save_mem: %s", lrmlp_last_errmsg());
    ck_assert_ptr_nonnull(buf);
    return buf;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (n == cap)
            b = realloc(b, cap *= 2);
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return b;
}

/* A small model file (f32, bias, Adam after 3 steps) for corruption tests. */
static uint8_t *small_file(size_t *len, int with_opt)
{
    static const size_t w[3] = { 2, 3, 2 };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w;
    o.bias = 1;
    o.seed = 3;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    lrmlp_optim *opt = NULL;
    if (with_opt) {
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = LRMLP_OPTIM_ADAM;
        ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
        float X[4] = { 0.5f, -1, 0.25f, 2 }, T[4] = { 1, 0, 0, 1 };
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(lrmlp_net_gradient_f32(net, X, T, 2, LRMLP_LOSS_SSE, NULL),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
        }
    }
    void *b = save_mem(net, opt, len);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return b;
}

static int load_rc(const void *b, size_t len)
{
    lrmlp_net *n = (lrmlp_net *)&n;
    lrmlp_optim *o = (lrmlp_optim *)&o;
    int rc = lrmlp_model_load_mem(b, len, &n, &o);
    if (rc != LRMLP_OK) {
        ck_assert_ptr_null(n);
        ck_assert_ptr_null(o);
        ck_assert(rc < 0);
        ck_assert(lrmlp_last_errmsg()[0] != '\0');
    }
    lrmlp_optim_free(o);
    lrmlp_net_free(n);
    return rc;
}

/* ---------- round trips ---------- */

static void roundtrip(lrmlp_dtype dt, int bias, int kind)
{
    lrmlp_net *net = make_net(dt, bias, 11 + (uint64_t)kind);
    lrmlp_optim *opt = make_opt(net, kind);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 1, 1), LRMLP_OK);
    train(net, opt, 0, 4);  /* nonzero state, advanced generator, nonzero grads */

    size_t len;
    void *buf = save_mem(net, opt, &len);
    lrmlp_net *n2 = NULL;
    lrmlp_optim *o2 = (lrmlp_optim *)&o2;
    ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &n2, &o2), LRMLP_OK);
    ck_assert_ptr_nonnull(n2);
    assert_same_net(net, n2);
    assert_same_rng(net, n2);
    if (kind == OPT_NONE) {
        ck_assert_ptr_null(o2);
    } else {
        ck_assert_ptr_nonnull(o2);
        assert_same_opt(opt, o2);
    }
    /* gradients are not saved: zero after load */
    const uint8_t *g = lrmlp_net_grads(n2);
    for (size_t i = 0; i < lrmlp_net_param_count(n2) * dsize(n2); i++)
        ck_assert_uint_eq(g[i], 0);
    /* writing the loaded model again gives the same bytes (all state kept) */
    size_t len2;
    void *buf2 = save_mem(n2, o2, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(buf, buf2, len) == 0);
    /* loading without asking for the optimizer still works */
    lrmlp_net *n3 = NULL;
    ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &n3, NULL), LRMLP_OK);
    assert_same_net(net, n3);

    lrmlp_free(buf);
    lrmlp_free(buf2);
    lrmlp_net_free(n3);
    lrmlp_optim_free(o2);
    lrmlp_net_free(n2);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}

START_TEST(test_roundtrip_f32)
{
    for (int bias = 0; bias < 2; bias++)
        for (int k = 0; k < OPT_COUNT; k++)
            roundtrip(LRMLP_F32, bias, k);
}
END_TEST

START_TEST(test_roundtrip_f64)
{
    for (int bias = 0; bias < 2; bias++)
        for (int k = 0; k < OPT_COUNT; k++)
            roundtrip(LRMLP_F64, bias, k);
}
END_TEST

START_TEST(test_roundtrip_all_optimizers)
{
    /* every optimizer kind and both state counts survive */
    for (int kind = 0; kind < LRMLP_OPTIM_COUNT_; kind++) {
        for (int mom = 0; mom < 2; mom++) {
            lrmlp_net *net = make_net(LRMLP_F64, 1, 5);
            lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
            o.kind = (lrmlp_optim_kind)kind;
            o.momentum = mom ? 0.5 : 0.0;
            o.weight_decay = 0.01;
            o.ns_steps = 3;
            lrmlp_optim *opt;
            ck_assert_int_eq(lrmlp_optim_create(&opt, net, &o), LRMLP_OK);
            train(net, opt, 0, 2);
            size_t len, len2;
            void *b = save_mem(net, opt, &len);
            lrmlp_net *n2;
            lrmlp_optim *o2;
            ck_assert_int_eq(lrmlp_model_load_mem(b, len, &n2, &o2), LRMLP_OK);
            assert_same_opt(opt, o2);
            void *b2 = save_mem(n2, o2, &len2);
            ck_assert_uint_eq(len, len2);
            ck_assert(memcmp(b, b2, len) == 0);
            lrmlp_free(b);
            lrmlp_free(b2);
            lrmlp_optim_free(o2);
            lrmlp_net_free(n2);
            lrmlp_optim_free(opt);
            lrmlp_net_free(net);
        }
    }
}
END_TEST

START_TEST(test_epochs_saved)
{
    /* the epoch counter (advanced only by lrmlp_train_epoch) is saved */
    lrmlp_net *net = make_net(LRMLP_F32, 1, 2);
    lrmlp_optim *opt = make_opt(net, OPT_SGD);
    float X[NB * 5], T[NB * 3];
    batch(LRMLP_F32, 0, X, T);
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_targets_f32(&ds, X, NB, 5, T, 3), LRMLP_OK);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_MSE;
    to.batch_size = 3;
    for (int e = 0; e < 2; e++)
        ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_epochs(net), 2);
    size_t len;
    void *b = save_mem(net, opt, &len);
    lrmlp_net *n2;
    lrmlp_optim *o2;
    ck_assert_int_eq(lrmlp_model_load_mem(b, len, &n2, &o2), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_epochs(n2), 2);
    assert_same_net(net, n2);
    assert_same_opt(opt, o2);
    /* a third epoch continues identically (shuffle draws from the generator) */
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_train_epoch(n2, o2, ds, &to, NULL), LRMLP_OK);
    assert_same_net(net, n2);
    lrmlp_free(b);
    lrmlp_dataset_free(ds);
    lrmlp_optim_free(o2);
    lrmlp_net_free(n2);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_file_equals_mem)
{
    const char *path = tu_tmp_path("model-file.lrmlp");
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *net = make_net((lrmlp_dtype)dt, 1, 21);
        lrmlp_optim *opt = make_opt(net, OPT_ADAM);
        train(net, opt, 0, 3);
        ck_assert_int_eq(lrmlp_model_save(net, opt, path), LRMLP_OK);
        size_t flen, mlen;
        uint8_t *f = read_file(path, &flen);
        void *m = save_mem(net, opt, &mlen);
        ck_assert_uint_eq(flen, mlen);
        ck_assert(memcmp(f, m, mlen) == 0);
        lrmlp_net *n2;
        lrmlp_optim *o2;
        ck_assert_int_eq(lrmlp_model_load(path, &n2, &o2), LRMLP_OK);
        assert_same_net(net, n2);
        assert_same_opt(opt, o2);
        free(f);
        lrmlp_free(m);
        lrmlp_optim_free(o2);
        lrmlp_net_free(n2);
        lrmlp_optim_free(opt);
        lrmlp_net_free(net);
    }
    unlink(path);
}
END_TEST

/* ---------- resume ---------- */

static void resume(lrmlp_dtype dt, int kind)
{
    const unsigned k = 5, m = 7;
    lrmlp_net *a = make_net(dt, 1, 77);
    lrmlp_optim *oa = make_opt(a, kind);
    train(a, oa, 0, k + m);

    lrmlp_net *b = make_net(dt, 1, 77);
    lrmlp_optim *ob = make_opt(b, kind);
    train(b, ob, 0, k);
    const char *path = tu_tmp_path("model-resume.lrmlp");
    ck_assert_int_eq(lrmlp_model_save(b, ob, path), LRMLP_OK);
    lrmlp_optim_free(ob);
    lrmlp_net_free(b);
    ck_assert_int_eq(lrmlp_model_load(path, &b, &ob), LRMLP_OK);
    unlink(path);
    train(b, ob, k, m);

    assert_same_net(a, b);
    assert_same_rng(a, b);
    assert_same_opt(oa, ob);
    size_t la, lb;
    void *fa = save_mem(a, oa, &la), *fb = save_mem(b, ob, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(fa, fb, la) == 0);  /* parameters, state, generator: all bitwise */
    lrmlp_free(fa);
    lrmlp_free(fb);

    /* control: resuming with a fresh optimizer differs (the test can fail) */
    lrmlp_net *c = make_net(dt, 1, 77);
    lrmlp_optim *oc = make_opt(c, kind);
    train(c, oc, 0, k);
    lrmlp_optim_reset(oc);
    train(c, oc, k, m);
    ck_assert(memcmp(lrmlp_net_params(a), lrmlp_net_params(c),
                     lrmlp_net_param_count(a) * dsize(a)) != 0);

    lrmlp_optim_free(oc);
    lrmlp_net_free(c);
    lrmlp_optim_free(ob);
    lrmlp_net_free(b);
    lrmlp_optim_free(oa);
    lrmlp_net_free(a);
}

START_TEST(test_resume_adam_f32) { resume(LRMLP_F32, OPT_ADAM); }
END_TEST

START_TEST(test_resume_adam_f64) { resume(LRMLP_F64, OPT_ADAM); }
END_TEST

START_TEST(test_resume_sgd_f32) { resume(LRMLP_F32, OPT_SGD); }
END_TEST

/* ---------- corruption ---------- */

START_TEST(test_every_byte_flip_rejected)
{
    for (int with_opt = 0; with_opt < 2; with_opt++) {
        size_t len;
        uint8_t *b = small_file(&len, with_opt);
        ck_assert_int_eq(load_rc(b, len), LRMLP_OK);
        uint8_t *c = malloc(len);
        static const uint8_t masks[] = { 0x01, 0x80, 0xFF, 0x10 };
        for (size_t i = 0; i < len; i++) {
            for (size_t k = 0; k < sizeof masks; k++) {
                memcpy(c, b, len);
                c[i] ^= masks[k];
                int rc = load_rc(c, len);
                ck_assert_msg(rc == LRMLP_ERR_CHECKSUM || rc == LRMLP_ERR_FORMAT ||
                                  rc == LRMLP_ERR_VERSION,
                              "flip 0x%02x of byte %zu of %zu: status %d", masks[k], i, len, rc);
            }
        }
        free(c);
        lrmlp_free(b);
    }
}
END_TEST

START_TEST(test_every_truncation_rejected)
{
    size_t len;
    uint8_t *b = small_file(&len, 1);
    for (size_t n = 0; n < len; n++) {
        /* an exact-size copy, so reading past n is caught by ASan */
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b, n);
        int rc = load_rc(c, n);
        ck_assert_msg(rc == LRMLP_ERR_FORMAT, "truncated to %zu of %zu: status %d", n, len, rc);
        free(c);
    }
    /* appended garbage is rejected too; appended zero padding is not data */
    uint8_t *c = malloc(len + 1);
    memcpy(c, b, len);
    c[len] = 0x5A;
    ck_assert_int_eq(load_rc(c, len + 1), LRMLP_ERR_FORMAT);
    free(c);
    lrmlp_free(b);
}
END_TEST

START_TEST(test_versions)
{
    size_t len;
    uint8_t *b = small_file(&len, 1);
    uint8_t *c = malloc(len);

    /* a newer major version: refused before the header checksum */
    memcpy(c, b, len);
    wr32(c + 8, 0x00020000u);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "version"));
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_VERSION);
    wr32(c + 8, 0xFFFF0000u);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_VERSION);
    /* major 0 is malformed */
    wr32(c + 8, 0x00000001u);
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    /* a newer minor version of major 1 is read */
    wr32(c + 8, 0x00010007u);
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_OK);
    /* a known section with a newer section version is refused */
    memcpy(c, b, len);
    wr32(c + 16 + 4, 0x80000002u);  /* NETW is entry 0 */
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_VERSION);
    /* reserved flag bits and reserved entry words are ignored */
    memcpy(c, b, len);
    wr32(c + 16 + 4, 0x80420001u);
    wr32(c + 16 + 28, 0xDEADBEEFu);
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_OK);
    free(c);
    lrmlp_free(b);
}
END_TEST

START_TEST(test_independent_writer_and_unknown_sections)
{
    lrmlp_net *net = make_net(LRMLP_F32, 1, 9);
    lrmlp_optim *opt = make_opt(net, OPT_ADAM);
    train(net, opt, 0, 2);
    size_t len;
    uint8_t *b = save_mem(net, opt, &len);
    tsec s[16];
    size_t n = t_sections(b, len, s);
    ck_assert_uint_eq(n, 3);
    ck_assert(!memcmp(s[0].tag, "NETW", 4) && !memcmp(s[1].tag, "PARM", 4) &&
              !memcmp(s[2].tag, "OPTM", 4));
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(s[i].flags, 0x80000001u);
    /* the layout in docs/format.md, written independently, is byte-identical */
    size_t rl;
    uint8_t *r = t_build(s, n, 0x00010000u, &rl);
    ck_assert_uint_eq(rl, len);
    ck_assert(memcmp(r, b, len) == 0);
    free(r);
    /* NETW/PARM/OPTM lengths as documented */
    size_t P = lrmlp_net_param_count(net);
    ck_assert_uint_eq(s[0].len, 64 + 16 * 3);
    ck_assert_uint_eq(s[1].len, P * 4);
    ck_assert_uint_eq(s[2].len, 144 + 2 * P * 4);
    ck_assert_uint_eq(rd64(s[0].data + 8), 3);
    ck_assert_uint_eq(rd64(s[0].data + 56), 5);   /* widths */
    ck_assert_uint_eq(rd64(s[0].data + 80), 3);
    ck_assert_uint_eq(rd32(s[0].data + 88), LRMLP_ACT_RRELU);
    ck_assert_uint_eq(rd64(s[2].data + 112), 2);  /* t */
    {
        float w0;
        uint32_t u = rd32(s[1].data);
        memcpy(&w0, &u, 4);
        float W[7 * 5];
        ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 0, W), LRMLP_OK);
        ck_assert(memcmp(&w0, &W[0], 4) == 0);
    }

    /* unknown, non-critical sections anywhere are skipped */
    static uint8_t payload[13] = "subspace-ish";
    tsec t[5];
    t[0] = (tsec){ { 'S', 'U', 'B', 'S' }, 0x00000001u, payload, sizeof payload };
    t[1] = s[0];
    t[2] = s[1];
    t[3] = (tsec){ { 'x', 0, 0x7F, 'z' }, 0x7FFF0003u, payload, 0 };
    t[4] = s[2];
    r = t_build(t, 5, 0x00010003u, &rl);
    lrmlp_net *n2;
    lrmlp_optim *o2;
    ck_assert_int_eq(lrmlp_model_load_mem(r, rl, &n2, &o2), LRMLP_OK);
    assert_same_net(net, n2);
    assert_same_opt(opt, o2);
    lrmlp_optim_free(o2);
    lrmlp_net_free(n2);
    free(r);
    /* the same section marked critical is refused */
    t[0].flags = 0x80000001u;
    r = t_build(t, 5, 0x00010003u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "SUBS"));
    free(r);
    /* a corrupted unknown section is still a checksum error */
    t[0].flags = 1;
    r = t_build(t, 5, 0x00010003u, &rl);
    r[rd64(r + 16 + 8) + 3] ^= 1;  /* inside the SUBS payload */
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_CHECKSUM);
    free(r);
    /* sections may come in any order */
    tsec u[3] = { s[2], s[1], s[0] };
    r = t_build(u, 3, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_OK);
    free(r);
    /* the optimizer section is optional */
    r = t_build(s, 2, 0x00010000u, &rl);
    ck_assert_int_eq(lrmlp_model_load_mem(r, rl, &n2, &o2), LRMLP_OK);
    ck_assert_ptr_null(o2);
    lrmlp_net_free(n2);
    free(r);
    /* required sections, duplicates */
    tsec v[3] = { s[0], s[0], s[1] };
    r = t_build(v, 3, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "duplicate"));
    free(r);
    r = t_build(s, 1, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "PARM"));
    free(r);
    r = t_build(s + 1, 2, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    free(r);
    /* an optimizer of the wrong kind for its state count */
    uint8_t *om = malloc(s[2].len);
    memcpy(om, s[2].data, s[2].len);
    wr32(om + 0, LRMLP_OPTIM_GD);
    tsec w[3] = { s[0], s[1], { { 'O', 'P', 'T', 'M' }, 0x80000001u, om, s[2].len } };
    r = t_build(w, 3, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    free(r);
    /* invalid options (negative learning rate) are refused with a message */
    memcpy(om, s[2].data, s[2].len);
    wr64(om + 16, 0xBFF0000000000000ull);  /* -1.0 */
    r = t_build(w, 3, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    free(r);
    /* NaN in the optimizer state */
    memcpy(om, s[2].data, s[2].len);
    wr32(om + 144, 0x7FC00000u);
    r = t_build(w, 3, 0x00010000u, &rl);
    ck_assert_int_eq(load_rc(r, rl), LRMLP_ERR_FORMAT);
    free(r);
    free(om);

    lrmlp_free(b);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* Edits one field of NETW or PARM with valid checksums; expects FORMAT. */
START_TEST(test_invalid_fields)
{
    size_t len;
    uint8_t *b = small_file(&len, 0);
    tsec s[16];
    ck_assert_uint_eq(t_sections(b, len, s), 2);
    const size_t netw = (size_t)(s[0].data - b), parm = (size_t)(s[1].data - b);
    struct {
        size_t off;
        int width;  /* 4 or 8 */
        uint64_t value;
        const char *what;
    } cases[] = {
        { netw + 0, 4, 3, "dtype" },
        { netw + 0, 4, 0, "dtype" },
        { netw + 4, 4, 2, "bias" },
        { netw + 8, 8, 0, "layers" },
        { netw + 8, 8, 3, "length" },
        { netw + 8, 8, UINT64_MAX, "length" },
        { netw + 24, 8, 0, NULL },  /* see below: all four words zero */
        { netw + 56, 8, 0, "width" },
        { netw + 56, 8, UINT64_MAX, "width" },
        { netw + 64, 8, (uint64_t)1 << 31, "parameters" },  /* 2 x 2^31 x 2 f32 > 2^34 B */
        { netw + 80, 4, LRMLP_ACT_COUNT_, "activation" },
        { netw + 84, 4, 2, "flags" },
        { parm + 0, 4, 0x7F800000u, "NaN" },   /* +Inf */
        { parm + 4, 4, 0xFFC00000u, "NaN" },   /* NaN */
    };
    uint8_t *c = malloc(len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(c, b, len);
        if (cases[i].width == 4)
            wr32(c + cases[i].off, (uint32_t)cases[i].value);
        else
            wr64(c + cases[i].off, cases[i].value);
        if (cases[i].what == NULL)  /* zero generator state */
            for (int k = 0; k < 4; k++)
                wr64(c + netw + 24 + 8 * k, 0);
        t_fix_crcs(c, len);
        int rc = load_rc(c, len);
        ck_assert_msg(rc == LRMLP_ERR_FORMAT, "case %zu: status %d", i, rc);
        if (cases[i].what)
            ck_assert_msg(strstr(lrmlp_last_errmsg(), cases[i].what) != NULL,
                          "case %zu: message '%s'", i, lrmlp_last_errmsg());
    }
    /* overlapping sections: PARM pointing into NETW */
    memcpy(c, b, len);
    wr64(c + 16 + 32 + 8, (uint64_t)netw);
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    /* a section inside the header */
    memcpy(c, b, len);
    wr64(c + 16 + 8, 0);
    t_fix_crcs(c, len);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    /* section count out of range */
    memcpy(c, b, len);
    wr32(c + 12, 0);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    wr32(c + 12, 100000);
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    /* text-mode mangling of the magic */
    memcpy(c, b, len);
    c[6] = '\n';
    ck_assert_int_eq(load_rc(c, len), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "magic"));
    free(c);
    lrmlp_free(b);
}
END_TEST

START_TEST(test_bad_arguments)
{
    lrmlp_net *net = make_net(LRMLP_F32, 0, 1);
    void *buf = (void *)&buf;
    size_t len = 7;
    ck_assert_int_eq(lrmlp_model_save_mem(NULL, NULL, &buf, &len), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(lrmlp_model_save_mem(net, NULL, NULL, &len), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_save(net, NULL, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_save(NULL, NULL, "x"), LRMLP_ERR_INVALID);
    lrmlp_net *out = (lrmlp_net *)&out;
    ck_assert_int_eq(lrmlp_model_load_mem(NULL, 0, &out, NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(lrmlp_model_load_mem(NULL, 5, &out, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_load_mem("x", 1, NULL, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_load(NULL, &out, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_load("/nonexistent/lrmlp/model.lrmlp", &out, NULL),
                     LRMLP_ERR_IO);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "/nonexistent/lrmlp/model.lrmlp"));

    /* an optimizer made for another shape */
    lrmlp_net *other = make_net(LRMLP_F64, 0, 1);
    lrmlp_optim *o = make_opt(other, OPT_ADAM);
    ck_assert_int_eq(lrmlp_model_save_mem(net, o, &buf, &len), LRMLP_ERR_SHAPE);
    ck_assert_ptr_null(buf);
    /* NaN parameters are not written (the file could not be read back) */
    ((float *)lrmlp_net_params(net))[3] = NAN;
    ck_assert_int_eq(lrmlp_model_save_mem(net, NULL, &buf, &len), LRMLP_ERR_NONFINITE);
    ck_assert(lrmlp_last_errmsg()[0] != '\0');
    lrmlp_optim_free(o);
    lrmlp_net_free(other);
    lrmlp_net_free(net);
}
END_TEST

/* ---------- atomic saving ---------- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(test_atomic_save)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("model-dir"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char path[600], sub[600], missing[600];
    snprintf(path, sizeof path, "%s/m.lrmlp", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/m.lrmlp", dir);

    lrmlp_net *a = make_net(LRMLP_F32, 1, 1), *b = make_net(LRMLP_F64, 0, 2);
    ck_assert_int_eq(lrmlp_model_save(a, NULL, path), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_save(b, NULL, path), LRMLP_OK);  /* replaces */
    ck_assert_int_eq(count_entries(dir), 1);                      /* no temp file left */
    lrmlp_net *r;
    ck_assert_int_eq(lrmlp_model_load(path, &r, NULL), LRMLP_OK);
    assert_same_net(b, r);
    lrmlp_net_free(r);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_ne(st.st_mode & 0044, 0);  /* not left at mkstemp's 0600 */

    /* a directory that does not exist: IO, nothing created */
    ck_assert_int_eq(lrmlp_model_save(a, NULL, missing), LRMLP_ERR_IO);
    ck_assert(lrmlp_last_errmsg()[0] != '\0');
    ck_assert_int_eq(count_entries(dir), 1);

    /* a target that is a directory: IO, refused before anything is written */
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/keep", sub);
    ck_assert_int_eq(tu_write_file(inner, "x", 1), 0);
    ck_assert_int_eq(lrmlp_model_save(a, NULL, sub), LRMLP_ERR_IO);
    ck_assert_int_eq(count_entries(dir), 2);  /* m.lrmlp and sub only */
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "not a regular file"));

    /* the old file is intact */
    ck_assert_int_eq(lrmlp_model_load(path, &r, NULL), LRMLP_OK);
    assert_same_net(b, r);
    lrmlp_net_free(r);

    unlink(inner);
    rmdir(sub);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

/* The save policy (model.h): symbolic links are followed and their final
 * target replaced, non-regular targets are refused and left alone, a
 * basename of NAME_MAX characters works (the temporary name is short), and
 * no temporary file is left beside the target. */
START_TEST(test_save_policy)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("policy-dir"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    lrmlp_net *a = make_net(LRMLP_F32, 1, 1), *b = make_net(LRMLP_F64, 0, 2), *r;

    /* symlink -> real file: the real file gets the new model, the link stays */
    char real[600], link1[600], link2[600];
    snprintf(real, sizeof real, "%s/real.lrmlp", dir);
    snprintf(link1, sizeof link1, "%s/link1", dir);
    snprintf(link2, sizeof link2, "%s/link2", dir);
    ck_assert_int_eq(lrmlp_model_save(a, NULL, real), LRMLP_OK);
    ck_assert_int_eq(symlink(real, link1), 0);
    ck_assert_int_eq(symlink(link1, link2), 0); /* a chain */
    ck_assert_int_eq(lrmlp_model_save(b, NULL, link2), LRMLP_OK);
    struct stat st;
    ck_assert_int_eq(lstat(link2, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(lstat(link1, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(lrmlp_model_load(real, &r, NULL), LRMLP_OK);
    assert_same_net(b, r);
    lrmlp_net_free(r);
    ck_assert_int_eq(count_entries(dir), 3); /* real, link1, link2: no temp file */

    /* a dangling link: refused */
    char dangling[600];
    snprintf(dangling, sizeof dangling, "%s/dangling", dir);
    ck_assert_int_eq(symlink("no-such-file", dangling), 0);
    ck_assert_int_eq(lrmlp_model_save(a, NULL, dangling), LRMLP_ERR_IO);
    ck_assert_int_eq(count_entries(dir), 4);
    unlink(dangling);

    /* a device node is not replaced */
    ck_assert_int_eq(lrmlp_model_save(a, NULL, "/dev/null"), LRMLP_ERR_IO);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "not a regular file"));
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));

    /* basenames of 246 to 255 characters */
    for (size_t n = 246; n <= 255; n++) {
        char longp[1024];
        int k = snprintf(longp, sizeof longp, "%s/", dir);
        memset(longp + k, 'm', n);
        longp[k + (int)n] = '\0';
        ck_assert_msg(lrmlp_model_save(a, NULL, longp) == LRMLP_OK, "basename of %zu: %s", n,
                      lrmlp_last_errmsg());
        ck_assert_int_eq(lrmlp_model_load(longp, &r, NULL), LRMLP_OK);
        lrmlp_net_free(r);
        unlink(longp);
    }
    ck_assert_int_eq(count_entries(dir), 3);

    unlink(link2);
    unlink(link1);
    unlink(real);
    ck_assert_int_eq(rmdir(dir), 0);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

/* ---------- golden version-1 files (tests/data) ----------
 * Written once by this program with LRMLP_WRITE_GOLDEN=1; never regenerate
 * them for a new format: they pin that version-1 files stay readable. */

static const float G32_W0[6] = { 0.5f, -1.25f, 2.0f, 0.125f, -0.75f, 3.5f };
static const float G32_B0[2] = { 0.25f, -0.5f };
static const float G32_W1[4] = { 1.5f, -2.0f, 0.0625f, -0.375f };
static const float G32_B1[2] = { 1.0f, -3.0f };
/* SGD momentum buffer after steps with g1 = 1 and g2[i] = 0.25 ((i % 5) - 2):
 * v = 0.5 * g1 + g2, in canonical order (W0, b0, W1, b1). */
static const float G32_V[14] = { 0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 0.0f, 0.25f,
                                  0.5f, 0.75f, 1.0f, 0.0f, 0.25f, 0.5f, 0.75f };
static const double G64_W0[6] = { 0.1, -0.2, 1e-300, -7.5, 3.0e10, 0.0 };
static const double G64_W1[3] = { -1.0 / 3.0, 2.5, -0.0 };

static const char *golden_path(const char *name)
{
    static char p[2][1024];
    static int k;
    const char *src = getenv("LRMLP_TEST_SRCDIR");
    char *out = p[k++ % 2];
    snprintf(out, 1024, "%s/tests/data/%s", src && *src ? src : ".", name);
    return out;
}

static void write_golden(void)
{
    /* f32: 3 -> 2 -> 2, bias, GELU then identity, SGD momentum after 2 steps */
    static const size_t w32[3] = { 3, 2, 2 };
    static const lrmlp_activation a32[2] = { LRMLP_ACT_GELU, LRMLP_ACT_IDENTITY };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w32;
    o.activations = a32;
    o.bias = 1;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    {
        /* three epochs so the counter is nonzero */
        float X[4 * 3] = { 0 }, T[4 * 2] = { 0 };
        lrmlp_dataset *ds;
        ck_assert_int_eq(lrmlp_dataset_from_targets_f32(&ds, X, 4, 3, T, 2), LRMLP_OK);
        lrmlp_optim *tmp;
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        ck_assert_int_eq(lrmlp_optim_create(&tmp, net, &oo), LRMLP_OK);
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.loss = LRMLP_LOSS_MSE;
        for (int e = 0; e < 3; e++)
            ck_assert_int_eq(lrmlp_train_epoch(net, tmp, ds, &to, NULL), LRMLP_OK);
        lrmlp_optim_free(tmp);
        lrmlp_dataset_free(ds);
    }
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_SGD;
    oo.lr = 0.25;
    oo.momentum = 0.5;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    float *g = lrmlp_net_grads(net);
    size_t P = lrmlp_net_param_count(net);
    ck_assert_uint_eq(P, 14);
    for (size_t i = 0; i < P; i++)
        g[i] = 1.0f;
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    for (size_t i = 0; i < P; i++)
        g[i] = 0.25f * (float)((int)(i % 5) - 2);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 0, G32_W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_bias_f32(net, 0, G32_B0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 1, G32_W1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_bias_f32(net, 1, G32_B1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_seed(net, 12345), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_save(net, opt, golden_path("model_v1_f32.lrmlp")), LRMLP_OK);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);

    /* f64: 2 -> 3 -> 1, no bias, RReLU then sigmoid, layer 1 frozen, no optimizer */
    static const size_t w64[3] = { 2, 3, 1 };
    static const lrmlp_activation a64[2] = { LRMLP_ACT_RRELU, LRMLP_ACT_SIGMOID };
    o.dtype = LRMLP_F64;
    o.widths = w64;
    o.activations = a64;
    o.bias = 0;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_weights_f64(net, 0, G64_W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_weights_f64(net, 1, G64_W1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 1, 1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_seed(net, 777), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_save(net, NULL, golden_path("model_v1_f64.lrmlp")), LRMLP_OK);
    lrmlp_net_free(net);
}

/* The generator of `net` is where lrmlp_net_seed(seed) puts a generator. */
static void assert_rng_is_seed(lrmlp_net *net, uint64_t seed)
{
    lrmlp_net *c;
    ck_assert_int_eq(lrmlp_net_clone(&c, net), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_seed(c, seed), LRMLP_OK);
    assert_same_rng(net, c);
    lrmlp_net_free(c);
}

START_TEST(test_golden_v1_f32)
{
    if (getenv("LRMLP_WRITE_GOLDEN"))
        write_golden();
    lrmlp_net *net;
    lrmlp_optim *opt;
    const char *path = golden_path("model_v1_f32.lrmlp");
    int rc = lrmlp_model_load(path, &net, &opt);
    ck_assert_msg(rc == LRMLP_OK, "%s: %s", path, lrmlp_last_errmsg());
    ck_assert_int_eq(lrmlp_net_dtype(net), LRMLP_F32);
    ck_assert_uint_eq(lrmlp_net_n_layers(net), 2);
    ck_assert_uint_eq(lrmlp_net_width(net, 0), 3);
    ck_assert_uint_eq(lrmlp_net_width(net, 1), 2);
    ck_assert_uint_eq(lrmlp_net_width(net, 2), 2);
    ck_assert_int_eq(lrmlp_net_activation(net, 0), LRMLP_ACT_GELU);
    ck_assert_int_eq(lrmlp_net_activation(net, 1), LRMLP_ACT_IDENTITY);
    ck_assert_int_eq(lrmlp_net_has_bias(net), 1);
    ck_assert_int_eq(lrmlp_net_is_frozen(net, 0), 0);
    ck_assert_int_eq(lrmlp_net_is_frozen(net, 1), 0);
    ck_assert_uint_eq(lrmlp_net_epochs(net), 3);
    float W0[6], B0[2], W1[4], B1[2];
    ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 0, W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_bias_f32(net, 0, B0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f32(net, 1, W1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_bias_f32(net, 1, B1), LRMLP_OK);
    ck_assert(memcmp(W0, G32_W0, sizeof W0) == 0);
    ck_assert(memcmp(B0, G32_B0, sizeof B0) == 0);
    ck_assert(memcmp(W1, G32_W1, sizeof W1) == 0);
    ck_assert(memcmp(B1, G32_B1, sizeof B1) == 0);
    assert_rng_is_seed(net, 12345);

    ck_assert_ptr_nonnull(opt);
    lrmlp_optim_options o;
    ck_assert_int_eq(lrmlp_optim_get_options(opt, &o), LRMLP_OK);
    ck_assert_int_eq(o.kind, LRMLP_OPTIM_SGD);
    ck_assert(o.lr == 0.25 && o.momentum == 0.5 && o.nesterov == 0);
    ck_assert(o.weight_decay == 0.0 && o.clip_norm == 0.0);
    ck_assert_int_eq(o.schedule, LRMLP_SCHEDULE_CONSTANT);
    ck_assert_uint_eq(lrmlp_optim_steps(opt), 2);
    ck_assert_double_eq_tol(lrmlp_optim_last_grad_norm(opt), sqrt(0.0625 * 26.0), 1e-6);
    /* the momentum buffer: one step with a zero gradient moves every weight
     * by -lr * momentum * v */
    memset(lrmlp_net_grads(net), 0, 14 * sizeof(float));
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    const float *p = lrmlp_net_params(net);
    const float *ref[4] = { G32_W0, G32_B0, G32_W1, G32_B1 };
    const size_t cnt[4] = { 6, 2, 4, 2 };
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        size_t w_off, b_off;
        ck_assert_int_eq(lrmlp_net_layer_offsets(net, (size_t)k / 2, &w_off, &b_off), LRMLP_OK);
        size_t off = k % 2 ? b_off : w_off;
        for (size_t j = 0; j < cnt[k]; j++, i++)
            ck_assert_msg(p[off + j] == ref[k][j] - 0.125f * G32_V[i], "param %zu", i);
    }
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);

    /* an independent reader sees the documented fields */
    size_t len;
    uint8_t *b = read_file(path, &len);
    ck_assert(rd32(b + 8) == 0x00010000u);
    tsec s[16];
    size_t n = t_sections(b, len, s);
    tsec *netw = t_find(s, n, "NETW"), *parm = t_find(s, n, "PARM"), *optm = t_find(s, n, "OPTM");
    ck_assert(netw && parm && optm);
    ck_assert_uint_eq(rd32(netw->data), 1);
    ck_assert_uint_eq(rd64(netw->data + 16), 3);
    ck_assert_uint_eq(rd32(parm->data + 4 * 2), 0x40000000u);  /* 2.0f */
    ck_assert_uint_eq(rd32(parm->data + 4 * 13), 0xC0400000u); /* -3.0f */
    ck_assert_uint_eq(rd32(optm->data + 132), 1);              /* one state vector */
    ck_assert_uint_eq(rd32(optm->data + 144 + 4 * 4), 0x3F800000u); /* v[4] = 1.0f */
    free(b);
}
END_TEST

START_TEST(test_golden_v1_f64)
{
    lrmlp_net *net;
    lrmlp_optim *opt = (lrmlp_optim *)&opt;
    const char *path = golden_path("model_v1_f64.lrmlp");
    int rc = lrmlp_model_load(path, &net, &opt);
    ck_assert_msg(rc == LRMLP_OK, "%s: %s", path, lrmlp_last_errmsg());
    ck_assert_ptr_null(opt);
    ck_assert_int_eq(lrmlp_net_dtype(net), LRMLP_F64);
    ck_assert_uint_eq(lrmlp_net_n_layers(net), 2);
    ck_assert_uint_eq(lrmlp_net_width(net, 0), 2);
    ck_assert_uint_eq(lrmlp_net_width(net, 1), 3);
    ck_assert_uint_eq(lrmlp_net_width(net, 2), 1);
    ck_assert_int_eq(lrmlp_net_activation(net, 0), LRMLP_ACT_RRELU);
    ck_assert_int_eq(lrmlp_net_activation(net, 1), LRMLP_ACT_SIGMOID);
    ck_assert_int_eq(lrmlp_net_has_bias(net), 0);
    ck_assert_int_eq(lrmlp_net_is_frozen(net, 0), 0);
    ck_assert_int_eq(lrmlp_net_is_frozen(net, 1), 1);
    ck_assert_uint_eq(lrmlp_net_epochs(net), 0);
    double W0[6], W1[3];
    ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 0, W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(net, 1, W1), LRMLP_OK);
    ck_assert(memcmp(W0, G64_W0, sizeof W0) == 0);
    ck_assert(memcmp(W1, G64_W1, sizeof W1) == 0);  /* -0.0 kept bitwise */
    assert_rng_is_seed(net, 777);
    lrmlp_net_free(net);

    size_t len;
    uint8_t *b = read_file(path, &len);
    tsec s[16];
    size_t n = t_sections(b, len, s);
    ck_assert_uint_eq(n, 2);
    tsec *parm = t_find(s, n, "PARM");
    ck_assert_ptr_nonnull(parm);
    ck_assert_uint_eq(parm->len, 9 * 8);
    ck_assert_uint_eq(rd64(parm->data + 8 * 3), 0xC01E000000000000ull); /* -7.5 */
    ck_assert_uint_eq(rd64(parm->data + 8 * 8), 0x8000000000000000ull); /* -0.0 */
    free(b);
}
END_TEST


/* Low-rank metadata (LRNK) and per-layer learning-rate scales (OLRS) survive
 * a round trip, and a resumed low-rank run with scales matches an
 * uninterrupted one bit for bit. */
START_TEST(test_lowrank_and_lr_scales)
{
    /* The options' defaults: float32, GELU. */
    lrmlp_net *a = tu_make_lowrank(LRMLP_F32, 3, 6, 5, 2, 2, LRMLP_ACT_GELU, 9);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 0.01;
    lrmlp_optim *oa;
    ck_assert_int_eq(lrmlp_optim_create(&oa, a, &oo), LRMLP_OK);
    size_t lu;
    ck_assert_int_eq(lrmlp_lowrank_layer(a, LRMLP_FACTOR_U, 0, &lu), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_set_layer_lr_scale(oa, lu, 0.25), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_set_layer_lr_scale(oa, 0, 0.0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_set_layer_lr_scale(oa, 99, 1.0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_optim_set_layer_lr_scale(oa, 1, -1.0), LRMLP_ERR_INVALID);
    float X[8 * 6], T[8 * 2] = {0};
    uint64_t s = 3;
    for (int i = 0; i < 48; i++)
        X[i] = (float)tu_rand(&s);
    for (int i = 0; i < 8; i++)
        T[i * 2 + (i % 2)] = 1;
    float V0[12];
    lrmlp_net_get_weights_f32(a, 0, V0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(lrmlp_net_gradient_f32(a, X, T, 8, LRMLP_LOSS_CROSS_ENTROPY, NULL),
                         LRMLP_OK);
        ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_OK);
    }
    float V1[12];
    lrmlp_net_get_weights_f32(a, 0, V1);
    ck_assert(memcmp(V0, V1, sizeof V0) == 0); /* scale 0: V did not move */
    void *buf;
    size_t len;
    ck_assert_int_eq(lrmlp_model_save_mem(a, oa, &buf, &len), LRMLP_OK);
    lrmlp_net *b;
    lrmlp_optim *ob;
    ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &b, &ob), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_lowrank_rank(b), 2);
    size_t lu2;
    ck_assert_int_eq(lrmlp_lowrank_layer(b, LRMLP_FACTOR_U, 0, &lu2), LRMLP_OK);
    ck_assert_uint_eq(lu2, lu);
    ck_assert(lrmlp_optim_layer_lr_scale(ob, lu) == 0.25);
    ck_assert(lrmlp_optim_layer_lr_scale(ob, 0) == 0.0);
    ck_assert(lrmlp_optim_layer_lr_scale(ob, 1) == 1.0);
    for (int k = 0; k < 3; k++) {
        lrmlp_net_gradient_f32(a, X, T, 8, LRMLP_LOSS_CROSS_ENTROPY, NULL);
        lrmlp_optim_step(oa, a);
        lrmlp_net_gradient_f32(b, X, T, 8, LRMLP_LOSS_CROSS_ENTROPY, NULL);
        lrmlp_optim_step(ob, b);
    }
    ck_assert(memcmp(lrmlp_net_params(a), lrmlp_net_params(b),
                     lrmlp_net_param_count(a) * sizeof(float)) == 0);
    /* Truncating the optional sections' payload is caught like any other. */
    lrmlp_net *c = NULL;
    ck_assert_int_ne(lrmlp_model_load_mem(buf, len - 8, &c, NULL), LRMLP_OK);
    ck_assert_ptr_null(c);
    lrmlp_free(buf);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST


/* A subspace estimate saved with the model comes back bit for bit. */
START_TEST(test_subspace_section)
{
    const size_t w[] = {8, 10, 10, 2};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 3;
    no.widths = w;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = 0.1;
    no.hidden_activation = LRMLP_ACT_GELU;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &no), LRMLP_OK);
    double X[20 * 8], T[20 * 2] = {0};
    uint64_t s = 11;
    for (int i = 0; i < 160; i++)
        X[i] = tu_rand(&s);
    for (int i = 0; i < 20; i++)
        T[i * 2 + (i % 2)] = 1;
    lrmlp_subspace *a, *b;
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&a, net, X, T, 20, LRMLP_LOSS_SSE, NULL),
                     LRMLP_OK);
    void *buf;
    size_t len;
    /* Without SUBS: no estimate, and not an error. */
    ck_assert_int_eq(lrmlp_model_save_mem(net, NULL, &buf, &len), LRMLP_OK);
    b = (lrmlp_subspace *)buf;
    ck_assert_int_eq(lrmlp_model_load_subspace_mem(buf, len, &b), LRMLP_OK);
    ck_assert_ptr_null(b);
    lrmlp_free(buf);
    ck_assert_int_eq(lrmlp_model_save_subspace_mem(net, NULL, NULL, &buf, &len),
                     LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_save_subspace_mem(net, NULL, a, &buf, &len), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_load_subspace_mem(buf, len, &b), LRMLP_OK);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(lrmlp_subspace_rank(b), lrmlp_subspace_rank(a));
    ck_assert_uint_eq(lrmlp_subspace_n_layers(b), lrmlp_subspace_n_layers(a));
    double sa[3], sb[3];
    lrmlp_subspace_singular_values(a, sa);
    lrmlp_subspace_singular_values(b, sb);
    ck_assert(memcmp(sa, sb, sizeof sa) == 0);
    for (size_t l = 0; l < lrmlp_subspace_n_layers(a); l++)
        for (int which = 0; which < LRMLP_SUBSPACE_BASIS_COUNT_; which++) {
            double ba[100], bb[100];
            ck_assert_int_eq(lrmlp_subspace_get_basis(a, l, (lrmlp_subspace_basis)which, ba),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_subspace_get_basis(b, l, (lrmlp_subspace_basis)which, bb),
                             LRMLP_OK);
            size_t in, out, p;
            lrmlp_subspace_layer_dims(a, l, &in, &out, &p, NULL);
            size_t cnt = which == 0 ? in * (in - p) : which == 1 ? in * p
                         : which == 2 ? out * (out - p) : out * p;
            ck_assert(memcmp(ba, bb, cnt * sizeof(double)) == 0);
            double da, db;
            lrmlp_subspace_u2_deviation(a, l, &da);
            lrmlp_subspace_u2_deviation(b, l, &db);
            ck_assert(da == db);
        }
    /* The network in the same file still loads. */
    lrmlp_net *n2;
    ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &n2, NULL), LRMLP_OK);
    lrmlp_net_free(n2);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < len; cut += 7) {
        lrmlp_subspace *c = NULL;
        ck_assert_int_ne(lrmlp_model_load_subspace_mem(buf, cut, &c), LRMLP_OK);
        ck_assert_ptr_null(c);
    }
    const char *path = tu_tmp_path("subs.lrmlp");
    ck_assert_int_eq(lrmlp_model_save_subspace(net, NULL, a, path), LRMLP_OK);
    lrmlp_subspace *c;
    ck_assert_int_eq(lrmlp_model_load_subspace(path, &c), LRMLP_OK);
    ck_assert_ptr_nonnull(c);
    remove(path);
    lrmlp_subspace_free(c);
    lrmlp_free(buf);
    lrmlp_subspace_free(a);
    lrmlp_subspace_free(b);
    lrmlp_net_free(net);
}
END_TEST

/* The file loader reads the header first and then only as far as the
 * section table says: an endless stream of zeros is refused after 16 bytes
 * (it once read until memory ran out), zero padding after the last section
 * is accepted up to 64 KiB, and more of it is refused. */
START_TEST(test_load_reads_by_declared_size)
{
    lrmlp_net *net = (lrmlp_net *)&net;
    ck_assert_int_eq(lrmlp_model_load("/dev/zero", &net, NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(net);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "magic"));
    lrmlp_subspace *sub;
    ck_assert_int_eq(lrmlp_model_load_subspace("/dev/zero", &sub), LRMLP_ERR_FORMAT);
    size_t len;
    uint8_t *b = small_file(&len, 1);
    const char *p = tu_tmp_path("padded.lrmlp");
    size_t pads[] = {0, 100, 65536, 65537, 200000};
    for (size_t k = 0; k < sizeof pads / sizeof pads[0]; k++) {
        uint8_t *c = calloc(len + pads[k], 1);
        memcpy(c, b, len);
        ck_assert_int_eq(tu_write_file(p, c, len + pads[k]), 0);
        int rc = lrmlp_model_load(p, &net, NULL);
        ck_assert_msg(rc == (pads[k] <= 65536 ? LRMLP_OK : LRMLP_ERR_FORMAT),
                      "%zu zero bytes appended: %d (%s)", pads[k], rc, lrmlp_last_errmsg());
        lrmlp_net_free(net);
        free(c);
    }
    /* cut files still report truncation */
    ck_assert_int_eq(tu_write_file(p, b, len - 3), 0);
    ck_assert_int_eq(lrmlp_model_load(p, &net, NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "truncated"));
    unlink(p);
    lrmlp_free(b);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_f32);
    tcase_add_test(tc, test_load_reads_by_declared_size);
    tcase_add_test(tc, test_save_policy);
    tcase_add_test(tc, test_roundtrip_f64);
    tcase_add_test(tc, test_roundtrip_all_optimizers);
    tcase_add_test(tc, test_epochs_saved);
    tcase_add_test(tc, test_file_equals_mem);
    tcase_add_test(tc, test_resume_adam_f32);
    tcase_add_test(tc, test_resume_adam_f64);
    tcase_add_test(tc, test_resume_sgd_f32);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_byte_flip_rejected);
    tcase_add_test(tc, test_every_truncation_rejected);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_independent_writer_and_unknown_sections);
    tcase_add_test(tc, test_invalid_fields);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_atomic_save);
    tcase_add_test(tc, test_golden_v1_f32);
    tcase_add_test(tc, test_golden_v1_f64);
    tcase_add_test(tc, test_lowrank_and_lr_scales);
    tcase_add_test(tc, test_subspace_section);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(model_suite()); }
