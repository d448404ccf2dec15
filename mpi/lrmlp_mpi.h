/* liblrmlp_mpi: data-parallel training of liblrmlp networks over MPI.
 *
 * An add-on library (liblrmlp_mpi.so.1, pkg-config lrmlp-mpi); the core
 * liblrmlp knows nothing of MPI. The add-on never calls MPI_Init or
 * MPI_Finalize: the program initializes MPI (any thread level; the handle is
 * used by one thread at a time) and creates a handle on a communicator.
 *
 * Data parallelism: every rank holds a replica of the network and optimizer
 * and the whole dataset (or an identical copy). Each optimizer step sums the
 * ranks' gradients with MPI_Allreduce, so all replicas take the same step and
 * stay bit-identical. Low-rank networks (lowrank.h) are ordinary networks with
 * fewer parameters, so they communicate fewer bytes per step automatically.
 *
 * Collectives: every function below marked "collective" must be called by all
 * ranks of the handle's communicator in the same order. They take part in the
 * same MPI calls whatever happens locally: when one rank fails (bad argument,
 * mismatched shape, out of memory, non-finite gradient) every rank returns an
 * error (the same code where the failure is detected collectively) instead of
 * hanging.
 *
 * Errors: LRMLP_OK or a negative lrmlp_status, with a message in the core
 * library's thread-local lrmlp_last_errmsg() (lrmlp/common.h).
 * Threads: one thread at a time per handle; distinct handles (on distinct
 * communicators) may be used from distinct threads if MPI was initialized
 * with MPI_THREAD_MULTIPLE. */
#ifndef LRMLP_MPI_H
#define LRMLP_MPI_H

#include <mpi.h>
#include <lrmlp.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LRMLP_MPI_BUILDING) && defined(__GNUC__)
#define LRMLP_MPI_API __attribute__((visibility("default")))
#else
#define LRMLP_MPI_API
#endif

/* Compile-time version of the add-on (its ABI follows docs/abi.md, soversion 2). */
#define LRMLP_MPI_VERSION_NUMBER 100
#define LRMLP_MPI_VERSION_STRING "0.1.0"
/* Run-time version of the add-on actually loaded. */
LRMLP_MPI_API int lrmlp_mpi_version_number(void);

typedef struct lrmlp_mpi lrmlp_mpi;

/* Creates a handle on a duplicate of comm (MPI_Comm_dup, so the add-on's
 * messages never mix with the caller's). Collective over comm. MPI must be
 * initialized and not finalized (else LRMLP_ERR_STATE). On error *out is NULL
 * and lrmlp_last_errmsg() says why. The handle starts in sum mode. The
 * duplicated communicator uses MPI_ERRORS_RETURN, so a failed MPI call becomes
 * LRMLP_ERR_IO with MPI's message instead of aborting the program. */
LRMLP_MPI_API int lrmlp_mpi_create(lrmlp_mpi **out, MPI_Comm comm);

/* Frees the handle and its communicator (MPI_Comm_free, collective over the
 * communicator). Call before MPI_Finalize. NULL is a no-op. */
LRMLP_MPI_API void lrmlp_mpi_free(lrmlp_mpi *h);

/* Rank and size of the handle's communicator; its duplicated communicator
 * (owned by the handle: do not free). */
LRMLP_MPI_API int lrmlp_mpi_rank(const lrmlp_mpi *h);
LRMLP_MPI_API int lrmlp_mpi_size(const lrmlp_mpi *h);
LRMLP_MPI_API MPI_Comm lrmlp_mpi_comm(const lrmlp_mpi *h);

/* Sum mode (average = 0, the default) or mean mode (average != 0) of
 * lrmlp_mpi_allreduce. Use mean mode with lrmlp_train_epoch and the mean
 * losses (LRMLP_LOSS_MSE, LRMLP_LOSS_CROSS_ENTROPY), whose per-rank gradients
 * are means over equally sized batches; sum mode with LRMLP_LOSS_SSE.
 * lrmlp_mpi_train_epoch ignores the mode (it weights by the true counts). */
LRMLP_MPI_API int lrmlp_mpi_set_average(lrmlp_mpi *h, int average);
LRMLP_MPI_API int lrmlp_mpi_get_average(const lrmlp_mpi *h);

/* The all-reduce hook (lrmlp_allreduce_fn) for lrmlp_train_options.allreduce
 * with allreduce_user = the handle: MPI_Allreduce(MPI_SUM) in place on the
 * gradient (MPI_FLOAT or MPI_DOUBLE), then a scale by 1/P in mean mode.
 * When lrmlp_mpi_grad_ready announced slices for this batch (see below), it
 * completes their reductions instead (LRMLP_ERR_STATE, after completing
 * them, if they do not cover count elements).
 * Collective; count and dtype must agree on all ranks. Counts the call, its
 * payload bytes (count * element size) and its wall time. */
LRMLP_MPI_API int lrmlp_mpi_allreduce(void *user, void *grad, size_t count, lrmlp_dtype dtype);

/* Overlap of the gradient reduction with the backward pass (docs/mpi.md).
 * lrmlp_mpi_grad_ready is the lrmlp_grad_ready_fn (train.h) for
 * lrmlp_train_options.grad_ready with grad_ready_user = the handle, used
 * together with lrmlp_mpi_allreduce as the all-reduce hook (and by
 * lrmlp_mpi_train_epoch). Each layer's gradient slice is then reduced by
 * its own MPI_Iallreduce(MPI_SUM), in the order the backward pass announces
 * them; in overlap mode (set_overlap on, the default) it is started as soon
 * as the slice is final and the hook only waits for them (MPI_Waitall)
 * before the optimizer step; with overlap off the same calls are started by
 * the hook after the backward pass. Both modes make the same MPI calls on the
 * same slices, so they give bit-identical results for any number of ranks;
 * with 2 ranks also bit-identical to the whole-vector MPI_Allreduce the hook
 * does when no slice was announced (a sum of two values does not depend on
 * the reduction algorithm). The mode must be the same on every rank; it is
 * local (not collective). grad_ready is collective in the sense of the hook:
 * every rank must announce the same slices in the same order, which the
 * core's epoch guarantees (train.h). It returns LRMLP_OK, LRMLP_ERR_INVALID
 * for a slice outside the network's gradient, or LRMLP_ERR_IO when MPI
 * fails. post_seconds (cumulative, reset with the counters) is the
 * time spent in MPI while announcing slices in overlap mode (posting and
 * progress polls during the backward pass); lrmlp_mpi_allreduce_seconds is
 * the time the hook blocks. */
LRMLP_MPI_API int lrmlp_mpi_grad_ready(void *user, lrmlp_net *net, size_t offset, size_t count);
LRMLP_MPI_API int lrmlp_mpi_set_overlap(lrmlp_mpi *h, int overlap);
LRMLP_MPI_API int lrmlp_mpi_get_overlap(const lrmlp_mpi *h);
LRMLP_MPI_API double lrmlp_mpi_post_seconds(const lrmlp_mpi *h);

/* ---- communication counters (local, not collective) ----
 * Every gradient all-reduce (the hook and lrmlp_mpi_train_epoch's steps)
 * adds to them; the small control collectives do not count. "Bytes" are the
 * payload of the reduced vector per rank and step (param_count * element
 * size); a ring all-reduce moves about 2 (P-1)/P times that per rank. */
LRMLP_MPI_API uint64_t lrmlp_mpi_allreduce_calls(const lrmlp_mpi *h);
LRMLP_MPI_API uint64_t lrmlp_mpi_allreduce_bytes(const lrmlp_mpi *h);   /* cumulative */
LRMLP_MPI_API size_t lrmlp_mpi_last_step_bytes(const lrmlp_mpi *h);     /* last call */
LRMLP_MPI_API double lrmlp_mpi_allreduce_seconds(const lrmlp_mpi *h);   /* cumulative */
/* Profile mode (off by default; same setting on every rank): each gradient
 * all-reduce (in overlap mode: the first slice of each batch) is preceded by
 * an MPI_Barrier whose time goes to
 * lrmlp_mpi_wait_seconds, so lrmlp_mpi_allreduce_seconds measures the
 * transfer alone instead of transfer plus waiting for the slowest rank.
 * Costs one barrier per step. */
LRMLP_MPI_API int lrmlp_mpi_set_profile(lrmlp_mpi *h, int profile);
LRMLP_MPI_API double lrmlp_mpi_wait_seconds(const lrmlp_mpi *h);        /* cumulative */
LRMLP_MPI_API void lrmlp_mpi_reset_counters(lrmlp_mpi *h);

/* Shape fingerprint of a network: dtype, layer widths, activations, biases,
 * low-rank rank and parameter count hashed to 64 bits (0 for NULL).
 * Thread-safe on a handle nobody modifies. */
LRMLP_MPI_API uint64_t lrmlp_mpi_shape_hash(const lrmlp_net *net);

/* Makes every rank's network (and optimizer) a bit-identical copy of root's:
 * weights, generator state, frozen flags, epoch count, optimizer state. Collective.
 *
 * First all ranks compare shape fingerprints (MPI_Allreduce MIN/MAX): if a
 * rank's *net differs from the others', every rank returns LRMLP_ERR_SHAPE
 * and nothing changes. A non-root rank may pass *net == NULL to receive the
 * network without the check. Then root serializes with lrmlp_model_save_mem
 * and broadcasts the length and the bytes; the other ranks load them and, only
 * when every rank succeeded, free their old handles and store the new ones in
 * *net and *opt (so those pointers change on non-root ranks; root's stay).
 * The optimizer travels when root passes opt != NULL and *opt != NULL; a
 * non-root rank that passes opt == NULL drops it, and one whose *opt is
 * replaced gets an optimizer for the received network. On error nothing
 * changes on any rank. */
LRMLP_MPI_API int lrmlp_mpi_broadcast_model(lrmlp_mpi *h, lrmlp_net **net, lrmlp_optim **opt,
                                            int root);

/* One data-parallel epoch. Collective.
 *
 * The sample order is a permutation of 0..n-1 drawn from (seed, epoch) by the
 * add-on's own generator (SplitMix64 + Fisher-Yates; identity order when
 * o->shuffle is 0), identical on every rank; the network's generator is not
 * used for it. The order is cut into global batches of P * o->batch_size
 * samples (o->batch_size 0: the whole dataset is one global batch); rank r
 * takes the r-th of P near-equal contiguous slices of each global batch,
 * computes its gradient, and the gradients are combined with one all-reduce
 * to the gradient of the whole global batch (the sum for LRMLP_LOSS_SSE;
 * for the mean losses each rank weights its mean by its share of the
 * global batch, so a short last batch is exact too). Then every rank takes
 * the same lrmlp_optim_step. The epoch itself is the core's
 * lrmlp_train_epoch with the order and the shard (rank, P) in its options
 * (train.h) and the add-on's all-reduce as hook. Hence P ranks with batch b
 * follow the same
 * trajectory as one process with batch P*b, up to float round-off of the
 * summation order.
 *
 * epoch is the caller's epoch index (it seeds the order and is the epoch the
 * step callback sees); a run restarted from a checkpoint passes the index it
 * would have reached, e.g. lrmlp_optim_steps(opt) divided by the steps per
 * epoch, ceil(n / (P * batch)). A completed epoch also advances
 * lrmlp_net_epochs, as lrmlp_train_epoch does (before version 2 of
 * lrmlp_train_options it did not).
 *
 * o->allreduce and o->grad_ready are ignored: the add-on reduces each
 * layer's slice as lrmlp_mpi_grad_ready does, overlapped with the backward
 * pass in overlap mode (the default; lrmlp_mpi_set_overlap). o->on_step, when set, is called on every rank
 * after each step with the rank's own slice loss and the global batch size;
 * the ranks then agree on stopping (one extra tiny all-reduce per step, only
 * when a callback is set): if any rank's callback asks to stop, every rank
 * returns LRMLP_ERR_STOPPED. stats (may be NULL) gets global figures: loss
 * is the mean over steps of the global batch loss, samples counts all ranks;
 * accuracy is NaN (the training pass's outputs are not public and a second
 * forward pass would cost a third of a step: use lrmlp_mpi_evaluate).
 *
 * Errors: dataset or network mismatch on any rank gives the same error on
 * all ranks before any step. A non-finite gradient on any rank (or a local
 * failure during a step) makes every rank's reduced gradient NaN, so every
 * rank stops without touching its weights; the failing rank returns its own
 * code, the others LRMLP_ERR_DIVERGED. RReLU draws slopes from each replica's
 * generator, which then differ across ranks (replicas stay identical in
 * weights but not bit-identical to a single process). */
LRMLP_MPI_API int lrmlp_mpi_train_epoch(lrmlp_mpi *h, lrmlp_net *net, lrmlp_optim *opt,
                                        const lrmlp_dataset *ds, const lrmlp_train_options *o,
                                        uint64_t seed, uint64_t epoch, lrmlp_epoch_stats *stats);

/* Evaluation with the work split: rank r evaluates the r-th contiguous
 * shard of ds (in batches of batch_size, 0: 1024) and the sums of the loss
 * and of the correct predictions are all-reduced, so every rank receives the
 * global result, equal to lrmlp_evaluate on the whole dataset up to
 * round-off. Collective. */
LRMLP_MPI_API int lrmlp_mpi_evaluate(lrmlp_mpi *h, lrmlp_net *net, const lrmlp_dataset *ds,
                                     lrmlp_loss loss, size_t batch_size, lrmlp_eval_result *out);

/* Checkpointing. Collective. save: root writes net and opt (opt may be NULL)
 * with lrmlp_model_save (atomic: the old file or the new one survives a
 * crash); every rank returns root's status. load: root reads path, replaces
 * its *net and *opt with the file's content, then lrmlp_mpi_broadcast_model
 * gives every rank the same handles (non-root ranks may pass *net == NULL).
 * On error nothing changes on any rank. */
LRMLP_MPI_API int lrmlp_mpi_checkpoint_save(lrmlp_mpi *h, lrmlp_net *net, const lrmlp_optim *opt,
                                            const char *path, int root);
LRMLP_MPI_API int lrmlp_mpi_checkpoint_load(lrmlp_mpi *h, lrmlp_net **net, lrmlp_optim **opt,
                                            const char *path, int root);

#ifdef __cplusplus
}
#endif
#endif
