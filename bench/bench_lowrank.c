/* Benchmark of low-rank MLPs (docs/lowrank.md). Prints one JSON line.
 *
 *   bench_lowrank --model dense|lowrank [--epochs N] [--rank 20] [--act gelu]
 *   bench_lowrank --minibatch [--rank 32] [--epochs N] [--threads N]
 *
 * --model: full-batch GD epochs in the paper's Fashion-MNIST setting (50,000
 * standardized images, L = 4, 784 wide, bias-free, SSE, lr 1e-5); one model
 * per process so that peak_rss_mb is that model's. Reports the mean and the
 * fastest epoch.
 * --minibatch: one epoch (default) of the 60k set, batch 128, SGD lr 0.1,
 * cross-entropy, of 784-512-512-10 tanh with bias whose two hidden layers
 * are factorized at rank 32 (U V^T) by lrmlp_net_factorize: the job of
 * `bench/torch_mlp.py --rank 32`.
 * --threads calls openblas_set_num_threads (the library never does).
 * Every job also reports its GEMM floor (gemm_floor.h): the epochs' own
 * cblas_?gemm calls replayed alone, and the mean epoch's ratio to it. */
#include "common.h"
#include "gemm_floor.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);

static void usage(FILE *f)
{
    fputs("usage: bench_lowrank --model dense|lowrank [options]\n"
          "       bench_lowrank --minibatch [options]\n"
          "  --model M      full-batch GD of the paper's dense or low-rank net\n"
          "  --minibatch    one SGD epoch of 784-512-512-10 tanh factorized at --rank\n"
          "  --epochs N     epochs, >= 1 (default 3 with --model, 1 with --minibatch)\n"
          "  --rank R       rank, >= 1 (default 20 with --model, 32 with --minibatch)\n"
          "  --act NAME     hidden activation with --model (default gelu)\n"
          "  --data DIR     Fashion-MNIST IDX directory (default "
          "/usr/share/datasets/fashion-mnist)\n"
          "  --threads N    openblas_set_num_threads(N); 0 = OpenBLAS's own (default 0)\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *model = NULL, *act_name = "gelu";
    int minibatch = 0, threads = 0;
    long epochs = -1; /* not given */
    size_t rank = 0;  /* not given */
    const ex_opt opts[] = {
        EX_OPT_STR("--model", &model),     EX_OPT_FLAG("--minibatch", &minibatch),
        EX_OPT_LONG("--epochs", &epochs),  EX_OPT_COUNT("--rank", &rank),
        EX_OPT_STR("--act", &act_name),    EX_OPT_STR("--data", &dir),
        EX_OPT_INT("--threads", &threads), EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "bench_lowrank", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (!minibatch == !model || (model && strcmp(model, "dense") && strcmp(model, "lowrank")))
        return ex_bad_usage("bench_lowrank", "need --model dense|lowrank or --minibatch");
    if ((epochs != -1 && epochs < 1) || threads < 0)
        return ex_bad_usage("bench_lowrank", "need --epochs >= 1 and --threads >= 0");
    if (threads > 0)
        openblas_set_num_threads(threads);
    lrmlp_activation act;
    if (lrmlp_activation_from_name(minibatch ? "tanh" : act_name, &act))
        return ex_bad_usage("bench_lowrank", "unknown activation '%s'", act_name);
    lrmlp_dataset *all = NULL, *ds = NULL;
    if (ex_load_fashion("bench_lowrank", dir, "train", &all))
        return 1;
    if (minibatch)
        ds = all, all = NULL;
    else if (lrmlp_dataset_split(all, 50000, &ds, NULL)) {
        fprintf(stderr, "bench_lowrank: split: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_dataset_free(all);
    if (lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL)) {
        fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_net *net = NULL;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    if (minibatch) {
        if (rank == 0)
            rank = 32;
        if (epochs < 0)
            epochs = 1;
        size_t widths[4] = {784, 512, 512, 10}, ranks[3] = {rank, rank, 0};
        lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
        no.n_layers = 3;
        no.widths = widths;
        no.hidden_activation = LRMLP_ACT_TANH;
        no.bias = 1;
        lrmlp_net *dense = NULL;
        if (lrmlp_net_create(&dense, &no) || lrmlp_net_factorize(&net, dense, ranks)) {
            fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
            return 1;
        }
        lrmlp_net_free(dense);
        oo.kind = LRMLP_OPTIM_SGD;
        oo.lr = 0.1;
        to.loss = LRMLP_LOSS_CROSS_ENTROPY;
        to.batch_size = 128;
    } else {
        if (epochs < 0)
            epochs = 3;
        size_t widths[5] = {784, 784, 784, 784, 10};
        if (!strcmp(model, "dense")) {
            lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
            no.n_layers = 4;
            no.widths = widths;
            no.hidden_activation = act;
            no.init = LRMLP_INIT_ORTHOGONAL;
            no.init_scale = 0.1;
            if (lrmlp_net_create(&net, &no)) {
                fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
                return 1;
            }
        } else {
            lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
            lo.n_layers = 4;
            lo.input_dim = lo.width = 784;
            lo.output_dim = 10;
            lo.rank = rank ? rank : 20;
            lo.hidden_activation = act;
            if (lrmlp_lowrank_create(&net, &lo)) {
                fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
                return 1;
            }
        }
        oo.kind = LRMLP_OPTIM_GD;
        oo.lr = 1e-5;
        to.loss = LRMLP_LOSS_SSE;
        to.batch_size = 0;
        to.shuffle = 0;
    }
    lrmlp_optim *opt = NULL;
    if (lrmlp_optim_create(&opt, net, &oo)) {
        fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    double secs = 0, best = 1e300, loss = 0;
    size_t samples = 0;
    gemm_floor_record_start();
    for (long e = 0; e < epochs; e++) {
        lrmlp_epoch_stats st;
        if (lrmlp_train_epoch(net, opt, ds, &to, &st)) {
            fprintf(stderr, "bench_lowrank: %s\n", lrmlp_last_errmsg());
            return 1;
        }
        secs += st.seconds;
        samples += st.samples;
        loss = st.loss;
        if (st.seconds < best)
            best = st.seconds;
    }
    gemm_floor_record_stop();
    const double floor_s = gemm_floor_replay(1) / (double)epochs;
    if (floor_s < 0) {
        fprintf(stderr, "bench_lowrank: out of memory for the GEMM floor replay\n");
        return 1;
    }
    printf("{\"impl\": \"liblrmlp\", \"job\": \"%s\", \"model\": \"%s\", \"rank\": %zu, "
           "\"threads\": %d, \"blas_core\": \"%s\", \"epochs\": %ld, \"seconds\": %.3f, "
           "\"seconds_per_epoch\": %.3f, \"best_epoch_seconds\": %.3f, "
           "\"samples_per_second\": %.0f, \"peak_rss_mb\": %.1f, \"final_loss\": %.6g, "
           "\"params\": %zu, \"gemm_floor_seconds_per_epoch\": %.3f, "
           "\"gemm_in_job_seconds_per_epoch\": %.3f, \"ratio_to_floor\": %.3f}\n",
           minibatch ? "minibatch" : "fullbatch-gd", minibatch ? "factorized" : model,
           minibatch ? rank : lrmlp_lowrank_rank(net), lrmlp_blas_threads(), lrmlp_blas_core(),
           epochs, secs, secs / (double)epochs, best, (double)samples / secs, ex_peak_rss_mb(), loss,
           lrmlp_net_param_count(net), floor_s, gemm_floor_in_job_seconds() / (double)epochs,
           secs / (double)epochs / floor_s);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    return 0;
}
