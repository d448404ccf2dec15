/* The inference forward pass, written once and instantiated for float and
 * double by infer.c. Expects REAL, SFX, GEMM (cblas_sgemm/cblas_dgemm).
 *
 * Small chunks go through a direct kernel that reads each weight row where
 * it lies (row-major, out x in) and dots it with up to four input rows at a
 * time, so a batch of one reads every weight once and packs nothing. Each
 * output is computed the same way whatever the batch around it: lane
 * partial sums over k in order, a fixed reduction of the lanes, the scalar
 * tail, then the bias. Chunks of more than INFER_DIRECT_MAX rows go to
 * GEMM, whose packing pays off there. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* 32-byte vectors: 8 floats or 4 doubles; eight accumulators fit in AVX2's
 * sixteen registers next to the operands. */
typedef REAL FN(vec) __attribute__((vector_size(32)));
#define VL ((size_t)(32 / sizeof(REAL)))

static inline __attribute__((always_inline)) REAL FN(hsum)(FN(vec) a)
{
    REAL t[32 / sizeof(REAL)];
    memcpy(t, &a, sizeof a);
    /* pairwise, in a fixed order */
    for (size_t w = VL / 2; w > 0; w /= 2)
        for (size_t i = 0; i < w; i++)
            t[i] += t[i + w];
    return t[0];
}

/* R input rows times C weight rows. xr: R row pointers; wr: C row pointers
 * (repeated at the right edge); y: output rows, stride out, columns j..j+cc. */
static inline __attribute__((always_inline)) void
FN(tile)(const REAL *const *xr, const REAL *const *wr, size_t in, const REAL *b, REAL *y,
         size_t out, size_t j, size_t cc, const int R, const int C)
{
    FN(vec) acc[4][8];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            acc[r][c] = (FN(vec)){ 0 };
    const size_t nv = in / VL;
    for (size_t k = 0; k < nv; k++) {
        FN(vec) w[8], x[4];
        for (int c = 0; c < C; c++)
            memcpy(&w[c], wr[c] + k * VL, sizeof w[c]);
        for (int r = 0; r < R; r++)
            memcpy(&x[r], xr[r] + k * VL, sizeof x[r]);
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                acc[r][c] += x[r] * w[c];
    }
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < (int)cc; c++) {
            REAL s = FN(hsum)(acc[r][c]);
            for (size_t k = nv * VL; k < in; k++)
                s += xr[r][k] * wr[c][k];
            if (b)
                s += b[j + (size_t)c];
            y[(size_t)r * out + j + (size_t)c] = s;
        }
    }
}

/* Rows [i, i + R) of Y = X W^T + b. */
static inline __attribute__((always_inline)) void
FN(rows)(const REAL *X, size_t i, size_t in, const REAL *W, const REAL *b, REAL *Y, size_t out,
         const int R, const int C)
{
    const REAL *xr[4];
    for (int r = 0; r < R; r++)
        xr[r] = X + (i + (size_t)r) * in;
    for (size_t j = 0; j < out; j += (size_t)C) {
        size_t cc = out - j < (size_t)C ? out - j : (size_t)C;
        const REAL *wr[8];
        for (int c = 0; c < C; c++)
            wr[c] = W + (j + ((size_t)c < cc ? (size_t)c : cc - 1)) * in;
        FN(tile)(xr, wr, in, b, Y + i * out, out, j, cc, R, C);
    }
}

LRMLP_KERNEL(FN(direct), (const REAL *X, size_t n, size_t in, const REAL *W, const REAL *b,
                          REAL *Y, size_t out),
             (X, n, in, W, b, Y, out))
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        FN(rows)(X, i, in, W, b, Y, out, 4, 2);
    if (i + 2 <= n) {
        FN(rows)(X, i, in, W, b, Y, out, 2, 4);
        i += 2;
    }
    if (i < n)
        FN(rows)(X, i, in, W, b, Y, out, 1, 8);
}

/* One layer over n rows: Y = act(X W^T + b). */
static void FN(layer)(const REAL *P, const lrmlp_layer_ *ly, const REAL *X, size_t n, REAL *Y)
{
    const REAL *W = P + ly->w_off;
    const REAL *b = ly->b_off != SIZE_MAX ? P + ly->b_off : NULL;
    if (n <= INFER_DIRECT_MAX) {
        FN(direct)(X, n, ly->in, W, b, Y, ly->out);
    } else {
        REAL beta = 0;
        if (b) {
            for (size_t i = 0; i < n; i++)
                memcpy(Y + i * ly->out, b, ly->out * sizeof(REAL));
            beta = 1;
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)ly->out,
             (blasint)ly->in, 1, X, (blasint)ly->in, W, (blasint)ly->in, beta, Y,
             (blasint)ly->out);
    }
    if (ly->act != LRMLP_ACT_IDENTITY)
        FN(lrmlp__act_forward)(ly->act, Y, NULL, n * ly->out, 0, NULL);
}

void FN(lrmlp__infer_chunk)(const void *params, const lrmlp_layer_ *layers, size_t L,
                            const REAL *X, size_t n, REAL *Y, void *buf0, void *buf1)
{
    const REAL *P = (const REAL *)params;
    const REAL *in = X;
    REAL *bufs[2] = { (REAL *)buf0, (REAL *)buf1 };
    for (size_t l = 0; l < L; l++) {
        REAL *out = l + 1 == L ? Y : bufs[l & 1];
        FN(layer)(P, &layers[l], in, n, out);
        in = out;
    }
}

#undef VL
#undef FN
#undef CAT
#undef CAT_
