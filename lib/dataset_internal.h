/* Internal interface of the dataset module (lib/dataset.c). Not installed.
 * Reached by fuzz drivers and white-box tests through the static library. */
#ifndef LRMLP_DATASET_INTERNAL_H
#define LRMLP_DATASET_INTERNAL_H

#include "internal.h"

#include <stddef.h>

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
