/* Internal definitions shared by the library's modules. Not installed. */
#ifndef LRMLP_INTERNAL_H
#define LRMLP_INTERNAL_H

#include "lrmlp.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LRMLP_ERRMSG_LEN 256
#define LRMLP_INTERNAL __attribute__((visibility("hidden")))

/* ---- errors (common.c) ----
 * The one error channel (common.h): formats a message into the calling
 * thread's last-error slot, records status there, and returns status, so
 * that `return lrmlp__err(LRMLP_ERR_INVALID, "...");` reports and fails. */
LRMLP_INTERNAL int lrmlp__err(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Puts a formatted prefix before the thread's current message (which a
 * failed inner call set) and records status. */
LRMLP_INTERNAL int lrmlp__err_prefix(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return 0 on overflow. */
LRMLP_INTERNAL int lrmlp__mul_ok(size_t a, size_t b, size_t *out);
LRMLP_INTERNAL int lrmlp__add_ok(size_t a, size_t b, size_t *out);
LRMLP_INTERNAL size_t lrmlp__dtype_size(lrmlp_dtype dt);

/* ---- BLAS integers ----
 * The integer type of the CBLAS interface the library is built against:
 * int (LP64, what Debian's OpenBLAS and reference CBLAS use), or int64_t
 * when the build declares an ILP64 BLAS (meson -Dblas_ilp64=true).
 * OpenBLAS's own `blasint` is not used: meson also accepts a generic
 * CBLAS. Every size passed to BLAS goes through lrmlp__blas_int_ok first
 * (at creation, where the sizes are fixed, or at the call). */
#ifdef LRMLP_BLAS_ILP64
typedef int64_t lrmlp_blasint;
#define LRMLP_BLASINT_MAX INT64_MAX
#else
typedef int lrmlp_blasint;
#define LRMLP_BLASINT_MAX INT_MAX
#endif
static inline int lrmlp__blas_int_ok(size_t n)
{
    return (uintmax_t)n <= (uintmax_t)LRMLP_BLASINT_MAX;
}

/* ---- enum <-> name tables (common.c) ----
 * The public headers list each enum once as an X-macro map, X(NAME, value,
 * "name"); a module builds its name table from the map with
 * LRMLP__NAME_TABLE and looks names up with these two. */
#define LRMLP__NAME_TABLE(var, MAP, PREFIX, COUNT)                                      \
    static const char *const var[] = { MAP(PREFIX) };                                   \
    _Static_assert(sizeof var / sizeof var[0] == (size_t)(COUNT), #var ": one name per value")
/* names[value], or NULL when value is outside [0, n). */
LRMLP_INTERNAL const char *lrmlp__enum_name(const char *const *names, size_t n, int value);
/* The value whose name matches (case-insensitive; '-' and '_' are equal),
 * or -1. */
LRMLP_INTERNAL int lrmlp__enum_from_name(const char *const *names, size_t n, const char *name);

/* ---- versioned options structs (common.c) ----
 * Every public options struct starts with `unsigned int version`. Version v
 * of a struct is the prefix of the current struct that ends with the last
 * field version v had: sizes[v - 1] bytes (LRMLP__OPTS_END of that field,
 * not sizeof, whose tail padding may hold a later version's field). A
 * program built against an older header passes its shorter struct with its
 * older version; the library reads that prefix and takes the defaults for
 * the fields added since. Each module describes its struct once with
 * LRMLP__OPTS_TYPE and calls the two functions below. */
typedef struct lrmlp__opts_type {
    const char *name;        /* the struct's name, for messages */
    unsigned int current;    /* newest version: sizes has this many entries */
    const size_t *sizes;     /* sizes[v - 1]: bytes of version v */
    const void *defaults;    /* the _INIT value */
    size_t size;             /* sizeof the current struct */
} lrmlp__opts_type;

#define LRMLP__OPTS_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* Defines `static const lrmlp__opts_type var` for struct type at version
 * VERSION with defaults INIT; the remaining arguments are the sizes of
 * versions 1..VERSION (LRMLP__OPTS_END of each version's last field). */
#define LRMLP__OPTS_TYPE(var, type, VERSION, INIT, ...)                                 \
    static const type var##_defaults_ = INIT;                                           \
    static const size_t var##_sizes_[] = { __VA_ARGS__ };                              \
    _Static_assert(sizeof var##_sizes_ / sizeof var##_sizes_[0] == (VERSION),           \
                   #type ": one size per version");                                     \
    static const lrmlp__opts_type var = { #type, (VERSION), var##_sizes_,               \
                                          &var##_defaults_, sizeof(type) }

/* The body of every lrmlp_*_options_init: checks that version is one this
 * library knows (1..current) and writes the defaults into the first
 * sizes[version - 1] bytes of opts, with opts->version = version. */
LRMLP_INTERNAL int lrmlp__opts_init(const lrmlp__opts_type *t, void *opts, unsigned int version);
/* Reads a caller's options into full (a current-version struct): the
 * defaults, overlaid with the caller's struct up to the size of the version
 * it declares. opts NULL gives the defaults. An unknown version fails with
 * LRMLP_ERR_VERSION and a message that starts with fn and names the
 * struct. */
LRMLP_INTERNAL int lrmlp__opts_read(const lrmlp__opts_type *t, const void *opts, void *full,
                                    const char *fn);

/* ---- generator (rng.c): xoshiro256**, seeded through SplitMix64 ----
 * Deterministic on every platform. One per handle; never global. */
typedef struct lrmlp_rng {
    uint64_t s[4];
} lrmlp_rng;
LRMLP_INTERNAL void lrmlp__rng_seed(lrmlp_rng *r, uint64_t seed);
LRMLP_INTERNAL uint64_t lrmlp__rng_u64(lrmlp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
LRMLP_INTERNAL double lrmlp__rng_uniform(lrmlp_rng *r);
/* Standard normal (Box-Muller, one value per call, no cached state). */
LRMLP_INTERNAL double lrmlp__rng_normal(lrmlp_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire). n >= 1. */
LRMLP_INTERNAL uint64_t lrmlp__rng_below(lrmlp_rng *r, uint64_t n);

/* ---- activations (activation.c) ----
 * Apply phi to n values in place. When d is not NULL, also store phi'(z) in
 * d (for the backward pass). training selects RReLU's random slopes (drawn
 * from rng) versus its mean slope. */
LRMLP_INTERNAL void lrmlp__act_forward_f32(lrmlp_activation act, float *z, float *d, size_t n,
                                           int training, lrmlp_rng *rng);
LRMLP_INTERNAL void lrmlp__act_forward_f64(lrmlp_activation act, double *z, double *d, size_t n,
                                           int training, lrmlp_rng *rng);

/* ---- network (net.c) ---- */
typedef struct lrmlp_layer_ {
    size_t in, out;          /* W is out x in, row-major */
    size_t w_off, b_off;     /* offsets in the parameter vector; b_off SIZE_MAX if no bias */
    lrmlp_activation act;
    int frozen;
} lrmlp_layer_;

struct lrmlp_net {
    lrmlp_dtype dtype;
    size_t n_layers;
    size_t *widths;          /* n_layers + 1 */
    lrmlp_layer_ *layers;    /* n_layers */
    int bias;
    size_t n_params;
    void *params;            /* n_params of dtype */
    void *grads;             /* n_params of dtype */
    lrmlp_rng rng;
    uint64_t epochs;         /* completed by lrmlp_train_epoch */
    /* workspace, sized for ws_n samples */
    size_t ws_n;
    void *ws;
    void **h;                /* h[l], l = 1..L: output of layer l-1 (n x widths[l]) */
    void **dact;             /* dact[l]: phi'(z) of layer l, NULL for identity */
    void *delta[3];          /* back-propagated errors, n x max width; delta[2]
                                only for adapter networks (adapter.c) */
    /* training-loop scratch (train.c): batch copies and the epoch's sample
     * order, kept between epochs so full-batch training does not allocate
     * (and page-fault) hundreds of megabytes per epoch */
    void *tbuf;
    size_t tbuf_size;
    /* Low-rank networks (lowrank.c) are chains of plain layers; these say
     * which: lr_rank is r (0 for a dense network), lr_layers the L of the
     * paper's network it stands for. */
    size_t lr_rank;
    size_t lr_layers;
    /* Adapter networks (adapter.c): the frozen W0 of adapted layers and the
     * adapter's metadata; NULL for every other network. */
    struct lrmlp_adapter_ *adapter;
    /* Deployment (infer.c, preproc.c): the input/output transforms (NULL:
     * none) and the scratch of lrmlp_net_predict_* (one chunk). */
    struct lrmlp_preproc_ *prep;
    void *iws;
    size_t iws_size;
};

/* Allocates a network of the given shape with zero parameters and a
 * generator seeded with seed. acts has n_layers entries. Validates the
 * shape. */
LRMLP_INTERNAL int lrmlp__net_alloc(lrmlp_net **out, lrmlp_dtype dtype, size_t n_layers,
                                    const size_t *widths, const lrmlp_activation *acts,
                                    int bias, uint64_t seed);
/* 1 if both networks have the same dtype, widths and bias flag. */
LRMLP_INTERNAL int lrmlp__net_same_shape(const lrmlp_net *a, const lrmlp_net *b);
/* Largest number of samples one forward/backward pass handles: larger
 * batches (lrmlp_net_gradient_*, lrmlp_train_epoch) are processed in chunks
 * of this size whose gradients are accumulated. The result is the same
 * gradient (up to summation order), with activations that stay in cache
 * and a workspace sized for a chunk instead of the whole batch. The chunk
 * holds the widest layer's activations for its rows in about 1 MiB (half a
 * typical L2), between 256 and 2048 rows: 320 rows for 784-wide float
 * layers, where it measured about 10% faster than 2048 for the low-rank
 * net of docs/lowrank.md (whose 784-wide U layer is its widest data) and no
 * slower for the dense one. */
LRMLP_INTERNAL size_t lrmlp__chunk_rows(const lrmlp_net *net);

/* A backward pass's per-layer notice (train.c's grad_ready support). */
typedef struct lrmlp__grad_ready_ {
    void (*fn)(void *ctx, lrmlp_net *net, size_t layer); /* layer's slice is final */
    void *ctx;
} lrmlp__grad_ready_;

/* lrmlp_net_gradient_* without the NaN/Inf scan of X and T, for batches
 * copied out of a dataset (whose contents were checked when it was made).
 * X and T are in the network's dtype. The n samples may be one chunk of a
 * batch of norm_n: means are taken over norm_n, *loss_out is this chunk's
 * share of the batch loss, and with accumulate the gradient is added to
 * the gradient vector instead of replacing it. ready (may be NULL) is
 * called in the backward pass for each layer, last to first, right after
 * its slice of the gradient vector got its value (give it only with the
 * last chunk of a batch, when that value is final). */
LRMLP_INTERNAL int lrmlp__net_gradient_trusted(lrmlp_net *net, const void *X, const void *T,
                                               size_t n, lrmlp_loss loss, size_t norm_n,
                                               int accumulate, const lrmlp__grad_ready_ *ready,
                                               double *loss_out);
/* Output of the last forward pass (n x widths[L]) in the workspace. */
LRMLP_INTERNAL const void *lrmlp__net_output(const lrmlp_net *net);

/* ---- adapter networks (adapter.c; adapter.h) ----
 * Hooks of the forward/backward passes (net_impl.h), no-ops for chain
 * layers without a frozen side term. forward: after layer l's GEMM, adds
 * W0 in_prev to its pre-activation H (in_prev = input of layer l - 1).
 * backward: at layer l, when layer l - 1 > lowest will propagate its error,
 * stores delta W0 in delta[2]; add_side: at layer l, adds delta[2] to the
 * error prev just propagated below layer l when layer l + 1 has a side. */
LRMLP_INTERNAL void lrmlp__adapter_forward_f32(const lrmlp_net *net, size_t l,
                                               const float *in_prev, float *H, size_t n);
LRMLP_INTERNAL void lrmlp__adapter_forward_f64(const lrmlp_net *net, size_t l,
                                               const double *in_prev, double *H, size_t n);
LRMLP_INTERNAL void lrmlp__adapter_backward_f32(lrmlp_net *net, size_t l, const float *delta,
                                                size_t n, size_t lowest);
LRMLP_INTERNAL void lrmlp__adapter_backward_f64(lrmlp_net *net, size_t l, const double *delta,
                                                size_t n, size_t lowest);
LRMLP_INTERNAL void lrmlp__adapter_add_side_f32(const lrmlp_net *net, size_t l, float *prev,
                                                size_t n);
LRMLP_INTERNAL void lrmlp__adapter_add_side_f64(const lrmlp_net *net, size_t l, double *prev,
                                                size_t n);
LRMLP_INTERNAL void lrmlp__adapter_free(struct lrmlp_adapter_ *a);
/* Deep copy of src->adapter into dst (same chain); LRMLP_ERR_NOMEM. */
LRMLP_INTERNAL int lrmlp__adapter_clone(lrmlp_net *dst, const lrmlp_net *src);

/* Adapter files (model.c): a model file of net plus a critical ADPT section
 * holding payload. With path NULL the file goes to a new buffer *buf. */
LRMLP_INTERNAL int lrmlp__model_adapter_write(const lrmlp_net *net, const uint8_t *payload,
                                              uint64_t payload_len, const char *path,
                                              void **buf, size_t *len);
/* Reads such a file (from path, or buf/len when path is NULL): a new plain
 * network of the chain and a copy of the ADPT payload (*payload, free()). */
LRMLP_INTERNAL int lrmlp__model_adapter_read(const char *path, const void *buf, size_t len,
                                             lrmlp_net **net, uint8_t **payload,
                                             uint64_t *payload_len);
/* ---- deployment (preproc.c, infer.c) ----
 * Input map x' = M x + c (M diagonal: d values, or d x d) and output map
 * y = s * y' + t, kept in double (the truth, for files) and in the
 * network's dtype (what prediction applies). */
typedef struct lrmlp_preproc_ {
    lrmlp_dtype dtype;
    size_t d, k;
    unsigned flags;          /* LRMLP_PREP_* */
    double *M, *c, *s, *t;   /* NULL when absent */
    void *Mr, *cr, *sr, *tr; /* the same in dtype */
} lrmlp_preproc_;

LRMLP_INTERNAL void lrmlp__preproc_free(lrmlp_preproc_ *p);
/* Deep copy (src may be NULL: *out = NULL). */
LRMLP_INTERNAL int lrmlp__preproc_clone(lrmlp_preproc_ **out, const lrmlp_preproc_ *src);
/* Builds a preprocessing record from double arrays (any may be NULL when
 * its part is absent; flags say which parts exist). Validates finiteness. */
LRMLP_INTERNAL int lrmlp__preproc_make(lrmlp_preproc_ **out, lrmlp_dtype dt, size_t d, size_t k,
                                       unsigned flags, const double *M, const double *c,
                                       const double *s, const double *t);
/* The PREP section of model files (docs/format.md). */
LRMLP_INTERNAL size_t lrmlp__preproc_encoded_size(const lrmlp_preproc_ *p);
LRMLP_INTERNAL void lrmlp__preproc_encode(const lrmlp_preproc_ *p, uint8_t *out);
LRMLP_INTERNAL int lrmlp__preproc_decode(const uint8_t *p, uint64_t len, const lrmlp_net *net,
                                         lrmlp_preproc_ **out);

/* Forward pass of one chunk of n rows in evaluation mode, no transforms:
 * Y = net(X). buf0 and buf1 hold n x (widest hidden layer) values each.
 * packed (may be NULL) has per layer its packed weights or NULL (infer.c);
 * without it, chunks of 2 to 16 rows need xt, 16 x (widest layer input)
 * values (infer_impl.h rowlane). */
LRMLP_INTERNAL void lrmlp__infer_chunk_f32(const void *params, const void *const *packed,
                                           const lrmlp_layer_ *layers, size_t L, const float *X,
                                           size_t n, float *Y, void *buf0, void *buf1,
                                           void *xt);
LRMLP_INTERNAL void lrmlp__infer_chunk_f64(const void *params, const void *const *packed,
                                           const lrmlp_layer_ *layers, size_t L,
                                           const double *X, size_t n, double *Y, void *buf0,
                                           void *buf1, void *xt);
/* lrmlp_net_predict_* and _raw_ (validated arguments aside): the shared
 * model's code path on the network's own parameters, in chunks of
 * lrmlp__chunk_rows rows through the network's inference scratch. */
LRMLP_INTERNAL int lrmlp__net_predict(lrmlp_net *net, lrmlp_dtype dt, const void *X, size_t n,
                                      void *Y, unsigned flags);
/* Evaluation-mode forward pass of net.c (the training code path, chunked,
 * through the network's workspace) writing the outputs to Y: what predict
 * runs for adapter networks, whose side terms the inference kernels do not
 * know. X is checked by the caller; the network has no preprocessing. */
LRMLP_INTERNAL int lrmlp__net_forward_eval(lrmlp_net *net, const void *X, size_t n, void *Y);

/* ---- optimizer (optim.c) ---- */
/* ---- helper threads (pool.c) ----
 * lrmlp__pool_run(&pool, threads, n, fn, ctx) calls fn(ctx, t) once for
 * every tile t in 0..n-1 and returns when all are done, spread over the
 * calling thread and up to threads - 1 helper threads of *pool, which it
 * starts (or restarts after a fork) when *pool has too few. It cannot
 * fail: when no helper can be started the caller runs every tile. fn must
 * give the same result whichever thread runs a tile, and tiles must not
 * depend on each other. lrmlp__pool_free joins the threads (NULL is fine).
 * One caller at a time per pool. */
typedef struct lrmlp__pool lrmlp__pool;
typedef void (*lrmlp__pool_fn)(void *ctx, size_t tile);
LRMLP_INTERNAL void lrmlp__pool_run(lrmlp__pool **pool, size_t threads, size_t n,
                                    lrmlp__pool_fn fn, void *ctx);
LRMLP_INTERNAL void lrmlp__pool_free(lrmlp__pool *pool);
/* Tests only: the pool continues as if gen had been its last job (between
 * jobs), so that the wrap of the 32-bit generation can be exercised. */
LRMLP_INTERNAL void lrmlp__pool_set_generation(lrmlp__pool *pool, uint32_t gen);

/* One tile of the optimizer's element-wise passes: elements [off, off + n)
 * of the parameter vector, in layer `layer` (optim.c). */
typedef struct {
    size_t off, n, layer;
} lrmlp__tile;

struct lrmlp_optim {
    lrmlp_optim_options o;
    lrmlp_dtype dtype;
    size_t n_layers;
    size_t *widths;          /* n_layers + 1: the shape the optimizer was made for */
    int bias;
    size_t n_params;
    uint64_t t;              /* successful steps */
    double last_grad_norm;
    /* state vectors of n_params elements of dtype, NULL when the rule needs
     * none: m = momentum / first moment, v = second moment */
    void *m;
    void *v;
    void *ws;                /* scratch (Muon Newton-Schulz), not state */
    size_t ws_size;
    double *lr_scale;        /* n_layers learning-rate multipliers, all 1 at creation */
    lrmlp__tile *tiles;      /* room for every layer's tiles (optim.c) */
    double *tile_sq;         /* per tile: sum of squares of the gradient */
    int *tile_ok;            /* per tile: the dry run's verdict */
    size_t max_tiles;
    lrmlp__pool *pool;       /* helper threads, started at the first parallel step */
};

/* Allocates an optimizer for the shape of net with validated options and
 * zero state. Used by lrmlp_optim_create and the model loader. */
LRMLP_INTERNAL int lrmlp__optim_alloc(lrmlp_optim **out, const lrmlp_net *net,
                                      const lrmlp_optim_options *opts);
/* Number of state vectors (0, 1 or 2) the optimizer keeps, and them. */
LRMLP_INTERNAL size_t lrmlp__optim_n_state(const lrmlp_optim *opt);

/* ---- files (model.c) ----
 * Reads a whole file into a new malloc'd buffer; writes data to a temporary
 * file beside path, flushes it to disk and renames it over path. Errors
 * (LRMLP_ERR_IO, LRMLP_ERR_NOMEM) name the file and start with "what: ". */
LRMLP_INTERNAL int lrmlp__read_file(const char *what, const char *path, uint8_t **out,
                                    size_t *out_len);
LRMLP_INTERNAL int lrmlp__write_atomic(const char *what, const char *path, const uint8_t *data,
                                       size_t len);

/* ---- subspace estimates in model files (subspace.c; docs/format.md) ---- */
LRMLP_INTERNAL size_t lrmlp__subspace_encoded_size(const lrmlp_subspace *s);
LRMLP_INTERNAL void lrmlp__subspace_encode(const lrmlp_subspace *s, uint8_t *p);
/* Validates and decodes a SUBS payload; errors via lrmlp_last_errmsg. */
LRMLP_INTERNAL int lrmlp__subspace_decode(const uint8_t *p, uint64_t len, lrmlp_subspace **out);

#endif
