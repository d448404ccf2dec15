/* liblrmlp: common definitions (export macro, versions, status codes, precision).
 *
 * Every other public header includes this one. All functions here are
 * thread-safe: they touch no mutable state. */
#ifndef LRMLP_COMMON_H
#define LRMLP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LRMLP_BUILDING) && defined(__GNUC__)
#define LRMLP_API __attribute__((visibility("default")))
#else
#define LRMLP_API
#endif

/* Compile-time version. Compare with lrmlp_version_number() at run time to
 * detect a program built against other headers than the library it loads. */
#define LRMLP_VERSION_MAJOR 0
#define LRMLP_VERSION_MINOR 1
#define LRMLP_VERSION_PATCH 0
#define LRMLP_VERSION_STRING "0.1.0"
#define LRMLP_VERSION_NUMBER \
    (LRMLP_VERSION_MAJOR * 10000 + LRMLP_VERSION_MINOR * 100 + LRMLP_VERSION_PATCH)

/* Status codes. LRMLP_OK is zero, every error is negative, and positive values
 * are never returned as errors. Each handle also keeps a message describing
 * its last error (lrmlp_net_errmsg() and friends). */
typedef enum lrmlp_status {
    LRMLP_OK = 0,
    LRMLP_ERR_NOMEM = -1,       /* an allocation failed */
    LRMLP_ERR_INVALID = -2,     /* bad argument: NULL, out of range, bad option */
    LRMLP_ERR_SHAPE = -3,       /* dimensions do not match */
    LRMLP_ERR_DTYPE = -4,       /* data precision does not match the handle's */
    LRMLP_ERR_NONFINITE = -5,   /* NaN or Inf in the input data */
    LRMLP_ERR_DIVERGED = -6,    /* loss or gradient became NaN/Inf; weights untouched */
    LRMLP_ERR_IO = -7,          /* open/read/write/rename failed (see errno in message) */
    LRMLP_ERR_FORMAT = -8,      /* a file or buffer is malformed or truncated */
    LRMLP_ERR_CHECKSUM = -9,    /* a checksum in a file does not match */
    LRMLP_ERR_VERSION = -10,    /* a file or options struct is from an unknown version */
    LRMLP_ERR_LINALG = -11,     /* a LAPACK routine failed (e.g. SVD did not converge) */
    LRMLP_ERR_STOPPED = -12,    /* a user callback asked to stop */
    LRMLP_ERR_UNSUPPORTED = -13,/* the request is valid but not supported by this build */
    LRMLP_ERR_STATE = -14       /* the handle is not in a state that allows the call */
} lrmlp_status;

/* Floating-point precision of a handle. */
typedef enum lrmlp_dtype {
    LRMLP_F32 = 1,
    LRMLP_F64 = 2
} lrmlp_dtype;

/* Static English description of a status code; never NULL. */
LRMLP_API const char *lrmlp_strerror(int status);

/* Run-time version: LRMLP_VERSION_NUMBER and LRMLP_VERSION_STRING of the
 * library actually loaded. */
LRMLP_API int lrmlp_version_number(void);
LRMLP_API const char *lrmlp_version_string(void);

/* Build and run-time facts: a static, human readable line such as
 * "liblrmlp 0.1.0; blas=OpenBLAS core=Cooperlake threads=2; f32 f64".
 * The BLAS part is read at each call (OpenBLAS reports the kernel it picked
 * and its current thread count); the library never changes either. The
 * string is written into buf (at most len bytes, NUL-terminated). Returns the
 * length the full string needs, excluding the NUL. Thread-safe. */
LRMLP_API size_t lrmlp_build_info(char *buf, size_t len);

/* Name of the BLAS kernel in use (e.g. "Haswell"), or "unknown". Static. */
LRMLP_API const char *lrmlp_blas_core(void);
/* Number of threads the BLAS library uses now (read-only query). */
LRMLP_API int lrmlp_blas_threads(void);

/* Message of the last failed call in this thread that had no handle to hold
 * it (creating, cloning or loading a handle). Thread-local, like errno. */
LRMLP_API const char *lrmlp_last_errmsg(void);

/* Frees memory the library handed to the caller (e.g. lrmlp_model_save_mem).
 * NULL is a no-op. */
LRMLP_API void lrmlp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
