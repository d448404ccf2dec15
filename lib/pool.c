/* The helper threads of one handle (internal.h, lrmlp__pool_*).
 *
 * A pool is a handful of threads that sleep on a condition variable until
 * the owning handle hands them one job: fn(ctx, part, nparts) for parts
 * 1..nparts-1 while the calling thread runs part 0 and then waits for the
 * others. The library uses it only between BLAS calls, for as many parts as
 * the application gave OpenBLAS threads, so it adds no work while
 * OpenBLAS's threads compute. A job's result must not depend on how its
 * parts are spread over threads (the callers give each part a fixed range
 * of fixed tiles), so a missing thread changes timing only: when a thread
 * cannot be started, or the process forked since the pool was made, the
 * caller runs those parts itself. */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

struct lrmlp__pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pthread_t *th;
    size_t n_threads; /* started */
    pid_t pid;        /* the process that started them */
    uint64_t gen;     /* jobs handed out */
    size_t pending;   /* threads still on the current job */
    int stop;
    lrmlp__pool_fn fn;
    void *ctx;
    size_t nparts;    /* of the current job */
    size_t helped;    /* its parts 1..helped are the threads' */
};

typedef struct {
    lrmlp__pool *p;
    size_t index; /* part index: 1..n_threads */
} worker_arg_;

static void *worker(void *argp)
{
    worker_arg_ *arg = argp;
    lrmlp__pool *p = arg->p;
    const size_t me = arg->index;
    free(arg);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->stop)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        lrmlp__pool_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t nparts = p->nparts, helped = p->helped;
        pthread_mutex_unlock(&p->mu);
        if (me <= helped)
            fn(ctx, me, nparts);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_stop(lrmlp__pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++)
        pthread_join(p->th[i], NULL);
}

void lrmlp__pool_free(lrmlp__pool *p)
{
    if (!p)
        return;
    /* in a forked child the threads do not exist: nothing to join, and the
     * mutex may have been copied locked, so leave it alone */
    if (p->pid == getpid()) {
        pool_stop(p);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
        pthread_mutex_destroy(&p->mu);
    }
    free(p->th);
    free(p);
}

/* A pool with up to want threads (fewer when starting one fails), or NULL
 * when not even the bookkeeping could be allocated. */
static lrmlp__pool *pool_new(size_t want)
{
    lrmlp__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->th = malloc(want * sizeof *p->th);
    if (!p->th || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->th);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p->th);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        free(p->th);
        free(p);
        return NULL;
    }
    p->pid = getpid();
    /* The threads take no signals: the application's handlers keep running
     * on the threads it knows. The mask is the caller's again at once. */
    sigset_t all, old;
    sigfillset(&all);
    int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
    for (size_t i = 0; i < want; i++) {
        worker_arg_ *arg = malloc(sizeof *arg);
        if (!arg)
            break;
        *arg = (worker_arg_){p, i + 1};
        if (pthread_create(&p->th[i], NULL, worker, arg) != 0) {
            free(arg);
            break;
        }
        p->n_threads++;
    }
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

void lrmlp__pool_run(lrmlp__pool **pp, size_t nparts, lrmlp__pool_fn fn, void *ctx)
{
    lrmlp__pool *p = *pp;
    if (nparts > 1 && p && (p->pid != getpid() || p->n_threads + 1 < nparts)) {
        lrmlp__pool_free(p); /* forked, or made for fewer parts */
        p = *pp = NULL;
    }
    if (nparts > 1 && !p)
        p = *pp = pool_new(nparts - 1);
    size_t helped = 0; /* parts 1..helped run on the pool */
    if (nparts > 1 && p && p->n_threads > 0) {
        helped = p->n_threads < nparts - 1 ? p->n_threads : nparts - 1;
        pthread_mutex_lock(&p->mu);
        p->fn = fn;
        p->ctx = ctx;
        p->nparts = nparts;
        p->helped = helped;
        p->pending = p->n_threads;
        p->gen++;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, nparts);
    for (size_t k = helped + 1; k < nparts; k++) /* parts no thread took */
        fn(ctx, k, nparts);
    if (helped) {
        pthread_mutex_lock(&p->mu);
        while (p->pending)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
