/* Ends one precision instance: undefines exactly what real_f32.h and
 * real_f64.h define. */
#undef REAL
#undef REAL_IS_F32
#undef REAL_DTYPE
#undef SFX
#undef GEMM
#undef GEMV
#undef AXPY
#undef DOT
#undef NRM2
#undef SCAL
#undef R_SQRT
#undef R_EXP
#undef R_EXPM1
#undef R_LOG1P
#undef R_TANH
#undef R_FABS
