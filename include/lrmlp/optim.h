/* liblrmlp: optimizers and learning-rate schedules.
 *
 * An optimizer is created for one network and updates its parameter vector
 * from its gradient vector. It skips frozen layers entirely. Its state
 * (momentum, Adam moments, step count) is one or two vectors of the
 * network's length and is saved in model files, so training resumes exactly.
 *
 * Update rules (g = gradient, w = parameter, lr = scheduled rate at step t):
 *   GD:     w -= lr * (g + wd * w)   (SGD without momentum)
 *   SGD:    v = mu v + g;  w -= lr * (nesterov ? g + mu v : v)
 *           (PyTorch's form; weight_decay adds wd * w to g first)
 *   ADAM:   g += wd w; m = b1 m + (1-b1) g; s = b2 s + (1-b2) g^2;
 *           w -= lr * (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps)
 *   ADAMW:  first w *= 1 - lr * wd (decoupled decay, PyTorch's order), then the
 *           ADAM update without adding wd w to g
 *   MUON:   weight matrices: B = mu B + g; M = nesterov ? g + mu B : B;
 *           w -= lr * (sqrt(max(1, rows/cols)) * NS(M) + wd * w), where NS is
 *           ns_steps quintic Newton-Schulz iterations (coefficients 3.4445,
 *           -4.7750, 2.0315) on M / ||M||_F, which approximates the
 *           orthogonal polar factor U V^T of M. Bias vectors use the SGD rule
 *           with the same momentum.
 * Gradient clipping (clip_norm > 0) scales the whole gradient (all unfrozen
 * layers together) to L2 norm clip_norm when larger, before any rule. The
 * scale is applied inside the update; the network's gradient vector is
 * left as it was.
 *
 * Schedules give lr(t) for step t = 0, 1, ... (the step about to be taken):
 *   warm-up: for t < warmup_steps, lr(t) = lr * (t + 1) / warmup_steps;
 *   after warm-up, with s = t - warmup_steps:
 *   CONSTANT: lr;  STEP: lr * gamma^floor(s / step_size);
 *   COSINE: min_lr + (lr - min_lr) * (1 + cos(pi * min(s, T) / T)) / 2,
 *           T = total_steps - warmup_steps.
 *
 * Threads: one thread at a time per optimizer; it must not run while another
 * thread uses its network. Errors: LRMLP_OK or a negative status, with a
 * message in lrmlp_last_errmsg() (common.h). */
#ifndef LRMLP_OPTIM_H
#define LRMLP_OPTIM_H

#include "common.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_optim lrmlp_optim;

/* Optimizer kinds and schedules as X(NAME, value, "name"): the enums and
 * the library's name tables come from these lists. */
#define LRMLP_OPTIM_KIND_MAP(X)                                                      \
    X(GD, 0, "gd")                                                                   \
    X(SGD, 1, "sgd")                                                                 \
    X(ADAM, 2, "adam")                                                               \
    X(ADAMW, 3, "adamw")                                                             \
    X(MUON, 4, "muon")

#define LRMLP_SCHEDULE_MAP(X)                                                        \
    X(CONSTANT, 0, "constant")                                                       \
    X(COSINE, 1, "cosine")                                                           \
    X(STEP, 2, "step")

typedef enum lrmlp_optim_kind {
#define LRMLP_OPTIM_ENUM_(name, value, str) LRMLP_OPTIM_##name = value,
    LRMLP_OPTIM_KIND_MAP(LRMLP_OPTIM_ENUM_)
#undef LRMLP_OPTIM_ENUM_
    LRMLP_OPTIM_COUNT_
} lrmlp_optim_kind;

typedef enum lrmlp_schedule {
#define LRMLP_SCHEDULE_ENUM_(name, value, str) LRMLP_SCHEDULE_##name = value,
    LRMLP_SCHEDULE_MAP(LRMLP_SCHEDULE_ENUM_)
#undef LRMLP_SCHEDULE_ENUM_
    LRMLP_SCHEDULE_COUNT_
} lrmlp_schedule;

#define LRMLP_OPTIM_OPTIONS_VERSION 1

typedef struct lrmlp_optim_options {
    unsigned int version;      /* LRMLP_OPTIM_OPTIONS_VERSION */
    lrmlp_optim_kind kind;     /* default SGD */
    double lr;                 /* base learning rate, default 0.01 */
    double momentum;           /* SGD and MUON, default 0 */
    int nesterov;              /* SGD and MUON, default 0 */
    double beta1, beta2;       /* ADAM(W): defaults 0.9, 0.999 */
    double eps;                /* ADAM(W): default 1e-8 */
    double weight_decay;       /* default 0 */
    double clip_norm;          /* 0 = no clipping (default) */
    int ns_steps;              /* MUON Newton-Schulz iterations, default 5 */
    lrmlp_schedule schedule;   /* default CONSTANT */
    uint64_t total_steps;      /* COSINE: length of warm-up plus anneal */
    double min_lr;             /* COSINE: final rate, default 0 */
    uint64_t step_size;        /* STEP: steps between decays */
    double gamma;              /* STEP: decay factor, default 0.1 */
    uint64_t warmup_steps;     /* linear warm-up length, default 0 */
} lrmlp_optim_options;

#define LRMLP_OPTIM_OPTIONS_INIT \
    { LRMLP_OPTIM_OPTIONS_VERSION, LRMLP_OPTIM_SGD, 0.01, 0.0, 0, 0.9, 0.999, 1e-8, \
      0.0, 0.0, 5, LRMLP_SCHEDULE_CONSTANT, 0, 0.0, 0, 0.1, 0 }

LRMLP_API int lrmlp_optim_options_init(lrmlp_optim_options *opts, unsigned int version);

/* Validates opts and creates an optimizer sized for net (which it does not
 * keep: pass the same network, or one of the same shape, to every step).
 * On error *out is NULL and lrmlp_last_errmsg() tells why. */
LRMLP_API int lrmlp_optim_create(lrmlp_optim **out, const lrmlp_net *net,
                                 const lrmlp_optim_options *opts);
LRMLP_API void lrmlp_optim_free(lrmlp_optim *opt);

/* Copies the options in effect into *opts. */
LRMLP_API int lrmlp_optim_get_options(const lrmlp_optim *opt, lrmlp_optim_options *opts);

/* One update of net's parameters from net's current gradient vector.
 * LRMLP_ERR_SHAPE/DTYPE if net does not match the optimizer's shape;
 * LRMLP_ERR_DIVERGED if the gradient holds NaN/Inf, or if the update would
 * make any weight or optimizer state value NaN or Inf (an overflow: too
 * large a learning rate or gradient). A DIVERGED step changes nothing: the
 * weights stay byte-identical to those after the last good step and the
 * optimizer state is untouched. The update is checked in a first pass that
 * computes it without storing it (Muon: its momentum, and its weight update
 * for the whole range NS(M)'s entries can take); this pass reads the
 * weights, gradient and state once more (docs/benchmarks.md has its cost).
 * The step counter advances only on success.
 *
 * Threads: for GD, SGD, Adam and AdamW on networks of at least 65,536
 * parameters, the check and the update are split over lrmlp_blas_threads()
 * threads, the calling one and helpers that the optimizer starts at its
 * first such step and joins in lrmlp_optim_free. Their work runs only
 * inside this call (and, in lrmlp_train_epoch, the batch copy right after
 * it), while OpenBLAS's own threads have none; after a step a
 * helper polls for the next one for 0.3 ms, yielding its core to any other
 * runnable thread (as OpenBLAS's idle threads do), then sleeps. With 1
 * OpenBLAS thread no helper is started. The split is over fixed 16,384-element tiles whose sums are
 * combined in tile order: any thread count gives the same bits. The helpers
 * take no signals. After fork(), the child's first step starts its own. */
LRMLP_API int lrmlp_optim_step(lrmlp_optim *opt, lrmlp_net *net);

/* Number of successful steps so far. */
LRMLP_API uint64_t lrmlp_optim_steps(const lrmlp_optim *opt);
/* Learning rate the next step will use. */
LRMLP_API double lrmlp_optim_current_lr(const lrmlp_optim *opt);
/* L2 norm of the gradient seen by the last step (before clipping). */
LRMLP_API double lrmlp_optim_last_grad_norm(const lrmlp_optim *opt);
/* Clears the state (moments, step count) as if newly created. */
LRMLP_API void lrmlp_optim_reset(lrmlp_optim *opt);

/* Per-layer learning-rate multiplier (default 1): the layer's parameters
 * are updated with lr(t) * scale (decoupled weight decay too). With a
 * low-rank network, lrmlp_lowrank_layer() gives the layer of each factor.
 * scale must be finite and >= 0 (0 behaves like a frozen layer, but keeps
 * its state). Saved in model files. lrmlp_optim_reset keeps the scales. */
LRMLP_API int lrmlp_optim_set_layer_lr_scale(lrmlp_optim *opt, size_t layer, double scale);
/* The multiplier of a layer, NaN when out of range. */
LRMLP_API double lrmlp_optim_layer_lr_scale(const lrmlp_optim *opt, size_t layer);

/* The schedule as a pure function: lr at step t for these options.
 * Thread-safe. Returns NaN for invalid options. */
LRMLP_API double lrmlp_schedule_lr(const lrmlp_optim_options *opts, uint64_t t);

/* Short name ("sgd", "adam", ...), or NULL for an unknown kind. */
LRMLP_API const char *lrmlp_optim_kind_name(lrmlp_optim_kind kind);
/* Short name ("constant", "cosine", "step"), or NULL for an unknown value. */
LRMLP_API const char *lrmlp_schedule_name(lrmlp_schedule schedule);

#ifdef __cplusplus
}
#endif
#endif
