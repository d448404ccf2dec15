/* Angle ablation (the paper's appendix F.1, docs/lowrank.md): the low-rank
 * net of lowrank_fashion started with V = cos(psi) V_big + sin(psi) V_perp,
 * V_big the first r columns of S_big's basis and V_perp the first r columns
 * of its orthogonal complement (U follows through W(0), so it rotates the
 * same way), for psi = 0, 15, ..., 90 degrees. Full-batch GD on SSE, as
 * lowrank_fashion.
 *
 *   lowrank_angle [--data DIR] [--act silu] [--epochs N] [--lr X] [--rank R]
 *                 [--estimate-batch N] [--seed N] [--csv FILE] [--curves FILE]
 *
 * Prints a table of final test accuracy per psi and a JSON line. --csv
 * writes the final results per psi, --curves the per-epoch curves
 * (lrx_curves_save, models "psi=0" .. "psi=90"). */
#include "lowrank_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_PSI 7

static void usage(FILE *f)
{
    fputs("usage: lowrank_angle [options]\n"
          "  --data DIR          IDX directory (default " LRX_DEFAULT_DATA ")\n"
          "  --act NAME          hidden activation (default silu)\n"
          "  --epochs N          full-batch GD steps per angle, >= 1 (default 40)\n"
          "  --lr X              learning rate, > 0 (default 1e-5)\n"
          "  --rank R            low-rank width r, 1..2K (default 2K = 20)\n"
          "  --estimate-batch N  samples for the S_big estimate, 0 = all (default 0)\n"
          "  --seed N            seed (default 1)\n"
          "  --csv FILE          write the final results per angle\n"
          "  --curves FILE       write the per-epoch curves\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = LRX_DEFAULT_DATA, *act_name = "silu", *csv = NULL, *curves = NULL;
    long epochs = 40;
    double lr = 1e-5, eps = 0.1;
    size_t rank = 0, n_est = 0;
    unsigned long long seed = 1;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),
        EX_OPT_STR("--act", &act_name),
        EX_OPT_LONG("--epochs", &epochs),
        EX_OPT_POS("--lr", &lr),
        EX_OPT_COUNT("--rank", &rank), /* 0: not given, 2K */
        EX_OPT_SIZE("--estimate-batch", &n_est),
        EX_OPT_ULL("--seed", &seed),
        EX_OPT_STR("--csv", &csv),
        EX_OPT_STR("--curves", &curves),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "lowrank_angle", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrx_parse_act("lowrank_angle", act_name, &act))
        return EX_EXIT_USAGE;
    if (epochs < 1)
        return ex_bad_usage("lowrank_angle", "--epochs must be >= 1");
    lrmlp_dataset *train = NULL, *test = NULL;
    if (lrx_load_fashion(dir, 50000, &train, &test))
        return 1;
    const size_t L = 4, d = lrmlp_dataset_dim(train), K = lrmlp_dataset_n_classes(train);
    if (rank == 0)
        rank = 2 * K;
    if (rank > 2 * K) {
        fprintf(stderr, "lowrank_angle: --rank must be <= 2K\n");
        return 2;
    }
    lrmlp_net *dense = NULL;
    lrmlp_subspace *sub = NULL;
    double *B = malloc(d * rank * sizeof *B), *P = malloc(d * rank * sizeof *P);
    double *V = malloc(d * rank * sizeof *V);
    if (!B || !P || !V)
        return 1;
    if (lrx_dense_create(&dense, L, d, d, K, act, eps, seed, 0) ||
        lrx_estimate(&sub, dense, train, n_est, LRMLP_LOSS_SSE, eps) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V1, rank, B, rank) ||
        lrx_basis_columns(sub, LRMLP_SUBSPACE_V2, rank, P, rank))
        return 1;
    lrmlp_subspace_free(sub);
    printf("# angle ablation: %s, r=%zu, full-batch GD on SSE, lr %g cosine, %ld epochs, "
           "S_big from %zu samples, blas core %s, %d threads\n",
           act_name, rank, lr, epochs, n_est ? n_est : lrmlp_dataset_size(train),
           lrmlp_blas_core(), lrmlp_blas_threads());
    static const int psis[N_PSI] = {0, 15, 30, 45, 60, 75, 90};
    lrx_run run[N_PSI];
    char names[N_PSI][16];
    const double pi = 3.14159265358979323846;
    for (int k = 0; k < N_PSI; k++) {
        double psi = psis[k] * pi / 180.0;
        int rc = lrmlp_basis_rotate(B, P, d, rank, psi, V);
        if (rc) {
            fprintf(stderr, "basis_rotate: %s\n", lrmlp_strerror(rc));
            return 1;
        }
        lrmlp_net *lr_net = NULL;
        if (lrx_lowrank_create(&lr_net, dense, rank, V, eps, seed))
            return 1;
        snprintf(names[k], sizeof names[k], "psi=%d", psis[k]);
        lrx_run_init(&run[k], names[k], epochs, LRMLP_OPTIM_GD, lr, 0, LRMLP_LOSS_SSE, 0);
        run[k].quiet = 1;
        if (lrx_train(lr_net, train, test, &run[k]))
            return 1;
        printf("psi %2d deg: test_acc %.4f  train_loss %.6g  %.1f s%s\n", psis[k],
               run[k].final_test_acc, run[k].final_train_loss, run[k].seconds,
               run[k].diverged ? " (diverged)" : "");
        fflush(stdout);
        lrmlp_net_free(lr_net);
    }
    FILE *f = csv ? fopen(csv, "w") : NULL;
    if (csv && !f) {
        perror(csv);
        return 1;
    }
    if (f)
        fprintf(f, "psi,test_acc,train_loss\n");
    printf("\n| psi (deg) | test acc | final train loss (SSE) |\n|---|---|---|\n");
    for (int k = 0; k < N_PSI; k++) {
        printf("| %d | %.4f | %.6g |\n", psis[k], run[k].final_test_acc,
               run[k].final_train_loss);
        if (f)
            fprintf(f, "%d,%.6f,%.9g\n", psis[k], run[k].final_test_acc,
                    run[k].final_train_loss);
    }
    if (f && fclose(f)) {
        perror(csv);
        return 1;
    }
    if (curves && lrx_curves_save(curves, run, N_PSI))
        return 1;
    printf("{\"experiment\": \"lowrank_angle\", \"activation\": \"%s\", \"epochs\": %ld, "
           "\"lr\": %g, \"rank\": %zu, \"test_accuracy\": {",
           act_name, epochs, lr, rank);
    for (int k = 0; k < N_PSI; k++)
        printf("%s\"%d\": %.4f", k ? ", " : "", psis[k], run[k].final_test_acc);
    printf("}}\n");
    for (int k = 0; k < N_PSI; k++)
        lrx_run_free(&run[k]);
    free(B);
    free(P);
    free(V);
    lrmlp_net_free(dense);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    return 0;
}
