/* White-box tests of internal helpers (linked against the static library). */
#include "internal.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>

/* ---- versioned options (common.c) ----
 * A struct at version 2 whose second version added a field that fits in the
 * tail padding of version 1: the reader must take version 1's bytes only. */
typedef struct demo_options {
    unsigned int version;
    double a;         /* version 1 */
    int b;            /* version 1 */
    int c;            /* version 2 */
} demo_options;
typedef struct demo_options_v1 {
    unsigned int version;
    double a;
    int b;
} demo_options_v1;
#define DEMO_OPTIONS_INIT { 2, 1.5, 7, 9 }
LRMLP__OPTS_TYPE(demo_type, demo_options, 2, DEMO_OPTIONS_INIT,
                 LRMLP__OPTS_END(demo_options, b), LRMLP__OPTS_END(demo_options, c));

START_TEST(test_opts_versions)
{
    demo_options full;
    /* a version-1 caller: its struct ends after b (and its padding is junk) */
    unsigned char raw[sizeof(demo_options_v1)];
    memset(raw, 0xAB, sizeof raw);
    demo_options_v1 v1 = { 1, -2.0, 3 };
    memcpy(raw, &v1, LRMLP__OPTS_END(demo_options_v1, b));
    ck_assert_int_eq(lrmlp__opts_read(&demo_type, raw, &full, "f"), LRMLP_OK);
    ck_assert_uint_eq(full.version, 1);
    ck_assert(full.a == -2.0 && full.b == 3);
    ck_assert_int_eq(full.c, 9); /* the default, not the padding bytes */

    demo_options v2 = { 2, 4.0, 5, 6 };
    ck_assert_int_eq(lrmlp__opts_read(&demo_type, &v2, &full, "f"), LRMLP_OK);
    ck_assert(full.a == 4.0 && full.b == 5 && full.c == 6);

    ck_assert_int_eq(lrmlp__opts_read(&demo_type, NULL, &full, "f"), LRMLP_OK);
    ck_assert(full.version == 2 && full.a == 1.5 && full.b == 7 && full.c == 9);

    for (unsigned bad = 0; bad < 4; bad += 3) {
        demo_options x = DEMO_OPTIONS_INIT;
        x.version = bad;
        ck_assert_int_eq(lrmlp__opts_read(&demo_type, &x, &full, "caller"), LRMLP_ERR_VERSION);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "caller: demo_options version"));
        ck_assert_int_eq(lrmlp__opts_init(&demo_type, &x, bad), LRMLP_ERR_VERSION);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "demo_options_init"));
    }

    /* init at version 1 writes version 1's bytes only */
    memset(raw, 0xCD, sizeof raw);

    ck_assert_int_eq(lrmlp__opts_init(&demo_type, raw, 1), LRMLP_OK);
    memcpy(&v1, raw, sizeof v1);
    ck_assert(v1.version == 1 && v1.a == 1.5 && v1.b == 7);
    ck_assert_uint_eq(raw[sizeof raw - 1], 0xCD);

    demo_options d;
    ck_assert_int_eq(lrmlp__opts_init(&demo_type, &d, 2), LRMLP_OK);
    ck_assert(d.version == 2 && d.c == 9);
    ck_assert_int_eq(lrmlp__opts_init(&demo_type, NULL, 2), LRMLP_ERR_INVALID);
}
END_TEST

/* ---- BLAS integers (internal.h) ---- */
START_TEST(test_blas_int)
{
    ck_assert(lrmlp__blas_int_ok(0));
    ck_assert(lrmlp__blas_int_ok((size_t)LRMLP_BLASINT_MAX));
#ifndef LRMLP_BLAS_ILP64
    ck_assert_uint_eq(sizeof(lrmlp_blasint), sizeof(int));
    ck_assert(!lrmlp__blas_int_ok((size_t)INT_MAX + 1));
    ck_assert(!lrmlp__blas_int_ok(SIZE_MAX));
#endif
}
END_TEST

/* ---- helper threads (pool.c) ----
 * Every tile of every job runs exactly once, on 3 threads, also across the
 * wrap of the pool's 32-bit job generation. */
enum { POOL_TILES = 37 };
static int pool_count[POOL_TILES];
static pthread_t pool_caller;
static int pool_by_caller; /* tiles of the current job the caller ran */

static void pool_tile(void *ctx, size_t t)
{
    (void)ctx;
    pool_count[t]++;
    if (pthread_equal(pthread_self(), pool_caller))
        pool_by_caller++;
}

START_TEST(test_pool_jobs)
{
    lrmlp__pool *pool = NULL;
    int expect = 0, wraps_joined = 0;
    pool_caller = pthread_self();
    for (int j = 0; j < 300; j++) {
        /* every tenth job is the one at which the generation wraps to 0 */
        if (j % 10 == 9)
            lrmlp__pool_set_generation(pool, 0xffffffffu);
        pool_by_caller = 0;
        lrmlp__pool_run(&pool, 3, POOL_TILES, pool_tile, NULL);
        wraps_joined += j % 10 == 9 && pool_by_caller > 0;
        expect++;
        for (int t = 0; t < POOL_TILES; t++)
            ck_assert_msg(pool_count[t] == expect, "job %d: tile %d ran %d times, want %d", j, t,
                          pool_count[t], expect);
    }
    /* the caller takes part in the wrapping job too (it claims tiles at
     * once, the helpers poll), not just waits for the helpers to do it */
    ck_assert_msg(wraps_joined >= 1, "the caller ran no tile of the 30 wrapping jobs");
    ck_assert_ptr_nonnull(pool);
    lrmlp__pool_run(&pool, 1, POOL_TILES, pool_tile, NULL); /* one thread: the caller */
    for (int t = 0; t < POOL_TILES; t++)
        ck_assert_int_eq(pool_count[t], expect + 1);
    lrmlp__pool_free(pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal");
    TCase *tc = tcase_create("internal");
    tcase_add_test(tc, test_opts_versions);
    tcase_add_test(tc, test_blas_int);
    suite_add_tcase(s, tc);
    /* its own case: suite 'threads' runs it alone, also under ThreadSanitizer */
    TCase *tp = tcase_create("threads");
    tcase_add_test(tp, test_pool_jobs);
    suite_add_tcase(s, tp);
    return tu_run_suite(s);
}
