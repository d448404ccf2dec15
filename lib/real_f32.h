/* Precision templating, float instance.
 *
 * Code written once for both precisions lives in a *_impl.h file that uses
 * only the names below and never defines or undefines them. Its includer
 * instantiates it once per precision, always in this form:
 *
 *     #include "real_f32.h"
 *     #include "x_impl.h"
 *     #include "real_undef.h"
 *     #include "real_f64.h"
 *     #include "x_impl.h"
 *     #include "real_undef.h"
 *
 * (CPython's Objects/stringlib uses the same trio.) real_undef.h removes
 * exactly what this file and real_f64.h define, so nothing leaks. */
#ifdef REAL
#error "real_f32.h: a precision is already defined (missing real_undef.h)"
#endif

#define REAL float
#define REAL_IS_F32 1
#define REAL_DTYPE LRMLP_F32
#define SFX(name) name##_f32

/* CBLAS, precision-specific names (integers as lrmlp_blasint) */
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define AXPY cblas_saxpy
#define DOT cblas_sdot
#define NRM2 cblas_snrm2
#define SCAL cblas_sscal

/* libm */
#define R_SQRT sqrtf
#define R_EXP expf
#define R_EXPM1 expm1f
#define R_LOG1P log1pf
#define R_TANH tanhf
#define R_FABS fabsf
