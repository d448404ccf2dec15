/* Small helpers shared by the Check programs. */
#ifndef LRMLP_TESTUTIL_H
#define LRMLP_TESTUTIL_H

#include <check.h>
#include <lrmlp.h>
#include <stddef.h>
#include <stdint.h>

/* Runs one suite with a normal-verbosity runner, prints Check's summary and
 * returns the process exit status (0 when every test passed). */
int tu_run_suite(Suite *s);

/* Path of a scratch file unique to this process: dir/name.pid under
 * $TMPDIR (or /tmp). Returned string is static per call slot (8 slots). */
const char *tu_tmp_path(const char *name);

/* Writes len bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* Deterministic test data: xorshift-based uniform in [-1, 1). */
double tu_rand(uint64_t *state);

/* calloc of n doubles (at least one), asserted non-NULL. */
double *tu_dmalloc(size_t n);

/* A bias-free dense net: L layers of widths w[0..L], hidden activation hid,
 * identity output, orthogonal init scaled by eps; creation is asserted. */
lrmlp_net *tu_make_net(lrmlp_dtype dt, size_t L, const size_t *w, lrmlp_activation hid,
                       double eps, uint64_t seed);

/* A dense net of L layers of widths w[0..L], per-layer activations acts
 * (NULL: the defaults), biases when bias is set, the default initializer
 * seeded with seed; creation is asserted. */
lrmlp_net *tu_net(lrmlp_dtype dt, size_t L, const size_t *w, const lrmlp_activation *acts,
                  int bias, uint64_t seed);

/* A low-rank net (lrmlp_lowrank_create) of L layers d-m-...-m-K, rank r,
 * hidden activation act; creation is asserted. */
lrmlp_net *tu_make_lowrank(lrmlp_dtype dt, size_t L, size_t d, size_t m, size_t K, size_t r,
                           lrmlp_activation act, uint64_t seed);

#endif
