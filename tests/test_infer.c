/* The shared read-only model (include/lrmlp/infer.h): results against
 * lrmlp_net_predict_* (bit for bit) and against an independent double-
 * precision forward pass; preprocessing and its PREP section; bad input;
 * several threads on one model (suite 'threads', run under TSan by .ci/run). */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A dense net with mixed activations, weights from its seeded default
 * initializer. */
static lrmlp_net *make_net(lrmlp_dtype dt, size_t L, const size_t *w, int bias, uint64_t seed)
{
    lrmlp_activation acts[8];
    static const lrmlp_activation pool[] = { LRMLP_ACT_TANH, LRMLP_ACT_GELU, LRMLP_ACT_RELU,
                                             LRMLP_ACT_SIGMOID, LRMLP_ACT_SILU };
    for (size_t l = 0; l < L; l++)
        acts[l] = l + 1 == L ? LRMLP_ACT_IDENTITY : pool[(l + seed) % 5];
    return tu_net(dt, L, w, acts, bias, seed);
}

static void *rand_rows(lrmlp_dtype dt, size_t count, uint64_t seed)
{
    uint64_t s = seed;
    void *X = malloc(count * (dt == LRMLP_F32 ? 4 : 8) + 8);
    ck_assert_ptr_nonnull(X);
    for (size_t i = 0; i < count; i++) {
        double v = 2.0 * tu_rand(&s);
        if (dt == LRMLP_F32)
            ((float *)X)[i] = (float)v;
        else
            ((double *)X)[i] = v;
    }
    return X;
}

/* An independent forward pass: double precision, naive loops, activations
 * through lrmlp_activation_eval. */
static void reference(lrmlp_net *net, const double *X, size_t n, double *Y)
{
    size_t L = lrmlp_net_n_layers(net);
    int f32 = lrmlp_net_dtype(net) == LRMLP_F32;
    for (size_t i = 0; i < n; i++) {
        double h[1024], z[1024];
        size_t d = lrmlp_net_width(net, 0);
        memcpy(h, X + i * d, d * sizeof *h);
        for (size_t l = 0; l < L; l++) {
            size_t a = lrmlp_net_width(net, l), b = lrmlp_net_width(net, l + 1);
            double *W = tu_dmalloc(a * b), *bb = tu_dmalloc(b);
            if (f32) {
                float *Wf = malloc(a * b * sizeof *Wf), *bf = malloc(b * sizeof *bf);
                lrmlp_net_get_weights_f32(net, l, Wf);
                for (size_t q = 0; q < a * b; q++)
                    W[q] = Wf[q];
                if (lrmlp_net_has_bias(net)) {
                    lrmlp_net_get_bias_f32(net, l, bf);
                    for (size_t q = 0; q < b; q++)
                        bb[q] = bf[q];
                }
                free(Wf);
                free(bf);
            } else {
                lrmlp_net_get_weights_f64(net, l, W);
                if (lrmlp_net_has_bias(net))
                    lrmlp_net_get_bias_f64(net, l, bb);
            }
            for (size_t j = 0; j < b; j++) {
                double s = bb[j];
                for (size_t k = 0; k < a; k++)
                    s += W[j * a + k] * h[k];
                lrmlp_activation_eval(lrmlp_net_activation(net, l), s, &z[j], NULL);
            }
            memcpy(h, z, b * sizeof *h);
            free(W);
            free(bb);
        }
        memcpy(Y + i * lrmlp_net_width(net, L), h, lrmlp_net_width(net, L) * sizeof *h);
    }
}

static double to_d(lrmlp_dtype dt, const void *p, size_t i)
{
    return dt == LRMLP_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static int predict_net(lrmlp_net *net, const void *X, size_t n, void *Y)
{
    return lrmlp_net_dtype(net) == LRMLP_F32 ? lrmlp_net_predict_f32(net, X, n, Y)
                                             : lrmlp_net_predict_f64(net, X, n, Y);
}

static int predict_model(const lrmlp_model *m, lrmlp_infer_ws *ws, const void *X, size_t n,
                         void *Y, unsigned flags)
{
    return lrmlp_model_dtype(m) == LRMLP_F32 ? lrmlp_model_predict_f32(m, ws, X, n, Y, flags)
                                             : lrmlp_model_predict_f64(m, ws, X, n, Y, flags);
}

/* The model equals predict bit for bit, and both equal the reference. */
static void check_net(lrmlp_net *net, const size_t *ns, size_t nn)
{
    lrmlp_dtype dt = lrmlp_net_dtype(net);
    size_t es = dt == LRMLP_F32 ? 4 : 8;
    size_t d = lrmlp_net_width(net, 0), k = lrmlp_net_width(net, lrmlp_net_n_layers(net));
    double tol = dt == LRMLP_F32 ? 2e-5 : 1e-12;
    lrmlp_model *m;
    ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_model_input_dim(m), d);
    ck_assert_uint_eq(lrmlp_model_output_dim(m), k);
    for (size_t t = 0; t < nn; t++) {
        size_t n = ns[t];
        void *X = rand_rows(dt, n * d, 100 + n);
        char *Y1 = malloc(n * k * es), *Y2 = malloc(n * k * es);
        double *Xd = tu_dmalloc(n * d), *Yr = tu_dmalloc(n * k);
        lrmlp_infer_ws *ws;
        ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, n), LRMLP_OK);
        ck_assert_int_eq(predict_net(net, X, n, Y1), LRMLP_OK);
        ck_assert_int_eq(predict_model(m, ws, X, n, Y2, 0), LRMLP_OK);
        ck_assert_msg(memcmp(Y1, Y2, n * k * es) == 0, "n = %zu: model differs from predict", n);
        for (size_t i = 0; i < n * d; i++)
            Xd[i] = to_d(dt, X, i);
        reference(net, Xd, n, Yr);
        for (size_t i = 0; i < n * k; i++)
            ck_assert_msg(fabs(to_d(dt, Y2, i) - Yr[i]) <= tol * (1 + fabs(Yr[i])),
                          "n = %zu, i = %zu: %g vs reference %g", n, i, to_d(dt, Y2, i), Yr[i]);
        /* Rows do not depend on one another: a batch of 1 per row gives
         * the same rows up to rounding (other chunk kernels). */
        lrmlp_infer_ws *ws1;
        ck_assert_int_eq(lrmlp_infer_ws_create(&ws1, m, 1), LRMLP_OK);
        ck_assert_int_eq(predict_model(m, ws1, X, n, Y1, 0), LRMLP_OK);
        for (size_t i = 0; i < n * k; i++)
            ck_assert(fabs(to_d(dt, Y1, i) - Yr[i]) <= tol * (1 + fabs(Yr[i])));
        lrmlp_infer_ws_free(ws1);
        lrmlp_infer_ws_free(ws);
        free(X);
        free(Y1);
        free(Y2);
        free(Xd);
        free(Yr);
    }
    lrmlp_model_free(m);
}

START_TEST(test_matches_predict_dense)
{
    static const size_t ns[] = { 1, 2, 3, 5, 8, 13, 16, 17, 64, 300, 700 };
    static const size_t w1[] = { 70, 45, 33, 7 }, w2[] = { 5, 9, 3 }, w3[] = { 40, 1 };
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *a = make_net((lrmlp_dtype)dt, 3, w1, 1, 1);
        lrmlp_net *b = make_net((lrmlp_dtype)dt, 2, w2, 0, 2);
        lrmlp_net *c = make_net((lrmlp_dtype)dt, 1, w3, 1, 3);
        check_net(a, ns, sizeof ns / sizeof *ns);
        check_net(b, ns, 6);
        check_net(c, ns, 6);
        lrmlp_net_free(a);
        lrmlp_net_free(b);
        lrmlp_net_free(c);
    }
}
END_TEST

/* Layers of >= 32 inputs and outputs give a row the same bits in any batch
 * of 2 rows and more, below and above the 16-row chunk kernels' limit, from
 * the model and from predict alike (infer.h). */
START_TEST(test_rows_batch_independent)
{
    static const size_t w[] = { 40, 33, 32, 36 };
    static const size_t ns[] = { 2, 3, 7, 16, 17, 40, 333 };
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *net = make_net((lrmlp_dtype)dt, 3, w, 1, 8);
        size_t es = dt == LRMLP_F32 ? 4 : 8, k = 36;
        lrmlp_model *m;
        ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
        lrmlp_infer_ws *ws;
        ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, 333), LRMLP_OK);
        void *X = rand_rows((lrmlp_dtype)dt, 333 * 40, 77);
        char *Yref = malloc(333 * k * es), *Y = malloc(333 * k * es);
        ck_assert_int_eq(predict_model(m, ws, X, 333, Yref, 0), LRMLP_OK);
        for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
            ck_assert_int_eq(predict_model(m, ws, X, ns[t], Y, 0), LRMLP_OK);
            ck_assert_msg(memcmp(Y, Yref, ns[t] * k * es) == 0, "model, batch of %zu", ns[t]);
            ck_assert_int_eq(predict_net(net, X, ns[t], Y), LRMLP_OK);
            ck_assert_msg(memcmp(Y, Yref, ns[t] * k * es) == 0, "predict, batch of %zu", ns[t]);
        }
        free(X);
        free(Y);
        free(Yref);
        lrmlp_infer_ws_free(ws);
        lrmlp_model_free(m);
        lrmlp_net_free(net);
    }
}
END_TEST

START_TEST(test_matches_predict_lowrank)
{
    static const size_t ns[] = { 1, 4, 9, 33 };
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *lr = tu_make_lowrank((lrmlp_dtype)dt, 4, 50, 40, 3, 6, LRMLP_ACT_GELU, 5);
        check_net(lr, ns, 4);
        lrmlp_net_free(lr);
    }
}
END_TEST

/* The model is a copy: changing or freeing the network leaves it alone. */
START_TEST(test_model_is_a_copy)
{
    static const size_t w[] = { 6, 5, 2 };
    lrmlp_net *net = make_net(LRMLP_F64, 2, w, 1, 4);
    lrmlp_model *m;
    ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
    double X[6] = { 0.1, -0.2, 0.3, 0.4, -0.5, 0.6 }, Y1[2], Y2[2];
    lrmlp_infer_ws *ws;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, 4), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f64(m, ws, X, 1, Y1, 0), LRMLP_OK);
    double *p = lrmlp_net_params(net);
    p[0] += 1.0;
    lrmlp_net_free(net);
    ck_assert_int_eq(lrmlp_model_predict_f64(m, ws, X, 1, Y2, 0), LRMLP_OK);
    ck_assert(memcmp(Y1, Y2, sizeof Y1) == 0);
    ck_assert_uint_gt(lrmlp_model_memory(m), (6 * 5 + 5 + 5 * 2 + 2) * 8);
    ck_assert_uint_gt(lrmlp_infer_ws_size(m, 4), 0);
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
}
END_TEST

/* ---------- preprocessing ---------- */

START_TEST(test_preprocessing_applied)
{
    static const size_t w[] = { 4, 6, 3 };
    for (int dt = 1; dt <= 2; dt++) {
        lrmlp_net *net = make_net((lrmlp_dtype)dt, 2, w, 1, 6);
        size_t es = dt == 1 ? 4 : 8, n = 5;
        const double mean[4] = { 1.0, -2.0, 0.5, 10.0 }, sd[4] = { 2.0, 0.5, 1.0, 4.0 };
        const double M[16] = { 1, 0.5, 0, 0, 0, 2, 0, 0.25, -1, 0, 1, 0, 0, 0, 0.1, 3 };
        const double c[4] = { 0.1, 0.2, -0.3, 0.4 };
        const double os[3] = { 2.0, 0.5, 10.0 }, ot[3] = { -1.0, 3.0, 100.0 };
        void *X = rand_rows((lrmlp_dtype)dt, n * 4, 9);
        char *Xt = malloc(n * 4 * es), *Y = malloc(n * 3 * es), *Yraw = malloc(n * 3 * es);
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 0)
                ck_assert_int_eq(lrmlp_net_set_input_standardize(net, mean, sd), LRMLP_OK);
            else
                ck_assert_int_eq(lrmlp_net_set_input_affine(net, M, c), LRMLP_OK);
            ck_assert_int_eq(lrmlp_net_set_output_affine(net, os, ot), LRMLP_OK);
            ck_assert_uint_eq(lrmlp_net_preprocessing(net),
                              (mode ? LRMLP_PREP_INPUT_AFFINE : LRMLP_PREP_INPUT_DIAGONAL) |
                                  LRMLP_PREP_OUTPUT);
            /* transform by hand, predict raw, de-standardize by hand */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < 4; j++) {
                    double v;
                    if (mode == 0) {
                        v = (to_d(dt, X, i * 4 + j) - mean[j]) / sd[j];
                    } else {
                        v = c[j];
                        for (size_t q = 0; q < 4; q++)
                            v += M[j * 4 + q] * to_d(dt, X, i * 4 + q);
                    }
                    if (dt == 1)
                        ((float *)Xt)[i * 4 + j] = (float)v;
                    else
                        ((double *)Xt)[i * 4 + j] = v;
                }
            if (dt == 1) {
                ck_assert_int_eq(lrmlp_net_predict_raw_f32(net, (float *)Xt, n, (float *)Yraw),
                                 LRMLP_OK);
                ck_assert_int_eq(lrmlp_net_predict_f32(net, X, n, (float *)Y), LRMLP_OK);
            } else {
                ck_assert_int_eq(
                    lrmlp_net_predict_raw_f64(net, (double *)Xt, n, (double *)Yraw), LRMLP_OK);
                ck_assert_int_eq(lrmlp_net_predict_f64(net, X, n, (double *)Y), LRMLP_OK);
            }
            double tol = dt == 1 ? 1e-4 : 1e-12;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < 3; j++) {
                    double want = os[j] * to_d(dt, Yraw, i * 3 + j) + ot[j];
                    double got = to_d(dt, Y, i * 3 + j);
                    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)),
                                  "dt %d mode %d: %g vs %g", dt, mode, got, want);
                }
            /* the model applies the same, bit for bit, and RAW skips it */
            lrmlp_model *m;
            lrmlp_infer_ws *ws;
            char *Ym = malloc(n * 3 * es);
            ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
            ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, n), LRMLP_OK);
            ck_assert_int_eq(predict_model(m, ws, X, n, Ym, 0), LRMLP_OK);
            ck_assert(memcmp(Ym, Y, n * 3 * es) == 0);
            ck_assert_int_eq(predict_model(m, ws, Xt, n, Ym, LRMLP_PREDICT_RAW), LRMLP_OK);
            ck_assert(memcmp(Ym, Yraw, n * 3 * es) == 0);
            /* a clone carries the transforms */
            lrmlp_net *cl;
            ck_assert_int_eq(lrmlp_net_clone(&cl, net), LRMLP_OK);
            ck_assert_int_eq(predict_net(cl, X, n, Ym), LRMLP_OK);
            ck_assert(memcmp(Ym, Y, n * 3 * es) == 0);
            lrmlp_net_free(cl);
            lrmlp_infer_ws_free(ws);
            lrmlp_model_free(m);
            free(Ym);
        }
        lrmlp_net_clear_preprocessing(net);
        ck_assert_uint_eq(lrmlp_net_preprocessing(net), 0);
        free(X);
        free(Xt);
        free(Y);
        free(Yraw);
        lrmlp_net_free(net);
    }
}
END_TEST

START_TEST(test_preprocessing_bad_values)
{
    static const size_t w[] = { 2, 3, 1 };
    lrmlp_net *net = make_net(LRMLP_F32, 2, w, 0, 1);
    double mean[2] = { 0, 0 }, sd[2] = { 1, 0 }, nanv[2] = { NAN, 1 };
    ck_assert_int_eq(lrmlp_net_set_input_standardize(net, mean, sd), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_net_set_input_standardize(net, nanv, mean), LRMLP_ERR_NONFINITE);
    double M[4] = { 1, 0, 0, INFINITY };
    ck_assert_int_eq(lrmlp_net_set_input_affine(net, M, NULL), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_net_set_output_affine(net, nanv, NULL), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_net_set_output_affine(NULL, mean, NULL), LRMLP_ERR_INVALID);
    ck_assert_uint_eq(lrmlp_net_preprocessing(net), 0);
    lrmlp_net_free(net);
}
END_TEST


/* The transforms a dataset fitted (standardize, whiten, standardize again,
 * targets standardized) travel into the network: predict on the raw
 * features equals the raw network on the dataset's transformed features,
 * de-standardized with the target statistics. */
START_TEST(test_preprocessing_from_dataset)
{
    size_t n = 300, d = 4, k = 2;
    double *X = tu_dmalloc(n * d), *T = tu_dmalloc(n * k);
    uint64_t st = 77;
    for (size_t i = 0; i < n; i++) {
        double a = tu_rand(&st), b = tu_rand(&st), c = tu_rand(&st), e = tu_rand(&st);
        X[i * d + 0] = 100.0 + 20.0 * a;
        X[i * d + 1] = -3.0 + 0.1 * b + 0.05 * a;
        X[i * d + 2] = 7.0 * c - 2.0 * a;
        X[i * d + 3] = 0.5 * e;
        T[i * k + 0] = 1000.0 + 50.0 * a * b;
        T[i * k + 1] = -0.01 * c;
    }
    for (int variant = 0; variant < 2; variant++) {
        lrmlp_dataset *ds;
        ck_assert_int_eq(lrmlp_dataset_from_targets_f64(&ds, X, n, d, T, k), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL),
                         LRMLP_OK);
        if (variant == 1) {
            lrmlp_whiten_options wo = LRMLP_WHITEN_OPTIONS_INIT;
            ck_assert_int_eq(lrmlp_dataset_whiten(ds, &wo, NULL), LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_whiten(ds, &wo, NULL), LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL),
                             LRMLP_OK);
        }
        ck_assert_int_eq(lrmlp_dataset_standardize_targets(ds, NULL), LRMLP_OK);
        double *Xt = tu_dmalloc(n * d), *Tt = tu_dmalloc(n * k);
        ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, n, Xt, Tt), LRMLP_OK);
        /* the targets are standardized */
        for (size_t j = 0; j < k; j++) {
            double m = 0, v = 0;
            for (size_t i = 0; i < n; i++)
                m += Tt[i * k + j];
            m /= (double)n;
            for (size_t i = 0; i < n; i++)
                v += (Tt[i * k + j] - m) * (Tt[i * k + j] - m);
            ck_assert(fabs(m) < 1e-10 && fabs(v / (double)n - 1.0) < 1e-10);
        }
        static const size_t w[] = { 4, 8, 2 };
        lrmlp_net *net = make_net(LRMLP_F64, 2, w, 1, 8);
        ck_assert_int_eq(lrmlp_net_set_preprocessing_from_dataset(net, ds), LRMLP_OK);
        ck_assert_uint_eq(lrmlp_net_preprocessing(net),
                          (variant ? LRMLP_PREP_INPUT_AFFINE : LRMLP_PREP_INPUT_DIAGONAL) |
                              LRMLP_PREP_OUTPUT);
        double *Y = tu_dmalloc(n * k), *Yr = tu_dmalloc(n * k);
        ck_assert_int_eq(lrmlp_net_predict_f64(net, X, n, Y), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_predict_raw_f64(net, Xt, n, Yr), LRMLP_OK);
        /* target statistics of the original T */
        for (size_t j = 0; j < k; j++) {
            double m = 0, v = 0;
            for (size_t i = 0; i < n; i++)
                m += T[i * k + j];
            m /= (double)n;
            for (size_t i = 0; i < n; i++)
                v += (T[i * k + j] - m) * (T[i * k + j] - m);
            double sd = sqrt(v / (double)n);
            for (size_t i = 0; i < n; i++) {
                double want = sd * Yr[i * k + j] + m;
                ck_assert_msg(fabs(Y[i * k + j] - want) <= 1e-9 * (1 + fabs(want)),
                              "variant %d row %zu: %.17g vs %.17g", variant, i, Y[i * k + j],
                              want);
            }
        }
        /* a second dataset standardized with the first as reference gets the same map */
        lrmlp_dataset *ds2;
        ck_assert_int_eq(lrmlp_dataset_from_targets_f64(&ds2, X, n, d, T, k), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize_targets(ds2, ds), LRMLP_OK);
        double *T2 = tu_dmalloc(n * k);
        ck_assert_int_eq(lrmlp_dataset_batch_f64(ds2, NULL, 0, n, Xt, T2), LRMLP_OK);
        for (size_t i = 0; i < n * k; i++)
            ck_assert(fabs(T2[i] - Tt[i]) < 1e-12);
        /* bad uses */
        lrmlp_dataset *lab;
        int32_t labels[3] = { 0, 1, 0 };
        ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&lab, X, 3, d, labels, 2), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize_targets(lab, NULL), LRMLP_ERR_STATE);
        ck_assert_int_eq(lrmlp_net_set_preprocessing_from_dataset(net, lab), LRMLP_ERR_STATE);
        static const size_t w5[] = { 5, 2 };
        lrmlp_net *net5 = make_net(LRMLP_F64, 1, w5, 0, 1);
        ck_assert_int_eq(lrmlp_net_set_preprocessing_from_dataset(net5, ds), LRMLP_ERR_SHAPE);
        ck_assert_uint_eq(lrmlp_net_preprocessing(net5), 0);
        lrmlp_net_free(net5);
        lrmlp_dataset_free(lab);
        lrmlp_dataset_free(ds2);
        free(T2);
        free(Y);
        free(Yr);
        free(Xt);
        free(Tt);
        lrmlp_net_free(net);
        lrmlp_dataset_free(ds);
    }
    free(X);
    free(T);
}
END_TEST

/* ---------- the PREP section ---------- */

static lrmlp_net *prep_net(void)
{
    static const size_t w[] = { 3, 4, 2 };
    lrmlp_net *net = make_net(LRMLP_F32, 2, w, 1, 11);
    const double M[9] = { 1, 0.5, 0, 0, 2, 0, -1, 0, 1 }, c[3] = { 0.1, 0.2, 0.3 };
    const double s[2] = { 3.0, 0.25 }, t[2] = { -1.0, 7.0 };
    ck_assert_int_eq(lrmlp_net_set_input_affine(net, M, c), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_set_output_affine(net, s, t), LRMLP_OK);
    return net;
}

START_TEST(test_prep_roundtrip)
{
    lrmlp_net *net = prep_net();
    void *buf;
    size_t len;
    ck_assert_int_eq(lrmlp_model_save_mem(net, NULL, &buf, &len), LRMLP_OK);
    const uint8_t *b = buf;
    ck_assert_uint_eq(b[8] | b[9] << 8, 2); /* format 1.2 */
    ck_assert_uint_eq(b[10] | b[11] << 8, 1);
    lrmlp_net *back;
    ck_assert_int_eq(lrmlp_model_load_mem(buf, len, &back, NULL), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_net_preprocessing(back),
                      LRMLP_PREP_INPUT_AFFINE | LRMLP_PREP_OUTPUT);
    float X[6] = { 1, 2, 3, -4, 5, -6 }, Y1[4], Y2[4], Y3[4];
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 2, Y1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_predict_f32(back, X, 2, Y2), LRMLP_OK);
    ck_assert(memcmp(Y1, Y2, sizeof Y1) == 0);
    lrmlp_model *m;
    lrmlp_infer_ws *ws;
    ck_assert_int_eq(lrmlp_model_read_mem(&m, buf, len), LRMLP_OK);
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, 2), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, Y3, 0), LRMLP_OK);
    ck_assert(memcmp(Y1, Y3, sizeof Y1) == 0);
    /* the same through a file */
    const char *path = tu_tmp_path("prep.lrmlp");
    ck_assert_int_eq(lrmlp_model_save(net, NULL, path), LRMLP_OK);
    lrmlp_model *m2;
    ck_assert_int_eq(lrmlp_model_read(&m2, path), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m2, ws, X, 2, Y3, 0), LRMLP_ERR_INVALID);
    lrmlp_infer_ws *ws2;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws2, m2, 2), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m2, ws2, X, 2, Y3, 0), LRMLP_OK);
    ck_assert(memcmp(Y1, Y3, sizeof Y1) == 0);
    remove(path);
    lrmlp_infer_ws_free(ws);
    lrmlp_infer_ws_free(ws2);
    lrmlp_model_free(m);
    lrmlp_model_free(m2);
    lrmlp_net_free(back);
    lrmlp_free(buf);
    lrmlp_net_free(net);
}
END_TEST

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

/* Offset of the PREP entry in the section table; fixes the CRCs after a
 * payload edit when fix is set. */
static size_t prep_entry(uint8_t *b, int fix)
{
    uint32_t n = le32(b + 12);
    size_t e = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!memcmp(b + 16 + 32 * i, "PREP", 4))
            e = 16 + 32 * i;
    ck_assert_uint_ne(e, 0);
    if (fix) {
        uint64_t off = le64(b + e + 8), len = le64(b + e + 16);
        put32(b + e + 24, (uint32_t)crc32(0, b + off, (uInt)len));
        put32(b + 16 + 32 * n, (uint32_t)crc32(0, b, 16 + 32 * n));
    }
    return e;
}

START_TEST(test_prep_corrupt)
{
    lrmlp_net *net = prep_net();
    void *buf;
    size_t len;
    ck_assert_int_eq(lrmlp_model_save_mem(net, NULL, &buf, &len), LRMLP_OK);
    uint8_t *c = malloc(len);
    lrmlp_net *out = (lrmlp_net *)1;
    lrmlp_model *m = (lrmlp_model *)1;
    size_t e = prep_entry(buf, 0);
    uint64_t off = le64((uint8_t *)buf + e + 8), plen = le64((uint8_t *)buf + e + 16);
    /* a flipped payload byte: checksum */
    memcpy(c, buf, len);
    c[off + 30] ^= 0x10;
    ck_assert_int_eq(lrmlp_model_load_mem(c, len, &out, NULL), LRMLP_ERR_CHECKSUM);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(lrmlp_model_read_mem(&m, c, len), LRMLP_ERR_CHECKSUM);
    ck_assert_ptr_null(m);
    /* edits with valid checksums: bad flags, wrong d, NaN, bad length */
    struct { size_t at; uint8_t v; } edits[] = {
        { 0, 0 },    /* flags 0 */
        { 0, 3 },    /* both input kinds */
        { 0, 0x15 }, /* an unknown bit */
        { 4, 1 },    /* reserved */
        { 8, 4 },    /* d = 4 */
        { 16, 9 },   /* k = 9 */
        { 31, 0x7F },/* the first value's exponent and top mantissa: NaN */
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        memcpy(c, buf, len);
        if (edits[i].at == 31) {
            c[off + 31] = 0x7F;
            c[off + 30] = 0xF8;
        } else {
            c[off + edits[i].at] = edits[i].v;
        }
        prep_entry(c, 1);
        out = (lrmlp_net *)1;
        ck_assert_int_eq(lrmlp_model_load_mem(c, len, &out, NULL), LRMLP_ERR_FORMAT);
        ck_assert_ptr_null(out);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "PREP"));
    }
    /* a truncated section (the length says 8 bytes less): the tail is
     * outside every section, and the section itself is short */
    memcpy(c, buf, len);
    uint8_t *lp = c + e + 16;
    uint64_t nl = plen - 8;
    for (int i = 0; i < 8; i++)
        lp[i] = (uint8_t)(nl >> 8 * i);
    memset(c + off + nl, 0, 8);
    prep_entry(c, 1);
    ck_assert_int_eq(lrmlp_model_load_mem(c, len, &out, NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "PREP"));
    /* a truncated file */
    for (size_t cut = off; cut < len; cut += 7)
        ck_assert_int_eq(lrmlp_model_load_mem(buf, cut, &out, NULL), LRMLP_ERR_FORMAT);
    /* an older reader sees an unknown critical section: simulate one by
     * renaming the tag */
    memcpy(c, buf, len);
    memcpy(c + e, "PREQ", 4);
    {
        uint32_t n = le32(c + 12);
        put32(c + 16 + 32 * n, (uint32_t)crc32(0, c, 16 + 32 * n));
    }
    ck_assert_int_eq(lrmlp_model_load_mem(c, len, &out, NULL), LRMLP_ERR_VERSION);
    free(c);
    lrmlp_free(buf);
    lrmlp_net_free(net);
}
END_TEST

/* ---------- golden version-1.2 file (tests/data) ----------
 * Written once with LRMLP_WRITE_GOLDEN=1; pins that 1.2 files stay
 * readable. */
static const char *golden_path(const char *name)
{
    static char p[1024];
    const char *src = getenv("LRMLP_TEST_SRCDIR");
    snprintf(p, sizeof p, "%s/tests/data/%s", src && *src ? src : ".", name);
    return p;
}

START_TEST(test_golden_v1_2)
{
    static const float W0[6] = { 0.5f, -1.25f, 2.0f, 0.125f, -0.75f, 3.5f };
    static const float W1[4] = { 1.5f, -2.0f, 0.0625f, -0.375f };
    static const double mean[3] = { 1.0, -2.0, 0.5 }, sd[3] = { 2.0, 0.25, 4.0 };
    static const double os[2] = { 10.0, 0.5 }, ot[2] = { -3.0, 100.0 };
    const char *path = golden_path("model_v1_2_prep_f32.lrmlp");
    if (getenv("LRMLP_WRITE_GOLDEN")) {
        static const size_t w[3] = { 3, 2, 2 };
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.n_layers = 2;
        o.widths = w;
        lrmlp_net *net;
        ck_assert_int_eq(lrmlp_net_create(&net, &o), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 0, W0), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_set_weights_f32(net, 1, W1), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_set_input_standardize(net, mean, sd), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_set_output_affine(net, os, ot), LRMLP_OK);
        ck_assert_int_eq(lrmlp_net_seed(net, 4242), LRMLP_OK);
        ck_assert_int_eq(lrmlp_model_save(net, NULL, path), LRMLP_OK);
        lrmlp_net_free(net);
    }
    lrmlp_model *m;
    int rc = lrmlp_model_read(&m, path);
    ck_assert_msg(rc == LRMLP_OK, "%s: %s", path, lrmlp_last_errmsg());
    lrmlp_infer_ws *ws;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, 1), LRMLP_OK);
    const float X[3] = { 3.0f, -1.5f, 4.5f };
    float Y[2];
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 1, Y, 0), LRMLP_OK);
    /* by hand: x' = (1, 2, 1); h = tanh(W0 x'); y = W1 h; then s y + t */
    double xs[3], h[2];
    for (int j = 0; j < 3; j++)
        xs[j] = (X[j] - mean[j]) / sd[j];
    for (int j = 0; j < 2; j++)
        h[j] = tanh(W0[3 * j] * xs[0] + W0[3 * j + 1] * xs[1] + W0[3 * j + 2] * xs[2]);
    for (int j = 0; j < 2; j++) {
        double y = os[j] * (W1[2 * j] * h[0] + W1[2 * j + 1] * h[1]) + ot[j];
        ck_assert_msg(fabs(Y[j] - y) <= 1e-5 * (1 + fabs(y)), "%g vs %g", Y[j], y);
    }
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
}
END_TEST

/* ---------- bad input ---------- */

START_TEST(test_bad_input)
{
    static const size_t w[] = { 4, 3, 2 };
    lrmlp_net *net = make_net(LRMLP_F32, 2, w, 1, 3);
    lrmlp_model *m, *m2;
    ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_from_net(&m2, net), LRMLP_OK);
    lrmlp_infer_ws *ws, *ws2;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, 4), LRMLP_OK);
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws2, m2, 4), LRMLP_OK);
    float X[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, Y[4] = { 9, 9, 9, 9 };
    double Xd[8] = { 0 }, Yd[4];
    ck_assert_int_eq(lrmlp_model_predict_f32(NULL, ws, X, 2, Y, 0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, NULL, X, 2, Y, 0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, NULL, 2, Y, 0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, NULL, 0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 0, Y, 0), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, Y, 8u), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_model_predict_f64(m, ws, Xd, 2, Yd, 0), LRMLP_ERR_DTYPE);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws2, X, 2, Y, 0), LRMLP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "another model"));
    X[5] = NAN;
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, Y, 0), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_net_predict_f32(net, X, 2, Y), LRMLP_ERR_NONFINITE);
    X[5] = INFINITY;
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, Y, 0), LRMLP_ERR_NONFINITE);
    for (int i = 0; i < 4; i++)
        ck_assert(Y[i] == 9.0f); /* untouched */
    /* the workspace and the model still work */
    X[5] = 6;
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 2, Y, 0), LRMLP_OK);
    /* a batch larger than the workspace goes through in chunks */
    float Xb[40], Yb[20], Yn[20];
    for (int i = 0; i < 40; i++)
        Xb[i] = (float)(i % 7) * 0.25f - 0.5f;
    lrmlp_infer_ws *ws1;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws1, m, 3), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws1, Xb, 10, Yb, 0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_net_predict_f32(net, Xb, 10, Yn), LRMLP_OK);
    for (int i = 0; i < 20; i++)
        ck_assert(fabsf(Yb[i] - Yn[i]) <= 1e-6f * (1 + fabsf(Yn[i])));
    lrmlp_infer_ws_free(ws1);
    lrmlp_infer_ws_free(ws2);
    lrmlp_model_free(m2);
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws1, m, 0), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(ws1);
    ck_assert_int_eq(lrmlp_infer_ws_create(NULL, m, 1), LRMLP_ERR_INVALID);
    lrmlp_model *m3;
    ck_assert_int_eq(lrmlp_model_from_net(&m3, NULL), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(m3);
    ck_assert_uint_eq(lrmlp_infer_ws_size(m, 0), 0);
    ck_assert_int_eq(lrmlp_model_read(&m3, "/nonexistent/x.lrmlp"), LRMLP_ERR_IO);
    lrmlp_model_free(NULL);
    lrmlp_infer_ws_free(NULL);
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
    lrmlp_net_free(net);
}
END_TEST

/* predict's scratch is bounded by one chunk: a large batch works and a
 * later small one still matches the model bit for bit. */
START_TEST(test_large_batch_chunks)
{
    static const size_t w[] = { 16, 8, 2 };
    lrmlp_net *net = make_net(LRMLP_F64, 2, w, 1, 12);
    size_t n = 5000;
    double *X = rand_rows(LRMLP_F64, n * 16, 3), *Y = tu_dmalloc(n * 2), *Yr = tu_dmalloc(n * 2);
    ck_assert_int_eq(lrmlp_net_predict_f64(net, X, n, Y), LRMLP_OK);
    reference(net, X, n, Yr);
    for (size_t i = 0; i < n * 2; i++)
        ck_assert(fabs(Y[i] - Yr[i]) <= 1e-12 * (1 + fabs(Yr[i])));
    lrmlp_model *m;
    lrmlp_infer_ws *ws;
    ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, n), LRMLP_OK);
    /* capped at the chunk, so this workspace is small */
    ck_assert_uint_lt(lrmlp_infer_ws_size(m, n), 2048 * 8 * 8 * 2 + 4096);
    ck_assert_int_eq(lrmlp_model_predict_f64(m, ws, X, n, Yr, 0), LRMLP_OK);
    ck_assert(memcmp(Y, Yr, n * 2 * sizeof *Y) == 0);
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
    free(X);
    free(Y);
    free(Yr);
    lrmlp_net_free(net);
}
END_TEST

/* ---------- threads (suite 'threads') ---------- */

typedef struct tjob {
    const lrmlp_model *m;
    lrmlp_infer_ws *ws;  /* shared by all jobs when testing the guard */
    const float *X;
    const float *Yref;  /* the rows of any batch of 2 or more */
    const float *Yref1; /* row 0 as a batch of one (the direct kernel) */
    size_t n, d, k, reps;
    int ok, busy_seen;
} tjob;

static void *worker(void *arg)
{
    tjob *j = arg;
    lrmlp_infer_ws *ws = j->ws;
    int own = ws == NULL;
    if (own && lrmlp_infer_ws_create(&ws, j->m, j->n) != LRMLP_OK)
        return NULL;
    float *Y = malloc(j->n * j->k * sizeof *Y);
    j->ok = 1;
    for (size_t r = 0; r < j->reps; r++) {
        size_t n = 1 + (r * 7) % j->n; /* batches of 1 .. n rows */
        int rc = lrmlp_model_predict_f32(j->m, ws, j->X, n, Y, 0);
        if (rc == LRMLP_ERR_STATE && !own) {
            j->busy_seen = 1;
            continue;
        }
        if (rc != LRMLP_OK || memcmp(Y, n == 1 ? j->Yref1 : j->Yref, n * j->k * sizeof *Y) != 0)
            j->ok = 0;
    }
    free(Y);
    if (own)
        lrmlp_infer_ws_free(ws);
    return NULL;
}

START_TEST(test_threads_share_model)
{
    static const size_t w[] = { 64, 48, 48, 5 };
    lrmlp_net *net = make_net(LRMLP_F32, 3, w, 1, 21);
    lrmlp_model *m;
    ck_assert_int_eq(lrmlp_model_from_net(&m, net), LRMLP_OK);
    size_t n = 12, d = 64, k = 5;
    float *X = rand_rows(LRMLP_F32, n * d, 5);
    /* A row's result does not depend on the batch around it for batches
     * of 2 rows and more (one kernel computes every output the same way,
     * infer.h); a batch of one row goes through the direct kernel, whose
     * sums are ordered differently: its own reference. */
    float *Yref = malloc(n * k * sizeof *Yref), Yref1[5];
    lrmlp_infer_ws *ws;
    ck_assert_int_eq(lrmlp_infer_ws_create(&ws, m, n), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, n, Yref, 0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, 1, Yref1, 0), LRMLP_OK);
    for (size_t c = 0; c < k; c++)
        ck_assert(fabsf(Yref1[c] - Yref[c]) <= 1e-5f * (1 + fabsf(Yref[c])));
    for (size_t i = 2; i <= n; i++) {
        float Yi[12 * 5];
        ck_assert_int_eq(lrmlp_model_predict_f32(m, ws, X, i, Yi, 0), LRMLP_OK);
        ck_assert(memcmp(Yi, Yref, i * k * sizeof *Yi) == 0);
    }
    lrmlp_net_free(net); /* the model stands alone */
    enum { T = 4 };
    pthread_t th[T];
    tjob jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (tjob){ m, NULL, X, Yref, Yref1, n, d, k, 300, 0, 0 };
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].ok, "thread %d got a wrong result", t);
    }
    /* One workspace shared against the contract: calls either succeed with
     * the right result or are refused with LRMLP_ERR_STATE; never wrong. */
    for (int t = 0; t < T; t++) {
        jobs[t] = (tjob){ m, ws, X, Yref, Yref1, n, d, k, 300, 0, 0 };
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].ok, "thread %d got a wrong result on a shared workspace", t);
    }
    lrmlp_infer_ws_free(ws);
    lrmlp_model_free(m);
    free(X);
    free(Yref);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("results");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_matches_predict_dense);
    tcase_add_test(tc, test_rows_batch_independent);
    tcase_add_test(tc, test_matches_predict_lowrank);
    tcase_add_test(tc, test_model_is_a_copy);
    tcase_add_test(tc, test_large_batch_chunks);
    suite_add_tcase(s, tc);
    tc = tcase_create("preprocessing");
    tcase_add_test(tc, test_preprocessing_applied);
    tcase_add_test(tc, test_preprocessing_bad_values);
    tcase_add_test(tc, test_preprocessing_from_dataset);
    tcase_add_test(tc, test_prep_roundtrip);
    tcase_add_test(tc, test_prep_corrupt);
    tcase_add_test(tc, test_golden_v1_2);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_threads_share_model);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
