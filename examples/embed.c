/* Minimal embedding: fit a small surrogate y = sin(3x) from in-memory data,
 * the way a simulation code would, then query it. Build it on its own with
 *   cc embed.c $(pkg-config --cflags --libs lrmlp) -lm -o embed
 * Exits 0 when the fit is good (mean squared error below 1e-3). It takes no
 * options besides --help and --version, so it checks argv by hand instead of
 * linking the examples' option parser (examples/common.c). */
#include <lrmlp.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N 256

int main(int argc, char **argv)
{
    if (argc > 1) {
        int help = argc == 2 && !strcmp(argv[1], "--help");
        int version = argc == 2 && !strcmp(argv[1], "--version");
        char info[512];
        lrmlp_build_info(info, sizeof info);
        if (help)
            printf("usage: embed_c\nFits y = sin(3x) with a 1-32-32-1 net and queries it; "
                   "exits 0 when the mean squared error is below 1e-3.\n");
        else if (version)
            printf("embed_c (liblrmlp %s)\n%s\n", lrmlp_version_string(), info);
        else
            fprintf(stderr, "embed_c: takes no arguments (--help, --version)\n");
        return help || version ? 0 : 2;
    }
    if (lrmlp_version_number() / 10000 != LRMLP_VERSION_MAJOR) {
        fprintf(stderr, "header/library major version mismatch\n");
        return 1;
    }
    double X[N], Y[N];
    for (int i = 0; i < N; i++) {
        X[i] = -1.0 + 2.0 * i / (N - 1);
        Y[i] = sin(3.0 * X[i]);
    }
    const size_t widths[] = {1, 32, 32, 1};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 3;
    no.widths = widths;
    no.bias = 1;
    no.seed = 7;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 3e-3;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    lrmlp_dataset *ds = NULL;
    int rc = lrmlp_net_create(&net, &no);
    if (!rc)
        rc = lrmlp_optim_create(&opt, net, &oo);
    if (!rc)
        rc = lrmlp_dataset_from_targets_f64(&ds, X, N, 1, Y, 1);
    if (rc) {
        fprintf(stderr, "setup failed: %s (%s)\n", lrmlp_strerror(rc), lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_MSE;
    to.batch_size = 32;
    for (int e = 0; e < 300 && !rc; e++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    lrmlp_eval_result ev;
    if (!rc)
        rc = lrmlp_evaluate(net, ds, LRMLP_LOSS_MSE, 0, &ev);
    if (rc) {
        fprintf(stderr, "training failed: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    double q = 0.5, y;
    lrmlp_net_predict_f64(net, &q, 1, &y);
    /* MSE loss here is 0.5 * mean squared error. */
    printf("surrogate: f(0.5) = %.4f (sin(1.5) = %.4f), mean squared error %.2e\n", y,
           sin(1.5), 2 * ev.loss);
    lrmlp_dataset_free(ds);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return 2 * ev.loss < 1e-3 ? 0 : 1;
}
