/* The helper threads of one handle (internal.h, lrmlp__pool_*).
 *
 * A job is n tiles, fn(ctx, t) for t in 0..n-1, whose results must not
 * depend on which thread runs which tile (the callers store a result per
 * tile and combine them in tile order on the calling thread). The calling
 * thread and the helpers claim tiles one at a time from a shared ticket;
 * the caller returns once every tile is done. It never waits for a helper
 * to wake up (on the development VM the call that wakes a sleeping thread
 * took 170-210 us, as long as a whole optimizer pass): a helper that is
 * still asleep simply finds fewer tiles, or none, left when it gets there.
 * Between jobs a helper polls for the next one for LRMLP__POOL_POLL_NS
 * with sched_yield, as OpenBLAS's own idle threads do (the dry run and the
 * update of one step are two jobs a few microseconds apart, and a pause
 * loop let the VM's hypervisor deschedule the polling vCPU), then sleeps on
 * a condition variable until the caller's next job.
 *
 * The ticket is one 64-bit atomic: the job's generation in the high half,
 * the next unclaimed tile in the low half. A helper claims a tile only with
 * a compare-and-swap that also checks the generation, so it never runs a
 * tile of a job that has finished; the job's description lives in one of
 * two slots picked by the generation's parity, which the caller rewrites
 * only two jobs later, after the generation moved on. */
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* After a job a helper polls for the next one this long, yielding its core
 * to any other runnable thread between polls, before it sleeps. */
#define LRMLP__POOL_POLL_NS 300000L
#define TILE_MASK ((uint64_t)0xffffffffu)

/* Atomic (relaxed) because a helper that fell two jobs behind may read a
 * slot while the caller rewrites it; it then fails its claim and uses
 * nothing it read. */
typedef struct {
    _Atomic(lrmlp__pool_fn) fn;
    _Atomic(void *) ctx;
    _Atomic(size_t) n;
} job_slot_;

struct lrmlp__pool {
    pthread_mutex_t mu;
    pthread_cond_t go;
    pthread_t *th;
    size_t n_threads; /* started */
    size_t want;      /* asked for: threads - 1 of the caller */
    pid_t pid;        /* the process that started them */
    job_slot_ slot[2];
    _Atomic uint64_t ticket; /* generation << 32 | next tile */
    _Atomic size_t done;     /* tiles of the current job finished */
    _Atomic int sleepers;    /* helpers waiting on go */
    _Atomic int stop;
};

typedef struct {
    lrmlp__pool *p;
} worker_arg_;

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}


/* Claims and runs tiles of generation gen until none is left; returns how
 * many this thread ran. */
static size_t run_tiles(lrmlp__pool *p, uint64_t gen)
{
    job_slot_ *s = &p->slot[gen & 1];
    const lrmlp__pool_fn fn = atomic_load_explicit(&s->fn, memory_order_relaxed);
    void *const ctx = atomic_load_explicit(&s->ctx, memory_order_relaxed);
    const size_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
    size_t ran = 0;
    uint64_t tk = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if (tk >> 32 != gen || (tk & TILE_MASK) >= n)
            return ran;
        if (atomic_compare_exchange_weak_explicit(&p->ticket, &tk, tk + 1,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire)) {
            fn(ctx, (size_t)(tk & TILE_MASK));
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
            ran++;
            tk = atomic_load_explicit(&p->ticket, memory_order_acquire);
        }
    }
}

static void *worker(void *argp)
{
    lrmlp__pool *p = ((worker_arg_ *)argp)->p;
    free(argp);
    uint64_t seen = 0; /* generation last joined */
    for (;;) {
        /* poll a little, then sleep until the generation changes */
        long t0 = now_ns();
        uint64_t tk;
        int polls = 0;
        while ((tk = atomic_load_explicit(&p->ticket, memory_order_acquire)) >> 32 == seen &&
               !atomic_load(&p->stop)) {
            if (++polls % 16 == 0 && now_ns() - t0 > LRMLP__POOL_POLL_NS)
                break;
            sched_yield();
        }
        if (tk >> 32 == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((tk = atomic_load(&p->ticket)) >> 32 == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->go, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = tk >> 32;
        run_tiles(p, seen);
    }
}

void lrmlp__pool_free(lrmlp__pool *p)
{
    if (!p)
        return;
    /* in a forked child the threads do not exist: nothing to join, and the
     * mutex may have been copied locked, so leave it alone */
    if (p->pid == getpid()) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->n_threads; i++)
            pthread_join(p->th[i], NULL);
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
    }
    free(p->th);
    free(p);
}

/* A pool with up to want threads (fewer when starting one fails), or NULL
 * when not even the bookkeeping could be had. */
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
    for (int i = 0; i < 2; i++) {
        atomic_init(&p->slot[i].fn, NULL);
        atomic_init(&p->slot[i].ctx, NULL);
        atomic_init(&p->slot[i].n, 0);
    }
    atomic_init(&p->ticket, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, 0);
    p->pid = getpid();
    p->want = want;
    /* The threads take no signals: the application's handlers keep running
     * on the threads it knows. The mask is the caller's again at once. */
    sigset_t all, old;
    sigfillset(&all);
    int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
    for (size_t i = 0; i < want; i++) {
        worker_arg_ *arg = malloc(sizeof *arg);
        if (!arg)
            break;
        arg->p = p;
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

void lrmlp__pool_set_generation(lrmlp__pool *p, uint32_t gen)
{
    /* every tile of the pretended job already claimed: nothing runs */
    if (p)
        atomic_store(&p->ticket, (uint64_t)gen << 32 | TILE_MASK);
}

void lrmlp__pool_run(lrmlp__pool **pp, size_t threads, size_t n, lrmlp__pool_fn fn, void *ctx)
{
    lrmlp__pool *p = *pp;
    if (p && (p->pid != getpid() || (threads > 1 && p->want + 1 != threads))) {
        lrmlp__pool_free(p); /* forked, or made for another thread count */
        p = *pp = NULL;
    }
    if (threads > 1 && !p)
        p = *pp = pool_new(threads - 1);
    if (threads <= 1 || !p || p->n_threads == 0 || n > TILE_MASK) {
        for (size_t t = 0; t < n; t++)
            fn(ctx, t);
        return;
    }
    /* generations wrap within 32 bits, the high half of the ticket */
    const uint64_t gen = ((atomic_load(&p->ticket) >> 32) + 1) & TILE_MASK;
    job_slot_ *s = &p->slot[gen & 1];
    atomic_store_explicit(&s->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&s->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&s->n, n, memory_order_relaxed);
    atomic_store(&p->done, 0);
    atomic_store(&p->ticket, gen << 32); /* publishes the slot */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    run_tiles(p, gen);
    /* only tiles a helper claimed and is still running are left */
    while (atomic_load_explicit(&p->done, memory_order_acquire) < n)
        sched_yield();
}
