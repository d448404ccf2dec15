/* Synthetic data generators and helpers for the dyn_* experiments (synth.h). */
#include "synth.h"

#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The generator is examples/common.c's ex_rng (SplitMix64, Box-Muller). */
static size_t rng_below(ex_rng *r, size_t n)
{
    return (size_t)(ex_rng_uniform(r) * (double)n) % n;
}

int synth_kind_from_name(const char *name, synth_kind *out)
{
    if (!strcmp(name, "clusters"))
        *out = SYNTH_CLUSTERS;
    else if (!strcmp(name, "teacher"))
        *out = SYNTH_TEACHER;
    else
        return -1;
    return 0;
}

const char *synth_kind_name(synth_kind kind)
{
    return kind == SYNTH_CLUSTERS ? "clusters" : "teacher";
}

void synth_generate(synth_kind kind, size_t n, size_t d, size_t k, double sep, uint64_t seed,
                    double *X, int32_t *labels)
{
    ex_rng r = {seed * 0x2545F4914F6CDD1Dull + 12345u, 0, 0.0};
    size_t nc = kind == SYNTH_CLUSTERS ? k * SYNTH_BLOBS : k;
    double *C = malloc(nc * d * sizeof *C); /* blob centres or teacher rows */
    if (!C) {
        fprintf(stderr, "synth: out of memory\n");
        exit(1);
    }
    double cs = kind == SYNTH_CLUSTERS ? sep / sqrt((double)d) : 1.0;
    for (size_t i = 0; i < nc * d; i++)
        C[i] = cs * ex_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        double *x = X + i * d;
        if (kind == SYNTH_CLUSTERS) {
            size_t y = rng_below(&r, k), j = rng_below(&r, SYNTH_BLOBS);
            const double *c = C + (y * SYNTH_BLOBS + j) * d;
            for (size_t f = 0; f < d; f++)
                x[f] = c[f] + ex_rng_normal(&r);
            labels[i] = (int32_t)y;
        } else {
            for (size_t f = 0; f < d; f++)
                x[f] = ex_rng_normal(&r);
            size_t best = 0;
            double bv = -INFINITY;
            for (size_t c = 0; c < k; c++) {
                double v = 0;
                for (size_t f = 0; f < d; f++)
                    v += C[c * d + f] * x[f];
                if (v > bv) {
                    bv = v;
                    best = c;
                }
            }
            labels[i] = (int32_t)best;
        }
    }
    free(C);
}

int synth_dataset(synth_kind kind, size_t n, size_t d, size_t k, double sep, uint64_t seed,
                  int whiten, lrmlp_dataset **out)
{
    *out = NULL;
    double *X = malloc(n * d * sizeof *X);
    int32_t *lab = malloc(n * sizeof *lab);
    if (!X || !lab) {
        free(X);
        free(lab);
        fprintf(stderr, "synth: out of memory\n");
        return LRMLP_ERR_NOMEM;
    }
    synth_generate(kind, n, d, k, sep, seed, X, lab);
    int rc = lrmlp_dataset_from_labels_f64(out, X, n, d, lab, k);
    free(X);
    free(lab);
    if (rc) {
        fprintf(stderr, "synth: dataset: %s\n", lrmlp_last_errmsg());
        return rc;
    }
    if (whiten) {
        lrmlp_whiten_options wo = LRMLP_WHITEN_OPTIONS_INIT;
        wo.mode = LRMLP_WHITEN_ZCA;
        wo.unit_sum = 1;
        wo.center = whiten == SYNTH_WHITEN_CENTERED;
        rc = lrmlp_dataset_whiten(*out, &wo, NULL);
        if (rc) {
            fprintf(stderr, "synth: whiten: %s\n", lrmlp_last_errmsg());
            lrmlp_dataset_free(*out);
            *out = NULL;
            return rc;
        }
    }
    return 0;
}

int synth_full_batch(const lrmlp_dataset *ds, double **X, double **T)
{
    size_t n = lrmlp_dataset_size(ds), d = lrmlp_dataset_dim(ds),
           k = lrmlp_dataset_target_dim(ds);
    *X = malloc(n * d * sizeof **X);
    *T = malloc(n * k * sizeof **T);
    if (!*X || !*T) {
        free(*X);
        free(*T);
        *X = *T = NULL;
        fprintf(stderr, "synth: out of memory\n");
        return LRMLP_ERR_NOMEM;
    }
    int rc = lrmlp_dataset_batch_f64(ds, NULL, 0, n, *X, *T);
    if (rc) {
        fprintf(stderr, "synth: batch: %s\n", lrmlp_last_errmsg());
        free(*X);
        free(*T);
        *X = *T = NULL;
    }
    return rc;
}

int synth_linear_teacher(lrmlp_dataset **ds, size_t k, uint64_t seed)
{
    double *X = NULL, *T = NULL, *A = malloc(k * lrmlp_dataset_dim(*ds) * sizeof *A);
    size_t n = lrmlp_dataset_size(*ds), d = lrmlp_dataset_dim(*ds);
    int rc = A ? synth_full_batch(*ds, &X, &T) : LRMLP_ERR_NOMEM;
    free(T);
    T = rc ? NULL : malloc(n * k * sizeof *T);
    if (!rc && !T)
        rc = LRMLP_ERR_NOMEM;
    if (rc) {
        if (rc == LRMLP_ERR_NOMEM)
            fprintf(stderr, "synth: out of memory\n");
        free(A);
        free(X);
        free(T);
        return rc;
    }
    ex_rng r = {seed * 0x9E3779B97F4A7C15ull + 0x5851F42D4C957F2Dull, 0, 0.0};
    for (size_t i = 0; i < k * d; i++)
        A[i] = ex_rng_normal(&r);
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < k; c++) {
            double v = 0;
            for (size_t f = 0; f < d; f++)
                v += A[c * d + f] * X[i * d + f];
            T[i * k + c] = v;
            ss += v * v;
        }
    double scale = sqrt((double)k / ss);
    for (size_t i = 0; i < n * k; i++)
        T[i] *= scale;
    lrmlp_dataset *out = NULL;
    rc = lrmlp_dataset_from_targets_f64(&out, X, n, d, T, k);
    if (rc) {
        fprintf(stderr, "synth: dataset: %s\n", lrmlp_last_errmsg());
    } else {
        lrmlp_dataset_free(*ds);
        *ds = out;
    }
    free(A);
    free(X);
    free(T);
    return rc;
}

int dyn_mkdir_p(const char *dir)
{
    char buf[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof buf) {
        fprintf(stderr, "mkdir: bad directory name\n");
        return -1;
    }
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST) {
                fprintf(stderr, "mkdir %s: %s\n", buf, strerror(errno));
                return -1;
            }
            buf[i] = c;
        }
    }
    return 0;
}

int dyn_make_net(lrmlp_net **out, lrmlp_dtype dtype, size_t n_layers, const size_t *widths,
                 lrmlp_activation act, double eps, lrmlp_init last_init, double last_scale,
                 uint64_t seed)
{
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = dtype;
    no.n_layers = n_layers;
    no.widths = widths;
    no.hidden_activation = act;
    no.output_activation = LRMLP_ACT_IDENTITY;
    no.bias = 0;
    no.seed = seed;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = eps;
    int rc = lrmlp_net_create(out, &no);
    if (rc) {
        fprintf(stderr, "net: %s\n", lrmlp_last_errmsg());
        return rc;
    }
    rc = lrmlp_net_init_layer(*out, n_layers - 1, last_init, last_scale);
    if (rc) {
        fprintf(stderr, "net: init last layer: %s\n", lrmlp_last_errmsg());
        lrmlp_net_free(*out);
        *out = NULL;
    }
    return rc;
}

int dyn_split_list(const char *s, char *buf, size_t buflen, const char **items, int max)
{
    size_t len = strlen(s);
    if (len + 1 > buflen)
        return -1;
    memcpy(buf, s, len + 1);
    int n = 0;
    char *p = buf;
    while (*p) {
        if (n == max)
            return -1;
        items[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}
