/* Practical low-rank training (docs/lowrank.md): the L = 4, 784-wide net of
 * lowrank_fashion, dense against low-rank (r = 2K, S_big estimated from one
 * 128-sample minibatch with the training loss), both from the same dense
 * initialization, trained with minibatch SGD-momentum and with Adam on
 * cross-entropy (batch 128, cosine schedule).
 *
 *   lowrank_practical [--data DIR] [--act gelu] [--epochs N] [--lr-sgd X]
 *                     [--lr-adam X] [--estimate-batch N] [--seed N] [--csv FILE]
 *
 * Prints a table (test accuracy, epochs, seconds) and a JSON line. --csv
 * writes the per-epoch curves (lrx_curves_save; models "sgd-m/dense",
 * "sgd-m/lowrank", "adam/dense", "adam/lowrank"). */
#include "lowrank_common.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: lowrank_practical [options]\n"
          "  --data DIR          IDX directory (default " LRX_DEFAULT_DATA ")\n"
          "  --act NAME          hidden activation (default gelu)\n"
          "  --epochs N          epochs, >= 1 (default 5)\n"
          "  --lr-sgd X          SGD-momentum learning rate, > 0 (default 0.05)\n"
          "  --lr-adam X         Adam learning rate, > 0 (default 1e-3)\n"
          "  --estimate-batch N  samples for the S_big estimate, 0 = all (default 128)\n"
          "  --seed N            seed (default 1)\n"
          "  --csv FILE          write the per-epoch curves\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = LRX_DEFAULT_DATA, *act_name = "gelu", *csv = NULL;
    long epochs = 5;
    double lr_sgd = 0.05, lr_adam = 1e-3, eps = 0.1;
    size_t n_est = 128;
    unsigned long long seed = 1;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),
        EX_OPT_STR("--act", &act_name),
        EX_OPT_LONG("--epochs", &epochs),
        EX_OPT_POS("--lr-sgd", &lr_sgd),
        EX_OPT_POS("--lr-adam", &lr_adam),
        EX_OPT_SIZE("--estimate-batch", &n_est),
        EX_OPT_ULL("--seed", &seed),
        EX_OPT_STR("--csv", &csv),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "lowrank_practical", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrx_parse_act("lowrank_practical", act_name, &act))
        return EX_EXIT_USAGE;
    if (epochs < 1)
        return ex_bad_usage("lowrank_practical", "--epochs must be >= 1");
    lrmlp_dataset *train = NULL, *test = NULL;
    if (lrx_load_fashion(dir, 50000, &train, &test))
        return 1;
    /* The estimate uses the first n_est samples of a shuffled copy: one
     * random minibatch, as in the paper's CIFAR runs. */
    lrmlp_dataset *shuf = NULL;
    if (lrmlp_dataset_split(train, lrmlp_dataset_size(train), &shuf, NULL) ||
        lrmlp_dataset_shuffle(shuf, seed)) {
        fprintf(stderr, "lowrank_practical: shuffle: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    const size_t L = 4, d = lrmlp_dataset_dim(train), K = lrmlp_dataset_n_classes(train);
    const size_t r = 2 * K;
    lrmlp_net *dense0 = NULL;
    lrmlp_subspace *sub = NULL;
    double *Vb = malloc(d * r * sizeof *Vb);
    if (!Vb)
        return 1;
    double t0 = lrx_now();
    if (lrx_dense_create(&dense0, L, d, d, K, act, eps, seed, 0) ||
        lrx_estimate(&sub, dense0, shuf, n_est, LRMLP_LOSS_CROSS_ENTROPY, eps) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V1, r, Vb, r))
        return 1;
    double est_s = lrx_now() - t0;
    lrmlp_subspace_free(sub);
    lrmlp_dataset_free(shuf);
    printf("# practical: %s, L=%zu, d=m=%zu, r=%zu, batch 128, cross-entropy, cosine, %ld "
           "epochs, S_big from %zu samples (%.3f s), blas core %s, %d threads\n",
           act_name, L, d, r, epochs, n_est, est_s, lrmlp_blas_core(), lrmlp_blas_threads());
    const char *opt_names[2] = {"sgd-m", "adam"};
    const char *model_names[2] = {"dense", "lowrank"};
    lrx_run runs[4]; /* runs[2 * optimizer + model] */
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++) {
            lrmlp_net *net = NULL;
            if (k == 0) {
                if (lrmlp_net_clone(&net, dense0)) {
                    fprintf(stderr, "clone: %s\n", lrmlp_last_errmsg());
                    return 1;
                }
            } else if (lrx_lowrank_create(&net, dense0, r, Vb, eps, seed))
                return 1;
            char *name = malloc(32);
            if (!name)
                return 1;
            snprintf(name, 32, "%s/%s", opt_names[o], model_names[k]);
            lrx_run_init(&runs[2 * o + k], name, epochs, o ? LRMLP_OPTIM_ADAM : LRMLP_OPTIM_SGD,
                         o ? lr_adam : lr_sgd, 0.9, LRMLP_LOSS_CROSS_ENTROPY, 128);
            if (lrx_train(net, train, test, &runs[2 * o + k]))
                return 1;
            lrmlp_net_free(net);
        }
    printf("\n| optimizer | model | params | test acc | final train loss (CE) | epochs | "
           "train s | s/epoch |\n|---|---|---|---|---|---|---|---|\n");
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++) {
            lrx_run *q = &runs[2 * o + k];
            printf("| %s | %s%s | %zu | %.4f | %.4f | %ld | %.1f | %.2f |\n", opt_names[o],
                   model_names[k], q->diverged ? " (diverged)" : "", q->params,
                   q->final_test_acc, q->final_train_loss, q->epochs_done, q->seconds,
                   q->epochs_done ? q->seconds / (double)q->epochs_done : 0.0);
        }
    if (csv && lrx_curves_save(csv, runs, 4))
        return 1;
    printf("{\"experiment\": \"lowrank_practical\", \"activation\": \"%s\", \"epochs\": %ld, "
           "\"estimate_samples\": %zu, \"blas_core\": \"%s\"",
           act_name, epochs, n_est, lrmlp_blas_core());
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++)
            printf(", \"%s\": {\"test_accuracy\": %.4f, \"train_seconds\": %.2f, "
                   "\"params\": %zu}",
                   runs[2 * o + k].name, runs[2 * o + k].final_test_acc, runs[2 * o + k].seconds,
                   runs[2 * o + k].params);
    printf("}\n");
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++) {
            free((char *)runs[2 * o + k].name);
            lrx_run_free(&runs[2 * o + k]);
        }
    free(Vb);
    lrmlp_net_free(dense0);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    return 0;
}
