/* Adapters: gradients against finite differences, each initialization
 * against its definition computed independently here (LAPACK's dgesvd, not
 * the library's dgesdd path), merging, adapter files and bad input. */
#include "testutil.h"

#include <cblas.h>
#include <lapacke.h>
#include <lrmlp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D = 7, H = 6, K = 4, NS = 9 };

/* A trained-looking f64 base: D-H-H-K, tanh, with biases, random weights. */
static lrmlp_net *make_base(lrmlp_dtype dt, int bias, uint64_t seed)
{
    size_t w[] = { D, H, H, K };
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.dtype = dt;
    o.n_layers = 3;
    o.widths = w;
    o.hidden_activation = LRMLP_ACT_TANH;
    o.bias = bias;
    o.seed = seed;
    o.init = LRMLP_INIT_XAVIER_NORMAL;
    lrmlp_net *net = NULL;
    ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
    return net;
}

static void make_data(double *X, double *T, int32_t *lab, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < NS * D; i++)
        X[i] = tu_rand(&s);
    for (int i = 0; i < NS; i++) {
        lab[i] = (int32_t)(i % K);
        for (int j = 0; j < K; j++)
            T[i * K + j] = j == lab[i];
    }
}

static lrmlp_dataset *make_ds(const double *X, const int32_t *lab)
{
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, NS, D, lab, K), LRMLP_OK);
    return ds;
}

static lrmlp_net *make_adapter(const lrmlp_net *base, const size_t *ranks,
                               lrmlp_adapter_init init, const lrmlp_dataset *ds, int train_last)
{
    lrmlp_adapter_options o = LRMLP_ADAPTER_OPTIONS_INIT;
    o.ranks = ranks;
    o.init = init;
    o.data = ds;
    o.train_last = train_last;
    o.seed = 5;
    lrmlp_net *ad = NULL;
    int rc = lrmlp_adapter_create(&ad, base, &o);
    ck_assert_msg(rc == LRMLP_OK, "create: %s", lrmlp_last_errmsg());
    return ad;
}

/* Sets every parameter of net to a random value (so B != 0). */
static void perturb(lrmlp_net *net, uint64_t seed)
{
    uint64_t s = seed;
    double *p = lrmlp_net_params(net);
    for (size_t i = 0; i < lrmlp_net_param_count(net); i++)
        p[i] = 0.5 * tu_rand(&s);
}

static double max_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Thin SVD by dgesvd (the library uses dgesdd): U (m x k), S, Vt (k x n). */
static void ref_svd(const double *M, size_t m, size_t n, double *U, double *S, double *Vt)
{
    size_t k = m < n ? m : n;
    double *A = tu_dmalloc(m * n), *sb = tu_dmalloc(k);
    memcpy(A, M, m * n * sizeof *A);
    ck_assert_int_eq(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)m, (lapack_int)n, A,
                                    (lapack_int)n, S, U, (lapack_int)k, Vt, (lapack_int)n, sb),
                     0);
    free(A);
    free(sb);
}

static void check_fd(const size_t *ranks, int bias, int freeze_first_a)
{
    lrmlp_net *base = make_base(LRMLP_F64, bias, 11);
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_LORA, NULL, 1);
    perturb(ad, 3);
    if (freeze_first_a)
        ck_assert_int_eq(lrmlp_net_set_frozen(ad, 0, 1), LRMLP_OK);
    double X[NS * D], T[NS * K];
    int32_t lab[NS];
    make_data(X, T, lab, 7);
    ck_assert_int_eq(lrmlp_net_gradient_f64(ad, X, T, NS, LRMLP_LOSS_CROSS_ENTROPY, NULL),
                     LRMLP_OK);
    size_t P = lrmlp_net_param_count(ad);
    double *g = tu_dmalloc(P);
    memcpy(g, lrmlp_net_grads(ad), P * sizeof *g);
    double *p = lrmlp_net_params(ad);
    /* which entries belong to frozen layers (their gradient is reported 0) */
    char *frozen = calloc(P, 1);
    for (size_t l = 0; l < lrmlp_net_n_layers(ad); l++) {
        size_t wo, bo;
        ck_assert_int_eq(lrmlp_net_layer_offsets(ad, l, &wo, &bo), LRMLP_OK);
        size_t nw = lrmlp_net_width(ad, l) * lrmlp_net_width(ad, l + 1);
        if (lrmlp_net_is_frozen(ad, l)) {
            memset(frozen + wo, 1, nw);
            if (bo != SIZE_MAX)
                memset(frozen + bo, 1, lrmlp_net_width(ad, l + 1));
        }
    }
    const double h = 1e-6;
    for (size_t i = 0; i < P; i++) {
        double keep = p[i], lp, lm;
        p[i] = keep + h;
        ck_assert_int_eq(lrmlp_net_loss_f64(ad, X, T, NS, LRMLP_LOSS_CROSS_ENTROPY, &lp, NULL),
                         0);
        p[i] = keep - h;
        ck_assert_int_eq(lrmlp_net_loss_f64(ad, X, T, NS, LRMLP_LOSS_CROSS_ENTROPY, &lm, NULL),
                         0);
        p[i] = keep;
        double fd = (lp - lm) / (2 * h);
        if (frozen[i])
            ck_assert_double_eq(g[i], 0.0);
        else
            ck_assert_msg(fabs(fd - g[i]) <= 1e-7 + 1e-6 * fabs(fd),
                          "param %zu: fd %.10g analytic %.10g", i, fd, g[i]);
    }
    free(frozen);
    free(g);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
}

START_TEST(test_fd_gradients)
{
    const size_t all[] = { 2, 3, 2 }, mid0[] = { 2, 0, 2 }, first0[] = { 0, 2, 0 };
    check_fd(all, 1, 0);   /* sides at every layer, errors through all of them */
    check_fd(all, 0, 1);   /* A of layer 0 frozen: no error needed below it */
    check_fd(mid0, 1, 0);  /* a frozen plain layer between adapted ones */
    check_fd(first0, 0, 0);/* the trainable last layer, a frozen first layer */
}
END_TEST

/* Every initialization starts at the base's function; the merged network
 * computes the adapter's function after training-like changes. */
START_TEST(test_start_and_merge)
{
    double X[NS * D], T[NS * K];
    int32_t lab[NS];
    make_data(X, T, lab, 8);
    lrmlp_dataset *ds = make_ds(X, lab);
    const size_t ranks[] = { 2, 3, 0 };
    for (int bias = 0; bias <= 1; bias++)
        for (int init = 0; init < LRMLP_ADAPTER_INIT_COUNT_; init++) {
            lrmlp_net *base = make_base(LRMLP_F64, bias, 12);
            lrmlp_net *ad = make_adapter(base, ranks, (lrmlp_adapter_init)init, ds, 1);
            double Y0[NS * K], Y1[NS * K], Y2[NS * K];
            ck_assert_int_eq(lrmlp_net_predict_f64(base, X, NS, Y0), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_predict_f64(ad, X, NS, Y1), LRMLP_OK);
            ck_assert_msg(max_diff(Y0, Y1, NS * K) < 1e-12, "init %d bias %d: start %g", init,
                          bias, max_diff(Y0, Y1, NS * K));
            perturb(ad, 40 + (uint64_t)init);
            lrmlp_net *m = NULL;
            ck_assert_int_eq(lrmlp_adapter_merge(&m, ad), LRMLP_OK);
            ck_assert(!lrmlp_adapter_is(m));
            ck_assert_uint_eq(lrmlp_net_n_layers(m), 3);
            ck_assert_int_eq(lrmlp_net_predict_f64(ad, X, NS, Y1), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_predict_f64(m, X, NS, Y2), LRMLP_OK);
            ck_assert_msg(max_diff(Y1, Y2, NS * K) < 1e-12, "merge: %g",
                          max_diff(Y1, Y2, NS * K));
            /* and the clone computes the same function too */
            lrmlp_net *c = NULL;
            ck_assert_int_eq(lrmlp_net_clone(&c, ad), LRMLP_OK);
            ck_assert(lrmlp_adapter_is(c));
            ck_assert_int_eq(lrmlp_net_predict_f64(c, X, NS, Y2), LRMLP_OK);
            ck_assert(max_diff(Y1, Y2, NS * K) == 0);
            lrmlp_net_free(c);
            lrmlp_net_free(m);
            lrmlp_net_free(ad);
            lrmlp_net_free(base);
        }
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_layout_and_count)
{
    lrmlp_net *base = make_base(LRMLP_F64, 1, 1);
    const size_t ranks[] = { 2, 0, 3 };
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_LORA, NULL, 0);
    ck_assert(lrmlp_adapter_is(ad));
    ck_assert_uint_eq(lrmlp_adapter_n_base_layers(ad), 3);
    ck_assert_uint_eq(lrmlp_net_n_layers(ad), 5);
    size_t a, b;
    ck_assert_int_eq(lrmlp_adapter_layer(ad, 0, &a, &b), LRMLP_OK);
    ck_assert(a == 0 && b == 1);
    ck_assert_int_eq(lrmlp_adapter_layer(ad, 1, &a, &b), LRMLP_OK);
    ck_assert(a == 2 && b == 2 && lrmlp_net_is_frozen(ad, 2));
    ck_assert_int_eq(lrmlp_adapter_layer(ad, 2, &a, &b), LRMLP_OK);
    ck_assert(a == 3 && b == 4 && !lrmlp_net_is_frozen(ad, 4));
    ck_assert_uint_eq(lrmlp_adapter_rank(ad, 2), 3);
    /* A (r x in, bias r), B (out x r, bias out), the frozen plain layer */
    ck_assert_uint_eq(lrmlp_net_param_count(ad),
                      (2 * D + 2) + (H * 2 + H) + (H * H + H) + (3 * H + 3) + (K * 3 + K));
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
}
END_TEST

START_TEST(test_init_lora)
{
    lrmlp_net *base = make_base(LRMLP_F64, 0, 2);
    const size_t ranks[] = { 3, 0, 0 };
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_LORA, NULL, 0);
    double A[3 * D], B[H * 3], W0[H * D], Wb[H * D];
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 0, A), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 1, B), LRMLP_OK);
    double bound = 1 / sqrt((double)D), mx = 0;
    for (int i = 0; i < 3 * D; i++)
        mx = fmax(mx, fabs(A[i]));
    ck_assert(mx < bound && mx > 0.5 * bound);
    for (int i = 0; i < H * 3; i++)
        ck_assert_double_eq(B[i], 0.0);
    ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 0, W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(base, 0, Wb), LRMLP_OK);
    ck_assert(max_diff(W0, Wb, H * D) == 0);
    ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 1, W0), LRMLP_ERR_INVALID);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
}
END_TEST

/* PiSSA: B A is the rank-r truncated SVD of W0, split evenly
 * (B^T B = A A^T = S_r), and the frozen part is W0 - B A. */
START_TEST(test_init_pissa)
{
    lrmlp_net *base = make_base(LRMLP_F64, 0, 3);
    const size_t r = 3, ranks[] = { 0, r, 0 };
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_PISSA, NULL, 0);
    double W[H * H], U[H * H], S[H], Vt[H * H], A[3 * H], B[H * 3], R[H * H], BA[H * H];
    ck_assert_int_eq(lrmlp_net_get_weights_f64(base, 1, W), LRMLP_OK);
    ref_svd(W, H, H, U, S, Vt);
    size_t a, b;
    ck_assert_int_eq(lrmlp_adapter_layer(ad, 1, &a, &b), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, a, A), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, b, B), LRMLP_OK);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, H, (int)r, 1, B, (int)r, A, H, 0,
                BA, H);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) {
            double t = 0;
            for (size_t k = 0; k < r; k++)
                t += U[i * H + k] * S[k] * Vt[k * H + j];
            ck_assert_msg(fabs(BA[i * H + j] - t) < 1e-12, "B A != U_r S_r V_r^T");
        }
    for (size_t k = 0; k < r; k++)
        for (size_t q = 0; q < r; q++) {
            double btb = 0, aat = 0;
            for (int i = 0; i < H; i++) {
                btb += B[i * r + k] * B[i * r + q];
                aat += A[k * H + i] * A[q * H + i];
            }
            double want = k == q ? S[k] : 0;
            ck_assert(fabs(btb - want) < 1e-12 && fabs(aat - want) < 1e-12);
        }
    ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 1, R), LRMLP_OK);
    for (int i = 0; i < H * H; i++)
        ck_assert(fabs(R[i] - (W[i] - BA[i])) < 1e-14);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
}
END_TEST

/* GRADIENT: the rows of A are (1/sqrt 3) times the top-r right singular
 * vectors of the base's gradient on the data, B = 0, W0 untouched; and one
 * plain gradient step makes B A = -(lr/3) U_r S_r V_r^T, the rank-r
 * truncation of the full fine-tuning step. */
START_TEST(test_init_gradient)
{
    double X[NS * D], T[NS * K];
    int32_t lab[NS];
    make_data(X, T, lab, 9);
    lrmlp_dataset *ds = make_ds(X, lab);
    lrmlp_net *base = make_base(LRMLP_F64, 1, 4);
    const size_t r = 2, ranks[] = { r, 0, 0 };
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_GRADIENT, ds, 0);

    /* the reference: G of layer 0 from an independent clone of the base */
    lrmlp_net *g = NULL;
    ck_assert_int_eq(lrmlp_net_clone(&g, base), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_gradient_f64(g, X, T, NS, LRMLP_LOSS_CROSS_ENTROPY, NULL), 0);
    double G[H * D], U[H * H], S[H], Vt[H * D], A[2 * D], B[H * 2], W0[H * D], Wb[H * D];
    ck_assert_int_eq(lrmlp_net_get_weight_grad_f64(g, 0, G), LRMLP_OK);
    ref_svd(G, H, D, U, S, Vt);
    ck_assert(S[1] > 1.05 * S[2]); /* the subspace is well defined */
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 0, A), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 1, B), LRMLP_OK);
    for (size_t k = 0; k < r; k++) {
        double dot = 0;
        for (int j = 0; j < D; j++)
            dot += A[k * D + j] * Vt[k * D + j];
        double sg = dot < 0 ? -1 : 1;
        for (int j = 0; j < D; j++)
            ck_assert_msg(fabs(A[k * D + j] - sg * Vt[k * D + j] / sqrt(3.0)) < 1e-10,
                          "A row %zu is not v_%zu / sqrt 3", k, k);
    }
    for (int i = 0; i < H * 2; i++)
        ck_assert_double_eq(B[i], 0.0);
    ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 0, W0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(base, 0, Wb), LRMLP_OK);
    ck_assert(max_diff(W0, Wb, H * D) == 0);

    /* one GD step on the same batch */
    const double lr = 0.1;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = lr;
    lrmlp_optim *opt = NULL;
    ck_assert_int_eq(lrmlp_optim_create(&opt, ad, &oo), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_gradient_f64(ad, X, T, NS, LRMLP_LOSS_CROSS_ENTROPY, NULL), 0);
    ck_assert_int_eq(lrmlp_optim_step(opt, ad), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 0, A), LRMLP_OK); /* unchanged: B was 0 */
    ck_assert_int_eq(lrmlp_net_get_weights_f64(ad, 1, B), LRMLP_OK);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < D; j++) {
            double ba = 0, want = 0;
            for (size_t k = 0; k < r; k++) {
                ba += B[i * r + k] * A[k * D + j];
                want += U[i * H + k] * S[k] * Vt[k * D + j];
            }
            want *= -lr / 3;
            ck_assert_msg(fabs(ba - want) < 1e-12, "first step: %g vs %g", ba, want);
        }
    lrmlp_optim_free(opt);
    lrmlp_net_free(g);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
    lrmlp_dataset_free(ds);
}
END_TEST

/* Every optimizer and the trainer run on an adapter network; W0 stays. */
START_TEST(test_train_all_optimizers)
{
    double X[NS * D], T[NS * K];
    int32_t lab[NS];
    make_data(X, T, lab, 10);
    lrmlp_dataset *ds = make_ds(X, lab);
    lrmlp_net *base = make_base(LRMLP_F32, 1, 5);
    const size_t ranks[] = { 2, 2, 0 };
    for (int kind = 0; kind < LRMLP_OPTIM_COUNT_; kind++) {
        lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_GRADIENT, ds, 1);
        double W0[H * D], W1[H * D];
        ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 0, W0), LRMLP_OK);
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        oo.kind = (lrmlp_optim_kind)kind;
        oo.lr = kind == LRMLP_OPTIM_MUON ? 0.02 : 0.01;
        lrmlp_optim *opt = NULL;
        ck_assert_int_eq(lrmlp_optim_create(&opt, ad, &oo), LRMLP_OK);
        lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
        to.batch_size = 4;
        lrmlp_eval_result e0, e1;
        ck_assert_int_eq(lrmlp_evaluate(ad, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &e0), LRMLP_OK);
        for (int ep = 0; ep < 20; ep++)
            ck_assert_msg(lrmlp_train_epoch(ad, opt, ds, &to, NULL) == LRMLP_OK, "%s",
                          lrmlp_last_errmsg());
        ck_assert_int_eq(lrmlp_evaluate(ad, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &e1), LRMLP_OK);
        ck_assert_msg(e1.loss < e0.loss, "%s: loss %g -> %g", lrmlp_optim_kind_name(oo.kind),
                      e0.loss, e1.loss);
        ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, 0, W1), LRMLP_OK);
        ck_assert(max_diff(W0, W1, H * D) == 0);
        lrmlp_optim_free(opt);
        lrmlp_net_free(ad);
    }
    lrmlp_net_free(base);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_save_load)
{
    double X[NS * D], T[NS * K];
    int32_t lab[NS];
    make_data(X, T, lab, 11);
    lrmlp_dataset *ds = make_ds(X, lab);
    const size_t ranks[] = { 2, 0, 3 };
    for (int dt = 1; dt <= 2; dt++)
        for (int init = 0; init < LRMLP_ADAPTER_INIT_COUNT_; init++) {
            lrmlp_net *base = make_base((lrmlp_dtype)dt, 1, 6);
            lrmlp_dataset *use = ds;
            lrmlp_dataset *ds32 = NULL;
            if (dt == LRMLP_F32) {
                float Xf[NS * D];
                for (int i = 0; i < NS * D; i++)
                    Xf[i] = (float)X[i];
                ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds32, Xf, NS, D, lab, K), 0);
                use = ds32;
            }
            lrmlp_net *ad = make_adapter(base, ranks, (lrmlp_adapter_init)init, use, 1);
            size_t P = lrmlp_net_param_count(ad), es = dt == LRMLP_F32 ? 4 : 8;
            uint64_t s = 77;
            for (size_t i = 0; i < P; i++) {
                if (dt == LRMLP_F32)
                    ((float *)lrmlp_net_params(ad))[i] += (float)(0.1 * tu_rand(&s));
                else
                    ((double *)lrmlp_net_params(ad))[i] += 0.1 * tu_rand(&s);
            }
            void *buf = NULL;
            size_t len = 0;
            ck_assert_int_eq(lrmlp_adapter_save_mem(ad, &buf, &len), LRMLP_OK);
            ck_assert(len < P * es + 1024 + (init == LRMLP_ADAPTER_PISSA ? 2 * P * es : 0));
            lrmlp_net *back = NULL;
            ck_assert_msg(lrmlp_adapter_load_mem(buf, len, base, &back) == LRMLP_OK, "%s",
                          lrmlp_last_errmsg());
            ck_assert_uint_eq(lrmlp_net_param_count(back), P);
            ck_assert(memcmp(lrmlp_net_params(back), lrmlp_net_params(ad), P * es) == 0);
            for (size_t l = 0; l < 3; l++) {
                ck_assert_uint_eq(lrmlp_adapter_rank(back, l), ranks[l]);
                if (!ranks[l])
                    continue;
                double F1[H * D], F2[H * D];
                ck_assert_int_eq(lrmlp_adapter_get_frozen(ad, l, F1), LRMLP_OK);
                ck_assert_int_eq(lrmlp_adapter_get_frozen(back, l, F2), LRMLP_OK);
                size_t nw = lrmlp_net_width(base, l) * lrmlp_net_width(base, l + 1);
                ck_assert(memcmp(F1, F2, nw * sizeof *F1) == 0); /* bit-identical */
            }
            lrmlp_net_free(back);
            /* a model loader refuses it; a model file is not an adapter */
            lrmlp_net *plain = NULL;
            ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &plain, NULL), LRMLP_ERR_FORMAT);
            ck_assert(strstr(lrmlp_last_errmsg(), "adapter") != NULL);
            lrmlp_free(buf);
            ck_assert_int_eq(lrmlp_model_save_mem(ad, NULL, &buf, &len), LRMLP_ERR_INVALID);
            ck_assert_ptr_null(buf);
            void *mbuf = NULL;
            size_t mlen = 0;
            ck_assert_int_eq(lrmlp_model_save_mem(base, NULL, &mbuf, &mlen), LRMLP_OK);
            ck_assert_int_eq(lrmlp_adapter_load_mem(mbuf, mlen, base, &back),
                             LRMLP_ERR_FORMAT);
            lrmlp_free(mbuf);
            ck_assert_int_eq(lrmlp_adapter_save_mem(ad, &buf, &len), LRMLP_OK);
            /* another base of the same shape: checksum; another shape: shape */
            lrmlp_net *other = make_base((lrmlp_dtype)dt, 1, 6);
            if (dt == LRMLP_F32)
                ((float *)lrmlp_net_params(other))[3] += 1e-3f;
            else
                ((double *)lrmlp_net_params(other))[3] += 1e-9;
            ck_assert_int_eq(lrmlp_adapter_load_mem(buf, len, other, &back),
                             LRMLP_ERR_CHECKSUM);
            ck_assert_ptr_null(back);
            ck_assert(strstr(lrmlp_last_errmsg(), "another base") != NULL);
            lrmlp_net_free(other);
            other = make_base((lrmlp_dtype)(3 - dt), 1, 6);
            ck_assert_int_eq(lrmlp_adapter_load_mem(buf, len, other, &back), LRMLP_ERR_SHAPE);
            lrmlp_net_free(other);
            /* a corrupted byte */
            ((uint8_t *)buf)[len - 1] ^= 1;
            ck_assert_int_eq(lrmlp_adapter_load_mem(buf, len, base, &back),
                             LRMLP_ERR_CHECKSUM);
            lrmlp_free(buf);
            lrmlp_dataset_free(ds32);
            lrmlp_net_free(ad);
            lrmlp_net_free(base);
        }
    /* through a file */
    lrmlp_net *base = make_base(LRMLP_F64, 0, 7);
    lrmlp_net *ad = make_adapter(base, ranks, LRMLP_ADAPTER_PISSA, NULL, 1);
    const char *path = tu_tmp_path("adapter.lrmlp");
    ck_assert_int_eq(lrmlp_adapter_save(ad, path), LRMLP_OK);
    lrmlp_net *back = NULL;
    ck_assert_int_eq(lrmlp_adapter_load(path, base, &back), LRMLP_OK);
    double Y1[NS * K], Y2[NS * K];
    ck_assert_int_eq(lrmlp_net_predict_f64(ad, X, NS, Y1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_predict_f64(back, X, NS, Y2), LRMLP_OK);
    ck_assert(max_diff(Y1, Y2, NS * K) == 0);
    remove(path);
    lrmlp_net_free(back);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
    lrmlp_dataset_free(ds);
}
END_TEST

static void expect_fail(const lrmlp_net *base, const lrmlp_adapter_options *o, int status,
                        const char *needle)
{
    lrmlp_net *ad = (lrmlp_net *)1;
    int rc = lrmlp_adapter_create(&ad, base, o);
    ck_assert_msg(rc == status, "got %d (%s), want %d", rc, lrmlp_last_errmsg(), status);
    ck_assert_ptr_null(ad);
    ck_assert_msg(strstr(lrmlp_last_errmsg(), needle) != NULL, "message '%s' lacks '%s'",
                  lrmlp_last_errmsg(), needle);
}

START_TEST(test_bad_input)
{
    lrmlp_net *base = make_base(LRMLP_F64, 0, 8);
    const size_t zero[] = { 0, 0, 0 }, big[] = { 0, 7, 0 }, ok[] = { 2, 0, 0 };
    lrmlp_adapter_options o = LRMLP_ADAPTER_OPTIONS_INIT;
    o.ranks = zero;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "every rank is 0");
    o.ranks = big;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "exceeds min(in, out) = 6");
    o.ranks = ok;
    ck_assert_int_eq(lrmlp_net_set_frozen(base, 0, 1), LRMLP_OK);
    expect_fail(base, &o, LRMLP_ERR_INVALID, "frozen");
    ck_assert_int_eq(lrmlp_net_set_frozen(base, 0, 0), LRMLP_OK);
    o.init = LRMLP_ADAPTER_GRADIENT;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "needs data");
    o.init = LRMLP_ADAPTER_LORA;
    o.scale = 0;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "scale");
    o.scale = NAN;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "scale");
    o.scale = 1;
    o.version = 99;
    expect_fail(base, &o, LRMLP_ERR_VERSION, "version");
    o.version = LRMLP_ADAPTER_OPTIONS_VERSION;
    o.ranks = NULL;
    expect_fail(base, &o, LRMLP_ERR_INVALID, "ranks");
    o.ranks = ok;
    /* NaN in the base's weights */
    double *p = lrmlp_net_params(base);
    double keep = p[0];
    p[0] = NAN;
    expect_fail(base, &o, LRMLP_ERR_NONFINITE, "NaN");
    p[0] = keep;
    /* an adapter on a low-rank network, and on an adapter */
    lrmlp_net *lr = tu_make_lowrank(LRMLP_F64, 3, D, H, K, 2, LRMLP_ACT_GELU, 1);
    const size_t lr_ranks[] = { 1, 0, 0, 0, 0 };
    o.ranks = lr_ranks;
    expect_fail(lr, &o, LRMLP_ERR_INVALID, "low-rank");
    lrmlp_net_free(lr);
    o.ranks = ok;
    lrmlp_net *ad = NULL;
    ck_assert_int_eq(lrmlp_adapter_create(&ad, base, &o), LRMLP_OK);
    double Xn[NS * D] = { 0 }, Tn[NS * K] = { 0 }, lossv;
    Xn[5] = NAN; /* NaN data reach an adapter like any network: a clean error */
    ck_assert_int_eq(lrmlp_net_loss_f64(ad, Xn, Tn, NS, LRMLP_LOSS_MSE, &lossv, NULL),
                     LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_net_gradient_f64(ad, Xn, Tn, NS, LRMLP_LOSS_MSE, &lossv),
                     LRMLP_ERR_NONFINITE);
    const size_t ad_ranks[] = { 1, 0, 0, 0 };
    o.ranks = ad_ranks;
    expect_fail(ad, &o, LRMLP_ERR_INVALID, "adapter network");
    /* views that would take the chain for the function refuse adapter nets */
    lrmlp_net *f = NULL;
    ck_assert_int_eq(lrmlp_net_factorize(&f, ad, ad_ranks), LRMLP_ERR_INVALID);
    lrmlp_model *shared = NULL;
    ck_assert_int_eq(lrmlp_model_from_net(&shared, ad), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(shared);
    ck_assert(strstr(lrmlp_last_errmsg(), "merge") != NULL);
    /* predict runs the side terms: the same outputs as the training forward */
    double Xp[NS * D], Tp[NS * K], Yp[NS * K], Yl[NS * K], lv;
    int32_t labp[NS];
    make_data(Xp, Tp, labp, 21);
    perturb(ad, 9);
    ck_assert_int_eq(lrmlp_net_predict_f64(ad, Xp, NS, Yp), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_loss_f64(ad, Xp, Tp, NS, LRMLP_LOSS_MSE, &lv, Yl), LRMLP_OK);
    ck_assert(max_diff(Yp, Yl, NS * K) == 0);
    lrmlp_net_free(ad);
    /* GRADIENT: data of the wrong shape; NaN data never make a dataset */
    double X[NS * 3];
    int32_t lab[NS] = { 0 };
    for (int i = 0; i < NS * 3; i++)
        X[i] = 0.1 * i;
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, NS, 3, lab, K), LRMLP_OK);
    o.ranks = ok;
    o.init = LRMLP_ADAPTER_GRADIENT;
    o.data = ds;
    expect_fail(base, &o, LRMLP_ERR_SHAPE, "data");
    lrmlp_dataset_free(ds);
    X[4] = NAN;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, NS, 3, lab, K), LRMLP_ERR_NONFINITE);
    ck_assert_ptr_null(ds);
    /* queries on a plain network */
    ck_assert(!lrmlp_adapter_is(base));
    ck_assert_uint_eq(lrmlp_adapter_rank(base, 0), 0);
    ck_assert_int_eq(lrmlp_adapter_layer(base, 0, NULL, NULL), LRMLP_ERR_INVALID);
    lrmlp_net *m = (lrmlp_net *)1;
    ck_assert_int_eq(lrmlp_adapter_merge(&m, base), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(m);
    lrmlp_net_free(base);
}
END_TEST

START_TEST(test_rank_suggest)
{
    size_t re, rg;
    const double sv[] = { 10, 9, 1, 0.9 };
    ck_assert_int_eq(lrmlp_rank_suggest(sv, 4, 0.9, &re, &rg), LRMLP_OK);
    ck_assert_uint_eq(re, 2); /* 100 + 81 >= 0.9 * 182.81 */
    ck_assert_uint_eq(rg, 2); /* 9 / 1 */
    ck_assert_int_eq(lrmlp_rank_suggest(sv, 4, 1.0, &re, NULL), LRMLP_OK);
    ck_assert_uint_eq(re, 4);
    ck_assert_int_eq(lrmlp_rank_suggest(sv, 4, 0.5, &re, NULL), LRMLP_OK);
    ck_assert_uint_eq(re, 1);
    const double z[] = { 3, 2, 0, 0 };
    ck_assert_int_eq(lrmlp_rank_suggest(z, 4, 0.99, &re, &rg), LRMLP_OK);
    ck_assert(re == 2 && rg == 2);
    const double tail[] = { 10, 5, 1, 0.005, 1e-9 }; /* 0.005 is below 1e-3 sv[0] */
    ck_assert_int_eq(lrmlp_rank_suggest(tail, 5, 0.9, &re, &rg), LRMLP_OK);
    ck_assert_uint_eq(rg, 3); /* 1 / 0.005, not 0.005 / 1e-9 */
    ck_assert_int_eq(lrmlp_rank_suggest(z, 1, 0.5, &re, &rg), LRMLP_OK);
    ck_assert(re == 1 && rg == 1);
    const double unsorted[] = { 1, 2 }, zeros[] = { 0, 0 };
    ck_assert_int_eq(lrmlp_rank_suggest(unsorted, 2, 0.9, &re, &rg), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_rank_suggest(zeros, 2, 0.9, &re, &rg), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_rank_suggest(sv, 4, 0, &re, &rg), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_rank_suggest(sv, 0, 0.5, &re, &rg), LRMLP_ERR_INVALID);
    /* singular values of a matrix with known ones: diag(3, 1) embedded */
    double M[3 * 2] = { 0, 1, 3, 0, 0, 0 }, s[2];
    ck_assert_int_eq(lrmlp_singular_values(M, 3, 2, s), LRMLP_OK);
    ck_assert(fabs(s[0] - 3) < 1e-14 && fabs(s[1] - 1) < 1e-14);
    M[0] = NAN;
    ck_assert_int_eq(lrmlp_singular_values(M, 3, 2, s), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_singular_values(M, 0, 2, s), LRMLP_ERR_INVALID);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("adapter");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fd_gradients);
    tcase_add_test(tc, test_start_and_merge);
    tcase_add_test(tc, test_layout_and_count);
    tcase_add_test(tc, test_init_lora);
    tcase_add_test(tc, test_init_pissa);
    tcase_add_test(tc, test_init_gradient);
    tcase_add_test(tc, test_train_all_optimizers);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_rank_suggest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
