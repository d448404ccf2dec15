/* Elementwise kernel timings behind docs/benchmarks.md: the float
 * activation loops with their derivative (internal, through the static
 * lrmlp_internal library) and copying every Fashion-MNIST training row out
 * in shuffled, standardized batches of 128 (lrmlp_dataset_batch_f32).
 *
 *   bench_kernels [--data DIR]
 *
 * Prints ns per element (best of 25 passes over 784 x 512 values) and the
 * seconds per epoch of batch copies (best of 7). */
#include "internal.h"

#include "common.h"

#include <lrmlp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void usage(FILE *f)
{
    fputs("usage: bench_kernels [options]\n"
          "  --data DIR  Fashion-MNIST IDX directory (default "
          "/usr/share/datasets/fashion-mnist)\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    const ex_opt opts[] = {EX_OPT_STR("--data", &dir), EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, "bench_kernels", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    const size_t n = 784 * 512;
    float *src = malloc(n * sizeof *src), *z = malloc(n * sizeof *z), *d = malloc(n * sizeof *d);
    if (!src || !z || !d)
        return 1;
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        src[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 8.0 - 4.0); /* [-4, 4) */
        d[i] = 0;
    }
    const lrmlp_activation acts[] = {LRMLP_ACT_TANH, LRMLP_ACT_GELU, LRMLP_ACT_SILU,
                                     LRMLP_ACT_RELU};
    printf("# blas core %s\n", lrmlp_blas_core());
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        double best = 1e300, copy = 1e300;
        for (int r = 0; r < 25; r++) {
            double t = now();
            memcpy(z, src, n * sizeof *z);
            double t1 = now();
            lrmlp__act_forward_f32(acts[a], z, d, n, 1, NULL);
            double t2 = now();
            copy = t1 - t < copy ? t1 - t : copy;
            best = t2 - t1 < best ? t2 - t1 : best;
        }
        printf("%-5s with derivative: %.3f ns/element (copy-in %.3f)\n",
               lrmlp_activation_name(acts[a]), best / (double)n * 1e9, copy / (double)n * 1e9);
    }
    lrmlp_dataset *ds = NULL;
    if (ex_load_idx(dir, "train", &ds) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL)) {
        fprintf(stderr, "bench_kernels: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    size_t rows = lrmlp_dataset_size(ds), dim = lrmlp_dataset_dim(ds), b = 128;
    size_t *idx = malloc(rows * sizeof *idx);
    float *X = malloc(b * dim * sizeof *X), *T = malloc(b * 10 * sizeof *T);
    if (!idx || !X || !T)
        return 1;
    for (size_t i = 0; i < rows; i++)
        idx[i] = (i * 7919) % rows; /* a fixed permutation (7919 is prime) */
    double best = 1e300;
    for (int r = 0; r < 7; r++) {
        double t = now();
        for (size_t k = 0; k + b <= rows; k += b)
            if (lrmlp_dataset_batch_f32(ds, idx + k, 0, b, X, T))
                return 1;
        t = now() - t;
        best = t < best ? t : best;
    }
    printf("batch copy, %zu rows in shuffled batches of %zu: %.4f s per epoch\n", rows, b, best);
    lrmlp_dataset_free(ds);
    free(idx);
    free(X);
    free(T);
    free(src);
    free(z);
    free(d);
    return 0;
}
