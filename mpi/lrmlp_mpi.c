/* liblrmlp_mpi: data-parallel training over MPI (see lrmlp_mpi.h). */
#include "lrmlp_mpi.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lrmlp_mpi {
    MPI_Comm comm;
    int rank, size;
    int average, profile;
    uint64_t calls, bytes;
    size_t last_bytes;
    double seconds, wait_seconds, post_seconds;
    /* The current batch's layer slices (lrmlp_mpi_grad_ready): in overlap
     * mode their MPI_Iallreduce requests, otherwise the slices themselves,
     * posted by the hook after the backward pass. */
    int overlap;
    MPI_Request *req;
    size_t nreq, req_cap;
    struct slice_ { void *buf; size_t count; lrmlp_dtype dt; } *slices;
    size_t nslices, slices_cap;
    size_t covered; /* elements announced this batch */
    int slice_rc;   /* first failure while announcing */
};

#define CHUNK ((size_t)1 << 30) /* elements (or bytes) per MPI call: below INT_MAX */

LRMLP_MPI_API int lrmlp_mpi_version_number(void) { return LRMLP_MPI_VERSION_NUMBER; }

/* Reports through the core library's thread-local error (lrmlp_error_set). */
static int fail(int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lrmlp_error_set(rc, msg);
}

/* Maps an MPI error to LRMLP_ERR_IO with MPI's message. */
static int mpi_fail(int mrc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mrc, s, &len) != MPI_SUCCESS)
        snprintf(s, sizeof s, "MPI error %d", mrc);
    return fail(LRMLP_ERR_IO, "%s failed: %s", what, s);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- handle ---- */

LRMLP_MPI_API int lrmlp_mpi_create(lrmlp_mpi **out, MPI_Comm comm)
{
    if (!out) {
        return lrmlp_error_set(LRMLP_ERR_INVALID, "out pointer is NULL");
    }
    *out = NULL;
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (!inited || finalized) {
        return lrmlp_error_set(LRMLP_ERR_STATE,
                               "MPI is not initialized (or already finalized); call MPI_Init first");
    }
    if (comm == MPI_COMM_NULL) {
        return lrmlp_error_set(LRMLP_ERR_INVALID, "communicator is MPI_COMM_NULL");
    }
    lrmlp_mpi *h = calloc(1, sizeof *h);
    if (!h) {
        return lrmlp_error_set(LRMLP_ERR_NOMEM, "out of memory");
    }
    int mrc = MPI_Comm_dup(comm, &h->comm);
    if (mrc != MPI_SUCCESS) {
        mpi_fail(mrc, "MPI_Comm_dup");
        free(h);
        return LRMLP_ERR_IO;
    }
    MPI_Comm_set_errhandler(h->comm, MPI_ERRORS_RETURN);
    h->overlap = 1;
    MPI_Comm_rank(h->comm, &h->rank);
    MPI_Comm_size(h->comm, &h->size);
    *out = h;
    return LRMLP_OK;
}

LRMLP_MPI_API void lrmlp_mpi_free(lrmlp_mpi *h)
{
    if (!h)
        return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        if (h->nreq) /* a batch abandoned between its slices and the hook */
            MPI_Waitall((int)h->nreq, h->req, MPI_STATUSES_IGNORE);
        MPI_Comm_free(&h->comm);
    }
    free(h->req);
    free(h->slices);
    free(h);
}

LRMLP_MPI_API int lrmlp_mpi_rank(const lrmlp_mpi *h) { return h ? h->rank : -1; }
LRMLP_MPI_API int lrmlp_mpi_size(const lrmlp_mpi *h) { return h ? h->size : 0; }
LRMLP_MPI_API MPI_Comm lrmlp_mpi_comm(const lrmlp_mpi *h) { return h ? h->comm : MPI_COMM_NULL; }

LRMLP_MPI_API int lrmlp_mpi_set_average(lrmlp_mpi *h, int average)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    h->average = average != 0;
    return LRMLP_OK;
}
LRMLP_MPI_API int lrmlp_mpi_get_average(const lrmlp_mpi *h) { return h ? h->average : 0; }

LRMLP_MPI_API uint64_t lrmlp_mpi_allreduce_calls(const lrmlp_mpi *h) { return h ? h->calls : 0; }
LRMLP_MPI_API uint64_t lrmlp_mpi_allreduce_bytes(const lrmlp_mpi *h) { return h ? h->bytes : 0; }
LRMLP_MPI_API size_t lrmlp_mpi_last_step_bytes(const lrmlp_mpi *h) { return h ? h->last_bytes : 0; }
LRMLP_MPI_API double lrmlp_mpi_allreduce_seconds(const lrmlp_mpi *h) { return h ? h->seconds : 0; }
LRMLP_MPI_API double lrmlp_mpi_wait_seconds(const lrmlp_mpi *h) { return h ? h->wait_seconds : 0; }
LRMLP_MPI_API double lrmlp_mpi_post_seconds(const lrmlp_mpi *h) { return h ? h->post_seconds : 0; }

LRMLP_MPI_API int lrmlp_mpi_set_overlap(lrmlp_mpi *h, int overlap)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    h->overlap = overlap != 0;
    return LRMLP_OK;
}
LRMLP_MPI_API int lrmlp_mpi_get_overlap(const lrmlp_mpi *h) { return h ? h->overlap : 0; }
LRMLP_MPI_API void lrmlp_mpi_reset_counters(lrmlp_mpi *h)
{
    if (!h)
        return;
    h->calls = h->bytes = 0;
    h->last_bytes = 0;
    h->seconds = h->wait_seconds = h->post_seconds = 0;
}

LRMLP_MPI_API int lrmlp_mpi_set_profile(lrmlp_mpi *h, int profile)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    h->profile = profile != 0;
    return LRMLP_OK;
}

/* ---- hashing and agreement ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t hadd(uint64_t h, uint64_t v) { return mix64(h ^ mix64(v + 0x9e3779b97f4a7c15ULL)); }

/* Keeps hashes away from the neutral values of the agreement (0, UINT64_MAX). */
static uint64_t hfinal(uint64_t h) { return h == 0 || h == UINT64_MAX ? 1 : h; }

LRMLP_MPI_API uint64_t lrmlp_mpi_shape_hash(const lrmlp_net *net)
{
    if (!net)
        return 0;
    size_t L = lrmlp_net_n_layers(net);
    uint64_t h = hadd(0x6c726d6c70ULL, (uint64_t)lrmlp_net_dtype(net));
    h = hadd(h, L);
    for (size_t i = 0; i <= L; i++)
        h = hadd(h, lrmlp_net_width(net, i));
    for (size_t l = 0; l < L; l++)
        h = hadd(h, (uint64_t)lrmlp_net_activation(net, l));
    h = hadd(h, (uint64_t)(lrmlp_net_has_bias(net) != 0));
    h = hadd(h, lrmlp_lowrank_rank(net));
    h = hadd(h, lrmlp_net_param_count(net));
    return hfinal(h);
}

/* Optimizer fingerprint: kind, options and step count, which must agree for
 * replicas to take identical steps. */
static uint64_t optim_hash(const lrmlp_optim *opt)
{
    lrmlp_optim_options o;
    if (!opt || lrmlp_optim_get_options(opt, &o))
        return 1;
    uint64_t h = hadd(0x6f7074ULL, (uint64_t)o.kind);
    double d[] = {o.lr, o.momentum, o.beta1, o.beta2, o.eps, o.weight_decay, o.clip_norm,
                  o.min_lr, o.gamma};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        uint64_t b;
        memcpy(&b, &d[i], sizeof b);
        h = hadd(h, b);
    }
    h = hadd(h, (uint64_t)o.nesterov);
    h = hadd(h, (uint64_t)o.ns_steps);
    h = hadd(h, (uint64_t)o.schedule);
    h = hadd(h, o.total_steps);
    h = hadd(h, o.step_size);
    h = hadd(h, o.warmup_steps);
    h = hadd(h, lrmlp_optim_steps(opt));
    return hfinal(h);
}

/* Agreement: one MPI_Allreduce(MIN) over every rank's status and keys.
 * Statuses: the most negative wins. Key i matches when every rank that
 * takes part (keys[i] != 0) passed the same value; a rank passing 0 is
 * neutral. On return *rc_all is the agreed status and mismatch[i] says
 * whether key i differed. Returns LRMLP_OK or LRMLP_ERR_IO (MPI failed). */
#define MAX_KEYS 3
static int agree(lrmlp_mpi *h, int rc, const uint64_t *keys, size_t nkeys, int *rc_all,
                 int *mismatch)
{
    uint64_t v[1 + 2 * MAX_KEYS];
    v[0] = (uint64_t)(1000 + (rc < -999 ? -999 : rc > 0 ? 0 : rc));
    for (size_t i = 0; i < nkeys; i++) {
        v[1 + 2 * i] = keys[i] ? keys[i] : UINT64_MAX;
        v[2 + 2 * i] = keys[i] ? ~keys[i] : UINT64_MAX;
    }
    int mrc = MPI_Allreduce(MPI_IN_PLACE, v, (int)(1 + 2 * nkeys), MPI_UINT64_T, MPI_MIN,
                            h->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(mrc, "MPI_Allreduce (agreement)");
    *rc_all = (int)v[0] - 1000;
    for (size_t i = 0; i < nkeys; i++)
        mismatch[i] = v[1 + 2 * i] != UINT64_MAX && v[1 + 2 * i] != ~v[2 + 2 * i];
    return LRMLP_OK;
}

/* ---- the gradient all-reduce ---- */

static MPI_Datatype mpi_type(lrmlp_dtype dt) { return dt == LRMLP_F32 ? MPI_FLOAT : MPI_DOUBLE; }
static size_t elem_size(lrmlp_dtype dt) { return dt == LRMLP_F32 ? sizeof(float) : sizeof(double); }

/* Profile mode: the barrier that separates waiting for the slowest rank
 * from the transfer. */
static int profile_barrier(lrmlp_mpi *h)
{
    double tw = now_seconds();
    int mrc = MPI_Barrier(h->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(mrc, "MPI_Barrier (profile)");
    h->wait_seconds += now_seconds() - tw;
    return LRMLP_OK;
}

static void count_step(lrmlp_mpi *h, size_t count, lrmlp_dtype dt)
{
    h->calls++;
    h->last_bytes = count * elem_size(dt);
    h->bytes += (uint64_t)(count * elem_size(dt));
}

/* The whole vector in one blocking all-reduce (the hook without slices). */
static int reduce_sum(lrmlp_mpi *h, void *buf, size_t count, lrmlp_dtype dt)
{
    size_t es = elem_size(dt);
    if (h->profile && profile_barrier(h))
        return LRMLP_ERR_IO;
    double t0 = now_seconds();
    for (size_t off = 0; off < count; off += CHUNK) {
        size_t c = count - off < CHUNK ? count - off : CHUNK;
        int mrc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * es, (int)c, mpi_type(dt),
                                MPI_SUM, h->comm);
        if (mrc != MPI_SUCCESS)
            return mpi_fail(mrc, "MPI_Allreduce (gradient)");
    }
    h->seconds += now_seconds() - t0;
    count_step(h, count, dt);
    return LRMLP_OK;
}

/* Starts the all-reduce of one slice: MPI_Iallreduce in chunks below
 * INT_MAX, then a progress poll of everything in flight (Open MPI advances
 * non-blocking collectives only inside MPI calls). Should the
 * request array not grow, the slice's request is completed at once, so that
 * every rank still takes part in the same collectives (a blocking
 * MPI_Allreduce would not match another rank's MPI_Iallreduce). */
static int post_slice(lrmlp_mpi *h, void *buf, size_t count, lrmlp_dtype dt)
{
    size_t es = elem_size(dt), need = h->nreq + (count + CHUNK - 1) / CHUNK;
    if (need > h->req_cap) {
        size_t cap = need < 16 ? 16 : 2 * need;
        MPI_Request *r = realloc(h->req, cap * sizeof *r);
        if (r) {
            h->req = r;
            h->req_cap = cap;
        }
    }
    for (size_t off = 0; off < count; off += CHUNK) {
        size_t c = count - off < CHUNK ? count - off : CHUNK;
        void *p = (char *)buf + off * es;
        MPI_Request one, *r = h->nreq < h->req_cap ? &h->req[h->nreq++] : &one;
        int mrc = MPI_Iallreduce(MPI_IN_PLACE, p, (int)c, mpi_type(dt), MPI_SUM, h->comm, r);
        if (mrc == MPI_SUCCESS && r == &one)
            mrc = MPI_Wait(&one, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS)
            return mpi_fail(mrc, "MPI_Iallreduce (gradient slice)");
    }
    int done = 0;
    int mrc = MPI_Testall((int)h->nreq, h->req, &done, MPI_STATUSES_IGNORE);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(mrc, "MPI_Testall (gradient slices)");
    return LRMLP_OK;
}

static int wait_slices(lrmlp_mpi *h)
{
    int mrc = MPI_Waitall((int)h->nreq, h->req, MPI_STATUSES_IGNORE);
    h->nreq = 0;
    return mrc == MPI_SUCCESS ? LRMLP_OK : mpi_fail(mrc, "MPI_Waitall (gradient slices)");
}

/* Announces one slice of the current batch's gradient: posts it in overlap
 * mode, records it otherwise. */
static int slice_ready(lrmlp_mpi *h, lrmlp_net *net, size_t offset, size_t count)
{
    if (h->slice_rc)
        return h->slice_rc;
    lrmlp_dtype dt = lrmlp_net_dtype(net);
    void *buf = (char *)lrmlp_net_grads(net) + offset * elem_size(dt);
    int rc = LRMLP_OK;
    if (h->overlap) {
        if (h->profile && h->covered == 0)
            rc = profile_barrier(h);
        double t0 = now_seconds();
        /* polls after the last slice too: measured better than leaving that
         * slice to the hook's wait (docs/mpi.md) */
        if (rc == LRMLP_OK)
            rc = post_slice(h, buf, count, dt);
        h->post_seconds += now_seconds() - t0;
    } else {
        if (h->nslices == h->slices_cap) {
            size_t cap = h->slices_cap ? 2 * h->slices_cap : 16;
            struct slice_ *s = realloc(h->slices, cap * sizeof *s);
            if (s) {
                h->slices = s;
                h->slices_cap = cap;
            }
        }
        if (h->nslices < h->slices_cap) {
            h->slices[h->nslices++] = (struct slice_){buf, count, dt};
        } else { /* no memory: reduce it now (the same collective, only earlier) */
            if (h->profile && h->covered == 0)
                rc = profile_barrier(h);
            double t0 = now_seconds();
            if (rc == LRMLP_OK)
                rc = post_slice(h, buf, count, dt);
            if (rc == LRMLP_OK)
                rc = wait_slices(h);
            h->seconds += now_seconds() - t0;
        }
    }
    h->covered += count;
    if (rc)
        h->slice_rc = rc;
    return rc;
}

LRMLP_MPI_API int lrmlp_mpi_grad_ready(void *user, lrmlp_net *net, size_t offset, size_t count)
{
    lrmlp_mpi *h = user;
    if (!h || !net)
        return LRMLP_ERR_INVALID;
    size_t np = lrmlp_net_param_count(net);
    if (offset > np || count > np - offset)
        return fail(LRMLP_ERR_INVALID, "slice [%zu, +%zu) outside the %zu-element gradient",
                    offset, count, np);
    return slice_ready(h, net, offset, count);
}

/* The hook's reduction: the announced slices (completed, or posted and
 * completed without overlap) when there are any, else the whole vector. */
static int reduce_grad(lrmlp_mpi *h, void *grad, size_t count, lrmlp_dtype dt)
{
    if (h->covered == 0 && h->slice_rc == LRMLP_OK)
        return reduce_sum(h, grad, count, dt);
    int rc = h->slice_rc;
    if (h->nslices && rc == LRMLP_OK && h->profile)
        rc = profile_barrier(h);
    double t0 = now_seconds();
    for (size_t i = 0; i < h->nslices && rc == LRMLP_OK; i++)
        rc = post_slice(h, h->slices[i].buf, h->slices[i].count, h->slices[i].dt);
    int wrc = wait_slices(h); /* even after a failure: nothing stays in flight */
    h->seconds += now_seconds() - t0;
    rc = rc ? rc : wrc;
    if (rc == LRMLP_OK && h->covered != count)
        rc = fail(LRMLP_ERR_STATE,
                  "the announced gradient slices cover %zu of %zu elements", h->covered, count);
    h->nslices = 0;
    h->covered = 0;
    h->slice_rc = LRMLP_OK;
    if (rc == LRMLP_OK)
        count_step(h, count, dt);
    return rc;
}

static void scale(void *buf, size_t count, lrmlp_dtype dt, double s)
{
    if (dt == LRMLP_F32) {
        float *g = buf, f = (float)s;
        for (size_t i = 0; i < count; i++)
            g[i] *= f;
    } else {
        double *g = buf;
        for (size_t i = 0; i < count; i++)
            g[i] *= s;
    }
}

LRMLP_MPI_API int lrmlp_mpi_allreduce(void *user, void *grad, size_t count, lrmlp_dtype dtype)
{
    lrmlp_mpi *h = user;
    if (!h)
        return LRMLP_ERR_INVALID;
    if (dtype != LRMLP_F32 && dtype != LRMLP_F64)
        return fail(LRMLP_ERR_DTYPE, "unknown dtype %d", (int)dtype);
    if (count && !grad)
        return fail(LRMLP_ERR_INVALID, "gradient is NULL");
    int rc = reduce_grad(h, grad, count, dtype);
    if (rc)
        return rc;
    if (h->average && h->size > 1)
        scale(grad, count, dtype, 1.0 / (double)h->size);
    return LRMLP_OK;
}

/* ---- model broadcast ---- */

static int bcast_bytes(lrmlp_mpi *h, void *buf, size_t len, int root)
{
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t c = len - off < CHUNK ? len - off : CHUNK;
        int mrc = MPI_Bcast((char *)buf + off, (int)c, MPI_BYTE, root, h->comm);
        if (mrc != MPI_SUCCESS)
            return mpi_fail(mrc, "MPI_Bcast (model)");
    }
    return LRMLP_OK;
}

/* Broadcast of root's src_net/src_opt. pre_rc: a local error found before
 * (folded into the first agreement). On success non-root ranks get new
 * handles in *new_net / *new_opt (root: NULL). */
static int broadcast_core(lrmlp_mpi *h, int pre_rc, lrmlp_net *src_net, lrmlp_optim *src_opt,
                          const lrmlp_net *mine, lrmlp_net **new_net, lrmlp_optim **new_opt,
                          int want_opt, int root)
{
    *new_net = NULL;
    *new_opt = NULL;
    int is_root = h->rank == root;
    uint64_t key = is_root ? lrmlp_mpi_shape_hash(src_net) : lrmlp_mpi_shape_hash(mine);
    int rc_all = 0, mism = 0;
    int rc = agree(h, pre_rc, &key, 1, &rc_all, &mism);
    if (rc)
        return rc;
    if (rc_all)
        return pre_rc ? pre_rc
                      : fail(rc_all, "another rank failed before the broadcast: %s",
                             lrmlp_strerror(rc_all));
    if (mism)
        return fail(LRMLP_ERR_SHAPE,
                    "network shapes differ across ranks (this rank: %zu parameters, hash %016llx)",
                    is_root ? lrmlp_net_param_count(src_net) : lrmlp_net_param_count(mine),
                    (unsigned long long)key);

    void *buf = NULL;
    size_t len = 0;
    uint64_t hdr[2] = {0, 0}; /* length (0: root failed), status */
    if (is_root) {
        int src = lrmlp_model_save_mem(src_net, src_opt, &buf, &len);
        if (src) {
            fail(src, "saving the model: %s", lrmlp_last_errmsg());
            hdr[1] = (uint64_t)(-src);
        } else {
            hdr[0] = len;
        }
    }
    int mrc = MPI_Bcast(hdr, 2, MPI_UINT64_T, root, h->comm);
    if (mrc != MPI_SUCCESS) {
        lrmlp_free(buf);
        return mpi_fail(mrc, "MPI_Bcast (model length)");
    }
    if (hdr[0] == 0) {
        lrmlp_free(buf);
        int code = hdr[1] ? -(int)hdr[1] : LRMLP_ERR_FORMAT;
        return is_root ? code : fail(code, "root could not serialize the model: %s",
                                     lrmlp_strerror(code));
    }
    len = (size_t)hdr[0];
    int local = LRMLP_OK;
    if (!is_root) {
        buf = malloc(len);
        if (!buf)
            local = fail(LRMLP_ERR_NOMEM, "out of memory for a %zu-byte model", len);
    }
    /* Every rank takes part in the byte broadcast; a rank that could not
     * allocate receives into a scratch chunk so the collectives still match. */
    if (buf) {
        rc = bcast_bytes(h, buf, len, root);
    } else {
        char scratch[4096];
        rc = LRMLP_OK;
        for (size_t off = 0; off < len && rc == LRMLP_OK; off += sizeof scratch) {
            size_t c = len - off < sizeof scratch ? len - off : sizeof scratch;
            mrc = MPI_Bcast(scratch, (int)c, MPI_BYTE, root, h->comm);
            if (mrc != MPI_SUCCESS)
                rc = mpi_fail(mrc, "MPI_Bcast (model)");
        }
    }
    if (rc) {
        if (is_root)
            lrmlp_free(buf);
        else
            free(buf);
        return rc;
    }
    lrmlp_net *nn = NULL;
    lrmlp_optim *no = NULL;
    if (!is_root && local == LRMLP_OK) {
        local = lrmlp_model_load_mem(buf, len, &nn, want_opt ? &no : NULL);
        if (local)
            fail(local, "loading the broadcast model: %s", lrmlp_last_errmsg());
    }
    if (is_root)
        lrmlp_free(buf);
    else
        free(buf);
    rc = agree(h, local, NULL, 0, &rc_all, NULL);
    if (rc == LRMLP_OK && rc_all)
        rc = local ? local
                   : fail(rc_all, "another rank failed to receive the model: %s",
                          lrmlp_strerror(rc_all));
    if (rc) {
        lrmlp_net_free(nn);
        lrmlp_optim_free(no);
        return rc;
    }
    *new_net = nn;
    *new_opt = no;
    return LRMLP_OK;
}

LRMLP_MPI_API int lrmlp_mpi_broadcast_model(lrmlp_mpi *h, lrmlp_net **net, lrmlp_optim **opt,
                                            int root)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    if (root < 0 || root >= h->size) /* same on every rank: no collective needed */
        return fail(LRMLP_ERR_INVALID, "root %d out of range [0, %d)", root, h->size);
    int is_root = h->rank == root, pre = LRMLP_OK;
    if (!net)
        pre = fail(LRMLP_ERR_INVALID, "net pointer is NULL");
    else if (is_root && !*net)
        pre = fail(LRMLP_ERR_INVALID, "root's network is NULL");
    lrmlp_net *src = net && is_root ? *net : NULL;
    lrmlp_optim *srco = is_root && opt ? *opt : NULL;
    lrmlp_net *nn;
    lrmlp_optim *no;
    int rc = broadcast_core(h, pre, src, srco, net && !is_root ? *net : NULL, &nn, &no,
                            opt != NULL, root);
    if (rc || is_root)
        return rc;
    lrmlp_net_free(*net);
    *net = nn;
    if (opt && no) {
        lrmlp_optim_free(*opt);
        *opt = no;
    } else {
        lrmlp_optim_free(no);
    }
    return LRMLP_OK;
}

/* ---- checkpoints ---- */

LRMLP_MPI_API int lrmlp_mpi_checkpoint_save(lrmlp_mpi *h, lrmlp_net *net, const lrmlp_optim *opt,
                                            const char *path, int root)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    if (root < 0 || root >= h->size)
        return fail(LRMLP_ERR_INVALID, "root %d out of range [0, %d)", root, h->size);
    int code = 0;
    if (h->rank == root) {
        if (!net || !path)
            code = fail(LRMLP_ERR_INVALID, "network or path is NULL");
        else if ((code = lrmlp_model_save(net, opt, path)) != 0)
            fail(code, "saving %s: %s", path, lrmlp_last_errmsg());
    }
    int mrc = MPI_Bcast(&code, 1, MPI_INT, root, h->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(mrc, "MPI_Bcast (checkpoint status)");
    if (code && h->rank != root)
        fail(code, "root failed to save the checkpoint: %s", lrmlp_strerror(code));
    return code;
}

LRMLP_MPI_API int lrmlp_mpi_checkpoint_load(lrmlp_mpi *h, lrmlp_net **net, lrmlp_optim **opt,
                                            const char *path, int root)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    if (root < 0 || root >= h->size)
        return fail(LRMLP_ERR_INVALID, "root %d out of range [0, %d)", root, h->size);
    int is_root = h->rank == root, pre = LRMLP_OK;
    lrmlp_net *ln = NULL;
    lrmlp_optim *lo = NULL;
    if (!net)
        pre = fail(LRMLP_ERR_INVALID, "net pointer is NULL");
    else if (is_root) {
        if (!path)
            pre = fail(LRMLP_ERR_INVALID, "path is NULL");
        else if ((pre = lrmlp_model_load(path, &ln, opt ? &lo : NULL)) != 0)
            fail(pre, "loading %s: %s", path, lrmlp_last_errmsg());
    }
    lrmlp_net *nn;
    lrmlp_optim *no;
    int rc = broadcast_core(h, pre, ln, lo, net && !is_root ? *net : NULL, &nn, &no,
                            opt != NULL, root);
    if (rc) {
        lrmlp_net_free(ln);
        lrmlp_optim_free(lo);
        return rc;
    }
    if (is_root) {
        nn = ln;
        no = lo;
    }
    lrmlp_net_free(*net);
    *net = nn;
    if (opt) {
        if (is_root || no) {
            lrmlp_optim_free(*opt);
            *opt = no;
        }
    } else {
        lrmlp_optim_free(no);
    }
    return LRMLP_OK;
}

/* ---- sharded epochs ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    return mix64(z);
}

/* Uniform in [0, n) by rejection (no modulo bias). */
static uint64_t below(uint64_t *s, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = splitmix64(s);
    while (x >= lim);
    return x % n;
}

static void permutation(size_t *idx, size_t n, uint64_t seed, uint64_t epoch)
{
    uint64_t s = mix64(seed ^ 0x6c726d6c702d6d70ULL) ^ mix64(epoch + 0x2545f4914f6cdd1dULL);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)below(&s, (uint64_t)i + 1);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static size_t argmax(const void *row, size_t k, lrmlp_dtype dt)
{
    size_t best = 0;
    if (dt == LRMLP_F32) {
        const float *r = row;
        for (size_t j = 1; j < k; j++)
            if (r[j] > r[best])
                best = j;
    } else {
        const double *r = row;
        for (size_t j = 1; j < k; j++)
            if (r[j] > r[best])
                best = j;
    }
    return best;
}

static size_t count_correct(const void *Y, const void *T, size_t m, size_t k, lrmlp_dtype dt)
{
    size_t es = dt == LRMLP_F32 ? sizeof(float) : sizeof(double), c = 0;
    for (size_t i = 0; i < m; i++)
        c += argmax((const char *)Y + i * k * es, k, dt) ==
             argmax((const char *)T + i * k * es, k, dt);
    return c;
}

static uint64_t dataset_hash(const lrmlp_dataset *ds)
{
    if (!ds)
        return 1;
    uint64_t h = hadd(0x6473ULL, lrmlp_dataset_size(ds));
    h = hadd(h, lrmlp_dataset_dim(ds));
    h = hadd(h, lrmlp_dataset_target_dim(ds));
    h = hadd(h, lrmlp_dataset_n_classes(ds));
    return hfinal(h);
}

/* Local checks shared by train and evaluate. */
static int check_local(lrmlp_net *net, const lrmlp_dataset *ds)
{
    if (!net || !ds)
        return fail(LRMLP_ERR_INVALID, "network or dataset is NULL");
    size_t L = lrmlp_net_n_layers(net);
    if (lrmlp_dataset_dim(ds) != lrmlp_net_width(net, 0))
        return fail(LRMLP_ERR_SHAPE, "dataset has %zu features, network input width is %zu",
                    lrmlp_dataset_dim(ds), lrmlp_net_width(net, 0));
    if (lrmlp_dataset_target_dim(ds) != lrmlp_net_width(net, L))
        return fail(LRMLP_ERR_SHAPE,
                    "dataset targets have width %zu, network output width is %zu",
                    lrmlp_dataset_target_dim(ds), lrmlp_net_width(net, L));
    if (lrmlp_dataset_size(ds) == 0)
        return fail(LRMLP_ERR_INVALID, "dataset is empty");
    return LRMLP_OK;
}

/* Agreement on a collective call's inputs: local status, shape key
 * (network + dataset), options key. */
static int agree_inputs(lrmlp_mpi *h, int local, uint64_t shape_key, uint64_t opt_key)
{
    uint64_t keys[2] = {shape_key, opt_key};
    int rc_all = 0, mism[2] = {0, 0};
    int rc = agree(h, local, keys, 2, &rc_all, mism);
    if (rc)
        return rc;
    if (rc_all)
        return local ? local
                     : fail(rc_all, "another rank rejected the call: %s",
                            lrmlp_strerror(rc_all));
    if (mism[0])
        return fail(LRMLP_ERR_SHAPE, "network or dataset shapes differ across ranks");
    if (mism[1])
        return fail(LRMLP_ERR_INVALID,
                    "options (batch, loss, seed, epoch, optimizer state) differ across ranks");
    return LRMLP_OK;
}

typedef int (*batch_fn)(const lrmlp_dataset *, const size_t *, size_t, size_t, void *, void *);
static int batch_f32(const lrmlp_dataset *ds, const size_t *idx, size_t start, size_t count,
                     void *X, void *T)
{
    return lrmlp_dataset_batch_f32(ds, idx, start, count, X, T);
}
static int batch_f64(const lrmlp_dataset *ds, const size_t *idx, size_t start, size_t count,
                     void *X, void *T)
{
    return lrmlp_dataset_batch_f64(ds, idx, start, count, X, T);
}

/* The core epoch's hooks for lrmlp_mpi_train_epoch: the gradient sum, and
 * per step the loss accounting and the user's callback with the stop flag
 * agreed over the ranks. */
typedef struct {
    lrmlp_mpi *h;
    lrmlp_optim *opt;
    const lrmlp_train_options *user; /* the caller's options */
    uint64_t epoch;
    int mean;
    double acc;       /* this rank's weighted loss */
    int hook_rc;      /* an MPI failure inside a hook: the cause to return */
    int stopped;
} mpi_epoch_;

static int epoch_ready(void *user, lrmlp_net *net, size_t offset, size_t count)
{
    mpi_epoch_ *e = user;
    int rc = slice_ready(e->h, net, offset, count);
    if (rc && !e->hook_rc)
        e->hook_rc = rc;
    return rc;
}

static int epoch_reduce(void *user, void *grad, size_t count, lrmlp_dtype dt)
{
    mpi_epoch_ *e = user;
    int rc = reduce_grad(e->h, grad, count, dt);
    if (rc && !e->hook_rc)
        e->hook_rc = rc;
    return rc;
}

static int epoch_step(void *user, lrmlp_net *net, const lrmlp_step_info *core)
{
    mpi_epoch_ *e = user;
    size_t P = (size_t)e->h->size, r = (size_t)e->h->rank, cnt = core->batch_size;
    size_t m = cnt * (r + 1) / P - cnt * r / P;
    e->acc += e->mean ? core->loss * (double)m / (double)cnt : core->loss;
    if (!e->user->on_step)
        return 0;
    lrmlp_step_info info = {core->step, e->epoch, core->batch, cnt, core->loss,
                            lrmlp_optim_current_lr(e->opt)};
    int stop = e->user->on_step(e->user->on_step_user, net, &info) != 0;
    int mrc = MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, e->h->comm);
    if (mrc != MPI_SUCCESS) {
        e->hook_rc = mpi_fail(mrc, "MPI_Allreduce (stop flag)");
        return 1;
    }
    e->stopped = stop;
    return stop;
}

LRMLP_MPI_API int lrmlp_mpi_train_epoch(lrmlp_mpi *h, lrmlp_net *net, lrmlp_optim *opt,
                                        const lrmlp_dataset *ds, const lrmlp_train_options *o,
                                        uint64_t seed, uint64_t epoch, lrmlp_epoch_stats *stats)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    double t0 = now_seconds();
    int local = check_local(net, ds);
    if (!local && (!opt || !o))
        local = fail(LRMLP_ERR_INVALID, "optimizer or options are NULL");
    if (!local && (o->version < 1 || o->version > LRMLP_TRAIN_OPTIONS_VERSION))
        local = fail(LRMLP_ERR_VERSION,
                     "lrmlp_train_options version %u is unknown (this library reads 1 to %u)",
                     o->version, (unsigned)LRMLP_TRAIN_OPTIONS_VERSION);
    if (!local && ((int)o->loss < 0 || o->loss >= LRMLP_LOSS_COUNT_))
        local = fail(LRMLP_ERR_INVALID, "unknown loss %d", (int)o->loss);
    if (!local && lrmlp_net_dtype(net) != LRMLP_F32 && lrmlp_net_dtype(net) != LRMLP_F64)
        local = fail(LRMLP_ERR_DTYPE, "unknown network dtype");

    size_t n = 0;
    size_t *idx = NULL;
    if (!local) {
        n = lrmlp_dataset_size(ds);
        if (o->shuffle && !(idx = malloc(n * sizeof *idx)))
            local = fail(LRMLP_ERR_NOMEM, "out of memory for the sample order");
    }
    uint64_t shape_key = local ? 0 : hadd(lrmlp_mpi_shape_hash(net), dataset_hash(ds));
    uint64_t opt_key = 0;
    if (!local) {
        opt_key = hadd(optim_hash(opt), o->batch_size);
        opt_key = hadd(opt_key, (uint64_t)o->loss);
        opt_key = hadd(opt_key, (uint64_t)(o->shuffle != 0));
        opt_key = hadd(opt_key, (uint64_t)(o->on_step != NULL));
        opt_key = hadd(opt_key, seed);
        opt_key = hfinal(hadd(opt_key, epoch));
    }
    int rc = agree_inputs(h, local, shape_key, opt_key);
    if (rc) {
        free(idx);
        if (stats)
            memset(stats, 0, sizeof *stats), stats->loss = stats->accuracy = NAN;
        return rc;
    }
    if (idx)
        permutation(idx, n, seed, epoch);

    /* The core's epoch over this rank's shard of every global batch. */
    mpi_epoch_ e = {h, opt, o, epoch, o->loss != LRMLP_LOSS_SSE, 0.0, LRMLP_OK, 0};
    lrmlp_train_options co = LRMLP_TRAIN_OPTIONS_INIT;
    co.loss = o->loss;
    co.batch_size = o->batch_size;
    co.shuffle = 0;
    co.order = idx;
    co.shard_count = (size_t)h->size;
    co.shard_index = (size_t)h->rank;
    co.on_step = epoch_step;
    co.on_step_user = &e;
    co.allreduce = epoch_reduce;
    co.allreduce_user = &e;
    co.grad_ready = epoch_ready; /* per-layer reductions (docs/mpi.md) */
    co.grad_ready_user = &e;
    lrmlp_epoch_stats cs = {NAN, NAN, 0, 0, 0.0};
    rc = lrmlp_train_epoch(net, opt, ds, &co, &cs);
    free(idx);
    if (h->nreq || h->covered) { /* not reached by the core's contract (train.h) */
        wait_slices(h);
        h->nslices = h->covered = 0;
        h->slice_rc = LRMLP_OK;
    }
    if (e.hook_rc) {
        rc = e.hook_rc; /* an MPI failure; its message is set */
    } else if (e.stopped) {
        rc = fail(LRMLP_ERR_STOPPED, "stopped by a step callback");
    } else if (rc) {
        /* A local failure (the core poisoned its gradient) or an optimizer
         * failure on the reduced gradient: every rank stopped at the same
         * step; agree on the original cause. */
        int rc_all = 0;
        if (agree(h, rc, NULL, 0, &rc_all, NULL) == LRMLP_OK && rc_all != rc && rc_all != 0 &&
            strncmp(lrmlp_last_errmsg(), "optimizer: ", 11) == 0)
            fail(rc, "optimizer: non-finite gradient (another rank failed: %s)",
                 lrmlp_strerror(rc_all));
    }
    if (stats) {
        /* Every rank reaches this point after the same number of steps. */
        int mrc = MPI_Allreduce(MPI_IN_PLACE, &e.acc, 1, MPI_DOUBLE, MPI_SUM, h->comm);
        if (mrc != MPI_SUCCESS && rc == LRMLP_OK)
            rc = mpi_fail(mrc, "MPI_Allreduce (epoch statistics)");
        stats->loss = cs.steps ? e.acc / (double)cs.steps : NAN;
        stats->accuracy = NAN; /* the training pass's outputs are not public */
        stats->samples = cs.samples;
        stats->steps = cs.steps;
        stats->seconds = now_seconds() - t0;
    }
    return rc;
}

/* ---- evaluation ---- */

LRMLP_MPI_API int lrmlp_mpi_evaluate(lrmlp_mpi *h, lrmlp_net *net, const lrmlp_dataset *ds,
                                     lrmlp_loss loss, size_t batch_size, lrmlp_eval_result *out)
{
    if (!h)
        return LRMLP_ERR_INVALID;
    int local = check_local(net, ds);
    if (!local && !out)
        local = fail(LRMLP_ERR_INVALID, "result pointer is NULL");
    if (!local && ((int)loss < 0 || loss >= LRMLP_LOSS_COUNT_))
        local = fail(LRMLP_ERR_INVALID, "unknown loss %d", (int)loss);
    size_t P = (size_t)h->size, r = (size_t)h->rank;
    size_t n = 0, d = 0, k = 0, es = 0, lo = 0, hi = 0, bs = 0;
    lrmlp_dtype dt = LRMLP_F32;
    void *X = NULL, *T = NULL, *Y = NULL;
    if (!local) {
        n = lrmlp_dataset_size(ds);
        d = lrmlp_dataset_dim(ds);
        k = lrmlp_dataset_target_dim(ds);
        dt = lrmlp_net_dtype(net);
        es = dt == LRMLP_F32 ? sizeof(float) : sizeof(double);
        lo = n * r / P;
        hi = n * (r + 1) / P;
        bs = batch_size == 0 ? 1024 : batch_size;
        if (bs > hi - lo)
            bs = hi - lo;
        if (bs > 0) {
            X = malloc(bs * d * es);
            T = malloc(bs * k * es);
            Y = malloc(bs * k * es);
            if (!X || !T || !Y)
                local = fail(LRMLP_ERR_NOMEM, "out of memory for batch buffers");
        }
    }
    uint64_t shape_key = local ? 0 : hadd(lrmlp_mpi_shape_hash(net), dataset_hash(ds));
    uint64_t opt_key = local ? 0 : hfinal(hadd(0x6576ULL, (uint64_t)loss));
    int rc = agree_inputs(h, local, shape_key, opt_key);
    if (rc) {
        free(X);
        free(T);
        free(Y);
        return rc;
    }
    batch_fn fetch = dt == LRMLP_F32 ? batch_f32 : batch_f64;
    int classify = lrmlp_dataset_n_classes(ds) > 0;
    double acc[2] = {0, 0};
    for (size_t start = lo; start < hi && local == LRMLP_OK; start += bs) {
        size_t cnt = hi - start < bs ? hi - start : bs;
        local = fetch(ds, NULL, start, cnt, X, T);
        if (local) {
            fail(local, "dataset: %s", lrmlp_last_errmsg());
            break;
        }
        double l = 0;
        local = dt == LRMLP_F32 ? lrmlp_net_loss_f32(net, X, T, cnt, loss, &l, Y)
                                : lrmlp_net_loss_f64(net, X, T, cnt, loss, &l, Y);
        if (local == LRMLP_ERR_DIVERGED)
            local = LRMLP_OK; /* a non-finite loss is a result here */
        if (local) {
            fail(local, "loss: %s", lrmlp_last_errmsg());
            break;
        }
        acc[0] += loss == LRMLP_LOSS_SSE ? l : l * (double)cnt;
        if (classify)
            acc[1] += (double)count_correct(Y, T, cnt, k, dt);
    }
    free(X);
    free(T);
    free(Y);
    int mrc = MPI_Allreduce(MPI_IN_PLACE, acc, 2, MPI_DOUBLE, MPI_SUM, h->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(mrc, "MPI_Allreduce (evaluation)");
    int rc_all = 0;
    rc = agree(h, local, NULL, 0, &rc_all, NULL);
    if (rc)
        return rc;
    if (rc_all)
        return local ? local
                     : fail(rc_all, "another rank failed to evaluate: %s",
                            lrmlp_strerror(rc_all));
    out->loss = loss == LRMLP_LOSS_SSE ? acc[0] : acc[0] / (double)n;
    out->accuracy = classify ? acc[1] / (double)n : NAN;
    out->samples = n;
    return LRMLP_OK;
}
