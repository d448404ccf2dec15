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

LRMLP_API const char *lrmlp_strerror(int status)
{
    switch (status) {
    case LRMLP_OK: return "success";
    case LRMLP_ERR_NOMEM: return "out of memory";
    case LRMLP_ERR_INVALID: return "invalid argument";
    case LRMLP_ERR_SHAPE: return "shape mismatch";
    case LRMLP_ERR_DTYPE: return "precision (dtype) mismatch";
    case LRMLP_ERR_NONFINITE: return "NaN or infinity in input";
    case LRMLP_ERR_DIVERGED: return "training diverged (non-finite loss or gradient)";
    case LRMLP_ERR_IO: return "input/output error";
    case LRMLP_ERR_FORMAT: return "malformed or truncated data";
    case LRMLP_ERR_CHECKSUM: return "checksum mismatch";
    case LRMLP_ERR_VERSION: return "unsupported version";
    case LRMLP_ERR_LINALG: return "linear algebra routine failed";
    case LRMLP_ERR_STOPPED: return "stopped by callback";
    case LRMLP_ERR_UNSUPPORTED: return "not supported";
    case LRMLP_ERR_STATE: return "invalid state for this call";
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

LRMLP_API void lrmlp_free(void *p) { free(p); }

int lrmlp__err(char *buf, int status, const char *fmt, ...)
{
    if (buf) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, LRMLP_ERRMSG_LEN, fmt, ap);
        va_end(ap);
    }
    return status;
}

int lrmlp__last_err(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_errmsg, sizeof last_errmsg, fmt, ap);
    va_end(ap);
    return status;
}

int lrmlp__last_err_copy(int status, const char *msg)
{
    snprintf(last_errmsg, sizeof last_errmsg, "%s", msg ? msg : "");
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
