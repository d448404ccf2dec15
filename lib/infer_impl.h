/* The inference forward pass, written once and instantiated for float and
 * double by infer.c between real_f32.h / real_f64.h and real_undef.h.
 *
 * Three kernels (SFX(layer) picks): the packed kernel for chunks of 2 rows
 * and more of layers with at least INFER_DIRECT_MIN_IN inputs and
 * INFER_PACK_MIN_OUT outputs (below), with rowlane as its stand-in where no
 * packed copy exists; a direct kernel for single rows and for the other
 * layers' chunks of up to INFER_DIRECT_MAX rows, which reads each weight
 * row where it lies (row-major, out x in) and dots it with up to eight
 * input rows at a time, so a batch of one reads every weight once and packs
 * nothing. Each kernel computes an output the same way whatever the batch
 * around it; the direct one with lane partial sums over k, a fixed
 * reduction of the lanes, the scalar tail, then the bias. Everything else
 * (narrow layers' larger chunks) goes to GEMM. */

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

/* Wider vectors by address: passing them by value outside AVX code would
 * involve the AVX calling convention (all of this is inlined anyway). */
static inline __attribute__((always_inline)) REAL SFX(hsum_32)(const void *a)
{
    SFX(v16b) lo, hi;
    memcpy(&lo, a, sizeof lo);
    memcpy(&hi, (const char *)a + sizeof lo, sizeof hi);
    return SFX(hsum_16)(lo + hi);
}

static inline __attribute__((always_inline)) REAL SFX(hsum_64)(const void *a)
{
    SFX(v32b) lo, hi, s;
    memcpy(&lo, a, sizeof lo);
    memcpy(&hi, (const char *)a + sizeof lo, sizeof hi);
    s = lo + hi;
    return SFX(hsum_32)(&s);
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
            /* the next tile's weight rows follow these: ask for them a tile ahead */          \
            for (int c = 0; c < C; c++)                                                        \
                __builtin_prefetch(wr[c] + (size_t)C * in + k * vl);                           \
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
                REAL s = SFX(hsum_##VB)(&acc[r][c]);                                            \
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

/* Calls the variant of kernel k (direct, packed) for this CPU (kernel.h):
 * k_x512, k_x256 or the baseline k_v32, with the arguments args. */
#ifndef INFER_VARIANT
#if defined(LRMLP_KERNEL_X86)
#define INFER_VARIANT(k, args)                                                                 \
    do {                                                                                       \
        int level_ = lrmlp__cpu_level();                                                       \
        if (level_ == 2)                                                                       \
            SFX(k##_x512) args;                                                                \
        else if (level_ == 1)                                                                  \
            SFX(k##_x256) args;                                                                \
        else                                                                                   \
            SFX(k##_v32) args;                                                                 \
    } while (0)
#else
#define INFER_VARIANT(k, args) SFX(k##_v32) args
#endif
#endif

static void SFX(direct)(const REAL *X, size_t n, size_t in, const REAL *W, const REAL *b, REAL *Y,
                       size_t out)
{
    INFER_VARIANT(direct, (X, n, in, W, b, Y, out));
}

/* ---- packed weights, for chunks of 2 rows and more ----
 * A layer with at least INFER_DIRECT_MIN_IN inputs and INFER_PACK_MIN_OUT
 * outputs is also kept packed (infer.c: the model packs once, predict at
 * each call of more than 16 rows): panels of PNR outputs, 128 bytes per
 * input, panel p holding Wp[(p in + k) PNR + c] = W[p PNR + c][k], the last
 * panel padded with zeros. The kernel keeps MR rows times one panel in vector accumulators
 * and adds x[r][k] times the panel's row k for k in order: one chain per
 * output, whatever the rows and panels around it. It avoids what a GEMM
 * call costs at these sizes, repacking the whole weight matrix every time:
 * 64 x 784 x 512 took 330 us against OpenBLAS's 445 on the development VM
 * (156 GFLOP/s, near this core's FMA peak). */
#define SFX_PNR (128 / sizeof(REAL))

/* A transposed copy of each panel's rows: OpenBLAS's ?omatcopy where it is
 * the BLAS (the scalar loop took 300 us for this 784-512-512-10 net, the
 * copy 170), padding columns zeroed. */
static void SFX(pack)(const REAL *W, size_t out, size_t in, REAL *Wp)
{
    const size_t np = (out + SFX_PNR - 1) / SFX_PNR;
    for (size_t p = 0; p < np; p++) {
        REAL *P = Wp + p * in * SFX_PNR;
        const size_t rows = out - p * SFX_PNR < SFX_PNR ? out - p * SFX_PNR : SFX_PNR;
        const REAL *Wr = W + p * SFX_PNR * in;
#if defined(LRMLP_HAVE_OPENBLAS_INFO)
#if REAL_IS_F32
        cblas_somatcopy(CblasRowMajor, CblasTrans, (lrmlp_blasint)rows, (lrmlp_blasint)in, 1.0f,
                        Wr, (lrmlp_blasint)in, P, (lrmlp_blasint)SFX_PNR);
#else
        cblas_domatcopy(CblasRowMajor, CblasTrans, (lrmlp_blasint)rows, (lrmlp_blasint)in, 1.0,
                        Wr, (lrmlp_blasint)in, P, (lrmlp_blasint)SFX_PNR);
#endif
#else
        for (size_t c = 0; c < rows; c++)
            for (size_t k = 0; k < in; k++)
                P[k * SFX_PNR + c] = Wr[c * in + k];
#endif
        if (rows < SFX_PNR)
            for (size_t k = 0; k < in; k++)
                memset(P + k * SFX_PNR + rows, 0, (SFX_PNR - rows) * sizeof(REAL));
    }
}

#define DEFINE_PACKED(TAG, ATTR, MR)                                                           \
    static inline __attribute__((always_inline)) ATTR void SFX(pmicro_##TAG)(                  \
        const REAL *X, size_t in, const REAL *B, const REAL *b, REAL *Y, size_t ldy,           \
        size_t cols, const int R)                                                              \
    {                                                                                          \
        SFX(v64b) acc[MR][2];                                                                  \
        for (int r = 0; r < R; r++)                                                            \
            acc[r][0] = acc[r][1] = (SFX(v64b)){ 0 };                                          \
        for (size_t k = 0; k < in; k++) {                                                      \
            SFX(v64b) b0, b1;                                                                  \
            memcpy(&b0, B + k * SFX_PNR, sizeof b0);                                           \
            memcpy(&b1, B + k * SFX_PNR + SFX_PNR / 2, sizeof b1);                             \
            for (int r = 0; r < R; r++) {                                                      \
                const REAL a = X[(size_t)r * in + k];                                          \
                acc[r][0] += a * b0;                                                           \
                acc[r][1] += a * b1;                                                           \
            }                                                                                  \
        }                                                                                      \
        for (int r = 0; r < R; r++) {                                                          \
            REAL t[SFX_PNR];                                                                   \
            memcpy(t, &acc[r][0], sizeof acc[r][0]);                                           \
            memcpy(t + SFX_PNR / 2, &acc[r][1], sizeof acc[r][1]);                             \
            for (size_t c = 0; c < cols; c++)                                                  \
                Y[(size_t)r * ldy + c] = b ? t[c] + b[c] : t[c];                               \
        }                                                                                      \
    }                                                                                          \
    static ATTR void SFX(packed_##TAG)(const REAL *X, size_t n, size_t in, const REAL *Wp,      \
                                      const REAL *b, REAL *Y, size_t out)                      \
    {                                                                                          \
        const size_t np = (out + SFX_PNR - 1) / SFX_PNR;                                       \
        for (size_t p = 0; p < np; p++) {                                                      \
            const REAL *B = Wp + p * in * SFX_PNR, *bp = b ? b + p * SFX_PNR : NULL;           \
            const size_t cols = out - p * SFX_PNR < SFX_PNR ? out - p * SFX_PNR : SFX_PNR;     \
            size_t i = 0;                                                                      \
            for (; i + MR <= n; i += MR)                                                       \
                SFX(pmicro_##TAG)(X + i * in, in, B, bp, Y + i * out + p * SFX_PNR, out, cols, \
                                  MR);                                                         \
            for (; i < n; i++)                                                                 \
                SFX(pmicro_##TAG)(X + i * in, in, B, bp, Y + i * out + p * SFX_PNR, out, cols, \
                                  1);                                                          \
        }                                                                                      \
    }

/* Accumulator rows: 8 x 2 vectors of AVX-512's 32 registers; AVX2 and the
 * baseline split each 64-byte vector in two or four. */
DEFINE_PACKED(v32, , 1)
#if defined(LRMLP_KERNEL_X86)
DEFINE_PACKED(x256, __attribute__((target("avx2,fma"))), 2)
DEFINE_PACKED(x512, __attribute__((target("avx512f,avx512vl,avx2,fma"))), 8)
#endif

static void SFX(packed)(const REAL *X, size_t n, size_t in, const REAL *Wp, const REAL *b, REAL *Y,
                        size_t out)
{
    INFER_VARIANT(packed, (X, n, in, Wp, b, Y, out));
}

/* ---- the packed kernel's results without packed weights ----
 * For 2 to 16 rows lrmlp_net_predict_* has no packed copy (packing costs
 * more than such a batch), so it computes the same sums from W where it
 * lies: the rows become vector lanes (X transposed into XT, 16 lanes, zero
 * beyond n) and each weight w[j][k] is broadcast, acc += w[j][k] * x[.][k]
 * for k in order from 0, then the bias: per output the very operations of
 * the packed kernel, so the model's packed results are matched bit for
 * bit. */
#define SFX_RL 16
#define DEFINE_ROWLANE(TAG, ATTR)                                                              \
    static inline __attribute__((always_inline)) ATTR void SFX(rmicro_##TAG)(                  \
        const REAL *XT, size_t n, size_t in, const REAL *W, const REAL *b, REAL *Y,            \
        size_t out, size_t j, const int C, const int NV)                                       \
    {                                                                                          \
        SFX(v64b) acc[8][2];                                                                   \
        for (int o = 0; o < C; o++)                                                            \
            for (int v = 0; v < NV; v++)                                                       \
                acc[o][v] = (SFX(v64b)){ 0 };                                                  \
        for (size_t k = 0; k < in; k++) {                                                      \
            SFX(v64b) xv[2];                                                                   \
            for (int v = 0; v < NV; v++)                                                       \
                memcpy(&xv[v], XT + k * SFX_RL + (size_t)v * (64 / sizeof(REAL)), 64);       \
            for (int o = 0; o < C; o++) {                                                      \
                const REAL w = W[(j + (size_t)o) * in + k];                                    \
                for (int v = 0; v < NV; v++)                                                   \
                    acc[o][v] += w * xv[v];                                                    \
            }                                                                                  \
        }                                                                                      \
        for (int o = 0; o < C; o++) {                                                          \
            REAL t[128 / sizeof(REAL)];                                                        \
            for (int v = 0; v < NV; v++)                                                       \
                memcpy(t + (size_t)v * (64 / sizeof(REAL)), &acc[o][v], 64);                  \
            for (size_t r = 0; r < n; r++)                                                     \
                Y[r * out + j + (size_t)o] = b ? t[r] + b[j + (size_t)o] : t[r];               \
        }                                                                                      \
    }                                                                                          \
    static ATTR void SFX(rowlane_##TAG)(const REAL *X, size_t n, size_t in, const REAL *W,      \
                                       const REAL *b, REAL *Y, size_t out, REAL *XT)           \
    {                                                                                          \
        for (size_t k = 0; k < in; k++)                                                        \
            for (size_t r = 0; r < SFX_RL; r++)                                                \
                XT[k * SFX_RL + r] = r < n ? X[r * in + k] : (REAL)0;                          \
        /* vectors of lanes the rows need: 16 floats take one, more than 8     \
         * doubles two */                                                                       \
        const int two = sizeof(REAL) == 8 && n > 8;                                            \
        size_t j = 0;                                                                          \
        for (; j + 8 <= out; j += 8)                                                           \
            if (two)                                                                           \
                SFX(rmicro_##TAG)(XT, n, in, W, b, Y, out, j, 8, 2);                           \
            else                                                                               \
                SFX(rmicro_##TAG)(XT, n, in, W, b, Y, out, j, 8, 1);                           \
        for (; j < out; j++)                                                                   \
            SFX(rmicro_##TAG)(XT, n, in, W, b, Y, out, j, 1, two ? 2 : 1);                     \
    }

DEFINE_ROWLANE(v32, )
#if defined(LRMLP_KERNEL_X86)
DEFINE_ROWLANE(x256, __attribute__((target("avx2,fma"))))
DEFINE_ROWLANE(x512, __attribute__((target("avx512f,avx512vl,avx2,fma"))))
#endif

/* n <= SFX_RL rows; XT holds in x SFX_RL values. */
static void SFX(rowlane)(const REAL *X, size_t n, size_t in, const REAL *W, const REAL *b,
                         REAL *Y, size_t out, REAL *XT)
{
    INFER_VARIANT(rowlane, (X, n, in, W, b, Y, out, XT));
}

/* One layer over n rows: Y = act(X W^T + b). Wp is the packed W, or NULL
 * (a network's predict of at most 16 rows, or a layer not packed:
 * infer_packable, infer.c); XT is scratch for rowlane. */
static void SFX(layer)(const REAL *P, const REAL *Wp, const lrmlp_layer_ *ly, const REAL *X,
                       size_t n, REAL *Y, REAL *XT)
{
    const REAL *W = P + ly->w_off;
    const REAL *b = ly->b_off != SIZE_MAX ? P + ly->b_off : NULL;
    const int packable = infer_packable(ly);
    /* Narrow inputs (a low-rank net's r-wide layers) leave the direct kernel
     * little to sum per output and much to reduce: GEMM does better there.
     * One row streams the weights whatever the kernel: the direct one. */
    if (packable && n >= 2 && Wp) {
        SFX(packed)(X, n, ly->in, Wp, b, Y, ly->out);
    } else if (packable && n >= 2 && n <= SFX_RL) {
        SFX(rowlane)(X, n, ly->in, W, b, Y, ly->out, XT);
    } else if (n <= INFER_DIRECT_MAX && ly->in >= INFER_DIRECT_MIN_IN) {
        SFX(direct)(X, n, ly->in, W, b, Y, ly->out);
    } else if (Wp) {
        SFX(packed)(X, n, ly->in, Wp, b, Y, ly->out);
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

void SFX(lrmlp__infer_chunk)(const void *params, const void *const *packed,
                            const lrmlp_layer_ *layers, size_t L, const REAL *X, size_t n,
                            REAL *Y, void *buf0, void *buf1, void *xt)
{
    const REAL *P = (const REAL *)params;
    const REAL *in = X;
    REAL *bufs[2] = { (REAL *)buf0, (REAL *)buf1 };
    for (size_t l = 0; l < L; l++) {
        REAL *out = l + 1 == L ? Y : bufs[l & 1];
        SFX(layer)(P, packed ? (const REAL *)packed[l] : NULL, &layers[l], in, n, out,
                   (REAL *)xt);
        in = out;
    }
}

#undef DEFINE_DIRECT
#undef DEFINE_PACKED
#undef DEFINE_ROWLANE
#undef SFX_PNR
#undef SFX_RL
