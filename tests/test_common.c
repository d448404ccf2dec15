/* Versions, status strings, build information. */
#include "testutil.h"

#include <lrmlp.h>
#include <pthread.h>
#include <stdio.h>
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

/* The thread-local last error: a failure in one thread is invisible in
 * another, successful calls do not clear it, and messages name the problem. */
static void *fail_in_thread(void *arg)
{
    (void)arg;
    lrmlp_error_clear();
    ck_assert_int_eq(lrmlp_net_create(NULL, NULL), LRMLP_ERR_INVALID);
    static char copy[256];
    snprintf(copy, sizeof copy, "%s", lrmlp_last_errmsg());
    return copy;
}

START_TEST(test_last_error)
{
    lrmlp_error_clear();
    ck_assert_str_eq(lrmlp_last_errmsg(), "");
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_OK);
    pthread_t th;
    void *res = NULL;
    ck_assert_int_eq(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(th, &res), 0);
    ck_assert(strlen((const char *)res) > 0);
    ck_assert_str_eq(lrmlp_last_errmsg(), "");        /* the other thread's error */
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_OK);

    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    ck_assert_int_eq(lrmlp_net_options_init(&no, 77), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_ERR_VERSION);
    ck_assert(strstr(lrmlp_last_errmsg(), "77") != NULL);
    ck_assert_int_eq(lrmlp_net_options_init(&no, LRMLP_NET_OPTIONS_VERSION), LRMLP_OK);
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_ERR_VERSION); /* success leaves it */

    ck_assert_int_eq(lrmlp_error_set(LRMLP_ERR_STOPPED, "stopped by the user"), LRMLP_ERR_STOPPED);
    ck_assert_str_eq(lrmlp_last_errmsg(), "stopped by the user");
    ck_assert_int_eq(lrmlp_last_status(), LRMLP_ERR_STOPPED);
    char longmsg[600];
    memset(longmsg, 'x', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    lrmlp_error_set(LRMLP_ERR_IO, longmsg);
    ck_assert_uint_eq(strlen(lrmlp_last_errmsg()), 255);
    lrmlp_error_set(LRMLP_ERR_IO, NULL);
    ck_assert_str_eq(lrmlp_last_errmsg(), "");
    lrmlp_error_clear();
}
END_TEST

/* Every failing call leaves a message, including those without a handle. */
#define FAILS(call)                                                                      \
    do {                                                                                 \
        lrmlp_error_clear();                                                             \
        int rc_ = (call);                                                                \
        ck_assert_msg(rc_ < 0, "%s returned %d", #call, rc_);                           \
        ck_assert_msg(lrmlp_last_status() == rc_ && lrmlp_last_errmsg()[0] != '\0',      \
                      "%s: status %d, no message", #call, rc_);                          \
    } while (0)

START_TEST(test_every_failure_has_a_message)
{
    FAILS(lrmlp_net_options_init(NULL, LRMLP_NET_OPTIONS_VERSION));
    FAILS(lrmlp_optim_options_init(NULL, LRMLP_OPTIM_OPTIONS_VERSION));
    FAILS(lrmlp_train_options_init(NULL, LRMLP_TRAIN_OPTIONS_VERSION));
    FAILS(lrmlp_lowrank_options_init(NULL, LRMLP_LOWRANK_OPTIONS_VERSION));
    FAILS(lrmlp_subspace_options_init(NULL, LRMLP_SUBSPACE_OPTIONS_VERSION));
    FAILS(lrmlp_tracker_options_init(NULL, LRMLP_TRACKER_OPTIONS_VERSION));
    FAILS(lrmlp_whiten_options_init(NULL, LRMLP_WHITEN_OPTIONS_VERSION));
    FAILS(lrmlp_csv_options_init(NULL, LRMLP_CSV_OPTIONS_VERSION));
    lrmlp_train_options to;
    lrmlp_lowrank_options lo;
    lrmlp_subspace_options so;
    lrmlp_tracker_options tro;
    FAILS(lrmlp_train_options_init(&to, 999));
    FAILS(lrmlp_lowrank_options_init(&lo, 999));
    FAILS(lrmlp_subspace_options_init(&so, 999));
    FAILS(lrmlp_tracker_options_init(&tro, 999));
    lrmlp_activation a;
    double y;
    FAILS(lrmlp_activation_from_name(NULL, &a));
    FAILS(lrmlp_activation_from_name("no-such-activation", &a));
    FAILS(lrmlp_activation_eval((lrmlp_activation)-1, 0.0, &y, NULL));
    size_t idx, w, b;
    FAILS(lrmlp_lowrank_layer(NULL, LRMLP_FACTOR_V, 0, &idx));
    FAILS(lrmlp_lowrank_init_from_dense(NULL, NULL, NULL, 0.1));
    FAILS(lrmlp_lowrank_init_random(NULL, NULL, 0.1));
    FAILS(lrmlp_net_init_layer(NULL, 0, LRMLP_INIT_GAUSSIAN, 1.0));
    FAILS(lrmlp_net_layer_offsets(NULL, 0, &w, &b));
    FAILS(lrmlp_net_seed(NULL, 1));
    FAILS(lrmlp_net_set_frozen(NULL, 0, 1));
    float xf = 0, yf;
    FAILS(lrmlp_net_predict_f32(NULL, &xf, 1, &yf));
    FAILS(lrmlp_net_get_weights_f32(NULL, 0, &yf));
    lrmlp_optim_options oo;
    FAILS(lrmlp_optim_get_options(NULL, &oo));
    FAILS(lrmlp_optim_step(NULL, NULL));
    FAILS(lrmlp_optim_set_layer_lr_scale(NULL, 0, 1.0));
    size_t si, so_, sp;
    int hu;
    double sv[4], fr[4];
    FAILS(lrmlp_subspace_layer_dims(NULL, 0, &si, &so_, &sp, &hu));
    FAILS(lrmlp_subspace_get_basis(NULL, 0, LRMLP_SUBSPACE_V1, sv));
    FAILS(lrmlp_subspace_singular_values(NULL, sv));
    FAILS(lrmlp_subspace_singular_vectors(NULL, sv, sv));
    FAILS(lrmlp_subspace_u2_deviation(NULL, 0, sv));
    FAILS(lrmlp_subspace_block_fractions(NULL, 0, sv, sv, fr));
    FAILS(lrmlp_tracker_record(NULL, NULL, 0));
    FAILS(lrmlp_tracker_flush(NULL));
    FAILS(lrmlp_train_epoch(NULL, NULL, NULL, NULL, NULL));
    lrmlp_eval_result er;
    FAILS(lrmlp_evaluate(NULL, NULL, LRMLP_LOSS_SSE, 1, &er));
    /* lrmlp_basis_rotate: NULLs, and r > n (no n x r orthonormal basis) */
    double B[6] = {1, 0, 0, 1, 0, 0}, P[6] = {0}, O[6];
    FAILS(lrmlp_basis_rotate(NULL, P, 3, 2, 0.1, O));
    FAILS(lrmlp_basis_rotate(B, P, 2, 3, 0.1, O));
    FAILS(lrmlp_basis_rotate(B, P, 3, 2, 0.1, O)); /* P orthogonal to B needs 2r <= n */
    lrmlp_error_clear();
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
    tcase_add_test(tc, test_last_error);
    tcase_add_test(tc, test_every_failure_has_a_message);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
