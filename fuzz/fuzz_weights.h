/* Shared by the weight-file fuzz targets (fuzz_safetensors.c, fuzz_npz.c). */
#ifndef LRMLP_FUZZ_WEIGHTS_H
#define LRMLP_FUZZ_WEIGHTS_H

#include <lrmlp.h>

#include <stddef.h>
#include <stdint.h>

/* Imports data as format f (activations from the metadata when present,
 * else tanh/identity) and checks what a valid file must satisfy: an error
 * leaves no handle and says why; a network that loads is exported again
 * (the export must succeed, re-import to the same parameters, and be
 * byte-identical when repeated) and runs a forward pass. abort()s on a
 * broken invariant. */
void fuzz_weights_one(const uint8_t *data, size_t size, lrmlp_weights_format f);

/* Seeds: the exporter's output for a few networks (f32/f64, with and
 * without biases, low-rank, both naming styles, stored and deflated). */
size_t fuzz_weights_seeds(uint8_t **seeds, size_t *lens, size_t max, lrmlp_weights_format f);

#endif
