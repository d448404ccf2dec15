/* Precision templating, double instance: see real_f32.h. */
#ifdef REAL
#error "real_f64.h: a precision is already defined (missing real_undef.h)"
#endif

#define REAL double
#define REAL_IS_F32 0
#define REAL_DTYPE LRMLP_F64
#define SFX(name) name##_f64

/* CBLAS, precision-specific names (integers as lrmlp_blasint) */
#define GEMM cblas_dgemm
#define GEMV cblas_dgemv
#define AXPY cblas_daxpy
#define DOT cblas_ddot
#define NRM2 cblas_dnrm2
#define SCAL cblas_dscal

/* libm */
#define R_SQRT sqrt
#define R_EXP exp
#define R_EXPM1 expm1
#define R_LOG1P log1p
#define R_TANH tanh
#define R_FABS fabs
