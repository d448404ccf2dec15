/* Shared helpers of the low-rank experiments; see lowrank_common.h. */
#define _POSIX_C_SOURCE 200809L
#include "lowrank_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double lrx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int lrx_load_fashion(const char *dir, size_t n_train, lrmlp_dataset **train,
                     lrmlp_dataset **test)
{
    lrmlp_dataset *all = NULL, *tr = NULL, *te = NULL;
    int rc = ex_load_fashion(NULL, dir, "train", &all);
    if (!rc)
        rc = ex_load_fashion(NULL, dir, "t10k", &te);
    if (rc)
        goto fail;
    if (n_train == 0 || n_train > lrmlp_dataset_size(all))
        n_train = lrmlp_dataset_size(all);
    rc = lrmlp_dataset_split(all, n_train, &tr, NULL);
    if (rc) {
        fprintf(stderr, "split: %s\n", lrmlp_last_errmsg());
        goto fail;
    }
    rc = lrmlp_dataset_standardize(tr, LRMLP_STANDARDIZE_GLOBAL, NULL);
    if (rc) {
        fprintf(stderr, "standardize: %s\n", lrmlp_last_errmsg());
        goto fail;
    }
    rc = lrmlp_dataset_standardize(te, LRMLP_STANDARDIZE_GLOBAL, tr);
    if (rc) {
        fprintf(stderr, "standardize: %s\n", lrmlp_last_errmsg());
        goto fail;
    }
    lrmlp_dataset_free(all);
    *train = tr;
    *test = te;
    return LRMLP_OK;
fail:
    lrmlp_dataset_free(all);
    lrmlp_dataset_free(tr);
    lrmlp_dataset_free(te);
    return rc;
}

int lrx_dense_create(lrmlp_net **out, size_t L, size_t d, size_t m, size_t K,
                     lrmlp_activation act, double eps, unsigned long long seed, int bias)
{
    size_t widths[34];
    if (L < 2 || L > 32)
        return LRMLP_ERR_INVALID;
    widths[0] = d;
    for (size_t i = 1; i < L; i++)
        widths[i] = m;
    widths[L] = K;
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = L;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = bias;
    no.seed = seed;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = eps;
    int rc = lrmlp_net_create(out, &no);
    if (rc) {
        fprintf(stderr, "net_create: %s\n", lrmlp_last_errmsg());
        return rc;
    }
    rc = lrmlp_net_init_layer(*out, L - 1, LRMLP_INIT_TORCH_DEFAULT, 1.0);
    if (rc) {
        fprintf(stderr, "init_layer: %s\n", lrmlp_last_errmsg());
        lrmlp_net_free(*out);
        *out = NULL;
    }
    return rc;
}

int lrx_estimate(lrmlp_subspace **out, lrmlp_net *dense, const lrmlp_dataset *train,
                 size_t n_est, lrmlp_loss loss, double eps)
{
    size_t n = lrmlp_dataset_size(train), d = lrmlp_dataset_dim(train);
    size_t K = lrmlp_dataset_target_dim(train);
    if (n_est == 0 || n_est > n)
        n_est = n;
    float *X = malloc(n_est * d * sizeof *X), *T = malloc(n_est * K * sizeof *T);
    int rc = LRMLP_ERR_NOMEM;
    if (!X || !T) {
        fprintf(stderr, "estimate: out of memory\n");
        goto done;
    }
    rc = lrmlp_dataset_batch_f32(train, NULL, 0, n_est, X, T);
    if (rc) {
        fprintf(stderr, "batch: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.eps = eps;
    rc = lrmlp_subspace_estimate_f32(out, dense, X, T, n_est, loss, &so);
    if (rc)
        fprintf(stderr, "subspace_estimate: %s\n", lrmlp_last_errmsg());
done:
    free(X);
    free(T);
    return rc;
}

int lrx_basis_columns(const lrmlp_subspace *s, lrmlp_subspace_basis which, size_t ncols,
                      double *out, size_t out_ld)
{
    size_t in, p;
    int rc = lrmlp_subspace_layer_dims(s, 0, &in, NULL, &p, NULL);
    if (rc) {
        fprintf(stderr, "layer_dims: %s\n", lrmlp_last_errmsg());
        return rc;
    }
    size_t have = which == LRMLP_SUBSPACE_V1 ? in - p : p;
    if (ncols > have) {
        fprintf(stderr, "basis has %zu columns, %zu wanted\n", have, ncols);
        return LRMLP_ERR_SHAPE;
    }
    double *B = malloc(in * (have ? have : 1) * sizeof *B);
    if (!B)
        return LRMLP_ERR_NOMEM;
    rc = lrmlp_subspace_get_basis(s, 0, which, B);
    if (rc)
        fprintf(stderr, "get_basis: %s\n", lrmlp_last_errmsg());
    else
        for (size_t i = 0; i < in; i++)
            memcpy(out + i * out_ld, B + i * have, ncols * sizeof *B);
    free(B);
    return rc;
}

int lrx_lowrank_create(lrmlp_net **out, const lrmlp_net *dense, size_t r, const double *Vb,
                       double eps, unsigned long long seed)
{
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    size_t L = lrmlp_net_n_layers(dense);
    lo.n_layers = L;
    lo.input_dim = lrmlp_net_width(dense, 0);
    lo.width = lrmlp_net_width(dense, 1);
    lo.output_dim = lrmlp_net_width(dense, L);
    lo.rank = r;
    lo.hidden_activation = lrmlp_net_activation(dense, 0);
    lo.output_activation = lrmlp_net_activation(dense, L - 1);
    lo.seed = seed;
    lo.eps = eps;
    int rc = lrmlp_lowrank_create(out, &lo);
    if (rc) {
        fprintf(stderr, "lowrank_create: %s\n", lrmlp_last_errmsg());
        return rc;
    }
    rc = Vb ? lrmlp_lowrank_init_from_dense(*out, dense, Vb, eps)
            : lrmlp_lowrank_init_random(*out, dense, eps);
    if (rc) {
        fprintf(stderr, "lowrank init: %s\n", lrmlp_last_errmsg());
        lrmlp_net_free(*out);
        *out = NULL;
    }
    return rc;
}

int lrx_train(lrmlp_net *net, const lrmlp_dataset *train, const lrmlp_dataset *test,
              lrx_run *run)
{
    size_t E = run->epochs > 0 ? (size_t)run->epochs : 1;
    run->train_loss = malloc(E * sizeof(double));
    run->test_loss = malloc(E * sizeof(double));
    run->test_acc = malloc(E * sizeof(double));
    if (!run->train_loss || !run->test_loss || !run->test_acc)
        return LRMLP_ERR_NOMEM;
    for (size_t e = 0; e < E; e++)
        run->train_loss[e] = run->test_loss[e] = run->test_acc[e] = NAN;
    size_t n = lrmlp_dataset_size(train);
    size_t b = run->to.batch_size ? run->to.batch_size : n;
    lrmlp_optim_options oo = run->oo;
    if (oo.schedule == LRMLP_SCHEDULE_COSINE)
        oo.total_steps = (uint64_t)run->epochs * ((n + b - 1) / b);
    lrmlp_optim *opt = NULL;
    int rc = lrmlp_optim_create(&opt, net, &oo);
    if (rc) {
        fprintf(stderr, "%s: optim_create: %s\n", run->name, lrmlp_last_errmsg());
        return rc;
    }
    run->params = lrmlp_net_param_count(net);
    run->seconds = 0;
    run->diverged = 0;
    run->epochs_done = 0;
    lrmlp_eval_result ev = {NAN, NAN, 0};
    for (long e = 0; e < run->epochs; e++) {
        lrmlp_epoch_stats st;
        rc = lrmlp_train_epoch(net, opt, train, &run->to, &st);
        if (rc == LRMLP_ERR_DIVERGED) {
            fprintf(stderr, "%s: epoch %ld diverged: %s\n", run->name, e + 1,
                    lrmlp_last_errmsg());
            run->diverged = 1;
            rc = LRMLP_OK;
            break;
        }
        if (rc) {
            fprintf(stderr, "%s: epoch %ld: %s\n", run->name, e + 1, lrmlp_last_errmsg());
            goto done;
        }
        run->seconds += st.seconds;
        rc = lrmlp_evaluate(net, test, run->eval_loss, 0, &ev);
        if (rc) {
            fprintf(stderr, "%s: evaluate: %s\n", run->name, lrmlp_last_errmsg());
            goto done;
        }
        run->train_loss[e] = st.loss;
        run->test_loss[e] = ev.loss;
        run->test_acc[e] = ev.accuracy;
        run->epochs_done = e + 1;
        if (!run->quiet) {
            printf("%-8s epoch %4ld  train_loss %.6g  test_loss %.6g  test_acc %.4f  %.2f s\n",
                   run->name, e + 1, st.loss, ev.loss, ev.accuracy, st.seconds);
            fflush(stdout);
        }
    }
    run->final_test_acc = ev.accuracy;
    run->final_test_loss = ev.loss;
    lrmlp_eval_result tr;
    rc = lrmlp_evaluate(net, train, run->to.loss, 0, &tr);
    if (rc) {
        fprintf(stderr, "%s: evaluate: %s\n", run->name, lrmlp_last_errmsg());
        goto done;
    }
    run->final_train_loss = tr.loss;
done:
    lrmlp_optim_free(opt);
    return rc;
}

void lrx_run_free(lrx_run *run)
{
    free(run->train_loss);
    free(run->test_loss);
    free(run->test_acc);
    run->train_loss = run->test_loss = run->test_acc = NULL;
}

void lrx_curves_header(FILE *f)
{
    fprintf(f, "model,epoch,train_loss,test_loss,test_acc\n");
}

void lrx_curves_write(FILE *f, const lrx_run *run)
{
    for (long e = 0; e < run->epochs_done; e++)
        fprintf(f, "%s,%ld,%.9g,%.9g,%.6f\n", run->name, e + 1, run->train_loss[e],
                run->test_loss[e], run->test_acc[e]);
}

int lrx_curves_save(const char *path, const lrx_run *runs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    lrx_curves_header(f);
    for (size_t i = 0; i < n; i++)
        lrx_curves_write(f, &runs[i]);
    if (fclose(f)) {
        perror(path);
        return 1;
    }
    return 0;
}

int lrx_parse_act(const char *prog, const char *name, lrmlp_activation *act)
{
    if (lrmlp_activation_from_name(name, act))
        return ex_bad_usage(prog, "unknown activation '%s' (gelu, silu, elu, tanh, relu, ...)",
                            name);
    return LRMLP_OK;
}

void lrx_run_init(lrx_run *run, const char *name, long epochs, lrmlp_optim_kind kind,
                  double lr, double momentum, lrmlp_loss loss, size_t batch)
{
    memset(run, 0, sizeof *run);
    run->name = name;
    run->epochs = epochs;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = kind;
    oo.lr = lr;
    if (kind == LRMLP_OPTIM_SGD)
        oo.momentum = momentum;
    oo.schedule = LRMLP_SCHEDULE_COSINE;
    run->oo = oo;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = loss;
    to.batch_size = batch;
    to.shuffle = batch != 0;
    run->to = to;
    run->eval_loss = loss;
}
