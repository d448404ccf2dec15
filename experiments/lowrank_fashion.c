/* The paper's Fashion-MNIST low-rank experiment (Fig. 6, docs/lowrank.md):
 * dense L = 4 net (784-784-784-784-10, bias-free, eps = 0.1) against the
 * low-rank net of eq. 10 (r = 2K = 20) started in S_big and started in random
 * subspaces, all from the same dense initialization. Full-batch GD on the
 * summed squared error with one-hot targets, lr 1e-5 cosine-annealed.
 *
 *   lowrank_fashion [--data DIR] [--act NAME] [--epochs N] [--lr X]
 *                   [--rank R] [--eps X] [--estimate-batch N] [--n-train N]
 *                   [--seed N] [--schedule cosine|constant] [--models LIST] [--csv FILE]
 *
 * Prints a line per epoch and model, a results table and, last, a JSON line.
 * --csv writes the curves: epoch and, per model, train loss, test loss and
 * test accuracy. Threads: OpenBLAS's own setting (OPENBLAS_NUM_THREADS). */
#include "lowrank_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_MODELS 3
#define PROG "lowrank_fashion"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lowrank_fashion [options]\n"
            "  --data DIR          IDX directory (default " LRX_DEFAULT_DATA ")\n"
            "  --act NAME          hidden activation (default gelu; the paper: gelu, silu)\n"
            "  --epochs N          full-batch GD steps (default 40; the paper: 1500)\n"
            "  --lr X              learning rate, > 0 (default 1e-5)\n"
            "  --rank R            low-rank width r, 1..2K (default 2K = 20)\n"
            "  --eps X             init scale, > 0 (default 0.1)\n"
            "  --estimate-batch N  samples for the S_big estimate, 0 = all (default 0)\n"
            "  --n-train N         training images taken from the 60k set, >= 1 (default 50000)\n"
            "  --seed N            seed (default 1)\n"
            "  --schedule S        cosine or constant (default cosine)\n"
            "  --models LIST       which to train, of dense,sbig,random (default all)\n"
            "  --csv FILE          write the curves (NaN for models not trained)\n");
}

int main(int argc, char **argv)
{
    const char *dir = LRX_DEFAULT_DATA, *act_name = "gelu", *csv = NULL, *sched = "cosine";
    const char *models = "dense,sbig,random";
    long epochs = 40;
    double lr = 1e-5, eps = 0.1;
    size_t rank = 0, n_est = 0, n_train = 50000;
    unsigned long long seed = 1;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),
        EX_OPT_STR("--act", &act_name),
        EX_OPT_LONG("--epochs", &epochs),
        EX_OPT_POS("--lr", &lr),
        EX_OPT_COUNT("--rank", &rank), /* 0: not given, 2K */
        EX_OPT_POS("--eps", &eps),
        EX_OPT_SIZE("--estimate-batch", &n_est),
        EX_OPT_COUNT("--n-train", &n_train),
        EX_OPT_ULL("--seed", &seed),
        EX_OPT_STR("--schedule", &sched),
        EX_OPT_STR("--models", &models),
        EX_OPT_STR("--csv", &csv),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrx_parse_act(PROG, act_name, &act))
        return EX_EXIT_USAGE;
    int cosine = !strcmp(sched, "cosine");
    if (epochs < 1 || (!cosine && strcmp(sched, "constant")))
        return ex_bad_usage(PROG, "need --epochs >= 1 and --schedule cosine|constant");
    const char *names[N_MODELS] = {"dense", "sbig", "random"};
    int sel[N_MODELS] = {0, 0, 0};
    for (const char *p = models; *p;) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < N_MODELS && (strlen(names[k]) != len || strncmp(p, names[k], len)))
            k++;
        if (k == N_MODELS)
            return ex_bad_usage(PROG, "--models takes a list of dense,sbig,random");
        sel[k] = 1;
        p += len + (p[len] == ',');
    }
    if (!sel[0] && !sel[1] && !sel[2])
        return ex_bad_usage(PROG, "--models is empty");
    if (rank > 20) /* 2K for the 10 classes of Fashion-MNIST; checked again below */
        return ex_bad_usage(PROG, "--rank must be <= 2K = 20 (wider: lowrank_width)");
    lrmlp_dataset *train = NULL, *test = NULL;
    if (lrx_load_fashion(dir, n_train, &train, &test))
        return 1;
    const size_t L = 4, d = lrmlp_dataset_dim(train), m = d;
    const size_t K = lrmlp_dataset_n_classes(train);
    if (rank == 0)
        rank = 2 * K;
    if (rank > 2 * K) {
        fprintf(stderr, "lowrank_fashion: --rank must be <= 2K = %zu here "
                        "(wider: lowrank_width)\n", 2 * K);
        return 2;
    }

    lrmlp_net *net[N_MODELS] = {NULL, NULL, NULL};
    lrmlp_subspace *sub = NULL;
    double *Vb = malloc(d * rank * sizeof *Vb);
    if (!Vb)
        return 1;
    double t0 = lrx_now();
    if (lrx_dense_create(&net[0], L, d, m, K, act, eps, seed, 0) ||
        lrx_estimate(&sub, net[0], train, n_est, LRMLP_LOSS_SSE, eps) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V1, rank, Vb, rank) ||
        lrx_lowrank_create(&net[1], net[0], rank, Vb, eps, seed) ||
        lrx_lowrank_create(&net[2], net[0], rank, NULL, eps, seed))
        return 1;
    double est_seconds = lrx_now() - t0;
    double sv[64];
    if (lrmlp_subspace_singular_values(sub, sv)) {
        fprintf(stderr, "singular_values: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("# %s\n# blas core %s, %d threads\n", info, lrmlp_blas_core(), lrmlp_blas_threads());
    printf("# Fashion-MNIST: %zu train / %zu test, L=%zu, d=m=%zu, K=%zu, r=%zu, %s, eps %g, "
           "full-batch GD on SSE, lr %g (%s), %ld epochs, seed %llu\n",
           lrmlp_dataset_size(train), lrmlp_dataset_size(test), L, d, K, rank, act_name, eps, lr,
           sched, epochs, seed);
    printf("# S_big from %zu samples in %.2f s: sigma_K %.4g, sigma_K+1 %.4g (gap ratio %.3f)\n",
           n_est ? n_est : lrmlp_dataset_size(train), est_seconds, sv[K - 1], sv[K],
           sv[K] / sv[K - 1]);
    lrmlp_subspace_free(sub);

    lrx_run run[N_MODELS];
    for (int k = 0; k < N_MODELS; k++) {
        memset(&run[k], 0, sizeof run[k]);
        run[k].name = names[k];
        run[k].epochs = epochs;
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = LRMLP_OPTIM_GD;
        oo.lr = lr;
        if (cosine)
            oo.schedule = LRMLP_SCHEDULE_COSINE;
        run[k].oo = oo;
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.loss = LRMLP_LOSS_SSE;
        to.batch_size = 0;
        to.shuffle = 0;
        run[k].to = to;
        run[k].eval_loss = LRMLP_LOSS_SSE;
        if (sel[k] && lrx_train(net[k], train, test, &run[k]))
            return 1;
    }

    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            perror(csv);
            return 1;
        }
        fprintf(f, "epoch");
        for (int k = 0; k < N_MODELS; k++)
            fprintf(f, ",%s_train_loss,%s_test_loss,%s_test_acc", names[k], names[k], names[k]);
        fprintf(f, "\n");
        for (long e = 0; e < epochs; e++) {
            fprintf(f, "%ld", e + 1);
            for (int k = 0; k < N_MODELS; k++) {
                if (sel[k])
                    fprintf(f, ",%.9g,%.9g,%.6f", run[k].train_loss[e], run[k].test_loss[e],
                            run[k].test_acc[e]);
                else
                    fprintf(f, ",nan,nan,nan");
            }
            fprintf(f, "\n");
        }
        if (fclose(f)) {
            perror(csv);
            return 1;
        }
    }

    printf("\n| model | test acc | final train loss (SSE) | params | train s | s/epoch |%s\n",
           "");
    printf("|---|---|---|---|---|---|\n");
    for (int k = 0; k < N_MODELS; k++)
        if (sel[k])
            printf("| %s%s | %.4f | %.6g | %zu | %.2f | %.3f |\n", names[k],
               run[k].diverged ? " (diverged)" : "", run[k].final_test_acc,
               run[k].final_train_loss, run[k].params, run[k].seconds,
               run[k].epochs_done ? run[k].seconds / (double)run[k].epochs_done : 0.0);
    printf("{\"experiment\": \"lowrank_fashion\", \"activation\": \"%s\", \"epochs\": %ld, "
           "\"lr\": %g, \"rank\": %zu, \"estimate_samples\": %zu, \"blas_core\": \"%s\", "
           "\"blas_threads\": %d, \"peak_rss_mb\": %.1f",
           act_name, epochs, lr, rank, n_est ? n_est : lrmlp_dataset_size(train),
           lrmlp_blas_core(), lrmlp_blas_threads(), ex_peak_rss_mb());
    for (int k = 0; k < N_MODELS; k++)
        if (sel[k])
            printf(", \"%s\": {\"test_accuracy\": %.4f, \"train_loss\": %.6g, \"params\": %zu, "
               "\"train_seconds\": %.3f, \"seconds_per_epoch\": %.4f, \"diverged\": %s}",
               names[k], run[k].final_test_acc, run[k].final_train_loss, run[k].params,
               run[k].seconds,
               run[k].epochs_done ? run[k].seconds / (double)run[k].epochs_done : 0.0,
               run[k].diverged ? "true" : "false");
    printf("}\n");
    for (int k = 0; k < N_MODELS; k++) {
        lrx_run_free(&run[k]);
        lrmlp_net_free(net[k]);
    }
    free(Vb);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    return 0;
}
