/* Forward and backward passes and the batch entry points, written once and
 * instantiated for float and double by net.c between real_f32.h /
 * real_f64.h and real_undef.h. Expects check_batch, the pass flags
 * (PASS_*) and the PART_* selectors from net.c. */

/* Forward pass over n rows of X. Layer outputs go to net->h[1..L];
 * with training set, phi'(z) is kept in net->dact. */
static void SFX(forward)(lrmlp_net *net, const REAL *X, size_t n, int training)
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
        /* sizes checked: widths at creation, n by check_batch */
        const lrmlp_blasint bn = (lrmlp_blasint)n, bo = (lrmlp_blasint)ly->out,
                            bi = (lrmlp_blasint)ly->in;
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, bn, bo, bi, 1, in, bi, P + ly->w_off, bi,
             beta, H, bo);
        if (net->adapter)
            SFX(lrmlp__adapter_forward)(net, l, prev_in, H, n);
        if (ly->act != LRMLP_ACT_IDENTITY)
            SFX(lrmlp__act_forward)(ly->act, H, training ? (REAL *)net->dact[l] : NULL,
                                   n * ly->out, training, &net->rng);
        prev_in = in;
        in = H;
    }
}

/* Loss of outputs Y (n x k) against T; when dY is not NULL also writes
 * d loss / d Y there. Accumulates in double. */
static double SFX(loss)(lrmlp_loss kind, const REAL *Y, const REAL *T, size_t n, size_t k,
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
    /* SSE: 0.5 sum r^2; MSE: that / n; MEAN_SQUARED: sum r^2 / (n k) =
     * 0.5 sum r^2 / (0.5 n k). */
    const double denom = kind == LRMLP_LOSS_MSE            ? (double)norm_n
                         : kind == LRMLP_LOSS_MEAN_SQUARED ? 0.5 * (double)norm_n * (double)k
                                                           : 1.0;
    const REAL scale = (REAL)(1.0 / denom);
    size_t nk = n * k;
    for (size_t i = 0; i < nk; i++) {
        REAL r = Y[i] - T[i];
        total += (double)r * (double)r;
        if (dY)
            dY[i] = r * scale;
    }
    total *= 0.5;
    return total / denom;
}

/* Backward pass from dY (in net->delta[0], n x widths[L]) after a training
 * forward pass over X. Fills the gradient vector, or with accumulate adds to
 * it (one chunk of a larger batch). ready (may be NULL) hears of each
 * layer's slice as soon as it is written (internal.h). */
static void SFX(backward)(lrmlp_net *net, const REAL *X, size_t n, int accumulate,
                          const lrmlp__grad_ready_ *ready)
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
        const lrmlp_blasint bn = (lrmlp_blasint)n, bo = (lrmlp_blasint)ly->out,
                            bi = (lrmlp_blasint)ly->in;
        const REAL *in = l == 0 ? X : (const REAL *)net->h[l];
        REAL *gW = G + ly->w_off;
        if (ly->frozen) {
            if (!accumulate) {
                memset(gW, 0, ly->out * ly->in * sizeof(REAL));
                if (ly->b_off != SIZE_MAX)
                    memset(G + ly->b_off, 0, ly->out * sizeof(REAL));
            }
        } else {
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, bo, bi, bn, 1, delta, bo, in, bi,
                 acc_beta, gW, bi);
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
        if (ready)
            ready->fn(ready->ctx, net, l);
        if (l == 0 || l <= lowest)
            continue;
        if (net->adapter)
            SFX(lrmlp__adapter_backward)(net, l, delta, n, lowest);
        REAL *prev = (REAL *)net->delta[cur ^ 1];
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, bn, bi, bo, 1, delta, bo, P + ly->w_off,
             bi, 0, prev, bi);
        if (net->adapter)
            SFX(lrmlp__adapter_add_side)(net, l, prev, n);
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

/* ---- the batch entry points ---- */

LRMLP_API int SFX(lrmlp_net_predict)(lrmlp_net *net, const REAL *X, size_t n, REAL *Y)
{
    /* the shared model's path (infer.c), in bounded chunks */
    return lrmlp__net_predict(net, REAL_DTYPE, X, n, Y, 0);
}

/* NaN/Inf scan of a batch's inputs and targets (n samples). */
static int SFX(check_finite)(lrmlp_net *net, const REAL *X, const REAL *T, size_t n)
{
    if (!SFX(lrmlp__all_finite)(X, n * net->widths[0]))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "input X holds NaN or Inf");
    if (!SFX(lrmlp__all_finite)(T, n * net->widths[net->n_layers]))
        return lrmlp__err(LRMLP_ERR_NONFINITE, "targets T hold NaN or Inf");
    return LRMLP_OK;
}

/* Forward pass and loss of one batch (or one chunk of a batch of norm_n);
 * flags: PASS_TRAINING keeps phi' and d loss / d Y for a backward pass,
 * PASS_TRUSTED skips the NaN/Inf scan. */
static int SFX(loss_common)(lrmlp_net *net, const REAL *X, const REAL *T, size_t n,
                            lrmlp_loss loss, unsigned flags, size_t norm_n, double *out)
{
    const int training = (flags & PASS_TRAINING) != 0;
    int rc = check_batch(net, REAL_DTYPE, X, n);
    if (rc)
        return rc;
    if (!T)
        return lrmlp__err(LRMLP_ERR_INVALID, "targets T are NULL");
    if ((int)loss < 0 || loss >= LRMLP_LOSS_COUNT_)
        return lrmlp__err(LRMLP_ERR_INVALID, "unknown loss %d", (int)loss);
    size_t k = net->widths[net->n_layers];
    if (!(flags & PASS_TRUSTED) && (rc = SFX(check_finite)(net, X, T, n)) != LRMLP_OK)
        return rc;
    SFX(forward)(net, X, n, training);
    double v = SFX(loss)(loss, (const REAL *)net->h[net->n_layers], T, n, k,
                         training ? (REAL *)net->delta[0] : NULL, norm_n);
    if (out)
        *out = v;
    if (!isfinite(v))
        return lrmlp__err(LRMLP_ERR_DIVERGED, "loss is not finite");
    return LRMLP_OK;
}

LRMLP_API int SFX(lrmlp_net_loss)(lrmlp_net *net, const REAL *X, const REAL *T, size_t n,
                                  lrmlp_loss loss, double *loss_out, REAL *Y)
{
    int rc = SFX(loss_common)(net, X, T, n, loss, 0, n, loss_out);
    if (rc == LRMLP_OK && Y)
        memcpy(Y, net->h[net->n_layers], n * net->widths[net->n_layers] * sizeof(REAL));
    return rc;
}

/* Loss and gradient of one batch or chunk; flags: PASS_TRUSTED as above,
 * PASS_ACCUMULATE adds to the gradient vector instead of replacing it. */
static int SFX(gradient)(lrmlp_net *net, const REAL *X, const REAL *T, size_t n,
                         lrmlp_loss loss, unsigned flags, size_t norm_n,
                         const lrmlp__grad_ready_ *ready, double *loss_out)
{
    int rc = SFX(loss_common)(net, X, T, n, loss, PASS_TRAINING | (flags & PASS_TRUSTED),
                              norm_n, loss_out);
    if (rc)
        return rc;
    SFX(backward)(net, X, n, (flags & PASS_ACCUMULATE) != 0, ready);
    return LRMLP_OK;
}

LRMLP_API int SFX(lrmlp_net_gradient)(lrmlp_net *net, const REAL *X, const REAL *T, size_t n,
                                      lrmlp_loss loss, double *loss_out)
{
    if (!net || !X || !T || n <= lrmlp__chunk_rows(net))
        return SFX(gradient)(net, X, T, n, loss, 0, n, NULL, loss_out);
    /* Large batches in accumulated chunks (lrmlp__chunk_rows); inputs are
     * checked once, whole. */
    if (net->dtype != REAL_DTYPE)
        return SFX(gradient)(net, X, T, n, loss, 0, n, NULL, loss_out);
    size_t d = net->widths[0], k = net->widths[net->n_layers];
    int frc = rows_fit(net, n);
    if (!frc)
        frc = SFX(check_finite)(net, X, T, n);
    if (frc)
        return frc;
    double total = 0;
    const size_t cs = lrmlp__chunk_rows(net);
    for (size_t c0 = 0; c0 < n; c0 += cs) {
        size_t cc = n - c0 < cs ? n - c0 : cs;
        double part = 0;
        int rc = SFX(gradient)(net, X + c0 * d, T + c0 * k, cc, loss,
                               PASS_TRUSTED | (c0 > 0 ? PASS_ACCUMULATE : 0), n, NULL,
                               &part);
        total += part;
        if (rc) {
            if (loss_out)
                *loss_out = total;
            return rc;
        }
    }
    if (loss_out)
        *loss_out = total;
    return LRMLP_OK;
}

/* ---- copy-in / copy-out ---- */

LRMLP_API int SFX(lrmlp_net_get_weights)(const lrmlp_net *net, size_t l, REAL *W)
{
    return get_part(net, l, PART_W, REAL_DTYPE, 0, W);
}

LRMLP_API int SFX(lrmlp_net_set_weights)(lrmlp_net *net, size_t l, const REAL *W)
{
    return set_part(net, l, PART_W, REAL_DTYPE, W);
}

LRMLP_API int SFX(lrmlp_net_get_bias)(const lrmlp_net *net, size_t l, REAL *b)
{
    return get_part(net, l, PART_B, REAL_DTYPE, 0, b);
}

LRMLP_API int SFX(lrmlp_net_set_bias)(lrmlp_net *net, size_t l, const REAL *b)
{
    return set_part(net, l, PART_B, REAL_DTYPE, b);
}

LRMLP_API int SFX(lrmlp_net_get_weight_grad)(const lrmlp_net *net, size_t l, REAL *G)
{
    return get_part(net, l, PART_W, REAL_DTYPE, 1, G);
}

LRMLP_API int SFX(lrmlp_net_get_bias_grad)(const lrmlp_net *net, size_t l, REAL *g)
{
    return get_part(net, l, PART_B, REAL_DTYPE, 1, g);
}
