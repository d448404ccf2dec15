/* Fuzz target: the .npz reader (lrmlp_weights_import_mem with
 * LRMLP_WEIGHTS_NPZ; docs/interop.md). Each input is tried as given and
 * again with the CRC-32 of every stored entry recomputed (when its central
 * directory can be walked), so that mutations get past the zip checksums
 * and reach the .npy header parser. Inputs that load are written again,
 * read back and written once more (fuzz_weights.c). */
#include "fuzz.h"
#include "fuzz_weights.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const char fuzz_target_name[] = "npz";

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the CRC of each stored (method 0) entry in its central
 * directory record and local header. Returns 0 when nothing was walked. */
static int fix_crcs(uint8_t *b, size_t size)
{
    if (size < 22)
        return 0;
    size_t e = size - 22; /* end of central directory, no comment */
    if (rd32(b + e) != 0x06054b50)
        return 0;
    size_t n = rd16(b + e + 10), off = rd32(b + e + 16), fixed = 0;
    for (size_t i = 0; i < n && off + 46 <= size && rd32(b + off) == 0x02014b50; i++) {
        uint8_t *c = b + off;
        size_t csize = rd32(c + 20), lho = rd32(c + 42);
        size_t next = off + 46 + rd16(c + 28) + rd16(c + 30) + rd16(c + 32);
        if (rd16(c + 10) == 0 && lho + 30 <= size && rd32(b + lho) == 0x04034b50) {
            size_t data = lho + 30 + rd16(b + lho + 26) + rd16(b + lho + 28);
            if (data <= size && csize <= size - data) {
                uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + data, (uInt)csize);
                wr32(c + 16, crc);
                wr32(b + lho + 14, crc);
                fixed++;
            }
        }
        off = next;
    }
    return fixed > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_weights_one(data, size, LRMLP_WEIGHTS_NPZ);
    if (size >= 22 && size <= ((size_t)1 << 24)) {
        uint8_t *c = malloc(size);
        if (c) {
            memcpy(c, data, size);
            if (fix_crcs(c, size) && memcmp(c, data, size) != 0)
                fuzz_weights_one(c, size, LRMLP_WEIGHTS_NPZ);
            free(c);
        }
    }
    return 0;
}

size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max)
{
    return fuzz_weights_seeds(seeds, lens, max, LRMLP_WEIGHTS_NPZ);
}
