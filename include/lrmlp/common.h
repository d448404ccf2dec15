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

/* Status codes, one table: X(NAME, value, description). LRMLP_OK is zero,
 * every error is negative, and positive values are never returned as
 * errors. The enum below and lrmlp_strerror() are generated from it, so a
 * new code needs one line here (libuv's UV_ERRNO_MAP does the same). */
#define LRMLP_STATUS_MAP(X)                                                          \
    X(OK, 0, "success")                                                              \
    /* an allocation failed */                                                       \
    X(ERR_NOMEM, -1, "out of memory")                                                \
    /* bad argument: NULL, out of range, bad option */                               \
    X(ERR_INVALID, -2, "invalid argument")                                           \
    /* dimensions do not match */                                                    \
    X(ERR_SHAPE, -3, "shape mismatch")                                               \
    /* data precision does not match the handle's */                                 \
    X(ERR_DTYPE, -4, "precision (dtype) mismatch")                                   \
    /* NaN or Inf in the input data */                                               \
    X(ERR_NONFINITE, -5, "NaN or infinity in input")                                 \
    /* loss, gradient or update became NaN/Inf; weights keep the last good step */   \
    X(ERR_DIVERGED, -6, "training diverged (non-finite loss or gradient)")           \
    /* open/read/write/rename failed (the message has errno's text) */               \
    X(ERR_IO, -7, "input/output error")                                              \
    /* a file or buffer is malformed or truncated */                                 \
    X(ERR_FORMAT, -8, "malformed or truncated data")                                 \
    /* a checksum in a file does not match */                                        \
    X(ERR_CHECKSUM, -9, "checksum mismatch")                                         \
    /* a file or options struct is from an unknown version */                        \
    X(ERR_VERSION, -10, "unsupported version")                                       \
    /* a LAPACK routine failed (e.g. SVD did not converge) */                        \
    X(ERR_LINALG, -11, "linear algebra routine failed")                              \
    /* a user callback asked to stop */                                              \
    X(ERR_STOPPED, -12, "stopped by callback")                                       \
    /* the request is valid but not supported by this build */                       \
    X(ERR_UNSUPPORTED, -13, "not supported")                                         \
    /* the handle is not in a state that allows the call */                          \
    X(ERR_STATE, -14, "invalid state for this call")

typedef enum lrmlp_status {
#define LRMLP_STATUS_ENUM_(name, value, text) LRMLP_##name = value,
    LRMLP_STATUS_MAP(LRMLP_STATUS_ENUM_)
#undef LRMLP_STATUS_ENUM_
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

/* Build and run-time facts: a human readable line such as
 * "liblrmlp 0.1.0; blas=OpenBLAS core=SkylakeX threads=2; dtypes=f32,f64"
 * ("blas=CBLAS core=unknown threads=1" when built against a CBLAS other
 * than OpenBLAS). The BLAS part is read at each call (OpenBLAS reports the kernel it picked
 * and its current thread count); the library never changes either. The
 * string is written into buf (at most len bytes, NUL-terminated). Returns the
 * length the full string needs, excluding the NUL. Thread-safe. */
LRMLP_API size_t lrmlp_build_info(char *buf, size_t len);

/* Name of the BLAS kernel in use (e.g. "Haswell"), or "unknown". Static. */
LRMLP_API const char *lrmlp_blas_core(void);
/* Number of threads the BLAS library uses now (read-only query). */
LRMLP_API int lrmlp_blas_threads(void);

/* Errors: one thread-local last error, as errno or libgit2's git_error_last.
 *
 * Every call that fails returns a negative lrmlp_status and records that
 * status and a message describing the problem in the calling thread's
 * last-error slot. Successful calls leave the slot as it was, so read it
 * right after the failing call. Handles keep no messages: a function that
 * takes a const handle never writes it, and threads that share a handle for
 * const calls each see their own errors.
 *
 * lrmlp_last_errmsg: the message of the last failed call in this thread,
 * "" when none failed or after lrmlp_error_clear. The pointer stays valid
 * until the next failing library call in this thread. Never NULL.
 * lrmlp_last_status: that call's status, LRMLP_OK when none failed.
 * lrmlp_error_clear: resets both. All three are thread-safe. */
LRMLP_API const char *lrmlp_last_errmsg(void);
LRMLP_API int lrmlp_last_status(void);
LRMLP_API void lrmlp_error_clear(void);
/* Records status and a copy of msg (truncated to 255 bytes; NULL is "") as
 * this thread's last error and returns status. For add-ons and callbacks
 * that report through the same channel (a step callback that stops
 * training can say why). Thread-safe. */
LRMLP_API int lrmlp_error_set(int status, const char *msg);

/* Frees memory the library handed to the caller (e.g. lrmlp_model_save_mem).
 * NULL is a no-op. */
LRMLP_API void lrmlp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
