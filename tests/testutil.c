#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *tu_tmp_path(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(p, 512, "%s/lrmlp-test-%s.%ld", dir, name, (long)getpid());
    return p;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

double tu_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return (double)(x >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

double *tu_dmalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

lrmlp_net *tu_make_net(lrmlp_dtype dt, size_t L, const size_t *w, lrmlp_activation hid,
                       double eps, uint64_t seed)
{
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = L;
    o.widths = w;
    o.hidden_activation = hid;
    o.output_activation = LRMLP_ACT_IDENTITY;
    o.seed = seed;
    o.init = LRMLP_INIT_ORTHOGONAL;
    o.init_scale = eps;
    lrmlp_net *net = NULL;
    int rc = lrmlp_net_create(&net, &o);
    ck_assert_msg(rc == LRMLP_OK, "lrmlp_net_create: %d %s", rc, lrmlp_last_errmsg());
    return net;
}

lrmlp_net *tu_net(lrmlp_dtype dt, size_t L, const size_t *w, const lrmlp_activation *acts,
                  int bias, uint64_t seed)
{
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = L;
    o.widths = w;
    o.activations = acts;
    o.bias = bias;
    o.seed = seed;
    lrmlp_net *net = NULL;
    int rc = lrmlp_net_create(&net, &o);
    ck_assert_msg(rc == LRMLP_OK, "lrmlp_net_create: %d %s", rc, lrmlp_last_errmsg());
    return net;
}

lrmlp_net *tu_make_lowrank(lrmlp_dtype dt, size_t L, size_t d, size_t m, size_t K, size_t r,
                           lrmlp_activation act, uint64_t seed)
{
    lrmlp_lowrank_options o = LRMLP_LOWRANK_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = L;
    o.input_dim = d;
    o.width = m;
    o.output_dim = K;
    o.rank = r;
    o.hidden_activation = act;
    o.seed = seed;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_lowrank_create(&net, &o), LRMLP_OK);
    return net;
}
