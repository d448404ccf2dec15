/* Helper of tests/interop_torch.py: trains small networks with liblrmlp
 * (Adam, 200 full-batch steps on a fixed regression task) and saves them as
 * model files, so the Python side can check that PyTorch, given the
 * exported weights, computes what liblrmlp computes.
 *
 *   interop_train DENSE.lrmlp LOWRANK.lrmlp DENSE64.lrmlp
 *
 * DENSE: float32 5-16-12-3, tanh, gelu, identity, biases. LOWRANK: float32
 * low-rank net (L 3, d 5, m 16, K 3, r 4, SiLU). DENSE64: as DENSE, float64.
 * Exit 0 on success, 1 with a message otherwise. */
#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>

#define N 64

static int train(lrmlp_net *net, const char *path)
{
    int f64 = lrmlp_net_dtype(net) == LRMLP_F64;
    double X[N * 5], T[N * 3];
    float Xf[N * 5], Tf[N * 3];
    uint64_t s = 12345;
    for (int i = 0; i < N * 5; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
        Xf[i] = (float)X[i];
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 3; k++) {
            T[i * 3 + k] = X[i * 5 + k] * X[i * 5 + k + 1] - 0.5 * X[i * 5 + 4];
            Tf[i * 3 + k] = (float)T[i * 3 + k];
        }
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 0.01;
    lrmlp_optim *opt;
    if (lrmlp_optim_create(&opt, net, &oo) != LRMLP_OK)
        return 0;
    double loss0 = 0, loss = 0;
    for (int step = 0; step < 200; step++) {
        int rc = f64 ? lrmlp_net_gradient_f64(net, X, T, N, LRMLP_LOSS_MSE, &loss)
                     : lrmlp_net_gradient_f32(net, Xf, Tf, N, LRMLP_LOSS_MSE, &loss);
        if (rc != LRMLP_OK || lrmlp_optim_step(opt, net) != LRMLP_OK) {
            lrmlp_optim_free(opt);
            return 0;
        }
        if (step == 0)
            loss0 = loss;
    }
    lrmlp_optim_free(opt);
    printf("%s: loss %.4g -> %.4g\n", path, loss0, loss);
    return loss < loss0 && lrmlp_model_save(net, NULL, path) == LRMLP_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: interop_train DENSE.lrmlp LOWRANK.lrmlp DENSE64.lrmlp\n");
        return 2;
    }
    const size_t w[] = {5, 16, 12, 3};
    lrmlp_activation acts[] = {LRMLP_ACT_TANH, LRMLP_ACT_GELU, LRMLP_ACT_IDENTITY};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 3;
    no.widths = w;
    no.activations = acts;
    no.bias = 1;
    no.seed = 7;
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    lo.n_layers = 3;
    lo.input_dim = 5;
    lo.width = 16;
    lo.output_dim = 3;
    lo.rank = 4;
    lo.hidden_activation = LRMLP_ACT_SILU;
    lo.eps = 0.5;
    lrmlp_net *a = NULL, *b = NULL, *c = NULL;
    int ok = lrmlp_net_create(&a, &no) == LRMLP_OK && train(a, argv[1]) &&
             lrmlp_lowrank_create(&b, &lo) == LRMLP_OK && train(b, argv[2]);
    no.dtype = LRMLP_F64;
    ok = ok && lrmlp_net_create(&c, &no) == LRMLP_OK && train(c, argv[3]);
    if (!ok)
        fprintf(stderr, "interop_train: failed: %s\n", lrmlp_last_errmsg());
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_net_free(c);
    return ok ? 0 : 1;
}
