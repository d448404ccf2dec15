/* liblrmlp: the training-dynamics tracker (docs/dynamics.md).
 *
 * A tracker watches one network during training, every `every` optimizer
 * steps, and records per analysed layer l (the layers of a subspace
 * estimate, or every layer but the last when created without one):
 *
 *   LRMLP_TRACK_BLOCK_FRACTION  index 0..3: fractions of ||W_l(t) - W_l(0)||_F^2
 *                               in blocks 11, 12, 21, 22 of U^T (W(t) - W(0)) V
 *                               (needs a subspace estimate, and only on its
 *                               layers with output bases; all four 0 when
 *                               W_l(t) = W_l(0); NaN for a block that does
 *                               not exist, e.g. 11 and 12 when out == p)
 *   LRMLP_TRACK_SINGULAR_VALUE  index i: sigma_{i+1}(W_l(t)), i < mn = min(out, in):
 *                               all of them, or with c = sv_count only the
 *                               top and the bottom c (indices 0..c-1 and
 *                               mn-c..mn-1; all when 2c >= mn)
 *   LRMLP_TRACK_STABLE_RANK     ||W_l(t)||_F^2 / ||W_l(t)||_2^2 (NaN if W_l(t) = 0)
 *   LRMLP_TRACK_UPDATE_NORM     ||W_l(t) - W_l(0)||_F
 *   and for layer 0 only, from the network's current gradient G_1(t):
 *   LRMLP_TRACK_GRAD_GAP        sigma_{K+1}(G_1(t)) / sigma_K(G_1(t)) (sigma_{K+1}
 *                               = 0 when K = min(out, in); NaN if sigma_K = 0)
 *   LRMLP_TRACK_GRAD_ANGLE_LEFT / _RIGHT  ||sin Theta||_2 between the top-K
 *                               left / right singular subspaces of G_1(t) and
 *                               those of G_1 at the tracker's creation
 *   The three gradient quantities are NaN at a record where G_1(t) is all
 *   zero, and are never recorded (no rows at all) by a tracker created while
 *   the network's layer-0 gradient was all zero (no gradient computed yet,
 *   or layer 0 frozen).
 *
 * Each record emits, per analysed layer in order: the 4 block fractions
 * (when available), the singular values (descending), the stable rank, the
 * update norm; then the 3 gradient quantities. Layers are computed in
 * double whatever the network's dtype (float32 is converted).
 *
 * W_l(0) is the network's weights when the tracker is created. The gradient
 * the tracker reads is whatever the network's gradient vector holds when it
 * records (in lrmlp_tracker_on_step: the gradient of the batch just used,
 * taken at the weights before the step; for full-batch GD that is G_1(t-1)
 * next to W(t)).
 *
 * Records go to a callback and/or a tidy CSV file with the header
 * "step,layer,quantity,index,value" (one row per value; numbers printed
 * with %.9g, locale-independent). Cost per record: one SVD of each analysed
 * weight matrix and of G_1 (O(m^3) for an m x m layer) plus two GEMMs per
 * layer for the block split; nothing at the steps in between, and nothing
 * at all when no tracker is attached. All scratch (LAPACK workspaces too)
 * is allocated at creation: recording allocates nothing. Memory: W(0) and,
 * with a subspace, out^2 + in^2 doubles of bases per analysed layer.
 *
 * Threads: a tracker is used by the thread that trains its network.
 * Errors: LRMLP_OK or a negative status with a message in
 * lrmlp_last_errmsg() (common.h). The library never prints. */
#ifndef LRMLP_TRACK_H
#define LRMLP_TRACK_H

#include "common.h"
#include "net.h"
#include "subspace.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_tracker lrmlp_tracker;

/* As X(NAME, value, "name"); the enum and the CSV names come from it. */
#define LRMLP_TRACK_QUANTITY_MAP(X)                                                  \
    X(BLOCK_FRACTION, 0, "block_fraction")                                           \
    X(SINGULAR_VALUE, 1, "singular_value")                                           \
    X(STABLE_RANK, 2, "stable_rank")                                                 \
    X(UPDATE_NORM, 3, "update_norm")                                                 \
    X(GRAD_GAP, 4, "grad_gap")                                                       \
    X(GRAD_ANGLE_LEFT, 5, "grad_angle_left")                                         \
    X(GRAD_ANGLE_RIGHT, 6, "grad_angle_right")

typedef enum lrmlp_track_quantity {
#define LRMLP_TRACK_ENUM_(name, value, str) LRMLP_TRACK_##name = value,
    LRMLP_TRACK_QUANTITY_MAP(LRMLP_TRACK_ENUM_)
#undef LRMLP_TRACK_ENUM_
    LRMLP_TRACK_QUANTITY_COUNT_
} lrmlp_track_quantity;

/* Name used in the CSV file ("block_fraction", "singular_value", ...), or
 * NULL for an unknown value. */
LRMLP_API const char *lrmlp_track_quantity_name(lrmlp_track_quantity q);

typedef struct lrmlp_track_record {
    uint64_t step;              /* optimizer steps taken when recorded */
    size_t layer;
    lrmlp_track_quantity quantity;
    size_t index;               /* block 0..3 (11,12,21,22), singular value index, else 0 */
    double value;
} lrmlp_track_record;

/* Receives each record; return 0 to go on, nonzero to make the recording
 * call fail with LRMLP_ERR_STOPPED (the rest of that record is dropped). */
typedef int (*lrmlp_track_fn)(void *user, const lrmlp_track_record *rec);

#define LRMLP_TRACKER_OPTIONS_VERSION 1
typedef struct lrmlp_tracker_options {
    unsigned int version;       /* LRMLP_TRACKER_OPTIONS_VERSION */
    uint64_t every;             /* record when step % every == 0 (default 10; the
                                   creation state is recorded as step 0) */
    size_t sv_count;            /* 0: all singular values; else the top and the
                                   bottom sv_count of each layer (default 0) */
    size_t k;                   /* K for the gradient quantities; 0 = the
                                   estimate's rank, or the output width */
    const char *csv_path;       /* NULL: no file. Opened (truncated) at creation */
    lrmlp_track_fn on_record;   /* optional */
    void *on_record_user;
} lrmlp_tracker_options;
#define LRMLP_TRACKER_OPTIONS_INIT { LRMLP_TRACKER_OPTIONS_VERSION, 10, 0, 0, NULL, NULL, NULL }
LRMLP_API int lrmlp_tracker_options_init(lrmlp_tracker_options *opts, unsigned int version);

/* Creates a tracker for net, copying its current weights as W(0) and, for
 * the gradient quantities, the top-K singular subspaces of its current
 * gradient vector as those of G_1(0) (so compute a gradient first, e.g. with
 * lrmlp_subspace_estimate_* or lrmlp_net_gradient_*; with an all-zero
 * gradient the gradient quantities are skipped for good). subspace may be
 * NULL (no block fractions; layers 0 .. L-2 are analysed, layer 0 for
 * L = 1); it is copied, not kept, and must come from a network of net's
 * shape. opts may be NULL for the defaults. Records step 0 at once.
 *
 * On success *out owns a new handle (free with lrmlp_tracker_free). On
 * error *out is NULL and lrmlp_last_errmsg() says why:
 *   LRMLP_ERR_INVALID   NULL out or net, every == 0
 *   LRMLP_ERR_VERSION   unknown options version
 *   LRMLP_ERR_SHAPE     subspace of another shape; K outside 1..min(out, in)
 *                       of layer 0
 *   LRMLP_ERR_DIVERGED  NaN/Inf in the weights or the layer-0 gradient
 *   LRMLP_ERR_IO        the CSV file cannot be opened or written
 *   LRMLP_ERR_STOPPED   on_record asked to stop during the step-0 record
 *   LRMLP_ERR_LINALG    an SVD failed
 *   LRMLP_ERR_NOMEM     out of memory
 * The CSV file, once opened, is left as written so far. */
LRMLP_API int lrmlp_tracker_create(lrmlp_tracker **out, lrmlp_net *net,
                                   const lrmlp_subspace *subspace,
                                   const lrmlp_tracker_options *opts);
/* Frees the tracker and closes its CSV file; NULL is a no-op. It cannot
 * report a failure to write the last buffered records: call
 * lrmlp_tracker_flush first when the file matters. */
LRMLP_API void lrmlp_tracker_free(lrmlp_tracker *t);
/* Records every quantity now, labelled with step. net must have the shape
 * the tracker was created with (LRMLP_ERR_SHAPE otherwise; any dtype).
 * Errors: LRMLP_ERR_INVALID (NULL), LRMLP_ERR_SHAPE, LRMLP_ERR_DIVERGED
 * (NaN/Inf weights or gradient), LRMLP_ERR_LINALG, LRMLP_ERR_IO (CSV
 * write), LRMLP_ERR_STOPPED (on_record). Values emitted before an error
 * stay emitted. */
LRMLP_API int lrmlp_tracker_record(lrmlp_tracker *t, lrmlp_net *net, uint64_t step);

/* A step callback for lrmlp_train_options.on_step with user = the tracker:
 * records when info->step % every == 0 and returns 0, or nonzero when the
 * record failed (or tracker or info is NULL), which stops training:
 * lrmlp_train_epoch then returns LRMLP_ERR_STOPPED and the tracker's
 * message is in lrmlp_last_errmsg() (recorded in the training thread). */
LRMLP_API int lrmlp_tracker_on_step(void *tracker, lrmlp_net *net, const lrmlp_step_info *info);

/* Flushes the CSV file (a no-op without one). LRMLP_ERR_IO when this or any
 * earlier write to it failed (a full disk: records were lost), and from then
 * on every record and flush reports LRMLP_ERR_IO too. lrmlp_tracker_free
 * closes it. */
LRMLP_API int lrmlp_tracker_flush(lrmlp_tracker *t);

/* The latest recorded value of a quantity (NaN if never recorded, and for
 * a NULL tracker or an index, layer or quantity out of range). Gradient
 * quantities live on layer 0, index 0. */
LRMLP_API double lrmlp_tracker_last(const lrmlp_tracker *t, size_t layer,
                                    lrmlp_track_quantity q, size_t index);

#ifdef __cplusplus
}
#endif
#endif
