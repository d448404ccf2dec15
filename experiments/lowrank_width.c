/* Width ablation (the paper's appendix F.2, docs/lowrank.md): low-rank nets
 * of width r in {2K, 4K, 8K, 16K}, V started with the 2K columns of S_big
 * followed by the first r - 2K columns of its orthogonal complement, all
 * from one dense initialization. Two settings:
 *   gd:  full-batch GD on SSE, lr 1e-5 cosine (as lowrank_fashion);
 *   sgd: SGD with momentum 0.9 on cross-entropy, batch 128, lr 0.05 cosine.
 *
 *   lowrank_width [--data DIR] [--act gelu] [--setting gd|sgd|both]
 *                 [--epochs-gd N] [--epochs-sgd N] [--lr-gd X] [--lr-sgd X]
 *                 [--estimate-batch N] [--seed N] [--csv FILE] [--curves FILE]
 *
 * Prints a table and a JSON line. --csv writes the final results, one row
 * per setting and width; --curves the per-epoch curves (lrx_curves_write,
 * model labels "gd r=20", "sgd r=40", ...). */
#include "lowrank_common.h"

#include <stdlib.h>
#include <string.h>

#define N_WIDTH 4

static void usage(FILE *f)
{
    fputs("usage: lowrank_width [options]\n"
          "  --data DIR          IDX directory (default " LRX_DEFAULT_DATA ")\n"
          "  --act NAME          hidden activation (default gelu)\n"
          "  --setting S         gd, sgd or both (default both)\n"
          "  --epochs-gd N       full-batch GD steps, >= 1 (default 40)\n"
          "  --epochs-sgd N      SGD epochs, >= 1 (default 5)\n"
          "  --lr-gd X           GD learning rate, > 0 (default 1e-5)\n"
          "  --lr-sgd X          SGD learning rate, > 0 (default 0.05)\n"
          "  --estimate-batch N  samples for the S_big estimate, 0 = all (default 0)\n"
          "  --seed N            seed (default 1)\n"
          "  --csv FILE          write the final results per setting and width\n"
          "  --curves FILE       write the per-epoch curves\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = LRX_DEFAULT_DATA, *act_name = "gelu", *csv = NULL, *setting = "both";
    const char *curves = NULL;
    long epochs_gd = 40, epochs_sgd = 5;
    double lr_gd = 1e-5, lr_sgd = 0.05, eps = 0.1;
    size_t n_est = 0;
    unsigned long long seed = 1;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),
        EX_OPT_STR("--act", &act_name),
        EX_OPT_STR("--setting", &setting),
        EX_OPT_LONG("--epochs-gd", &epochs_gd),
        EX_OPT_LONG("--epochs-sgd", &epochs_sgd),
        EX_OPT_POS("--lr-gd", &lr_gd),
        EX_OPT_POS("--lr-sgd", &lr_sgd),
        EX_OPT_SIZE("--estimate-batch", &n_est),
        EX_OPT_ULL("--seed", &seed),
        EX_OPT_STR("--csv", &csv),
        EX_OPT_STR("--curves", &curves),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "lowrank_width", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    int do_gd = !strcmp(setting, "gd") || !strcmp(setting, "both");
    int do_sgd = !strcmp(setting, "sgd") || !strcmp(setting, "both");
    lrmlp_activation act;
    if (lrx_parse_act("lowrank_width", act_name, &act))
        return EX_EXIT_USAGE;
    if ((!do_gd && !do_sgd) || epochs_gd < 1 || epochs_sgd < 1)
        return ex_bad_usage("lowrank_width", "need --setting gd|sgd|both and "
                                             "--epochs-gd, --epochs-sgd >= 1");
    lrmlp_dataset *train = NULL, *test = NULL;
    if (lrx_load_fashion(dir, 50000, &train, &test))
        return 1;
    const size_t L = 4, d = lrmlp_dataset_dim(train), K = lrmlp_dataset_n_classes(train);
    const size_t ranks[N_WIDTH] = {2 * K, 4 * K, 8 * K, 16 * K};
    const size_t rmax = ranks[N_WIDTH - 1];
    lrmlp_net *dense = NULL;
    lrmlp_subspace *sub = NULL;
    double *V = malloc(d * rmax * sizeof *V), *Vr = malloc(d * rmax * sizeof *Vr);
    if (!V || !Vr)
        return 1;
    /* V = [S_big basis (2K) | complement (rmax - 2K)]; each r takes its first r columns. */
    if (lrx_dense_create(&dense, L, d, d, K, act, eps, seed, 0) ||
        lrx_estimate(&sub, dense, train, n_est, LRMLP_LOSS_SSE, eps) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V1, 2 * K, V, rmax) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V2, rmax - 2 * K, V + 2 * K, rmax))
        return 1;
    lrmlp_subspace_free(sub);
    printf("# width ablation: %s, S_big from %zu samples, blas core %s, %d threads\n",
           act_name, n_est ? n_est : lrmlp_dataset_size(train), lrmlp_blas_core(),
           lrmlp_blas_threads());
    FILE *f = csv ? fopen(csv, "w") : NULL;
    if (csv && !f) {
        perror(csv);
        return 1;
    }
    FILE *fc = curves ? fopen(curves, "w") : NULL;
    if (curves && !fc) {
        perror(curves);
        return 1;
    }
    if (f)
        fprintf(f, "setting,rank,params,test_acc,train_loss,seconds\n");
    if (fc)
        lrx_curves_header(fc);
    char table[4096];
    size_t tl = 0;
    tl += (size_t)snprintf(table + tl, sizeof table - tl,
                           "\n| setting | r | params | test acc | final train loss | train s |\n"
                           "|---|---|---|---|---|---|\n");
    char json[4096];
    size_t jl = (size_t)snprintf(json, sizeof json,
                                 "{\"experiment\": \"lowrank_width\", \"activation\": \"%s\", "
                                 "\"results\": [", act_name);
    for (int s = 0; s < 2; s++) {
        if ((s == 0 && !do_gd) || (s == 1 && !do_sgd))
            continue;
        for (int k = 0; k < N_WIDTH; k++) {
            size_t r = ranks[k];
            for (size_t i = 0; i < d; i++)
                memcpy(Vr + i * r, V + i * rmax, r * sizeof *V);
            lrmlp_net *net = NULL;
            if (lrx_lowrank_create(&net, dense, r, Vr, eps, seed))
                return 1;
            lrx_run run;
            char name[32];
            snprintf(name, sizeof name, "%s r=%zu", s ? "sgd" : "gd", r);
            if (s == 0)
                lrx_run_init(&run, name, epochs_gd, LRMLP_OPTIM_GD, lr_gd, 0, LRMLP_LOSS_SSE,
                             0);
            else
                lrx_run_init(&run, name, epochs_sgd, LRMLP_OPTIM_SGD, lr_sgd, 0.9,
                             LRMLP_LOSS_CROSS_ENTROPY, 128);
            run.quiet = 1;
            if (lrx_train(net, train, test, &run))
                return 1;
            const char *sname = s ? "sgd-m+CE" : "GD+SSE";
            printf("# %s r=%zu: test_acc %.4f train_loss %.6g %.1f s%s\n", sname, r,
                   run.final_test_acc, run.final_train_loss, run.seconds,
                   run.diverged ? " (diverged)" : "");
            fflush(stdout);
            tl += (size_t)snprintf(table + tl, sizeof table - tl,
                                   "| %s (%ld ep) | %zu | %zu | %.4f | %.6g | %.1f |\n", sname,
                                   run.epochs, r, run.params, run.final_test_acc,
                                   run.final_train_loss, run.seconds);
            if (f)
                fprintf(f, "%s,%zu,%zu,%.6f,%.9g,%.3f\n", s ? "sgd" : "gd", r, run.params,
                        run.final_test_acc, run.final_train_loss, run.seconds);
            if (fc)
                lrx_curves_write(fc, &run);
            jl += (size_t)snprintf(json + jl, sizeof json - jl,
                                   "%s{\"setting\": \"%s\", \"rank\": %zu, \"epochs\": %ld, "
                                   "\"test_accuracy\": %.4f, \"train_loss\": %.6g, "
                                   "\"seconds\": %.2f}",
                                   jl > 80 && json[jl - 1] == '}' ? ", " : "",
                                   s ? "sgd" : "gd", r, run.epochs, run.final_test_acc,
                                   run.final_train_loss, run.seconds);
            lrx_run_free(&run);
            lrmlp_net_free(net);
        }
    }
    if (f && fclose(f)) {
        perror(csv);
        return 1;
    }
    if (fc && fclose(fc)) {
        perror(curves);
        return 1;
    }
    fputs(table, stdout);
    printf("%s]}\n", json);
    free(V);
    free(Vr);
    lrmlp_net_free(dense);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    return 0;
}
