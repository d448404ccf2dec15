/* liblrmlp: training loop and evaluation.
 *
 * lrmlp_train_epoch runs one pass over a dataset: for each mini-batch it
 * copies the batch out of the dataset, computes the gradient
 * (lrmlp_net_gradient_*; the optional grad_ready callback hears of each
 * layer's part as it is finished), calls the optional all-reduce hook on the
 * gradient vector, takes an optimizer step and calls the optional step
 * callback.
 * Shuffling draws from the network's generator, so a network restored from a
 * model file continues with the same batches as an uninterrupted run.
 *
 * Errors are reported through lrmlp_last_errmsg() (common.h). A
 * diverged step (NaN/Inf loss or gradient) returns LRMLP_ERR_DIVERGED before
 * the optimizer touches the weights, so the network keeps its last finite
 * parameters. Threads: the network, optimizer and dataset must not be used
 * by another thread during the call (the dataset only read). The matrix
 * products run on OpenBLAS's threads, as many as the application set; the
 * optimizer step, and the batch copy that follows it, are split over the
 * same number of threads while OpenBLAS's are idle (lrmlp_optim_step,
 * optim.h); the rest of the element-wise work runs on the calling thread. Results are bitwise reproducible for a given
 * seed and BLAS thread count. */
#ifndef LRMLP_TRAIN_H
#define LRMLP_TRAIN_H

#include "common.h"
#include "net.h"
#include "optim.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a step callback sees. */
typedef struct lrmlp_step_info {
    uint64_t step;        /* optimizer steps taken so far, this one included */
    uint64_t epoch;       /* epochs completed before this one (0-based) */
    size_t batch;         /* index of this batch within the epoch */
    size_t batch_size;    /* samples in this batch */
    double loss;          /* loss of this batch (before the step) */
    double lr;            /* learning rate this step used */
} lrmlp_step_info;

/* Called after each optimizer step. Return 0 to go on, nonzero to stop
 * (lrmlp_train_epoch then returns LRMLP_ERR_STOPPED). The network may be
 * read (weights, gradients) but not resized or freed. */
typedef int (*lrmlp_step_fn)(void *user, lrmlp_net *net, const lrmlp_step_info *info);

/* Called between the backward pass and the optimizer step with the flat
 * gradient vector (count elements of dtype). It must replace the gradient by
 * the one to apply (for data parallelism: the sum or mean over processes)
 * and return LRMLP_OK, or a negative status to abort the epoch. */
typedef int (*lrmlp_allreduce_fn)(void *user, void *grad, size_t count, lrmlp_dtype dtype);

/* Called during the backward pass when one layer's slice of the flat
 * gradient vector, elements [offset, offset + count) (the layer's W then its
 * b, see lrmlp_net_params), holds its final value for the batch: for data
 * parallelism, the place to start a non-blocking reduction of that slice
 * while the earlier layers' backward pass runs; the all-reduce hook then
 * waits for them. Contract: for every batch, before the all-reduce hook,
 * it is called exactly once per layer, from the last layer to the first, so
 * that the calls cover the whole vector. With shards (P > 1) the slice is
 * already weighted as the hook expects, and the calls are made on every
 * process even when the batch failed locally (slices all NaN) or this
 * process's part is empty (zeros); frozen layers are announced too (their
 * zero slice). The slice may be read and, once the call returned, written by
 * the callee or its MPI library until the all-reduce hook returns; the loop
 * does not touch it meanwhile. Return 0, or a negative lrmlp_status: no
 * further calls are made for that batch, the all-reduce hook is still called
 * (so that what was started can be completed) and the epoch then returns
 * the status. The network must not be modified. */
typedef int (*lrmlp_grad_ready_fn)(void *user, lrmlp_net *net, size_t offset, size_t count);

/* Version 2 added order, shard_count and shard_index, version 3 grad_ready
 * and grad_ready_user; a program built against an older version passes its
 * shorter struct with its version and gets the defaults for the rest. */
#define LRMLP_TRAIN_OPTIONS_VERSION 3
typedef struct lrmlp_train_options {
    unsigned int version;          /* LRMLP_TRAIN_OPTIONS_VERSION */
    lrmlp_loss loss;               /* default LRMLP_LOSS_CROSS_ENTROPY */
    size_t batch_size;             /* 0 = full batch (default 128); per shard with shards */
    int shuffle;                   /* reshuffle each epoch (default 1) */
    lrmlp_step_fn on_step;         /* optional */
    void *on_step_user;
    lrmlp_allreduce_fn allreduce;  /* optional */
    void *allreduce_user;
    /* version 2 */
    const size_t *order;           /* optional: the epoch's sample order, a permutation
                                      of 0..n-1 (n = dataset size) used as given instead
                                      of shuffling (the generator is not drawn from).
                                      Read during the call only. Default NULL */
    size_t shard_count;            /* data parallelism over P = shard_count processes
                                      (default 0 or 1: off); see below */
    size_t shard_index;            /* this process's shard, < shard_count */
    /* version 3 */
    lrmlp_grad_ready_fn grad_ready; /* optional, default NULL */
    void *grad_ready_user;
} lrmlp_train_options;
#define LRMLP_TRAIN_OPTIONS_INIT \
    { LRMLP_TRAIN_OPTIONS_VERSION, LRMLP_LOSS_CROSS_ENTROPY, 128, 1, NULL, NULL, NULL, NULL, \
      NULL, 0, 0, NULL, NULL }
LRMLP_API int lrmlp_train_options_init(lrmlp_train_options *opts, unsigned int version);

typedef struct lrmlp_epoch_stats {
    double loss;          /* mean over batches of the batch loss */
    double accuracy;      /* training accuracy of the batches as seen (classification), else NaN */
    size_t samples;       /* samples used */
    size_t steps;         /* optimizer steps taken */
    double seconds;       /* wall time of the epoch */
} lrmlp_epoch_stats;

/* One epoch. stats may be NULL. The last batch may be smaller than
 * batch_size. The dataset's feature dimension and target width must match
 * the network's input and output widths (LRMLP_ERR_SHAPE otherwise).
 *
 * Shards (shard_count = P > 1, shard_index = r): every process holds the
 * whole dataset and visits the same sample order (give it in order, or
 * shuffle from identically seeded networks). A global batch has
 * batch_size * P samples (all n when batch_size is 0 or at least
 * ceil(n / P)); process r computes the gradient of its part, samples
 * [cnt r / P, cnt (r + 1) / P) of a batch of cnt, as the mean over its part
 * for the mean losses, weighted by part / cnt so that the all-reduce hook's
 * SUM is the whole batch's gradient (the hook must sum; a process with an
 * empty part contributes zeros). The hook is called once per batch on every
 * process, even after a local failure: the gradient is then all NaN, so that
 * every process's optimizer step fails together, and the local error is
 * returned. on_step sees this process's part: its loss (a mean over the
 * part for the mean losses) with batch_size = the global cnt. stats->loss is
 * this process's share: the mean over batches of loss * part / cnt (mean
 * losses) or of the part's loss (LRMLP_LOSS_SSE), so that the sum over
 * processes is the global mean batch loss; stats->accuracy counts this
 * process's samples; stats->samples counts the global batches. With P = 1
 * the epoch is exactly the unsharded one. liblrmlp_mpi drives this.
 *
 * On an error the steps already taken (stats->steps) stay taken; an epoch
 * that fails before its first step leaves the network's weights and
 * generator as they were (its gradient vector and workspace may have
 * changed). */
LRMLP_API int lrmlp_train_epoch(lrmlp_net *net, lrmlp_optim *opt, const lrmlp_dataset *ds,
                                const lrmlp_train_options *opts, lrmlp_epoch_stats *stats);

typedef struct lrmlp_eval_result {
    double loss;          /* loss over the whole dataset as one batch would give it
                             (a sum for SSE, a mean for MSE and cross-entropy) */
    double accuracy;      /* fraction of argmax(output) == label; NaN for regression */
    size_t samples;
} lrmlp_eval_result;

/* Evaluation-mode pass over the dataset in batches of batch_size (0: 1024).
 * Does not touch the gradient vector or the generator. */
LRMLP_API int lrmlp_evaluate(lrmlp_net *net, const lrmlp_dataset *ds, lrmlp_loss loss,
                             size_t batch_size, lrmlp_eval_result *out);

/* Epochs completed by lrmlp_train_epoch on this network (saved in model files). */
LRMLP_API uint64_t lrmlp_net_epochs(const lrmlp_net *net);

#ifdef __cplusplus
}
#endif
#endif
