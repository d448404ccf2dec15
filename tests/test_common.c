/* Versions, status strings, build information. */
#include "testutil.h"

#include <lrmlp.h>
#include <string.h>

START_TEST(test_versions)
{
    ck_assert_int_eq(lrmlp_version_number(), LRMLP_VERSION_NUMBER);
    ck_assert_str_eq(lrmlp_version_string(), LRMLP_VERSION_STRING);
#ifdef LRMLP_PROJECT_VERSION
    ck_assert_str_eq(LRMLP_VERSION_STRING, LRMLP_PROJECT_VERSION);
#endif
}
END_TEST

START_TEST(test_strerror)
{
    const char *seen[32];
    int n = 0;
    for (int s = 0; s >= LRMLP_ERR_STATE; s--) {
        const char *m = lrmlp_strerror(s);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_ne(m, "unknown status");
        for (int j = 0; j < n; j++)
            ck_assert_str_ne(m, seen[j]);
        seen[n++] = m;
    }
    ck_assert_str_eq(lrmlp_strerror(12345), "unknown status");
}
END_TEST

START_TEST(test_build_info)
{
    char buf[512];
    size_t need = lrmlp_build_info(buf, sizeof buf);
    ck_assert_uint_eq(need, strlen(buf));
    ck_assert(strstr(buf, LRMLP_VERSION_STRING) != NULL);
    ck_assert(strstr(buf, lrmlp_blas_core()) != NULL);
    char small[8];
    ck_assert_uint_eq(lrmlp_build_info(small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_uint_eq(lrmlp_build_info(NULL, 0), need);
    ck_assert_int_ge(lrmlp_blas_threads(), 1);
    lrmlp_free(NULL);
}
END_TEST

START_TEST(test_options_init)
{
    lrmlp_net_options a, b = LRMLP_NET_OPTIONS_INIT;
    ck_assert_int_eq(lrmlp_net_options_init(&a, LRMLP_NET_OPTIONS_VERSION), LRMLP_OK);
    ck_assert(a.version == b.version && a.dtype == b.dtype && a.init == b.init &&
              a.hidden_activation == b.hidden_activation && a.seed == b.seed &&
              a.init_scale == b.init_scale && a.bias == b.bias);
    lrmlp_optim_options oa, ob = LRMLP_OPTIM_OPTIONS_INIT;
    ck_assert_int_eq(lrmlp_optim_options_init(&oa, LRMLP_OPTIM_OPTIONS_VERSION), LRMLP_OK);
    ck_assert(oa.kind == ob.kind && oa.lr == ob.lr && oa.beta2 == ob.beta2 &&
              oa.ns_steps == ob.ns_steps && oa.gamma == ob.gamma);
    lrmlp_train_options ta, tb = LRMLP_TRAIN_OPTIONS_INIT;
    ck_assert_int_eq(lrmlp_train_options_init(&ta, LRMLP_TRAIN_OPTIONS_VERSION), LRMLP_OK);
    ck_assert(ta.loss == tb.loss && ta.batch_size == tb.batch_size && ta.shuffle == tb.shuffle);
    ck_assert_int_eq(lrmlp_train_options_init(&ta, 0), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_optim_options_init(&oa, 77), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_net_options_init(NULL, LRMLP_NET_OPTIONS_VERSION), LRMLP_ERR_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("common");
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_build_info);
    tcase_add_test(tc, test_options_init);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
