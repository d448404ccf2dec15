/* Status strings, versions, build information, error-message helpers. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LRMLP_HAVE_OPENBLAS_INFO
/* Declared by OpenBLAS's cblas.h; repeated so this file needs no BLAS header. */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
#endif

static _Thread_local char last_errmsg[LRMLP_ERRMSG_LEN];
static _Thread_local int last_status;

LRMLP_API const char *lrmlp_strerror(int status)
{
    switch (status) {
#define STATUS_TEXT_(name, value, text) \
    case LRMLP_##name: return text;
        LRMLP_STATUS_MAP(STATUS_TEXT_)
#undef STATUS_TEXT_
    default: return "unknown status";
    }
}

LRMLP_API int lrmlp_version_number(void) { return LRMLP_VERSION_NUMBER; }
LRMLP_API const char *lrmlp_version_string(void) { return LRMLP_VERSION_STRING; }

LRMLP_API const char *lrmlp_blas_core(void)
{
#ifdef LRMLP_HAVE_OPENBLAS_INFO
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
#else
    return "unknown";
#endif
}

LRMLP_API int lrmlp_blas_threads(void)
{
#ifdef LRMLP_HAVE_OPENBLAS_INFO
    return openblas_get_num_threads();
#else
    return 1;
#endif
}

LRMLP_API size_t lrmlp_build_info(char *buf, size_t len)
{
    char tmp[256];
#ifdef LRMLP_HAVE_OPENBLAS_INFO
    const char *blas = "OpenBLAS";
#else
    const char *blas = "CBLAS";
#endif
    int n = snprintf(tmp, sizeof tmp, "liblrmlp %s; blas=%s core=%s threads=%d; dtypes=f32,f64",
                     LRMLP_VERSION_STRING, blas, lrmlp_blas_core(), lrmlp_blas_threads());
    if (n < 0)
        n = 0;
    if (buf && len) {
        size_t c = (size_t)n < len - 1 ? (size_t)n : len - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return (size_t)n;
}

LRMLP_API const char *lrmlp_last_errmsg(void) { return last_errmsg; }
LRMLP_API int lrmlp_last_status(void) { return last_status; }

LRMLP_API int lrmlp_error_set(int status, const char *msg)
{
    return lrmlp__err(status, "%s", msg ? msg : "");
}

LRMLP_API void lrmlp_error_clear(void)
{
    last_errmsg[0] = '\0';
    last_status = LRMLP_OK;
}

LRMLP_API void lrmlp_free(void *p) { free(p); }

int lrmlp__err(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_errmsg, sizeof last_errmsg, fmt, ap);
    va_end(ap);
    last_status = status;
    return status;
}

int lrmlp__err_prefix(int status, const char *fmt, ...)
{
    char prev[LRMLP_ERRMSG_LEN];
    memcpy(prev, last_errmsg, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_errmsg, sizeof last_errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_errmsg)
        snprintf(last_errmsg + n, sizeof last_errmsg - (size_t)n, "%s", prev);
    last_status = status;
    return status;
}

int lrmlp__mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int lrmlp__add_ok(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

size_t lrmlp__dtype_size(lrmlp_dtype dt)
{
    return dt == LRMLP_F64 ? sizeof(double) : dt == LRMLP_F32 ? sizeof(float) : 0;
}

static int opts_version_ok(const lrmlp__opts_type *t, unsigned int v, const char *fn)
{
    if (v >= 1 && v <= t->current)
        return LRMLP_OK;
    return lrmlp__err(LRMLP_ERR_VERSION,
                      "%s: %s version %u is unknown (this library reads versions 1 to %u)", fn,
                      t->name, v, t->current);
}

int lrmlp__opts_init(const lrmlp__opts_type *t, void *opts, unsigned int version)
{
    char fn[64];
    snprintf(fn, sizeof fn, "%s_init", t->name);
    if (!opts)
        return lrmlp__err(LRMLP_ERR_INVALID, "%s: opts is NULL", fn);
    int rc = opts_version_ok(t, version, fn);
    if (rc != LRMLP_OK)
        return rc;
    memcpy(opts, t->defaults, t->sizes[version - 1]);
    memcpy(opts, &version, sizeof version);
    return LRMLP_OK;
}

int lrmlp__opts_read(const lrmlp__opts_type *t, const void *opts, void *full, const char *fn)
{
    memcpy(full, t->defaults, t->size);
    if (!opts)
        return LRMLP_OK;
    unsigned int v;
    memcpy(&v, opts, sizeof v);
    int rc = opts_version_ok(t, v, fn);
    if (rc != LRMLP_OK)
        return rc;
    memcpy(full, opts, t->sizes[v - 1]);
    return LRMLP_OK;
}

const char *lrmlp__enum_name(const char *const *names, size_t n, int value)
{
    return value >= 0 && (size_t)value < n ? names[value] : NULL;
}

/* ASCII only, whatever the locale. */
static int name_char(char c)
{
    return c == '-' ? '_' : c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

static int name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = name_char(*a), cb = name_char(*b);
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
    }
}

int lrmlp__enum_from_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (names[i] && name_eq(name, names[i]))
            return (int)i;
    return -1;
}
