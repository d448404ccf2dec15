/* GEMM floor probe for the benchmarks (not part of the library).
 *
 * A program linked with gemm_floor.c defines cblas_sgemm and cblas_dgemm
 * itself; the dynamic linker resolves liblrmlp's calls to these, which
 * forward to the BLAS library's functions (dlsym RTLD_NEXT) and, between
 * gemm_floor_record_start and _stop, record every call: precision, order,
 * transposes, M, N, K, alpha, beta, leading dimensions, and which operand
 * buffer each pointer refers to. gemm_floor_replay then issues exactly that
 * sequence again with nothing else around it, on buffers laid out like the
 * recorded ones (one replay buffer per distinct recorded pointer, so data
 * reuse between calls is the same), and returns the seconds it took: the
 * time the measured job's GEMMs need alone. */
#ifndef GEMM_FLOOR_H
#define GEMM_FLOOR_H

#include <stddef.h>

void gemm_floor_record_start(void);
void gemm_floor_record_stop(void);
/* Number of calls recorded and their floating-point operations. */
size_t gemm_floor_calls(double *flops);
/* Wall time the recorded calls took inside the job itself (the GEMMs as
 * the job ran them, with its own cache state around them); the job's time
 * minus this is what it spent outside its GEMMs. */
double gemm_floor_in_job_seconds(void);
/* Replays the recorded calls `reps` times; returns the fastest pass in
 * seconds, or a negative value when memory for the buffers ran out. */
double gemm_floor_replay(int reps);
/* Forgets the recording. */
void gemm_floor_reset(void);

#endif
