/* Optimizer kernels for one precision, included by optim.c between
 * real_f32.h / real_f64.h and real_undef.h (the names it uses come from
 * there); also expects step_args. */
/* Sum of squares of x[0..n), accumulated in double. */
LRMLP_KERNEL(SFX(sumsq_k), (const REAL *restrict x, size_t n, double *out), (x, n, out))
{
    /* Eight independent partial sums: the compiler may vectorize them
     * without reassociating, so the result stays deterministic. */
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++)
        acc[0] += (double)x[i] * (double)x[i];
    *out = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double SFX(sumsq)(const REAL *x, size_t n)
{
    double s;
    SFX(sumsq_k)(x, n, &s);
    return s;
}

static double SFX(max_abs)(const REAL *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > m)
            m = a;
    }
    return m;
}

/* Sum of squares of x / scale (scale > 0), for gradients whose plain sum of
 * squares overflows. */
static double SFX(sumsq_scaled)(const REAL *x, size_t n, double scale)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = (double)x[i] / scale;
        s += a * a;
    }
    return s;
}

/* The update kernels below take dry: with dry set they compute the new
 * values without storing them and return 0 if any of them (weight or state)
 * is NaN or Inf, 1 otherwise; with dry clear they store them. The same
 * loop serves both (the compiler unswitches it on dry), so a dry run
 * predicts exactly what the real one writes. x - x == 0 is the finiteness
 * test: an integer AND reduction, which vectorizes where a float one could
 * not without reassociation. */

/* GD/SGD on one contiguous range: d = gs*g + wd*w; without state w -= lr*d;
 * with state m = mu*m + d, w -= lr*(nesterov ? d + mu*m : m). */
LRMLP_KERNEL(SFX(sgd_k),
             (REAL *restrict w, const REAL *restrict g, REAL *restrict m, size_t n,
              const step_args *a, int dry, int *ok_out),
             (w, g, m, n, a, dry, ok_out))
{
    const REAL lr = (REAL)a->lr, wd = (REAL)a->wd, gs = (REAL)a->gs, mu = (REAL)a->mu;
    int ok = 1;
    if (!m) {
        for (size_t i = 0; i < n; i++) {
            REAL wn = w[i] - lr * (gs * g[i] + wd * w[i]);
            ok &= wn - wn == 0;
            if (!dry)
                w[i] = wn;
        }
    } else if (a->nesterov) {
        for (size_t i = 0; i < n; i++) {
            REAL d = gs * g[i] + wd * w[i];
            REAL b = mu * m[i] + d;
            REAL wn = w[i] - lr * (d + mu * b);
            ok &= (wn - wn == 0) & (b - b == 0);
            if (!dry) {
                m[i] = b;
                w[i] = wn;
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            REAL b = mu * m[i] + (gs * g[i] + wd * w[i]);
            REAL wn = w[i] - lr * b;
            ok &= (wn - wn == 0) & (b - b == 0);
            if (!dry) {
                m[i] = b;
                w[i] = wn;
            }
        }
    }
    *ok_out = ok;
}

static int SFX(sgd)(REAL *w, const REAL *g, REAL *m, size_t n, const step_args *a, int dry)
{
    int ok;
    SFX(sgd_k)(w, g, m, n, a, dry, &ok);
    return ok;
}

/* Adam (decoupled = 0) or AdamW (decoupled = 1) on one contiguous range. */
LRMLP_KERNEL(SFX(adam_k),
             (REAL *restrict w, const REAL *restrict g, REAL *restrict m, REAL *restrict v,
              size_t n, const step_args *a, int decoupled, int dry, int *ok_out),
             (w, g, m, v, n, a, decoupled, dry, ok_out))
{
    const REAL gs = (REAL)a->gs, b1 = (REAL)a->b1, b2 = (REAL)a->b2, eps = (REAL)a->eps;
    const REAL c1 = (REAL)(1.0 - a->b1), c2 = (REAL)(1.0 - a->b2);
    const REAL step = (REAL)(a->lr / a->bc1);          /* lr / (1 - b1^t) */
    const REAL bc2s = (REAL)sqrt(a->bc2);              /* sqrt(1 - b2^t) */
    const REAL wdc = decoupled ? (REAL)0 : (REAL)a->wd; /* coupled decay */
    const REAL keep = decoupled ? (REAL)(1.0 - a->lr * a->wd) : (REAL)1;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        REAL gi = gs * g[i] + wdc * w[i];
        REAL mi = b1 * m[i] + c1 * gi;
        REAL vi = b2 * v[i] + c2 * gi * gi;
        REAL wn = keep * w[i] - step * mi / (R_SQRT(vi) / bc2s + eps);
        ok &= (wn - wn == 0) & (mi - mi == 0) & (vi - vi == 0);
        if (!dry) {
            m[i] = mi;
            v[i] = vi;
            w[i] = wn;
        }
    }
    *ok_out = ok;
}

static int SFX(adam)(REAL *w, const REAL *g, REAL *m, REAL *v, size_t n, const step_args *a,
                     int decoupled, int dry)
{
    int ok;
    SFX(adam_k)(w, g, m, v, n, a, decoupled, dry, &ok);
    return ok;
}

/* Muon's dry run, without the Newton-Schulz iteration: the momentum (and
 * Nesterov input) must be finite, and so must w - lr*(scale*x + wd*w) for
 * every x in [-2, 2], which holds the entries of NS(M): its singular values
 * stay below 1.21 (the quintic's maximum on [0, 1.21] is 1.202 and
 * ||M / ||M||_F||_2 <= 1), and an entry is at most the largest singular
 * value. Being monotone in x, the update is checked at the two ends. */
static int SFX(muon_dry)(const REAL *restrict w, const REAL *restrict g,
                         const REAL *restrict m, size_t rows, size_t cols, const step_args *a)
{
    const size_t n = rows * cols;
    const REAL gs = (REAL)a->gs, mu = (REAL)a->mu, lr = (REAL)a->lr, wd = (REAL)a->wd;
    const double ratio = (double)rows / (double)cols;
    const REAL x = (REAL)(2.0 * (ratio > 1.0 ? sqrt(ratio) : 1.0));
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        REAL lo = w[i] - lr * (x + wd * w[i]), hi = w[i] - lr * (-x + wd * w[i]);
        REAL b = m ? mu * m[i] + gs * g[i] : gs * g[i];
        REAL y = m && a->nesterov ? gs * g[i] + mu * b : b;
        ok &= (lo - lo == 0) & (hi - hi == 0) & (b - b == 0) & (y - y == 0);
    }
    return ok;
}

/* Muon on one rows x cols weight matrix (row-major). ws holds
 * 2*rows*cols + 2*r*r elements, r = min(rows, cols). */
static void SFX(muon)(REAL *restrict w, const REAL *restrict g, REAL *restrict m,
                      size_t rows, size_t cols, const step_args *a, REAL *ws)
{
    const int trans = rows > cols;
    const size_t r = trans ? cols : rows, c = trans ? rows : cols, n = rows * cols;
    const REAL gs = (REAL)a->gs, mu = (REAL)a->mu;
    REAL *X = ws, *Y = ws + n, *A = ws + 2 * n, *B = A + r * r;

    /* M = momentum-filtered gradient, rows x cols, into Y. */
    if (!m) {
        for (size_t i = 0; i < n; i++)
            Y[i] = gs * g[i];
    } else if (a->nesterov) {
        for (size_t i = 0; i < n; i++) {
            REAL gi = gs * g[i];
            REAL b = mu * m[i] + gi;
            m[i] = b;
            Y[i] = gi + mu * b;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            REAL b = mu * m[i] + gs * g[i];
            m[i] = b;
            Y[i] = b;
        }
    }

    /* X = M / (||M||_F + 1e-7), as r x c with r <= c (M^T when rows > cols). */
    const REAL s = (REAL)(1.0 / (sqrt(SFX(sumsq)(Y, n)) + 1e-7));
    if (!trans) {
        for (size_t i = 0; i < n; i++)
            X[i] = s * Y[i];
    } else {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                X[j * rows + i] = s * Y[i * cols + j];
    }

    /* Quintic Newton-Schulz: A = X X^T; B = nb*A + nc*A*A; X = na*X + B*X. */
    const REAL na = (REAL)3.4445, nb = (REAL)-4.7750, nc = (REAL)2.0315;
    const lrmlp_blasint ir = (lrmlp_blasint)r, ic = (lrmlp_blasint)c; /* checked at creation */
    for (int k = 0; k < a->ns_steps; k++) {
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, ir, ir, ic, (REAL)1, X, ic, X, ic,
             (REAL)0, A, ir);
        for (size_t i = 0; i < r * r; i++)
            B[i] = nb * A[i];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, ir, ir, ir, nc, A, ir, A, ir,
             (REAL)1, B, ir);
        for (size_t i = 0; i < n; i++)
            Y[i] = na * X[i];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, ir, ic, ir, (REAL)1, B, ir, X, ic,
             (REAL)1, Y, ic);
        REAL *t = X;
        X = Y;
        Y = t;
    }
    if (trans) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                Y[i * cols + j] = X[j * rows + i];
        X = Y;
    }

    /* w -= lr * (sqrt(max(1, rows/cols)) * X + wd * w) */
    const double ratio = (double)rows / (double)cols;
    const REAL scale = (REAL)(ratio > 1.0 ? sqrt(ratio) : 1.0);
    const REAL lr = (REAL)a->lr, wd = (REAL)a->wd;
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * (scale * X[i] + wd * w[i]);
}

/* L2 norm of the gradient over unfrozen layers, in double. Returns 0 and
 * sets *bad to the first layer holding NaN/Inf; otherwise returns 1 with the
 * norm in *norm (finite: squares that overflow are rescaled). */
static int SFX(grad_norm)(const lrmlp_net *net, double *norm, size_t *bad)
{
    const REAL *g = (const REAL *)net->grads;
    double s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        s += SFX(sumsq)(g + L->w_off, L->out * L->in);
        if (L->b_off != SIZE_MAX)
            s += SFX(sumsq)(g + L->b_off, L->out);
    }
    if (isfinite(s)) {
        *norm = sqrt(s);
        return 1;
    }
    /* Either a non-finite entry or an overflow of the squares (doubles only). */
    double mx = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        size_t nb = L->b_off != SIZE_MAX ? L->out : 0;
        if (!SFX(lrmlp__all_finite)(g + L->w_off, L->out * L->in) ||
            (nb && !SFX(lrmlp__all_finite)(g + L->b_off, nb))) {
            *bad = l;
            return 0;
        }
        double a = SFX(max_abs)(g + L->w_off, L->out * L->in);
        double b = nb ? SFX(max_abs)(g + L->b_off, nb) : 0.0;
        if (a > mx)
            mx = a;
        if (b > mx)
            mx = b;
    }
    s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        s += SFX(sumsq_scaled)(g + L->w_off, L->out * L->in, mx);
        if (L->b_off != SIZE_MAX)
            s += SFX(sumsq_scaled)(g + L->b_off, L->out, mx);
    }
    *norm = sqrt(s) * mx;
    return 1;
}

/* The element-wise rule on elements [o, o + n) of the parameter vector: Adam
 * or AdamW, else GD/SGD (also the biases of a Muon network). Muon's
 * weight matrices go through SFX(muon) instead. */
static int SFX(update_range)(const lrmlp_optim *opt, lrmlp_net *net, size_t o, size_t n,
                             const step_args *a, int dry)
{
    REAL *w = (REAL *)net->params + o;
    const REAL *g = (const REAL *)net->grads + o;
    REAL *m = opt->m ? (REAL *)opt->m + o : NULL, *v = opt->v ? (REAL *)opt->v + o : NULL;
    if (opt->o.kind == LRMLP_OPTIM_ADAM || opt->o.kind == LRMLP_OPTIM_ADAMW)
        return SFX(adam)(w, g, m, v, n, a, opt->o.kind == LRMLP_OPTIM_ADAMW, dry);
    return SFX(sgd)(w, g, m, n, a, dry);
}

/* One update of every unfrozen layer; with dry, only whether it would leave
 * every weight and state value finite (1) or not (0), storing nothing. */
static int SFX(apply)(lrmlp_optim *opt, lrmlp_net *net, const step_args *a_all, int dry)
{
    int ok = 1;
    step_args layer_args = *a_all;
    const step_args *a = &layer_args;
    REAL *w = (REAL *)net->params;
    const REAL *g = (const REAL *)net->grads;
    REAL *m = (REAL *)opt->m;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *L = &net->layers[l];
        if (L->frozen)
            continue;
        const size_t wo = L->w_off;
        layer_args.lr = a_all->lr * opt->lr_scale[l];
        if (opt->o.kind != LRMLP_OPTIM_MUON)
            ok &= SFX(update_range)(opt, net, wo, L->out * L->in, a, dry);
        else if (dry)
            ok &= SFX(muon_dry)(w + wo, g + wo, m ? m + wo : NULL, L->out, L->in, a);
        else
            SFX(muon)(w + wo, g + wo, m ? m + wo : NULL, L->out, L->in, a, (REAL *)opt->ws);
        if (L->b_off != SIZE_MAX)
            ok &= SFX(update_range)(opt, net, L->b_off, L->out, a, dry);
        if (dry && !ok)
            return 0;
    }
    return ok;
}

/* Tile t of a tiled pass (tile_job_, optim.c) for GD, SGD, Adam and
 * AdamW: with j->dry, the tile's gradient sum of squares into
 * opt->tile_sq[t] and whether its update stays finite into opt->tile_ok[t]
 * (the gradient tile read by the sum of squares is still in cache for the
 * dry update); without, the update itself. Tiles are independent, so any
 * spread over threads gives the same bits. */
static void SFX(tile_work)(void *ctx, size_t t)
{
    const tile_job_ *j = ctx;
    lrmlp_optim *opt = j->opt;
    const REAL *g = (const REAL *)j->net->grads;
    const lrmlp__tile *T = &opt->tiles[t];
    step_args la = *j->a;
    la.lr = j->a->lr * opt->lr_scale[T->layer];
    if (j->dry) {
        opt->tile_sq[t] = SFX(sumsq)(g + T->off, T->n);
        opt->tile_ok[t] = SFX(update_range)(opt, j->net, T->off, T->n, &la, 1);
    } else {
        SFX(update_range)(opt, j->net, T->off, T->n, &la, 0);
    }
}
