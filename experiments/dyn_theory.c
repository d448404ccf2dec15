/* The theory setting of the paper's Fig. 3 (docs/dynamics.md, section 1): a
 * two-layer bias-free net f(X) = W_2 phi(W_1 X) with W_2 fixed, whitened
 * synthetic data (X X^T = I), W_1(0) eps-scaled orthogonal, full-batch
 * gradient descent on the summed squared error. For each activation and
 * seed it estimates the invariant subspaces (lrmlp_subspace_estimate_f64)
 * and tracks the block split of W_1(t) - W_1(0) (lrmlp_tracker, every
 * --every steps).
 *
 * Two profiles (--profile; every other option overrides their defaults):
 *   reference   the reference run's setting: d = 32, K = 4, m = 32,
 *               N = 2000, W_2 ~ N(0, 1/m), eta = 0.5 / ||W_2||_2^2, a linear
 *               teacher Y = A X scaled to ||Y||_F = sqrt(K) (--teacher
 *               onehot: one-hot labels argmax(A x) instead), 3000 steps,
 *               3 seeds, identity tanh elu silu gelu relu leaky_relu
 *   orthogonal  W_2 with orthonormal rows, one-hot targets, N = 512,
 *               m = 64, lr 0.01, 5 seeds (the first runs of docs/dynamics.md)
 *
 * Writes to --out DIR (PREFIX = --prefix, default theory):
 *   PREFIX_<act>_seed<S>.csv   the tracker's tidy CSV (step,layer,quantity,index,value)
 *   PREFIX_frac_<act>.csv      per record step: block fractions (mean over seeds,
 *                              min/max of block 11) and the mean gradient gap
 *   PREFIX_summary.csv         one row per run
 * and prints one progress line per run, then a summary table as its last lines. */
#include <lrmlp.h>
#include <lrmlp/track.h>

#include "common.h"
#include "synth.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACTS 16

#define PROG "dyn_theory"

typedef struct config {
    const char *profile, *acts, *out, *prefix, *data, *teacher, *w2;
    size_t seeds, steps, every, n, d, k, m;
    unsigned long long seed0;
    double lr, eps, sep, w2s;
    int lr_per_w2;
} config;

static int g_orthogonal; /* profile of the --help text */

static void defaults(config *c, int orthogonal)
{
    *c = (config){.profile = "reference",
                  .acts = "identity,tanh,elu,silu,gelu,relu,leaky_relu",
                  .out = "dyn_out",
                  .prefix = "theory",
                  .data = "teacher",
                  .teacher = "linear",
                  .w2 = "gaussian",
                  .seeds = 3,
                  .steps = 3000,
                  .every = 50,
                  .n = 2000,
                  .d = 32,
                  .k = 4,
                  .m = 32,
                  .seed0 = 1,
                  .lr = 0.5,
                  .eps = 0.1,
                  .sep = 4.0,
                  .w2s = 1.0,
                  .lr_per_w2 = 1};
    if (orthogonal) {
        c->profile = "orthogonal";
        c->acts = "elu,gelu,silu,tanh,relu,leaky_relu,rrelu";
        c->teacher = "onehot";
        c->w2 = "orthogonal";
        c->seeds = 5;
        c->n = 512;
        c->m = 64;
        c->lr = 0.01;
        c->lr_per_w2 = 0;
    }
}

static void usage(FILE *f)
{
    config c;
    defaults(&c, g_orthogonal);
    fprintf(f,
            "usage: " PROG " [--profile reference|orthogonal] [options]\n"
            "  --profile NAME  the setting whose defaults are used (default reference);\n"
            "                  the other options override them; defaults below: %s\n"
            "  --acts LIST     activations (default %s)\n"
            "  --seeds N       runs per activation, seeds S..S+N-1 (default %zu)\n"
            "  --seed0 S       first seed (default %llu)\n"
            "  --steps N       full-batch GD steps (default %zu)\n"
            "  --lr X          learning rate, > 0 (default %g)\n"
            "  --lr-per-w2 0|1 1: the step is lr / ||W_2||_2^2 (default %d)\n"
            "  --every N       tracker interval in steps (default %zu)\n"
            "  --data NAME     inputs: teacher (x ~ N(0, I)) or clusters (default %s)\n"
            "  --teacher NAME  targets: linear (Y = A X, ||Y||_F = sqrt(K), teacher data\n"
            "                  only) or onehot (class labels) (default %s)\n"
            "  --sep X         cluster separation for --data clusters (default %g)\n"
            "  --n N           samples (default %zu)\n"
            "  --d N           input dimension (default %zu)\n"
            "  --k N           outputs K (default %zu)\n"
            "  --m N           hidden width, >= d (default %zu)\n"
            "  --eps X         scale of the orthogonal W_1(0) (default %g)\n"
            "  --w2 NAME       fixed W_2: gaussian (entries N(0, s^2 / m)) or orthogonal\n"
            "                  (s * orthonormal rows) (default %s)\n"
            "  --w2-scale S    the scale s above (default %g)\n"
            "  --out DIR       output directory (default %s)\n"
            "  --prefix NAME   file name prefix (default %s)\n",
            c.profile, c.acts, c.seeds, c.seed0, c.steps, c.lr, c.lr_per_w2, c.every, c.data,
            c.teacher, c.sep, c.n, c.d, c.k, c.m, c.eps, c.w2, c.w2s, c.out, c.prefix);
}

/* ||W||_2 of a rows x cols row-major matrix (destroyed); NaN on failure. */
static double spectral_norm(double *W, size_t rows, size_t cols)
{
    size_t r = rows < cols ? rows : cols;
    double *sv = malloc(r * sizeof *sv), *u = malloc(rows * rows * sizeof *u),
           *vt = malloc(cols * cols * sizeof *vt), norm = NAN;
    /* LAPACKE checks ldu and ldvt even when no vectors are computed */
    if (sv && u && vt &&
        !LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)rows, (lapack_int)cols, W,
                        (lapack_int)cols, sv, u, (lapack_int)rows, vt, (lapack_int)cols))
        norm = sv[0];
    free(sv);
    free(u);
    free(vt);
    return norm;
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
    double frac[4], gap0, gapT, loss0, lossT, acc, lr;
} run_result;

static int run_one(const config *c, synth_kind kind, lrmlp_activation act, uint64_t seed,
                   capture *cap, const char *csv, run_result *res)
{
    const size_t n = c->n, d = c->d, k = c->k, m = c->m, steps = c->steps;
    const double eps = c->eps;
    const int gaussian = !strcmp(c->w2, "gaussian");
    int rc = 0;
    lrmlp_dataset *ds = NULL;
    lrmlp_net *net = NULL;
    lrmlp_subspace *ss = NULL;
    lrmlp_tracker *tr = NULL;
    lrmlp_optim *opt = NULL;
    double *X = NULL, *T = NULL, *W0 = NULL, *Wt = NULL;
    size_t widths[3] = {d, m, k};

    if ((rc = synth_dataset(kind, n, d, k, c->sep, seed, SYNTH_WHITEN_SECOND_MOMENT, &ds)) ||
        (!strcmp(c->teacher, "linear") && (rc = synth_linear_teacher(&ds, k, seed))) ||
        (rc = synth_full_batch(ds, &X, &T)))
        goto done;
    if ((rc = dyn_make_net(&net, LRMLP_F64, 2, widths, act, eps,
                           gaussian ? LRMLP_INIT_GAUSSIAN : LRMLP_INIT_ORTHOGONAL,
                           gaussian ? c->w2s / sqrt((double)m) : c->w2s, seed)))
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
    double *W2 = Wt; /* K x m <= m x d */
    if ((rc = lrmlp_net_get_weights_f64(net, 0, W0)) ||
        (rc = lrmlp_net_get_weights_f64(net, 1, W2))) {
        fprintf(stderr, "dyn_theory: weights: %s\n", lrmlp_last_errmsg());
        goto done;
    }
    res->lr = c->lr;
    if (c->lr_per_w2) {
        double s2 = spectral_norm(W2, k, m);
        if (!(s2 > 0)) {
            fprintf(stderr, "dyn_theory: no spectral norm of W_2\n");
            rc = LRMLP_ERR_LINALG;
            goto done;
        }
        res->lr = c->lr / (s2 * s2);
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
    oo.lr = res->lr;
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
    config c;
    defaults(&c, 0);
    const ex_opt opts[] = {
        EX_OPT_STR("--profile", &c.profile),
        EX_OPT_STR("--acts", &c.acts),
        EX_OPT_COUNT("--seeds", &c.seeds),
        EX_OPT_ULL("--seed0", &c.seed0),
        EX_OPT_COUNT("--steps", &c.steps),
        EX_OPT_POS("--lr", &c.lr),
        EX_OPT_INT("--lr-per-w2", &c.lr_per_w2),
        EX_OPT_COUNT("--every", &c.every),
        EX_OPT_STR("--data", &c.data),
        EX_OPT_STR("--teacher", &c.teacher),
        EX_OPT_DOUBLE("--sep", &c.sep),
        EX_OPT_COUNT("--n", &c.n),
        EX_OPT_COUNT("--d", &c.d),
        EX_OPT_COUNT("--k", &c.k),
        EX_OPT_COUNT("--m", &c.m),
        EX_OPT_POS("--eps", &c.eps),
        EX_OPT_STR("--w2", &c.w2),
        EX_OPT_POS("--w2-scale", &c.w2s),
        EX_OPT_STR("--out", &c.out),
        EX_OPT_STR("--prefix", &c.prefix),
        EX_OPT_END,
    };
    /* A silent first pass finds --profile; the second applies every option
     * over that profile's defaults. */
    ex_parse_options(argc, argv, PROG, opts, NULL);
    if (strcmp(c.profile, "reference") && strcmp(c.profile, "orthogonal"))
        return ex_bad_usage(PROG, "unknown --profile '%s' (reference or orthogonal)", c.profile);
    g_orthogonal = !strcmp(c.profile, "orthogonal");
    defaults(&c, g_orthogonal);
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    synth_kind kind;
    if (synth_kind_from_name(c.data, &kind))
        return ex_bad_usage(PROG, "unknown --data '%s' (teacher or clusters)", c.data);
    int linear = !strcmp(c.teacher, "linear");
    if ((!linear && strcmp(c.teacher, "onehot")) || (linear && kind != SYNTH_TEACHER))
        return ex_bad_usage(PROG, "--teacher must be linear (with --data teacher) or onehot");
    if (strcmp(c.w2, "gaussian") && strcmp(c.w2, "orthogonal"))
        return ex_bad_usage(PROG, "--w2 must be gaussian or orthogonal, not '%s'", c.w2);
    if (c.lr_per_w2 != 0 && c.lr_per_w2 != 1)
        return ex_bad_usage(PROG, "--lr-per-w2 must be 0 or 1");
    if (c.k > 64 || 2 * c.k >= c.d || c.m < c.d || c.n <= c.d)
        return ex_bad_usage(PROG, "need K <= 64, 2K < d, m >= d and n > d");
    const char *out = c.out, *pre = c.prefix;
    const size_t seeds = c.seeds, steps = c.steps, every = c.every;
    char abuf[512];
    const char *acts[MAX_ACTS];
    int n_acts = dyn_split_list(c.acts, abuf, sizeof abuf, acts, MAX_ACTS);
    lrmlp_activation act_ids[MAX_ACTS];
    if (n_acts < 1)
        return ex_bad_usage(PROG, "bad --acts list");
    for (int a = 0; a < n_acts; a++)
        if (lrmlp_activation_from_name(acts[a], &act_ids[a]))
            return ex_bad_usage(PROG, "unknown activation '%s'", acts[a]);
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
    snprintf(path, sizeof path, "%s/%s_summary.csv", out, pre);
    FILE *fs = fopen(path, "w");
    if (!fs) {
        perror(path);
        return 1;
    }
    fprintf(fs, "activation,smooth,seed,frac11,frac12,frac21,frac22,gap0,gapT,loss0,lossT,"
                "accuracy,lr\n");
    ex_print_build_info(stdout);
    printf("# %s --profile %s: d=%zu K=%zu m=%zu n=%zu data=%s (whitened, X X^T = I), "
           "targets %s, W_2 fixed %s (scale %g), W_1(0) = %g Q, GD lr=%g%s on SSE, "
           "%zu steps, %zu seeds\n",
           PROG, c.profile, c.d, c.k, c.m, c.n, c.data,
           linear ? "linear teacher Y = A X, ||Y||_F = sqrt(K)" : "one-hot",
           c.w2, c.w2s, c.eps, c.lr, c.lr_per_w2 ? " / ||W_2||_2^2" : "", steps, seeds);
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
            uint64_t seed = c.seed0 + s;
            char csv[4096];
            snprintf(csv, sizeof csv, "%s/%s_%s_seed%llu.csv", out, pre, an,
                     (unsigned long long)seed);
            run_result *r = &res[(size_t)a * seeds + s];
            if (run_one(&c, kind, act_ids[a], seed, &cap, csv, r))
                return 1;
            for (size_t i = 0; i < slots; i++) {
                for (int b = 0; b < 4; b++)
                    acc_frac[i * 4 + b] += cap.frac[i * 4 + b] / (double)seeds;
                acc_gap[i] += cap.gap[i] / (double)seeds;
                mn[i] = fmin(mn[i], cap.frac[i * 4]);
                mx[i] = fmax(mx[i], cap.frac[i * 4]);
            }
            fprintf(fs, "%s,%d,%llu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f,%.9g\n", an,
                    lrmlp_activation_is_smooth(act_ids[a]), (unsigned long long)seed,
                    r->frac[0], r->frac[1], r->frac[2], r->frac[3], r->gap0, r->gapT, r->loss0,
                    r->lossT, r->acc, r->lr);
            printf("%-10s seed %llu  loss %9.3f -> %9.4f  acc %.3f  blocks 11/12/21/22 "
                   "%.4f %.4f %.4f %.4f  gap %.2e -> %.2e\n",
                   an, (unsigned long long)seed, r->loss0, r->lossT, r->acc, r->frac[0],
                   r->frac[1], r->frac[2], r->frac[3], r->gap0, r->gapT);
            fflush(stdout);
        }
        snprintf(path, sizeof path, "%s/%s_frac_%s.csv", out, pre, an);
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
