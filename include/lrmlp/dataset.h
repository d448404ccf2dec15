/* liblrmlp: datasets.
 *
 * A dataset is n samples of d features and, per sample, either a class label
 * in [0, n_classes) or a vector of n_targets real targets. Features read from
 * IDX files stay bytes in memory (the Fashion-MNIST training set takes 47 MB,
 * not 188 MB): standardization is kept as a per-feature affine map applied
 * when a batch is copied out. Whitening mixes features, so it stores the
 * whitened features as float32 or float64 (the dataset's precision, chosen at
 * creation; IDX files load as float32).
 *
 * Batches are copied out as float or double rows (n x d, row-major) with the
 * targets as one-hot rows (classification) or target rows (regression).
 *
 * Threads: const functions may run concurrently on one handle; the others
 * need exclusive use. Errors: LRMLP_OK or a negative status with a message
 * in lrmlp_last_errmsg() (common.h). A failed call leaves the dataset as it
 * was. */
#ifndef LRMLP_DATASET_H
#define LRMLP_DATASET_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrmlp_dataset lrmlp_dataset;

/* Reads an IDX image file (magic 0x00000803, u8, any number of dimensions
 * >= 1 after the count; features = product of them) and an IDX label file
 * (0x00000801, u8). Either may be gzip-compressed (detected by content).
 * labels_path may be NULL (then the dataset has no targets). n_classes is
 * max label + 1. Truncated files (a gzip file without its complete
 * trailer included), bytes after the IDX data or after the last gzip
 * member, a bad gzip CRC, wrong magic, mismatched counts and sizes over
 * 2^31 elements give LRMLP_ERR_FORMAT. */
LRMLP_API int lrmlp_dataset_load_idx(lrmlp_dataset **out, const char *images_path,
                                     const char *labels_path);

#define LRMLP_CSV_OPTIONS_VERSION 1
typedef struct lrmlp_csv_options {
    unsigned int version;   /* LRMLP_CSV_OPTIONS_VERSION */
    char delimiter;         /* default ',' */
    int has_header;         /* skip the first line (default 0) */
    long label_column;      /* 0-based column of an integer class label
                               (default 0); -1: no label column */
    size_t n_targets;       /* with label_column = -1: the last n_targets
                               columns are real targets (default 0: none) */
    lrmlp_dtype dtype;      /* storage precision, default LRMLP_F32 */
} lrmlp_csv_options;
#define LRMLP_CSV_OPTIONS_INIT { LRMLP_CSV_OPTIONS_VERSION, ',', 0, 0, 0, LRMLP_F32 }
LRMLP_API int lrmlp_csv_options_init(lrmlp_csv_options *opts, unsigned int version);

/* Reads a numeric CSV file (one sample per line, the same number of fields
 * on each line; the locale is never consulted). Every column that is not the
 * label or a target is a feature. The file is checked as it is read: a NUL
 * byte or a line longer than LRMLP_CSV_MAX_LINE bytes is LRMLP_ERR_FORMAT
 * at once (so /dev/zero or a binary file fails fast). */
#define LRMLP_CSV_MAX_LINE (16 * 1024 * 1024)
LRMLP_API int lrmlp_dataset_load_csv(lrmlp_dataset **out, const char *path,
                                     const lrmlp_csv_options *opts);

/* Datasets from caller memory (copied). X is n x d. Exactly one of labels
 * (n class indices in [0, n_classes)) or T (n x n_targets) may be given, or
 * neither. */
LRMLP_API int lrmlp_dataset_from_labels_f32(lrmlp_dataset **out, const float *X, size_t n,
                                            size_t d, const int32_t *labels,
                                            size_t n_classes);
LRMLP_API int lrmlp_dataset_from_labels_f64(lrmlp_dataset **out, const double *X, size_t n,
                                            size_t d, const int32_t *labels,
                                            size_t n_classes);
LRMLP_API int lrmlp_dataset_from_targets_f32(lrmlp_dataset **out, const float *X, size_t n,
                                             size_t d, const float *T, size_t n_targets);
LRMLP_API int lrmlp_dataset_from_targets_f64(lrmlp_dataset **out, const double *X, size_t n,
                                             size_t d, const double *T, size_t n_targets);

LRMLP_API void lrmlp_dataset_free(lrmlp_dataset *ds);

LRMLP_API size_t lrmlp_dataset_size(const lrmlp_dataset *ds);        /* n */
LRMLP_API size_t lrmlp_dataset_dim(const lrmlp_dataset *ds);         /* d */
LRMLP_API size_t lrmlp_dataset_n_classes(const lrmlp_dataset *ds);   /* 0 if regression */
/* Width of a target row: n_classes (one-hot) or n_targets. */
LRMLP_API size_t lrmlp_dataset_target_dim(const lrmlp_dataset *ds);
/* Bytes of memory the dataset holds (features, targets, transforms). */
LRMLP_API size_t lrmlp_dataset_memory(const lrmlp_dataset *ds);

typedef enum lrmlp_standardize_mode {
    LRMLP_STANDARDIZE_GLOBAL = 0,    /* one mean and std over all features (images) */
    LRMLP_STANDARDIZE_FEATURE = 1    /* each feature its own mean and std */
} lrmlp_standardize_mode;

/* Makes features zero-mean and unit-variance (population variance) using
 * the statistics of ds itself (reference NULL) or of reference. A dataset
 * remembers the last standardization it fitted on itself: when reference
 * has one of the same mode, exactly that transform is applied, so
 * standardize(train, NULL) then standardize(test, train) and the reverse
 * order give the same result. Otherwise the statistics of reference's
 * current features are used. Constant features get std 1. Composes with
 * earlier transforms. The statistics are computed in double, two-pass,
 * rescaled where sums would overflow (features near DBL_MAX work).
 * LRMLP_ERR_NONFINITE, naming the feature and leaving ds unchanged, when the
 * resulting map x -> (x - mean) / std cannot be represented in the
 * dataset's dtype (a float32 feature whose std is below about 1/FLT_MAX). */
LRMLP_API int lrmlp_dataset_standardize(lrmlp_dataset *ds, lrmlp_standardize_mode mode,
                                        const lrmlp_dataset *reference);

typedef enum lrmlp_whiten_mode {
    LRMLP_WHITEN_PCA = 0,   /* x -> D^{-1/2} E^T (x - mu): rotates into the eigenbasis */
    LRMLP_WHITEN_ZCA = 1    /* x -> E D^{-1/2} E^T (x - mu): stays close to the input */
} lrmlp_whiten_mode;

#define LRMLP_WHITEN_OPTIONS_VERSION 1
typedef struct lrmlp_whiten_options {
    unsigned int version;
    lrmlp_whiten_mode mode;  /* default ZCA */
    double eps;              /* added to the eigenvalues, default 0 (exact) */
    int center;              /* subtract the mean first (default 1) */
    int unit_sum;            /* 1: sum_i x_i x_i^T = I over the reference set, the
                                theory's X X^T = I; 0: covariance = I (default) */
} lrmlp_whiten_options;
#define LRMLP_WHITEN_OPTIONS_INIT { LRMLP_WHITEN_OPTIONS_VERSION, LRMLP_WHITEN_ZCA, 0.0, 1, 0 }
LRMLP_API int lrmlp_whiten_options_init(lrmlp_whiten_options *opts, unsigned int version);

/* Whitens the features with the second moments of reference (ds when NULL;
 * as for standardization, a reference that whitened itself with the same
 * options passes on exactly its fitted transform),
 * through an eigendecomposition (LAPACKE). Needs n > d for an exact whitening
 * with eps = 0; a singular covariance gives LRMLP_ERR_LINALG unless eps > 0.
 * Features become dense float/double storage. */
LRMLP_API int lrmlp_dataset_whiten(lrmlp_dataset *ds, const lrmlp_whiten_options *opts,
                                   const lrmlp_dataset *reference);

/* Regression targets: standardizes each target column of ds to zero mean and
 * unit population variance with the statistics of reference (ds when NULL;
 * as lrmlp_dataset_standardize, a reference that standardized its own
 * targets passes on exactly that map). Constant columns get std 1.
 * LRMLP_ERR_STATE for a dataset without real targets. A model made for
 * such targets undoes the map with lrmlp_net_set_preprocessing_from_dataset
 * (infer.h). Exclusive use of ds. */
LRMLP_API int lrmlp_dataset_standardize_targets(lrmlp_dataset *ds,
                                                const lrmlp_dataset *reference);

/* Permutes the samples in place with a seeded generator (Fisher-Yates over
 * SplitMix64/xoshiro256**, the same on every platform). */
LRMLP_API int lrmlp_dataset_shuffle(lrmlp_dataset *ds, uint64_t seed);

/* New datasets holding samples [0, n_first) and [n_first, n) of ds, with its
 * transforms. Either out pointer may be NULL. */
LRMLP_API int lrmlp_dataset_split(const lrmlp_dataset *ds, size_t n_first,
                                  lrmlp_dataset **first, lrmlp_dataset **second);

/* Copies samples idx[0..count) (idx NULL: samples start .. start+count) as
 * feature rows to X (count x d) and target rows to T (count x target_dim;
 * may be NULL), with every transform applied. */
LRMLP_API int lrmlp_dataset_batch_f32(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                      size_t count, float *X, float *T);
LRMLP_API int lrmlp_dataset_batch_f64(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                      size_t count, double *X, double *T);
/* Class labels of samples (same indexing); LRMLP_ERR_STATE for regression. */
LRMLP_API int lrmlp_dataset_labels(const lrmlp_dataset *ds, const size_t *idx, size_t start,
                                   size_t count, int32_t *labels);

#ifdef __cplusplus
}
#endif
#endif
