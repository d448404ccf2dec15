/* The theory setting of the paper's Fig. 3 (docs/dynamics.md, docs/theory.md
 * section 2): a two-layer bias-free net f(X) = W_2 phi(W_1 X) with W_2 fixed
 * (orthogonal, full row rank), whitened synthetic data (X X^T = I), W_1(0)
 * eps-scaled orthogonal, full-batch gradient descent on the total squared
 * error. For each activation and seed it estimates the invariant subspaces
 * (lrmlp_subspace_estimate_f64) and tracks the block split of W_1(t) - W_1(0)
 * (lrmlp_tracker, every --every steps).
 *
 *   dyn_theory [--acts LIST] [--seeds N] [--seed0 S] [--steps N] [--lr X] ...
 *
 * Writes to --out DIR:
 *   theory_<act>_seed<S>.csv   the tracker's tidy CSV (step,layer,quantity,index,value)
 *   theory_frac_<act>.csv      per record step: block fractions (mean over seeds,
 *                              min/max of block 11) and the mean gradient gap
 *   theory_summary.csv         one row per run
 * and prints one progress line per run, then a summary table as its last lines. */
#include <lrmlp.h>
#include <lrmlp/track.h>

#include "common.h"
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACTS 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dyn_theory [options]\n"
            "  --acts LIST     activations (default elu,gelu,silu,tanh,relu,leaky_relu,rrelu)\n"
            "  --seeds N       runs per activation, seeds S..S+N-1 (default 5)\n"
            "  --seed0 S       first seed (default 1)\n"
            "  --steps N       full-batch GD steps (default 3000)\n"
            "  --lr X          learning rate (default 0.01)\n"
            "  --every N       tracker interval in steps (default 50)\n"
            "  --data NAME     teacher or clusters (default teacher)\n"
            "  --sep X         cluster separation for --data clusters (default 4)\n"
            "  --n N           samples (default 512)\n"
            "  --d N           input dimension (default 32)\n"
            "  --k N           classes K (default 4)\n"
            "  --m N           hidden width, >= d (default 64)\n"
            "  --eps X         scale of the orthogonal W_1(0) (default 0.1)\n"
            "  --w2-scale X    W_2 = X * (orthonormal rows) (default 1)\n"
            "  --out DIR       output directory (default dyn_out)\n");
}

/* Records of one run, indexed by step / every. */
typedef struct capture {
    uint64_t every;
    size_t slots;
    double *frac; /* slots x 4, layer 0 */
    double *gap;  /* slots */
} capture;

static int on_record(void *user, const lrmlp_track_record *rec)
{
    capture *c = user;
    if (rec->layer != 0 || rec->step % c->every)
        return 0;
    size_t s = (size_t)(rec->step / c->every);
    if (s >= c->slots)
        return 0;
    if (rec->quantity == LRMLP_TRACK_BLOCK_FRACTION && rec->index < 4)
        c->frac[s * 4 + rec->index] = rec->value;
    else if (rec->quantity == LRMLP_TRACK_GRAD_GAP)
        c->gap[s] = rec->value;
    return 0;
}

typedef struct run_result {
    double frac[4], gap0, gapT, loss0, lossT, acc;
} run_result;

static int run_one(lrmlp_activation act, uint64_t seed, synth_kind kind, size_t n, size_t d,
                   size_t k, size_t m, double sep, double eps, double w2s, double lr, size_t steps,
                   capture *cap, const char *csv, run_result *res)
{
    int rc = 0;
    lrmlp_dataset *ds = NULL;
    lrmlp_net *net = NULL;
    lrmlp_subspace *ss = NULL;
    lrmlp_tracker *tr = NULL;
    lrmlp_optim *opt = NULL;
    double *X = NULL, *T = NULL, *W0 = NULL, *Wt = NULL;
    size_t widths[3] = {d, m, k};

    if ((rc = synth_dataset(kind, n, d, k, sep, seed, SYNTH_WHITEN_SECOND_MOMENT, &ds)) ||
        (rc = synth_full_batch(ds, &X, &T)))
        goto done;
    if ((rc = dyn_make_net(&net, LRMLP_F64, 2, widths, act, eps, w2s, seed)))
        goto done;
    if ((rc = lrmlp_net_set_frozen(net, 1, 1))) {
        fprintf(stderr, "dyn_theory: freeze: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    W0 = malloc(m * d * sizeof *W0);
    Wt = malloc(m * d * sizeof *Wt);
    if (!W0 || !Wt) {
        rc = LRMLP_ERR_NOMEM;
        fprintf(stderr, "dyn_theory: out of memory\n");
        goto done;
    }
    if ((rc = lrmlp_net_get_weights_f64(net, 0, W0))) {
        fprintf(stderr, "dyn_theory: weights: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.k = k;
    so.eps = eps;
    so.theory = 1;
    if ((rc = lrmlp_subspace_estimate_f64(&ss, net, X, T, n, LRMLP_LOSS_SSE, &so))) {
        fprintf(stderr, "dyn_theory: subspace estimate: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    double sv[64 + 1];
    if (k > 64 || (rc = lrmlp_subspace_singular_values(ss, sv))) {
        fprintf(stderr, "dyn_theory: singular values: %s\n", lrmlp_last_errmsg());
        if (!rc)
            rc = LRMLP_ERR_INVALID;
        goto done;
    }
    res->gap0 = sv[k] / sv[k - 1];

    for (size_t i = 0; i < cap->slots * 4; i++)
        cap->frac[i] = NAN;
    for (size_t i = 0; i < cap->slots; i++)
        cap->gap[i] = NAN;
    lrmlp_tracker_options tro = LRMLP_TRACKER_OPTIONS_INIT;
    tro.every = cap->every;
    tro.k = k;
    tro.csv_path = csv;
    tro.on_record = on_record;
    tro.on_record_user = cap;
    if ((rc = lrmlp_tracker_create(&tr, net, ss, &tro))) {
        fprintf(stderr, "dyn_theory: tracker: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = lr;
    if ((rc = lrmlp_optim_create(&opt, net, &oo))) {
        fprintf(stderr, "dyn_theory: optimizer: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    if ((rc = lrmlp_net_loss_f64(net, X, T, n, LRMLP_LOSS_SSE, &res->loss0, NULL))) {
        fprintf(stderr, "dyn_theory: loss: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_SSE;
    to.batch_size = 0;
    to.shuffle = 0;
    to.on_step = lrmlp_tracker_on_step;
    to.on_step_user = tr;
    for (size_t s = 0; s < steps; s++) {
        if ((rc = lrmlp_train_epoch(net, opt, ds, &to, NULL))) {
            fprintf(stderr, "dyn_theory: step %zu: %s", s + 1, lrmlp_last_errmsg());
            if (rc == LRMLP_ERR_STOPPED)
                fprintf(stderr, " (tracker: %s)", lrmlp_last_errmsg());
            fprintf(stderr, "\n");
            goto done;
        }
    }
    if ((rc = lrmlp_tracker_flush(tr))) {
        fprintf(stderr, "dyn_theory: tracker flush: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_eval_result ev;
    if ((rc = lrmlp_evaluate(net, ds, LRMLP_LOSS_SSE, 0, &ev))) {
        fprintf(stderr, "dyn_theory: evaluate: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    res->lossT = ev.loss;
    res->acc = ev.accuracy;
    for (int b = 0; b < 4; b++)
        res->frac[b] = lrmlp_tracker_last(tr, 0, LRMLP_TRACK_BLOCK_FRACTION, (size_t)b);
    res->gapT = lrmlp_tracker_last(tr, 0, LRMLP_TRACK_GRAD_GAP, 0);
    /* Cross-check the tracker's last record against a direct block split
     * (valid when the last step was a record step). */
    if (steps % cap->every == 0) {
        double f[4];
        if ((rc = lrmlp_net_get_weights_f64(net, 0, Wt)) ||
            (rc = lrmlp_subspace_block_fractions(ss, 0, W0, Wt, f))) {
            fprintf(stderr, "dyn_theory: block fractions: %s %s\n", lrmlp_last_errmsg(),
                    lrmlp_last_errmsg());
            goto done;
        }
        for (int b = 0; b < 4; b++)
            if (!(fabs(f[b] - res->frac[b]) <= 1e-6))
                fprintf(stderr, "dyn_theory: warning: tracker block %d = %.9g, direct %.9g\n",
                        b, res->frac[b], f[b]);
    }
done:
    lrmlp_optim_free(opt);
    lrmlp_tracker_free(tr);
    lrmlp_subspace_free(ss);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    free(X);
    free(T);
    free(W0);
    free(Wt);
    return rc;
}

int main(int argc, char **argv)
{
    const char *acts_arg = "elu,gelu,silu,tanh,relu,leaky_relu,rrelu", *out = "dyn_out";
    const char *data = "teacher";
    size_t seeds = 5, steps = 3000, every = 50, n = 512, d = 32, k = 4, m = 64;
    unsigned long long seed0 = 1;
    double lr = 0.01, eps = 0.1, sep = 4.0, w2s = 1.0;
    const ex_opt opts[] = {
        EX_OPT_STR("--acts", &acts_arg),
        EX_OPT_SIZE("--seeds", &seeds),
        EX_OPT_ULL("--seed0", &seed0),
        EX_OPT_SIZE("--steps", &steps),
        EX_OPT_DOUBLE("--lr", &lr),
        EX_OPT_SIZE("--every", &every),
        EX_OPT_STR("--data", &data),
        EX_OPT_DOUBLE("--sep", &sep),
        EX_OPT_SIZE("--n", &n),
        EX_OPT_SIZE("--d", &d),
        EX_OPT_SIZE("--k", &k),
        EX_OPT_SIZE("--m", &m),
        EX_OPT_DOUBLE("--eps", &eps),
        EX_OPT_DOUBLE("--w2-scale", &w2s),
        EX_OPT_STR("--out", &out),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "dyn_theory", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : 2;
    synth_kind kind;
    if (synth_kind_from_name(data, &kind)) {
        fprintf(stderr, "dyn_theory: unknown --data '%s'\n", data);
        return 2;
    }
    if (seeds < 1 || steps < 1 || every < 1 || k < 1 || k > 64 || 2 * k >= d || m < d ||
        n <= d || !(lr > 0) || !(eps > 0)) {
        fprintf(stderr, "dyn_theory: need seeds, steps, every >= 1, 1 <= K <= 64, 2K < d, "
                        "m >= d, n > d, lr > 0, eps > 0\n");
        return 2;
    }
    char abuf[512];
    const char *acts[MAX_ACTS];
    int n_acts = dyn_split_list(acts_arg, abuf, sizeof abuf, acts, MAX_ACTS);
    lrmlp_activation act_ids[MAX_ACTS];
    if (n_acts < 1) {
        fprintf(stderr, "dyn_theory: bad --acts list\n");
        return 2;
    }
    for (int a = 0; a < n_acts; a++)
        if (lrmlp_activation_from_name(acts[a], &act_ids[a])) {
            fprintf(stderr, "dyn_theory: unknown activation '%s'\n", acts[a]);
            return 2;
        }
    if (dyn_mkdir_p(out))
        return 1;

    size_t slots = steps / every + 1;
    capture cap = {every, slots, malloc(slots * 4 * sizeof(double)),
                   malloc(slots * sizeof(double))};
    double *acc_frac = malloc(slots * 4 * sizeof(double)), *acc_gap = malloc(slots * sizeof(double));
    double *mn = malloc(slots * sizeof(double)), *mx = malloc(slots * sizeof(double));
    run_result *res = calloc((size_t)n_acts * seeds, sizeof *res);
    if (!cap.frac || !cap.gap || !acc_frac || !acc_gap || !mn || !mx || !res) {
        fprintf(stderr, "dyn_theory: out of memory\n");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/theory_summary.csv", out);
    FILE *fs = fopen(path, "w");
    if (!fs) {
        perror(path);
        return 1;
    }
    fprintf(fs, "activation,smooth,seed,frac11,frac12,frac21,frac22,gap0,gapT,loss0,lossT,"
                "accuracy\n");
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("# %s\n# theory setting: d=%zu K=%zu m=%zu n=%zu data=%s (whitened, X X^T = I), "
           "W_2 fixed orthogonal, eps=%g, GD lr=%g on SSE, %zu steps, %zu seeds\n",
           info, d, k, m, n, data, eps, lr, steps, seeds);
    fflush(stdout);
    for (int a = 0; a < n_acts; a++) {
        for (size_t i = 0; i < slots * 4; i++)
            acc_frac[i] = 0;
        for (size_t i = 0; i < slots; i++) {
            acc_gap[i] = 0;
            mn[i] = INFINITY;
            mx[i] = -INFINITY;
        }
        const char *an = lrmlp_activation_name(act_ids[a]);
        for (size_t s = 0; s < seeds; s++) {
            uint64_t seed = seed0 + s;
            char csv[4096];
            snprintf(csv, sizeof csv, "%s/theory_%s_seed%llu.csv", out, an,
                     (unsigned long long)seed);
            run_result *r = &res[(size_t)a * seeds + s];
            if (run_one(act_ids[a], seed, kind, n, d, k, m, sep, eps, w2s, lr, steps, &cap, csv, r))
                return 1;
            for (size_t i = 0; i < slots; i++) {
                for (int b = 0; b < 4; b++)
                    acc_frac[i * 4 + b] += cap.frac[i * 4 + b] / (double)seeds;
                acc_gap[i] += cap.gap[i] / (double)seeds;
                mn[i] = fmin(mn[i], cap.frac[i * 4]);
                mx[i] = fmax(mx[i], cap.frac[i * 4]);
            }
            fprintf(fs, "%s,%d,%llu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f\n", an,
                    lrmlp_activation_is_smooth(act_ids[a]), (unsigned long long)seed,
                    r->frac[0], r->frac[1], r->frac[2], r->frac[3], r->gap0, r->gapT, r->loss0,
                    r->lossT, r->acc);
            printf("%-10s seed %llu  loss %9.3f -> %9.4f  acc %.3f  blocks 11/12/21/22 "
                   "%.4f %.4f %.4f %.4f  gap %.2e -> %.2e\n",
                   an, (unsigned long long)seed, r->loss0, r->lossT, r->acc, r->frac[0],
                   r->frac[1], r->frac[2], r->frac[3], r->gap0, r->gapT);
            fflush(stdout);
        }
        snprintf(path, sizeof path, "%s/theory_frac_%s.csv", out, an);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 1;
        }
        fprintf(f, "step,frac11_mean,frac11_min,frac11_max,frac12_mean,frac21_mean,"
                   "frac22_mean,grad_gap_mean\n");
        for (size_t i = 0; i < slots; i++)
            fprintf(f, "%llu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n",
                    (unsigned long long)(i * every), acc_frac[i * 4], mn[i], mx[i],
                    acc_frac[i * 4 + 1], acc_frac[i * 4 + 2], acc_frac[i * 4 + 3], acc_gap[i]);
        if (fclose(f)) {
            perror(path);
            return 1;
        }
    }
    if (fclose(fs)) {
        perror("theory_summary.csv");
        return 1;
    }
    printf("\nactivation  smooth  block11 mean [min, max]     block12  block21  block22  "
           "gap(t=0)  gap(end)  loss(end)  acc\n");
    for (int a = 0; a < n_acts; a++) {
        double f[4] = {0, 0, 0, 0}, lo = INFINITY, hi = -INFINITY, g0 = 0, gT = 0, l = 0, ac = 0;
        for (size_t s = 0; s < seeds; s++) {
            const run_result *r = &res[(size_t)a * seeds + s];
            for (int b = 0; b < 4; b++)
                f[b] += r->frac[b] / (double)seeds;
            lo = fmin(lo, r->frac[0]);
            hi = fmax(hi, r->frac[0]);
            g0 += r->gap0 / (double)seeds;
            gT += r->gapT / (double)seeds;
            l += r->lossT / (double)seeds;
            ac += r->acc / (double)seeds;
        }
        printf("%-10s  %-6s  %.4f [%.4f, %.4f]   %.4f   %.4f   %.4f   %.2e  %.2e  %9.4f  "
               "%.3f\n",
               lrmlp_activation_name(act_ids[a]), lrmlp_activation_is_smooth(act_ids[a]) ? "yes"
                                                                                         : "no",
               f[0], lo, hi, f[1], f[2], f[3], g0, gT, l, ac);
    }
    free(cap.frac);
    free(cap.gap);
    free(acc_frac);
    free(acc_gap);
    free(mn);
    free(mx);
    free(res);
    return 0;
}
