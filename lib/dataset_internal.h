/* Internal interface of the dataset module (lib/dataset.c: the handle and
 * its transforms; lib/dataset_io.c: the IDX and CSV readers). Not installed.
 * Reached by fuzz drivers and white-box tests through the static library. */
#ifndef LRMLP_DATASET_INTERNAL_H
#define LRMLP_DATASET_INTERNAL_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

enum { ST_U8 = 0, ST_F32 = 1, ST_F64 = 2 };       /* feature storage */
enum { LAB_NONE = 0, LAB_U8 = 1, LAB_I32 = 2 };    /* label storage */

struct lrmlp_dataset {
    size_t n, d;
    lrmlp_dtype dtype;      /* precision: of T, of whitened features, of float input */
    int storage;            /* ST_*: element type of X */
    void *X;                /* n x d, row-major */
    size_t n_classes;       /* > 0: classification with labels */
    int lab_kind;           /* LAB_*: element type of labels */
    void *labels;           /* n class indices */
    size_t n_targets;       /* > 0: regression with targets */
    void *T;                /* n x n_targets of dtype */
    /* Affine map x * scale + shift per feature (NULL: identity). The double
     * arrays are the truth; the float copies feed the f32 copy-out. */
    double *scale, *shift;
    float *scale_f, *shift_f;
    /* Transforms fitted on this dataset's own statistics (reference NULL),
     * applied as they are to datasets that name this one as reference, so
     * that the order of the calls does not matter. NULL: none. */
    double *std_m, *std_s;  /* d: x -> (x - std_m) / std_s, in std_mode */
    int std_mode;
    double *wh_mu, *wh_W;   /* d and d x d: x -> W (x - mu) */
    lrmlp_whiten_options wh_opts;
    /* The map from the features the dataset was created with to the stored
     * ones, x -> raw_P x + raw_q (d x d and d; NULL: identity), composed by
     * every whitening, so that a model can carry the whole input transform
     * (lrmlp_net_set_preprocessing_from_dataset). */
    double *raw_P, *raw_q;
    /* Target standardization applied to T (preproc.c): t -> (t - tgt_m) / tgt_s
     * (n_targets each; NULL: none). */
    double *tgt_m, *tgt_s;
};

/* Bytes per feature element of storage st. */
static inline size_t lrmlp__dataset_storage_size(int st)
{
    return st == ST_U8 ? 1 : st == ST_F32 ? sizeof(float) : sizeof(double);
}

/* The feature storage that holds values of dtype dt. */
static inline int lrmlp__dataset_dtype_storage(lrmlp_dtype dt)
{
    return dt == LRMLP_F64 ? ST_F64 : ST_F32;
}

/* Allocates ds's labels (ds->n of them) in the compact type for n_classes
 * and fills them from src (int32) or, when src8 is not NULL, from src8
 * (bytes). Values must already be in [0, n_classes). Sets ds->lab_kind and
 * ds->n_classes. Returns LRMLP_ERR_NOMEM (and changes nothing) when out of
 * memory; reports no message. */
LRMLP_INTERNAL int lrmlp__dataset_set_labels(lrmlp_dataset *ds, const int32_t *src,
                                             const uint8_t *src8, size_t n_classes);

/* Builds a dataset from the bytes of an uncompressed IDX image file
 * (img, img_len) and, when lab is not NULL, an uncompressed IDX label file
 * (lab, lab_len). The bytes are copied; the caller keeps ownership. The same
 * checks and statuses as lrmlp_dataset_load_idx (the file loader runs this
 * code after reading and decompressing): wrong magic, truncated or trailing
 * data, a zero count or dimension, more than 2^31 elements and mismatched
 * counts give LRMLP_ERR_FORMAT. Errors go to lrmlp_last_errmsg() and leave
 * *out NULL. Thread-safe. */
LRMLP_INTERNAL int lrmlp__dataset_idx_from_mem(lrmlp_dataset **out, const void *img,
                                               size_t img_len, const void *lab, size_t lab_len);

/* Parses CSV text (text, len; need not be NUL-terminated) exactly as
 * lrmlp_dataset_load_csv parses a file's contents. opts NULL: defaults.
 * Errors go to lrmlp_last_errmsg() and leave *out NULL. Thread-safe. */
LRMLP_INTERNAL int lrmlp__dataset_csv_from_mem(lrmlp_dataset **out, const char *text, size_t len,
                                               const lrmlp_csv_options *opts);

#endif
