/* Shared by the fuzz targets and the standalone driver (not installed). */
#ifndef LRMLP_FUZZ_H
#define LRMLP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point each target defines. Returns 0. A bug shows as a
 * crash, a sanitizer report or abort() on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each target also provides its valid seed inputs, built in-process with the
 * library (so they follow the current writers). Fills up to max entries of
 * seeds/lens with malloc'd buffers and returns how many it made. */
size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max);

/* Name used in messages and for seed files ("model", "idx"). */
extern const char fuzz_target_name[];

#endif
