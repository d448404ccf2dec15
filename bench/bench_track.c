/* Benchmark: the cost of the dynamics tracker and of the subspace estimate
 * in the paper's Fashion-MNIST setting: a 4-layer bias-free 784-wide GELU
 * network, eps-orthogonal init (eps 0.1), full-batch GD on the summed
 * squared error over n standardized training images (default 50000).
 *
 * Reports, in one JSON line: seconds of one full-batch epoch (= one GD step)
 * without a tracker, the same with a tracker recording every `every` steps
 * (default 10), the overhead fraction, the seconds of one S_big estimate
 * (exact SVD) from the same full batch, and of one mini-batch epoch (batch
 * 128, plain SGD) of the same network for scale.
 *
 *   bench_track [--data DIR] [--n 50000] [--steps 20] [--every 10] [--threads N]
 *
 * --threads calls openblas_set_num_threads: the benchmark is the application. */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_track: %s: %s\n", what, msg);
    exit(1);
}

static void usage(FILE *f)
{
    fputs("usage: bench_track [options]\n"
          "  --data DIR    Fashion-MNIST IDX directory (default "
          "/usr/share/datasets/fashion-mnist)\n"
          "  --n N         training images, >= 1 (default 50000)\n"
          "  --steps N     GD steps timed per variant, >= 1 (default 20)\n"
          "  --every N     tracker interval in steps, >= 1 (default 10)\n"
          "  --threads N   openblas_set_num_threads(N); 0 = OpenBLAS's own (default 0)\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    size_t n = 50000, nsteps = 20, nevery = 10;
    int threads = 0;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),     EX_OPT_COUNT("--n", &n),
        EX_OPT_COUNT("--steps", &nsteps), EX_OPT_COUNT("--every", &nevery),
        EX_OPT_INT("--threads", &threads), EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "bench_track", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (threads < 0 || nsteps > 1000000)
        return ex_bad_usage("bench_track", "need --threads >= 0 and --steps <= 1000000");
    int steps = (int)nsteps;
    uint64_t every = nevery;
    if (threads > 0)
        openblas_set_num_threads(threads);
    lrmlp_dataset *all, *ds;
    if (ex_load_idx(dir, "train", &all))
        die("load", lrmlp_last_errmsg());
    if (n > lrmlp_dataset_size(all))
        n = lrmlp_dataset_size(all);
    if (lrmlp_dataset_split(all, n, &ds, NULL) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL))
        die("dataset", lrmlp_last_errmsg());
    lrmlp_dataset_free(all);
    const size_t widths[] = {784, 784, 784, 784, 10};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 4;
    no.widths = widths;
    no.hidden_activation = LRMLP_ACT_GELU;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = 0.1;
    lrmlp_net *net, *base;
    if (lrmlp_net_create(&base, &no))
        die("net", lrmlp_last_errmsg());
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = 1e-5;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_SSE;
    to.batch_size = 0;
    to.shuffle = 0;

    /* The S_big estimate from the full batch. */
    float *X = malloc(n * 784 * sizeof *X), *T = malloc(n * 10 * sizeof *T);
    if (!X || !T || lrmlp_dataset_batch_f32(ds, NULL, 0, n, X, T))
        die("batch", "cannot copy the full batch");
    lrmlp_subspace *sub;
    double t0 = now();
    if (lrmlp_subspace_estimate_f32(&sub, base, X, T, n, LRMLP_LOSS_SSE, NULL))
        die("estimate", lrmlp_last_errmsg());
    double est = now() - t0;
    free(X);
    free(T);

    double secs[2] = {0, 0};
    for (int with = 0; with < 2; with++) {
        if (lrmlp_net_clone(&net, base))
            die("clone", lrmlp_last_errmsg());
        lrmlp_optim *opt;
        if (lrmlp_optim_create(&opt, net, &oo))
            die("optim", lrmlp_last_errmsg());
        lrmlp_tracker *tr = NULL;
        if (with) {
            lrmlp_tracker_options tro = LRMLP_TRACKER_OPTIONS_INIT;
            tro.every = every;
            if (lrmlp_tracker_create(&tr, net, sub, &tro))
                die("tracker", lrmlp_last_errmsg());
            to.on_step = lrmlp_tracker_on_step;
            to.on_step_user = tr;
        } else {
            to.on_step = NULL;
            to.on_step_user = NULL;
        }
        t0 = now();
        for (int s = 0; s < steps; s++)
            if (lrmlp_train_epoch(net, opt, ds, &to, NULL))
                die("train", lrmlp_last_errmsg());
        secs[with] = now() - t0;
        lrmlp_tracker_free(tr);
        lrmlp_optim_free(opt);
        lrmlp_net_free(net);
    }
    /* One mini-batch epoch (batch 128, plain SGD) of the same net, for scale. */
    double mb = 0;
    {
        lrmlp_optim *opt;
        if (lrmlp_net_clone(&net, base) || lrmlp_optim_create(&opt, net, &oo))
            die("clone", lrmlp_last_errmsg());
        to.on_step = NULL;
        to.on_step_user = NULL;
        to.batch_size = 128;
        t0 = now();
        if (lrmlp_train_epoch(net, opt, ds, &to, NULL))
            die("train", lrmlp_last_errmsg());
        mb = now() - t0;
        lrmlp_optim_free(opt);
        lrmlp_net_free(net);
    }
    printf("{\"blas_core\": \"%s\", \"threads\": %d, \"n\": %zu, \"steps\": %d, \"every\": %llu, "
           "\"epoch_seconds\": %.3f, \"epoch_seconds_tracked\": %.3f, \"tracking_overhead\": "
           "%.4f, \"estimate_seconds\": %.3f, \"estimate_over_epoch\": %.3f, "
           "\"minibatch128_epoch_seconds\": %.3f, \"estimate_over_minibatch_epoch\": %.3f}\n",
           lrmlp_blas_core(), lrmlp_blas_threads(), n, steps, (unsigned long long)every,
           secs[0] / steps, secs[1] / steps, secs[1] / secs[0] - 1, est,
           est / (secs[0] / steps), mb, est / mb);
    lrmlp_subspace_free(sub);
    lrmlp_net_free(base);
    lrmlp_dataset_free(ds);
    return 0;
}
