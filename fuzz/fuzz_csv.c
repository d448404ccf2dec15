/* Fuzz target: the CSV parser (lrmlp__dataset_csv_from_mem, the code behind
 * lrmlp_dataset_load_csv).
 *
 * Input layout: one option byte, then the CSV text. Option bits: 0-1 the
 * label column (0, 1, 2, or none with the last column a real target), 2 a
 * header line, 3 float64 storage, 4 ';' as the delimiter. Inputs of 0 bytes
 * are empty text with default options. A dataset that loads must answer its
 * queries, hold only finite features and copy a batch. */
#include "fuzz.h"

#include "dataset_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char fuzz_target_name[] = "csv";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    const char *text = (const char *)data;
    size_t len = size;
    if (size >= 1) {
        uint8_t b = data[0];
        int lc = b & 3;
        o.label_column = lc == 3 ? -1 : lc;
        o.n_targets = lc == 3 ? 1 : 0;
        o.has_header = (b >> 2) & 1;
        o.dtype = (b >> 3) & 1 ? LRMLP_F64 : LRMLP_F32;
        o.delimiter = (b >> 4) & 1 ? ';' : ',';
        text++;
        len--;
    }
    lrmlp_dataset *ds = (lrmlp_dataset *)&ds;
    int rc = lrmlp__dataset_csv_from_mem(&ds, text, len, &o);
    if (!fuzz_dataset_read(rc, ds))
        return 0;
    size_t n = lrmlp_dataset_size(ds), d = lrmlp_dataset_dim(ds);
    size_t k = lrmlp_dataset_target_dim(ds);
    size_t cnt = n < 4 ? n : 4;
    /* a label of 3e8 makes 3e8 + 1 classes: targets are copied only when
     * their one-hot rows are small */
    int with_t = k > 0 && k <= 4096;
    double *X = malloc(cnt * d * sizeof *X);
    double *T = with_t ? malloc(cnt * k * sizeof *T) : NULL;
    if (X && (T || !with_t)) {
        if (lrmlp_dataset_batch_f64(ds, NULL, n - cnt, cnt, X, T) != LRMLP_OK)
            abort();
        for (size_t i = 0; i < cnt * d; i++)
            if (!isfinite(X[i]))
                abort();
        if (o.label_column >= 0)
            fuzz_check_labels(ds, cnt);
    }
    free(X);
    free(T);
    lrmlp_dataset_free(ds);
    return 0;
}

static size_t make_seed(uint8_t **out, size_t *out_len, uint8_t opts, const char *text)
{
    size_t n = strlen(text);
    uint8_t *b = malloc(n + 1);
    if (!b)
        abort();
    b[0] = opts;
    memcpy(b + 1, text, n);
    *out = b;
    *out_len = n + 1;
    return 1;
}

size_t fuzz_target_seeds(uint8_t **seeds, size_t *lens, size_t max)
{
    static const struct {
        uint8_t opts;
        const char *text;
    } s[] = {
        {0x00, "0,1.5,-2,3e-4\n1,0.25,7,-1e10\n2,.5,8.,1E+3\n"},
        {0x04, "label,a,b\n1,2,3\r\n0,4,5\r\n"},
        {0x1B, "1.5;2;0.5\n-3;4.25;1\n"},
        {0x09, "3,1,2\n0,inf,1\n"},
        {0x01, "1,0,5\n2,1,6\n"},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof s / sizeof s[0] && n < max; i++)
        n += make_seed(seeds + n, lens + n, s[i].opts, s[i].text);
    return n;
}
