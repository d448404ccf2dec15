/* Benchmark: the subspace estimator, exact against randomized SVD of G_1.
 * A two-layer float64 net d-m-K (default 4096-4096-10, tanh, eps-scaled
 * orthogonal init, eps 0.1), one batch of n random samples (default 256)
 * with one-hot targets. Times lrmlp_subspace_estimate_f64 for both methods
 * (best of --reps runs; each includes the gradient pass and the U/V bases,
 * which both methods share) and reports how far apart their S_big and R11
 * are. Prints one JSON line.
 *
 *   bench_subspace [--d 4096] [--m 4096] [--k 10] [--n 256] [--reps 1]
 *                  [--oversample 10] [--power 2] [--threads N]
 *
 * --threads calls openblas_set_num_threads: the benchmark is the application
 * and may choose; the library itself never does. */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double urand(unsigned long long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* Best-of-reps time of one estimate; the last handle is returned. */
static double run(lrmlp_subspace **out, lrmlp_net *net, const double *X, const double *T,
                  size_t n, const lrmlp_subspace_options *o, int reps)
{
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        lrmlp_subspace_free(*out);
        *out = NULL;
        double t0 = now();
        int rc = lrmlp_subspace_estimate_f64(out, net, X, T, n, LRMLP_LOSS_SSE, o);
        double t = now() - t0;
        if (rc) {
            fprintf(stderr, "bench_subspace: %s\n", lrmlp_last_errmsg());
            exit(1);
        }
        best = t < best ? t : best;
    }
    return best;
}

static void usage(FILE *f)
{
    fputs("usage: bench_subspace [options]\n"
          "  --d N           input dimension, >= 1 (default 4096)\n"
          "  --m N           hidden width, >= 1 (default d)\n"
          "  --k N           classes K, >= 1 (default 10)\n"
          "  --n N           samples, >= 1 (default 256)\n"
          "  --reps N        runs per method, best is reported, >= 1 (default 1)\n"
          "  --oversample N  randomized SVD oversampling (default 10)\n"
          "  --power N       randomized SVD power iterations (default 2)\n"
          "  --threads N     openblas_set_num_threads(N); 0 = OpenBLAS's own (default 0)\n",
          f);
}

int main(int argc, char **argv)
{
    size_t d = 4096, m = 0, K = 10, n = 256, over = 10, power = 2, nreps = 1;
    int threads = 0;
    const ex_opt opts[] = {
        EX_OPT_COUNT("--d", &d),          EX_OPT_COUNT("--m", &m), /* 0: not given */
        EX_OPT_COUNT("--k", &K),          EX_OPT_COUNT("--n", &n),
        EX_OPT_COUNT("--reps", &nreps),   EX_OPT_SIZE("--oversample", &over),
        EX_OPT_SIZE("--power", &power),   EX_OPT_INT("--threads", &threads),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "bench_subspace", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (!m)
        m = d;
    if (threads < 0 || nreps > 1000)
        return ex_bad_usage("bench_subspace", "need --threads >= 0 and --reps <= 1000");
    int reps = (int)nreps;
    if (threads > 0)
        openblas_set_num_threads(threads);

    const size_t w[] = {d, m, K};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 2;
    no.widths = w;
    no.hidden_activation = LRMLP_ACT_TANH;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = 0.1;
    lrmlp_net *net = NULL;
    double t0 = now();
    if (lrmlp_net_create(&net, &no)) {
        fprintf(stderr, "bench_subspace: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    double t_create = now() - t0;
    double *X = malloc(n * d * sizeof *X), *T = calloc(n * K, sizeof *T);
    if (!X || !T)
        return 1;
    unsigned long long s = 88172645463325252ull;
    for (size_t i = 0; i < n * d; i++)
        X[i] = urand(&s) / 32.0; /* roughly unit-norm samples for d = 4096 */
    for (size_t i = 0; i < n; i++)
        T[i * K + i % K] = 1.0;

    lrmlp_subspace_options o = LRMLP_SUBSPACE_OPTIONS_INIT;
    o.k = K;
    o.oversample = over;
    o.power_iters = power;
    lrmlp_subspace *se = NULL, *sr = NULL;
    double te = run(&se, net, X, T, n, &o, reps);
    o.method = LRMLP_SUBSPACE_RANDOMIZED;
    double tr = run(&sr, net, X, T, n, &o, reps);

    /* agreement */
    size_t r = 2 * K;
    double *a = malloc(d * (r > K ? r : K) * sizeof *a), *b = malloc(d * r * sizeof *b);
    double *sve = malloc((K + 1) * sizeof *sve), *svr = malloc((K + 1) * sizeof *svr);
    if (!a || !b || !sve || !svr)
        return 1;
    lrmlp_subspace_get_basis(se, 0, LRMLP_SUBSPACE_V1, a);
    lrmlp_subspace_get_basis(sr, 0, LRMLP_SUBSPACE_V1, b);
    double sin_big = lrmlp_principal_angles(a, b, d, r, NULL);
    lrmlp_subspace_singular_vectors(se, NULL, a);
    lrmlp_subspace_singular_vectors(sr, NULL, b);
    double sin_r11 = lrmlp_principal_angles(a, b, d, K, NULL);
    lrmlp_subspace_singular_values(se, sve);
    lrmlp_subspace_singular_values(sr, svr);
    double maxrel = 0;
    for (size_t i = 0; i < K; i++) {
        double e = (svr[i] - sve[i]) / sve[i];
        e = e < 0 ? -e : e;
        maxrel = e > maxrel ? e : maxrel;
    }
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("{\"bench\": \"subspace\", \"d\": %zu, \"m\": %zu, \"k\": %zu, \"n\": %zu, "
           "\"reps\": %d, \"oversample\": %zu, \"power_iters\": %zu, "
           "\"net_create_s\": %.3f, \"exact_s\": %.3f, \"randomized_s\": %.3f, "
           "\"gap_ratio\": %.3e, \"sin_sbig\": %.3e, \"sin_r11\": %.3e, "
           "\"sv_max_rel_err\": %.3e, \"build\": \"%s\"}\n",
           d, m, K, n, reps, over, power, t_create, te, tr, sve[K] / sve[K - 1], sin_big,
           sin_r11, maxrel, info);
    free(a);
    free(b);
    free(sve);
    free(svr);
    free(X);
    free(T);
    lrmlp_subspace_free(se);
    lrmlp_subspace_free(sr);
    lrmlp_net_free(net);
    return 0;
}
