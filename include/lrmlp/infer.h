/* liblrmlp: deployment. A read-only model that many threads share, fast
 * small batches, and preprocessing that travels with the network.
 *
 * A model (lrmlp_model) is an immutable copy of a trained network's weights
 * and preprocessing, made from a network or read from a model file. Nothing
 * ever writes it after creation: every thread of a simulation may call
 * lrmlp_model_predict_* on the one model at the same time, each with its
 * own workspace (lrmlp_infer_ws), which holds all the scratch memory a call
 * needs. After the model and the workspaces exist, prediction allocates
 * nothing; batches larger than the workspace's capacity are processed in
 * chunks of that capacity, so memory does not grow with n.
 *
 * Kernels: layers of at least 32 inputs and 32 outputs run chunks of 2
 * rows and more on a transposed ("packed") copy of the weights that the
 * model makes once when it is created (so a dense model holds its weights
 * twice: see lrmlp_model_memory); that kernel computes every output the
 * same way whatever the chunk's size, so such a layer gives a row the same
 * bits in any batch of 2 rows or more. A single row, and layers of fewer
 * than 32 outputs in chunks of up to 16 rows, use a direct kernel that
 * reads each weight row in place (no packing, no BLAS call), so a batch of
 * 1 costs one pass over the weights whatever BLAS kernel is installed (its
 * sums are ordered differently: last-bit differences from larger batches);
 * the rest goes through BLAS GEMM. lrmlp_net_predict_* gives the model's
 * results bit for bit: for more than 16 rows it packs the weights in its
 * own scratch at each call, for 2 to 16 it computes the packed kernel's
 * sums from the weights in place.
 *
 * Preprocessing. A network may carry an input transform, applied to each
 * input row x before the first layer, and an output transform, applied to
 * each output row:
 *
 *     x' = M x + c        (M d x d, or diagonal: x'_j = m_j x_j + c_j)
 *     y  = s * y' + t     (per output: de-standardization of targets)
 *
 * lrmlp_net_predict_* and lrmlp_model_predict_* apply both unless asked for
 * raw outputs (LRMLP_PREDICT_RAW, lrmlp_net_predict_raw_*). Training calls
 * (lrmlp_net_loss_*, lrmlp_net_gradient_*, lrmlp_train_epoch,
 * lrmlp_evaluate) work in the network's own coordinates: their inputs are
 * already transformed (a standardized dataset) and their targets are
 * standardized ones. The transforms are stored in model files (section
 * PREP, docs/format.md) and copied by lrmlp_net_clone and
 * lrmlp_model_from_net.
 *
 * Errors: LRMLP_OK or a negative status with a message in
 * lrmlp_last_errmsg() (common.h); a failed call changes nothing.
 * Threads: see each function. The library never changes the BLAS thread
 * count; docs/deploy.md explains why a caller that runs predict from many
 * threads should keep BLAS at one thread. */
#ifndef LRMLP_INFER_H
#define LRMLP_INFER_H

#include "common.h"
#include "net.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_model lrmlp_model;
typedef struct lrmlp_infer_ws lrmlp_infer_ws;

/* ---- preprocessing on a network (exclusive use of net) ----
 * All vectors are copied; values must be finite (LRMLP_ERR_NONFINITE) and
 * have the network's input width d or output width K. */

/* x'_j = (x_j - mean[j]) / std[j]; std[j] > 0. Replaces any input transform. */
LRMLP_API int lrmlp_net_set_input_standardize(lrmlp_net *net, const double *mean,
                                              const double *std);
/* x' = M x + c with M d x d row-major and c (d values; NULL: zero).
 * Replaces any input transform. */
LRMLP_API int lrmlp_net_set_input_affine(lrmlp_net *net, const double *M, const double *c);
/* y_j = scale[j] * y'_j + shift[j] (shift NULL: zero). For targets
 * standardized as (t - mean) / std, pass scale = std, shift = mean. */
LRMLP_API int lrmlp_net_set_output_affine(lrmlp_net *net, const double *scale,
                                          const double *shift);
/* Removes both transforms. */
LRMLP_API void lrmlp_net_clear_preprocessing(lrmlp_net *net);
/* Copies the transforms fitted on a dataset: the input map its features
 * went through (lrmlp_dataset_standardize and lrmlp_dataset_whiten,
 * composed, from the values it was created with), and the output map
 * undoing lrmlp_dataset_standardize_targets. A dataset with neither gives
 * LRMLP_ERR_STATE. Widths must match the network's (LRMLP_ERR_SHAPE). */
LRMLP_API int lrmlp_net_set_preprocessing_from_dataset(lrmlp_net *net,
                                                       const lrmlp_dataset *ds);

/* Which transforms a network carries: a bit set of these. Thread-safe. */
#define LRMLP_PREP_INPUT_DIAGONAL 1u  /* x'_j = m_j x_j + c_j */
#define LRMLP_PREP_INPUT_AFFINE 2u    /* x' = M x + c */
#define LRMLP_PREP_OUTPUT 4u          /* y = s * y' + t */
LRMLP_API unsigned lrmlp_net_preprocessing(const lrmlp_net *net);

/* Forward pass without the transforms (raw network outputs). As
 * lrmlp_net_predict_*, otherwise. */
LRMLP_API int lrmlp_net_predict_raw_f32(lrmlp_net *net, const float *X, size_t n, float *Y);
LRMLP_API int lrmlp_net_predict_raw_f64(lrmlp_net *net, const double *X, size_t n, double *Y);

/* ---- the shared model ---- */

/* Makes a model from a network: copies its weights, activations and
 * preprocessing (the network may then change or be freed). Reads net
 * (no thread may modify it meanwhile). *out is NULL on error. */
LRMLP_API int lrmlp_model_from_net(lrmlp_model **out, const lrmlp_net *net);
/* Reads a model file (any version lrmlp_model_load reads; an optimizer or
 * subspace estimate in it is ignored). Errors as lrmlp_model_load.
 * Thread-safe. */
LRMLP_API int lrmlp_model_read(lrmlp_model **out, const char *path);
LRMLP_API int lrmlp_model_read_mem(lrmlp_model **out, const void *buf, size_t len);
/* Frees the model; NULL is a no-op. No call may be using it, and its
 * workspaces must not be used with any model afterwards. */
LRMLP_API void lrmlp_model_free(lrmlp_model *model);

/* Shape queries; thread-safe. */
LRMLP_API lrmlp_dtype lrmlp_model_dtype(const lrmlp_model *model);
LRMLP_API size_t lrmlp_model_input_dim(const lrmlp_model *model);
LRMLP_API size_t lrmlp_model_output_dim(const lrmlp_model *model);
/* Bytes the model holds (weights, their packed copy, preprocessing,
 * tables). */
LRMLP_API size_t lrmlp_model_memory(const lrmlp_model *model);

/* ---- workspaces ---- */

/* Creates a workspace for model, for chunks of up to max_batch rows
 * (max_batch >= 1; capped at an internal chunk size of 256 to 2048 rows
 * chosen from the widths, as lrmlp_net_predict_* uses). Owned by the
 * caller; one thread at a time. Thread-safe (reads model only). */
LRMLP_API int lrmlp_infer_ws_create(lrmlp_infer_ws **out, const lrmlp_model *model,
                                    size_t max_batch);
/* Frees a workspace; NULL is a no-op. */
LRMLP_API void lrmlp_infer_ws_free(lrmlp_infer_ws *ws);
/* Bytes a workspace for model and max_batch holds (0 on bad arguments). */
LRMLP_API size_t lrmlp_infer_ws_size(const lrmlp_model *model, size_t max_batch);

/* ---- prediction ---- */

#define LRMLP_PREDICT_RAW 1u  /* skip the input and output transforms */

/* Y (n x K) = the network applied to X (n x d), in evaluation mode, with
 * the preprocessing unless flags has LRMLP_PREDICT_RAW.
 *
 * Threads: any number of calls may run at once on one model, each with its
 * own workspace. A workspace serves one call at a time; a second call that
 * finds it in use returns LRMLP_ERR_STATE at once and touches nothing (a
 * cheap guard against sharing one by mistake, not a lock).
 *
 * Results: for finite inputs, bit-identical to lrmlp_net_predict_* (or
 * _raw_) on the network the model was made from, whenever n <= max_batch
 * of ws or max_batch is at least the internal chunk size (both then split
 * the batch the same way). Rows do not depend on one another.
 *
 * Errors: LRMLP_ERR_INVALID (NULL, n == 0, unknown flags, ws made for
 * another model), LRMLP_ERR_DTYPE, LRMLP_ERR_NONFINITE (NaN/Inf in X; Y
 * untouched), LRMLP_ERR_STATE (ws in use). */
LRMLP_API int lrmlp_model_predict_f32(const lrmlp_model *model, lrmlp_infer_ws *ws,
                                      const float *X, size_t n, float *Y, unsigned flags);
LRMLP_API int lrmlp_model_predict_f64(const lrmlp_model *model, lrmlp_infer_ws *ws,
                                      const double *X, size_t n, double *Y, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
