/* Weight interop: networks to and from .npz and safetensors files
 * (interop.h; docs/interop.md). This file holds the rules (names, index
 * pattern, shapes, dtypes, activations, metadata); the containers are
 * interop_npz.c and interop_safetensors.c, built with the interop feature. */
#include "interop_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Metadata keys. The values are strings in both containers. */
#define META_VERSION "lrmlp.version"         /* of this metadata: "1" */
#define META_LIBRARY "lrmlp.library"         /* writer's version string */
#define META_ACTS "lrmlp.activations"        /* "tanh,tanh,identity": one per layer */
#define META_RANK "lrmlp.lowrank.rank"       /* r of a low-rank network */
#define META_LR_LAYERS "lrmlp.lowrank.layers" /* its L */

LRMLP__OPTS_TYPE(import_opts_type, lrmlp_import_options, LRMLP_IMPORT_OPTIONS_VERSION,
                 LRMLP_IMPORT_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_import_options, seed));
LRMLP__OPTS_TYPE(export_opts_type, lrmlp_export_options, LRMLP_EXPORT_OPTIONS_VERSION,
                 LRMLP_EXPORT_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_export_options, prefix));

LRMLP_API int lrmlp_import_options_init(lrmlp_import_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&import_opts_type, opts, version);
}

LRMLP_API int lrmlp_export_options_init(lrmlp_export_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&export_opts_type, opts, version);
}

LRMLP_API int lrmlp_weights_format_from_path(const char *path, lrmlp_weights_format *out)
{
    if (!path || !out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_format_from_path: NULL argument");
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/') && !strcasecmp(dot, ".npz")) {
        *out = LRMLP_WEIGHTS_NPZ;
        return LRMLP_OK;
    }
    if (dot && !strchr(dot, '/') && !strcasecmp(dot, ".safetensors")) {
        *out = LRMLP_WEIGHTS_SAFETENSORS;
        return LRMLP_OK;
    }
    return lrmlp__err(LRMLP_ERR_INVALID,
                      "'%s': extension is neither .npz nor .safetensors", path);
}

/* Reads the caller's options (NULL: the defaults) into *o and checks them. */
static int check_import_opts(const lrmlp_import_options *user, lrmlp_import_options *o,
                             const char *fn)
{
    int rc = lrmlp__opts_read(&import_opts_type, user, o, fn);
    if (rc != LRMLP_OK)
        return rc;
    if ((int)o->format < 0 || o->format > LRMLP_WEIGHTS_SAFETENSORS)
        return lrmlp__err(LRMLP_ERR_INVALID, "import: unknown format %d", (int)o->format);
    if (o->dtype != 0 && o->dtype != LRMLP_F32 && o->dtype != LRMLP_F64)
        return lrmlp__err(LRMLP_ERR_INVALID, "import: dtype must be 0, LRMLP_F32 or LRMLP_F64");
    if ((int)o->activations < 0 || o->activations > LRMLP_IMPORT_ACTS_METADATA_OR_GIVEN)
        return lrmlp__err(LRMLP_ERR_INVALID, "import: unknown activations source %d",
                          (int)o->activations);
    if (!lrmlp_activation_name(o->hidden_activation) ||
        !lrmlp_activation_name(o->output_activation))
        return lrmlp__err(LRMLP_ERR_INVALID, "import: invalid activation");
    return LRMLP_OK;
}

static int check_export_opts(const lrmlp_export_options *user, lrmlp_export_options *o,
                             const char *fn)
{
    int rc = lrmlp__opts_read(&export_opts_type, user, o, fn);
    if (rc != LRMLP_OK)
        return rc;
    if ((int)o->format < 0 || o->format > LRMLP_WEIGHTS_SAFETENSORS)
        return lrmlp__err(LRMLP_ERR_INVALID, "export: unknown format %d", (int)o->format);
    if (o->dtype != 0 && o->dtype != LRMLP_F32 && o->dtype != LRMLP_F64)
        return lrmlp__err(LRMLP_ERR_INVALID, "export: dtype must be 0, LRMLP_F32 or LRMLP_F64");
    if (o->prefix && strlen(o->prefix) > 200)
        return lrmlp__err(LRMLP_ERR_INVALID, "export: prefix longer than 200 bytes");
    return LRMLP_OK;
}

#ifdef LRMLP_HAVE_INTEROP

LRMLP_API int lrmlp_interop_available(void) { return 1; }

/* ---- the tensor set ---- */

void lrmlp__tset_free(lrmlp__tset *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->t[i].name);
    for (size_t i = 0; i < ts->n_owned; i++)
        free(ts->owned[i]);
    for (size_t i = 0; i < 2 * ts->n_meta; i++)
        free(ts->meta[i]);
    free(ts->t);
    free(ts->owned);
    free(ts->meta);
    memset(ts, 0, sizeof *ts);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t nc = *cap ? 2 * *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = nc;
    return 1;
}

lrmlp__tensor *lrmlp__tset_add(lrmlp__tset *ts, const char *name, size_t name_len)
{
    char *nm = malloc(name_len + 1);
    if (!nm || !grow((void **)&ts->t, &ts->cap, ts->n + 1, sizeof *ts->t)) {
        free(nm);
        lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(nm, name, name_len);
    nm[name_len] = '\0';
    lrmlp__tensor *t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    return t;
}

int lrmlp__tset_own(lrmlp__tset *ts, void *p)
{
    if (!grow((void **)&ts->owned, &ts->cap_owned, ts->n_owned + 1, sizeof *ts->owned)) {
        free(p);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    ts->owned[ts->n_owned++] = p;
    return LRMLP_OK;
}

int lrmlp__tset_meta_add(lrmlp__tset *ts, const char *key, const char *val)
{
    size_t cap = ts->n_meta * 2; /* exact: grow one pair at a time */
    char **m = realloc(ts->meta, (cap + 2) * sizeof *m);
    if (!m)
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    ts->meta = m;
    m[cap] = strdup(key);
    m[cap + 1] = strdup(val);
    if (!m[cap] || !m[cap + 1]) {
        free(m[cap]);
        free(m[cap + 1]);
        return lrmlp__err(LRMLP_ERR_NOMEM, "out of memory");
    }
    ts->n_meta++;
    return LRMLP_OK;
}

const char *lrmlp__tset_meta_get(const lrmlp__tset *ts, const char *key)
{
    for (size_t i = 0; i < ts->n_meta; i++)
        if (!strcmp(ts->meta[2 * i], key))
            return ts->meta[2 * i + 1];
    return NULL;
}

size_t lrmlp__tkind_size(int kind)
{
    return kind == LRMLP__T_F32 ? 4 : kind == LRMLP__T_F64 ? 8 : kind == LRMLP__T_U8 ? 1 : 0;
}

int lrmlp__tensor_check_size(const lrmlp__tensor *t, const char *what)
{
    size_t n = lrmlp__tkind_size(t->kind);
    for (size_t i = 0; i < t->ndim; i++) {
        if (t->shape[i] > SIZE_MAX || !lrmlp__mul_ok(n, (size_t)t->shape[i], &n))
            return lrmlp__err(LRMLP_ERR_FORMAT, "%s: tensor '%.64s' is too large", what,
                              t->name);
    }
    if (n != t->nbytes)
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s: tensor '%.64s' (%s) needs %zu data bytes, "
                          "the file has %zu", what, t->name, t->dtype, n, t->nbytes);
    return LRMLP_OK;
}

/* ---- tensor set -> network ---- */

typedef struct {
    size_t index;              /* module index in the Sequential */
    const lrmlp__tensor *w, *b;
} layer_ref_;

static int cmp_layer(const void *a, const void *b)
{
    const layer_ref_ *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* "<index>.weight" / "<index>.bias" after the prefix: *is_bias, *index.
 * The index is decimal without leading zeros, below 10^6. */
static int parse_name(const char *name, const char *prefix, size_t *index, int *is_bias)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl))
        return 0;
    const char *p = name + pl;
    size_t v = 0, nd = 0;
    while (p[nd] >= '0' && p[nd] <= '9' && nd < 7)
        v = v * 10 + (size_t)(p[nd++] - '0');
    if (nd == 0 || nd > 6 || (nd > 1 && p[0] == '0'))
        return 0;
    if (!strcmp(p + nd, ".weight"))
        *is_bias = 0;
    else if (!strcmp(p + nd, ".bias"))
        *is_bias = 1;
    else
        return 0;
    *index = v;
    return 1;
}

static int tensor_kind_ok(const lrmlp__tensor *t)
{
    if (t->kind == LRMLP__T_F32 || t->kind == LRMLP__T_F64)
        return LRMLP_OK;
    return lrmlp__err(LRMLP_ERR_UNSUPPORTED, "import: tensor '%.64s' has dtype %s; only "
                      "float32 (F32, <f4) and float64 (F64, <f8) are supported",
                      t->name, t->dtype);
}

/* Element i of tensor t (row-major index over its logical shape), as double. */
static double tensor_get(const lrmlp__tensor *t, size_t i)
{
    if (t->fortran && t->ndim == 2) { /* column-major storage */
        size_t r = i / t->shape[1], c = i % t->shape[1];
        i = c * t->shape[0] + r;
    }
    size_t es = lrmlp__tkind_size(t->kind);
    uint8_t b[8];
    for (size_t k = 0; k < es; k++)
        b[k] = t->data[i * es + (t->big_endian ? es - 1 - k : k)];
    uint64_t u = 0;
    for (size_t k = es; k-- > 0;)
        u = u << 8 | b[k];
    if (es == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        return f;
    }
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Copies t into n elements of the network's dtype at dst; refuses NaN/Inf
 * (also from float64 values that overflow float32). */
static int copy_tensor(const lrmlp__tensor *t, lrmlp_dtype dt, void *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = tensor_get(t, i);
        if (dt == LRMLP_F32) {
            float f = (float)v;
            if (!isfinite(f))
                return lrmlp__err(LRMLP_ERR_NONFINITE, "import: tensor '%.64s' holds %s at "
                                  "element %zu", t->name,
                                  isfinite(v) ? "a value beyond float32's range" :
                                  "NaN or infinity", i);
            ((float *)dst)[i] = f;
        } else {
            if (!isfinite(v))
                return lrmlp__err(LRMLP_ERR_NONFINITE, "import: tensor '%.64s' holds NaN or "
                                  "infinity at element %zu", t->name, i);
            ((double *)dst)[i] = v;
        }
    }
    return LRMLP_OK;
}

/* Activations of the L layers: from metadata or from the options. */
static int import_acts(const lrmlp__tset *ts, const lrmlp_import_options *o,
                       const layer_ref_ *ly, size_t L, lrmlp_activation *acts)
{
    const char *meta = lrmlp__tset_meta_get(ts, META_ACTS);
    int contiguous = 1;
    for (size_t l = 0; l + 1 < L; l++)
        contiguous &= ly[l + 1].index == ly[l].index + 1;
    int use_meta = o->activations == LRMLP_IMPORT_ACTS_METADATA ||
                   (o->activations == LRMLP_IMPORT_ACTS_METADATA_OR_GIVEN && meta);
    if (!use_meta) {
        for (size_t l = 0; l + 1 < L; l++)
            acts[l] = (contiguous || ly[l + 1].index == ly[l].index + 2) ? o->hidden_activation
                                                                          : LRMLP_ACT_IDENTITY;
        acts[L - 1] = o->output_activation;
        return LRMLP_OK;
    }
    if (!meta)
        return lrmlp__err(LRMLP_ERR_INVALID, "import: the file has no activations metadata "
                          "(\"" META_ACTS "\"); give them in the import options");
    const char *v = lrmlp__tset_meta_get(ts, META_VERSION);
    if (v && strcmp(v, "1"))
        return lrmlp__err(LRMLP_ERR_VERSION, "import: metadata version \"%.16s\" is not 1", v);
    const char *p = meta;
    for (size_t l = 0; l < L; l++) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        if ((e == NULL) != (l == L - 1) || n >= sizeof name)
            return lrmlp__err(LRMLP_ERR_FORMAT, "import: metadata \"" META_ACTS "\" does not "
                              "name %zu activations", L);
        memcpy(name, p, n);
        name[n] = '\0';
        if (lrmlp_activation_from_name(name, &acts[l]) != LRMLP_OK)
            return lrmlp__err(LRMLP_ERR_FORMAT, "import: unknown activation \"%s\" in "
                              "metadata", name);
        if (e)
            p = e + 1; /* the last name has no comma after it */
    }
    /* A gapped file must put its activation modules where metadata says. */
    for (size_t l = 0; !contiguous && l + 1 < L; l++) {
        int gap = ly[l + 1].index == ly[l].index + 2;
        if (gap != (acts[l] != LRMLP_ACT_IDENTITY))
            return lrmlp__err(LRMLP_ERR_FORMAT, "import: layer %zu's activation (%s) does "
                              "not match the index pattern (%zu then %zu)", l,
                              lrmlp_activation_name(acts[l]), ly[l].index, ly[l + 1].index);
    }
    return LRMLP_OK;
}

/* Low-rank structure recorded by the exporter, checked as the model file's
 * LRNK section is (model.c). */
static int import_lowrank(const lrmlp__tset *ts, lrmlp_net *net)
{
    const char *rs = lrmlp__tset_meta_get(ts, META_RANK);
    const char *ls = lrmlp__tset_meta_get(ts, META_LR_LAYERS);
    if (!rs && !ls)
        return LRMLP_OK;
    char *e1 = NULL, *e2 = NULL;
    unsigned long long r = rs ? strtoull(rs, &e1, 10) : 0, L = ls ? strtoull(ls, &e2, 10) : 0;
    int ok = rs && ls && *rs && *ls && !*e1 && !*e2 && L >= 2 && L + 2 == net->n_layers &&
             r >= 1 && !net->bias;
    for (size_t l = 1; ok && l <= L; l++)
        ok = net->widths[l] == r;
    if (!ok)
        return lrmlp__err(LRMLP_ERR_FORMAT, "import: low-rank metadata does not match the "
                          "layers");
    net->lr_rank = (size_t)r;
    net->lr_layers = (size_t)L;
    return LRMLP_OK;
}

static int build_net(const lrmlp__tset *ts, const lrmlp_import_options *o, lrmlp_net **out)
{
    const char *prefix = o->prefix ? o->prefix : "";
    layer_ref_ *ly = calloc(ts->n + 1, sizeof *ly);
    size_t *widths = calloc(ts->n + 2, sizeof *widths);
    lrmlp_activation *acts = calloc(ts->n + 1, sizeof *acts);
    lrmlp_net *net = NULL;
    int rc = LRMLP_OK;
    size_t L = 0;
    if (!ly || !widths || !acts) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "import: out of memory");
        goto done;
    }
#define BAD(st, ...)                                   \
    do {                                               \
        rc = lrmlp__err(st, "import: " __VA_ARGS__);   \
        goto done;                                     \
    } while (0)

    /* A weight and a bias per layer at most, plus the metadata entry; this
     * also bounds the matching below to (layers x tensors) steps. */
    if (ts->n > 2 * 4096 + 1)
        BAD(LRMLP_ERR_FORMAT, "%zu tensors: more than a 4096-layer network has", ts->n);
    /* Weights first, then match the biases to them. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ts->n; i++) {
            const lrmlp__tensor *t = &ts->t[i];
            size_t idx;
            int is_bias;
            if (!strcmp(t->name, LRMLP__NPZ_META) && ts->has_meta)
                continue;
            if (!parse_name(t->name, prefix, &idx, &is_bias))
                BAD(LRMLP_ERR_FORMAT, "unexpected tensor '%.64s' (expected %s<index>.weight "
                    "and %s<index>.bias)", t->name, prefix, prefix);
            if (is_bias != pass)
                continue;
            size_t j = 0;
            while (j < L && ly[j].index != idx)
                j++;
            if (!is_bias) {
                if (j < L)
                    BAD(LRMLP_ERR_FORMAT, "tensor '%.64s' appears twice", t->name);
                ly[L].index = idx;
                ly[L++].w = t;
            } else {
                if (j == L)
                    BAD(LRMLP_ERR_FORMAT, "bias '%.64s' has no weight %s%zu.weight", t->name,
                        prefix, idx);
                if (ly[j].b)
                    BAD(LRMLP_ERR_FORMAT, "tensor '%.64s' appears twice", t->name);
                ly[j].b = t;
            }
            rc = tensor_kind_ok(t);
            if (rc != LRMLP_OK)
                goto done;
        }
    }
    if (L == 0)
        BAD(LRMLP_ERR_FORMAT, "no layer weights (%s0.weight) in the file", prefix);
    qsort(ly, L, sizeof *ly, cmp_layer);
    if (ly[0].index != 0)
        BAD(LRMLP_ERR_FORMAT, "the first layer is %s%zu.weight; expected %s0.weight", prefix,
            ly[0].index, prefix);
    for (size_t l = 0; l + 1 < L; l++) {
        size_t gap = ly[l + 1].index - ly[l].index;
        if (gap > 2)
            BAD(LRMLP_ERR_FORMAT, "layers %zu and %zu are %zu modules apart; at most one "
                "activation module may sit between two Linear layers", ly[l].index,
                ly[l + 1].index, gap - 1);
    }

    /* Shapes, dtypes and the bias rule. */
    int have_bias = ly[0].b != NULL, kind = ly[0].w->kind;
    for (size_t l = 0; l < L; l++) {
        const lrmlp__tensor *w = ly[l].w, *b = ly[l].b;
        if ((b != NULL) != have_bias)
            BAD(LRMLP_ERR_FORMAT, "%s: every layer must have a bias or none must "
                "(%s%zu.bias %s)", have_bias ? "missing bias" : "unexpected bias", prefix,
                ly[l].index, have_bias ? "is missing" : "is present");
        if (w->ndim != 2 || w->shape[0] < 1 || w->shape[1] < 1)
            BAD(LRMLP_ERR_SHAPE, "weight '%.64s' must be a 2-D (out x in) tensor with "
                "nonzero sizes", w->name);
        if (l == 0)
            widths[0] = (size_t)w->shape[1];
        else if (w->shape[1] != widths[l])
            BAD(LRMLP_ERR_SHAPE, "weight '%.64s' takes %llu inputs but the layer before "
                "gives %zu", w->name, (unsigned long long)w->shape[1], widths[l]);
        widths[l + 1] = (size_t)w->shape[0];
        if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
            BAD(LRMLP_ERR_SHAPE, "bias '%.64s' must be a 1-D tensor of %llu values",
                b->name, (unsigned long long)w->shape[0]);
        if (o->dtype == 0 && (w->kind != kind || (b && b->kind != kind)))
            BAD(LRMLP_ERR_DTYPE, "tensors mix float32 and float64 ('%.64s'); ask for one "
                "dtype in the import options", w->name);
    }
    lrmlp_dtype dt = o->dtype ? o->dtype : (kind == LRMLP__T_F64 ? LRMLP_F64 : LRMLP_F32);
    rc = import_acts(ts, o, ly, L, acts);
    if (rc != LRMLP_OK)
        goto done;
    rc = lrmlp__net_alloc(&net, dt, L, widths, acts, have_bias, o->seed);
    if (rc != LRMLP_OK) {
        /* Too many layers or too wide: the file's fault, not an argument's. */
        rc = lrmlp__err_prefix(rc == LRMLP_ERR_INVALID ? LRMLP_ERR_FORMAT : rc, "import: ");
        goto done;
    }
    size_t es = lrmlp__dtype_size(dt);
    for (size_t l = 0; l < L && rc == LRMLP_OK; l++) {
        const lrmlp_layer_ *nl = &net->layers[l];
        rc = copy_tensor(ly[l].w, dt, (char *)net->params + nl->w_off * es, nl->in * nl->out);
        if (rc == LRMLP_OK && have_bias)
            rc = copy_tensor(ly[l].b, dt, (char *)net->params + nl->b_off * es, nl->out);
    }
    if (rc == LRMLP_OK)
        rc = import_lowrank(ts, net);
#undef BAD
done:
    free(ly);
    free(widths);
    free(acts);
    if (rc != LRMLP_OK) {
        lrmlp_net_free(net);
        net = NULL;
    }
    *out = net;
    return rc;
}

static int import_buf(lrmlp_net **out, const uint8_t *buf, size_t len,
                      const lrmlp_import_options *o)
{
    lrmlp_weights_format f = o->format;
    if (f == LRMLP_WEIGHTS_AUTO) {
        if (len >= 4 && buf[0] == 'P' && buf[1] == 'K')
            f = LRMLP_WEIGHTS_NPZ;
        else if (len >= 9 && buf[8] == '{')
            f = LRMLP_WEIGHTS_SAFETENSORS;
        else
            return lrmlp__err(LRMLP_ERR_FORMAT, "import: neither an .npz (zip) nor a "
                              "safetensors file");
    }
    lrmlp__tset ts;
    memset(&ts, 0, sizeof ts);
    int rc = f == LRMLP_WEIGHTS_NPZ ? lrmlp__npz_read(buf, len, &ts)
                                    : lrmlp__safetensors_read(buf, len, &ts);
    if (rc == LRMLP_OK)
        rc = build_net(&ts, o, out);
    lrmlp__tset_free(&ts);
    return rc;
}

/* ---- network -> tensor set ---- */

static int build_tset(const lrmlp_net *net, const lrmlp_export_options *o, lrmlp__tset *ts)
{
    lrmlp_dtype dt = o->dtype ? o->dtype : net->dtype;
    int kind = dt == LRMLP_F64 ? LRMLP__T_F64 : LRMLP__T_F32;
    size_t es = lrmlp__dtype_size(dt), nes = lrmlp__dtype_size(net->dtype);
    const char *prefix = o->prefix ? o->prefix : "";
    size_t index = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        for (int part = 0; part < 1 + (ly->b_off != SIZE_MAX); part++) {
            char name[256];
            int nl = snprintf(name, sizeof name, "%s%zu.%s", prefix, index,
                              part ? "bias" : "weight");
            lrmlp__tensor *t = lrmlp__tset_add(ts, name, (size_t)nl);
            if (!t)
                return LRMLP_ERR_NOMEM;
            size_t n = part ? ly->out : ly->in * ly->out;
            const char *src = (const char *)net->params + (part ? ly->b_off : ly->w_off) * nes;
            uint8_t *d = malloc(n * es);
            if (!d || lrmlp__tset_own(ts, d) != LRMLP_OK)
                return lrmlp__err(LRMLP_ERR_NOMEM, "export: out of memory");
            /* Little-endian on every host, converted when dtypes differ. */
            for (size_t i = 0; i < n; i++) {
                double v = net->dtype == LRMLP_F32 ? ((const float *)src)[i]
                                                   : ((const double *)src)[i];
                uint64_t u;
                if (kind == LRMLP__T_F32) {
                    float f = (float)v;
                    uint32_t u32;
                    if (!isfinite(f))
                        return lrmlp__err(LRMLP_ERR_NONFINITE, "export: layer %zu holds %g, "
                                          "beyond float32's range", l, v);
                    memcpy(&u32, &f, 4);
                    u = u32;
                } else {
                    memcpy(&u, &v, 8);
                }
                for (size_t k = 0; k < es; k++)
                    d[i * es + k] = (uint8_t)(u >> (8 * k));
            }
            t->kind = kind;
            snprintf(t->dtype, sizeof t->dtype, "%s", kind == LRMLP__T_F64 ? "F64" : "F32");
            t->ndim = part ? 1 : 2;
            t->shape[0] = ly->out;
            t->shape[1] = part ? 0 : ly->in;
            t->data = d;
            t->nbytes = n * es;
        }
        /* nn.Sequential: an activation module after every non-identity layer. */
        index += (o->contiguous_names || ly->act == LRMLP_ACT_IDENTITY ||
                  l + 1 == net->n_layers) ? 1 : 2;
    }
    if (!o->metadata)
        return LRMLP_OK;
    ts->has_meta = 1;
    size_t at = 0;
    char *all = malloc(net->n_layers * 16 + 1);
    if (!all)
        return lrmlp__err(LRMLP_ERR_NOMEM, "export: out of memory");
    for (size_t l = 0; l < net->n_layers; l++)
        at += (size_t)sprintf(all + at, "%s%s", l ? "," : "",
                              lrmlp_activation_name(net->layers[l].act));
    int rc = lrmlp__tset_meta_add(ts, META_VERSION, "1");
    if (rc == LRMLP_OK)
        rc = lrmlp__tset_meta_add(ts, META_LIBRARY, lrmlp_version_string());
    if (rc == LRMLP_OK)
        rc = lrmlp__tset_meta_add(ts, META_ACTS, all);
    free(all);
    if (rc == LRMLP_OK && net->lr_rank) {
        char num[32];
        snprintf(num, sizeof num, "%zu", net->lr_rank);
        rc = lrmlp__tset_meta_add(ts, META_RANK, num);
        snprintf(num, sizeof num, "%zu", net->lr_layers);
        if (rc == LRMLP_OK)
            rc = lrmlp__tset_meta_add(ts, META_LR_LAYERS, num);
    }
    return rc;
}

static int export_buf(const lrmlp_net *net, const lrmlp_export_options *o,
                      lrmlp_weights_format f, uint8_t **buf, size_t *len)
{
    if (net->adapter)
        return lrmlp__err(LRMLP_ERR_INVALID, "weights export: an adapter network's function is "
                                             "not its chain: lrmlp_adapter_merge it first");
    lrmlp__tset ts;
    memset(&ts, 0, sizeof ts);
    int rc = build_tset(net, o, &ts);
    if (rc == LRMLP_OK)
        rc = f == LRMLP_WEIGHTS_NPZ ? lrmlp__npz_write(&ts, o->compress, buf, len)
                                    : lrmlp__safetensors_write(&ts, buf, len);
    lrmlp__tset_free(&ts);
    return rc;
}

#else /* !LRMLP_HAVE_INTEROP */

LRMLP_API int lrmlp_interop_available(void) { return 0; }

#define NO_INTEROP()                                                                  \
    lrmlp__err(LRMLP_ERR_UNSUPPORTED, "this liblrmlp was built without the interop " \
               "feature (libzip and jansson); .npz and safetensors are unavailable")

static int import_buf(lrmlp_net **out, const uint8_t *buf, size_t len,
                      const lrmlp_import_options *o)
{
    (void)buf, (void)len, (void)o;
    *out = NULL;
    return NO_INTEROP();
}

static int export_buf(const lrmlp_net *net, const lrmlp_export_options *o,
                      lrmlp_weights_format f, uint8_t **buf, size_t *len)
{
    (void)net, (void)o, (void)f, (void)buf, (void)len;
    return NO_INTEROP();
}

#endif

/* ---- public entry points (shared by both builds) ---- */

LRMLP_API int lrmlp_weights_import_mem(lrmlp_net **out, const void *buf, size_t len,
                                       const lrmlp_import_options *opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_import: out is NULL");
    *out = NULL;
    if (!buf && len)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_import: buf is NULL");
    lrmlp_import_options full;
    const lrmlp_import_options *o = &full;
    int rc = check_import_opts(opts, &full, "lrmlp_weights_import");
    if (rc != LRMLP_OK)
        return rc;
    return import_buf(out, buf ? buf : (const void *)"", len, o);
}

LRMLP_API int lrmlp_weights_import(lrmlp_net **out, const char *path,
                                   const lrmlp_import_options *opts)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_import: out is NULL");
    *out = NULL;
    if (!path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_import: path is NULL");
    lrmlp_import_options full;
    const lrmlp_import_options *o = &full;
    int rc = check_import_opts(opts, &full, "lrmlp_weights_import");
    if (rc != LRMLP_OK)
        return rc;
    if (!lrmlp_interop_available())
        return import_buf(out, NULL, 0, o);
    uint8_t *b;
    size_t len;
    rc = lrmlp__read_file("import", path, &b, &len);
    if (rc != LRMLP_OK)
        return rc;
    rc = import_buf(out, b, len, o);
    free(b);
    return rc;
}

LRMLP_API int lrmlp_weights_export_mem(const lrmlp_net *net, void **buf, size_t *len,
                                       const lrmlp_export_options *opts)
{
    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    if (!net || !buf || !len)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_export_mem: NULL argument");
    lrmlp_export_options full;
    const lrmlp_export_options *o = &full;
    int rc = check_export_opts(opts, &full, "lrmlp_weights_export");
    if (rc != LRMLP_OK)
        return rc;
    if (o->format == LRMLP_WEIGHTS_AUTO)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_export_mem: the format must be "
                          "LRMLP_WEIGHTS_NPZ or LRMLP_WEIGHTS_SAFETENSORS");
    uint8_t *b = NULL;
    rc = export_buf(net, o, o->format, &b, len);
    *buf = b;
    return rc;
}

LRMLP_API int lrmlp_weights_export(const lrmlp_net *net, const char *path,
                                   const lrmlp_export_options *opts)
{
    if (!net || !path || !*path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_weights_export: NULL net or empty path");
    lrmlp_export_options full;
    const lrmlp_export_options *o = &full;
    int rc = check_export_opts(opts, &full, "lrmlp_weights_export");
    if (rc != LRMLP_OK)
        return rc;
    lrmlp_weights_format f = o->format;
    if (f == LRMLP_WEIGHTS_AUTO && (rc = lrmlp_weights_format_from_path(path, &f)) != LRMLP_OK)
        return rc;
    uint8_t *b = NULL;
    size_t len = 0;
    rc = export_buf(net, o, f, &b, &len);
    if (rc == LRMLP_OK)
        rc = lrmlp__write_atomic("export", path, b, len);
    free(b);
    return rc;
}
