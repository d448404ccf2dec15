/* Small helpers shared by the Check programs. */
#ifndef LRMLP_TESTUTIL_H
#define LRMLP_TESTUTIL_H

#include <check.h>
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

#endif
