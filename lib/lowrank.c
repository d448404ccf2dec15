/* Low-rank networks as chains of plain layers, their initializations, and
 * conversions to and from dense networks. */
#include "internal.h"
#include "numerics.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

LRMLP__OPTS_TYPE(lowrank_opts_type, lrmlp_lowrank_options, LRMLP_LOWRANK_OPTIONS_VERSION,
                 LRMLP_LOWRANK_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_lowrank_options, eps));

LRMLP_API int lrmlp_lowrank_options_init(lrmlp_lowrank_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&lowrank_opts_type, opts, version);
}

/* Layer l's weights as doubles (rows x cols = out x in). */
static void get_w(const lrmlp_net *net, size_t l, double *W)
{
    const lrmlp_layer_ *ly = &net->layers[l];
    size_t n = ly->in * ly->out;
    if (net->dtype == LRMLP_F32) {
        const float *p = (const float *)net->params + ly->w_off;
        for (size_t i = 0; i < n; i++)
            W[i] = p[i];
    } else {
        memcpy(W, (const double *)net->params + ly->w_off, n * sizeof *W);
    }
}

/* Layer l of net, for refill_w: the SVD's second try reloads the weights. */
typedef struct {
    const lrmlp_net *net;
    size_t l;
} layer_ref_;

static void refill_w(void *ctx, double *W)
{
    const layer_ref_ *r = ctx;
    get_w(r->net, r->l, W);
}

static void set_w(lrmlp_net *net, size_t l, const double *W)
{
    const lrmlp_layer_ *ly = &net->layers[l];
    size_t n = ly->in * ly->out;
    if (net->dtype == LRMLP_F32) {
        float *p = (float *)net->params + ly->w_off;
        for (size_t i = 0; i < n; i++)
            p[i] = (float)W[i];
    } else {
        memcpy((double *)net->params + ly->w_off, W, n * sizeof *W);
    }
}

LRMLP_API int lrmlp_lowrank_create(lrmlp_net **out, const lrmlp_lowrank_options *user_opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!user_opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "options are NULL");
    lrmlp_lowrank_options full;
    int rc0 = lrmlp__opts_read(&lowrank_opts_type, user_opts, &full, "lrmlp_lowrank_create");
    if (rc0 != LRMLP_OK)
        return rc0;
    const lrmlp_lowrank_options *o = &full;
    size_t L = o->n_layers, d = o->input_dim, m = o->width, K = o->output_dim, r = o->rank;
    if (L < 2 || L > 4000)
        return lrmlp__err(LRMLP_ERR_INVALID, "n_layers must be in [2, 4000], got %zu", L);
    if (r < 1 || r > d || r > m || K < 1)
        return lrmlp__err(LRMLP_ERR_INVALID,
                               "need 1 <= rank <= min(input_dim, width) and output_dim >= 1 "
                               "(rank %zu, d %zu, m %zu, K %zu)", r, d, m, K);
    if (!isfinite(o->eps) || o->eps <= 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "eps must be finite and > 0");
    if ((int)o->hidden_activation < 0 || o->hidden_activation >= LRMLP_ACT_COUNT_ ||
        (int)o->output_activation < 0 || o->output_activation >= LRMLP_ACT_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "invalid activation");
    size_t nl = L + 2;
    size_t *widths = malloc((nl + 1) * sizeof *widths);
    lrmlp_activation *acts = malloc(nl * sizeof *acts);
    if (!widths || !acts) {
        free(widths);
        free(acts);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    /* V^T, A_1 .. A_{L-1}, U, W_L */
    widths[0] = d;
    for (size_t i = 1; i <= L; i++)
        widths[i] = r;
    widths[L + 1] = m;
    widths[L + 2] = K;
    acts[0] = LRMLP_ACT_IDENTITY;
    for (size_t i = 1; i <= L - 2; i++)
        acts[i] = o->hidden_activation;
    acts[L - 1] = LRMLP_ACT_IDENTITY;
    acts[L] = o->hidden_activation;
    acts[L + 1] = o->output_activation;
    lrmlp_net *net;
    int rc = lrmlp__net_alloc(&net, o->dtype, nl, widths, acts, 0, o->seed);
    free(widths);
    free(acts);
    if (rc)
        return rc;
    net->lr_rank = r;
    net->lr_layers = L;
    for (size_t l = 0; l < nl && rc == LRMLP_OK; l++) {
        if (l == 0 || l == L)
            rc = lrmlp_net_init_layer(net, l, LRMLP_INIT_ORTHOGONAL, 1.0);
        else if (l < L)
            rc = lrmlp_net_init_layer(net, l, LRMLP_INIT_ORTHOGONAL, o->eps);
        else
            rc = lrmlp_net_init_layer(net, l, LRMLP_INIT_TORCH_DEFAULT, 1.0);
    }
    if (rc) {
        lrmlp_net_free(net);
        return rc;
    }
    *out = net;
    return LRMLP_OK;
}

LRMLP_API size_t lrmlp_lowrank_rank(const lrmlp_net *net) { return net ? net->lr_rank : 0; }

LRMLP_API int lrmlp_lowrank_layer(const lrmlp_net *net, lrmlp_factor factor, size_t index,
                                  size_t *layer)
{
    if (!net || !layer)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_lowrank_layer: NULL argument");
    if (!net->lr_rank)
        return lrmlp__err(LRMLP_ERR_STATE, "not a low-rank network");
    size_t L = net->lr_layers;
    switch (factor) {
    case LRMLP_FACTOR_V:
        *layer = 0;
        return LRMLP_OK;
    case LRMLP_FACTOR_A:
        if (index < 1 || index > L - 1)
            return lrmlp__err(LRMLP_ERR_INVALID,
                              "core index %zu out of range 1..%zu", index, L - 1);
        *layer = index;
        return LRMLP_OK;
    case LRMLP_FACTOR_U:
        *layer = L;
        return LRMLP_OK;
    case LRMLP_FACTOR_OUT:
        *layer = L + 1;
        return LRMLP_OK;
    default:
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown factor %d",
                          (int)factor);
    }
}

LRMLP_API int lrmlp_lowrank_core_layer(const lrmlp_net *net, size_t core, size_t *layer)
{
    if (net && net->lr_rank && core > net->lr_layers - 2)
        return lrmlp__err(LRMLP_ERR_INVALID, "core %zu out of range 0..%zu", core,
                          net->lr_layers - 2);
    return lrmlp_lowrank_layer(net, LRMLP_FACTOR_A, core + 1, layer);
}

/* The initializers change several layers, each of which may fail to
 * allocate: they work on lr in place after saving its parameters and
 * generator here, and put them back on failure. */
typedef struct lr_backup {
    void *params;
    lrmlp_rng rng;
} lr_backup;

static int backup_take(lr_backup *b, const lrmlp_net *lr)
{
    size_t bytes = lr->n_params * lrmlp__dtype_size(lr->dtype);
    b->params = malloc(bytes ? bytes : 1);
    if (!b->params)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    memcpy(b->params, lr->params, bytes);
    b->rng = lr->rng;
    return LRMLP_OK;
}

/* Restores lr when rc is an error; frees the backup; returns rc. */
static int backup_end(lr_backup *b, lrmlp_net *lr, int rc)
{
    if (rc != LRMLP_OK) {
        memcpy(lr->params, b->params, lr->n_params * lrmlp__dtype_size(lr->dtype));
        lr->rng = b->rng;
    }
    free(b->params);
    return rc;
}

/* dense must be L layers d -> m -> ... -> m -> K without biases, matching lr. */
static int check_pair(lrmlp_net *lr, const lrmlp_net *dense)
{
    if (!lr->lr_rank)
        return lrmlp__err(LRMLP_ERR_STATE, "not a low-rank network");
    size_t L = lr->lr_layers, m = lr->widths[L + 1];
    int ok = dense->n_layers == L && !dense->bias && dense->widths[0] == lr->widths[0] &&
             dense->widths[L] == lr->widths[L + 2];
    for (size_t i = 1; ok && i < L; i++)
        ok = dense->widths[i] == m;
    if (!ok)
        return lrmlp__err(LRMLP_ERR_SHAPE,
                          "dense network must have %zu bias-free layers with widths "
                          "%zu, %zu, ..., %zu, %zu",
                          L, lr->widths[0], m, m, lr->widths[L + 2]);
    return LRMLP_OK;
}

/* Shared tail of the initializers: eps-orthogonal cores, W_L from dense. */
static int init_cores_and_head(lrmlp_net *lr, const lrmlp_net *dense, double eps)
{
    size_t L = lr->lr_layers;
    for (size_t i = 1; i <= L - 1; i++) {
        int rc = lrmlp_net_init_layer(lr, i, LRMLP_INIT_ORTHOGONAL, eps);
        if (rc)
            return rc;
    }
    const lrmlp_layer_ *src = &dense->layers[L - 1];
    double *W = malloc(src->in * src->out * sizeof *W);
    if (!W)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    get_w(dense, L - 1, W);
    set_w(lr, L + 1, W);
    free(W);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_lowrank_init_from_dense(lrmlp_net *lr, const lrmlp_net *dense,
                                            const double *Vb, double eps)
{
    if (!lr)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_lowrank_init_from_dense: network is NULL");
    if (!dense || !Vb)
        return lrmlp__err(LRMLP_ERR_INVALID, "dense network or basis is NULL");
    if (!isfinite(eps) || eps < 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "eps must be finite and >= 0");
    int rc = check_pair(lr, dense);
    if (rc)
        return rc;
    rc = lrmlp__net_init_eps(dense, lr->lr_layers - 1, eps, &eps,
                             "lrmlp_lowrank_init_from_dense");
    if (rc)
        return rc;
    size_t L = lr->lr_layers, d = lr->widths[0], m = lr->widths[L + 1], r = lr->lr_rank;
    for (size_t i = 0; i < d * r; i++)
        if (!isfinite(Vb[i]))
            return lrmlp__err(LRMLP_ERR_NONFINITE, "basis holds NaN or Inf");
    /* Orthonormal columns: Vb^T Vb = I. */
    double *G = malloc(r * r * sizeof *G);
    double *Vt = malloc(r * d * sizeof *Vt);
    double *M = malloc(m * r * sizeof *M), *M2 = malloc(m * r * sizeof *M2);
    double *W = malloc(m * (m > d ? m : d) * sizeof *W);
    if (!G || !Vt || !M || !M2 || !W) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        goto done;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (lrmlp_blasint)r, (lrmlp_blasint)r,
                (lrmlp_blasint)d, 1.0, Vb, (lrmlp_blasint)r, Vb, (lrmlp_blasint)r, 0.0, G,
                (lrmlp_blasint)r);
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < r; j++)
            if (fabs(G[i * r + j] - (i == j)) > 1e-6) {
                rc = lrmlp__err(LRMLP_ERR_INVALID,
                                "basis columns are not orthonormal (V^T V - I has %.3g at "
                                "%zu,%zu)", G[i * r + j] - (i == j), i, j);
                goto done;
            }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < r; j++)
            Vt[j * d + i] = Vb[i * r + j];
    /* U = W_{L-1} ... W_1 Vb / eps^(L-1), propagated one layer at a time. */
    get_w(dense, 0, W);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)r,
                (lrmlp_blasint)d, 1.0 / eps, W, (lrmlp_blasint)d, Vb, (lrmlp_blasint)r, 0.0, M,
                (lrmlp_blasint)r);
    for (size_t l = 1; l + 1 < L; l++) {
        get_w(dense, l, W);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)r,
                    (lrmlp_blasint)m, 1.0 / eps, W, (lrmlp_blasint)m, M, (lrmlp_blasint)r, 0.0, M2,
                    (lrmlp_blasint)r);
        double *t = M;
        M = M2;
        M2 = t;
    }
    lr_backup bk;
    rc = backup_take(&bk, lr);
    if (rc)
        goto done;
    rc = backup_end(&bk, lr, init_cores_and_head(lr, dense, eps));
    if (rc)
        goto done;
    set_w(lr, 0, Vt);
    set_w(lr, L, M);
done:
    free(G);
    free(Vt);
    free(M);
    free(M2);
    free(W);
    return rc;
}

LRMLP_API int lrmlp_lowrank_init_random(lrmlp_net *lr, const lrmlp_net *dense, double eps)
{
    if (!lr)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_lowrank_init_random: network is NULL");
    if (!dense)
        return lrmlp__err(LRMLP_ERR_INVALID, "dense network is NULL");
    if (!isfinite(eps) || eps <= 0)
        return lrmlp__err(LRMLP_ERR_INVALID, "eps must be finite and > 0");
    int rc = check_pair(lr, dense);
    lr_backup bk;
    if (rc || (rc = backup_take(&bk, lr)) != LRMLP_OK)
        return rc;
    rc = lrmlp_net_init_layer(lr, 0, LRMLP_INIT_ORTHOGONAL, 1.0);
    if (!rc)
        rc = lrmlp_net_init_layer(lr, lr->lr_layers, LRMLP_INIT_ORTHOGONAL, 1.0);
    if (!rc)
        rc = init_cores_and_head(lr, dense, eps);
    return backup_end(&bk, lr, rc);
}

LRMLP_API int lrmlp_lowrank_expand(lrmlp_net **out, const lrmlp_net *lr)
{
    if (!out || !lr)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL argument");
    *out = NULL;
    if (!lr->lr_rank)
        return lrmlp__err(LRMLP_ERR_STATE, "not a low-rank network");
    size_t L = lr->lr_layers, d = lr->widths[0], r = lr->lr_rank, m = lr->widths[L + 1],
           K = lr->widths[L + 2];
    size_t *widths = malloc((L + 1) * sizeof *widths);
    lrmlp_activation *acts = malloc(L * sizeof *acts);
    size_t big = m * (m > d ? m : d);
    double *W = calloc(big, sizeof *W), *A = malloc(r * r * sizeof *A),
           *B = malloc(m * (r > d ? r : d) * sizeof *B),
           *C = malloc((m > d ? m : d) * r * sizeof *C); /* r x d, then m x r */
    lrmlp_net *net = NULL;
    int rc = LRMLP_OK;
    if (!widths || !acts || !W || !A || !B || !C) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        goto done;
    }
    widths[0] = d;
    for (size_t i = 1; i < L; i++)
        widths[i] = m;
    widths[L] = K;
    for (size_t l = 0; l + 1 < L; l++)
        acts[l] = lr->layers[L].act; /* phi: the activation after U */
    acts[L - 1] = lr->layers[L + 1].act;
    rc = lrmlp__net_alloc(&net, lr->dtype, L, widths, acts, 0, 0);
    if (rc)
        goto done;
    net->rng = lr->rng;
    /* First dense layer: A_1 V^T (r x d), or U A_1 V^T (m x d) when L = 2. */
    get_w(lr, 0, B); /* V^T, r x d */
    get_w(lr, 1, A); /* A_1 */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)r, (lrmlp_blasint)d,
                (lrmlp_blasint)r, 1.0, A, (lrmlp_blasint)r, B, (lrmlp_blasint)d, 0.0, C,
                (lrmlp_blasint)d);
    if (L == 2) {
        double *U = malloc(m * r * sizeof *U);
        if (!U) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            goto done;
        }
        get_w(lr, L, U);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)d,
                    (lrmlp_blasint)r, 1.0, U, (lrmlp_blasint)r, C, (lrmlp_blasint)d, 0.0, W,
                    (lrmlp_blasint)d);
        free(U);
        set_w(net, 0, W);
    } else {
        memset(W, 0, m * d * sizeof *W);
        memcpy(W, C, r * d * sizeof *W); /* first r rows */
        set_w(net, 0, W);
        /* Middle layers: A_l in the top-left r x r block. */
        for (size_t l = 1; l + 2 < L; l++) {
            get_w(lr, l + 1, A);
            memset(W, 0, m * m * sizeof *W);
            for (size_t i = 0; i < r; i++)
                memcpy(W + i * m, A + i * r, r * sizeof *W);
            set_w(net, l, W);
        }
        /* Last hidden layer: U A_{L-1} in the first r columns. */
        double *U = malloc(m * r * sizeof *U);
        if (!U) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            goto done;
        }
        get_w(lr, L, U);
        get_w(lr, L - 1, A);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (lrmlp_blasint)m, (lrmlp_blasint)r,
                    (lrmlp_blasint)r, 1.0, U, (lrmlp_blasint)r, A, (lrmlp_blasint)r, 0.0, C,
                    (lrmlp_blasint)r);
        free(U);
        memset(W, 0, m * m * sizeof *W);
        for (size_t i = 0; i < m; i++)
            memcpy(W + i * m, C + i * r, r * sizeof *W);
        set_w(net, L - 2, W);
    }
    get_w(lr, L + 1, W);
    set_w(net, L - 1, W);
    *out = net;
    net = NULL;
done:
    lrmlp_net_free(net);
    free(widths);
    free(acts);
    free(W);
    free(A);
    free(B);
    free(C);
    return rc;
}

LRMLP_API int lrmlp_net_factorize(lrmlp_net **out, const lrmlp_net *dense, const size_t *ranks)
{
    if (!out || !dense || !ranks)
        return lrmlp__err(LRMLP_ERR_INVALID, "NULL argument");
    *out = NULL;
    if (dense->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_net_factorize: an adapter network's "
                                             "function is not its chain: merge it first");
    size_t L = dense->n_layers, nl = L;
    for (size_t l = 0; l < L; l++)
        nl += ranks[l] > 0;
    size_t *widths = malloc((nl + 1) * sizeof *widths);
    lrmlp_activation *acts = calloc(nl, sizeof *acts);
    size_t *k = malloc(L * sizeof *k);
    if (!widths || !acts || !k) {
        free(widths);
        free(acts);
        free(k);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    size_t j = 0;
    widths[0] = dense->widths[0];
    for (size_t l = 0; l < L; l++) {
        const lrmlp_layer_ *ly = &dense->layers[l];
        size_t full = ly->in < ly->out ? ly->in : ly->out;
        k[l] = ranks[l] == 0 ? 0 : ranks[l] < full ? ranks[l] : full;
        if (k[l]) {
            acts[j] = LRMLP_ACT_IDENTITY;
            widths[++j] = k[l];
        }
        acts[j] = ly->act;
        widths[++j] = ly->out;
    }
    lrmlp_net *net = NULL;
    int rc = lrmlp__net_alloc(&net, dense->dtype, nl, widths, acts, dense->bias, 0);
    free(widths);
    free(acts);
    if (rc) {
        free(k);
        return rc;
    }
    net->rng = dense->rng;
    size_t es = lrmlp__dtype_size(dense->dtype);
    j = 0;
    for (size_t l = 0; l < L && rc == LRMLP_OK; l++) {
        const lrmlp_layer_ *ly = &dense->layers[l];
        size_t in = ly->in, outw = ly->out, mn = in < outw ? in : outw;
        double *W = malloc(in * outw * sizeof *W);
        if (!W) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
            break;
        }
        get_w(dense, l, W);
        for (size_t i = 0; k[l] && i < in * outw; i++)
            if (!isfinite(W[i])) { /* dgesdd may never return on +-Inf */
                rc = lrmlp__err(LRMLP_ERR_NONFINITE, "layer %zu holds NaN or Inf weights", l);
                break;
            }
        if (rc) {
            free(W);
            break;
        }
        if (k[l]) {
            double *S = malloc(mn * sizeof *S), *U = malloc(outw * mn * sizeof *U),
                   *Vt = malloc(mn * in * sizeof *Vt);
            lapack_int info = -1;
            layer_ref_ src = { dense, l };
            if (S && U && Vt)
                info = lrmlp__svd(LAPACK_ROW_MAJOR, 'S', outw, in, W, in, S, U, mn, Vt, in,
                                  NULL, refill_w, &src, NULL);
            if (info != 0) {
                rc = lrmlp__err(info < 0 && !(S && U && Vt) ? LRMLP_ERR_NOMEM
                                                                 : LRMLP_ERR_LINALG,
                                     "SVD of layer %zu failed (info %d)", l, (int)info);
            } else {
                size_t r = k[l];
                for (size_t a = 0; a < r; a++) /* S V^T, r x in */
                    for (size_t b = 0; b < in; b++)
                        Vt[a * in + b] *= S[a];
                set_w(net, j, Vt);
                for (size_t a = 0; a < outw; a++) /* first r columns of U */
                    memmove(U + a * r, U + a * mn, r * sizeof *U);
                set_w(net, j + 1, U);
                j += 2;
            }
            free(S);
            free(U);
            free(Vt);
        } else {
            set_w(net, j, W);
            j++;
        }
        if (rc == LRMLP_OK && dense->bias)
            memcpy((char *)net->params + net->layers[j - 1].b_off * es,
                   (const char *)dense->params + ly->b_off * es, outw * es);
        free(W);
    }
    free(k);
    if (rc) {
        lrmlp_net_free(net);
        return rc;
    }
    *out = net;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_basis_rotate(const double *B, const double *P, size_t n, size_t r,
                                 double psi, double *out)
{
    if (!B || !P || !out || n == 0 || r == 0 || !isfinite(psi))
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "lrmlp_basis_rotate: NULL argument, zero size or non-finite psi");
    if (r > n / 2)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "lrmlp_basis_rotate: two orthogonal %zu x %zu bases need 2r <= n", n,
                          r);
    double c = cos(psi), s = sin(psi);
    for (size_t i = 0; i < n * r; i++)
        out[i] = c * B[i] + s * P[i];
    return LRMLP_OK;
}
