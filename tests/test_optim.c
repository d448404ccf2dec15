/* Tests for the optimizers and schedules (lrmlp/optim.h).
 *
 * Every update rule is compared with an independent double-precision
 * re-implementation of the header's formulas written here with plain loops
 * (including Muon's Newton-Schulz iteration, with no BLAS). Weights and
 * gradients are written straight into the network's flat vectors and read
 * back, so the reference starts from exactly the stored values.
 *
 * Tolerances, as |got - want| <= tol * max(1, |want|):
 *   float64 networks: 1e-12 (1e-10 for Muon: BLAS sums in another order);
 *   float32 networks: 2e-5 (1e-4 for Muon), i.e. a few hundred float ulps
 *   after three steps computed in float. */
#include "testutil.h"

#include <lrmlp.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 64 /* largest parameter count used here */

/* ---- helpers ---------------------------------------------------------- */

static lrmlp_net *make_net(lrmlp_dtype dt, size_t n_layers, const size_t *widths, int bias)
{
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = n_layers;
    o.widths = widths;
    o.bias = bias;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    ck_assert_ptr_nonnull(net);
    ck_assert_uint_le(lrmlp_net_param_count(net), MAXP);
    return net;
}

/* Writes x into a parameter or gradient vector of net, then reads the stored
 * values back into x (float networks round). */
static void put_vec(lrmlp_net *net, void *p, double *x)
{
    size_t n = lrmlp_net_param_count(net);
    for (size_t i = 0; i < n; i++) {
        if (lrmlp_net_dtype(net) == LRMLP_F32) {
            ((float *)p)[i] = (float)x[i];
            x[i] = ((float *)p)[i];
        } else {
            ((double *)p)[i] = x[i];
        }
    }
}

static void get_vec(lrmlp_net *net, const void *p, double *x)
{
    size_t n = lrmlp_net_param_count(net);
    for (size_t i = 0; i < n; i++)
        x[i] = lrmlp_net_dtype(net) == LRMLP_F32 ? (double)((const float *)p)[i]
                                                  : ((const double *)p)[i];
}

static void rand_vec(double *x, size_t n, double scale, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * tu_rand(seed);
}

static void expect_close(const double *got, const double *want, size_t n, double tol,
                         const char *what, int step)
{
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        double lim = tol * fmax(1.0, fabs(want[i]));
        ck_assert_msg(err <= lim, "%s, step %d, [%zu]: got %.17g want %.17g (err %.3g > %.3g)",
                      what, step, i, got[i], want[i], err, lim);
    }
}

static double norm2(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

static lrmlp_optim *make_opt(lrmlp_net *net, const lrmlp_optim_options *o)
{
    lrmlp_optim *opt = NULL;
    int rc = lrmlp_optim_create(&opt, net, o);
    ck_assert_msg(rc == LRMLP_OK, "lrmlp_optim_create: %d %s", rc, lrmlp_last_errmsg());
    return opt;
}

/* ---- the reference, straight from the header --------------------------- */

typedef struct ref_opt {
    lrmlp_optim_kind kind;
    double lr, mu, b1, b2, eps, wd, clip;
    int nesterov, ns_steps;
    double m[MAXP], v[MAXP];
    uint64_t t;
    double last_norm;
} ref_opt;

static void ref_init(ref_opt *r, const lrmlp_optim_options *o)
{
    memset(r, 0, sizeof *r);
    r->kind = o->kind;
    r->lr = o->lr;
    r->mu = o->momentum;
    r->nesterov = o->nesterov;
    r->b1 = o->beta1;
    r->b2 = o->beta2;
    r->eps = o->eps;
    r->wd = o->weight_decay;
    r->clip = o->clip_norm;
    r->ns_steps = o->ns_steps;
}

/* Quintic Newton-Schulz on M (rows x cols), plain loops in double. */
static void ref_ns(const double *M, size_t rows, size_t cols, int steps, double *out)
{
    const double a = 3.4445, b = -4.7750, c = 2.0315;
    int tr = rows > cols;
    size_t R = tr ? cols : rows, C = tr ? rows : cols;
    double X[MAXP], A[MAXP], B[MAXP], Xn[MAXP];
    ck_assert_uint_le(R * C, MAXP);
    double nrm = 0.0;
    for (size_t i = 0; i < rows * cols; i++)
        nrm += M[i] * M[i];
    nrm = sqrt(nrm) + 1e-7;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            if (tr)
                X[j * rows + i] = M[i * cols + j] / nrm;
            else
                X[i * cols + j] = M[i * cols + j] / nrm;
        }
    for (int k = 0; k < steps; k++) {
        for (size_t i = 0; i < R; i++)
            for (size_t j = 0; j < R; j++) {
                double s = 0.0;
                for (size_t q = 0; q < C; q++)
                    s += X[i * C + q] * X[j * C + q];
                A[i * R + j] = s;
            }
        for (size_t i = 0; i < R; i++)
            for (size_t j = 0; j < R; j++) {
                double s = 0.0;
                for (size_t q = 0; q < R; q++)
                    s += A[i * R + q] * A[q * R + j];
                B[i * R + j] = b * A[i * R + j] + c * s;
            }
        for (size_t i = 0; i < R; i++)
            for (size_t j = 0; j < C; j++) {
                double s = 0.0;
                for (size_t q = 0; q < R; q++)
                    s += B[i * R + q] * X[q * C + j];
                Xn[i * C + j] = a * X[i * C + j] + s;
            }
        memcpy(X, Xn, R * C * sizeof *X);
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            out[i * cols + j] = tr ? X[j * rows + i] : X[i * cols + j];
}

/* SGD rule on one range (GD is the same with mu = 0). */
static void ref_sgd_range(ref_opt *r, double *w, const double *g, double *m, size_t n, double lr)
{
    for (size_t i = 0; i < n; i++) {
        double d = g[i] + r->wd * w[i];
        if (r->kind == LRMLP_OPTIM_GD) {
            w[i] -= lr * d;
            continue;
        }
        m[i] = r->mu * m[i] + d;
        w[i] -= lr * (r->nesterov ? d + r->mu * m[i] : m[i]);
    }
}

static void ref_adam_range(ref_opt *r, double *w, const double *g, double *m, double *v,
                           size_t n, double lr)
{
    double t = (double)(r->t + 1);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        if (r->kind == LRMLP_OPTIM_ADAMW)
            w[i] *= 1.0 - lr * r->wd;
        else
            gi += r->wd * w[i];
        m[i] = r->b1 * m[i] + (1.0 - r->b1) * gi;
        v[i] = r->b2 * v[i] + (1.0 - r->b2) * gi * gi;
        double mh = m[i] / (1.0 - pow(r->b1, t));
        double vh = v[i] / (1.0 - pow(r->b2, t));
        w[i] -= lr * mh / (sqrt(vh) + r->eps);
    }
}

/* One step of the reference on w (n values) with gradient g0, using net's
 * layer table and frozen flags and the constant rate r->lr. */
static void ref_step(ref_opt *r, lrmlp_net *net, double *w, const double *g0)
{
    const size_t L = lrmlp_net_n_layers(net);
    double g[MAXP];
    memcpy(g, g0, lrmlp_net_param_count(net) * sizeof *g);
    double ss = 0.0;
    for (size_t l = 0; l < L; l++) {
        size_t wo, bo, rows = lrmlp_net_width(net, l + 1), cols = lrmlp_net_width(net, l);
        ck_assert_int_eq(lrmlp_net_layer_offsets(net, l, &wo, &bo), LRMLP_OK);
        if (lrmlp_net_is_frozen(net, l))
            continue;
        for (size_t i = 0; i < rows * cols; i++)
            ss += g[wo + i] * g[wo + i];
        if (bo != SIZE_MAX)
            for (size_t i = 0; i < rows; i++)
                ss += g[bo + i] * g[bo + i];
    }
    r->last_norm = sqrt(ss);
    double scale = (r->clip > 0 && r->last_norm > r->clip) ? r->clip / r->last_norm : 1.0;
    for (size_t i = 0; i < lrmlp_net_param_count(net); i++)
        g[i] *= scale;

    for (size_t l = 0; l < L; l++) {
        size_t wo, bo, rows = lrmlp_net_width(net, l + 1), cols = lrmlp_net_width(net, l);
        ck_assert_int_eq(lrmlp_net_layer_offsets(net, l, &wo, &bo), LRMLP_OK);
        if (lrmlp_net_is_frozen(net, l))
            continue;
        size_t nw = rows * cols;
        switch (r->kind) {
        case LRMLP_OPTIM_ADAM:
        case LRMLP_OPTIM_ADAMW:
            ref_adam_range(r, w + wo, g + wo, r->m + wo, r->v + wo, nw, r->lr);
            if (bo != SIZE_MAX)
                ref_adam_range(r, w + bo, g + bo, r->m + bo, r->v + bo, rows, r->lr);
            break;
        case LRMLP_OPTIM_MUON: {
            double M[MAXP], X[MAXP];
            for (size_t i = 0; i < nw; i++) {
                r->m[wo + i] = r->mu * r->m[wo + i] + g[wo + i];
                M[i] = r->nesterov ? g[wo + i] + r->mu * r->m[wo + i] : r->m[wo + i];
            }
            ref_ns(M, rows, cols, r->ns_steps, X);
            double sc = sqrt(fmax(1.0, (double)rows / (double)cols));
            for (size_t i = 0; i < nw; i++)
                w[wo + i] -= r->lr * (sc * X[i] + r->wd * w[wo + i]);
            if (bo != SIZE_MAX)
                ref_sgd_range(r, w + bo, g + bo, r->m + bo, rows, r->lr);
            break;
        }
        default:
            ref_sgd_range(r, w + wo, g + wo, r->m + wo, nw, r->lr);
            if (bo != SIZE_MAX)
                ref_sgd_range(r, w + bo, g + bo, r->m + bo, rows, r->lr);
            break;
        }
    }
    r->t++;
}

/* ---- update rules against the reference ------------------------------- */

typedef struct rule_case {
    const char *name;
    lrmlp_optim_kind kind;
    double lr, mu;
    int nesterov;
    double wd, clip;
    double b1, b2;
    size_t n_layers;
    size_t widths[4];
    int bias;
    double gscale; /* gradient magnitude (large ones trigger clipping) */
} rule_case;

static const rule_case rule_cases[] = {
    { "gd", LRMLP_OPTIM_GD, 0.1, 0, 0, 0, 0, 0.9, 0.999, 1, { 3, 2 }, 1, 1.0 },
    { "gd+wd", LRMLP_OPTIM_GD, 0.1, 0, 0, 0.05, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "sgd-momentum", LRMLP_OPTIM_SGD, 0.1, 0.9, 0, 0, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "sgd-nesterov", LRMLP_OPTIM_SGD, 0.1, 0.9, 1, 0, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "sgd-no-momentum+wd", LRMLP_OPTIM_SGD, 0.2, 0, 0, 0.1, 0, 0.9, 0.999, 1, { 3, 2 }, 0, 1.0 },
    { "sgd-momentum+wd", LRMLP_OPTIM_SGD, 0.1, 0.8, 0, 0.01, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "sgd-nesterov+wd", LRMLP_OPTIM_SGD, 0.1, 0.5, 1, 0.1, 0, 0.9, 0.999, 1, { 3, 2 }, 0, 1.0 },
    { "sgd-momentum+clip", LRMLP_OPTIM_SGD, 0.1, 0.9, 0, 0, 0.5, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "gd+clip", LRMLP_OPTIM_GD, 0.1, 0, 0, 0, 1.0, 0.9, 0.999, 1, { 3, 2 }, 1, 2.0 },
    { "adam", LRMLP_OPTIM_ADAM, 0.01, 0, 0, 0, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "adam+wd", LRMLP_OPTIM_ADAM, 0.01, 0, 0, 0.1, 0, 0.9, 0.999, 1, { 3, 2 }, 1, 1.0 },
    { "adam-betas", LRMLP_OPTIM_ADAM, 0.05, 0, 0, 0, 0, 0.5, 0.9, 2, { 3, 2, 3 }, 0, 1.0 },
    { "adamw", LRMLP_OPTIM_ADAMW, 0.05, 0, 0, 0.1, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "adamw+clip", LRMLP_OPTIM_ADAMW, 0.05, 0, 0, 0.3, 0.7, 0.8, 0.99, 1, { 3, 2 }, 0, 1.0 },
    { "muon", LRMLP_OPTIM_MUON, 0.02, 0, 0, 0, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 0, 1.0 },
    { "muon-momentum", LRMLP_OPTIM_MUON, 0.02, 0.9, 0, 0.01, 0, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
    { "muon-nesterov", LRMLP_OPTIM_MUON, 0.02, 0.95, 1, 0.1, 0, 0.9, 0.999, 3, { 3, 4, 2, 3 }, 1, 1.0 },
    { "muon+clip", LRMLP_OPTIM_MUON, 0.02, 0.9, 1, 0, 0.5, 0.9, 0.999, 2, { 3, 2, 3 }, 1, 1.0 },
};
#define N_RULE_CASES (sizeof rule_cases / sizeof rule_cases[0])

/* _i encodes case (i / 2) and dtype (i % 2). Three steps, each compared. */
START_TEST(test_rules_match_reference)
{
    const rule_case *c = &rule_cases[_i / 2];
    const lrmlp_dtype dt = _i % 2 ? LRMLP_F64 : LRMLP_F32;
    const int muon = c->kind == LRMLP_OPTIM_MUON;
    const double tol = dt == LRMLP_F64 ? (muon ? 1e-10 : 1e-12) : (muon ? 1e-4 : 2e-5);
    lrmlp_net *net = make_net(dt, c->n_layers, c->widths, c->bias);
    const size_t n = lrmlp_net_param_count(net);

    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = c->kind;
    o.lr = c->lr;
    o.momentum = c->mu;
    o.nesterov = c->nesterov;
    o.weight_decay = c->wd;
    o.clip_norm = c->clip;
    o.beta1 = c->b1;
    o.beta2 = c->b2;
    lrmlp_optim *opt = make_opt(net, &o);
    ref_opt r;
    ref_init(&r, &o);

    uint64_t seed = 12345 + (uint64_t)_i;
    double w[MAXP], g[MAXP], got[MAXP];
    rand_vec(w, n, 1.0, &seed);
    put_vec(net, lrmlp_net_params(net), w);
    int clipped = 0;
    for (int step = 0; step < 3; step++) {
        rand_vec(g, n, c->gscale, &seed);
        put_vec(net, lrmlp_net_grads(net), g);
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
        ref_step(&r, net, w, g);
        clipped |= c->clip > 0 && r.last_norm > c->clip;
        get_vec(net, lrmlp_net_params(net), got);
        expect_close(got, w, n, tol, c->name, step);
        ck_assert_uint_eq(lrmlp_optim_steps(opt), (uint64_t)step + 1);
        ck_assert_double_eq_tol(lrmlp_optim_last_grad_norm(opt), r.last_norm,
                                1e-12 * r.last_norm);
    }
    /* a clipping case must actually clip */
    ck_assert(c->clip == 0 || clipped);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* Clipping: the applied gradient has norm exactly clip_norm; the gradient
 * vector itself is left as it was; small gradients pass unchanged. */
START_TEST(test_clip_norm)
{
    const lrmlp_dtype dt = _i ? LRMLP_F64 : LRMLP_F32;
    const double tol = dt == LRMLP_F64 ? 1e-13 : 1e-6;
    const size_t widths[] = { 3, 4, 2 };
    lrmlp_net *net = make_net(dt, 2, widths, 1);
    const size_t n = lrmlp_net_param_count(net);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_GD;
    o.lr = 1.0;
    o.clip_norm = 0.5;
    lrmlp_optim *opt = make_opt(net, &o);

    uint64_t seed = 99;
    double w0[MAXP], w1[MAXP], g[MAXP], gafter[MAXP], d[MAXP];
    rand_vec(w0, n, 1.0, &seed);
    rand_vec(g, n, 1.0, &seed);
    double gn = norm2(g, n);
    for (size_t i = 0; i < n; i++)
        g[i] *= 5.0 / gn; /* norm 5 */
    put_vec(net, lrmlp_net_params(net), w0);
    put_vec(net, lrmlp_net_grads(net), g);
    gn = norm2(g, n);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    get_vec(net, lrmlp_net_params(net), w1);
    for (size_t i = 0; i < n; i++)
        d[i] = w0[i] - w1[i];
    ck_assert_double_eq_tol(norm2(d, n), 0.5, tol);
    for (size_t i = 0; i < n; i++) /* same direction as g */
        ck_assert_double_eq_tol(d[i], g[i] * 0.5 / gn, tol);
    ck_assert_double_eq_tol(lrmlp_optim_last_grad_norm(opt), gn, 1e-12 * gn);
    get_vec(net, lrmlp_net_grads(net), gafter);
    ck_assert_mem_eq(gafter, g, n * sizeof *g);

    /* below the threshold: no scaling */
    for (size_t i = 0; i < n; i++)
        g[i] *= 0.2 / gn;
    put_vec(net, lrmlp_net_grads(net), g);
    ck_assert_double_lt(norm2(g, n), 0.5);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    double w2[MAXP];
    get_vec(net, lrmlp_net_params(net), w2);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq_tol(w1[i] - w2[i], g[i], tol);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* Singular values of a 2 x k or k x 2 matrix (k >= 2), via the 2 x 2 Gram. */
static void sv2(const double *X, size_t rows, size_t cols, double s[2])
{
    double G[4] = { 0, 0, 0, 0 };
    int tr = rows > cols; /* Gram of the columns when the matrix is tall */
    size_t R = tr ? cols : rows, C = tr ? rows : cols;
    ck_assert_uint_eq(R, 2);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++)
            for (size_t q = 0; q < C; q++)
                G[i * 2 + j] += tr ? X[q * cols + i] * X[q * cols + j]
                                   : X[i * cols + q] * X[j * cols + q];
    double mid = (G[0] + G[3]) / 2, rad = sqrt(pow((G[0] - G[3]) / 2, 2) + G[1] * G[1]);
    s[0] = sqrt(mid + rad);
    s[1] = sqrt(fmax(mid - rad, 0.0));
}

/* Muon's update approximates the polar factor: NS(M) = U f(S) V^T with f(S)
 * in about [0.7, 1.2], so its singular values lie in [0.6, 1.3] and
 * NS(M) M^T (or NS(M)^T M when tall) is symmetric positive definite. */
START_TEST(test_muon_polar)
{
    const lrmlp_dtype dt = _i % 2 ? LRMLP_F64 : LRMLP_F32;
    const int ns = _i / 2 ? 25 : 5;
    const double tol = dt == LRMLP_F64 ? 1e-12 : 1e-5;
    const size_t widths[] = { 3, 2, 3 }; /* W0 is 2 x 3, W1 is 3 x 2 (transposed) */
    lrmlp_net *net = make_net(dt, 2, widths, 0);
    const size_t n = lrmlp_net_param_count(net);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_MUON;
    o.lr = 1.0;
    o.ns_steps = ns;
    lrmlp_optim *opt = make_opt(net, &o);
    uint64_t seed = 7 + (uint64_t)_i;
    double w0[MAXP], w1[MAXP], g[MAXP];
    rand_vec(w0, n, 1.0, &seed);
    rand_vec(g, n, 3.0, &seed);
    put_vec(net, lrmlp_net_params(net), w0);
    put_vec(net, lrmlp_net_grads(net), g);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    get_vec(net, lrmlp_net_params(net), w1);
    for (size_t l = 0; l < 2; l++) {
        size_t wo, bo, rows = widths[l + 1], cols = widths[l];
        ck_assert_int_eq(lrmlp_net_layer_offsets(net, l, &wo, &bo), LRMLP_OK);
        double sc = sqrt(fmax(1.0, (double)rows / (double)cols)), X[6], s[2];
        for (size_t i = 0; i < 6; i++)
            X[i] = (w0[wo + i] - w1[wo + i]) / sc;
        sv2(X, rows, cols, s);
        ck_assert_msg(s[0] <= 1.3 && s[1] >= 0.6, "layer %zu ns %d: singular values %g %g", l,
                      ns, s[0], s[1]);
        /* P = X M^T (2 x 2) or X^T M when tall */
        double P[4] = { 0, 0, 0, 0 };
        const double *M = g + wo;
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 2; j++)
                for (size_t q = 0; q < 3; q++)
                    P[i * 2 + j] += rows > cols ? X[q * cols + i] * M[q * cols + j]
                                                : X[i * cols + q] * M[j * cols + q];
        double scale = fabs(P[0]) + fabs(P[3]);
        ck_assert_double_eq_tol(P[1], P[2], tol * 10 * scale);
        ck_assert_double_gt(P[0], 0);
        ck_assert_double_gt(P[0] * P[3] - P[1] * P[2], 0);
        if (ns == 25) { /* near the polar factor: singular values in [0.68, 1.13] */
            ck_assert_double_ge(s[1], 0.65);
            ck_assert_double_le(s[0], 1.2);
        }
    }
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* Frozen layers: untouched, excluded from the norm, no state; after
 * unfreezing they start from zero state. */
START_TEST(test_frozen)
{
    static const lrmlp_optim_kind kinds[] = { LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAMW,
                                              LRMLP_OPTIM_MUON };
    const lrmlp_dtype dt = _i % 2 ? LRMLP_F64 : LRMLP_F32;
    const lrmlp_optim_kind kind = kinds[_i / 2];
    const double tol = dt == LRMLP_F64 ? 1e-10 : 1e-4;
    const size_t widths[] = { 3, 2, 3 };
    lrmlp_net *net = make_net(dt, 2, widths, 1);
    const size_t n = lrmlp_net_param_count(net);
    ck_assert_int_eq(lrmlp_net_set_frozen(net, 0, 1), LRMLP_OK);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = kind;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 0.1;
    lrmlp_optim *opt = make_opt(net, &o);
    ref_opt r;
    ref_init(&r, &o);

    size_t wo0, bo0;
    ck_assert_int_eq(lrmlp_net_layer_offsets(net, 0, &wo0, &bo0), LRMLP_OK);
    uint64_t seed = 3;
    double w[MAXP], g[MAXP], got[MAXP], w_start[MAXP];
    rand_vec(w, n, 1.0, &seed);
    put_vec(net, lrmlp_net_params(net), w);
    memcpy(w_start, w, sizeof w);
    for (int step = 0; step < 4; step++) {
        if (step == 3) /* unfreeze before the last step */
            ck_assert_int_eq(lrmlp_net_set_frozen(net, 0, 0), LRMLP_OK);
        rand_vec(g, n, 1.0, &seed);
        put_vec(net, lrmlp_net_grads(net), g);
        if (step == 1) { /* a NaN in a frozen layer is not looked at */
            if (dt == LRMLP_F32)
                ((float *)lrmlp_net_grads(net))[wo0] = NAN;
            else
                ((double *)lrmlp_net_grads(net))[wo0] = NAN;
        }
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
        ref_step(&r, net, w, g);
        get_vec(net, lrmlp_net_params(net), got);
        expect_close(got, w, n, tol, lrmlp_optim_kind_name(kind), step);
        if (step < 3) {
            for (size_t i = 0; i < 6; i++)
                ck_assert(got[wo0 + i] == w_start[wo0 + i]);
            for (size_t i = 0; i < 2; i++)
                ck_assert(got[bo0 + i] == w_start[bo0 + i]);
            ck_assert_double_eq_tol(lrmlp_optim_last_grad_norm(opt), r.last_norm,
                                    1e-12 * r.last_norm);
        } else {
            for (size_t i = 0; i < 6; i++)
                ck_assert(got[wo0 + i] != w_start[wo0 + i]);
        }
    }
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

static void set_grad(lrmlp_net *net, size_t i, double x)
{
    if (lrmlp_net_dtype(net) == LRMLP_F32)
        ((float *)lrmlp_net_grads(net))[i] = (float)x;
    else
        ((double *)lrmlp_net_grads(net))[i] = x;
}

/* A NaN/Inf gradient: LRMLP_ERR_DIVERGED and nothing changes, so the next
 * steps match an optimizer that never saw it, bit for bit. */
START_TEST(test_nonfinite_gradient)
{
    static const lrmlp_optim_kind kinds[] = { LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAM,
                                              LRMLP_OPTIM_MUON };
    const lrmlp_dtype dt = _i % 2 ? LRMLP_F64 : LRMLP_F32;
    const size_t widths[] = { 3, 2, 3 };
    const size_t esz = dt == LRMLP_F64 ? sizeof(double) : sizeof(float);
    lrmlp_net *a = make_net(dt, 2, widths, 1);
    lrmlp_net *b = make_net(dt, 2, widths, 1);
    const size_t n = lrmlp_net_param_count(a);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = kinds[_i / 2];
    o.momentum = 0.9;
    o.clip_norm = 10.0;
    o.schedule = LRMLP_SCHEDULE_STEP;
    o.step_size = 1;
    o.gamma = 0.5;
    lrmlp_optim *oa = make_opt(a, &o), *ob = make_opt(b, &o);
    uint64_t seed = 11;
    double w[MAXP], g[MAXP];
    rand_vec(w, n, 1.0, &seed);
    put_vec(a, lrmlp_net_params(a), w);
    put_vec(b, lrmlp_net_params(b), w);

    rand_vec(g, n, 1.0, &seed);
    put_vec(a, lrmlp_net_grads(a), g);
    put_vec(b, lrmlp_net_grads(b), g);
    ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_OK);
    ck_assert_int_eq(lrmlp_optim_step(ob, b), LRMLP_OK);
    const double lr1 = lrmlp_optim_current_lr(oa), gn1 = lrmlp_optim_last_grad_norm(oa);

    const double bad[] = { NAN, INFINITY, -INFINITY };
    for (size_t k = 0; k < 3; k++) {
        rand_vec(g, n, 1.0, &seed);
        put_vec(a, lrmlp_net_grads(a), g);
        set_grad(a, (k * 5) % n, bad[k]);
        ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_ERR_DIVERGED);
        ck_assert_str_ne(lrmlp_last_errmsg(), "");
        ck_assert_mem_eq(lrmlp_net_params(a), lrmlp_net_params(b), n * esz);
        ck_assert_uint_eq(lrmlp_optim_steps(oa), 1);
        ck_assert(lrmlp_optim_current_lr(oa) == lr1);
        ck_assert(lrmlp_optim_last_grad_norm(oa) == gn1);
    }
    for (int step = 0; step < 2; step++) {
        rand_vec(g, n, 1.0, &seed);
        put_vec(a, lrmlp_net_grads(a), g);
        put_vec(b, lrmlp_net_grads(b), g);
        ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_OK);
        ck_assert_int_eq(lrmlp_optim_step(ob, b), LRMLP_OK);
        ck_assert_mem_eq(lrmlp_net_params(a), lrmlp_net_params(b), n * esz);
    }
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

/* Finite float64 gradients whose squares overflow are not "diverged": the
 * norm is computed with scaling and clipping brings the step back. */
START_TEST(test_huge_finite_gradient)
{
    const size_t widths[] = { 3, 2 };
    lrmlp_net *net = make_net(LRMLP_F64, 1, widths, 1);
    const size_t n = lrmlp_net_param_count(net);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_GD;
    o.lr = 1.0;
    o.clip_norm = 1.0;
    lrmlp_optim *opt = make_opt(net, &o);
    double w0[MAXP], w1[MAXP];
    double *p = lrmlp_net_params(net), *g = lrmlp_net_grads(net);
    for (size_t i = 0; i < n; i++) {
        p[i] = 0.0;
        g[i] = i % 2 ? 3e200 : -4e200;
    }
    memcpy(w0, p, n * sizeof *p);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    memcpy(w1, p, n * sizeof *p);
    double expect = 1e200 * sqrt((double)(n / 2) * 9.0 + (double)(n - n / 2) * 16.0);
    ck_assert_double_eq_tol(lrmlp_optim_last_grad_norm(opt), expect, 1e-12 * expect);
    double d[MAXP];
    for (size_t i = 0; i < n; i++)
        d[i] = w0[i] - w1[i];
    ck_assert_double_eq_tol(norm2(d, n), 1.0, 1e-12);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* A network of another shape or precision is refused and left alone. */
START_TEST(test_shape_mismatch)
{
    const size_t w32[] = { 3, 2 }, w34[] = { 3, 4 }, w322[] = { 3, 2, 2 };
    lrmlp_net *net = make_net(LRMLP_F64, 1, w32, 1);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_ADAM;
    lrmlp_optim *opt = make_opt(net, &o);
    struct {
        lrmlp_net *net;
        int rc;
    } bad[] = {
        { make_net(LRMLP_F64, 1, w34, 1), LRMLP_ERR_SHAPE },
        { make_net(LRMLP_F32, 1, w32, 1), LRMLP_ERR_DTYPE },
        { make_net(LRMLP_F64, 1, w32, 0), LRMLP_ERR_SHAPE },
        { make_net(LRMLP_F64, 2, w322, 1), LRMLP_ERR_SHAPE },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lrmlp_net *x = bad[k].net;
        size_t bytes = lrmlp_net_param_count(x) *
                       (lrmlp_net_dtype(x) == LRMLP_F64 ? sizeof(double) : sizeof(float));
        memset(lrmlp_net_grads(x), 0, bytes); /* zero is 0.0 in both precisions */
        unsigned char before[MAXP * sizeof(double)];
        memcpy(before, lrmlp_net_params(x), bytes);
        ck_assert_int_eq(lrmlp_optim_step(opt, x), bad[k].rc);
        ck_assert_str_ne(lrmlp_last_errmsg(), "");
        ck_assert_mem_eq(before, lrmlp_net_params(x), bytes);
        ck_assert_uint_eq(lrmlp_optim_steps(opt), 0);
        lrmlp_net_free(x);
    }
    ck_assert_int_eq(lrmlp_optim_step(opt, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_optim_step(NULL, net), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK); /* the right one works */
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* ---- schedules --------------------------------------------------------- */

START_TEST(test_schedule_values)
{
    const double tol = 1e-15;
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.lr = 0.4;
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 0), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 123456789), 0.4, tol);

    o.schedule = LRMLP_SCHEDULE_COSINE;
    o.total_steps = 100;
    o.min_lr = 0.04;
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 0), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 50), 0.22, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 25), 0.04 + 0.36 * (1 + sqrt(0.5)) / 2, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 100), 0.04, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 1000), 0.04, tol);
    for (uint64_t t = 1; t <= 100; t++) /* non-increasing */
        ck_assert_double_le(lrmlp_schedule_lr(&o, t), lrmlp_schedule_lr(&o, t - 1));

    /* cosine with warm-up: T = 90 */
    o.warmup_steps = 10;
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 0), 0.04, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 4), 0.2, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 9), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 10), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 55), 0.22, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 100), 0.04, tol);

    o.schedule = LRMLP_SCHEDULE_STEP;
    o.warmup_steps = 0;
    o.step_size = 10;
    o.gamma = 0.5;
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 0), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 9), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 10), 0.2, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 25), 0.1, tol);
    o.warmup_steps = 4; /* s = t - 4 */
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 0), 0.1, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 3), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 13), 0.4, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 14), 0.2, tol);

    o.schedule = LRMLP_SCHEDULE_CONSTANT; /* warm-up on a constant rate */
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 1), 0.2, tol);
    ck_assert_double_eq_tol(lrmlp_schedule_lr(&o, 4), 0.4, tol);

    /* invalid options give NaN */
    ck_assert(isnan(lrmlp_schedule_lr(NULL, 0)));
    lrmlp_optim_options bad = o;
    bad.lr = -1;
    ck_assert(isnan(lrmlp_schedule_lr(&bad, 0)));
    bad = o;
    bad.schedule = LRMLP_SCHEDULE_COSINE;
    bad.total_steps = 4; /* not more than warmup_steps */
    ck_assert(isnan(lrmlp_schedule_lr(&bad, 0)));
    bad = o;
    bad.version = 99;
    ck_assert(isnan(lrmlp_schedule_lr(&bad, 0)));
}
END_TEST

/* The optimizer uses the schedule at its own step count. */
START_TEST(test_schedule_in_step)
{
    const size_t widths[] = { 3, 2 };
    lrmlp_net *net = make_net(LRMLP_F64, 1, widths, 1);
    const size_t n = lrmlp_net_param_count(net);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = LRMLP_OPTIM_GD;
    o.lr = 0.8;
    o.schedule = LRMLP_SCHEDULE_STEP;
    o.step_size = 2;
    o.gamma = 0.5;
    o.warmup_steps = 2;
    lrmlp_optim *opt = make_opt(net, &o);
    const double want[] = { 0.4, 0.8, 0.8, 0.8, 0.4, 0.4, 0.2 };
    double *p = lrmlp_net_params(net), *g = lrmlp_net_grads(net);
    for (size_t i = 0; i < n; i++)
        g[i] = 1.0;
    for (uint64_t t = 0; t < 7; t++) {
        ck_assert_double_eq_tol(lrmlp_optim_current_lr(opt), want[t], 1e-15);
        double before = p[0];
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
        ck_assert_double_eq_tol(before - p[0], want[t], 1e-14);
    }
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* ---- options ----------------------------------------------------------- */

typedef struct bad_option {
    const char *field; /* must appear in the message */
    int rc;
    void (*set)(lrmlp_optim_options *o);
} bad_option;

static void bo_version(lrmlp_optim_options *o) { o->version = 2; }
static void bo_version0(lrmlp_optim_options *o) { o->version = 0; }
static void bo_kind(lrmlp_optim_options *o) { o->kind = LRMLP_OPTIM_COUNT_; }
static void bo_lr0(lrmlp_optim_options *o) { o->lr = 0.0; }
static void bo_lr_nan(lrmlp_optim_options *o) { o->lr = NAN; }
static void bo_lr_inf(lrmlp_optim_options *o) { o->lr = INFINITY; }
static void bo_mom1(lrmlp_optim_options *o) { o->momentum = 1.0; }
static void bo_mom_neg(lrmlp_optim_options *o) { o->momentum = -0.1; }
static void bo_b1(lrmlp_optim_options *o) { o->beta1 = 1.0; }
static void bo_b2(lrmlp_optim_options *o) { o->beta2 = NAN; }
static void bo_eps(lrmlp_optim_options *o) { o->eps = 0.0; }
static void bo_wd(lrmlp_optim_options *o) { o->weight_decay = -1e-3; }
static void bo_clip(lrmlp_optim_options *o) { o->clip_norm = -1.0; }
static void bo_ns0(lrmlp_optim_options *o) { o->ns_steps = 0; }
static void bo_ns101(lrmlp_optim_options *o) { o->ns_steps = 101; }
static void bo_sched(lrmlp_optim_options *o) { o->schedule = LRMLP_SCHEDULE_COUNT_; }
static void bo_cos_total(lrmlp_optim_options *o)
{
    o->schedule = LRMLP_SCHEDULE_COSINE;
    o->total_steps = 10;
    o->warmup_steps = 10;
}
static void bo_cos_min(lrmlp_optim_options *o)
{
    o->schedule = LRMLP_SCHEDULE_COSINE;
    o->total_steps = 10;
    o->min_lr = -1.0;
}
static void bo_step_size(lrmlp_optim_options *o) { o->schedule = LRMLP_SCHEDULE_STEP; }
static void bo_gamma(lrmlp_optim_options *o)
{
    o->schedule = LRMLP_SCHEDULE_STEP;
    o->step_size = 5;
    o->gamma = 0.0;
}

static const bad_option bad_options[] = {
    { "version", LRMLP_ERR_VERSION, bo_version },
    { "version", LRMLP_ERR_VERSION, bo_version0 },
    { "kind", LRMLP_ERR_INVALID, bo_kind },
    { "lr", LRMLP_ERR_INVALID, bo_lr0 },
    { "lr", LRMLP_ERR_INVALID, bo_lr_nan },
    { "lr", LRMLP_ERR_INVALID, bo_lr_inf },
    { "momentum", LRMLP_ERR_INVALID, bo_mom1 },
    { "momentum", LRMLP_ERR_INVALID, bo_mom_neg },
    { "beta1", LRMLP_ERR_INVALID, bo_b1 },
    { "beta2", LRMLP_ERR_INVALID, bo_b2 },
    { "eps", LRMLP_ERR_INVALID, bo_eps },
    { "weight_decay", LRMLP_ERR_INVALID, bo_wd },
    { "clip_norm", LRMLP_ERR_INVALID, bo_clip },
    { "ns_steps", LRMLP_ERR_INVALID, bo_ns0 },
    { "ns_steps", LRMLP_ERR_INVALID, bo_ns101 },
    { "schedule", LRMLP_ERR_INVALID, bo_sched },
    { "total_steps", LRMLP_ERR_INVALID, bo_cos_total },
    { "min_lr", LRMLP_ERR_INVALID, bo_cos_min },
    { "step_size", LRMLP_ERR_INVALID, bo_step_size },
    { "gamma", LRMLP_ERR_INVALID, bo_gamma },
};

START_TEST(test_options_validation)
{
    const bad_option *b = &bad_options[_i];
    const size_t widths[] = { 3, 2 };
    lrmlp_net *net = make_net(LRMLP_F32, 1, widths, 0);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    b->set(&o);
    lrmlp_optim *opt = (lrmlp_optim *)&o; /* must be reset to NULL */
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, &o), b->rc);
    ck_assert_ptr_null(opt);
    ck_assert_msg(strstr(lrmlp_last_errmsg(), b->field) != NULL, "message '%s' lacks '%s'",
                  lrmlp_last_errmsg(), b->field);
    ck_assert(isnan(lrmlp_schedule_lr(&o, 0)));
    lrmlp_net_free(net);
}
END_TEST

START_TEST(test_options_init_and_getters)
{
    lrmlp_optim_options o, d = LRMLP_OPTIM_OPTIONS_INIT;
    memset(&o, 0xab, sizeof o);
    ck_assert_int_eq(lrmlp_optim_options_init(&o, LRMLP_OPTIM_OPTIONS_VERSION), LRMLP_OK);
    ck_assert_uint_eq(o.version, LRMLP_OPTIM_OPTIONS_VERSION);
    ck_assert_int_eq(o.kind, LRMLP_OPTIM_SGD);
    ck_assert(o.lr == 0.01 && o.momentum == 0.0 && o.nesterov == 0);
    ck_assert(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
    ck_assert(o.weight_decay == 0.0 && o.clip_norm == 0.0 && o.ns_steps == 5);
    ck_assert(o.schedule == LRMLP_SCHEDULE_CONSTANT && o.min_lr == 0.0 && o.gamma == 0.1);
    ck_assert(o.total_steps == 0 && o.step_size == 0 && o.warmup_steps == 0);
    ck_assert(o.lr == d.lr && o.ns_steps == d.ns_steps && o.gamma == d.gamma);
    ck_assert_int_eq(lrmlp_optim_options_init(&o, 2), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_optim_options_init(NULL, 1), LRMLP_ERR_INVALID);

    const size_t widths[] = { 3, 2 };
    lrmlp_net *net = make_net(LRMLP_F32, 1, widths, 0);
    lrmlp_optim *opt = NULL;
    ck_assert_int_eq(lrmlp_optim_create(&opt, NULL, &d), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(opt);
    ck_assert_int_eq(lrmlp_optim_create(&opt, net, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_optim_create(NULL, net, &d), LRMLP_ERR_INVALID);

    d.kind = LRMLP_OPTIM_ADAMW;
    d.lr = 0.003;
    d.weight_decay = 0.02;
    d.schedule = LRMLP_SCHEDULE_COSINE;
    d.total_steps = 1000;
    d.warmup_steps = 100;
    opt = make_opt(net, &d);
    ck_assert_int_eq(lrmlp_optim_get_options(opt, &o), LRMLP_OK);
    ck_assert(o.kind == d.kind && o.lr == d.lr && o.weight_decay == d.weight_decay);
    ck_assert(o.schedule == d.schedule && o.total_steps == 1000 && o.warmup_steps == 100);
    ck_assert_int_eq(lrmlp_optim_get_options(opt, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_optim_get_options(NULL, &o), LRMLP_ERR_INVALID);
    ck_assert(strlen(lrmlp_last_errmsg()) > 0);
    /* successful calls leave the thread's last error alone; clear resets it */
    lrmlp_error_clear();
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_optim_steps(opt), 0);
    ck_assert_double_eq_tol(lrmlp_optim_current_lr(opt), 0.003 / 100, 1e-18);
    ck_assert_int_eq(lrmlp_optim_get_options(opt, &o), LRMLP_OK);
    ck_assert_str_eq(lrmlp_last_errmsg(), "");
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_OK);

    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_GD), "gd");
    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_SGD), "sgd");
    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_ADAM), "adam");
    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_ADAMW), "adamw");
    ck_assert_str_eq(lrmlp_optim_kind_name(LRMLP_OPTIM_MUON), "muon");
    ck_assert_ptr_null(lrmlp_optim_kind_name(LRMLP_OPTIM_COUNT_));

    ck_assert_uint_eq(lrmlp_optim_steps(NULL), 0);
    ck_assert(isnan(lrmlp_optim_current_lr(NULL)));
    ck_assert_ptr_nonnull(lrmlp_last_errmsg());
    lrmlp_optim_reset(NULL);
    lrmlp_optim_free(NULL);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}
END_TEST

/* ---- determinism and reset -------------------------------------------- */

/* Runs k steps of seeded gradients on a net starting from seeded weights. */
static void run_steps(lrmlp_net *net, lrmlp_optim *opt, int k, uint64_t seed)
{
    const size_t n = lrmlp_net_param_count(net);
    double x[MAXP];
    for (int s = 0; s < k; s++) {
        rand_vec(x, n, 1.0, &seed);
        put_vec(net, lrmlp_net_grads(net), x);
        ck_assert_int_eq(lrmlp_optim_step(opt, net), LRMLP_OK);
    }
}

START_TEST(test_determinism_and_reset)
{
    static const lrmlp_optim_kind kinds[] = { LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAM,
                                              LRMLP_OPTIM_MUON };
    const lrmlp_dtype dt = _i % 2 ? LRMLP_F64 : LRMLP_F32;
    const size_t esz = dt == LRMLP_F64 ? sizeof(double) : sizeof(float);
    const size_t widths[] = { 3, 4, 2 };
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = kinds[_i / 2];
    o.momentum = 0.9;
    o.nesterov = 1;
    o.weight_decay = 0.01;
    o.clip_norm = 1.0;
    lrmlp_net *a = make_net(dt, 2, widths, 1), *b = make_net(dt, 2, widths, 1);
    const size_t n = lrmlp_net_param_count(a);
    double w[MAXP];
    uint64_t seed = 5;
    rand_vec(w, n, 1.0, &seed);
    put_vec(a, lrmlp_net_params(a), w);
    put_vec(b, lrmlp_net_params(b), w);
    lrmlp_optim *oa = make_opt(a, &o), *ob = make_opt(b, &o);
    run_steps(a, oa, 5, 77);
    run_steps(b, ob, 5, 77);
    ck_assert_mem_eq(lrmlp_net_params(a), lrmlp_net_params(b), n * esz);
    double now[MAXP];
    get_vec(a, lrmlp_net_params(a), now);
    ck_assert(memcmp(now, w, n * sizeof *w) != 0); /* the steps did something */

    /* reset: same as a new optimizer from here on */
    lrmlp_optim_reset(oa);
    ck_assert_uint_eq(lrmlp_optim_steps(oa), 0);
    lrmlp_optim_free(ob);
    ob = make_opt(b, &o);
    run_steps(a, oa, 3, 78);
    run_steps(b, ob, 3, 78);
    ck_assert_mem_eq(lrmlp_net_params(a), lrmlp_net_params(b), n * esz);
    ck_assert_uint_eq(lrmlp_optim_steps(oa), 3);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

/* ---- an update that would leave a non-finite value is refused ---------- */

typedef struct diverge_case {
    lrmlp_dtype dt;
    lrmlp_optim_kind kind;
    double lr, momentum;
    double bad_g; /* 0: the learning rate alone overflows, the first step fails */
} diverge_case;

static const diverge_case diverge_cases[] = {
    {LRMLP_F32, LRMLP_OPTIM_GD, 1e39, 0, 0},      /* (float)lr = inf */
    {LRMLP_F32, LRMLP_OPTIM_SGD, 1e300, 0.9, 0},
    {LRMLP_F32, LRMLP_OPTIM_ADAM, 1e39, 0, 0},
    {LRMLP_F32, LRMLP_OPTIM_MUON, 1e39, 0.9, 0},
    {LRMLP_F32, LRMLP_OPTIM_SGD, 2.0, 0.9, 3e38},  /* w - 2 * 3e38 */
    {LRMLP_F32, LRMLP_OPTIM_ADAM, 0.01, 0, 1e30},  /* v = g^2 overflows */
    {LRMLP_F32, LRMLP_OPTIM_ADAMW, 0.01, 0, 1e30},
    {LRMLP_F64, LRMLP_OPTIM_GD, 1e10, 0, 1e300},   /* lr * g overflows */
    {LRMLP_F64, LRMLP_OPTIM_SGD, 1e10, 0.9, 1e300},
    {LRMLP_F64, LRMLP_OPTIM_ADAM, 0.01, 0, 1e200},
};

/* The refused step returns DIVERGED and leaves the weights byte-identical and
 * the optimizer as it was: a twin that never saw the bad gradient takes the
 * same next step, bit for bit. */
START_TEST(test_diverged_step_changes_nothing)
{
    const diverge_case *c = &diverge_cases[_i];
    const size_t w[] = {3, 4, 2};
    lrmlp_net *a = make_net(c->dt, 2, w, 1), *b = make_net(c->dt, 2, w, 1);
    lrmlp_optim_options o = LRMLP_OPTIM_OPTIONS_INIT;
    o.kind = c->kind;
    o.lr = c->lr;
    o.momentum = c->momentum;
    lrmlp_optim *oa = make_opt(a, &o), *ob = make_opt(b, &o);
    size_t P = lrmlp_net_param_count(a), bytes = P * (c->dt == LRMLP_F32 ? 4 : 8);
    double g[MAXP];
    uint64_t seed = 9;
    unsigned char before[MAXP * 8];
    if (c->bad_g == 0) {
        rand_vec(g, P, 1.0, &seed);
        put_vec(a, lrmlp_net_grads(a), g);
        memcpy(before, lrmlp_net_params(a), bytes);
        ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_ERR_DIVERGED);
        ck_assert_int_eq(memcmp(before, lrmlp_net_params(a), bytes), 0);
        ck_assert_uint_eq(lrmlp_optim_steps(oa), 0);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "not finite"));
    } else {
        double scale = c->dt == LRMLP_F32 ? 1e-3 : 1e-12; /* lr * g stays small */
        for (int step = 0; step < 3; step++) {
            rand_vec(g, P, step == 1 ? c->bad_g : scale, &seed);
            put_vec(a, lrmlp_net_grads(a), g);
            put_vec(b, lrmlp_net_grads(b), g);
            memcpy(before, lrmlp_net_params(a), bytes);
            if (step == 1) {
                ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_ERR_DIVERGED);
                ck_assert_int_eq(memcmp(before, lrmlp_net_params(a), bytes), 0);
                continue;
            }
            ck_assert_int_eq(lrmlp_optim_step(oa, a), LRMLP_OK);
            ck_assert_int_eq(lrmlp_optim_step(ob, b), LRMLP_OK);
            ck_assert_int_eq(memcmp(lrmlp_net_params(a), lrmlp_net_params(b), bytes), 0);
        }
        ck_assert_uint_eq(lrmlp_optim_steps(oa), 2);
    }
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_rules_match_reference, 0, (int)(2 * N_RULE_CASES));
    tcase_add_loop_test(tc, test_clip_norm, 0, 2);
    tcase_add_loop_test(tc, test_muon_polar, 0, 4);
    tcase_add_loop_test(tc, test_frozen, 0, 6);
    tcase_add_loop_test(tc, test_nonfinite_gradient, 0, 6);
    tcase_add_test(tc, test_huge_finite_gradient);
    tcase_add_test(tc, test_shape_mismatch);
    tcase_add_loop_test(tc, test_determinism_and_reset, 0, 6);
    suite_add_tcase(s, tc);

    tc = tcase_create("schedules");
    tcase_add_test(tc, test_schedule_values);
    tcase_add_test(tc, test_schedule_in_step);
    tcase_add_loop_test(tc, test_diverged_step_changes_nothing, 0,
                        (int)(sizeof diverge_cases / sizeof diverge_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("options");
    tcase_add_loop_test(tc, test_options_validation, 0,
                        (int)(sizeof bad_options / sizeof bad_options[0]));
    tcase_add_test(tc, test_options_init_and_getters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(optim_suite()); }
