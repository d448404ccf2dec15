/* The adapter's side terms in the forward and backward passes (hooks called
 * by net_impl.h), written once and instantiated for float and double by
 * adapter.c between real_f32.h / real_f64.h and real_undef.h. Chain layer l
 * carries a side when net->adapter->side[l] is set: the frozen W0
 * (out_l x in_{l-1}) of an adapted layer whose factors are layers l - 1 (A)
 * and l (B). Sizes were checked when the network was created. */

void SFX(lrmlp__adapter_forward)(const lrmlp_net *net, size_t l, const REAL *in_prev, REAL *H,
                                 size_t n)
{
    const REAL *W0 = (const REAL *)net->adapter->side[l];
    if (!W0)
        return;
    const lrmlp_blasint bn = (lrmlp_blasint)n, bi = (lrmlp_blasint)net->layers[l - 1].in,
                        bo = (lrmlp_blasint)net->layers[l].out;
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, bn, bo, bi, 1, in_prev, bi, W0, bi, 1, H, bo);
}

void SFX(lrmlp__adapter_backward)(lrmlp_net *net, size_t l, const REAL *delta, size_t n,
                                  size_t lowest)
{
    const REAL *W0 = (const REAL *)net->adapter->side[l];
    if (!W0 || l - 1 <= lowest || l - 1 == 0)
        return; /* nothing below A needs an error signal */
    const lrmlp_blasint bn = (lrmlp_blasint)n, bi = (lrmlp_blasint)net->layers[l - 1].in,
                        bo = (lrmlp_blasint)net->layers[l].out;
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, bn, bi, bo, 1, delta, bo, W0, bi, 0,
         (REAL *)net->delta[2], bi);
}

void SFX(lrmlp__adapter_add_side)(const lrmlp_net *net, size_t l, REAL *prev, size_t n)
{
    if (l + 1 >= net->n_layers || !net->adapter->side[l + 1])
        return;
    const REAL *s = (const REAL *)net->delta[2];
    const size_t m = n * net->layers[l].in;
    for (size_t i = 0; i < m; i++)
        prev[i] += s[i];
}
