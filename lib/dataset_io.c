/* Dataset readers: IDX files (plain or gzip-compressed) and CSV text, from
 * files and from memory, with a locale-independent number parser. They
 * build the handle defined in dataset_internal.h. */
#include "dataset_internal.h"
#include "internal.h"
#include "numerics.h"

#include <zlib.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest number of elements an IDX file may claim. */
#define IDX_MAX_ELEMS ((uint64_t)1 << 31)

/* A status with "what: verb 'path': strerror(errno)" as the last error. */
static int errno_err(int status, const char *what, const char *verb, const char *path)
{
    char eb[128];
    return lrmlp__err(status, "%s: %s '%s': %s", what, verb, path,
                      lrmlp__errno_str(errno, eb, sizeof eb));
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                      */

typedef struct idx_hdr {
    size_t count;       /* first dimension: samples */
    size_t dim;         /* product of the other dimensions */
    size_t hdr_len;     /* bytes before the data */
    size_t data_len;    /* count * dim bytes */
} idx_hdr;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Parses an IDX header from p[0..len). labels: expect magic 0x00000801,
 * else 0x0000080N with N >= 2 (count and at least one dimension). */
static int idx_header(const unsigned char *p, size_t len, int labels, const char *what,
                      idx_hdr *h)
{
    if (len < 4)
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s: truncated IDX header (%zu bytes)", what,
                               len);
    uint32_t magic = be32(p);
    unsigned ndims = p[3];
    if (p[0] != 0 || p[1] != 0 || p[2] != 0x08 || (labels ? ndims != 1 : ndims < 2))
        return lrmlp__err(LRMLP_ERR_FORMAT,
                               "%s: bad IDX magic 0x%08lx (expected %s)", what,
                               (unsigned long)magic,
                               labels ? "0x00000801: u8 labels"
                                      : "0x0000080N, N >= 2: u8 images");
    size_t hl = 4 + 4 * (size_t)ndims;
    if (len < hl)
        return lrmlp__err(LRMLP_ERR_FORMAT,
                               "%s: truncated IDX header (%zu of %zu bytes)", what, len, hl);
    uint64_t count = be32(p + 4), dim = 1;
    if (count == 0)
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s: IDX file holds no samples", what);
    for (unsigned k = 1; k < ndims; k++) {
        uint64_t s = be32(p + 4 + 4 * k);
        if (s == 0)
            return lrmlp__err(LRMLP_ERR_FORMAT, "%s: IDX dimension %u is 0", what, k);
        dim *= s;   /* both factors <= 2^32, and dim <= 2^31 before: no overflow */
        if (dim > IDX_MAX_ELEMS)
            return lrmlp__err(LRMLP_ERR_FORMAT,
                                   "%s: IDX sample size exceeds 2^31 elements", what);
    }
    if (count * dim > IDX_MAX_ELEMS)
        return lrmlp__err(LRMLP_ERR_FORMAT,
                               "%s: IDX claims %llu x %llu elements, more than 2^31", what,
                               (unsigned long long)count, (unsigned long long)dim);
    h->count = (size_t)count;
    h->dim = (size_t)dim;
    h->hdr_len = hl;
    h->data_len = (size_t)(count * dim);
    return LRMLP_OK;
}

static int idx_check_len(const idx_hdr *h, size_t len, const char *what)
{
    size_t have = len - h->hdr_len;
    if (have < h->data_len)
        return lrmlp__err(LRMLP_ERR_FORMAT,
                               "%s: truncated IDX data (%zu of %zu bytes)", what, have,
                               h->data_len);
    if (have > h->data_len)
        return lrmlp__err(LRMLP_ERR_FORMAT,
                               "%s: %zu trailing bytes after the IDX data", what,
                               have - h->data_len);
    return LRMLP_OK;
}

/* Validates the two files' bytes and builds the dataset. When adopt is not
 * NULL, *adopt is the reader's buffer that holds img: its memory becomes
 * the feature storage (the header is moved out) and *adopt is set to NULL. */
static int idx_build(lrmlp_dataset **out, const unsigned char *img, size_t img_len,
                     const unsigned char *lab, size_t lab_len, unsigned char **adopt)
{
    idx_hdr hi = {0}, hl = {0};
    int rc = idx_header(img, img_len, 0, "images", &hi);
    if (rc == LRMLP_OK)
        rc = idx_check_len(&hi, img_len, "images");
    if (rc != LRMLP_OK)
        return rc;
    size_t n_classes = 0;
    if (lab) {
        rc = idx_header(lab, lab_len, 1, "labels", &hl);
        if (rc == LRMLP_OK)
            rc = idx_check_len(&hl, lab_len, "labels");
        if (rc != LRMLP_OK)
            return rc;
        if (hl.count != hi.count)
            return lrmlp__err(LRMLP_ERR_FORMAT,
                                   "label file has %zu labels, image file %zu images",
                                   hl.count, hi.count);
        const unsigned char *lv = lab + hl.hdr_len;
        for (size_t i = 0; i < hl.count; i++)
            if ((size_t)lv[i] + 1 > n_classes)
                n_classes = (size_t)lv[i] + 1;
    }

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return lrmlp__err(LRMLP_ERR_NOMEM, "lrmlp_dataset_load_idx: out of memory");
    ds->n = hi.count;
    ds->d = hi.dim;
    ds->storage = ST_U8;
    ds->dtype = LRMLP_F32;
    if (lab && lrmlp__dataset_set_labels(ds, NULL, lab + hl.hdr_len, n_classes) != LRMLP_OK) {
        lrmlp_dataset_free(ds);
        return lrmlp__err(LRMLP_ERR_NOMEM, "lrmlp_dataset_load_idx: out of memory");
    }
    if (adopt) {
        /* the reader's buffer (lrmlp__big_alloc, at most header + data
         * long) keeps its huge-page alignment: no shrinking realloc */
        unsigned char *buf = *adopt;
        memmove(buf, buf + hi.hdr_len, hi.data_len);
        ds->X = buf;
        *adopt = NULL;
    } else {
        ds->X = lrmlp__big_alloc(hi.data_len, 0);
        if (!ds->X) {
            lrmlp_dataset_free(ds);
            return lrmlp__err(LRMLP_ERR_NOMEM,
                                   "lrmlp_dataset_load_idx: out of memory (%zu bytes)",
                                   hi.data_len);
        }
        memcpy(ds->X, img + hi.hdr_len, hi.data_len);
    }
    *out = ds;
    return LRMLP_OK;
}

int lrmlp__dataset_idx_from_mem(lrmlp_dataset **out, const void *img, size_t img_len,
                                const void *lab, size_t lab_len)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "idx_from_mem: out is NULL");
    *out = NULL;
    if (!img)
        return lrmlp__err(LRMLP_ERR_INVALID, "idx_from_mem: images buffer is NULL");
    return idx_build(out, img, img_len, lab, lab_len, NULL);
}

/* A file inflated through zlib when it starts with the gzip magic, else
 * read directly. zlib's inflate is driven here rather than through gzread,
 * which takes a missing trailer for the end of the file and skips bytes
 * after the last gzip member: every member must end (CRC and length
 * checked), and only another member may follow one. */
enum { GZ_IN = 1 << 17 };
typedef struct idx_reader {
    int fd;
    int gz;                  /* inflating */
    int zinit;               /* zs needs inflateEnd */
    int member_end;          /* the last member ended; more input must be a new one */
    z_stream zs;
    unsigned char *in;       /* GZ_IN bytes of compressed input */
    const char *path, *what;
} idx_reader;

static int gz_start(idx_reader *r)
{
    r->in = malloc(GZ_IN);
    if (!r->in)
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", r->what);
    memset(&r->zs, 0, sizeof r->zs);
    if (inflateInit2(&r->zs, 15 + 16) != Z_OK) /* gzip wrapper only */
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: cannot start zlib on '%s'", r->what, r->path);
    r->zinit = 1;
    r->gz = 1;
    return LRMLP_OK;
}

/* Up to want decompressed bytes into p; *k how many (0 only at the end). */
static int gz_read(idx_reader *r, unsigned char *p, size_t want, size_t *k)
{
    z_stream *zs = &r->zs;
    *k = 0;
    zs->next_out = p;
    zs->avail_out = want > UINT_MAX ? UINT_MAX : (uInt)want;
    while (zs->avail_out > 0) {
        if (zs->avail_in == 0) {
            ssize_t n = read(r->fd, r->in, GZ_IN);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return errno_err(LRMLP_ERR_IO, r->what, "reading", r->path);
            if (n == 0) {
                if (r->member_end)
                    break;
                return lrmlp__err(LRMLP_ERR_FORMAT,
                                  "%s: '%s' is truncated: the gzip stream has no end",
                                  r->what, r->path);
            }
            zs->next_in = r->in;
            zs->avail_in = (uInt)n;
        }
        if (r->member_end) {
            if (zs->next_in[0] != 0x1f)
                return lrmlp__err(LRMLP_ERR_FORMAT,
                                  "%s: '%s' has trailing bytes after the gzip stream", r->what,
                                  r->path);
            inflateReset(zs);
            r->member_end = 0;
        }
        int zr = inflate(zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            r->member_end = 1;
        else if (zr == Z_MEM_ERROR)
            return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory in zlib", r->what);
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return lrmlp__err(LRMLP_ERR_FORMAT, "%s: corrupt gzip data in '%s': %s", r->what,
                              r->path, zs->msg ? zs->msg : "unknown zlib error");
    }
    *k = (size_t)(zs->next_out - p);
    return LRMLP_OK;
}

/* Reads up to len bytes; *got is how many arrived (fewer only at the end). */
static int rd_read(idx_reader *r, void *buf, size_t len, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30;
        if (r->gz) {
            size_t k;
            int rc = gz_read(r, p + *got, want, &k);
            if (rc)
                return rc;
            if (k == 0)
                break;
            *got += k;
        } else {
            ssize_t k = read(r->fd, p + *got, want);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                return errno_err(LRMLP_ERR_IO, r->what, "reading", r->path);
            }
            if (k == 0)
                break;
            *got += (size_t)k;
        }
    }
    return LRMLP_OK;
}

/* Reads a whole IDX file (decompressed) into *buf_out. Memory grows only as
 * data actually arrives, and never past what a valid header allows. */
static int idx_read_file(const char *path, int labels, const char *what,
                         unsigned char **buf_out, size_t *len_out)
{
    *buf_out = NULL;
    idx_reader r = { .fd = -1, .path = path, .what = what };
    unsigned char *buf = NULL;
    int rc;
    r.fd = open(path, O_RDONLY);
    if (r.fd < 0)
        return errno_err(LRMLP_ERR_IO, what, "cannot open", path);
    struct stat st;
    unsigned char head[4 + 4 * 255];
    ssize_t k;
    do
        k = pread(r.fd, head, 2, 0);
    while (k < 0 && errno == EINTR);
    if (fstat(r.fd, &st) != 0 || k < 0) {
        rc = errno_err(LRMLP_ERR_IO, what, "reading", path);
        close(r.fd);
        return rc;
    }
    if (k == 2 && head[0] == 0x1f && head[1] == 0x8b && (rc = gz_start(&r)) != LRMLP_OK)
        goto done;

    /* Header: magic, then 4 bytes per dimension. */
    size_t got, hlen;
    idx_hdr h;
    rc = rd_read(&r, head, 4, &got);
    if (rc != LRMLP_OK)
        goto done;
    hlen = got == 4 ? 4 + 4 * (size_t)head[3] : got;
    if (got == 4 && hlen > 4) {
        rc = rd_read(&r, head + 4, hlen - 4, &got);
        if (rc != LRMLP_OK)
            goto done;
        hlen = 4 + got;
    }
    rc = idx_header(head, hlen, labels, what, &h);
    if (rc != LRMLP_OK)
        goto done;

    size_t total = h.hdr_len + h.data_len;
    size_t cap;
    if (!r.gz && S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size != (uintmax_t)total) {
            rc = (uintmax_t)st.st_size < (uintmax_t)total
                     ? lrmlp__err(LRMLP_ERR_FORMAT,
                                       "%s: '%s' is truncated: %zu bytes, header claims %zu",
                                       what, path, (size_t)st.st_size, total)
                     : lrmlp__err(LRMLP_ERR_FORMAT,
                                       "%s: '%s' has %zu trailing bytes after the IDX data",
                                       what, path, (size_t)st.st_size - total);
            goto done;
        }
        cap = total;
    } else {
        /* Unknown size: start from a guess and double as data arrives. */
        cap = (size_t)1 << 20;
        if (r.gz && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < (uintmax_t)(SIZE_MAX / 8))
            cap = (size_t)st.st_size * 4 > cap ? (size_t)st.st_size * 4 : cap;
        if (cap > total)
            cap = total;
    }
    buf = lrmlp__big_alloc(cap, 0);
    if (!buf) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, cap);
        goto done;
    }
    memcpy(buf, head, h.hdr_len);
    size_t len = h.hdr_len;
    for (;;) {
        rc = rd_read(&r, buf + len, cap - len, &got);
        if (rc != LRMLP_OK)
            goto done;
        len += got;
        if (len < cap || cap == total)
            break;
        size_t ncap = cap > total / 2 ? total : cap * 2; /* never beyond total */
        unsigned char *nb = lrmlp__big_alloc(ncap, 0);
        if (!nb) {
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, ncap);
            goto done;
        }
        memcpy(nb, buf, len);
        free(buf);
        buf = nb;
        cap = ncap;
    }
    if (len < total) {
        rc = lrmlp__err(LRMLP_ERR_FORMAT,
                             "%s: '%s' is truncated: %zu of %zu bytes of IDX data", what, path,
                             len - h.hdr_len, h.data_len);
        goto done;
    }
    unsigned char probe;
    rc = rd_read(&r, &probe, 1, &got);
    if (rc == LRMLP_OK && got != 0)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "%s: '%s' has trailing bytes after the IDX data",
                             what, path);
    if (rc == LRMLP_OK) {
        *buf_out = buf;
        *len_out = len;
        buf = NULL;
    }
done:
    free(buf);
    if (r.zinit)
        inflateEnd(&r.zs);
    free(r.in);
    close(r.fd);
    return rc;
}

LRMLP_API int lrmlp_dataset_load_idx(lrmlp_dataset **out, const char *images_path,
                                     const char *labels_path)
{
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_dataset_load_idx: images_path is NULL");
    unsigned char *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0;
    int rc = idx_read_file(images_path, 0, "images", &img, &img_len);
    if (rc == LRMLP_OK && labels_path)
        rc = idx_read_file(labels_path, 1, "labels", &lab, &lab_len);
    if (rc == LRMLP_OK)
        rc = idx_build(out, img, img_len, lab, lab_len, &img);
    free(img);
    free(lab);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                      */

LRMLP__OPTS_TYPE(csv_opts_type, lrmlp_csv_options, LRMLP_CSV_OPTIONS_VERSION,
                 LRMLP_CSV_OPTIONS_INIT, LRMLP__OPTS_END(lrmlp_csv_options, dtype));

LRMLP_API int lrmlp_csv_options_init(lrmlp_csv_options *opts, unsigned int version)
{
    return lrmlp__opts_init(&csv_opts_type, opts, version);
}

enum { PN_OK = 0, PN_NONFINITE, PN_SYNTAX, PN_RANGE };

static int ci_equal(const char *s, size_t len, const char *lit)
{
    size_t i = 0;
    for (; i < len && lit[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return i == len && lit[i] == '\0';
}

/* C's "nan(n-char-sequence)": nan( [A-Za-z0-9_]* ), any case. */
static int is_nan_payload(const char *s, size_t len)
{
    if (len < 5 || !ci_equal(s, 4, "nan(") || s[len - 1] != ')')
        return 0;
    for (size_t i = 4; i + 1 < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
            return 0;
    return 1;
}

/* Parses [+-]? (digits [. digits] | . digits) ([eE] [+-]? digits)? from
 * s[0..len), independently of the locale. Correctly rounded when the
 * significand has at most 15 digits and |exponent| <= 22 (the common case),
 * otherwise within about an ulp. nan/inf spellings give PN_NONFINITE,
 * magnitudes beyond DBL_MAX PN_RANGE, anything else malformed PN_SYNTAX. */
static int parse_number(const char *s, size_t len, double *out)
{
    static const double p10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (ci_equal(s + i, len - i, "nan") || ci_equal(s + i, len - i, "inf") ||
        ci_equal(s + i, len - i, "infinity") || is_nan_payload(s + i, len - i))
        return PN_NONFINITE;
    uint64_t m = 0;
    int nd = 0, any = 0;
    long e10 = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = 1;
        if (m == 0 && s[i] == '0')
            continue;
        if (nd < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            nd++;
        } else {
            e10++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = 1;
            if (m == 0 && s[i] == '0') {
                e10--;
            } else if (nd < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                nd++;
                e10--;
            }
        }
    }
    if (!any)
        return PN_SYNTAX;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        long ex = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= len || s[i] < '0' || s[i] > '9')
            return PN_SYNTAX;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (ex < 100000)
                ex = ex * 10 + (s[i] - '0');
        e10 += eneg ? -ex : ex;
    }
    if (i != len)
        return PN_SYNTAX;
    double v;
    if (m == 0) {
        v = 0.0;
    } else if (m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        v = e10 >= 0 ? (double)m * p10[e10] : (double)m / p10[-e10];
    } else if (e10 + nd > 310) {
        return PN_RANGE;
    } else if (e10 + nd < -330) {
        v = 0.0;
    } else {
        /* Scale in steps of the exact 1e22 so that no intermediate leaves
         * the range of the result, even where long double is double. */
        long double x = (long double)m;
        if (e10 >= 0) {
            for (; e10 > 22; e10 -= 22)
                x *= 1e22L;
            x *= (long double)p10[e10];
        } else {
            for (; e10 < -22; e10 += 22)
                x /= 1e22L;
            x /= (long double)p10[-e10];
        }
        v = (double)x;
        if (!isfinite(v))
            return PN_RANGE;
    }
    *out = neg ? -v : v;
    return PN_OK;
}

typedef struct csv_iter {
    const char *p, *end;
    size_t line_no;
} csv_iter;

/* Next line without its terminator ("\n" or "\r\n"). */
static int csv_next_line(csv_iter *it, const char **ls, size_t *ll)
{
    if (it->p >= it->end)
        return 0;
    const char *s = it->p;
    const char *nl = memchr(s, '\n', (size_t)(it->end - s));
    const char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    if (e > s && e[-1] == '\r')
        e--;
    it->line_no++;
    *ls = s;
    *ll = (size_t)(e - s);
    return 1;
}

static int csv_is_space(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

static int csv_blank(const char *s, size_t len, char delim)
{
    for (size_t i = 0; i < len; i++)
        if (!csv_is_space(s[i], delim))
            return 0;
    return 1;
}

static int csv_bad_delim(char c)
{
    return c == '\0' || c == '\n' || c == '\r' || c == '.' || c == '+' || c == '-' ||
           c == 'e' || c == 'E' || (c >= '0' && c <= '9');
}

int lrmlp__dataset_csv_from_mem(lrmlp_dataset **out, const char *text, size_t len,
                                const lrmlp_csv_options *opts)
{
    static const char fn[] = "lrmlp_dataset_load_csv";
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!text && len)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: text is NULL", fn);
    lrmlp_csv_options o;
    int rc0 = lrmlp__opts_read(&csv_opts_type, opts, &o, fn);
    if (rc0 != LRMLP_OK)
        return rc0;
    if (csv_bad_delim(o.delimiter))
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: delimiter 0x%02x is not usable", fn,
                               (unsigned)(unsigned char)o.delimiter);
    if (o.dtype != LRMLP_F32 && o.dtype != LRMLP_F64)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: dtype %d is not LRMLP_F32 or LRMLP_F64",
                               fn, (int)o.dtype);
    if (o.label_column < -1)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: label_column %ld is not >= -1", fn,
                               o.label_column);
    if (o.label_column >= 0 && o.n_targets != 0)
        return lrmlp__err(LRMLP_ERR_INVALID,
                               "%s: n_targets = %zu needs label_column = -1", fn, o.n_targets);
    const char delim = o.delimiter;

    /* Pass 1: rows and columns; every data line has the same field count. */
    csv_iter it = { text, text + len, 0 };
    const char *ls;
    size_t ll, n = 0, ncols = 0, first_line = 0;
    while (csv_next_line(&it, &ls, &ll)) {
        if ((it.line_no == 1 && o.has_header) || csv_blank(ls, ll, delim))
            continue;
        size_t f = 1;
        for (size_t i = 0; i < ll; i++)
            f += ls[i] == delim;
        if (ncols == 0) {
            ncols = f;
            first_line = it.line_no;
        } else if (f != ncols) {
            return lrmlp__err(LRMLP_ERR_FORMAT,
                                   "%s: line %zu has %zu fields, line %zu has %zu", fn,
                                   it.line_no, f, first_line, ncols);
        }
        n++;
    }
    if (n == 0)
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s: no data rows", fn);

    size_t d, nt = 0, label_col = SIZE_MAX;
    if (o.label_column >= 0) {
        if ((size_t)o.label_column >= ncols)
            return lrmlp__err(LRMLP_ERR_INVALID,
                                   "%s: label_column %ld, but the rows have %zu fields", fn,
                                   o.label_column, ncols);
        label_col = (size_t)o.label_column;
        d = ncols - 1;
    } else {
        nt = o.n_targets;
        if (nt >= ncols)
            return lrmlp__err(LRMLP_ERR_INVALID,
                                   "%s: n_targets = %zu leaves no feature in %zu fields", fn,
                                   nt, ncols);
        d = ncols - nt;
    }
    if (d == 0)
        return lrmlp__err(LRMLP_ERR_FORMAT, "%s: rows have no feature column", fn);

    int st = lrmlp__dataset_dtype_storage(o.dtype);
    size_t es = lrmlp__dataset_storage_size(st), nd, ndb, ntb = 0;
    if (!lrmlp__mul_ok(n, d, &nd) || !lrmlp__mul_ok(nd, es, &ndb) ||
        !lrmlp__mul_ok(n, nt, &ntb) || !lrmlp__mul_ok(ntb, es, &ntb))
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: %zu x %zu is too large", fn, n, ncols);

    lrmlp_dataset *ds = calloc(1, sizeof *ds);
    int32_t *lab = NULL;
    int rc = LRMLP_OK;
    if (!ds)
        return lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
    ds->n = n;
    ds->d = d;
    ds->storage = st;
    ds->dtype = o.dtype;
    ds->X = lrmlp__big_alloc(ndb, 0);
    if (nt) {
        ds->T = malloc(ntb);
        ds->n_targets = nt;
    }
    if (label_col != SIZE_MAX)
        lab = malloc(n * sizeof *lab);
    if (!ds->X || (nt && !ds->T) || (label_col != SIZE_MAX && !lab)) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory (%zu x %zu)", fn, n, ncols);
        goto fail;
    }

    /* Pass 2: the values. */
    it.p = text;
    it.line_no = 0;
    size_t row = 0, max_label = 0;
    while (csv_next_line(&it, &ls, &ll)) {
        if ((it.line_no == 1 && o.has_header) || csv_blank(ls, ll, delim))
            continue;
        const char *p = ls, *e = ls + ll;
        size_t fi = 0;
        for (size_t c = 0; c < ncols; c++) {
            const char *fe = memchr(p, delim, (size_t)(e - p));
            if (!fe)
                fe = e;
            const char *a = p, *b = fe;
            while (a < b && csv_is_space(*a, delim))
                a++;
            while (b > a && csv_is_space(b[-1], delim))
                b--;
            double v = 0.0;
            int pr = parse_number(a, (size_t)(b - a), &v);
            int tl = (int)((b - a) > 40 ? 40 : (b - a));
            if (pr == PN_NONFINITE || pr == PN_RANGE) {
                rc = lrmlp__err(LRMLP_ERR_NONFINITE,
                                     "%s: line %zu, column %zu: '%.*s' is not a finite number",
                                     fn, it.line_no, c + 1, tl, a);
                goto fail;
            }
            if (pr != PN_OK) {
                rc = lrmlp__err(LRMLP_ERR_FORMAT,
                                     "%s: line %zu, column %zu: '%.*s' is not a number", fn,
                                     it.line_no, c + 1, tl, a);
                goto fail;
            }
            if (c == label_col) {
                if (!(v >= 0.0 && v <= (double)(INT32_MAX - 1) && v == floor(v))) {
                    rc = lrmlp__err(LRMLP_ERR_FORMAT,
                                         "%s: line %zu, column %zu: label '%.*s' is not a "
                                         "non-negative integer",
                                         fn, it.line_no, c + 1, tl, a);
                    goto fail;
                }
                lab[row] = (int32_t)v;
                if ((size_t)lab[row] > max_label)
                    max_label = (size_t)lab[row];
            } else {
                void *dst;
                size_t k;
                if (nt && c >= ncols - nt) {
                    dst = ds->T;
                    k = row * nt + (c - (ncols - nt));
                } else {
                    dst = ds->X;
                    k = row * d + fi++;
                }
                if (st == ST_F32) {
                    float f = (float)v;
                    if (!isfinite(f)) {
                        rc = lrmlp__err(LRMLP_ERR_NONFINITE,
                                             "%s: line %zu, column %zu: '%.*s' overflows float",
                                             fn, it.line_no, c + 1, tl, a);
                        goto fail;
                    }
                    ((float *)dst)[k] = f;
                } else {
                    ((double *)dst)[k] = v;
                }
            }
            p = fe + 1;
        }
        row++;
    }
    if (lab && lrmlp__dataset_set_labels(ds, lab, NULL, max_label + 1) != LRMLP_OK) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    free(lab);
    *out = ds;
    return LRMLP_OK;
fail:
    free(lab);
    lrmlp_dataset_free(ds);
    return rc;
}

LRMLP_API int lrmlp_dataset_load_csv(lrmlp_dataset **out, const char *path,
                                     const lrmlp_csv_options *opts)
{
    static const char fn[] = "lrmlp_dataset_load_csv";
    if (!out)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: out is NULL", fn);
    *out = NULL;
    if (!path)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: path is NULL", fn);
    lrmlp_csv_options o;
    int rc0 = lrmlp__opts_read(&csv_opts_type, opts, &o, fn);
    if (rc0 != LRMLP_OK)
        return rc0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno_err(LRMLP_ERR_IO, fn, "cannot open", path);
    size_t cap = (size_t)1 << 16, len = 0, line_start = 0, line_no = 1;
    char *buf = malloc(cap);
    int rc = LRMLP_OK;
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        /* Text checks as the data arrives, so that a binary or endless input
         * fails at once instead of being read whole: no NUL bytes, and no
         * line longer than LRMLP_CSV_MAX_LINE bytes. */
        for (size_t i = len; i < len + got && rc == LRMLP_OK; i++) {
            if (buf[i] == '\0')
                rc = lrmlp__err(LRMLP_ERR_FORMAT, "%s: '%s' line %zu holds a NUL byte (offset "
                                "%zu): not a text file", fn, path, line_no, i);
            else if (buf[i] == '\n')
                line_start = i + 1, line_no++;
            else if (i - line_start >= LRMLP_CSV_MAX_LINE)
                rc = lrmlp__err(LRMLP_ERR_FORMAT, "%s: '%s' line %zu is longer than %d bytes",
                                fn, path, line_no, LRMLP_CSV_MAX_LINE);
        }
        len += got;
        if (rc != LRMLP_OK || len < cap)
            break;
        size_t ncap;
        char *nb = lrmlp__mul_ok(cap, 2, &ncap) ? realloc(buf, ncap) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap = ncap;
    }
    if (rc != LRMLP_OK)
        ;
    else if (!buf)
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory reading '%s'", fn, path);
    else if (ferror(f))
        rc = errno_err(LRMLP_ERR_IO, fn, "reading", path);
    else if (len == 0)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "%s: '%s' is empty", fn, path);
    else
        rc = lrmlp__dataset_csv_from_mem(out, buf, len, &o);
    fclose(f);
    free(buf);
    return rc;
}
