/* Training loop (one epoch) and evaluation. */
#include "internal.h"
#include "numerics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

LRMLP__OPTS_TYPE(train_opts_type, lrmlp_train_options, LRMLP_TRAIN_OPTIONS_VERSION,
                 LRMLP_TRAIN_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_train_options, allreduce_user),
                 LRMLP__OPTS_END(lrmlp_train_options, shard_index),
                 LRMLP__OPTS_END(lrmlp_train_options, grad_ready_user));

LRMLP_API int lrmlp_train_options_init(lrmlp_train_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&train_opts_type, opts, version);
}

LRMLP_API uint64_t lrmlp_net_epochs(const lrmlp_net *net) { return net ? net->epochs : 0; }

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The network's training scratch, grown to at least `bytes` (contents lost). */
static void *scratch(lrmlp_net *net, size_t bytes)
{
    if (bytes > net->tbuf_size) {
        free(net->tbuf);
        net->tbuf = lrmlp__big_alloc(bytes, 0);
        net->tbuf_size = net->tbuf ? bytes : 0;
    }
    return net->tbuf;
}

/* Splits the scratch into X (xb bytes), T (tb) and, when nidx > 0, an index
 * array, each 64-byte aligned. Returns 0 on no memory. */
static int scratch_split(lrmlp_net *net, size_t xb, size_t tb, size_t nidx, void **X, void **T,
                         size_t **idx)
{
    size_t ax = (xb + 63) & ~(size_t)63, at = (tb + 63) & ~(size_t)63, total, ib;
    if (!lrmlp__mul_ok(nidx, sizeof(size_t), &ib) || !lrmlp__add_ok(ax, at, &total) ||
        !lrmlp__add_ok(total, ib, &total))
        return 0;
    char *p = scratch(net, total ? total : 1);
    if (!p)
        return 0;
    *X = p;
    *T = p + ax;
    if (idx)
        *idx = nidx ? (size_t *)(p + ax + at) : NULL;
    return 1;
}

static int check_dataset(lrmlp_net *net, const lrmlp_dataset *ds, int need_targets)
{
    if (!ds)
        return lrmlp__err(LRMLP_ERR_INVALID, "dataset is NULL");
    size_t k = net->widths[net->n_layers];
    if (lrmlp_dataset_dim(ds) != net->widths[0])
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "dataset has %zu features, network input width is %zu",
                          lrmlp_dataset_dim(ds), net->widths[0]);
    if (need_targets && lrmlp_dataset_target_dim(ds) != k)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "dataset targets have width %zu, network output width is %zu",
                          lrmlp_dataset_target_dim(ds), k);
    if (lrmlp_dataset_size(ds) == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "dataset is empty");
    return LRMLP_OK;
}

/* Sets gradient elements [0, end) to v. */
static void fill_grads(lrmlp_net *net, size_t end, double v)
{
    for (size_t i = 0; i < end; i++) {
        if (net->dtype == LRMLP_F32)
            ((float *)net->grads)[i] = (float)v;
        else
            ((double *)net->grads)[i] = v;
    }
}

/* Multiplies gradient elements [off, off + count) by s (rounded to the
 * network's precision). */
static void scale_grads(lrmlp_net *net, size_t off, size_t count, double s)
{
    if (net->dtype == LRMLP_F32) {
        float *g = (float *)net->grads + off, f = (float)s;
        for (size_t i = 0; i < count; i++)
            g[i] *= f;
    } else {
        double *g = (double *)net->grads + off;
        for (size_t i = 0; i < count; i++)
            g[i] *= s;
    }
}

/* The per-layer notices of one batch (opts->grad_ready, train.h): each
 * layer's slice gets the shard weight, then the caller hears of it. */
typedef struct {
    const lrmlp_train_options *opts;
    double weight; /* 1, or m / cnt for a shard of a batch with a mean loss */
    size_t done;   /* layers announced in this batch, counted from the last */
    int rc;        /* the callback's first failure in this batch */
} ready_;

static void announce(void *ctx, lrmlp_net *net, size_t l)
{
    ready_ *c = ctx;
    const lrmlp_layer_ *ly = &net->layers[l];
    /* W then b, contiguous (net.c) */
    size_t off = ly->w_off, cnt = ly->in * ly->out + (ly->b_off != SIZE_MAX ? ly->out : 0);
    if (c->weight != 1.0)
        scale_grads(net, off, cnt, c->weight);
    c->done++;
    if (c->rc == LRMLP_OK) {
        int rc = c->opts->grad_ready(c->opts->grad_ready_user, net, off, cnt);
        if (rc)
            c->rc = lrmlp__err(rc > 0 ? LRMLP_ERR_INVALID : rc,
                               "gradient-ready callback failed: %s",
                               lrmlp_strerror(rc > 0 ? LRMLP_ERR_INVALID : rc));
    }
}

/* Announces the layers the backward pass did not (all of them when it did
 * not run), after the gradient was filled for a failed or empty part. */
static void announce_rest(ready_ *c, lrmlp_net *net)
{
    c->weight = 1.0;
    while (c->done < net->n_layers)
        announce(c, net, net->n_layers - 1 - c->done);
}

/* End of the gradient elements not yet announced: [0, end) is free to write. */
static size_t unannounced_end(const ready_ *c, const lrmlp_net *net)
{
    return c->done ? net->layers[net->n_layers - c->done].w_off : net->n_params;
}

static int copy_rows(const lrmlp_net *net, const lrmlp_dataset *ds, const size_t *idx,
                     size_t start, size_t count, void *X, void *T)
{
    return net->dtype == LRMLP_F32 ? lrmlp_dataset_batch_f32(ds, idx, start, count, X, T)
                                   : lrmlp_dataset_batch_f64(ds, idx, start, count, X, T);
}

/* Rows per tile of a batch copy spread over the optimizer's helpers. */
#define BATCH_TILE_ROWS 32

typedef struct {
    const lrmlp_net *net;
    const lrmlp_dataset *ds;
    const size_t *idx;
    size_t start, count;
    char *X, *T;
    atomic_int failed;
} batch_job_;

static void batch_tile(void *ctx, size_t t)
{
    batch_job_ *j = ctx;
    const size_t r0 = t * BATCH_TILE_ROWS;
    const size_t c = j->count - r0 < BATCH_TILE_ROWS ? j->count - r0 : BATCH_TILE_ROWS;
    const size_t es = lrmlp__dtype_size(j->net->dtype), d = j->net->widths[0];
    const size_t k = j->net->widths[j->net->n_layers];
    if (copy_rows(j->net, j->ds, j->idx ? j->idx + r0 : NULL, j->start + r0, c,
                  j->X + r0 * d * es, j->T ? j->T + r0 * k * es : NULL) != LRMLP_OK)
        atomic_store(&j->failed, 1);
}

/* The batch's rows into X and its targets into T. Right after an
 * optimizer step the optimizer's helper threads are still polling for work
 * (pool.c), so when it has them a batch of several tiles is copied on them
 * too: the same bits either way. */
static int fetch_batch(lrmlp_net *net, lrmlp_optim *opt, const lrmlp_dataset *ds,
                       const size_t *idx, size_t start, size_t count, void *X, void *T)
{
    const size_t tiles = (count + BATCH_TILE_ROWS - 1) / BATCH_TILE_ROWS;
    const int bt = lrmlp_blas_threads();
    if (opt && opt->pool && bt > 1 && tiles > 1) {
        batch_job_ j = {net, ds, idx, start, count, X, T, 0};
        lrmlp__pool_run(&opt->pool, (size_t)bt, tiles, batch_tile, &j);
        if (!atomic_load(&j.failed))
            return LRMLP_OK;
        /* a tile failed, on whichever thread: the copy below fails the
         * same way on this one, whose last error the caller reads */
    }
    int rc = copy_rows(net, ds, idx, start, count, X, T);
    if (rc)
        lrmlp__err_prefix(rc, "dataset: ");
    return rc;
}

LRMLP_API int lrmlp_train_epoch(lrmlp_net *net, lrmlp_optim *opt, const lrmlp_dataset *ds,
                                const lrmlp_train_options *user_opts, lrmlp_epoch_stats *stats)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_train_epoch: network is NULL");
    if (!opt || !user_opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "optimizer or options are NULL");
    lrmlp_train_options full;
    int rc = lrmlp__opts_read(&train_opts_type, user_opts, &full, "lrmlp_train_epoch");
    if (rc != LRMLP_OK)
        return rc;
    const lrmlp_train_options *opts = &full;
    if ((int)opts->loss < 0 || opts->loss >= LRMLP_LOSS_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown loss %d", (int)opts->loss);
    rc = check_dataset(net, ds, 1);
    if (rc)
        return rc;
    double t0 = now_seconds();
    size_t n = lrmlp_dataset_size(ds), d = net->widths[0], k = net->widths[net->n_layers];
    /* P shards (train.h): r computes rows [cnt r / P, cnt (r + 1) / P) of
     * each global batch of bs; P = 1 is the plain epoch. */
    const size_t P = opts->shard_count > 1 ? opts->shard_count : 1, r = opts->shard_index;
    if (P > 1 && r >= P)
        return lrmlp__err(LRMLP_ERR_INVALID, "shard_index %zu must be < shard_count %zu", r, P);
    if (P > 1 && n > SIZE_MAX / P)
        return lrmlp__err(LRMLP_ERR_INVALID, "dataset too large for %zu shards", P);
    for (size_t i = 0; opts->order && i < n; i++)
        if (opts->order[i] >= n)
            return lrmlp__err(LRMLP_ERR_INVALID, "order[%zu] = %zu is out of range (n = %zu)", i,
                              opts->order[i], n);
    size_t bs;
    if (P == 1)
        bs = opts->batch_size == 0 || opts->batch_size > n ? n : opts->batch_size;
    else
        bs = opts->batch_size == 0 || opts->batch_size >= (n + P - 1) / P ? n
                                                                          : opts->batch_size * P;
    /* Batches larger than lrmlp__chunk_rows go through in accumulated
     * chunks (internal.h), so the batch buffers are sized for one chunk. */
    size_t cs = lrmlp__chunk_rows(net);
    cs = bs < cs ? bs : cs;
    size_t es = lrmlp__dtype_size(net->dtype), xb, tb;
    if (!lrmlp__mul_ok(cs, d * es, &xb) || !lrmlp__mul_ok(cs, k * es, &tb))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch too large");
    size_t *idx = NULL;
    void *X, *T;
    const int shuffle = opts->shuffle && !opts->order;
    if (!scratch_split(net, xb, tb, shuffle ? n : 0, &X, &T, &idx)) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for batch buffers");
        if (P > 1 && opts->allreduce) { /* take part in the first batch's reduction */
            fill_grads(net, net->n_params, NAN);
            if (opts->grad_ready) {
                ready_ c = {opts, 1.0, 0, LRMLP_OK};
                announce_rest(&c, net);
            }
            opts->allreduce(opts->allreduce_user, net->grads, net->n_params, net->dtype);
            lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for batch buffers");
        }
        return rc;
    }
    lrmlp_rng rng0 = net->rng; /* given back if the epoch fails before a step */
    if (shuffle)
        lrmlp__permutation(idx, n, &net->rng);
    const size_t *perm = opts->order ? opts->order : idx;
    int classify = lrmlp_dataset_n_classes(ds) > 0;
    const int mean = opts->loss != LRMLP_LOSS_SSE;
    double loss_sum = 0;
    size_t correct = 0, seen = 0, local_seen = 0, steps = 0, batch = 0;
    for (size_t start = 0; start < n; start += bs, batch++) {
        size_t cnt = n - start < bs ? n - start : bs;
        size_t lo = start + cnt * r / P, m = start + cnt * (r + 1) / P - lo;
        double loss = 0;
        /* The shard weight (train.h) goes on each slice as it is announced. */
        ready_ rdy = {opts, P > 1 && mean && m != cnt ? (double)m / (double)cnt : 1.0, 0,
                      LRMLP_OK};
        const lrmlp__grad_ready_ ready = {announce, &rdy};
        for (size_t c0 = 0; c0 < m && rc == LRMLP_OK; c0 += cs) {
            size_t cc = m - c0 < cs ? m - c0 : cs;
            rc = fetch_batch(net, opt, ds, perm ? perm + lo + c0 : NULL, perm ? 0 : lo + c0, cc,
                             X, T);
            if (rc)
                break;
            double part = 0;
            /* only the last chunk's backward pass makes slices final */
            const int last = c0 + cc == m;
            rc = lrmlp__net_gradient_trusted(net, X, T, cc, opts->loss, m, c0 > 0,
                                             opts->grad_ready && last ? &ready : NULL, &part);
            loss += part;
            if (rc == LRMLP_OK && classify) {
                const char *Y = lrmlp__net_output(net);
                for (size_t i = 0; i < cc; i++)
                    correct += lrmlp__argmax(Y + i * k * es, k, net->dtype) ==
                               lrmlp__argmax((const char *)T + i * k * es, k, net->dtype);
            }
        }
        if (P > 1) {
            /* The hook's sum over shards is the batch gradient; after a
             * local failure, NaN makes every shard's step fail together. */
            if (rc)
                fill_grads(net, unannounced_end(&rdy, net), NAN);
            else if (m == 0)
                fill_grads(net, net->n_params, 0.0);
            else if (mean && m != cnt && !opts->grad_ready)
                scale_grads(net, 0, net->n_params, (double)m / (double)cnt);
        }
        if (rc && P == 1)
            break;
        if (opts->grad_ready)
            announce_rest(&rdy, net);
        if (opts->allreduce) {
            int hrc = opts->allreduce(opts->allreduce_user, net->grads, net->n_params, net->dtype);
            if (hrc) {
                rc = hrc > 0 ? LRMLP_ERR_INVALID : hrc;
                lrmlp__err(rc, "all-reduce hook failed: %s", lrmlp_strerror(rc));
                break;
            }
        }
        if (rdy.rc && rc == LRMLP_OK)
            rc = rdy.rc; /* its message is set */
        if (rc)
            break;
        double lr = lrmlp_optim_current_lr(opt);
        rc = lrmlp_optim_step(opt, net);
        if (rc) {
            lrmlp__err_prefix(rc, "optimizer: ");
            break;
        }
        loss_sum += P > 1 && mean ? loss * (double)m / (double)cnt : loss;
        seen += cnt;
        local_seen += m;
        steps++;
        if (opts->on_step) {
            lrmlp_step_info info = {lrmlp_optim_steps(opt), net->epochs, batch, cnt, loss, lr};
            if (opts->on_step(opts->on_step_user, net, &info)) {
                rc = lrmlp__err(LRMLP_ERR_STOPPED, "stopped by step callback");
                break;
            }
        }
    }
    if (rc == LRMLP_OK)
        net->epochs++;
    else if (steps == 0)
        net->rng = rng0;
    if (stats) {
        stats->loss = steps ? loss_sum / (double)steps : NAN;
        stats->accuracy = classify && local_seen ? (double)correct / (double)local_seen : NAN;
        stats->samples = seen;
        stats->steps = steps;
        stats->seconds = now_seconds() - t0;
    }
    return rc;
}

LRMLP_API int lrmlp_evaluate(lrmlp_net *net, const lrmlp_dataset *ds, lrmlp_loss loss,
                             size_t batch_size, lrmlp_eval_result *out)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_evaluate: network is NULL");
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "result pointer is NULL");
    if ((int)loss < 0 || loss >= LRMLP_LOSS_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown loss %d", (int)loss);
    int rc = check_dataset(net, ds, 1);
    if (rc)
        return rc;
    size_t n = lrmlp_dataset_size(ds), d = net->widths[0], k = net->widths[net->n_layers];
    size_t bs = batch_size == 0 ? 1024 : batch_size;
    bs = bs > n ? n : bs;
    size_t es = lrmlp__dtype_size(net->dtype), xb, tb;
    if (!lrmlp__mul_ok(bs, d * es, &xb) || !lrmlp__mul_ok(bs, k * es, &tb))
        return lrmlp__err(LRMLP_ERR_INVALID, "batch too large");
    void *X, *T;
    if (!scratch_split(net, xb, tb, 0, &X, &T, NULL))
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for batch buffers");
    int classify = lrmlp_dataset_n_classes(ds) > 0;
    double total = 0;
    size_t correct = 0;
    for (size_t start = 0; start < n && rc == LRMLP_OK; start += bs) {
        size_t cnt = n - start < bs ? n - start : bs;
        rc = fetch_batch(net, NULL, ds, NULL, start, cnt, X, T);
        if (rc)
            break;
        double l = 0;
        rc = net->dtype == LRMLP_F32 ? lrmlp_net_loss_f32(net, X, T, cnt, loss, &l, NULL)
                                     : lrmlp_net_loss_f64(net, X, T, cnt, loss, &l, NULL);
        if (rc == LRMLP_ERR_DIVERGED)
            rc = LRMLP_OK; /* a non-finite loss is a result here, not a failure */
        if (rc)
            break;
        /* SSE adds up; MSE and cross-entropy are means, so weight by size. */
        total += loss == LRMLP_LOSS_SSE ? l : l * (double)cnt;
        if (classify) {
            const char *Y = lrmlp__net_output(net);
            for (size_t i = 0; i < cnt; i++)
                correct += lrmlp__argmax(Y + i * k * es, k, net->dtype) ==
                           lrmlp__argmax((const char *)T + i * k * es, k, net->dtype);
        }
    }
    if (rc)
        return rc;
    out->loss = loss == LRMLP_LOSS_SSE ? total : total / (double)n;
    out->accuracy = classify ? (double)correct / (double)n : NAN;
    out->samples = n;
    return LRMLP_OK;
}
