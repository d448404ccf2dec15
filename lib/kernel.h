/* LRMLP_KERNEL(name, (params), (args)) { body }: a void loop that is also
 * compiled for AVX2+FMA and AVX-512+FMA on x86-64 (GCC), the variant being
 * picked at each call from the CPU's features; the library itself stays
 * baseline x86-64. GCC's target_clones cannot name AVX2 and FMA together,
 * and polynomial kernels spend half their time in separate multiplies and
 * adds without FMA; lib/meson.build enables -ffp-contract=fast, which on
 * x86-64 only has an effect inside these variants. Elsewhere (other
 * compilers and CPUs, sanitizer builds) the macro declares a plain static
 * function. args forwards params: LRMLP_KERNEL(f, (float *x, size_t n),
 * (x, n)). For use in one .c file each (the functions are static). */
#ifndef LRMLP_KERNEL_H
#define LRMLP_KERNEL_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
/* 2: AVX-512F + FMA, 1: AVX2 + FMA, 0: neither. __builtin_cpu_init returns
 * at once once done; calling it here keeps this right even when a caller's
 * constructor reaches the library before libgcc's own constructor ran. */
#define LRMLP_KERNEL_X86 1
static inline int lrmlp__cpu_level(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
        return __builtin_cpu_supports("avx512f") ? 2 : 1;
    return 0;
}
#define LRMLP_KERNEL_(name, params, args)                                        \
    static inline __attribute__((always_inline)) void name##_body params;       \
    __attribute__((target("avx512f,avx2,fma"))) static void name##_x512 params \
    {                                                                           \
        name##_body args;                                                       \
    }                                                                           \
    __attribute__((target("avx2,fma"))) static void name##_x256 params         \
    {                                                                           \
        name##_body args;                                                       \
    }                                                                           \
    static void name params                                                     \
    {                                                                           \
        int level = lrmlp__cpu_level();                                         \
        if (level == 2)                                                         \
            name##_x512 args;                                                   \
        else if (level == 1)                                                    \
            name##_x256 args;                                                   \
        else                                                                    \
            name##_body args;                                                   \
    }                                                                           \
    static inline __attribute__((always_inline)) void name##_body params
#define LRMLP_KERNEL(name, params, args) LRMLP_KERNEL_(name, params, args)
#else
#define LRMLP_KERNEL(name, params, args) static void name params
#endif

#endif
