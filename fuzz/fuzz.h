/* Shared by the fuzz targets and the standalone driver (not installed). */
#ifndef LRMLP_FUZZ_H
#define LRMLP_FUZZ_H

#include <lrmlp.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The libFuzzer entry point each target defines. Returns 0. A bug shows as a
 * crash, a sanitizer report or abort() on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each target also provides its valid seed inputs, built in-process with the
 * library (so they follow the current writers). Fills up to max entries of
 * seeds/lens with malloc'd buffers and returns how many it made. */
size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max);

/* Name used in messages and for seed files ("model", "idx"). */
extern const char fuzz_target_name[];

/* The dataset readers' contract on one input: a failed read returns a
 * negative status and leaves *ds NULL; a successful one gives a dataset of
 * at least one row and one feature. Aborts on a breach; returns whether ds
 * was made (the caller then checks its rows and frees it). */
static inline int fuzz_dataset_read(int rc, const lrmlp_dataset *ds)
{
    if (rc != LRMLP_OK) {
        if (ds != NULL || rc >= 0)
            abort();
        return 0;
    }
    if (lrmlp_dataset_size(ds) == 0 || lrmlp_dataset_dim(ds) == 0)
        abort();
    return 1;
}

/* The dataset readers' invariant: the first cnt (at most 4) labels of a
 * labelled dataset read back and lie in [0, n_classes). Aborts otherwise. */
static inline void fuzz_check_labels(const lrmlp_dataset *ds, size_t cnt)
{
    int32_t labels[4];
    if (cnt > 4 || lrmlp_dataset_labels(ds, NULL, 0, cnt, labels) != LRMLP_OK)
        abort();
    for (size_t i = 0; i < cnt; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= lrmlp_dataset_n_classes(ds))
            abort();
}

#endif
