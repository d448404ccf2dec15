/* Benchmark: one lrmlp_optim_step on a 784-512-512-10 network with biases
 * (669,706 parameters; bench_train's default), per rule: GD, SGD with
 * momentum 0.9, Adam. Best of --reps blocks of --steps steps, in
 * microseconds per step. The step includes the gradient-norm pass and the
 * dry run that refuses non-finite updates (optim.h). Prints one JSON line.
 *
 *   bench_optim [--f64] [--steps 200] [--reps 7]
 */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fputs("usage: bench_optim [options]\n"
          "  --f64        float64 network (default float32)\n"
          "  --steps N    steps per timed block (default 200)\n"
          "  --reps N     timed blocks, the fastest is reported (default 7)\n",
          f);
}

int main(int argc, char **argv)
{
    int f64 = 0;
    size_t steps = 200, reps = 7;
    const ex_opt opts[] = {EX_OPT_FLAG("--f64", &f64), EX_OPT_COUNT("--steps", &steps),
                           EX_OPT_COUNT("--reps", &reps), EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, "bench_optim", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    const size_t w[] = {784, 512, 512, 10};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 3;
    no.widths = w;
    no.bias = 1;
    no.dtype = f64 ? LRMLP_F64 : LRMLP_F32;
    lrmlp_net *net;
    if (lrmlp_net_create(&net, &no)) {
        fprintf(stderr, "bench_optim: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    size_t P = lrmlp_net_param_count(net);
    void *g = lrmlp_net_grads(net);
    for (size_t i = 0; i < P; i++) { /* small, so that weights stay tame */
        double v = 1e-3 * (double)((int)(i % 7) - 3);
        if (f64)
            ((double *)g)[i] = v;
        else
            ((float *)g)[i] = (float)v;
    }
    static const lrmlp_optim_kind kinds[] = {LRMLP_OPTIM_GD, LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAM};
    static const char *names[] = {"gd", "sgd_momentum", "adam"};
    printf("{\"dtype\": \"%s\", \"params\": %zu", f64 ? "f64" : "f32", P);
    for (int k = 0; k < 3; k++) {
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = kinds[k];
        oo.lr = 1e-4;
        oo.momentum = kinds[k] == LRMLP_OPTIM_SGD ? 0.9 : 0.0;
        lrmlp_optim *opt;
        if (lrmlp_optim_create(&opt, net, &oo)) {
            fprintf(stderr, "bench_optim: %s\n", lrmlp_last_errmsg());
            return 1;
        }
        double best = 1e30;
        for (size_t r = 0; r < reps; r++) {
            double t0 = now();
            for (size_t i = 0; i < steps; i++)
                if (lrmlp_optim_step(opt, net)) {
                    fprintf(stderr, "bench_optim: %s\n", lrmlp_last_errmsg());
                    return 1;
                }
            double t = (now() - t0) / (double)steps;
            best = t < best ? t : best;
        }
        printf(", \"%s_us_per_step\": %.1f", names[k], best * 1e6);
        lrmlp_optim_free(opt);
    }
    printf("}\n");
    lrmlp_net_free(net);
    return 0;
}
