/* Fuzz target: the in-memory IDX parser (lrmlp__dataset_idx_from_mem).
 *
 * Input layout: a little-endian u32 word w, then the image file's bytes,
 * then the label file's bytes. The image part is the first (w & 0x7FFFFFFF)
 * bytes after the word (clamped to what is there); when bit 31 of w is set
 * there is no label file. Inputs shorter than 4 bytes are an image file
 * alone. A dataset that loads must answer its queries and copy a batch. */
#include "fuzz.h"

#include "dataset_internal.h"

#include <stdlib.h>
#include <string.h>

const char fuzz_target_name[] = "idx";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *img = data, *lab = NULL;
    size_t img_len = size, lab_len = 0;
    if (size >= 4) {
        uint32_t w = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                     (uint32_t)data[3] << 24;
        img = data + 4;
        img_len = w & 0x7FFFFFFFu;
        if (img_len > size - 4)
            img_len = size - 4;
        if (!(w & 0x80000000u)) {
            lab = img + img_len;
            lab_len = size - 4 - img_len;
        }
    }
    lrmlp_dataset *ds = (lrmlp_dataset *)&ds;
    int rc = lrmlp__dataset_idx_from_mem(&ds, img, img_len, lab, lab_len);
    if (!fuzz_dataset_read(rc, ds))
        return 0;
    size_t n = lrmlp_dataset_size(ds), d = lrmlp_dataset_dim(ds);
    size_t k = lrmlp_dataset_target_dim(ds);
    size_t cnt = n < 4 ? n : 4;
    float *X = malloc(cnt * d * sizeof *X);
    float *T = k ? malloc(cnt * k * sizeof *T) : NULL;
    if (X && (T || !k)) {
        if (lrmlp_dataset_batch_f32(ds, NULL, n - cnt, cnt, X, T) != LRMLP_OK)
            abort();
        if (lab)
            fuzz_check_labels(ds, cnt);
    }
    free(X);
    free(T);
    lrmlp_dataset_free(ds);
    return 0;
}

/* Builds one seed: word, big-endian IDX image file of n samples of dims,
 * and (when with_labels) a label file. */
static size_t make_seed(uint8_t **out, size_t *out_len, size_t n, const uint32_t *dims,
                        size_t nd, int with_labels)
{
    size_t feat = 1;
    for (size_t i = 0; i < nd; i++)
        feat *= dims[i];
    size_t img_len = 4 + 4 * (1 + nd) + n * feat;
    size_t lab_len = with_labels ? 8 + n : 0;
    size_t len = 4 + img_len + lab_len;
    uint8_t *b = malloc(len), *p = b;
    if (!b)
        abort();
    uint32_t w = (uint32_t)img_len | (with_labels ? 0 : 0x80000000u);
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(w >> (8 * i));
    /* magic: 0, 0, type 0x08 (u8), number of dimensions (the count included) */
    const uint8_t img_magic[4] = { 0, 0, 8, (uint8_t)(1 + nd) };
    memcpy(p, img_magic, 4);
    p += 4;
    uint32_t hdr[9];
    hdr[0] = (uint32_t)n;
    for (size_t i = 0; i < nd; i++)
        hdr[1 + i] = dims[i];
    for (size_t i = 0; i <= nd; i++) {
        for (int k = 3; k >= 0; k--)
            *p++ = (uint8_t)(hdr[i] >> (8 * k));
    }
    for (size_t i = 0; i < n * feat; i++)
        *p++ = (uint8_t)(i * 37 + 11);
    if (with_labels) {
        const uint8_t lab_magic[4] = { 0, 0, 8, 1 };
        memcpy(p, lab_magic, 4);
        p += 4;
        for (int k = 3; k >= 0; k--)
            *p++ = (uint8_t)(n >> (8 * k));
        for (size_t i = 0; i < n; i++)
            *p++ = (uint8_t)(i % 3);
    }
    *out = b;
    *out_len = len;
    return 1;
}

size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max)
{
    static const uint32_t d2[2] = { 2, 3 }, d1[1] = { 5 }, d3[3] = { 2, 2, 2 };
    size_t n = 0;
    if (n < max)
        n += make_seed(seeds + n, lens + n, 4, d2, 2, 1);
    if (n < max)
        n += make_seed(seeds + n, lens + n, 3, d1, 1, 1);
    if (n < max)
        n += make_seed(seeds + n, lens + n, 2, d3, 3, 0);
    return n;
}
