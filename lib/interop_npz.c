/* .npz archives through libzip, and the .npy arrays inside them.
 *
 * .npy (NumPy's format.py): the magic "\x93NUMPY", a major and a minor
 * version byte, the header length (u16 little-endian in version 1, u32 in
 * versions 2 and 3), the header, then the raw array. The header is a Python
 * dict literal with exactly the keys 'descr' (e.g. '<f4'), 'fortran_order'
 * (True/False) and 'shape' (a tuple of integers), padded with spaces and a
 * newline. That literal is the one grammar here that no library parses for
 * us; parse_header accepts only it. */
#include "interop_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define FAIL(st, ...) return lrmlp__err(st, "npz: " __VA_ARGS__)

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---- the .npy header ---- */

typedef struct {
    const char *p, *end;
} cur_;

static void skip_ws(cur_ *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cur_ *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes, at most cap-1 bytes. */
static int parse_str(cur_ *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static int parse_word(cur_ *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
        return 0;
    c->p += n;
    return 1;
}

static int parse_uint(cur_ *c, uint64_t *v)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return 0;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2 longs */
        c->p++;
    *v = x;
    return 1;
}

static int parse_shape(cur_ *c, lrmlp__tensor *t)
{
    if (!eat(c, '('))
        return 0;
    t->ndim = 0;
    for (;;) {
        if (eat(c, ')'))
            return 1;
        if (t->ndim == LRMLP__T_MAXDIM || !parse_uint(c, &t->shape[t->ndim]))
            return 0;
        t->ndim++;
        if (eat(c, ','))
            continue;
        return eat(c, ')');
    }
}

/* descr: byte order ('<', '>', '|'), kind and size. */
static void parse_descr(const char *d, lrmlp__tensor *t)
{
    snprintf(t->dtype, sizeof t->dtype, "%.15s", d);
    t->kind = LRMLP__T_OTHER;
    if (d[0] != '<' && d[0] != '>' && d[0] != '|')
        return;
    t->big_endian = d[0] == '>';
    if (!strcmp(d + 1, "f4"))
        t->kind = LRMLP__T_F32;
    else if (!strcmp(d + 1, "f8"))
        t->kind = LRMLP__T_F64;
    else if (!strcmp(d + 1, "u1") || !strcmp(d + 1, "B"))
        t->kind = LRMLP__T_U8;
}

static int parse_header(const char *h, size_t n, lrmlp__tensor *t)
{
    cur_ c = {h, h + n};
    int have_d = 0, have_f = 0, have_s = 0;
    if (!eat(&c, '{'))
        return 0;
    while (!eat(&c, '}')) {
        char key[32], val[64];
        if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
            return 0;
        if (!strcmp(key, "descr") && !have_d) {
            if (!parse_str(&c, val, sizeof val))
                return 0;
            parse_descr(val, t);
            have_d = 1;
        } else if (!strcmp(key, "fortran_order") && !have_f) {
            if (parse_word(&c, "True"))
                t->fortran = 1;
            else if (!parse_word(&c, "False"))
                return 0;
            have_f = 1;
        } else if (!strcmp(key, "shape") && !have_s) {
            if (!parse_shape(&c, t))
                return 0;
            have_s = 1;
        } else {
            return 0;
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return 0;
            break;
        }
    }
    skip_ws(&c);
    return c.p == c.end && have_d && have_f && have_s;
}

/* Parses one .npy array of n bytes at p (owned by ts) into t. */
static int parse_npy(const uint8_t *p, size_t n, lrmlp__tensor *t)
{
    if (n < 10 || memcmp(p, npy_magic, 6))
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s.npy' is not a .npy array (bad magic)", t->name);
    unsigned major = p[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)p[8] | (size_t)p[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12)
            FAIL(LRMLP_ERR_FORMAT, "entry '%.64s.npy' is truncated", t->name);
        hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
        off = 12;
    } else {
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s.npy' has .npy version %u.%u (1 to 3 are known)",
             t->name, major, (unsigned)p[7]);
    }
    if (hlen > LRMLP_IMPORT_MAX_HEADER || hlen > n - off)
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s.npy': header of %zu bytes runs past the entry",
             t->name, hlen);
    if (!parse_header((const char *)p + off, hlen, t))
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s.npy': malformed header (expected {'descr': ..., "
             "'fortran_order': ..., 'shape': (...)})", t->name);
    t->data = p + off + hlen;
    t->nbytes = n - off - hlen;
    if (t->kind == LRMLP__T_OTHER)
        return LRMLP_OK; /* refused by name later, with its dtype */
    return lrmlp__tensor_check_size(t, "npz");
}

/* ---- reading the archive ---- */

static const char *zerr_str(zip_error_t *e) { return zip_error_strerror(e); }

static int read_entry(zip_t *za, zip_uint64_t i, size_t archive_len, lrmlp__tset *ts)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, 0, &st) != 0)
        FAIL(LRMLP_ERR_FORMAT, "cannot read entry %llu: %s", (unsigned long long)i,
             zerr_str(zip_get_error(za)));
    const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
                              ZIP_STAT_COMP_METHOD;
    if ((st.valid & need) != need)
        FAIL(LRMLP_ERR_FORMAT, "entry %llu lacks its name or sizes", (unsigned long long)i);
    size_t nl = strlen(st.name);
    if (nl < 4 || strcmp(st.name + nl - 4, ".npy"))
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s' is not a .npy array", st.name);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        FAIL(LRMLP_ERR_UNSUPPORTED, "entry '%.64s' is encrypted", st.name);
    /* Bound what a small archive can make us allocate: deflate expands at
     * most 1032 to 1; a stored entry is as large as its data. */
    if (st.comp_method == ZIP_CM_STORE) {
        if (st.size != st.comp_size)
            FAIL(LRMLP_ERR_FORMAT, "stored entry '%.64s' has size %llu but %llu stored bytes",
                 st.name, (unsigned long long)st.size, (unsigned long long)st.comp_size);
    } else if (st.comp_method != ZIP_CM_DEFLATE) {
        FAIL(LRMLP_ERR_UNSUPPORTED, "entry '%.64s' uses zip compression method %d (stored "
             "and deflate are supported)", st.name, (int)st.comp_method);
    }
    if (st.comp_size > archive_len || st.size > st.comp_size * 1032 + 64)
        FAIL(LRMLP_ERR_FORMAT, "entry '%.64s' claims %llu bytes from %llu compressed bytes",
             st.name, (unsigned long long)st.size, (unsigned long long)st.comp_size);

    lrmlp__tensor *t = lrmlp__tset_add(ts, st.name, nl - 4);
    if (!t)
        return LRMLP_ERR_NOMEM;
    uint8_t *b = malloc((size_t)st.size + 1);
    if (!b || lrmlp__tset_own(ts, b) != LRMLP_OK)
        FAIL(LRMLP_ERR_NOMEM, "out of memory for entry '%.64s'", st.name);
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf)
        FAIL(LRMLP_ERR_FORMAT, "cannot open entry '%.64s': %s", st.name,
             zerr_str(zip_get_error(za)));
    /* Then read on to the end: libzip checks the CRC when it sees the end
     * of the stream, and a stream longer than announced is an error too. */
    zip_int64_t got = zip_fread(zf, b, st.size + 1);
    if (got >= 0 && (zip_uint64_t)got == st.size) {
        zip_int64_t more = zip_fread(zf, b + st.size, 1);
        got = more < 0 ? -1 : got + more;
    }
    int rc = LRMLP_OK;
    if (got < 0)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "npz: entry '%.64s' is corrupt: %s", st.name,
                        zerr_str(zip_file_get_error(zf)));
    else if ((zip_uint64_t)got != st.size)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "npz: entry '%.64s' holds %lld bytes, its header "
                        "says %llu", st.name, (long long)got, (unsigned long long)st.size);
    zip_fclose(zf);
    if (rc != LRMLP_OK)
        return rc;
    return parse_npy(b, (size_t)st.size, t);
}

int lrmlp__npz_read(const uint8_t *buf, size_t len, lrmlp__tset *ts)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        FAIL(LRMLP_ERR_NOMEM, "out of memory");
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!za) {
        zip_source_free(src);
        int rc = lrmlp__err(LRMLP_ERR_FORMAT, "not a readable zip archive: %s", zerr_str(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = LRMLP_OK;
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; rc == LRMLP_OK && i < n; i++)
        rc = read_entry(za, (zip_uint64_t)i, len, ts);
    zip_discard(za); /* frees src too */
    if (rc != LRMLP_OK)
        return rc;

    /* The metadata entry: a 1-D uint8 array of JSON text. */
    for (size_t i = 0; i < ts->n; i++) {
        lrmlp__tensor *t = &ts->t[i];
        if (strcmp(t->name, LRMLP__NPZ_META))
            continue;
        if (t->kind != LRMLP__T_U8 || t->ndim != 1)
            FAIL(LRMLP_ERR_FORMAT, LRMLP__NPZ_META ".npy is not a 1-D uint8 array");
        if (ts->has_meta)
            FAIL(LRMLP_ERR_FORMAT, "two " LRMLP__NPZ_META ".npy entries");
        rc = lrmlp__meta_from_json(t->data, t->nbytes, ts);
        if (rc != LRMLP_OK)
            return rc;
    }
    return LRMLP_OK;
}

/* ---- writing ---- */

/* The .npy bytes of tensor t: version 1.0 header padded so that the data
 * starts at a multiple of 64 bytes, as NumPy writes it. */
static uint8_t *make_npy(const lrmlp__tensor *t, size_t *out_len)
{
    char h[256];
    const char *descr = t->kind == LRMLP__T_F64 ? "<f8" : t->kind == LRMLP__T_U8 ? "|u1" : "<f4";
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (size_t d = 0; d < t->ndim; d++)
        n += snprintf(h + n, sizeof h - (size_t)n, d ? ", %llu" : "%llu",
                      (unsigned long long)t->shape[d]);
    n += snprintf(h + n, sizeof h - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    size_t hl = (size_t)n + 1; /* + '\n' */
    size_t total_hdr = (10 + hl + 63) & ~(size_t)63;
    hl = total_hdr - 10;
    uint8_t *b = malloc(total_hdr + t->nbytes);
    if (!b)
        return NULL;
    memcpy(b, npy_magic, 6);
    b[6] = 1;
    b[7] = 0;
    b[8] = (uint8_t)(hl & 0xff);
    b[9] = (uint8_t)(hl >> 8);
    memcpy(b + 10, h, (size_t)n);
    memset(b + 10 + n, ' ', hl - (size_t)n - 1);
    b[10 + hl - 1] = '\n';
    memcpy(b + total_hdr, t->data, t->nbytes);
    *out_len = total_hdr + t->nbytes;
    return b;
}

/* Adds one entry; the archive frees data (ZIP_SOURCE with freep = 1). */
static int add_entry(zip_t *za, const char *name, uint8_t *data, size_t len, int compress)
{
    char ename[300];
    if ((size_t)snprintf(ename, sizeof ename, "%s.npy", name) >= sizeof ename) {
        free(data);
        FAIL(LRMLP_ERR_INVALID, "tensor name '%.64s...' is too long", name);
    }
    zip_source_t *s = zip_source_buffer(za, data, len, 1);
    if (!s) {
        free(data);
        FAIL(LRMLP_ERR_NOMEM, "out of memory");
    }
    zip_int64_t idx = zip_file_add(za, ename, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(s);
        FAIL(LRMLP_ERR_INVALID, "cannot add '%s': %s", ename, zerr_str(zip_get_error(za)));
    }
    /* A fixed time (1980-01-02) keeps the archive's bytes reproducible. */
    if (zip_set_file_compression(za, (zip_uint64_t)idx,
                                 compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, (time_t)315619200, 0) != 0)
        FAIL(LRMLP_ERR_INVALID, "cannot set up '%s': %s", ename, zerr_str(zip_get_error(za)));
    return LRMLP_OK;
}

int lrmlp__npz_write(const lrmlp__tset *ts, int compress, uint8_t **out, size_t *out_len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        if (src)
            zip_source_free(src);
        FAIL(LRMLP_ERR_NOMEM, "cannot create an archive in memory");
    }
    zip_source_keep(src); /* survives zip_close, which writes into it */
    int rc = LRMLP_OK;
    for (size_t i = 0; rc == LRMLP_OK && i < ts->n; i++) {
        size_t len;
        uint8_t *b = make_npy(&ts->t[i], &len);
        rc = b ? add_entry(za, ts->t[i].name, b, len, compress)
               : lrmlp__err(LRMLP_ERR_NOMEM, "npz: out of memory");
    }
    if (rc == LRMLP_OK && ts->has_meta) {
        char *js;
        size_t jl;
        rc = lrmlp__meta_to_json(ts, &js, &jl);
        if (rc == LRMLP_OK) {
            lrmlp__tensor m = {0};
            m.kind = LRMLP__T_U8;
            m.ndim = 1;
            m.shape[0] = jl;
            m.data = (const uint8_t *)js;
            m.nbytes = jl;
            size_t len;
            uint8_t *b = make_npy(&m, &len);
            free(js);
            rc = b ? add_entry(za, LRMLP__NPZ_META, b, len, compress)
                   : lrmlp__err(LRMLP_ERR_NOMEM, "npz: out of memory");
        }
    }
    if (rc != LRMLP_OK) {
        zip_discard(za);
        zip_source_free(src);
        return rc;
    }
    if (zip_close(za) != 0) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "npz: cannot write the archive: %s",
                        zerr_str(zip_get_error(za)));
        zip_discard(za);
        zip_source_free(src);
        return rc;
    }
    zip_stat_t st;
    zip_stat_init(&st);
    uint8_t *b = NULL;
    if (zip_source_stat(src, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
        zip_source_open(src) == 0) {
        b = malloc(st.size ? (size_t)st.size : 1);
        if (b && zip_source_read(src, b, st.size) != (zip_int64_t)st.size) {
            free(b);
            b = NULL;
        }
        zip_source_close(src);
    }
    zip_source_free(src);
    if (!b)
        FAIL(LRMLP_ERR_NOMEM, "cannot read the archive back from memory");
    *out = b;
    *out_len = (size_t)st.size;
    return LRMLP_OK;
}
