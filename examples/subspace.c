/* Estimating the invariant subspace of a network at initialization, and
 * seeing that training moves the first layer almost only inside it.
 *
 * The theory (docs/dynamics.md): with small (eps-scaled orthogonal) initial
 * weights and a smooth activation, the gradient of the first layer, G_1, is
 * close to rank K (the number of outputs); its top-K singular vectors span a
 * 2K-dimensional subspace S_big of the input space, and gradient descent
 * changes W_1 almost only in the block that maps S_big to its image
 * ("block 11").
 *
 *   subspace [--steps 300] [--lr 0.01] [--act gelu] [--seed 1]
 *
 * Steps: make toy data and a bias-free net, estimate the subspaces from the
 * full batch (lrmlp_subspace_estimate_f64), print the singular values of G_1
 * and the gap sigma_{K+1} / sigma_K, train with full-batch gradient descent,
 * and split the change W_1(t) - W_1(0) into its four blocks
 * (lrmlp_subspace_block_fractions). */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>

#define PROG "subspace"

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options]\n"
          "  --steps N   full-batch gradient descent steps, >= 1 (default 300)\n"
          "  --lr X      learning rate, > 0 (default 0.01)\n"
          "  --act NAME  hidden activation (default gelu; try relu)\n"
          "  --seed N    seed of the data and the initialization (default 1)\n",
          f);
}

int main(int argc, char **argv)
{
    size_t steps = 300;
    double lr = 0.01;
    const char *act_name = "gelu";
    unsigned long long seed = 1;
    const ex_opt opts[] = {EX_OPT_COUNT("--steps", &steps), EX_OPT_POS("--lr", &lr),
                           EX_OPT_STR("--act", &act_name), EX_OPT_ULL("--seed", &seed),
                           EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return ex_bad_usage(PROG, "unknown activation '%s'", act_name);

    /* 1. Data (n samples, d features, K classes), whitened as the theory
     * assumes (X X^T = I, no centering), and a d-m-K network with
     * W_1(0) = eps Q_1 and W_2(0) = Q_2 (orthonormal rows). */
    const size_t n = 512, d = 32, m = 64, K = 4;
    const double eps = 0.1;
    lrmlp_dataset *ds = NULL;
    lrmlp_whiten_options wo = LRMLP_WHITEN_OPTIONS_INIT;
    wo.center = 0;
    wo.unit_sum = 1;
    if (ex_toy_dataset(&ds, n, d, K, seed) || lrmlp_dataset_whiten(ds, &wo, NULL)) {
        fprintf(stderr, PROG ": data: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    double *X = malloc(n * d * sizeof *X), *T = malloc(n * K * sizeof *T);
    double *W0 = malloc(m * d * sizeof *W0), *Wt = malloc(m * d * sizeof *Wt);
    if (!X || !T || !W0 || !Wt || lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, T)) {
        fprintf(stderr, PROG ": data: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    const size_t widths[] = {d, m, K};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 2;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 0;                        /* the theory's nets have no biases */
    no.init = LRMLP_INIT_ORTHOGONAL;    /* W_l(0) = eps * Q */
    no.init_scale = eps;
    no.seed = seed;
    lrmlp_net *net = NULL;
    if (lrmlp_net_create(&net, &no) || lrmlp_net_init_layer(net, 1, LRMLP_INIT_ORTHOGONAL, 1.0)) {
        fprintf(stderr, PROG ": net: %s\n", lrmlp_last_errmsg());
        return 1;
    }

    /* 2. The estimate, from the loss that will be trained. */
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.k = K;
    so.eps = eps;
    lrmlp_subspace *sub = NULL;
    double sv[K + 1];
    size_t p = 0;
    if (lrmlp_subspace_estimate_f64(&sub, net, X, T, n, LRMLP_LOSS_SSE, &so) ||
        lrmlp_subspace_singular_values(sub, sv) ||
        lrmlp_subspace_layer_dims(sub, 0, NULL, NULL, &p, NULL)) {
        fprintf(stderr, PROG ": estimate: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    printf("singular values of G_1:");
    for (size_t i = 0; i <= K; i++)
        printf(" %.4g", sv[i]);
    printf("\ngap sigma_%zu / sigma_%zu = %.3g (near 0: G_1 is close to rank %zu)\n", K + 1, K,
           sv[K] / sv[K - 1], K);
    printf("input space R^%zu = S_big (%zu dims) + S_small (%zu dims)\n", d, d - p, p);

    /* 3. Train and split the change of W_1 into the four blocks. */
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = lr;
    lrmlp_optim *opt = NULL;
    double frac[4], loss0 = 0, loss = 0;
    int rc = lrmlp_optim_create(&opt, net, &oo) || lrmlp_net_get_weights_f64(net, 0, W0);
    for (size_t s = 0; s < steps && !rc; s++) {
        rc = lrmlp_net_gradient_f64(net, X, T, n, LRMLP_LOSS_SSE, &loss) ||
             lrmlp_optim_step(opt, net);
        loss0 = s == 0 ? loss : loss0;
    }
    if (rc || lrmlp_net_get_weights_f64(net, 0, Wt) ||
        lrmlp_subspace_block_fractions(sub, 0, W0, Wt, frac)) {
        fprintf(stderr, PROG ": training: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    printf("after %zu steps (loss %.4g -> %.4g), ||W_1(t) - W_1(0)||_F^2 splits into\n"
           "  block 11 %.4f  block 12 %.4f  block 21 %.4f  block 22 %.4f\n",
           steps, loss0, loss, frac[0], frac[1], frac[2], frac[3]);
    lrmlp_optim_free(opt);
    lrmlp_subspace_free(sub);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    free(X);
    free(T);
    free(W0);
    free(Wt);
    return 0;
}
