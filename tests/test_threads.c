/* The threading rules of the headers, exercised for ThreadSanitizer (the
 * .ci/run TSan build runs this program): distinct handles train in distinct
 * threads at once, and const functions run concurrently on one shared
 * network, optimizer, dataset and subspace estimate. The results are also
 * checked: every thread's training equals a single-threaded run with the
 * same seed, and the shared reads agree across threads. */
#include "testutil.h"

#include <lrmlp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { NT = 4, N = 64, D = 8, H = 6, K = 3 };

static double Xs[N * D], Ts[N * K];
static int32_t labels[N];

static void make_data(void)
{
    uint64_t s = 11;
    for (size_t i = 0; i < N * D; i++)
        Xs[i] = tu_rand(&s);
    for (size_t i = 0; i < N; i++) {
        labels[i] = (int32_t)(i % K);
        for (size_t k = 0; k < K; k++)
            Ts[i * K + k] = k == (size_t)labels[i];
    }
}

/* Trains a fresh network of the given seed for three epochs; writes its
 * parameters to out (which has room for them). Uses only its own handles. */
static int train_one(uint64_t seed, double *out)
{
    const size_t w[] = {D, H, K};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 2;
    no.widths = w;
    no.bias = 1;
    no.seed = seed;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    lrmlp_dataset *ds = NULL;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = 16;
    int rc = lrmlp_net_create(&net, &no);
    if (!rc)
        rc = lrmlp_optim_create(&opt, net, &oo);
    if (!rc)
        rc = lrmlp_dataset_from_labels_f64(&ds, Xs, N, D, labels, K);
    if (!rc)
        rc = lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL);
    for (int e = 0; e < 3 && !rc; e++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    if (!rc)
        memcpy(out, lrmlp_net_params(net), lrmlp_net_param_count(net) * sizeof *out);
    lrmlp_dataset_free(ds);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return rc;
}

enum { P = H * D + H + K * H + K };

typedef struct job {
    uint64_t seed;
    double params[P];
    int rc;
} job;

static void *train_thread(void *arg)
{
    job *j = arg;
    j->rc = train_one(j->seed, j->params);
    return NULL;
}

START_TEST(test_independent_training)
{
    make_data();
    job jobs[NT];
    pthread_t th[NT];
    for (int t = 0; t < NT; t++) {
        jobs[t].seed = 100 + (uint64_t)t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, train_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < NT; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NT; t++) {
        ck_assert_int_eq(jobs[t].rc, LRMLP_OK);
        double ref[P];
        ck_assert_int_eq(train_one(jobs[t].seed, ref), LRMLP_OK);
        ck_assert_int_eq(memcmp(ref, jobs[t].params, sizeof ref), 0);
    }
}
END_TEST

/* ---- shared, const ---- */

typedef struct shared {
    const lrmlp_net *net;
    const lrmlp_optim *opt;
    const lrmlp_dataset *ds;
    const lrmlp_subspace *sub;
} shared;

typedef struct reader {
    const shared *sh;
    double W[H * D], batch[N * D], basis[D * D], frac[4];
    void *file;
    size_t file_len;
    int rc;
} reader;

static void *read_thread(void *arg)
{
    reader *r = arg;
    const shared *sh = r->sh;
    int rc = lrmlp_net_get_weights_f64(sh->net, 0, r->W);
    if (!rc)
        rc = lrmlp_dataset_batch_f64(sh->ds, NULL, 0, N, r->batch, NULL);
    size_t in, out, p;
    int has_u;
    if (!rc)
        rc = lrmlp_subspace_layer_dims(sh->sub, 0, &in, &out, &p, &has_u);
    if (!rc)
        rc = lrmlp_subspace_get_basis(sh->sub, 0, LRMLP_SUBSPACE_V1, r->basis);
    if (!rc)
        rc = lrmlp_subspace_block_fractions(sh->sub, 0, r->W, r->W, r->frac);
    if (!rc)
        rc = lrmlp_model_save_mem(sh->net, sh->opt, &r->file, &r->file_len);
    r->rc = rc;
    return NULL;
}

START_TEST(test_shared_const)
{
    make_data();
    const size_t w[] = {D, H, K};
    lrmlp_net *net = tu_make_net(LRMLP_F64, 2, w, LRMLP_ACT_TANH, 0.1, 5);
    lrmlp_optim *opt;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, Xs, N, D, labels, K), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL), LRMLP_OK);
    lrmlp_subspace *sub;
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.eps = 0; /* the network's own initialization scale */
    ck_assert_int_eq(lrmlp_subspace_estimate_f64(&sub, net, Xs, Ts, N, LRMLP_LOSS_SSE, &so),
                     LRMLP_OK);
    shared sh = {net, opt, ds, sub};
    static reader r[NT];
    pthread_t th[NT];
    for (int t = 0; t < NT; t++) {
        r[t].sh = &sh;
        ck_assert_int_eq(pthread_create(&th[t], NULL, read_thread, &r[t]), 0);
    }
    for (int t = 0; t < NT; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NT; t++) {
        ck_assert_int_eq(r[t].rc, LRMLP_OK);
        ck_assert_int_eq(memcmp(r[t].W, r[0].W, sizeof r[0].W), 0);
        ck_assert_int_eq(memcmp(r[t].batch, r[0].batch, sizeof r[0].batch), 0);
        ck_assert_int_eq(memcmp(r[t].basis, r[0].basis, sizeof r[0].basis), 0);
        ck_assert_int_eq(memcmp(r[t].frac, r[0].frac, sizeof r[0].frac), 0);
        ck_assert_uint_eq(r[t].file_len, r[0].file_len);
        ck_assert_int_eq(memcmp(r[t].file, r[0].file, r[0].file_len), 0);
    }
    for (int t = 0; t < NT; t++)
        lrmlp_free(r[t].file);
    lrmlp_subspace_free(sub);
    lrmlp_dataset_free(ds);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

#ifdef LRMLP_HAVE_OPENBLAS_INFO
#include <cblas.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

/* 256-256-10 with biases: 68,362 parameters, enough for the optimizer to
 * split its passes over threads. */
static lrmlp_net *split_net(lrmlp_dtype dt)
{
    const size_t w[] = {256, 256, 10};
    lrmlp_net *net = tu_net(dt, 2, w, NULL, 1, 9);
    ck_assert_uint_eq(lrmlp_net_param_count(net), 256 * 256 + 256 + 10 * 256 + 10);
    return net;
}

/* The optimizer's element-wise passes run on as many threads as OpenBLAS
 * has (optim.h): the same steps with 1, 2 and 5 OpenBLAS threads give the
 * same bits, and a refused step changes nothing whichever part of the
 * split holds the bad gradient. */
static void optim_run(lrmlp_dtype dt, lrmlp_optim_kind kind, double clip, int threads,
                      int bad_at, void *out, int *rc_bad)
{
    lrmlp_net *net = split_net(dt);
    const size_t n = lrmlp_net_param_count(net), es = dt == LRMLP_F32 ? 4 : 8;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = kind;
    oo.momentum = kind == LRMLP_OPTIM_SGD ? 0.9 : 0.0;
    oo.weight_decay = 1e-3;
    oo.clip_norm = clip;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    openblas_set_num_threads(threads);
    ck_assert_int_eq(lrmlp_blas_threads() > 1, threads > 1); /* the split is exercised */
    uint64_t s = 5;
    for (int step = 0; step < 3; step++) {
        char *g = lrmlp_net_grads(net);
        for (size_t i = 0; i < n; i++) {
            double v = tu_rand(&s);
            if (dt == LRMLP_F32)
                ((float *)g)[i] = (float)v;
            else
                ((double *)g)[i] = v;
        }
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
    memcpy(out, lrmlp_net_params(net), n * es);
    /* a step whose gradient holds one NaN is refused and changes nothing */
    char *g = lrmlp_net_grads(net);
    if (dt == LRMLP_F32)
        ((float *)g)[bad_at] = NAN;
    else
        ((double *)g)[bad_at] = NAN;
    *rc_bad = lrmlp_optim_step(opt, net);
    ck_assert_msg(memcmp(out, lrmlp_net_params(net), n * es) == 0,
                  "dtype %d kind %d clip %g threads %d: a refused step changed weights", (int)dt,
                  (int)kind, clip, threads);
    ck_assert_uint_eq(lrmlp_optim_steps(opt), 3);
    openblas_set_num_threads(1);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}

START_TEST(test_optim_threads)
{
    enum { NP = 256 * 256 + 256 + 10 * 256 + 10 };
    static double ref[NP], got[NP];
    const lrmlp_optim_kind kinds[] = {LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAMW};
    const int bad_at[] = {3, 40000, NP - 1}; /* first part, later part, last bias */
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < 2; c++) {
                lrmlp_dtype dt = d ? LRMLP_F64 : LRMLP_F32;
                double clip = c ? 0.5 : 0.0;
                int rc;
                optim_run(dt, kinds[k], clip, 1, bad_at[0], ref, &rc);
                ck_assert_int_eq(rc, LRMLP_ERR_DIVERGED);
                for (int t = 0; t < 3; t++) {
                    const int threads[] = {2, 5, 2};
                    memset(got, 0, sizeof got);
                    optim_run(dt, kinds[k], clip, threads[t], bad_at[t], got, &rc);
                    ck_assert_int_eq(rc, LRMLP_ERR_DIVERGED);
                    ck_assert_msg(memcmp(got, ref, NP * (d ? 8 : 4)) == 0,
                                  "dtype %d kind %d clip %g: %d threads differ from 1", d,
                                  (int)kinds[k], clip, threads[t]);
                }
            }
}
END_TEST

/* lrmlp_train_epoch on 2 OpenBLAS threads, whose batch copies after the
 * first step run on the optimizer's helpers, equals the same steps taken by
 * hand with serial batch copies, bit for bit. */
START_TEST(test_epoch_parallel_batches)
{
    enum { NS = 300, DIN = 256, NC = 10 };
    static float X[NS * DIN], Xb[100 * DIN], Tb[100 * NC];
    static int32_t lab[NS];
    uint64_t s = 3;
    for (size_t i = 0; i < NS * DIN; i++)
        X[i] = (float)tu_rand(&s);
    for (size_t i = 0; i < NS; i++)
        lab[i] = (int32_t)(i % NC);
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, NS, DIN, lab, NC), LRMLP_OK);
    lrmlp_net *a = split_net(LRMLP_F32), *b;
    ck_assert_int_eq(lrmlp_net_clone(&b, a), LRMLP_OK);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.momentum = 0.9;
    lrmlp_optim *oa, *ob;
    ck_assert_int_eq(lrmlp_optim_create(&oa, a, &oo), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_create(&ob, b, &oo), LRMLP_OK);
    openblas_set_num_threads(2);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = 100;
    to.shuffle = 0;
    ck_assert_int_eq(lrmlp_train_epoch(a, oa, ds, &to, NULL), LRMLP_OK);
    for (size_t s0 = 0; s0 < NS; s0 += 100) {
        double loss;
        ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, s0, 100, Xb, Tb), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_gradient_f32(b, Xb, Tb, 100, to.loss, &loss), LRMLP_OK);
        ck_assert_int_eq(lrmlp_optim_step(ob, b), LRMLP_OK);
    }
    openblas_set_num_threads(1);
    const size_t n = lrmlp_net_param_count(a);
    ck_assert_int_eq(memcmp(lrmlp_net_params(a), lrmlp_net_params(b), n * sizeof(float)), 0);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_dataset_free(ds);
}
END_TEST

/* A child forked after the optimizer started its helpers steps on its own
 * (the parent's threads do not exist there): no hang, and the same bits as
 * the parent's next step. Not under ThreadSanitizer, which does not support
 * threads started after a fork. */
#ifndef __SANITIZE_THREAD__
START_TEST(test_optim_fork)
{
    lrmlp_net *net = split_net(LRMLP_F32);
    const size_t n = lrmlp_net_param_count(net);
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    lrmlp_optim *opt;
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &oo), LRMLP_OK);
    openblas_set_num_threads(2);
    float *g = lrmlp_net_grads(net);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)((double)(i % 97) / 97.0 - 0.5);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK); /* helpers started */
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fd[0]);
        int ok = lrmlp_optim_step(opt, net) == LRMLP_OK;
        const char *p = lrmlp_net_params(net);
        size_t left = n * sizeof(float);
        ok = ok && write(fd[1], &ok, sizeof ok) == (ssize_t)sizeof ok;
        while (ok && left > 0) {
            ssize_t k = write(fd[1], p, left);
            ok = k > 0;
            p += k > 0 ? k : 0;
            left -= k > 0 ? (size_t)k : 0;
        }
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    float *child = malloc(n * sizeof *child);
    int ok = 0;
    ck_assert_int_eq(read(fd[0], &ok, sizeof ok), (ssize_t)sizeof ok);
    ck_assert(ok);
    size_t got = 0;
    while (got < n * sizeof(float)) {
        ssize_t k = read(fd[0], (char *)child + got, n * sizeof(float) - got);
        ck_assert_int_gt(k, 0);
        got += (size_t)k;
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(memcmp(child, lrmlp_net_params(net), n * sizeof(float)), 0);
    free(child);
    close(fd[0]);
    openblas_set_num_threads(1);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST
#endif
#endif

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_independent_training);
    tcase_add_test(tc, test_shared_const);
#ifdef LRMLP_HAVE_OPENBLAS_INFO
    tcase_add_test(tc, test_optim_threads);
    tcase_add_test(tc, test_epoch_parallel_batches);
#ifndef __SANITIZE_THREAD__
    tcase_add_test(tc, test_optim_fork);
#endif
#endif
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
