/* Fuzz target: the safetensors reader (lrmlp_weights_import_mem with
 * LRMLP_WEIGHTS_SAFETENSORS; docs/interop.md). Inputs that load are written
 * again, read back and written once more (fuzz_weights.c). */
#include "fuzz.h"
#include "fuzz_weights.h"

const char fuzz_target_name[] = "safetensors";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_weights_one(data, size, LRMLP_WEIGHTS_SAFETENSORS);
    return 0;
}

size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max)
{
    return fuzz_weights_seeds(seeds, lens, max, LRMLP_WEIGHTS_SAFETENSORS);
}
