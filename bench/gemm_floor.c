/* GEMM floor probe: see gemm_floor.h. */
#define _GNU_SOURCE
#include "gemm_floor.h"
#include "numerics.h" /* lrmlp__big_alloc */

#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
                         const enum CBLAS_TRANSPOSE, const blasint, const blasint, const blasint,
                         const float, const float *, const blasint, const float *, const blasint,
                         const float, float *, const blasint);
typedef void (*dgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
                         const enum CBLAS_TRANSPOSE, const blasint, const blasint, const blasint,
                         const double, const double *, const blasint, const double *,
                         const blasint, const double, double *, const blasint);

typedef struct {
    int f64;
    enum CBLAS_ORDER order;
    enum CBLAS_TRANSPOSE ta, tb;
    blasint m, n, k, lda, ldb, ldc;
    double alpha, beta;
    size_t a, b, c; /* indices into the operand table */
} call_;

typedef struct {
    const void *ptr; /* as recorded */
    size_t bytes;    /* largest extent any call used from ptr */
    void *replay;
} operand_;

static sgemm_fn real_sgemm;
static dgemm_fn real_dgemm;
static int recording;
static double in_job_seconds; /* wall time inside the recorded calls */
static double now(void);
static call_ *calls;
static size_t n_calls, cap_calls;
static operand_ *ops;
static size_t n_ops, cap_ops;

static void resolve(void)
{
    /* POSIX's way to turn dlsym's object pointer into a function pointer */
    if (!real_sgemm)
        *(void **)&real_sgemm = dlsym(RTLD_NEXT, "cblas_sgemm");
    if (!real_dgemm)
        *(void **)&real_dgemm = dlsym(RTLD_NEXT, "cblas_dgemm");
}

/* Elements an operand of `rows` x `cols` (before transposition, in the
 * given order) with leading dimension ld spans. */
static size_t extent(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE t, blasint r, blasint c,
                     blasint ld)
{
    size_t rows = (size_t)(t == CblasNoTrans ? r : c), cols = (size_t)(t == CblasNoTrans ? c : r);
    if (order == CblasColMajor) {
        size_t tmp = rows;
        rows = cols;
        cols = tmp;
    }
    return rows == 0 ? 0 : (rows - 1) * (size_t)ld + cols;
}

static size_t operand(const void *p, size_t bytes)
{
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].ptr == p) {
            if (bytes > ops[i].bytes)
                ops[i].bytes = bytes;
            return i;
        }
    }
    if (n_ops == cap_ops) {
        size_t nc = cap_ops ? 2 * cap_ops : 64;
        operand_ *t = realloc(ops, nc * sizeof *t);
        if (!t)
            abort(); /* a benchmark, not the library */
        ops = t;
        cap_ops = nc;
    }
    ops[n_ops] = (operand_){p, bytes, NULL};
    return n_ops++;
}

static void record(int f64, enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
                   blasint m, blasint n, blasint k, double alpha, const void *A, blasint lda,
                   const void *B, blasint ldb, double beta, const void *C, blasint ldc)
{
    if (n_calls == cap_calls) {
        size_t nc = cap_calls ? 2 * cap_calls : 4096;
        call_ *t = realloc(calls, nc * sizeof *t);
        if (!t)
            abort();
        calls = t;
        cap_calls = nc;
    }
    size_t es = f64 ? sizeof(double) : sizeof(float);
    call_ *c = &calls[n_calls++];
    *c = (call_){f64, o, ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, 0, 0, 0};
    c->a = operand(A, es * extent(o, ta, m, k, lda));
    c->b = operand(B, es * extent(o, tb, k, n, ldb));
    c->c = operand(C, es * extent(o, CblasNoTrans, m, n, ldc));
}

/* cblas_sgemm and cblas_dgemm: record the call while recording (and time
 * it inside the job), then forward it to the BLAS library's function. */
#define DEFINE_GEMM(NAME, REAL, REAL_FN, F64)                                                  \
    void NAME(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA,                 \
              const enum CBLAS_TRANSPOSE TransB, const blasint M, const blasint N,             \
              const blasint K, const REAL alpha, const REAL *A, const blasint lda,             \
              const REAL *B, const blasint ldb, const REAL beta, REAL *C, const blasint ldc)   \
    {                                                                                          \
        resolve();                                                                             \
        if (recording)                                                                         \
            record(F64, Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);  \
        double t0 = recording ? now() : 0.0;                                                   \
        REAL_FN(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);          \
        if (recording)                                                                         \
            in_job_seconds += now() - t0;                                                      \
    }
DEFINE_GEMM(cblas_sgemm, float, real_sgemm, 0)
DEFINE_GEMM(cblas_dgemm, double, real_dgemm, 1)
#undef DEFINE_GEMM

void gemm_floor_record_start(void) { recording = 1; }
void gemm_floor_record_stop(void) { recording = 0; }

size_t gemm_floor_calls(double *flops)
{
    double f = 0;
    for (size_t i = 0; i < n_calls; i++)
        f += 2.0 * (double)calls[i].m * (double)calls[i].n * (double)calls[i].k;
    if (flops)
        *flops = f;
    return n_calls;
}

double gemm_floor_in_job_seconds(void) { return in_job_seconds; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double gemm_floor_replay(int reps)
{
    resolve();
    for (size_t i = 0; i < n_ops; i++) {
        if (!ops[i].replay) {
            /* the library's allocator, so that the floor is not slowed by page
             * walks the job does not pay (lib/bigalloc.c) */
            void *p = ops[i].replay = lrmlp__big_alloc(ops[i].bytes, 1);
            if (!p)
                return -1;
            /* small values: the replay must not overflow into Inf/NaN, whose
             * arithmetic can be slower */
            int f64 = 0;
            for (size_t c = 0; c < n_calls; c++)
                if (calls[c].a == i || calls[c].b == i || calls[c].c == i) {
                    f64 = calls[c].f64;
                    break;
                }
            if (f64)
                for (size_t j = 0; j < ops[i].bytes / sizeof(double); j++)
                    ((double *)p)[j] = 1e-3 * (double)(j % 97);
            else
                for (size_t j = 0; j < ops[i].bytes / sizeof(float); j++)
                    ((float *)p)[j] = 1e-3f * (float)(j % 97);
        }
    }
    double best = -1;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (size_t i = 0; i < n_calls; i++) {
            const call_ *c = &calls[i];
            if (c->f64)
                real_dgemm(c->order, c->ta, c->tb, c->m, c->n, c->k, c->alpha,
                           ops[c->a].replay, c->lda, ops[c->b].replay, c->ldb, c->beta,
                           ops[c->c].replay, c->ldc);
            else
                real_sgemm(c->order, c->ta, c->tb, c->m, c->n, c->k, (float)c->alpha,
                           ops[c->a].replay, c->lda, ops[c->b].replay, c->ldb, (float)c->beta,
                           ops[c->c].replay, c->ldc);
        }
        double t = now() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

void gemm_floor_reset(void)
{
    for (size_t i = 0; i < n_ops; i++)
        free(ops[i].replay);
    free(ops);
    free(calls);
    ops = NULL;
    calls = NULL;
    n_ops = cap_ops = n_calls = cap_calls = 0;
    in_job_seconds = 0.0;
}
