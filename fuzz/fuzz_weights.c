/* Shared by the weight-file fuzz targets (fuzz_weights.h). */
#include "fuzz_weights.h"

#include <stdlib.h>
#include <string.h>

static void check_loaded(lrmlp_net *net, lrmlp_weights_format f)
{
    lrmlp_export_options eo = LRMLP_EXPORT_OPTIONS_INIT;
    eo.format = f;
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (lrmlp_weights_export_mem(net, &b1, &l1, &eo) != LRMLP_OK)
        abort();  /* a loaded network must be writable */
    lrmlp_net *n2 = NULL;
    if (lrmlp_weights_import_mem(&n2, b1, l1, NULL) != LRMLP_OK)
        abort();  /* and what we write must read back, with its metadata */
    size_t es = lrmlp_net_dtype(net) == LRMLP_F64 ? 8 : 4;
    if (lrmlp_net_param_count(n2) != lrmlp_net_param_count(net) ||
        lrmlp_net_dtype(n2) != lrmlp_net_dtype(net) ||
        memcmp(lrmlp_net_params(n2), lrmlp_net_params(net), lrmlp_net_param_count(net) * es))
        abort();  /* to the same parameters */
    for (size_t l = 0; l < lrmlp_net_n_layers(net); l++)
        if (lrmlp_net_activation(n2, l) != lrmlp_net_activation(net, l))
            abort();
    if (lrmlp_weights_export_mem(n2, &b2, &l2, &eo) != LRMLP_OK || l1 != l2 ||
        memcmp(b1, b2, l1))
        abort();  /* identically */
    lrmlp_free(b1);
    lrmlp_free(b2);
    lrmlp_net_free(n2);

    size_t in = lrmlp_net_width(net, 0), out = lrmlp_net_width(net, lrmlp_net_n_layers(net));
    if (in <= (1u << 16) && out <= (1u << 16)) {
        void *x = calloc(in, es), *y = calloc(out, es);
        if (x && y) {
            if (es == 4)
                (void)lrmlp_net_predict_f32(net, x, 1, y);
            else
                (void)lrmlp_net_predict_f64(net, x, 1, y);
        }
        free(x);
        free(y);
    }
}

void fuzz_weights_one(const uint8_t *data, size_t size, lrmlp_weights_format f)
{
    lrmlp_import_options io = LRMLP_IMPORT_OPTIONS_INIT;
    io.format = f;
    io.activations = LRMLP_IMPORT_ACTS_METADATA_OR_GIVEN;
    lrmlp_net *net = (lrmlp_net *)&io; /* must be reset to NULL on error */
    int rc = lrmlp_weights_import_mem(&net, data, size, &io);
    if (rc != LRMLP_OK) {
        if (net || rc >= 0 || lrmlp_last_errmsg()[0] == '\0')
            abort();  /* errors leave nothing allocated and say why */
        return;
    }
    check_loaded(net, f);
    lrmlp_net_free(net);
}

static void add(uint8_t **seeds, size_t *lens, size_t *n, lrmlp_net *net,
                lrmlp_weights_format f, int compress, int contiguous, int metadata)
{
    lrmlp_export_options eo = LRMLP_EXPORT_OPTIONS_INIT;
    eo.format = f;
    eo.compress = compress;
    eo.contiguous_names = contiguous;
    eo.metadata = metadata;
    void *b = NULL;
    size_t len = 0;
    if (lrmlp_weights_export_mem(net, &b, &len, &eo) != LRMLP_OK)
        abort();
    seeds[*n] = malloc(len);
    if (!seeds[*n])
        abort();
    memcpy(seeds[*n], b, len);
    lens[(*n)++] = len;
    lrmlp_free(b);
}

size_t fuzz_weights_seeds(uint8_t **seeds, size_t *lens, size_t max, lrmlp_weights_format f)
{
    static const size_t w[4] = {3, 4, 2, 2};
    static const lrmlp_activation acts[3] = {LRMLP_ACT_TANH, LRMLP_ACT_IDENTITY,
                                             LRMLP_ACT_SIGMOID};
    size_t n = 0;
    if (max < 6)
        return 0;
    for (int k = 0; k < 4; k++) {
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.dtype = (k & 1) ? LRMLP_F64 : LRMLP_F32;
        o.n_layers = 3;
        o.widths = w;
        o.activations = acts;
        o.bias = k >> 1;
        lrmlp_net *net = NULL;
        if (lrmlp_net_create(&net, &o) != LRMLP_OK)
            abort();
        add(seeds, lens, &n, net, f, k == 3, k == 2, k != 1);
        lrmlp_net_free(net);
    }
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    lo.n_layers = 3;
    lo.input_dim = 3;
    lo.width = 4;
    lo.output_dim = 2;
    lo.rank = 2;
    lrmlp_net *lr = NULL;
    if (lrmlp_lowrank_create(&lr, &lo) != LRMLP_OK)
        abort();
    add(seeds, lens, &n, lr, f, 0, 0, 1);
    add(seeds, lens, &n, lr, f, 1, 1, 1);
    lrmlp_net_free(lr);
    return n;
}
