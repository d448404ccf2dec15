/* A trained MLP as the reaction-rate law of a flame simulation.
 *
 * A 1-D premixed flame: temperature u and fuel y on [0, 200] obey
 *
 *     u_t = u_xx + w(u, y),     y_t = y_xx / Le - w(u, y),
 *     w(u, y) = (b^2 / 2) y exp(b (u - 1) / (1 + a (u - 1)))   (Arrhenius)
 *
 * with b = 8, a = 0.8, Le = 0.7, solved with explicit Euler steps and
 * second differences. The rate law is stiff (w spans many orders of
 * magnitude) and is evaluated in every cell at every step: that is the
 * job of a surrogate. This program
 *   1. samples w on [0, 1]^2 and trains a dense (2-64-64-1, tanh) and a
 *      low-rank (rank 2, width 64, GELU) float32 MLP on log(w + WEPS) (w
 *      spans 18 orders of magnitude; a model of w itself would light the
 *      cold gas with its small absolute errors), with the input and target
 *      standardization fitted on the data stored in the model,
 *   2. saves both and reads them back as shared read-only models,
 *   3. runs the simulation three times, with the exact law and with each
 *      model, every OpenMP thread calling the ONE model on its own cells
 *      in batches of 16 with its own workspace,
 *   4. reports the error of the flame against the exact run and the time
 *      per step.
 * Keep BLAS at one thread (OPENBLAS_NUM_THREADS=1): the threads here are
 * OpenMP's (docs/deploy.md). */
#include <lrmlp.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define NX 2000      /* cells */
#define DX 0.1
#define DT 0.002     /* below DX^2 Le / 2: the explicit scheme is stable */
#define STEPS 1500
#define BATCH 16     /* cells per predict call */
#define B 8.0
#define A 0.8
#define LE 0.7
#define WEPS 1e-4    /* the models learn log(w + WEPS) */

static double rate(double u, double y)
{
    return 0.5 * B * B * y * exp(B * (u - 1.0) / (1.0 + A * (u - 1.0)));
}

static int fail(const char *what)
{
    fprintf(stderr, "surrogate: %s: %s\n", what, lrmlp_last_errmsg());
    return 1;
}

/* Trains net on the samples of ds (standardized) for the given epochs. */
static int train(lrmlp_net *net, lrmlp_dataset *ds, int epochs)
{
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 3e-3;
    oo.schedule = LRMLP_SCHEDULE_COSINE;
    oo.total_steps = (uint64_t)epochs * (lrmlp_dataset_size(ds) / 64);
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_MEAN_SQUARED;
    to.batch_size = 64;
    lrmlp_optim *opt = NULL;
    int rc = lrmlp_optim_create(&opt, net, &oo);
    for (int e = 0; e < epochs && rc == LRMLP_OK; e++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    lrmlp_optim_free(opt);
    return rc;
}

/* One simulation of STEPS steps from the same initial flame. With model
 * NULL the exact law is used. Returns seconds per step. */
static double simulate(const lrmlp_model *model, double *u, double *y)
{
    static double un[NX], yn[NX], w[NX];
    for (int i = 0; i < NX; i++) {
        u[i] = i * DX < 20.0 ? 1.0 : 0.0; /* burnt on the left */
        y[i] = 1.0 - u[i];
    }
    double t0 = omp_get_wtime();
    int failed = 0;
#pragma omp parallel
    {
        /* each thread: its own workspace and batch buffers, made once */
        lrmlp_infer_ws *ws = NULL;
        float in[2 * BATCH], out[BATCH];
        if (model && lrmlp_infer_ws_create(&ws, model, BATCH) != LRMLP_OK) {
#pragma omp atomic write
            failed = 1;
        }
        for (int s = 0; s < STEPS; s++) {
#pragma omp for schedule(static)
            for (int c = 0; c < NX; c += BATCH) {
                int n = NX - c < BATCH ? NX - c : BATCH;
                if (!model) {
                    for (int i = 0; i < n; i++)
                        w[c + i] = rate(u[c + i], y[c + i]);
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    in[2 * i] = (float)u[c + i];
                    in[2 * i + 1] = (float)y[c + i];
                }
                if (ws && lrmlp_model_predict_f32(model, ws, in, (size_t)n, out, 0) == LRMLP_OK)
                    for (int i = 0; i < n; i++) {
                        /* a rate lies in [0, b^2 / 2] and burns at most the fuel
                         * there is (the exact law never needs either limit) */
                        double r = fmin(fmax(exp(out[i]) - WEPS, 0.0), 0.5 * B * B);
                        w[c + i] = fmin(r, fmax(y[c + i], 0.0) / DT);
                    }
            }
#pragma omp for schedule(static)
            for (int i = 0; i < NX; i++) {
                int l = i > 0 ? i - 1 : i, r = i < NX - 1 ? i + 1 : i; /* no-flux ends */
                un[i] = u[i] + DT * ((u[l] - 2 * u[i] + u[r]) / (DX * DX) + w[i]);
                yn[i] = y[i] + DT * ((y[l] - 2 * y[i] + y[r]) / (LE * DX * DX) - w[i]);
            }
#pragma omp for schedule(static)
            for (int i = 0; i < NX; i++) {
                u[i] = un[i];
                y[i] = yn[i];
            }
        }
        lrmlp_infer_ws_free(ws);
    }
    return failed ? -1.0 : (omp_get_wtime() - t0) / STEPS;
}

/* Where u crosses 1/2, interpolated: the flame's position. */
static double front(const double *u)
{
    for (int i = NX - 1; i > 0; i--)
        if (u[i - 1] >= 0.5 && u[i] < 0.5)
            return DX * (i - 1 + (u[i - 1] - 0.5) / (u[i - 1] - u[i]));
    return 0.0;
}

int main(void)
{
    /* 1. samples of the law; standardization fitted on them */
    enum { NS = 8192 };
    static float X[NS * 2], T[NS];
    uint64_t s = 42;
    for (int i = 0; i < NS * 2; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = (float)((s >> 11) * 0x1.0p-53);
    }
    for (int i = 0; i < NS; i++)
        T[i] = (float)log(rate(X[2 * i], X[2 * i + 1]) + WEPS);
    lrmlp_dataset *ds = NULL;
    if (lrmlp_dataset_from_targets_f32(&ds, X, NS, 2, T, 1) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL) ||
        lrmlp_dataset_standardize_targets(ds, NULL))
        return fail("dataset");

    const size_t widths[] = { 2, 64, 64, 1 };
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 3;
    no.widths = widths;
    no.bias = 1;
    lrmlp_lowrank_options lo = LRMLP_LOWRANK_OPTIONS_INIT;
    lo.n_layers = 3;
    lo.input_dim = 2;
    lo.width = 64;
    lo.output_dim = 1;
    lo.rank = 2;
    lrmlp_net *nets[2] = { NULL, NULL };
    const char *names[2] = { "dense", "low-rank" };
    const char *paths[2] = { "surrogate_dense.lrmlp", "surrogate_lowrank.lrmlp" };
    if (lrmlp_net_create(&nets[0], &no) || lrmlp_lowrank_create(&nets[1], &lo))
        return fail("create");
    lrmlp_model *models[2] = { NULL, NULL };
    for (int k = 0; k < 2; k++) {
        lrmlp_eval_result ev;
        if (train(nets[k], ds, 60) || lrmlp_evaluate(nets[k], ds, LRMLP_LOSS_MEAN_SQUARED, 0, &ev))
            return fail("training");
        /* 2. the fitted maps travel in the model file */
        if (lrmlp_net_set_preprocessing_from_dataset(nets[k], ds) ||
            lrmlp_model_save(nets[k], NULL, paths[k]) || lrmlp_model_read(&models[k], paths[k]))
            return fail("save and read back");
        printf("%-8s %6zu parameters, training mean squared error %.2e (standardized)\n",
               names[k], lrmlp_net_param_count(nets[k]), ev.loss);
        lrmlp_net_free(nets[k]);
    }
    lrmlp_dataset_free(ds);

    /* 3. the simulation, exact and with each model */
    static double u0[NX], y0[NX], u[NX], y[NX];
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("# %s; %d OpenMP threads\n", info, omp_get_max_threads());
    double t_exact = simulate(NULL, u0, y0);
    printf("exact    %8.1f us/step, flame at x = %.3f after t = %.1f\n", 1e6 * t_exact,
           front(u0), STEPS * DT);
    for (int k = 0; k < 2; k++) {
        double t = simulate(models[k], u, y);
        if (t < 0)
            return fail("workspace");
        double err = 0;
        for (int i = 0; i < NX; i++)
            err = fmax(err, fmax(fabs(u[i] - u0[i]), fabs(y[i] - y0[i])));
        /* 4. the error of the whole flame, not of single rates */
        printf("%-8s %8.1f us/step, flame at x = %.3f, max |error| of u and y %.2e\n", names[k],
               1e6 * t, front(u), err);
        lrmlp_model_free(models[k]);
    }
    return 0;
}
