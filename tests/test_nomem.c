/* Allocation-failure injection over the API (SQLite's test_malloc idea).
 *
 * This program is linked against the internal static library with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, so every allocation the
 * library makes goes through the wrappers below (allocations inside BLAS,
 * LAPACK, zlib and libc stay unwrapped). For each scenario the call is run
 * once to count its allocations, then once per allocation with that one
 * failing: the call must return LRMLP_ERR_NOMEM with a message (or survive
 * with LRMLP_OK when the failed call was a shrinking realloc), and leave
 * the handle it modifies byte-identical. Leaks are left to the ASan build
 * (detect_leaks=1), which runs this program too. */
#include "testutil.h"

#include <lrmlp.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

static int inject_on;   /* count (and maybe fail) only inside the call */
static long inject_count, inject_fail_at = -1;

static int inject_now(void)
{
    return inject_on && inject_count++ == inject_fail_at;
}

void *__wrap_malloc(size_t n) { return inject_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { return inject_now() ? NULL : __real_calloc(n, s); }
/* the library's large and aligned buffers (lib/bigalloc.c) */
int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    return inject_now() ? ENOMEM : __real_posix_memalign(p, align, n);
}
/* A failed realloc that would have shrunk its block leaves the caller a
 * valid, larger buffer: surviving it with LRMLP_OK is correct. */
static int inject_shrink;
void *__wrap_realloc(void *p, size_t n)
{
    if (!inject_now())
        return __real_realloc(p, n);
    inject_shrink = p && n <= malloc_usable_size(p);
    return NULL;
}

/* ---- fixtures ----------------------------------------------------------- */

enum { N = 40, D = 6, M = 5, K = 3, R = 2 };

typedef struct fx {
    lrmlp_net *net;          /* the handle a call modifies (guarded), or NULL */
    lrmlp_net *dense;
    lrmlp_optim *opt;
    lrmlp_dataset *ds;
    lrmlp_subspace *sub;
    double X[N * D], T[N * K];
    int32_t lab[N];
    double V[D * R];
    char path[256];
    lrmlp_net *ad;           /* an adapter on dense (not guarded) */
    void *buf;               /* a weights or adapter file */
    char path2[256];         /* a second file (IDX labels), removed too */
    size_t len;
} fx;

static void fx_data(fx *f)
{
    uint64_t s = 3;
    for (size_t i = 0; i < N * D; i++)
        f->X[i] = tu_rand(&s);
    for (size_t i = 0; i < N; i++) {
        f->lab[i] = (int32_t)(i % K);
        for (size_t k = 0; k < K; k++)
            f->T[i * K + k] = k == (size_t)f->lab[i];
    }
}

static lrmlp_net *dense3(void)
{
    const size_t w[] = {D, M, M, K};
    return tu_make_net(LRMLP_F64, 3, w, LRMLP_ACT_TANH, 0.1, 7);
}

static void fx_free(fx *f)
{
    lrmlp_net_free(f->net);
    lrmlp_net_free(f->dense);
    lrmlp_optim_free(f->opt);
    lrmlp_dataset_free(f->ds);
    lrmlp_subspace_free(f->sub);
    lrmlp_net_free(f->ad);
    lrmlp_free(f->buf);
    if (f->path[0])
        unlink(f->path);
    if (f->path2[0])
        unlink(f->path2);
    memset(f, 0, sizeof *f);
}

/* ---- scenarios ---------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    void (*setup)(fx *f);
    int (*call)(fx *f);      /* frees what it creates on success */
} scenario;

static void setup_lowrank_pair(fx *f)
{
    fx_data(f);
    f->dense = dense3();
    f->net = tu_make_lowrank(LRMLP_F64, 3, D, M, K, R, LRMLP_ACT_TANH, 5);
    for (size_t i = 0; i < D * R; i++)
        f->V[i] = (i / R) == (i % R); /* first R unit vectors */
}

static int call_init_from_dense(fx *f)
{
    return lrmlp_lowrank_init_from_dense(f->net, f->dense, f->V, 0.1);
}

static int call_init_random(fx *f) { return lrmlp_lowrank_init_random(f->net, f->dense, 0.1); }

static void setup_data(fx *f) { fx_data(f); }

static void setup_dense(fx *f)
{
    fx_data(f);
    f->net = dense3();
}

static void setup_train(fx *f)
{
    setup_dense(f);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_ADAM;
    ck_assert_int_eq(lrmlp_optim_create(&f->opt, f->net, &o), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&f->ds, f->X, N, D, f->lab, K), LRMLP_OK);
}

static void setup_saved(fx *f)
{
    setup_train(f);
    snprintf(f->path, sizeof f->path, "%s", tu_tmp_path("nomem.lrmlp"));
    ck_assert_int_eq(lrmlp_model_save(f->net, f->opt, f->path), LRMLP_OK);
}

static void setup_csv(fx *f)
{
    fx_data(f);
    snprintf(f->path, sizeof f->path, "%s", tu_tmp_path("nomem.csv"));
    FILE *fp = fopen(f->path, "w");
    ck_assert_ptr_nonnull(fp);
    for (size_t i = 0; i < N; i++) {
        fprintf(fp, "%d", (int)f->lab[i]); /* label first (the default) */
        for (size_t j = 0; j < D; j++)
            fprintf(fp, ",%.17g", f->X[i * D + j]);
        fprintf(fp, "\n");
    }
    fclose(fp);
}

static void setup_lowrank(fx *f)
{
    fx_data(f);
    f->dense = tu_make_lowrank(LRMLP_F64, 3, D, M, K, R, LRMLP_ACT_TANH, 5);
}

/* eps = 0: the subspace takes the initialization scale from the network
 * (dense3 is 0.1 times orthogonal matrices). */
static const lrmlp_subspace_options *sub_opts(void)
{
    static lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    o.eps = 0;
    return &o;
}

static void setup_subspace(fx *f)
{
    setup_dense(f);
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&f->sub, f->net, f->X, f->T, N,
                                                 LRMLP_LOSS_SSE, sub_opts()), LRMLP_OK);
}

static int call_net_create(fx *f)
{
    (void)f;
    const size_t w[] = {D, M, K};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w;
    o.bias = 1;
    o.init = LRMLP_INIT_ORTHOGONAL;
    lrmlp_net *n;
    int rc = lrmlp_net_create(&n, &o);
    lrmlp_net_free(n);
    return rc;
}

static int call_net_clone(fx *f)
{
    lrmlp_net *c;
    int rc = lrmlp_net_clone(&c, f->net);
    lrmlp_net_free(c);
    return rc;
}

static int call_gradient(fx *f)
{
    return lrmlp_net_gradient_f64(f->net, f->X, f->T, N, LRMLP_LOSS_SSE, NULL);
}

static int call_optim_create(fx *f)
{
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_MUON;
    o.momentum = 0.9;
    lrmlp_optim *opt;
    int rc = lrmlp_optim_create(&opt, f->net, &o);
    lrmlp_optim_free(opt);
    return rc;
}

static int call_train_epoch(fx *f)
{
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = 16;
    return lrmlp_train_epoch(f->net, f->opt, f->ds, &o, NULL);
}

static int call_evaluate(fx *f)
{
    lrmlp_eval_result r;
    return lrmlp_evaluate(f->net, f->ds, LRMLP_LOSS_SSE, 16, &r);
}

static int call_model_save(fx *f)
{
    return lrmlp_model_save(f->net, f->opt, tu_tmp_path("nomem-save.lrmlp"));
}

static int call_model_load(fx *f)
{
    lrmlp_net *n;
    lrmlp_optim *o;
    int rc = lrmlp_model_load(f->path, &n, &o);
    lrmlp_net_free(n);
    lrmlp_optim_free(o);
    return rc;
}

static int call_dataset_from_labels(fx *f)
{
    lrmlp_dataset *ds;
    int rc = lrmlp_dataset_from_labels_f64(&ds, f->X, N, D, f->lab, K);
    lrmlp_dataset_free(ds);
    return rc;
}

static int call_load_csv(fx *f)
{
    lrmlp_dataset *ds;
    int rc = lrmlp_dataset_load_csv(&ds, f->path, NULL);
    lrmlp_dataset_free(ds);
    return rc;
}

static int call_standardize(fx *f)
{
    return lrmlp_dataset_standardize(f->ds, LRMLP_STANDARDIZE_FEATURE, NULL);
}

static int call_subspace_estimate(fx *f)
{
    lrmlp_subspace *s;
    int rc = lrmlp_subspace_estimate_f64(&s, f->net, f->X, f->T, N, LRMLP_LOSS_SSE, sub_opts());
    lrmlp_subspace_free(s);
    return rc;
}

static int call_tracker(fx *f)
{
    lrmlp_tracker *t;
    int rc = lrmlp_tracker_create(&t, f->net, f->sub, NULL);
    if (rc == LRMLP_OK)
        rc = lrmlp_tracker_record(t, f->net, 1);
    lrmlp_tracker_free(t);
    return rc;
}

static int call_lowrank_create(fx *f)
{
    (void)f;
    lrmlp_lowrank_options o = LRMLP_LOWRANK_OPTIONS_INIT;
    o.n_layers = 3;
    o.input_dim = D;
    o.width = M;
    o.output_dim = K;
    o.rank = R;
    lrmlp_net *n;
    int rc = lrmlp_lowrank_create(&n, &o);
    lrmlp_net_free(n);
    return rc;
}

static int call_lowrank_expand(fx *f)
{
    lrmlp_net *n;
    int rc = lrmlp_lowrank_expand(&n, f->dense);
    lrmlp_net_free(n);
    return rc;
}

static int call_factorize(fx *f)
{
    lrmlp_net *n;
    const size_t ranks[] = {2, 0, 2};
    int rc = lrmlp_net_factorize(&n, f->net, ranks);
    lrmlp_net_free(n);
    return rc;
}

/* Weight interop (interop.h): a biased f64 net exported, and its file
 * imported, as safetensors and as deflated .npz. */
static void setup_weights(fx *f, lrmlp_weights_format fmt)
{
    const size_t w[] = {D, M, K};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    o.n_layers = 2;
    o.widths = w;
    o.bias = 1;
    ck_assert_int_eq(lrmlp_net_create(&f->net, &o), LRMLP_OK);
    lrmlp_export_options eo = LRMLP_EXPORT_OPTIONS_INIT;
    eo.format = fmt;
    eo.compress = 1;
    ck_assert_int_eq(lrmlp_weights_export_mem(f->net, &f->buf, &f->len, &eo), LRMLP_OK);
}

static void setup_st(fx *f) { setup_weights(f, LRMLP_WEIGHTS_SAFETENSORS); }
static void setup_npz(fx *f) { setup_weights(f, LRMLP_WEIGHTS_NPZ); }

static int call_export(fx *f, lrmlp_weights_format fmt)
{
    lrmlp_export_options eo = LRMLP_EXPORT_OPTIONS_INIT;
    eo.format = fmt;
    eo.compress = 1;
    void *b = NULL;
    size_t n;
    int rc = lrmlp_weights_export_mem(f->net, &b, &n, &eo);
    lrmlp_free(b);
    return rc;
}

static int call_export_st(fx *f) { return call_export(f, LRMLP_WEIGHTS_SAFETENSORS); }
static int call_export_npz(fx *f) { return call_export(f, LRMLP_WEIGHTS_NPZ); }

static int call_import(fx *f)
{
    lrmlp_net *net = NULL;
    int rc = lrmlp_weights_import_mem(&net, f->buf, f->len, NULL);
    lrmlp_net_free(net);
    return rc;
}

/* Adapters (adapter.h) on dense3(): ranks 2, 0, 2, the last layer trainable. */
static const size_t ad_ranks[3] = {2, 0, 2};

static void setup_adapter_base(fx *f)
{
    fx_data(f);
    f->dense = dense3();
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&f->ds, f->X, N, D, f->lab, K), LRMLP_OK);
}

static int adapter_create(fx *f, lrmlp_adapter_init init, lrmlp_net **out)
{
    lrmlp_adapter_options o = LRMLP_ADAPTER_OPTIONS_INIT;
    o.ranks = ad_ranks;
    o.init = init;
    o.train_last = 1;
    o.data = f->ds;
    return lrmlp_adapter_create(out, f->dense, &o);
}

static void setup_adapter(fx *f)
{
    setup_adapter_base(f);
    ck_assert_int_eq(adapter_create(f, LRMLP_ADAPTER_PISSA, &f->ad), LRMLP_OK);
    ck_assert_int_eq(lrmlp_adapter_save_mem(f->ad, &f->buf, &f->len), LRMLP_OK);
}

static int call_adapter_create(fx *f, lrmlp_adapter_init init)
{
    lrmlp_net *ad = NULL;
    int rc = adapter_create(f, init, &ad);
    if (rc == LRMLP_OK && !ad)
        rc = LRMLP_ERR_INVALID;
    lrmlp_net_free(ad);
    return rc;
}

static int call_adapter_lora(fx *f) { return call_adapter_create(f, LRMLP_ADAPTER_LORA); }
static int call_adapter_pissa(fx *f) { return call_adapter_create(f, LRMLP_ADAPTER_PISSA); }
static int call_adapter_gradient(fx *f) { return call_adapter_create(f, LRMLP_ADAPTER_GRADIENT); }

static int call_adapter_merge(fx *f)
{
    lrmlp_net *m = NULL;
    int rc = lrmlp_adapter_merge(&m, f->ad);
    lrmlp_net_free(m);
    return rc;
}

static int call_adapter_clone(fx *f)
{
    lrmlp_net *c = NULL;
    int rc = lrmlp_net_clone(&c, f->ad);
    lrmlp_net_free(c);
    return rc;
}

static int call_adapter_save(fx *f)
{
    void *b = NULL;
    size_t n = 0;
    int rc = lrmlp_adapter_save_mem(f->ad, &b, &n);
    lrmlp_free(b);
    return rc;
}

static int call_adapter_load(fx *f)
{
    lrmlp_net *ad = NULL;
    int rc = lrmlp_adapter_load_mem(f->buf, f->len, f->dense, &ad);
    lrmlp_net_free(ad);
    return rc;
}

/* An IDX image file of N samples of 2 x 3 pixels and its label file, plain
 * or (gz) gzip-compressed, which the reader inflates itself. */
static void write_bytes(const char *path, const unsigned char *b, size_t len, int gz)
{
    if (gz) {
        gzFile z = gzopen(path, "wb");
        ck_assert_ptr_nonnull(z);
        ck_assert_int_eq(gzwrite(z, b, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(z), Z_OK);
    } else {
        ck_assert_int_eq(tu_write_file(path, b, len), 0);
    }
}

static void setup_idx_(fx *f, int gz)
{
    fx_data(f);
    unsigned char img[16 + N * 6], lab[8 + N];
    const unsigned char ih[16] = {0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, 2, 0, 0, 0, 3};
    const unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, N};
    memcpy(img, ih, 16);
    memcpy(lab, lh, 8);
    for (size_t i = 0; i < N * 6; i++)
        img[16 + i] = (unsigned char)(i * 37);
    for (size_t i = 0; i < N; i++)
        lab[8 + i] = (unsigned char)f->lab[i];
    snprintf(f->path, sizeof f->path, "%s", tu_tmp_path(gz ? "nomem-img.gz" : "nomem-img"));
    snprintf(f->path2, sizeof f->path2, "%s", tu_tmp_path(gz ? "nomem-lab.gz" : "nomem-lab"));
    write_bytes(f->path, img, sizeof img, gz);
    write_bytes(f->path2, lab, sizeof lab, gz);
}

static void setup_idx(fx *f) { setup_idx_(f, 0); }
static void setup_idx_gz(fx *f) { setup_idx_(f, 1); }

static int call_load_idx(fx *f)
{
    lrmlp_dataset *ds;
    int rc = lrmlp_dataset_load_idx(&ds, f->path, f->path2);
    lrmlp_dataset_free(ds);
    return rc;
}

static const scenario scenarios[] = {
    {"dataset_load_idx", setup_idx, call_load_idx},
    {"dataset_load_idx_gzip", setup_idx_gz, call_load_idx},
    {"net_create", setup_data, call_net_create},
    {"net_clone", setup_dense, call_net_clone},
    {"net_gradient", setup_dense, call_gradient},
    {"optim_create", setup_dense, call_optim_create},
    {"train_epoch", setup_train, call_train_epoch},
    {"evaluate", setup_train, call_evaluate},
    {"model_save", setup_train, call_model_save},
    {"model_load", setup_saved, call_model_load},
    {"dataset_from_labels", setup_data, call_dataset_from_labels},
    {"dataset_load_csv", setup_csv, call_load_csv},
    {"dataset_standardize", setup_train, call_standardize},
    {"subspace_estimate", setup_dense, call_subspace_estimate},
    {"tracker", setup_subspace, call_tracker},
    {"lowrank_create", setup_data, call_lowrank_create},
    {"lowrank_expand", setup_lowrank, call_lowrank_expand},
    {"net_factorize", setup_dense, call_factorize},
    {"lowrank_init_from_dense", setup_lowrank_pair, call_init_from_dense},
    {"lowrank_init_random", setup_lowrank_pair, call_init_random},
    {"weights_export_safetensors", setup_st, call_export_st},
    {"weights_export_npz", setup_npz, call_export_npz},
    {"weights_import_safetensors", setup_st, call_import},
    {"weights_import_npz", setup_npz, call_import},
    {"adapter_create lora", setup_adapter_base, call_adapter_lora},
    {"adapter_create pissa", setup_adapter_base, call_adapter_pissa},
    {"adapter_create gradient", setup_adapter_base, call_adapter_gradient},
    {"adapter_merge", setup_adapter, call_adapter_merge},
    {"net_clone of an adapter", setup_adapter, call_adapter_clone},
    {"adapter_save_mem", setup_adapter, call_adapter_save},
    {"adapter_load_mem", setup_adapter, call_adapter_load},
};
enum { N_SCENARIOS = sizeof scenarios / sizeof scenarios[0] };

/* Parameters and generator state of the guarded network, as bytes: the
 * generator is compared through the next draws of a clone. */
static unsigned char *snapshot(lrmlp_net *net, size_t *len)
{
    if (!net) {
        *len = 0;
        return NULL;
    }
    size_t es = lrmlp_net_dtype(net) == LRMLP_F32 ? 4 : 8;
    size_t P = lrmlp_net_param_count(net), extra = 4 * 8;
    unsigned char *b = malloc(P * es + extra);
    ck_assert_ptr_nonnull(b);
    memcpy(b, lrmlp_net_params(net), P * es);
    lrmlp_net *c;
    ck_assert_int_eq(lrmlp_net_clone(&c, net), LRMLP_OK);
    /* four draws through a re-initialization of layer 0 of the clone */
    ck_assert_int_eq(lrmlp_net_init_layer(c, 0, LRMLP_INIT_GAUSSIAN, 1.0), LRMLP_OK);
    memcpy(b + P * es, lrmlp_net_params(c), extra < P * es ? extra : P * es);
    lrmlp_net_free(c);
    *len = P * es + extra;
    return b;
}

START_TEST(test_every_allocation_fails)
{
    const scenario *sc = &scenarios[_i];
    fx f;
    memset(&f, 0, sizeof f);
    sc->setup(&f);
    inject_count = 0;
    inject_fail_at = -1;
    inject_on = 1;
    int rc = sc->call(&f);
    inject_on = 0;
    long n = inject_count;
    ck_assert_msg(rc == LRMLP_OK, "%s: %d %s", sc->name, rc, lrmlp_last_errmsg());
    ck_assert_msg(n > 0, "%s makes no allocation", sc->name);
    fx_free(&f);
    for (long k = 0; k < n; k++) {
        sc->setup(&f);
        size_t len;
        unsigned char *before = snapshot(f.net, &len);
        lrmlp_error_clear();
        inject_count = 0;
        inject_fail_at = k;
        inject_shrink = 0;
        inject_on = 1;
        rc = sc->call(&f);
        inject_on = 0;
        if (rc == LRMLP_OK && inject_shrink) {
            free(before);
            fx_free(&f);
            continue;
        }
        ck_assert_msg(rc == LRMLP_ERR_NOMEM, "%s, allocation %ld of %ld failing: %d (%s)",
                      sc->name, k + 1, n, rc, lrmlp_last_errmsg());
        ck_assert_msg(lrmlp_last_errmsg()[0] != '\0', "%s, allocation %ld: no message",
                      sc->name, k + 1);
        size_t len2;
        unsigned char *after = snapshot(f.net, &len2);
        ck_assert_msg(len == len2 && (len == 0 || memcmp(before, after, len) == 0),
                      "%s, allocation %ld of %ld failing: the network changed", sc->name, k + 1,
                      n);
        free(before);
        free(after);
        fx_free(&f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_allocation_fails, 0, N_SCENARIOS);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
