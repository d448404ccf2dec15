/* Starting a low-rank network from a dense one (the paper's eq. 10 and its
 * "S_big initialization", include/lrmlp/lowrank.h).
 *
 * A low-rank net of rank r stands for an L-layer MLP d-m-...-m-K whose hidden
 * weights are factored through r dimensions: f(x) = W_L phi(U A phi(... V^T
 * x)). Started with V spanning S_big (the subspace the dense net's first
 * layer would move in, estimated at initialization) it trains like the dense
 * net with a fraction of the parameters; started in random subspaces it
 * does not.
 *
 *   lowrank_start [--epochs 30] [--lr 0.02] [--act gelu] [--seed 1]
 *
 * Steps: toy data; a dense bias-free net with W_l(0) = eps Q_l; the subspace
 * estimate; V = the 2K columns of its S_big basis (LRMLP_SUBSPACE_V1); two
 * low-rank nets of rank 2K, one from S_big (lrmlp_lowrank_init_from_dense),
 * one random (lrmlp_lowrank_init_random); the same training for all three. */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>

#define PROG "lowrank_start"

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options]\n"
          "  --epochs N  epochs of mini-batch SGD (batch 32), >= 1 (default 30)\n"
          "  --lr X      learning rate, > 0 (default 0.02)\n"
          "  --act NAME  hidden activation (default gelu)\n"
          "  --seed N    seed of the data and the networks (default 1)\n",
          f);
}

int main(int argc, char **argv)
{
    size_t epochs = 30;
    double lr = 0.02;
    const char *act_name = "gelu";
    unsigned long long seed = 1;
    const ex_opt opts[] = {EX_OPT_COUNT("--epochs", &epochs), EX_OPT_POS("--lr", &lr),
                           EX_OPT_STR("--act", &act_name), EX_OPT_ULL("--seed", &seed),
                           EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return ex_bad_usage(PROG, "unknown activation '%s'", act_name);

    /* 1. Toy data and the dense net: L = 3, d = 64, m = 128, K = 4. */
    const size_t n = 2048, L = 3, d = 64, m = 128, K = 4, r = 2 * K;
    const size_t widths[] = {d, m, m, K};
    const double eps = 0.1;
    lrmlp_dataset *ds = NULL;
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = L;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 0;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = eps;
    no.seed = seed;
    lrmlp_net *dense = NULL;
    double *X = malloc(n * d * sizeof *X), *T = malloc(n * K * sizeof *T);
    double *V = malloc(d * r * sizeof *V);
    if (!X || !T || !V || ex_toy_dataset(&ds, n, d, K, seed) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL) ||
        lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, T) || lrmlp_net_create(&dense, &no)) {
        fprintf(stderr, PROG ": setup: %s\n", lrmlp_last_errmsg());
        return 1;
    }

    /* 2. S_big of the dense net at initialization: layer 0's V1 basis has
     * exactly 2K columns (d x 2K, orthonormal). */
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.k = K;
    so.eps = eps; /* must be the scale the dense net was created with */
    lrmlp_subspace *sub = NULL;
    if (lrmlp_subspace_estimate_f64(&sub, dense, X, T, n, LRMLP_LOSS_CROSS_ENTROPY, &so) ||
        lrmlp_subspace_get_basis(sub, 0, LRMLP_SUBSPACE_V1, V)) {
        fprintf(stderr, PROG ": estimate: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_subspace_free(sub);

    /* 3. Two low-rank nets of rank r = 2K matching the dense one. */
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    lo.dtype = LRMLP_F64;
    lo.n_layers = L;
    lo.input_dim = d;
    lo.width = m;
    lo.output_dim = K;
    lo.rank = r;
    lo.hidden_activation = act;
    lo.seed = seed;
    lo.eps = eps;
    lrmlp_net *sbig = NULL, *rnd = NULL;
    if (lrmlp_lowrank_create(&sbig, &lo) || lrmlp_lowrank_init_from_dense(sbig, dense, V, eps) ||
        lrmlp_lowrank_create(&rnd, &lo) || lrmlp_lowrank_init_random(rnd, dense, eps)) {
        fprintf(stderr, PROG ": low-rank: %s\n", lrmlp_last_errmsg());
        return 1;
    }

    /* 4. The same training for all three; low-rank nets are ordinary
     * lrmlp_net handles for optimizers, training and evaluation. */
    lrmlp_net *nets[] = {dense, sbig, rnd};
    const char *names[] = {"dense", "low-rank, V = S_big", "low-rank, random V"};
    printf("%-20s %8s  %s\n", "network", "params", "train accuracy after each 10 epochs");
    for (int i = 0; i < 3; i++) {
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = LRMLP_OPTIM_SGD;
        oo.lr = lr;
        oo.momentum = 0.9;
        lrmlp_optim *opt = NULL;
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.loss = LRMLP_LOSS_CROSS_ENTROPY;
        to.batch_size = 32;
        lrmlp_eval_result ev;
        int rc = lrmlp_optim_create(&opt, nets[i], &oo);
        printf("%-20s %8zu ", names[i], lrmlp_net_param_count(nets[i]));
        for (size_t e = 1; e <= epochs && !rc; e++) {
            rc = lrmlp_train_epoch(nets[i], opt, ds, &to, NULL);
            if (!rc && (e % 10 == 0 || e == epochs) &&
                !(rc = lrmlp_evaluate(nets[i], ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &ev)))
                printf(" %.3f", ev.accuracy);
        }
        printf("\n");
        lrmlp_optim_free(opt);
        if (rc) {
            fprintf(stderr, PROG ": training: %s\n", lrmlp_last_errmsg());
            return 1;
        }
    }
    for (int i = 0; i < 3; i++)
        lrmlp_net_free(nets[i]);
    lrmlp_dataset_free(ds);
    free(X);
    free(T);
    free(V);
    return 0;
}
