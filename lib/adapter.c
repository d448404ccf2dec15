/* Low-rank adapters on trained dense networks (adapter.h): creation with
 * the LoRA, PiSSA and gradient-subspace starts, the side terms of the
 * forward/backward passes (adapter_impl.h), merging, adapter files and the
 * rank suggestion. */
#include "internal.h"
#include "le.h"
#include "numerics.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct lrmlp_adapter_ {
    size_t base_layers;      /* L of the base */
    size_t *rank;            /* L: rank of each base layer's adapter, 0 = not adapted */
    size_t *chain;           /* L: chain layer of A (or of the layer itself) */
    lrmlp_adapter_init init;
    double scale;
    uint32_t base_crc;       /* of the base's shape and adapted W0 (base_crc()) */
    void **side;             /* n_layers of the chain: frozen W0 of a B layer, else NULL */
    void **pissa;            /* L: PISSA's B0 (out x r) then A0 (r x in), else NULL */
};

#include "real_f32.h"
#include "adapter_impl.h"
#include "real_undef.h"
#include "real_f64.h"
#include "adapter_impl.h"
#include "real_undef.h"


#define PAYLOAD_VERSION 1u
#define PAYLOAD_FIXED 40u
#define PAYLOAD_LAYER 32u

LRMLP__OPTS_TYPE(adapter_opts_type, lrmlp_adapter_options, LRMLP_ADAPTER_OPTIONS_VERSION,
                 LRMLP_ADAPTER_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_adapter_options, loss));

LRMLP_API int lrmlp_adapter_options_init(lrmlp_adapter_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&adapter_opts_type, opts, version);
}

/* ---- the adapter record ---- */

void lrmlp__adapter_free(struct lrmlp_adapter_ *a)
{
    if (!a)
        return;
    if (a->side)
        for (size_t i = 0; i < a->base_layers * 2; i++)
            free(a->side[i]);
    if (a->pissa)
        for (size_t l = 0; l < a->base_layers; l++)
            free(a->pissa[l]);
    free(a->side);
    free(a->pissa);
    free(a->rank);
    free(a->chain);
    free(a);
}

/* A record for L base layers; the chain has at most 2 L layers. */
static struct lrmlp_adapter_ *adapter_alloc(size_t L)
{
    struct lrmlp_adapter_ *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->base_layers = L;
    a->rank = calloc(L, sizeof *a->rank);
    a->chain = calloc(L, sizeof *a->chain);
    a->side = calloc(2 * L, sizeof *a->side);
    a->pissa = calloc(L, sizeof *a->pissa);
    if (!a->rank || !a->chain || !a->side || !a->pissa) {
        lrmlp__adapter_free(a);
        return NULL;
    }
    return a;
}

static size_t pissa_count(const lrmlp_net *net, size_t l)
{
    const struct lrmlp_adapter_ *a = net->adapter;
    const lrmlp_layer_ *A = &net->layers[a->chain[l]], *B = &net->layers[a->chain[l] + 1];
    return B->out * B->in + A->out * A->in;
}

int lrmlp__adapter_clone(lrmlp_net *dst, const lrmlp_net *src)
{
    const struct lrmlp_adapter_ *s = src->adapter;
    struct lrmlp_adapter_ *a = adapter_alloc(s->base_layers);
    if (!a)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    memcpy(a->rank, s->rank, s->base_layers * sizeof *a->rank);
    memcpy(a->chain, s->chain, s->base_layers * sizeof *a->chain);
    a->init = s->init;
    a->scale = s->scale;
    a->base_crc = s->base_crc;
    dst->adapter = a;
    const size_t es = lrmlp__dtype_size(src->dtype);
    for (size_t l = 0; l < s->base_layers; l++) {
        if (!s->rank[l])
            continue;
        size_t b = s->chain[l] + 1;
        size_t nw = src->layers[b].out * src->layers[b - 1].in;
        a->side[b] = malloc(nw * es);
        if (!a->side[b])
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        memcpy(a->side[b], s->side[b], nw * es);
        if (s->pissa[l]) {
            size_t np = pissa_count(src, l);
            a->pissa[l] = malloc(np * es);
            if (!a->pissa[l])
                return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            memcpy(a->pissa[l], s->pissa[l], np * es);
        }
    }
    return LRMLP_OK;
}

/* ---- conversions between a dtype vector and doubles ---- */

static void to_f64(lrmlp_dtype dt, const void *src, size_t n, double *dst)
{
    if (dt == LRMLP_F32)
        for (size_t i = 0; i < n; i++)
            dst[i] = ((const float *)src)[i];
    else
        memcpy(dst, src, n * sizeof *dst);
}

static void from_f64(lrmlp_dtype dt, const double *src, size_t n, void *dst)
{
    if (dt == LRMLP_F32)
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = (float)src[i];
    else
        memcpy(dst, src, n * sizeof *src);
}

static void *pw(const lrmlp_net *net, size_t layer)
{
    return (char *)net->params + net->layers[layer].w_off * lrmlp__dtype_size(net->dtype);
}

static void *pb(const lrmlp_net *net, size_t layer)
{
    return (char *)net->params + net->layers[layer].b_off * lrmlp__dtype_size(net->dtype);
}

static int vec_finite(lrmlp_dtype dt, const void *v, size_t n)
{
    return dt == LRMLP_F32 ? lrmlp__all_finite_f32(v, n) : lrmlp__all_finite_f64(v, n);
}

/* ---- linear algebra ---- */

/* Thin SVD of the rows x cols matrix M (destroyed): U (rows x k), S (k),
 * Vt (k x cols), k = min(rows, cols); dgesdd, dgesvd if it fails
 * (lrmlp__svd, restarting from a copy). */
static int svd_thin(double *M, size_t rows, size_t cols, double *U, double *S, double *Vt)
{
    size_t k = rows < cols ? rows : cols;
    double *copy = lrmlp__dalloc(rows, cols);
    if (!copy)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory for an SVD");
    memcpy(copy, M, rows * cols * sizeof *copy);
    lapack_int info = lrmlp__svd(LAPACK_ROW_MAJOR, 'S', rows, cols, M, cols, S, U, k, Vt, cols,
                                 copy, NULL, NULL, NULL);
    free(copy);
    if (info != 0)
        return lrmlp__err(info == LAPACK_WORK_MEMORY_ERROR ? LRMLP_ERR_NOMEM : LRMLP_ERR_LINALG,
                          "SVD failed (LAPACK info %d)", (int)info);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_singular_values(const double *M, size_t rows, size_t cols, double *sv)
{
    if (!M || !sv || rows == 0 || cols == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_singular_values: NULL matrix or output, "
                                             "or a zero dimension");
    size_t n;
    if (!lrmlp__mul_ok(rows, cols, &n) || n > ((size_t)1 << 31))
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_singular_values: matrix too large");
    if (!lrmlp__all_finite_f64(M, n))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "lrmlp_singular_values: NaN or Inf");
    double *A = lrmlp__dalloc(rows, cols);
    if (!A)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    memcpy(A, M, n * sizeof *A);
    /* the row-major M is the column-major M^T: the same singular values */
    lapack_int info = lrmlp__svd(LAPACK_COL_MAJOR, 'N', cols, rows, A, cols, sv, NULL, 1, NULL,
                                 1, M, NULL, NULL, NULL);
    free(A);
    if (info != 0)
        return lrmlp__err(LRMLP_ERR_LINALG, "lrmlp_singular_values: SVD failed (info %d)",
                          (int)info);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_rank_suggest(const double *sv, size_t n, double energy, size_t *r_energy,
                                 size_t *r_gap)
{
    if (!sv || n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_rank_suggest: no singular values");
    if (!(energy > 0 && energy <= 1))
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_rank_suggest: energy must be in (0, 1]");
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(sv[i]) || sv[i] < 0 || (i > 0 && sv[i] > sv[i - 1]))
            return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_rank_suggest: singular values must "
                                                 "be finite, >= 0 and descending "
                                                 "(index %zu)", i);
        total += sv[i] * sv[i];
    }
    if (!(total > 0))
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_rank_suggest: all singular values are 0");
    if (r_energy) {
        double acc = 0;
        size_t r = n;
        for (size_t i = 0; i < n; i++) {
            acc += sv[i] * sv[i];
            /* relative slack: sum order must not turn energy = 1 into n + 1 */
            if (acc >= energy * total * (1 - 1e-12)) {
                r = i + 1;
                break;
            }
        }
        *r_energy = r;
    }
    if (r_gap) {
        size_t best = n;
        double best_ratio = 0;
        for (size_t r = 1; r < n && sv[r - 1] > 1e-3 * sv[0]; r++) {
            if (sv[r] == 0) {
                best = r;
                break;
            }
            double ratio = sv[r - 1] / sv[r];
            if (ratio > best_ratio) {
                best_ratio = ratio;
                best = r;
            }
        }
        *r_gap = best;
    }
    return LRMLP_OK;
}

/* ---- binding to the base: CRC-32 of its shape and adapted weights ---- */

static uLong crc_u64(uLong c, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    return crc32(c, b, 8);
}

static uint32_t base_crc(const lrmlp_net *base, const size_t *rank)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc_u64(c, (uint64_t)base->dtype);
    c = crc_u64(c, (uint64_t)base->n_layers);
    c = crc_u64(c, (uint64_t)base->bias);
    for (size_t l = 0; l < base->n_layers; l++) {
        const lrmlp_layer_ *ly = &base->layers[l];
        c = crc_u64(c, (uint64_t)ly->in);
        c = crc_u64(c, (uint64_t)ly->out);
        c = crc_u64(c, (uint64_t)ly->act);
        c = crc_u64(c, (uint64_t)rank[l]);
        if (!rank[l])
            continue;
        size_t nw = ly->in * ly->out;
        uint8_t buf[512];
        size_t k = 0;
        for (size_t i = 0; i < nw; i++) {
            if (base->dtype == LRMLP_F32) {
                uint32_t u;
                memcpy(&u, (const float *)base->params + ly->w_off + i, 4);
                put_u32(buf + k, u);
                k += 4;
            } else {
                put_f64(buf + k, ((const double *)base->params)[ly->w_off + i]);
                k += 8;
            }
            if (k == sizeof buf || i + 1 == nw) {
                c = crc32(c, buf, (uInt)k);
                k = 0;
            }
        }
    }
    return (uint32_t)c;
}

/* ---- creation ---- */

/* W0 - B0 A0 in double, computed in a fixed order (no BLAS) so that loading
 * an adapter file reproduces the bits of creation; written to dst (dtype). */
static int pissa_residual(lrmlp_dtype dt, const void *W0, const void *B0, const void *A0,
                          size_t out, size_t in, size_t r, void *dst)
{
    double *W = malloc(out * in * sizeof *W), *B = malloc(out * r * sizeof *B),
           *A = malloc(r * in * sizeof *A);
    if (!W || !B || !A) {
        free(W);
        free(B);
        free(A);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    to_f64(dt, W0, out * in, W);
    to_f64(dt, B0, out * r, B);
    to_f64(dt, A0, r * in, A);
    for (size_t i = 0; i < out; i++)
        for (size_t k = 0; k < r; k++) {
            double bik = B[i * r + k];
            for (size_t j = 0; j < in; j++)
                W[i * in + j] -= bik * A[k * in + j];
        }
    from_f64(dt, W, out * in, dst);
    free(W);
    free(B);
    free(A);
    return LRMLP_OK;
}

/* The gradient of every adapted layer of base on the options' data:
 * G[l] (out x in, double) for rank[l] > 0. */
static int base_gradients(const lrmlp_net *base, const lrmlp_adapter_options *o, double **G)
{
    const lrmlp_dataset *ds = o->data;
    const size_t L = base->n_layers, d = base->widths[0], k = base->widths[L];
    size_t avail = lrmlp_dataset_size(ds);
    size_t n = o->n ? o->n : avail;
    if (n > avail || n == 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "adapter: GRADIENT needs 1..%zu samples, got %zu",
                          avail, n);
    if (lrmlp_dataset_dim(ds) != d || lrmlp_dataset_target_dim(ds) != k)
        return lrmlp__err(LRMLP_ERR_SHAPE, "adapter: the data are %zu -> %zu, the base "
                                           "network %zu -> %zu",
                          lrmlp_dataset_dim(ds), lrmlp_dataset_target_dim(ds), d, k);
    const size_t es = lrmlp__dtype_size(base->dtype);
    void *X = malloc(n * d * es), *T = malloc(n * k * es);
    lrmlp_net *g = NULL;
    int rc = X && T ? lrmlp_net_clone(&g, base) : lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    if (rc == LRMLP_OK) {
        for (size_t l = 0; l < L; l++)
            g->layers[l].frozen = 0;
        rc = base->dtype == LRMLP_F32 ? lrmlp_dataset_batch_f32(ds, NULL, 0, n, X, T)
                                      : lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, T);
    }
    if (rc == LRMLP_OK)
        rc = base->dtype == LRMLP_F32
                 ? lrmlp_net_gradient_f32(g, X, T, n, o->loss, NULL)
                 : lrmlp_net_gradient_f64(g, X, T, n, o->loss, NULL);
    if (rc != LRMLP_OK && lrmlp_last_status() == rc)
        rc = lrmlp__err_prefix(rc, "adapter: gradient of the base: ");
    for (size_t l = 0; rc == LRMLP_OK && l < L; l++) {
        if (!o->ranks[l])
            continue;
        const lrmlp_layer_ *ly = &g->layers[l];
        size_t nw = ly->in * ly->out;
        G[l] = malloc(nw * sizeof **G);
        if (!G[l]) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            break;
        }
        to_f64(g->dtype, (const char *)g->grads + ly->w_off * es, nw, G[l]);
        if (!lrmlp__all_finite_f64(G[l], nw))
            rc = lrmlp__err(LRMLP_ERR_DIVERGED, "adapter: the gradient of layer %zu is not finite",
                            l);
    }
    lrmlp_net_free(g);
    free(X);
    free(T);
    return rc;
}

/* Fills the factors of base layer l (chain layers a, a + 1) and its side. */
static int init_layer(lrmlp_net *net, const lrmlp_net *base, size_t l, const double *Gl,
                      const lrmlp_adapter_options *o)
{
    struct lrmlp_adapter_ *ad = net->adapter;
    const lrmlp_layer_ *bl = &base->layers[l];
    const size_t in = bl->in, out = bl->out, r = ad->rank[l], a = ad->chain[l];
    const size_t mn = in < out ? in : out, es = lrmlp__dtype_size(net->dtype);
    const lrmlp_dtype dt = net->dtype;
    const void *W0 = (const char *)base->params + bl->w_off * es;
    ad->side[a + 1] = malloc(out * in * es);
    if (!ad->side[a + 1])
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    if (base->bias)
        memcpy(pb(net, a + 1), (const char *)base->params + bl->b_off * es, out * es);

    if (o->init == LRMLP_ADAPTER_LORA) {
        /* B stays 0 (the parameters start zeroed). */
        double bound = o->scale / sqrt((double)in);
        double *A = malloc(r * in * sizeof *A);
        if (!A)
            return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < r * in; i++)
            A[i] = bound * (2.0 * lrmlp__rng_uniform(&net->rng) - 1.0);
        from_f64(dt, A, r * in, pw(net, a));
        free(A);
        memcpy(ad->side[a + 1], W0, out * in * es);
        return LRMLP_OK;
    }

    double *M = malloc(out * in * sizeof *M), *U = malloc(out * mn * sizeof *U),
           *S = malloc(mn * sizeof *S), *Vt = malloc(mn * in * sizeof *Vt);
    int rc = M && U && S && Vt ? LRMLP_OK : lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    if (rc == LRMLP_OK) {
        if (o->init == LRMLP_ADAPTER_GRADIENT)
            memcpy(M, Gl, out * in * sizeof *M);
        else
            to_f64(dt, W0, out * in, M);
        rc = svd_thin(M, out, in, U, S, Vt);
        if (rc != LRMLP_OK)
            rc = lrmlp__err_prefix(rc, "adapter: layer %zu: ", l);
    }
    if (rc == LRMLP_OK && o->init == LRMLP_ADAPTER_GRADIENT) {
        /* A = (s / sqrt 3) V_r^T, B = 0 */
        double c = o->scale / sqrt(3.0);
        for (size_t i = 0; i < r * in; i++)
            Vt[i] *= c;
        from_f64(dt, Vt, r * in, pw(net, a));
        memcpy(ad->side[a + 1], W0, out * in * es);
    } else if (rc == LRMLP_OK) {
        /* PiSSA: B = U_r S_r^(1/2), A = S_r^(1/2) V_r^T, side = W0 - B A */
        for (size_t k = 0; k < r; k++) {
            double q = sqrt(S[k]);
            for (size_t j = 0; j < in; j++)
                Vt[k * in + j] *= q;
            for (size_t i = 0; i < out; i++)
                U[i * mn + k] *= q;
        }
        for (size_t i = 0; i < out; i++)
            memmove(U + i * r, U + i * mn, r * sizeof *U);
        from_f64(dt, U, out * r, pw(net, a + 1));
        from_f64(dt, Vt, r * in, pw(net, a));
        size_t np = out * r + r * in;
        ad->pissa[l] = malloc(np * es);
        if (!ad->pissa[l])
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        else {
            memcpy(ad->pissa[l], pw(net, a + 1), out * r * es);
            memcpy((char *)ad->pissa[l] + out * r * es, pw(net, a), r * in * es);
            rc = pissa_residual(dt, W0, pw(net, a + 1), pw(net, a), out, in, r,
                                ad->side[a + 1]);
        }
    }
    free(M);
    free(U);
    free(S);
    free(Vt);
    return rc;
}

/* The chain network for base's shape and the ranks, with the adapter record
 * attached (sides not yet filled), frozen flags set, unadapted layers
 * copied from base. */
static int build_chain(lrmlp_net **out, const lrmlp_net *base, const size_t *rank,
                       int train_last, uint64_t seed)
{
    *out = NULL;
    const size_t L = base->n_layers;
    size_t nl = L;
    for (size_t l = 0; l < L; l++)
        nl += rank[l] > 0;
    size_t *widths = malloc((nl + 1) * sizeof *widths);
    lrmlp_activation *acts = malloc(nl * sizeof *acts);
    struct lrmlp_adapter_ *ad = adapter_alloc(L);
    if (!widths || !acts || !ad) {
        free(widths);
        free(acts);
        lrmlp__adapter_free(ad);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    size_t j = 0;
    widths[0] = base->widths[0];
    for (size_t l = 0; l < L; l++) {
        ad->rank[l] = rank[l];
        ad->chain[l] = j;
        if (rank[l]) {
            acts[j] = LRMLP_ACT_IDENTITY;
            widths[++j] = rank[l];
        }
        acts[j] = base->layers[l].act;
        widths[++j] = base->layers[l].out;
    }
    lrmlp_net *net = NULL;
    int rc = lrmlp__net_alloc(&net, base->dtype, nl, widths, acts, base->bias, seed);
    free(widths);
    free(acts);
    if (rc != LRMLP_OK) {
        lrmlp__adapter_free(ad);
        return rc;
    }
    net->adapter = ad;
    const size_t es = lrmlp__dtype_size(base->dtype);
    for (size_t l = 0; l < L; l++) {
        if (rank[l])
            continue;
        const lrmlp_layer_ *bl = &base->layers[l];
        size_t c = ad->chain[l];
        memcpy(pw(net, c), (const char *)base->params + bl->w_off * es, bl->in * bl->out * es);
        if (base->bias)
            memcpy(pb(net, c), (const char *)base->params + bl->b_off * es, bl->out * es);
        net->layers[c].frozen = !(train_last && l + 1 == L);
    }
    *out = net;
    return LRMLP_OK;
}

/* Checks that base can carry adapters of these ranks. */
static int check_base(const lrmlp_net *base, const size_t *rank, const char *who,
                      int check_frozen)
{
    if (base->adapter || base->lr_rank)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: the base must be a plain dense network, "
                                             "not %s", who,
                          base->adapter ? "an adapter network" : "a low-rank network");
    int any = 0;
    for (size_t l = 0; l < base->n_layers; l++) {
        const lrmlp_layer_ *ly = &base->layers[l];
        size_t mn = ly->in < ly->out ? ly->in : ly->out;
        if (rank[l] > mn)
            return lrmlp__err(LRMLP_ERR_INVALID, "%s: rank %zu of layer %zu exceeds "
                                                 "min(in, out) = %zu", who, rank[l], l, mn);
        if (check_frozen && rank[l] && ly->frozen)
            return lrmlp__err(LRMLP_ERR_INVALID, "%s: layer %zu is frozen in the base; a "
                                                 "frozen layer cannot be adapted", who, l);
        any |= rank[l] > 0;
    }
    if (!any)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: every rank is 0, nothing to adapt", who);
    if (!vec_finite(base->dtype, base->params, base->n_params))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "%s: the base's weights hold NaN or Inf", who);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_adapter_create(lrmlp_net **out, const lrmlp_net *base,
                                   const lrmlp_adapter_options *opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_create: out is NULL");
    *out = NULL;
    if (!base || !opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_create: NULL argument");
    lrmlp_adapter_options full;
    int rc = lrmlp__opts_read(&adapter_opts_type, opts, &full, "lrmlp_adapter_create");
    if (rc != LRMLP_OK)
        return rc;
    const lrmlp_adapter_options *o = &full;
    if ((int)o->init < 0 || o->init >= LRMLP_ADAPTER_INIT_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "adapter: unknown initialization %d",
                          (int)o->init);
    if (!isfinite(o->scale) || !(o->scale > 0))
        return lrmlp__err(LRMLP_ERR_INVALID, "adapter: scale must be finite and > 0");
    if (!o->ranks)
        return lrmlp__err(LRMLP_ERR_INVALID, "adapter: ranks is NULL");
    if (o->init == LRMLP_ADAPTER_GRADIENT &&
        (!o->data || (int)o->loss < 0 || o->loss >= LRMLP_LOSS_COUNT_))
        return lrmlp__err(LRMLP_ERR_INVALID, "adapter: GRADIENT needs data and a valid loss");
    rc = check_base(base, o->ranks, "adapter", 1);
    if (rc != LRMLP_OK)
        return rc;

    const size_t L = base->n_layers;
    double **G = calloc(L, sizeof *G);
    if (!G)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    if (o->init == LRMLP_ADAPTER_GRADIENT)
        rc = base_gradients(base, o, G);
    lrmlp_net *net = NULL;
    if (rc == LRMLP_OK)
        rc = build_chain(&net, base, o->ranks, o->train_last, o->seed);
    if (rc == LRMLP_OK) {
        net->adapter->init = o->init;
        net->adapter->scale = o->scale;
        net->adapter->base_crc = base_crc(base, o->ranks);
    }
    for (size_t l = 0; rc == LRMLP_OK && l < L; l++)
        if (o->ranks[l])
            rc = init_layer(net, base, l, G[l], o);
    for (size_t l = 0; l < L; l++)
        free(G[l]);
    free(G);
    if (rc != LRMLP_OK) {
        lrmlp_net_free(net);
        return rc;
    }
    *out = net;
    return LRMLP_OK;
}

/* ---- queries ---- */

LRMLP_API int lrmlp_adapter_is(const lrmlp_net *net) { return net && net->adapter; }

LRMLP_API size_t lrmlp_adapter_n_base_layers(const lrmlp_net *ad)
{
    return ad && ad->adapter ? ad->adapter->base_layers : 0;
}

LRMLP_API size_t lrmlp_adapter_rank(const lrmlp_net *ad, size_t base_layer)
{
    return ad && ad->adapter && base_layer < ad->adapter->base_layers
               ? ad->adapter->rank[base_layer]
               : 0;
}

static int check_query(const lrmlp_net *ad, size_t base_layer, const char *who)
{
    if (!ad || !ad->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: not an adapter network", who);
    if (base_layer >= ad->adapter->base_layers)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: layer %zu out of range (base has %zu)", who,
                          base_layer, ad->adapter->base_layers);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_adapter_layer(const lrmlp_net *ad, size_t base_layer, size_t *a_layer,
                                  size_t *b_layer)
{
    int rc = check_query(ad, base_layer, "lrmlp_adapter_layer");
    if (rc != LRMLP_OK)
        return rc;
    size_t c = ad->adapter->chain[base_layer];
    if (a_layer)
        *a_layer = c;
    if (b_layer)
        *b_layer = ad->adapter->rank[base_layer] ? c + 1 : c;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_adapter_get_frozen(const lrmlp_net *ad, size_t base_layer, double *W0)
{
    int rc = check_query(ad, base_layer, "lrmlp_adapter_get_frozen");
    if (rc != LRMLP_OK)
        return rc;
    if (!W0)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_get_frozen: W0 is NULL");
    if (!ad->adapter->rank[base_layer])
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_get_frozen: layer %zu is not "
                                             "adapted", base_layer);
    size_t b = ad->adapter->chain[base_layer] + 1;
    to_f64(ad->dtype, ad->adapter->side[b], ad->layers[b].out * ad->layers[b - 1].in, W0);
    return LRMLP_OK;
}

/* ---- merging ---- */

LRMLP_API int lrmlp_adapter_merge(lrmlp_net **out, const lrmlp_net *ad)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_merge: out is NULL");
    *out = NULL;
    if (!ad || !ad->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_merge: not an adapter network");
    const struct lrmlp_adapter_ *a = ad->adapter;
    const size_t L = a->base_layers, es = lrmlp__dtype_size(ad->dtype);
    size_t *widths = malloc((L + 1) * sizeof *widths);
    lrmlp_activation *acts = malloc(L * sizeof *acts);
    if (!widths || !acts) {
        free(widths);
        free(acts);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    widths[0] = ad->widths[0];
    for (size_t l = 0; l < L; l++) {
        size_t b = a->chain[l] + (a->rank[l] ? 1 : 0);
        widths[l + 1] = ad->layers[b].out;
        acts[l] = ad->layers[b].act;
    }
    lrmlp_net *net = NULL;
    int rc = lrmlp__net_alloc(&net, ad->dtype, L, widths, acts, ad->bias, 0);
    free(widths);
    free(acts);
    if (rc != LRMLP_OK)
        return rc;
    net->rng = ad->rng;
    net->epochs = ad->epochs;
    for (size_t l = 0; l < L && rc == LRMLP_OK; l++) {
        const size_t c = a->chain[l], r = a->rank[l];
        const size_t in = net->layers[l].in, o = net->layers[l].out;
        if (!r) {
            memcpy(pw(net, l), pw(ad, c), in * o * es);
            if (ad->bias)
                memcpy(pb(net, l), pb(ad, c), o * es);
            continue;
        }
        double *W = malloc(o * in * sizeof *W), *B = malloc(o * r * sizeof *B),
               *A = malloc(r * in * sizeof *A), *v = malloc((o + r) * sizeof *v);
        if (!W || !B || !A || !v) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        } else {
            to_f64(ad->dtype, a->side[c + 1], o * in, W);
            to_f64(ad->dtype, pw(ad, c + 1), o * r, B);
            to_f64(ad->dtype, pw(ad, c), r * in, A);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)o,
                        (lrmlp_blasint)in, (lrmlp_blasint)r, 1.0, B, (lrmlp_blasint)r, A,
                        (lrmlp_blasint)in, 1.0, W, (lrmlp_blasint)in);
            from_f64(ad->dtype, W, o * in, pw(net, l));
            if (ad->bias) { /* b + B a */
                to_f64(ad->dtype, pb(ad, c + 1), o, v);
                to_f64(ad->dtype, pb(ad, c), r, v + o);
                cblas_dgemv(CblasRowMajor, CblasNoTrans, (lrmlp_blasint)o, (lrmlp_blasint)r, 1.0, B,
                            (lrmlp_blasint)r, v + o, 1, 1.0, v, 1);
                from_f64(ad->dtype, v, o, pb(net, l));
            }
        }
        free(W);
        free(B);
        free(A);
        free(v);
    }
    if (rc != LRMLP_OK) {
        lrmlp_net_free(net);
        return rc;
    }
    *out = net;
    return LRMLP_OK;
}

/* ---- adapter files: the ADPT payload (docs/format.md) ----
 *   0  u32 payload version (1)      4  u32 init
 *   8  u64 base layers L           16  u32 CRC-32 of the base (base_crc)
 *  20  u32 dtype                   24  u32 bias flag       28 u32 0
 *  32  f64 scale
 *  40  L records of 32 bytes: u64 in, u64 out, u32 activation, u32 0, u64 rank
 *  then, for PISSA, per adapted layer: B0 (out x r) and A0 (r x in) as
 *  little-endian values of the dtype. */

static void put_values(uint8_t *p, lrmlp_dtype dt, const void *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dt == LRMLP_F32) {
            uint32_t u;
            memcpy(&u, (const float *)v + i, 4);
            put_u32(p + 4 * i, u);
        } else {
            put_f64(p + 8 * i, ((const double *)v)[i]);
        }
    }
}

static void get_values(const uint8_t *p, lrmlp_dtype dt, void *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dt == LRMLP_F32) {
            uint32_t u = get_u32(p + 4 * i);
            memcpy((float *)v + i, &u, 4);
        } else {
            ((double *)v)[i] = get_f64(p + 8 * i);
        }
    }
}

static int save_common(const lrmlp_net *ad, const char *path, void **buf, size_t *len)
{
    if (!ad || !ad->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_save: not an adapter network");
    const struct lrmlp_adapter_ *a = ad->adapter;
    const size_t L = a->base_layers, es = lrmlp__dtype_size(ad->dtype);
    uint64_t plen = PAYLOAD_FIXED + (uint64_t)PAYLOAD_LAYER * L;
    for (size_t l = 0; l < L; l++)
        if (a->pissa[l])
            plen += (uint64_t)pissa_count(ad, l) * es;
    uint8_t *p = calloc(1, (size_t)plen);
    if (!p)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    put_u32(p, PAYLOAD_VERSION);
    put_u32(p + 4, (uint32_t)a->init);
    put_u64(p + 8, (uint64_t)L);
    put_u32(p + 16, a->base_crc);
    put_u32(p + 20, (uint32_t)ad->dtype);
    put_u32(p + 24, (uint32_t)ad->bias);
    put_f64(p + 32, a->scale);
    uint8_t *q = p + PAYLOAD_FIXED;
    for (size_t l = 0; l < L; l++, q += PAYLOAD_LAYER) {
        size_t c = a->chain[l], b = a->rank[l] ? c + 1 : c;
        put_u64(q, (uint64_t)ad->layers[c].in);
        put_u64(q + 8, (uint64_t)ad->layers[b].out);
        put_u32(q + 16, (uint32_t)ad->layers[b].act);
        put_u64(q + 24, (uint64_t)a->rank[l]);
    }
    for (size_t l = 0; l < L; l++) {
        if (!a->pissa[l])
            continue;
        size_t np = pissa_count(ad, l);
        put_values(q, ad->dtype, a->pissa[l], np);
        q += np * es;
    }
    int rc = lrmlp__model_adapter_write(ad, p, plen, path, buf, len);
    free(p);
    return rc;
}

LRMLP_API int lrmlp_adapter_save(const lrmlp_net *ad, const char *path)
{
    if (!path || !*path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_save: path is NULL or empty");
    return save_common(ad, path, NULL, NULL);
}

LRMLP_API int lrmlp_adapter_save_mem(const lrmlp_net *ad, void **buf, size_t *len)
{
    if (!buf || !len)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_save_mem: buf and len must not "
                                             "be NULL");
    *buf = NULL;
    *len = 0;
    return save_common(ad, NULL, buf, len);
}

#define BAD(...) lrmlp__err(LRMLP_ERR_FORMAT, "adapter file: " __VA_ARGS__)

/* Validates the payload against the chain net n and base, then attaches the
 * adapter record to n. */
static int attach(lrmlp_net *n, const uint8_t *p, uint64_t plen, const lrmlp_net *base)
{
    if (n->prep)
        return BAD("an adapter carries no preprocessing (PREP section)");
    if (plen < PAYLOAD_FIXED)
        return BAD("ADPT section too short");
    if (get_u32(p) != PAYLOAD_VERSION)
        return lrmlp__err(LRMLP_ERR_VERSION, "adapter file: ADPT payload version %u, this "
                                             "library reads 1", (unsigned)get_u32(p));
    uint32_t init = get_u32(p + 4);
    uint64_t L = get_u64(p + 8);
    if (init >= LRMLP_ADAPTER_INIT_COUNT_ || L < 1 || L > n->n_layers ||
        (plen - PAYLOAD_FIXED) / PAYLOAD_LAYER < L || get_u32(p + 20) != (uint32_t)n->dtype ||
        get_u32(p + 24) != (uint32_t)n->bias || !isfinite(get_f64(p + 32)))
        return BAD("malformed ADPT header");
    /* The base's shape. */
    if (base->dtype != n->dtype || base->bias != n->bias || base->n_layers != L)
        return lrmlp__err(LRMLP_ERR_SHAPE, "adapter file: made for a %s network of %llu "
                                           "layers%s; the base is %s with %zu layers%s",
                          n->dtype == LRMLP_F32 ? "float32" : "float64",
                          (unsigned long long)L, n->bias ? " with biases" : "",
                          base->dtype == LRMLP_F32 ? "float32" : "float64", base->n_layers,
                          base->bias ? " with biases" : "");
    size_t *rank = malloc(L * sizeof *rank);
    if (!rank)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    const uint8_t *q = p + PAYLOAD_FIXED;
    size_t j = 0, es = lrmlp__dtype_size(n->dtype);
    uint64_t need = PAYLOAD_FIXED + (uint64_t)PAYLOAD_LAYER * L;
    int rc = LRMLP_OK;
    for (size_t l = 0; l < L && rc == LRMLP_OK; l++, q += PAYLOAD_LAYER) {
        uint64_t in = get_u64(q), out = get_u64(q + 8), r = get_u64(q + 24);
        uint32_t act = get_u32(q + 16);
        const lrmlp_layer_ *bl = &base->layers[l];
        if (in != bl->in || out != bl->out || act != (uint32_t)bl->act) {
            rc = lrmlp__err(LRMLP_ERR_SHAPE, "adapter file: layer %zu was %llu -> %llu "
                                             "(activation %u), the base's is %zu -> %zu "
                                             "(activation %d)", l, (unsigned long long)in,
                            (unsigned long long)out, (unsigned)act, bl->in, bl->out,
                            (int)bl->act);
            break;
        }
        /* The chain must be A (identity), B (act) for r > 0, the layer otherwise. */
        int ok = j < n->n_layers && n->layers[j].in == in;
        if (ok && r) {
            ok = r <= (in < out ? in : out) && j + 1 < n->n_layers &&
                 n->layers[j].out == r && n->layers[j].act == LRMLP_ACT_IDENTITY &&
                 n->layers[j + 1].out == out && n->layers[j + 1].act == bl->act;
            if (ok && init == LRMLP_ADAPTER_PISSA)
                need += (uint64_t)(out * r + r * in) * es;
            j += 2;
        } else if (ok) {
            ok = n->layers[j].out == out && n->layers[j].act == bl->act;
            j += 1;
        }
        if (!ok)
            rc = BAD("the ADPT section does not match the network's layers");
        rank[l] = (size_t)r;
    }
    if (rc == LRMLP_OK && (j != n->n_layers || need != plen))
        rc = BAD("the ADPT section does not match the network's layers");
    if (rc == LRMLP_OK)
        rc = check_base(base, rank, "adapter file", 0);
    if (rc == LRMLP_OK) {
        uint32_t want = get_u32(p + 16), have = base_crc(base, rank);
        if (want != have)
            rc = lrmlp__err(LRMLP_ERR_CHECKSUM, "adapter file: made for another base network "
                                                "(CRC-32 of the adapted weights %08x, this "
                                                "base has %08x)", (unsigned)want,
                            (unsigned)have);
    }
    struct lrmlp_adapter_ *ad = NULL;
    if (rc == LRMLP_OK && !(ad = adapter_alloc((size_t)L)))
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    if (rc == LRMLP_OK) {
        ad->init = (lrmlp_adapter_init)init;
        ad->scale = get_f64(p + 32);
        ad->base_crc = get_u32(p + 16);
        n->adapter = ad;
        j = 0;
        for (size_t l = 0; l < L; l++) {
            ad->rank[l] = rank[l];
            ad->chain[l] = j;
            j += rank[l] ? 2 : 1;
        }
    }
    for (size_t l = 0; rc == LRMLP_OK && l < L; l++) {
        if (!rank[l])
            continue;
        const lrmlp_layer_ *bl = &base->layers[l];
        size_t b = ad->chain[l] + 1, nw = bl->in * bl->out, r = rank[l];
        const void *W0 = (const char *)base->params + bl->w_off * es;
        ad->side[b] = malloc(nw * es);
        if (!ad->side[b]) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            break;
        }
        if (init != LRMLP_ADAPTER_PISSA) {
            memcpy(ad->side[b], W0, nw * es);
            continue;
        }
        size_t np = pissa_count(n, l);
        ad->pissa[l] = malloc(np * es);
        if (!ad->pissa[l]) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            break;
        }
        get_values(q, n->dtype, ad->pissa[l], np);
        q += np * es;
        if (!vec_finite(n->dtype, ad->pissa[l], np)) {
            rc = BAD("PiSSA factors hold NaN or Inf");
            break;
        }
        rc = pissa_residual(n->dtype, W0, ad->pissa[l], (char *)ad->pissa[l] + bl->out * r * es,
                            bl->out, bl->in, r, ad->side[b]);
    }
    free(rank);
    return rc;
}

static int load_common(const char *path, const void *buf, size_t len, const lrmlp_net *base,
                       lrmlp_net **out)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_load: out is NULL");
    *out = NULL;
    if (!base)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_load: base is NULL");
    lrmlp_net *n = NULL;
    uint8_t *payload = NULL;
    uint64_t plen = 0;
    int rc = lrmlp__model_adapter_read(path, buf, len, &n, &payload, &plen);
    if (rc == LRMLP_OK)
        rc = attach(n, payload, plen, base);
    free(payload);
    if (rc != LRMLP_OK) {
        lrmlp_net_free(n);
        return rc;
    }
    *out = n;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_adapter_load(const char *path, const lrmlp_net *base, lrmlp_net **out)
{
    if (!path) {
        if (out)
            *out = NULL;
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_load: path is NULL");
    }
    return load_common(path, NULL, 0, base, out);
}

LRMLP_API int lrmlp_adapter_load_mem(const void *buf, size_t len, const lrmlp_net *base,
                                     lrmlp_net **out)
{
    if (!buf && len) {
        if (out)
            *out = NULL;
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_adapter_load_mem: buf is NULL");
    }
    return load_common(NULL, buf, len, base, out);
}
