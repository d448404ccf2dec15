/* Training loop: convergence on separable data, callbacks, the all-reduce
 * hook, divergence handling, determinism, evaluation. */
#include "testutil.h"

#include <lrmlp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Three Gaussian clusters in 4 dimensions, well separated. */
static lrmlp_dataset *clusters(size_t n, uint64_t seed)
{
    float *X = malloc(n * 4 * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        y[i] = c;
        for (int j = 0; j < 4; j++)
            X[i * 4 + j] = (float)((j == c ? 3.0 : 0.0) + 0.5 * tu_rand(&s));
    }
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, n, 4, y, 3), LRMLP_OK);
    free(X);
    free(y);
    return ds;
}

static lrmlp_net *small_net(uint64_t seed)
{
    const size_t w[] = {4, 16, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w;
    o.bias = 1;
    o.seed = seed;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    return net;
}

static lrmlp_optim *adam(lrmlp_net *net, double lr)
{
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = lr;
    lrmlp_optim *opt = NULL;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    return opt;
}

START_TEST(test_converges)
{
    lrmlp_dataset *ds = clusters(300, 1);
    lrmlp_net *net = small_net(2);
    lrmlp_optim *opt = adam(net, 0.01);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = 32;
    lrmlp_eval_result before, after;
    ck_assert_int_eq(lrmlp_evaluate(net, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &before), LRMLP_OK);
    lrmlp_epoch_stats st;
    for (int e = 0; e < 20; e++)
        ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, &st), LRMLP_OK);
    ck_assert_uint_eq(st.samples, 300);
    ck_assert_uint_eq(st.steps, 10); /* ceil(300 / 32) */
    ck_assert_uint_eq(lrmlp_net_epochs(net), 20);
    ck_assert_uint_eq(lrmlp_optim_steps(opt), 200);
    ck_assert_int_eq(lrmlp_evaluate(net, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &after), LRMLP_OK);
    ck_assert_msg(after.accuracy > 0.98, "accuracy %g", after.accuracy);
    ck_assert(after.loss < 0.2 * before.loss);
    ck_assert_uint_eq(after.samples, 300);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST

static int stop_at_3(void *user, lrmlp_net *net, const lrmlp_step_info *info)
{
    (void)net;
    int *calls = user;
    (*calls)++;
    ck_assert_uint_eq(info->step, (uint64_t)*calls);
    ck_assert(isfinite(info->loss) && info->lr > 0);
    return info->step == 3;
}

START_TEST(test_callback_stops)
{
    lrmlp_dataset *ds = clusters(300, 1);
    lrmlp_net *net = small_net(2);
    lrmlp_optim *opt = adam(net, 0.01);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = 32;
    int calls = 0;
    to.on_step = stop_at_3;
    to.on_step_user = &calls;
    lrmlp_epoch_stats st;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, &st), LRMLP_ERR_STOPPED);
    ck_assert_int_eq(calls, 3);
    ck_assert_uint_eq(st.steps, 3);
    ck_assert_uint_eq(lrmlp_net_epochs(net), 0);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST

static int zero_grad(void *user, void *grad, size_t count, lrmlp_dtype dt)
{
    ck_assert_int_eq(dt, LRMLP_F32);
    *(size_t *)user = count;
    memset(grad, 0, count * sizeof(float));
    return LRMLP_OK;
}

static int failing_hook(void *user, void *grad, size_t count, lrmlp_dtype dt)
{
    (void)user, (void)grad, (void)count, (void)dt;
    return LRMLP_ERR_IO;
}

START_TEST(test_allreduce_hook)
{
    lrmlp_dataset *ds = clusters(90, 3);
    lrmlp_net *net = small_net(4);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT; /* plain SGD: zero grad, no move */
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    size_t P = lrmlp_net_param_count(net), seen = 0;
    float *before = malloc(P * sizeof *before);
    memcpy(before, lrmlp_net_params(net), P * sizeof *before);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.allreduce = zero_grad;
    to.allreduce_user = &seen;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_OK);
    ck_assert_uint_eq(seen, P);
    ck_assert(memcmp(before, lrmlp_net_params(net), P * sizeof *before) == 0);
    to.allreduce = failing_hook;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_ERR_IO);
    ck_assert(strstr(lrmlp_last_errmsg(), "all-reduce") != NULL);
    free(before);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_divergence_keeps_weights)
{
    /* Summed squared error with a huge rate blows up; the library stops at
     * the first non-finite loss or gradient with the last finite weights. */
    lrmlp_dataset *ds = clusters(300, 5);
    const size_t w[] = {4, 16, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w;
    o.hidden_activation = LRMLP_ACT_RELU;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.lr = 10.0;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_SSE;
    to.batch_size = 0;
    int rc = LRMLP_OK;
    for (int e = 0; e < 200 && rc == LRMLP_OK; e++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    ck_assert_int_eq(rc, LRMLP_ERR_DIVERGED);
    const float *p = lrmlp_net_params(net);
    for (size_t i = 0; i < lrmlp_net_param_count(net); i++)
        ck_assert(isfinite(p[i]));
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_determinism)
{
    lrmlp_dataset *ds = clusters(200, 9);
    float *res[3];
    size_t P = 0;
    for (int r = 0; r < 3; r++) {
        lrmlp_net *net = small_net(r == 2 ? 8 : 7);
        lrmlp_optim *opt = adam(net, 0.01);
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.batch_size = 16;
        for (int e = 0; e < 3; e++)
            ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_OK);
        P = lrmlp_net_param_count(net);
        res[r] = malloc(P * sizeof(float));
        memcpy(res[r], lrmlp_net_params(net), P * sizeof(float));
        lrmlp_optim_free(opt);
        lrmlp_net_free(net);
    }
    ck_assert(memcmp(res[0], res[1], P * sizeof(float)) == 0);
    ck_assert(memcmp(res[0], res[2], P * sizeof(float)) != 0);
    for (int r = 0; r < 3; r++)
        free(res[r]);
    lrmlp_dataset_free(ds);
}
END_TEST

/* A program built against version 1 or 2 of lrmlp_train_options passes the
 * shorter struct; the fields added later take their defaults, so it trains
 * exactly like a current caller with the defaults. */
typedef struct {
    unsigned int version;
    lrmlp_loss loss;
    size_t batch_size;
    int shuffle;
    lrmlp_step_fn on_step;
    void *on_step_user;
    lrmlp_allreduce_fn allreduce;
    void *allreduce_user;
} train_options_v1;

/* The weights (a malloc'd copy, *P of them) of small_net(seed) after two
 * Adam epochs with options o. */
static float *trained_weights(const lrmlp_dataset *ds, uint64_t seed,
                              const lrmlp_train_options *o, size_t *P)
{
    lrmlp_net *net = small_net(seed);
    lrmlp_optim *opt = adam(net, 0.01);
    for (int e = 0; e < 2; e++)
        ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, o, NULL), LRMLP_OK);
    *P = lrmlp_net_param_count(net);
    float *w = malloc(*P * sizeof *w);
    memcpy(w, lrmlp_net_params(net), *P * sizeof *w);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return w;
}

typedef struct {
    train_options_v1 v1;
    const size_t *order;
    size_t shard_count;
    size_t shard_index;
} train_options_v2;

START_TEST(test_options_v1)
{
    /* versions 1 and 2 (shorter structs, followed by bytes a newer reader
     * must not take) train exactly like version 3 with the defaults */
    lrmlp_dataset *ds = clusters(100, 3);
    unsigned char buf[2][sizeof(lrmlp_train_options) + 64];
    memset(buf, 0xAB, sizeof buf);
    train_options_v1 o1 = { 1, LRMLP_LOSS_CROSS_ENTROPY, 16, 1, NULL, NULL, NULL, NULL };
    train_options_v2 o2 = { { 2, LRMLP_LOSS_CROSS_ENTROPY, 16, 1, NULL, NULL, NULL, NULL },
                            NULL, 0, 0 };
    memcpy(buf[0], &o1, sizeof o1);
    memcpy(buf[1], &o2, sizeof o2);
    lrmlp_train_options o3 = LRMLP_TRAIN_OPTIONS_INIT;
    o3.batch_size = 16;
    size_t P;
    float *w1 = trained_weights(ds, 5, (const lrmlp_train_options *)(void *)buf[0], &P);
    float *w2 = trained_weights(ds, 5, (const lrmlp_train_options *)(void *)buf[1], &P);
    float *w3 = trained_weights(ds, 5, &o3, &P);
    ck_assert(memcmp(w1, w3, P * sizeof *w1) == 0);
    ck_assert(memcmp(w2, w3, P * sizeof *w2) == 0);
    free(w1);
    free(w2);
    free(w3);
    lrmlp_dataset_free(ds);
}
END_TEST

/* grad_ready (version 3): the per-layer notices of the backward pass. */
enum { GR_L = 3, GR_KEEP = 4 };
typedef struct {
    size_t off[GR_L], cnt[GR_L]; /* layer l's slice of the gradient vector */
    size_t P;                    /* parameters */
    int frozen;                  /* layer 1 frozen */
    float *snap;                 /* the slices as announced, this batch */
    size_t pending;              /* notices since the last hook call */
    size_t hooks, notices;
    float *kept;                 /* the hook's vector of its first GR_KEEP calls */
    int fail_at;                 /* notice (1-based) that fails, 0: none */
    int check;                   /* the hook checks the notices */
} gr_;

static int gr_ready(void *user, lrmlp_net *net, size_t offset, size_t count)
{
    gr_ *g = user;
    size_t l = GR_L - 1 - g->pending; /* last layer first */
    ck_assert(g->pending < GR_L);
    ck_assert_uint_eq(offset, g->off[l]);
    ck_assert_uint_eq(count, g->cnt[l]);
    const float *gv = lrmlp_net_grads(net);
    memcpy(g->snap + offset, gv + offset, count * sizeof(float));
    for (size_t i = 0; g->frozen && l == 1 && i < count; i++)
        ck_assert(gv[offset + i] == 0.0f);
    g->pending++;
    g->notices++;
    return (int)g->notices == g->fail_at ? LRMLP_ERR_IO : 0;
}

static int gr_hook(void *user, void *grad, size_t count, lrmlp_dtype dt)
{
    gr_ *g = user;
    ck_assert(dt == LRMLP_F32 && count == g->P);
    if (g->check) {
        /* every layer was announced, and its slice was final then */
        ck_assert_uint_eq(g->pending, GR_L);
        ck_assert(memcmp(g->snap, grad, count * sizeof(float)) == 0);
        g->pending = 0;
    }
    if (g->hooks < GR_KEEP)
        memcpy(g->kept + g->hooks * count, grad, count * sizeof(float));
    g->hooks++;
    return 0;
}

/* With and without grad_ready the epoch is bit-identical (the shard weight
 * of a mean loss is applied per slice); each layer is announced once per
 * batch, last first, when its slice is final, also over accumulated chunks
 * (batches above the chunk size) and for a frozen layer. */
START_TEST(test_grad_ready)
{
    const size_t n = 6500, w[] = {4, 16, 8, 3};
    lrmlp_dataset *ds = clusters(n, 9);
    struct {
        size_t batch, shards, index;
    } cfg[] = {{0, 1, 0}, {0, 3, 1}, {16, 1, 0}, {16, 3, 2}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        for (int frozen = 0; frozen < 2; frozen++) {
            gr_ g[2];
            float *params[2];
            for (int with = 0; with < 2; with++) {
                lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
                no.n_layers = GR_L;
                no.widths = w;
                no.bias = 1;
                no.seed = 5;
                lrmlp_net *net;
                ck_assert_int_eq(lrmlp_net_create(&net, &no), LRMLP_OK);
                if (frozen)
                    ck_assert_int_eq(lrmlp_net_set_frozen(net, 1, 1), LRMLP_OK);
                lrmlp_optim *opt = adam(net, 0.01);
                gr_ *gg = &g[with];
                memset(gg, 0, sizeof *gg);
                gg->P = lrmlp_net_param_count(net);
                gg->frozen = frozen;
                for (size_t l = 0, off = 0; l < GR_L; l++) {
                    gg->off[l] = off;
                    gg->cnt[l] = w[l] * w[l + 1] + w[l + 1];
                    off += gg->cnt[l];
                }
                ck_assert_uint_eq(gg->off[GR_L - 1] + gg->cnt[GR_L - 1], gg->P);
                gg->kept = calloc(GR_KEEP * gg->P, sizeof(float));
                gg->snap = calloc(gg->P, sizeof(float));
                gg->check = with;
                lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
                o.batch_size = cfg[c].batch;
                o.shard_count = cfg[c].shards;
                o.shard_index = cfg[c].index;
                o.allreduce = gr_hook;
                o.allreduce_user = gg;
                if (with) {
                    o.grad_ready = gr_ready;
                    o.grad_ready_user = gg;
                }
                for (int e = 0; e < 2; e++)
                    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &o, NULL), LRMLP_OK);
                ck_assert_uint_eq(gg->notices, with ? GR_L * gg->hooks : 0);
                params[with] = malloc(gg->P * sizeof(float));
                memcpy(params[with], lrmlp_net_params(net), gg->P * sizeof(float));
                free(gg->snap);
                lrmlp_optim_free(opt);
                lrmlp_net_free(net);
            }
            ck_assert_uint_eq(g[0].hooks, g[1].hooks);
            size_t kept = g[0].hooks < GR_KEEP ? g[0].hooks : GR_KEEP;
            ck_assert(memcmp(g[0].kept, g[1].kept, kept * g[0].P * sizeof(float)) == 0);
            ck_assert(memcmp(params[0], params[1], g[0].P * sizeof(float)) == 0);
            for (int i = 0; i < 2; i++) {
                free(g[i].kept);
                free(params[i]);
            }
        }
    }
    lrmlp_dataset_free(ds);
}
END_TEST

/* A failing grad_ready stops further notices of the batch; the hook is
 * still called once (to complete what was started), then the epoch returns
 * the callback's status without a step. */
START_TEST(test_grad_ready_fails)
{
    const size_t w[] = {4, 16, 8, 3};
    lrmlp_dataset *ds = clusters(60, 2);
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = GR_L;
    no.widths = w;
    no.bias = 1;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &no), LRMLP_OK);
    lrmlp_optim *opt = adam(net, 0.01);
    gr_ g;
    memset(&g, 0, sizeof g);
    g.P = lrmlp_net_param_count(net);
    for (size_t l = 0, off = 0; l < GR_L; l++) {
        g.off[l] = off;
        g.cnt[l] = w[l] * w[l + 1] + w[l + 1];
        off += g.cnt[l];
    }
    g.kept = calloc(GR_KEEP * g.P, sizeof(float));
    g.snap = calloc(g.P, sizeof(float));
    g.fail_at = 2;
    float *before = malloc(g.P * sizeof(float));
    memcpy(before, lrmlp_net_params(net), g.P * sizeof(float));
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = 20;
    o.allreduce = gr_hook;
    o.allreduce_user = &g;
    o.grad_ready = gr_ready;
    o.grad_ready_user = &g;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &o, NULL), LRMLP_ERR_IO);
    ck_assert(strstr(lrmlp_last_errmsg(), "gradient-ready") != NULL);
    ck_assert_uint_eq(g.notices, 2);
    ck_assert_uint_eq(g.hooks, 1);
    ck_assert_uint_eq(lrmlp_optim_steps(opt), 0);
    ck_assert(memcmp(before, lrmlp_net_params(net), g.P * sizeof(float)) == 0);
    free(before);
    free(g.snap);
    free(g.kept);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST

/* A hook that keeps the first batch's gradient and aborts the epoch. */
typedef struct {
    double g[256];
    size_t count;
} grab_;

static int grab_first(void *user, void *grad, size_t count, lrmlp_dtype dt)
{
    grab_ *g = user;
    ck_assert(dt == LRMLP_F32 && count <= 256);
    for (size_t i = 0; i < count; i++)
        g->g[i] = ((const float *)grad)[i];
    g->count = count;
    return LRMLP_ERR_STOPPED;
}

/* order replaces the shuffle; shards split each global batch, weighted so
 * that the sum of the shards' gradients is the whole batch's (odd n: the
 * parts are 101 and 102 samples). */
START_TEST(test_order_and_shards)
{
    const size_t n = 203;
    lrmlp_dataset *ds = clusters(n, 4);
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = (i * 37) % n; /* a permutation: 37 and 203 are coprime */
    for (int loss = 0; loss < 3; loss++) {
        grab_ whole, part[2];
        for (int s = -1; s < 2; s++) {
            lrmlp_net *net = small_net(11);
            lrmlp_optim *opt = adam(net, 0.01);
            lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
            o.loss = (lrmlp_loss)loss;
            o.batch_size = 0;
            o.order = order;
            o.allreduce = grab_first;
            o.allreduce_user = s < 0 ? &whole : &part[s];
            if (s >= 0) {
                o.shard_count = 2;
                o.shard_index = (size_t)s;
            }
            ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &o, NULL), LRMLP_ERR_STOPPED);
            lrmlp_optim_free(opt);
            lrmlp_net_free(net);
        }
        double gmax = 0;
        for (size_t i = 0; i < whole.count; i++)
            gmax = fmax(gmax, fabs(whole.g[i]));
        ck_assert(gmax > 0);
        for (size_t i = 0; i < whole.count; i++)
            ck_assert_double_eq_tol(part[0].g[i] + part[1].g[i], whole.g[i], 1e-5 * gmax);
    }
    /* an identity order is the unshuffled epoch, bit for bit */
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    lrmlp_train_options plain = LRMLP_TRAIN_OPTIONS_INIT, ordered = LRMLP_TRAIN_OPTIONS_INIT;
    plain.batch_size = ordered.batch_size = 16;
    plain.shuffle = 0;
    ordered.order = order; /* with shuffle = 1: the order wins */
    size_t P;
    float *a = trained_weights(ds, 12, &plain, &P), *b = trained_weights(ds, 12, &ordered, &P);
    ck_assert(memcmp(a, b, P * sizeof *a) == 0);
    free(a);
    free(b);
    /* bad orders and shards */
    lrmlp_net *net = small_net(13);
    lrmlp_optim *opt = adam(net, 0.01);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    order[7] = n;
    o.order = order;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &o, NULL), LRMLP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "order[7]"));
    o.order = NULL;
    o.shard_count = 2;
    o.shard_index = 2;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &o, NULL), LRMLP_ERR_INVALID);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    free(order);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_full_batch_gd_step)
{
    /* One full-batch GD epoch = one step w -= lr * grad(full data). */
    lrmlp_dataset *ds = clusters(60, 11);
    lrmlp_net *a = small_net(12), *b;
    ck_assert_int_eq(lrmlp_net_clone(&b, a), LRMLP_OK);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = 0.001;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, a, &oo), LRMLP_OK);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_SSE;
    to.batch_size = 0;
    to.shuffle = 0;
    ck_assert_int_eq(lrmlp_train_epoch(a, opt, ds, &to, NULL), LRMLP_OK);
    float X[60 * 4], T[60 * 3];
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 60, X, T), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_gradient_f32(b, X, T, 60, LRMLP_LOSS_SSE, NULL), LRMLP_OK);
    size_t P = lrmlp_net_param_count(a);
    const float *pa = lrmlp_net_params(a), *pb = lrmlp_net_params(b), *g = lrmlp_net_grads(b);
    for (size_t i = 0; i < P; i++)
        ck_assert_float_eq_tol(pa[i], pb[i] - 0.001f * g[i], 1e-6f);
    /* SSE evaluated in batches adds up to the one-batch loss. */
    lrmlp_eval_result e1, e2;
    ck_assert_int_eq(lrmlp_evaluate(b, ds, LRMLP_LOSS_SSE, 7, &e1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_evaluate(b, ds, LRMLP_LOSS_SSE, 0, &e2), LRMLP_OK);
    ck_assert_double_eq_tol(e1.loss, e2.loss, 1e-4 * e2.loss);
    lrmlp_optim_free(opt);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_shape_mismatch)
{
    lrmlp_dataset *ds = clusters(30, 1);
    const size_t w[] = {5, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 1;
    o.widths = w;
    lrmlp_net *net;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    lrmlp_optim *opt = adam(net, 0.01);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_ERR_SHAPE);
    ck_assert(strstr(lrmlp_last_errmsg(), "features") != NULL);
    lrmlp_eval_result ev;
    ck_assert_int_eq(lrmlp_evaluate(net, ds, LRMLP_LOSS_MSE, 0, &ev), LRMLP_ERR_SHAPE);
    to.version = 42;
    ck_assert_int_eq(lrmlp_train_epoch(net, opt, ds, &to, NULL), LRMLP_ERR_VERSION);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}
END_TEST


START_TEST(test_chunked_full_batch)
{
    /* Batches larger than the chunk size (at most 2048 samples) are
     * processed in chunks whose gradients add up. The reference here is
     * independent of that mechanism: the gradients of five 1000-sample
     * slices, summed (SSE) or averaged (cross-entropy). Both the full-batch lrmlp_net_gradient_f64
     * and one full-batch GD epoch must match it (float64, summation-order
     * round-off), and the epoch's step must be w - lr * gradient. */
    const size_t n = 5000, d = 6, k = 3;
    double *X = malloc(n * d * sizeof *X), *T = calloc(n * k, sizeof *T);
    int32_t *y = malloc(n * sizeof *y);
    uint64_t s = 21;
    for (size_t i = 0; i < n * d; i++)
        X[i] = tu_rand(&s);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % k);
        T[i * k + (size_t)y[i]] = 1;
    }
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, n, d, y, k), LRMLP_OK);
    for (int li = 0; li < 2; li++) {
        lrmlp_loss loss = li ? LRMLP_LOSS_CROSS_ENTROPY : LRMLP_LOSS_SSE;
        const size_t w[] = {6, 8, 3};
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.dtype = LRMLP_F64;
        o.n_layers = 2;
        o.widths = w;
        o.bias = 1;
        o.seed = 3;
        lrmlp_net *a, *b;
        ck_assert_int_eq(lrmlp_net_create(&a, &o), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_clone(&b, a), LRMLP_OK);
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = LRMLP_OPTIM_GD;
        oo.lr = 1e-4;
        lrmlp_optim *opt;
        ck_assert_int_eq(lrmlp_optim_create(&opt, a, &oo), LRMLP_OK);
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.loss = loss;
        to.batch_size = 0;
        to.shuffle = 0;
        lrmlp_epoch_stats st;
        ck_assert_int_eq(lrmlp_train_epoch(a, opt, ds, &to, &st), LRMLP_OK);
        size_t P = lrmlp_net_param_count(a);
        double *ref = calloc(P, sizeof *ref), lref = 0;
        for (size_t s0 = 0; s0 < n; s0 += 1000) {
            double part;
            ck_assert_int_eq(lrmlp_net_gradient_f64(b, X + s0 * d, T + s0 * k, 1000, loss, &part),
                             LRMLP_OK);
            double wgt = loss == LRMLP_LOSS_SSE ? 1.0 : 1000.0 / (double)n;
            const double *gs = lrmlp_net_grads(b);
            for (size_t i = 0; i < P; i++)
                ref[i] += wgt * gs[i];
            lref += wgt * part;
        }
        double lb;
        ck_assert_int_eq(lrmlp_net_gradient_f64(b, X, T, n, loss, &lb), LRMLP_OK);
        ck_assert_double_eq_tol(lb, lref, 1e-10 * fabs(lref));
        ck_assert_double_eq_tol(st.loss, lref, 1e-10 * fabs(lref));
        const double *pa = lrmlp_net_params(a), *pb = lrmlp_net_params(b),
                     *g = lrmlp_net_grads(b), *ga = lrmlp_net_grads(a);
        for (size_t i = 0; i < P; i++) {
            ck_assert_double_eq_tol(g[i], ref[i], 1e-10 * (1 + fabs(ref[i])));
            ck_assert_double_eq_tol(ga[i], ref[i], 1e-10 * (1 + fabs(ref[i])));
            ck_assert_double_eq_tol(pa[i], pb[i] - 1e-4 * ref[i], 1e-14);
        }
        free(ref);
        lrmlp_optim_free(opt);
        lrmlp_net_free(a);
        lrmlp_net_free(b);
    }
    lrmlp_dataset_free(ds);
    free(X);
    free(T);
    free(y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_converges);
    tcase_add_test(tc, test_callback_stops);
    tcase_add_test(tc, test_allreduce_hook);
    tcase_add_test(tc, test_divergence_keeps_weights);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_options_v1);
    tcase_add_test(tc, test_order_and_shards);
    tcase_add_test(tc, test_full_batch_gd_step);
    tcase_add_test(tc, test_chunked_full_batch);
    tcase_add_test(tc, test_grad_ready);
    tcase_add_test(tc, test_grad_ready_fails);
    tcase_add_test(tc, test_shape_mismatch);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
