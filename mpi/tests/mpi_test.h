/* Shared helpers of the MPI tests: checks counted on every rank, a summary
 * line "N passed, M failed" printed by rank 0 with the global counts, and
 * small synthetic datasets and networks. Header-only (static functions). */
#ifndef LRMLP_MPI_TEST_H
#define LRMLP_MPI_TEST_H

#include "lrmlp_mpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_rank;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            t_passed++;                                                         \
        } else {                                                                \
            t_failed++;                                                         \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", t_rank,       \
                    __FILE__, __LINE__, #cond);                                 \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

static inline void t_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &t_rank);
}

/* Prints the summary on rank 0 and finalizes MPI; returns the exit status. */
static inline int t_finish(void)
{
    int c[2] = {t_passed, t_failed};
    MPI_Allreduce(MPI_IN_PLACE, c, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (t_rank == 0)
        printf("%d passed, %d failed\n", c[0], c[1]);
    MPI_Finalize();
    return c[1] ? 1 : 0;
}

/* n samples of d features in 3 classes, features ~ class-dependent means. */
static inline lrmlp_dataset *t_dataset(size_t n, size_t d, lrmlp_dtype dt, uint64_t seed)
{
    double *X = malloc(n * d * sizeof *X);
    int32_t *lab = malloc(n * sizeof *lab);
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % 3);
        for (size_t j = 0; j < d; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            X[i * d + j] = u + (j % 3 == (size_t)lab[i] ? 0.7 : 0.0);
        }
    }
    lrmlp_dataset *ds = NULL;
    if (dt == LRMLP_F64) {
        lrmlp_dataset_from_labels_f64(&ds, X, n, d, lab, 3);
    } else {
        float *Xf = malloc(n * d * sizeof *Xf);
        for (size_t i = 0; i < n * d; i++)
            Xf[i] = (float)X[i];
        lrmlp_dataset_from_labels_f32(&ds, Xf, n, d, lab, 3);
        free(Xf);
    }
    free(X);
    free(lab);
    return ds;
}

/* Dense d-16-16-3 tanh net with biases, or a low-rank one (L = 3, m = 16, r = 4). */
static inline lrmlp_net *t_net(int lowrank, size_t d, lrmlp_dtype dt, uint64_t seed)
{
    lrmlp_net *net = NULL;
    if (lowrank) {
        lrmlp_lowrank_options o = LRMLP_LOWRANK_OPTIONS_INIT;
        o.dtype = dt;
        o.n_layers = 3;
        o.input_dim = d;
        o.width = 16;
        o.output_dim = 3;
        o.rank = 4;
        o.seed = seed;
        o.eps = 0.5;
        if (lrmlp_lowrank_create(&net, &o))
            fprintf(stderr, "lowrank_create: %s\n", lrmlp_last_errmsg());
    } else {
        size_t w[4] = {d, 16, 16, 3};
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.dtype = dt;
        o.n_layers = 3;
        o.widths = w;
        o.bias = 1;
        o.seed = seed;
        if (lrmlp_net_create(&net, &o))
            fprintf(stderr, "net_create: %s\n", lrmlp_last_errmsg());
    }
    return net;
}

static inline lrmlp_optim *t_optim_lr(const lrmlp_net *net, lrmlp_optim_kind kind, double lr)
{
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = kind;
    o.lr = lr;
    o.momentum = kind == LRMLP_OPTIM_SGD ? 0.9 : 0.0;
    lrmlp_optim *opt = NULL;
    if (lrmlp_optim_create(&opt, net, &o))
        fprintf(stderr, "optim_create: %s\n", lrmlp_last_errmsg());
    return opt;
}

static inline lrmlp_optim *t_optim(const lrmlp_net *net, lrmlp_optim_kind kind)
{
    return t_optim_lr(net, kind, kind == LRMLP_OPTIM_ADAM ? 1e-2 : 0.05);
}

/* Largest |a - b| over the parameters, divided by max(1, largest |a|). */
static inline double t_param_diff(lrmlp_net *a, lrmlp_net *b)
{
    size_t n = lrmlp_net_param_count(a);
    if (n != lrmlp_net_param_count(b) || lrmlp_net_dtype(a) != lrmlp_net_dtype(b))
        return INFINITY;
    double md = 0, ma = 1;
    for (size_t i = 0; i < n; i++) {
        double x, y;
        if (lrmlp_net_dtype(a) == LRMLP_F32) {
            x = ((const float *)lrmlp_net_params(a))[i];
            y = ((const float *)lrmlp_net_params(b))[i];
        } else {
            x = ((const double *)lrmlp_net_params(a))[i];
            y = ((const double *)lrmlp_net_params(b))[i];
        }
        md = fabs(x - y) > md ? fabs(x - y) : md;
        ma = fabs(x) > ma ? fabs(x) : ma;
    }
    return md / ma;
}

static inline uint64_t t_fnv(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Hash of the whole serialized model (weights, generator, optimizer state). */
static inline uint64_t t_model_hash(lrmlp_net *net, const lrmlp_optim *opt)
{
    void *buf = NULL;
    size_t len = 0;
    if (lrmlp_model_save_mem(net, opt, &buf, &len))
        return 0;
    uint64_t h = t_fnv(buf, len);
    lrmlp_free(buf);
    return h;
}

/* 1 when every rank of comm passed the same value. */
static inline int t_all_same(uint64_t v, MPI_Comm comm)
{
    uint64_t mn = v, mx = v;
    MPI_Allreduce(MPI_IN_PLACE, &mn, 1, MPI_UINT64_T, MPI_MIN, comm);
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_UINT64_T, MPI_MAX, comm);
    return mn == mx;
}

#endif
