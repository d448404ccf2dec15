/* Forward and backward passes, written once and instantiated for float and
 * double by net.c. Expects REAL, SFX, GEMM (cblas_sgemm/cblas_dgemm). */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

static int FN(all_finite)(const REAL *x, size_t n)
{
    /* x - x is 0 for finite x and NaN for Inf/NaN; summing keeps this a
     * branch-free, vectorizable loop. */
    REAL acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] - x[i];
    return acc == 0;
}

/* Forward pass over n rows of X. Layer outputs go to net->h[1..L];
 * with training set, phi'(z) is kept in net->dact. */
static void FN(forward)(lrmlp_net *net, const REAL *X, size_t n, int training)
{
    const REAL *P = (const REAL *)net->params;
    const REAL *in = X, *prev_in = NULL;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        REAL *H = (REAL *)net->h[l + 1];
        REAL beta = 0;
        if (ly->b_off != SIZE_MAX) {
            const REAL *b = P + ly->b_off;
            for (size_t i = 0; i < n; i++)
                memcpy(H + i * ly->out, b, ly->out * sizeof(REAL));
            beta = 1;
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)ly->out,
             (blasint)ly->in, 1, in, (blasint)ly->in, P + ly->w_off, (blasint)ly->in, beta, H,
             (blasint)ly->out);
        if (net->adapter)
            FN(lrmlp__adapter_forward)(net, l, prev_in, H, n);
        if (ly->act != LRMLP_ACT_IDENTITY)
            FN(lrmlp__act_forward)(ly->act, H, training ? (REAL *)net->dact[l] : NULL,
                                   n * ly->out, training, &net->rng);
        prev_in = in;
        in = H;
    }
}

/* Loss of outputs Y (n x k) against T; when dY is not NULL also writes
 * d loss / d Y there. Accumulates in double. */
static double FN(loss)(lrmlp_loss kind, const REAL *Y, const REAL *T, size_t n, size_t k,
                       REAL *dY, size_t norm_n)
{
    /* Means (MSE, cross-entropy) divide by norm_n, the size of the whole
     * batch, which is n unless this call is one chunk of a larger batch. */
    double total = 0;
    if (kind == LRMLP_LOSS_CROSS_ENTROPY) {
        const REAL inv_n = (REAL)(1.0 / (double)norm_n);
        for (size_t i = 0; i < n; i++) {
            const REAL *y = Y + i * k, *t = T + i * k;
            REAL mx = y[0];
            for (size_t j = 1; j < k; j++)
                mx = y[j] > mx ? y[j] : mx;
            double se = 0, tsum = 0, ty = 0;
            for (size_t j = 0; j < k; j++) {
                se += exp((double)(y[j] - mx));
                tsum += t[j];
                ty += (double)t[j] * (double)(y[j] - mx);
            }
            double lse = log(se);
            total += tsum * lse - ty;
            if (dY) {
                REAL *g = dY + i * k;
                for (size_t j = 0; j < k; j++)
                    g[j] = (REAL)((double)tsum * exp((double)(y[j] - mx) - lse) - t[j]) * inv_n;
            }
        }
        return total / (double)norm_n;
    }
    const REAL scale = kind == LRMLP_LOSS_MSE ? (REAL)(1.0 / (double)norm_n) : 1;
    size_t nk = n * k;
    for (size_t i = 0; i < nk; i++) {
        REAL r = Y[i] - T[i];
        total += (double)r * (double)r;
        if (dY)
            dY[i] = r * scale;
    }
    total *= 0.5;
    return kind == LRMLP_LOSS_MSE ? total / (double)norm_n : total;
}

/* Backward pass from dY (in net->delta[0], n x widths[L]) after a training
 * forward pass over X. Fills the gradient vector, or with accumulate adds to
 * it (one chunk of a larger batch). */
static void FN(backward)(lrmlp_net *net, const REAL *X, size_t n, int accumulate)
{
    const REAL acc_beta = accumulate ? 1 : 0;
    const REAL *P = (const REAL *)net->params;
    REAL *G = (REAL *)net->grads;
    size_t L = net->n_layers;
    /* Layers below the lowest unfrozen one need no error signal. */
    size_t lowest = L;
    for (size_t l = 0; l < L; l++) {
        if (!net->layers[l].frozen) {
            lowest = l;
            break;
        }
    }
    int cur = 0;
    REAL *delta = (REAL *)net->delta[0];
    if (L > 0 && net->layers[L - 1].act != LRMLP_ACT_IDENTITY) {
        const REAL *d = (const REAL *)net->dact[L - 1];
        size_t m = n * net->layers[L - 1].out;
        for (size_t i = 0; i < m; i++)
            delta[i] *= d[i];
    }
    for (size_t l = L; l-- > 0;) {
        const lrmlp_layer_ *ly = &net->layers[l];
        const REAL *in = l == 0 ? X : (const REAL *)net->h[l];
        REAL *gW = G + ly->w_off;
        if (ly->frozen) {
            if (!accumulate) {
                memset(gW, 0, ly->out * ly->in * sizeof(REAL));
                if (ly->b_off != SIZE_MAX)
                    memset(G + ly->b_off, 0, ly->out * sizeof(REAL));
            }
        } else {
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)ly->out, (blasint)ly->in,
                 (blasint)n, 1, delta, (blasint)ly->out, in, (blasint)ly->in, acc_beta, gW,
                 (blasint)ly->in);
            if (ly->b_off != SIZE_MAX) {
                REAL *gb = G + ly->b_off;
                if (!accumulate)
                    memset(gb, 0, ly->out * sizeof(REAL));
                for (size_t i = 0; i < n; i++) {
                    const REAL *row = delta + i * ly->out;
                    for (size_t j = 0; j < ly->out; j++)
                        gb[j] += row[j];
                }
            }
        }
        if (l == 0 || l <= lowest)
            continue;
        if (net->adapter)
            FN(lrmlp__adapter_backward)(net, l, delta, n, lowest);
        REAL *prev = (REAL *)net->delta[cur ^ 1];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n, (blasint)ly->in,
             (blasint)ly->out, 1, delta, (blasint)ly->out, P + ly->w_off, (blasint)ly->in, 0,
             prev, (blasint)ly->in);
        if (net->adapter)
            FN(lrmlp__adapter_add_side)(net, l, prev, n);
        const lrmlp_layer_ *below = &net->layers[l - 1];
        if (below->act != LRMLP_ACT_IDENTITY) {
            const REAL *d = (const REAL *)net->dact[l - 1];
            size_t m = n * below->out;
            for (size_t i = 0; i < m; i++)
                prev[i] *= d[i];
        }
        cur ^= 1;
        delta = prev;
    }
}

#undef FN
#undef CAT
#undef CAT_
