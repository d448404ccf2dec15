/* The inference forward pass, written once and instantiated for float and
 * double by infer.c between real_f32.h / real_f64.h and real_undef.h.
 *
 * Small chunks go through a direct kernel that reads each weight row where
 * it lies (row-major, out x in) and dots it with up to four input rows at a
 * time, so a batch of one reads every weight once and packs nothing. Each
 * output is computed the same way whatever the batch around it: lane
 * partial sums over k in order, a fixed reduction of the lanes, the scalar
 * tail, then the bias. Chunks of more than INFER_DIRECT_MAX rows, and
 * layers with fewer than INFER_DIRECT_MIN_IN inputs, go to GEMM. */

/* Vectors of 16, 32 and 64 bytes, and their sums in a fixed pairwise
 * order (lane i gets lane i + w for w = half the lanes, ..., 1), halving in
 * vector registers down to 16 bytes. */
typedef REAL SFX(v16b) __attribute__((vector_size(16)));
typedef REAL SFX(v32b) __attribute__((vector_size(32)));
typedef REAL SFX(v64b) __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) REAL SFX(hsum_16)(SFX(v16b) a)
{
    REAL t[16 / sizeof(REAL)];
    memcpy(t, &a, sizeof a);
    for (size_t w = 16 / sizeof(REAL) / 2; w > 0; w /= 2)
        for (size_t i = 0; i < w; i++)
            t[i] += t[i + w];
    return t[0];
}

static inline __attribute__((always_inline)) REAL SFX(hsum_32)(SFX(v32b) a)
{
    SFX(v16b) lo, hi;
    memcpy(&lo, &a, sizeof lo);
    memcpy(&hi, (const char *)&a + sizeof lo, sizeof hi);
    return SFX(hsum_16)(lo + hi);
}

static inline __attribute__((always_inline)) REAL SFX(hsum_64)(SFX(v64b) a)
{
    SFX(v32b) lo, hi;
    memcpy(&lo, &a, sizeof lo);
    memcpy(&hi, (const char *)&a + sizeof lo, sizeof hi);
    return SFX(hsum_32)(lo + hi);
}

/* The kernel for one vector width: VB bytes per vector (32: AVX2 and
 * baseline, 64: AVX-512), tiles of R input rows times C weight rows, each
 * with its own accumulator vector. TAG names the instance; ATTR is its
 * target attribute. */
#define DEFINE_DIRECT(TAG, VB, ATTR, R8, C8)                                                    \
    typedef SFX(v##VB##b) SFX(vec_##TAG);                                                       \
    /* R input rows times C weight rows; wr repeats the last row at the right edge,            \
     * and only cc columns are stored. */                                                     \
    static inline __attribute__((always_inline)) ATTR void SFX(tile_##TAG)(                    \
        const REAL *const *xr, const REAL *const *wr, size_t in, const REAL *b, REAL *y,       \
        size_t out, size_t j, size_t cc, const int R, const int C)                             \
    {                                                                                          \
        const size_t vl = VB / sizeof(REAL);                                                   \
        SFX(vec_##TAG) acc[8][8];                                                               \
        for (int r = 0; r < R; r++)                                                            \
            for (int c = 0; c < C; c++)                                                        \
                acc[r][c] = (SFX(vec_##TAG)){ 0 };                                              \
        const size_t nv = in / vl;                                                             \
        for (size_t k = 0; k < nv; k++) {                                                      \
            SFX(vec_##TAG) w[8], x[8];                                                          \
            for (int c = 0; c < C; c++)                                                        \
                memcpy(&w[c], wr[c] + k * vl, sizeof w[c]);                                    \
            for (int r = 0; r < R; r++)                                                        \
                memcpy(&x[r], xr[r] + k * vl, sizeof x[r]);                                    \
            for (int r = 0; r < R; r++)                                                        \
                for (int c = 0; c < C; c++)                                                    \
                    acc[r][c] += x[r] * w[c];                                                  \
        }                                                                                      \
        for (int r = 0; r < R; r++) {                                                          \
            for (int c = 0; c < (int)cc; c++) {                                                \
                REAL s = SFX(hsum_##VB)(acc[r][c]);                                            \
                for (size_t k = nv * vl; k < in; k++)                                          \
                    s += xr[r][k] * wr[c][k];                                                  \
                if (b)                                                                         \
                    s += b[j + (size_t)c];                                                     \
                y[(size_t)r * out + j + (size_t)c] = s;                                        \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    static inline __attribute__((always_inline)) ATTR void SFX(rows_##TAG)(                     \
        const REAL *X, size_t i, size_t in, const REAL *W, const REAL *b, REAL *Y, size_t out, \
        const int R, const int C)                                                              \
    {                                                                                          \
        const REAL *xr[8];                                                                     \
        for (int r = 0; r < R; r++)                                                            \
            xr[r] = X + (i + (size_t)r) * in;                                                  \
        for (size_t j = 0; j < out; j += (size_t)C) {                                          \
            size_t cc = out - j < (size_t)C ? out - j : (size_t)C;                             \
            const REAL *wr[8];                                                                 \
            for (int c = 0; c < C; c++)                                                        \
                wr[c] = W + (j + ((size_t)c < cc ? (size_t)c : cc - 1)) * in;                  \
            SFX(tile_##TAG)(xr, wr, in, b, Y + i * out, out, j, cc, R, C);                      \
        }                                                                                      \
    }                                                                                          \
    /* Row groups of R8 (big enough that the weights are read once for a          \
     * batch of 8), then 4, 2, 1; each output is the same computation in any       \
     * group (the accumulators are independent). */                                          \
    static ATTR void SFX(direct_##TAG)(const REAL *X, size_t n, size_t in, const REAL *W,       \
                                      const REAL *b, REAL *Y, size_t out)                      \
    {                                                                                          \
        size_t i = 0;                                                                          \
        for (; i + R8 <= n; i += R8)                                                           \
            SFX(rows_##TAG)(X, i, in, W, b, Y, out, R8, C8);                                    \
        if (R8 > 4 && i + 4 <= n) {                                                            \
            SFX(rows_##TAG)(X, i, in, W, b, Y, out, 4, 4);                                      \
            i += 4;                                                                            \
        }                                                                                      \
        if (i + 2 <= n) {                                                                      \
            SFX(rows_##TAG)(X, i, in, W, b, Y, out, 2, 4);                                      \
            i += 2;                                                                            \
        }                                                                                      \
        if (i < n)                                                                             \
            SFX(rows_##TAG)(X, i, in, W, b, Y, out, 1, 8);                                      \
    }

/* AVX2 has 16 vector registers: tiles of at most 8 accumulators. */
DEFINE_DIRECT(v32, 32, , 4, 2)
#if defined(LRMLP_KERNEL_X86)
DEFINE_DIRECT(x256, 32, __attribute__((target("avx2,fma"))), 4, 2)
/* AVX-512 has 32: a group of 8 rows times 2 weight rows. */
DEFINE_DIRECT(x512, 64, __attribute__((target("avx512f,avx512vl,avx2,fma"))), 8, 2)
#endif

/* The variant for this CPU (kernel.h). */
static void SFX(direct)(const REAL *X, size_t n, size_t in, const REAL *W, const REAL *b, REAL *Y,
                       size_t out)
{
#if defined(LRMLP_KERNEL_X86)
    int level = lrmlp__cpu_level();
    if (level == 2) {
        SFX(direct_x512)(X, n, in, W, b, Y, out);
        return;
    }
    if (level == 1) {
        SFX(direct_x256)(X, n, in, W, b, Y, out);
        return;
    }
#endif
    SFX(direct_v32)(X, n, in, W, b, Y, out);
}

/* One layer over n rows: Y = act(X W^T + b). */
static void SFX(layer)(const REAL *P, const lrmlp_layer_ *ly, const REAL *X, size_t n, REAL *Y)
{
    const REAL *W = P + ly->w_off;
    const REAL *b = ly->b_off != SIZE_MAX ? P + ly->b_off : NULL;
    /* Narrow inputs (a low-rank net's r-wide layers) leave the direct kernel
     * little to sum per output and much to reduce: GEMM does better there. */
    if (n <= INFER_DIRECT_MAX && ly->in >= INFER_DIRECT_MIN_IN) {
        SFX(direct)(X, n, ly->in, W, b, Y, ly->out);
    } else {
        REAL beta = 0;
        if (b) {
            for (size_t i = 0; i < n; i++)
                memcpy(Y + i * ly->out, b, ly->out * sizeof(REAL));
            beta = 1;
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (lrmlp_blasint)n, (lrmlp_blasint)ly->out,
             (lrmlp_blasint)ly->in, 1, X, (lrmlp_blasint)ly->in, W, (lrmlp_blasint)ly->in, beta, Y,
             (lrmlp_blasint)ly->out);
    }
    if (ly->act != LRMLP_ACT_IDENTITY)
        SFX(lrmlp__act_forward)(ly->act, Y, NULL, n * ly->out, 0, NULL);
}

void SFX(lrmlp__infer_chunk)(const void *params, const lrmlp_layer_ *layers, size_t L,
                            const REAL *X, size_t n, REAL *Y, void *buf0, void *buf1)
{
    const REAL *P = (const REAL *)params;
    const REAL *in = X;
    REAL *bufs[2] = { (REAL *)buf0, (REAL *)buf1 };
    for (size_t l = 0; l < L; l++) {
        REAL *out = l + 1 == L ? Y : bufs[l & 1];
        SFX(layer)(P, &layers[l], in, n, out);
        in = out;
    }
}

#undef DEFINE_DIRECT
