/* safetensors files and the JSON metadata map, through jansson.
 *
 * File: u64 little-endian N, N bytes of JSON header (an object; trailing
 * spaces allowed), then the data buffer. The header maps each tensor name
 * to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
 * the data buffer) and may hold "__metadata__", a map of strings. As the
 * reference implementation, the tensors must tile the data buffer exactly:
 * no overlap, no hole, nothing after the last one. */
#include "interop_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(st, ...) return lrmlp__err(st, "safetensors: " __VA_ARGS__)

static uint64_t rd64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Known dtype names; only F32 and F64 are read into networks. */
static int parse_dtype(const char *s, lrmlp__tensor *t)
{
    static const char *const known[] = {"F16", "BF16", "F8_E4M3", "F8_E5M2", "I8", "U8",
                                        "I16", "U16", "I32", "U32", "I64", "U64", "BOOL"};
    snprintf(t->dtype, sizeof t->dtype, "%s", s);
    if (!strcmp(s, "F32")) {
        t->kind = LRMLP__T_F32;
        return 1;
    }
    if (!strcmp(s, "F64")) {
        t->kind = LRMLP__T_F64;
        return 1;
    }
    t->kind = LRMLP__T_OTHER;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(s, known[i]))
            return 1;
    return 0;
}

static size_t other_size(const char *s)
{
    if (!strcmp(s, "F16") || !strcmp(s, "BF16") || !strcmp(s, "I16") || !strcmp(s, "U16"))
        return 2;
    if (!strcmp(s, "I32") || !strcmp(s, "U32"))
        return 4;
    if (!strcmp(s, "I64") || !strcmp(s, "U64"))
        return 8;
    return 1;
}

typedef struct {
    uint64_t begin, end;
    size_t index;
} range_;

static int cmp_range(const void *a, const void *b)
{
    const range_ *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* what: "safetensors: \"__metadata__\"" or the .npz entry, for messages. */
static int read_meta(json_t *m, lrmlp__tset *ts, const char *what)
{
    if (!json_is_object(m))
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s is not an object", what);
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(m, key, klen, v) {
        if (!json_is_string(v))
            return lrmlp__err(LRMLP_ERR_FORMAT, "%s: value of \"%.64s\" is not a string",
                              what, key);
        if (klen != strlen(key) || json_string_length(v) != strlen(json_string_value(v)))
            return lrmlp__err(LRMLP_ERR_FORMAT, "%s holds a NUL character", what);
        int rc = lrmlp__tset_meta_add(ts, key, json_string_value(v));
        if (rc != LRMLP_OK)
            return rc;
    }
    ts->has_meta = 1;
    return LRMLP_OK;
}

static int read_entry(const char *name, size_t nlen, json_t *e, uint64_t data_len,
                      const uint8_t *data, lrmlp__tset *ts, range_ *r)
{
    if (!json_is_object(e))
        FAIL(LRMLP_ERR_FORMAT, "entry \"%.64s\" is not an object", name);
    json_t *dt = json_object_get(e, "dtype"), *sh = json_object_get(e, "shape"),
           *off = json_object_get(e, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) ||
        json_object_size(e) != 3)
        FAIL(LRMLP_ERR_FORMAT,
             "entry \"%.64s\" must have exactly \"dtype\" (string), \"shape\" and "
             "\"data_offsets\" (arrays)",
             name);
    lrmlp__tensor *t = lrmlp__tset_add(ts, name, nlen);
    if (!t)
        return LRMLP_ERR_NOMEM;
    if (!parse_dtype(json_string_value(dt), t))
        FAIL(LRMLP_ERR_FORMAT, "tensor \"%.64s\" has an unknown dtype \"%.16s\"", name,
             json_string_value(dt));
    t->ndim = json_array_size(sh);
    if (t->ndim > LRMLP__T_MAXDIM)
        FAIL(LRMLP_ERR_FORMAT, "tensor \"%.64s\" has %zu dimensions", name, t->ndim);
    for (size_t i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(sh, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            FAIL(LRMLP_ERR_FORMAT, "shape of \"%.64s\" is not a list of integers >= 0", name);
        t->shape[i] = (uint64_t)json_integer_value(d);
    }
    json_t *b = json_array_get(off, 0), *en = json_array_get(off, 1);
    if (json_array_size(off) != 2 || !json_is_integer(b) || !json_is_integer(en) ||
        json_integer_value(b) < 0 || json_integer_value(en) < json_integer_value(b))
        FAIL(LRMLP_ERR_FORMAT, "data_offsets of \"%.64s\" are not [begin, end] with "
             "0 <= begin <= end", name);
    r->begin = (uint64_t)json_integer_value(b);
    r->end = (uint64_t)json_integer_value(en);
    if (r->end > data_len)
        FAIL(LRMLP_ERR_FORMAT, "data_offsets of \"%.64s\" end at %llu, past the %llu "
             "data bytes", name, (unsigned long long)r->end, (unsigned long long)data_len);
    t->data = data + r->begin;
    t->nbytes = (size_t)(r->end - r->begin);
    if (t->kind == LRMLP__T_OTHER) {
        /* Sized here so that the layout is still checked; refused later. */
        uint64_t n = 1;
        for (size_t i = 0; i < t->ndim; i++)
            n = (t->shape[i] && n > UINT64_MAX / t->shape[i]) ? UINT64_MAX : n * t->shape[i];
        size_t es = other_size(t->dtype);
        if (n > UINT64_MAX / es || n * es != t->nbytes)
            FAIL(LRMLP_ERR_FORMAT, "tensor \"%.64s\": shape and data_offsets disagree", name);
        return LRMLP_OK;
    }
    return lrmlp__tensor_check_size(t, "safetensors");
}

int lrmlp__safetensors_read(const uint8_t *buf, size_t len, lrmlp__tset *ts)
{
    if (len < 8)
        FAIL(LRMLP_ERR_FORMAT, "file of %zu bytes is shorter than its 8-byte header length",
             len);
    uint64_t hlen = rd64le(buf);
    if (hlen > LRMLP_IMPORT_MAX_HEADER)
        FAIL(LRMLP_ERR_FORMAT, "header length %llu exceeds the limit of %zu bytes",
             (unsigned long long)hlen, (size_t)LRMLP_IMPORT_MAX_HEADER);
    if (hlen > len - 8)
        FAIL(LRMLP_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte file",
             (unsigned long long)hlen, len);
    if (hlen < 2 || buf[8] != '{')
        FAIL(LRMLP_ERR_FORMAT, "header does not start with '{'");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES,
                              &jerr);
    if (!root)
        FAIL(LRMLP_ERR_FORMAT, "malformed JSON header (line %d, column %d: %.120s)", jerr.line,
             jerr.column, jerr.text);
    int rc = LRMLP_OK;
    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    range_ *rs = NULL;
    size_t nr = 0;
    if (!json_is_object(root)) {
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "safetensors: header is not a JSON object");
        goto done;
    }
    rs = malloc((json_object_size(root) + 1) * sizeof *rs);
    if (!rs) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "safetensors: out of memory");
        goto done;
    }
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(root, key, klen, v) {
        if (klen != strlen(key)) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "safetensors: a tensor name holds a NUL");
            goto done;
        }
        if (!strcmp(key, "__metadata__")) {
            rc = read_meta(v, ts, "safetensors: \"__metadata__\"");
        } else {
            rs[nr].index = nr;
            rc = read_entry(key, klen, v, data_len, data, ts, &rs[nr]);
            nr++;
        }
        if (rc != LRMLP_OK)
            goto done;
    }
    qsort(rs, nr, sizeof *rs, cmp_range);
    uint64_t at = 0;
    for (size_t i = 0; i < nr; i++) {
        if (rs[i].begin < at) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "safetensors: tensors \"%.64s\" and \"%.64s\" "
                            "overlap", ts->t[rs[i - 1].index].name, ts->t[rs[i].index].name);
            goto done;
        }
        if (rs[i].begin > at) {
            rc = lrmlp__err(LRMLP_ERR_FORMAT, "safetensors: data bytes [%llu, %llu) belong "
                            "to no tensor", (unsigned long long)at,
                            (unsigned long long)rs[i].begin);
            goto done;
        }
        at = rs[i].end;
    }
    if (at != data_len)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "safetensors: %llu bytes after the last tensor",
                        (unsigned long long)(data_len - at));
done:
    free(rs);
    json_decref(root);
    return rc;
}

/* ---- writing ---- */

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static json_t *meta_object(const lrmlp__tset *ts)
{
    json_t *m = json_object();
    for (size_t i = 0; m && i < ts->n_meta; i++) {
        if (!set_new(m, ts->meta[2 * i], json_string(ts->meta[2 * i + 1]))) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

int lrmlp__safetensors_write(const lrmlp__tset *ts, uint8_t **out, size_t *out_len)
{
    json_t *root = json_object();
    int ok = root != NULL;
    if (ok && ts->has_meta)
        ok = set_new(root, "__metadata__", meta_object(ts));
    uint64_t off = 0;
    for (size_t i = 0; ok && i < ts->n; i++) {
        const lrmlp__tensor *t = &ts->t[i];
        json_t *e = json_object(), *sh = json_array(), *of = json_array();
        ok = e && sh && of;
        for (size_t d = 0; ok && d < t->ndim; d++)
            ok = json_array_append_new(sh, json_integer((json_int_t)t->shape[d])) == 0;
        ok = ok && json_array_append_new(of, json_integer((json_int_t)off)) == 0 &&
             json_array_append_new(of, json_integer((json_int_t)(off + t->nbytes))) == 0;
        ok = ok && set_new(e, "dtype", json_string(t->kind == LRMLP__T_F64 ? "F64" : "F32"));
        ok = ok && set_new(e, "shape", sh) && set_new(e, "data_offsets", of);
        if (!ok) {
            json_decref(sh);
            json_decref(of);
        }
        sh = of = NULL;
        ok = ok && set_new(root, t->name, e);
        if (!ok)
            json_decref(e);
        off += t->nbytes;
    }
    char *hdr = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!hdr)
        FAIL(LRMLP_ERR_NOMEM, "out of memory building the header");
    /* Pad the header with spaces so the data starts 8-byte aligned. */
    size_t hl = strlen(hdr), hp = (hl + 7) & ~(size_t)7, total = 8 + hp + (size_t)off;
    uint8_t *b = malloc(total);
    if (!b) {
        free(hdr);
        FAIL(LRMLP_ERR_NOMEM, "out of memory (%zu bytes)", total);
    }
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hp >> (8 * i));
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, ' ', hp - hl);
    free(hdr);
    uint8_t *p = b + 8 + hp;
    for (size_t i = 0; i < ts->n; i++) {
        memcpy(p, ts->t[i].data, ts->t[i].nbytes);
        p += ts->t[i].nbytes;
    }
    *out = b;
    *out_len = total;
    return LRMLP_OK;
}

/* ---- the metadata map as JSON (.npz) ---- */

int lrmlp__meta_to_json(const lrmlp__tset *ts, char **out, size_t *out_len)
{
    json_t *m = meta_object(ts);
    char *s = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);
    if (!s)
        return lrmlp__err(LRMLP_ERR_NOMEM, "npz: out of memory building the metadata");
    *out = s;
    *out_len = strlen(s);
    return LRMLP_OK;
}

int lrmlp__meta_from_json(const uint8_t *p, size_t len, lrmlp__tset *ts)
{
    json_error_t jerr;
    json_t *m = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!m)
        return lrmlp__err(LRMLP_ERR_FORMAT, "npz: malformed metadata JSON (column %d: %.120s)",
                          jerr.column, jerr.text);
    int rc = read_meta(m, ts, "npz: metadata " LRMLP__NPZ_META ".npy");
    json_decref(m);
    return rc;
}
