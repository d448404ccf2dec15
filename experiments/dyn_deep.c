/* Deeper nets (the paper's Figs. 2, 4, 5 and its Fashion-MNIST setting,
 * docs/dynamics.md): an L-layer bias-free MLP with every hidden W_l(0)
 * eps-scaled orthogonal, trained on synthetic data or Fashion-MNIST; the
 * invariant subspaces of every analysed layer are estimated at
 * initialization (lrmlp_subspace_estimate_*) and a tracker records the block
 * split of W_l(t) - W_l(0) for layers 1..L-1 (the paper's numbering).
 *
 * --profile picks one experiment's defaults; every default can be overridden
 * by the options that follow it (--profile NAME --help lists them):
 *   deep     Fig. 4: ELU, GELU, ReLU x 3 seeds, teacher data, GD on SSE
 *   case     Fig. 2: GELU vs ReLU, one seed, plus the rotation of the top-K,
 *            middle and bottom-K singular subspaces (LAPACKE_dgesdd +
 *            lrmlp_principal_angles)
 *   optim    Fig. 5: raw cluster data, cross-entropy, mini-batches, SGD with
 *            momentum 0.9, Adam and Muon
 *   fashion  784-wide GELU net on a standardized Fashion-MNIST subset,
 *            float32, lr = 2e-5 * 50000 / n
 *
 * Writes to --out DIR (PREFIX = the profile's name unless --prefix):
 *   PREFIX_<optim>_<act>_seed<S>.csv  the tracker's tidy CSV
 *   PREFIX_frac_<optim>_<act>.csv     per record step, for each analysed layer
 *                                     l = 1..: block fractions 11 12 21 22 (mean
 *                                     over seeds) and min/max of block 11
 *   PREFIX_rotation_<act>_seed<S>.csv (with --rotation) rotation of the top-K,
 *                                     middle and bottom-K singular subspaces of
 *                                     W_l(t) against W_l(every) (see rotation_record)
 *   PREFIX_summary.csv                one row per run
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

typedef enum profile { DYN_DEEP, DYN_CASE, DYN_OPTIM, DYN_FASHION } profile;
static const char *const profile_names[] = {"deep", "case", "optim", "fashion"};

#define MAX_LIST 16
#define MAX_L 8
#define PROG "dyn_deep"

static profile g_profile = DYN_DEEP; /* for usage() */

typedef struct config {
    const char *profile, *acts, *optims, *data, *out, *prefix, *loss_name, *fashion_dir;
    size_t seeds, steps, every, n, d, k, width, layers, batch;
    unsigned long long seed0;
    double lr, eps, last_scale, sep, momentum;
    int whiten, rotation, f32;
} config;

static void defaults(config *c, profile p)
{
    c->profile = profile_names[p];
    c->acts = "elu,gelu,relu";
    c->optims = "gd";
    c->data = "teacher";
    c->out = "dyn_out";
    c->prefix = "deep";
    c->loss_name = "sse";
    c->fashion_dir = "/usr/share/datasets/fashion-mnist";
    c->seeds = 3;
    c->steps = 6000;
    c->every = 100;
    c->n = 512;
    c->d = 32;
    c->k = 4;
    c->width = 32;
    c->layers = 4;
    c->batch = 0;
    c->seed0 = 1;
    c->lr = 0.002;
    c->eps = 0.1;
    c->last_scale = 1.0;
    c->sep = 4.0;
    c->momentum = 0.9;
    c->whiten = SYNTH_WHITEN_SECOND_MOMENT;
    c->rotation = 0;
    c->f32 = 0;
    switch (p) {
    case DYN_DEEP:
        break;
    case DYN_CASE:
        c->acts = "gelu,relu";
        c->seeds = 1;
        c->rotation = 1;
        break;
    case DYN_OPTIM:
        c->acts = "gelu";
        c->optims = "sgd,adam,muon";
        c->loss_name = "ce";
        c->data = "clusters";
        c->whiten = SYNTH_RAW;
        c->batch = 64;
        c->steps = 2000;
        c->every = 50;
        c->lr = 0; /* not given: per optimizer, sgd 0.05, adam 1e-3, muon 0.02 */
        break;
    case DYN_FASHION:
        c->acts = "gelu";
        c->data = "fashion";
        c->whiten = SYNTH_RAW;
        c->seeds = 1;
        c->n = 1000;
        c->steps = 100;
        c->every = 25;
        c->width = 784;
        c->lr = 0; /* not given: 2e-5 * 50000 / n */
        c->f32 = 1;
        break;
    }
    c->prefix = profile_names[p];
}

static void usage(FILE *f)
{
    config c;
    defaults(&c, g_profile);
    fprintf(f,
            "usage: %s [--profile deep|case|optim|fashion] [options]\n"
            "  --profile NAME   the experiment whose defaults are used (default deep);\n"
            "                   the other options override them, in any order;\n"
            "                   the defaults below are those of '%s'\n"
            "  --acts LIST      hidden activations (default %s)\n"
            "  --optims LIST    gd sgd adam muon (default %s)\n"
            "  --seeds N        runs per setting, seeds S..S+N-1 (default %zu)\n"
            "  --seed0 S        first seed (default %llu)\n"
            "  --steps N        optimizer steps, rounded up to whole epochs (default %zu)\n"
            "  --lr X           learning rate, > 0 (default %s)\n"
            "  --momentum X     sgd/muon momentum (default %g)\n"
            "  --batch N        mini-batch size, 0 = full batch (default %zu)\n"
            "  --loss NAME      sse or ce (default %s)\n"
            "  --every N        tracker interval in steps (default %zu)\n"
            "  --data NAME      teacher, clusters or fashion (default %s)\n"
            "  --fashion DIR    Fashion-MNIST IDX directory (default %s)\n"
            "  --whiten N       0 raw, 1 whitened X X^T = I uncentered, 2 centered (default %d;\n"
            "                   fashion data is always standardized, never whitened)\n"
            "  --sep X          cluster separation (default %g)\n"
            "  --n N            training samples (default %zu)\n"
            "  --d N            input dimension of synthetic data (default %zu)\n"
            "  --k N            classes K of synthetic data (default %zu)\n"
            "  --width N        hidden width m (default %zu)\n"
            "  --layers N       weight layers L, 2..%d (default %zu)\n"
            "  --eps X          scale of the orthogonal W_l(0), l < L (default %g)\n"
            "  --last-scale X   W_L(0) = X * orthogonal (default %g)\n"
            "  --rotation 0|1   write singular-subspace rotation CSVs (default %d)\n"
            "  --f32            train in float32 (default %s)\n"
            "  --out DIR        output directory (default %s)\n"
            "  --prefix NAME    file name prefix (default %s)\n",
            PROG, c.profile, c.acts, c.optims, c.seeds, c.seed0, c.steps,
            g_profile == DYN_OPTIM     ? "sgd 0.05, adam 1e-3, muon 0.02, gd 0.05"
            : g_profile == DYN_FASHION ? "2e-5 * 50000 / n"
                                       : "0.002",
            c.momentum, c.batch, c.loss_name, c.every, c.data, c.fashion_dir, c.whiten, c.sep,
            c.n, c.d, c.k, c.width, MAX_L, c.layers, c.eps, c.last_scale, c.rotation,
            c.f32 ? "on" : "off", c.out, c.prefix);
}

/* ---- records of one run ---- */
typedef struct capture {
    uint64_t every;
    size_t slots, nl;
    double *frac; /* slots x nl x 4 */
    double *loss; /* slots */
} capture;

static int on_record(void *user, const lrmlp_track_record *rec)
{
    capture *c = user;
    if (rec->quantity != LRMLP_TRACK_BLOCK_FRACTION || rec->layer >= c->nl || rec->index > 3 ||
        rec->step % c->every)
        return 0;
    size_t s = (size_t)(rec->step / c->every);
    if (s < c->slots)
        c->frac[(s * c->nl + rec->layer) * 4 + rec->index] = rec->value;
    return 0;
}

/* ---- singular-subspace rotation (--profile case, --rotation 1) ---- */
typedef struct rotation {
    lrmlp_tracker *tr;
    capture *cap;
    FILE *f;
    size_t nl, k, *rows, *cols;
    double *U0[MAX_L], *V0[MAX_L]; /* t = 0 singular vectors, row-major, columns = vectors */
    double *A, *U, *VT, *S, *Ut, *Vt, *Wb;
    int f32, have_ref;
    char why[256]; /* why the step hook stopped training */
} rotation;

/* Thin SVD of layer l's weights: U (rows x r) and V (cols x r), r = min,
 * columns ordered by decreasing singular value. */
static int layer_svd(rotation *ro, lrmlp_net *net, size_t l, double *Uout, double *Vout)
{
    size_t m = ro->rows[l], n = ro->cols[l], r = m < n ? m : n;
    int rc;
    if (ro->f32) {
        float *w = (float *)ro->Wb;
        rc = lrmlp_net_get_weights_f32(net, l, w);
        for (size_t i = m * n; rc == 0 && i-- > 0;)
            ro->A[i] = w[i];
    } else {
        rc = lrmlp_net_get_weights_f64(net, l, ro->A);
    }
    if (rc) {
        fprintf(stderr, "%s: weights: %s\n", PROG, lrmlp_last_errmsg());
        return rc;
    }
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)m, (lapack_int)n, ro->A,
                                     (lapack_int)n, ro->S, ro->U, (lapack_int)r, ro->VT,
                                     (lapack_int)n);
    if (info) {
        fprintf(stderr, "%s: dgesdd failed (info %d)\n", PROG, (int)info);
        return LRMLP_ERR_LINALG;
    }
    memcpy(Uout, ro->U, m * r * sizeof *Uout);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r; j++)
            Vout[i * r + j] = ro->VT[j * n + i];
    return 0;
}

/* ||sin Theta||_2 / sqrt(w) between columns [c0, c0 + w) of A and B (n x r). */
static double rot_cols(const double *A, const double *B, size_t n, size_t r, size_t c0, size_t w,
                       double *sa, double *sb)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w; j++) {
            sa[i * w + j] = A[i * r + c0 + j];
            sb[i * w + j] = B[i * r + c0 + j];
        }
    return lrmlp_principal_angles(sa, sb, n, w, NULL) / sqrt((double)w);
}

/* At t = 0 every W_l(0) = eps Q has all singular values equal to eps, so its
 * singular subspaces are not defined. The reference is therefore W_l at the
 * first record after step 0 (step `every`): rows start there, at 0. */
static int rotation_record(rotation *ro, lrmlp_net *net, uint64_t step)
{
    if (step == 0)
        return 0;
    if (!ro->have_ref) {
        for (size_t l = 0; l < ro->nl; l++) {
            int rc = layer_svd(ro, net, l, ro->U0[l], ro->V0[l]);
            if (rc)
                return rc;
        }
        ro->have_ref = 1;
    }
    fprintf(ro->f, "%llu", (unsigned long long)step);
    for (size_t l = 0; l < ro->nl; l++) {
        size_t m = ro->rows[l], n = ro->cols[l], r = m < n ? m : n, k = ro->k;
        int rc = layer_svd(ro, net, l, ro->Ut, ro->Vt);
        if (rc)
            return rc;
        double *sa = ro->A, *sb = ro->A + (m > n ? m : n) * r; /* scratch */
        size_t mid = r > 2 * k ? r - 2 * k : 0;
        for (int side = 0; side < 2; side++) {
            const double *P = side ? ro->V0[l] : ro->U0[l], *Q = side ? ro->Vt : ro->Ut;
            size_t rows = side ? n : m;
            double top = rot_cols(P, Q, rows, r, 0, k, sa, sb);
            double midv = mid ? rot_cols(P, Q, rows, r, k, mid, sa, sb) : NAN;
            double bot = rot_cols(P, Q, rows, r, r - k, k, sa, sb);
            fprintf(ro->f, ",%.9g,%.9g,%.9g", top, midv, bot);
        }
    }
    fprintf(ro->f, "\n");
    return 0;
}

static int step_hook(void *user, lrmlp_net *net, const lrmlp_step_info *info)
{
    rotation *ro = user;
    int rc = lrmlp_tracker_on_step(ro->tr, net, info);
    if (rc) { /* training will overwrite the last error with its own */
        snprintf(ro->why, sizeof ro->why, "tracker: %s", lrmlp_last_errmsg());
        return rc;
    }
    if (info->step % ro->cap->every == 0)
        ro->cap->loss[info->step / ro->cap->every < ro->cap->slots
                          ? info->step / ro->cap->every
                          : ro->cap->slots - 1] = info->loss;
    if (ro->f && info->step % ro->cap->every == 0 && rotation_record(ro, net, info->step)) {
        snprintf(ro->why, sizeof ro->why, "rotation failed");
        return 1;
    }
    return 0;
}

static void rotation_free(rotation *ro)
{
    for (size_t l = 0; l < MAX_L; l++) {
        free(ro->U0[l]);
        free(ro->V0[l]);
    }
    free(ro->A);
    free(ro->U);
    free(ro->VT);
    free(ro->S);
    free(ro->Ut);
    free(ro->Vt);
    free(ro->Wb);
    if (ro->f && fclose(ro->f))
        perror("rotation csv");
}

static int rotation_init(rotation *ro, lrmlp_net *net, size_t nl, size_t k, int f32,
                         const char *path)
{
    size_t big = 0;
    for (size_t l = 0; l < nl; l++) {
        size_t m = lrmlp_net_width(net, l + 1), n = lrmlp_net_width(net, l);
        if (m * n > big)
            big = m * n;
        if ((m < n ? m : n) < 2 * k) {
            fprintf(stderr, "%s: rotation needs min(in, out) >= 2K\n", PROG);
            return LRMLP_ERR_SHAPE;
        }
    }
    ro->nl = nl;
    ro->k = k;
    ro->f32 = f32;
    ro->A = malloc(2 * big * sizeof(double) + 64);
    ro->U = malloc(big * sizeof(double));
    ro->VT = malloc(big * sizeof(double));
    ro->S = malloc(big * sizeof(double));
    ro->Ut = malloc(big * sizeof(double));
    ro->Vt = malloc(big * sizeof(double));
    ro->Wb = malloc(big * sizeof(double));
    ro->rows = malloc(nl * sizeof(size_t));
    ro->cols = malloc(nl * sizeof(size_t));
    if (!ro->A || !ro->U || !ro->VT || !ro->S || !ro->Ut || !ro->Vt || !ro->Wb || !ro->rows ||
        !ro->cols)
        return LRMLP_ERR_NOMEM;
    for (size_t l = 0; l < nl; l++) {
        ro->rows[l] = lrmlp_net_width(net, l + 1);
        ro->cols[l] = lrmlp_net_width(net, l);
        ro->U0[l] = malloc(big * sizeof(double));
        ro->V0[l] = malloc(big * sizeof(double));
        if (!ro->U0[l] || !ro->V0[l])
            return LRMLP_ERR_NOMEM;
    }
    ro->f = fopen(path, "w");
    if (!ro->f) {
        perror(path);
        return LRMLP_ERR_IO;
    }
    fprintf(ro->f, "step");
    for (size_t l = 1; l <= nl; l++)
        fprintf(ro->f, ",L%zu_top_left,L%zu_mid_left,L%zu_bottom_left,L%zu_top_right,"
                       "L%zu_mid_right,L%zu_bottom_right",
                l, l, l, l, l, l);
    fprintf(ro->f, "\n");
    return 0;
}

/* ---- data ---- */
static int load_fashion(const config *c, uint64_t seed, lrmlp_dataset **out)
{
    lrmlp_dataset *all = NULL;
    int rc = ex_load_idx(c->fashion_dir, "train", &all);
    if (rc) {
        fprintf(stderr, "%s: cannot load %s: %s\n", PROG, c->fashion_dir,
                lrmlp_last_errmsg());
        return rc;
    }
    size_t n = c->n < lrmlp_dataset_size(all) ? c->n : lrmlp_dataset_size(all);
    if ((rc = lrmlp_dataset_shuffle(all, seed)) ||
        (rc = lrmlp_dataset_split(all, n, out, NULL))) {
        fprintf(stderr, "%s: subset: %s\n", PROG, lrmlp_last_errmsg());
        lrmlp_dataset_free(all);
        return rc;
    }
    lrmlp_dataset_free(all);
    if ((rc = lrmlp_dataset_standardize(*out, LRMLP_STANDARDIZE_GLOBAL, NULL))) {
        fprintf(stderr, "%s: standardize: %s\n", PROG, lrmlp_last_errmsg());
        lrmlp_dataset_free(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct run_result {
    double frac[MAX_L][4], loss0, lossT, acc;
    size_t steps;
} run_result;

static int run_one(const config *c, lrmlp_optim_kind okind, lrmlp_activation act, uint64_t seed,
                   const lrmlp_dataset *ds, const void *X, const void *T, capture *cap,
                   const char *csv, const char *rot_csv, run_result *res)
{
    int rc = 0;
    lrmlp_net *net = NULL;
    lrmlp_subspace *ss = NULL;
    lrmlp_tracker *tr = NULL;
    lrmlp_optim *opt = NULL;
    rotation ro;
    memset(&ro, 0, sizeof ro);
    size_t n = lrmlp_dataset_size(ds), K = lrmlp_dataset_target_dim(ds);
    size_t widths[MAX_L + 1];
    widths[0] = lrmlp_dataset_dim(ds);
    for (size_t l = 1; l < c->layers; l++)
        widths[l] = c->width;
    widths[c->layers] = K;
    lrmlp_loss loss = strcmp(c->loss_name, "ce") ? LRMLP_LOSS_SSE : LRMLP_LOSS_CROSS_ENTROPY;

    if ((rc = dyn_make_net(&net, c->f32 ? LRMLP_F32 : LRMLP_F64, c->layers, widths, act, c->eps,
                           LRMLP_INIT_ORTHOGONAL, c->last_scale, seed)))
        goto done;
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.k = K;
    so.eps = c->eps;
    rc = c->f32 ? lrmlp_subspace_estimate_f32(&ss, net, X, T, n, loss, &so)
                : lrmlp_subspace_estimate_f64(&ss, net, X, T, n, loss, &so);
    if (rc) {
        fprintf(stderr, "%s: subspace estimate: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    size_t nl = lrmlp_subspace_n_layers(ss);
    if (nl > c->layers - 1)
        nl = c->layers - 1;
    /* only layers with output bases get block fractions */
    for (size_t l = 0; l < nl; l++) {
        int has_u = 0;
        if (lrmlp_subspace_layer_dims(ss, l, NULL, NULL, NULL, &has_u) || !has_u) {
            nl = l;
            break;
        }
    }
    cap->nl = nl;
    for (size_t i = 0; i < cap->slots * MAX_L * 4; i++)
        cap->frac[i] = NAN;
    for (size_t i = 0; i < cap->slots; i++)
        cap->loss[i] = NAN;
    lrmlp_tracker_options tro = LRMLP_TRACKER_OPTIONS_INIT;
    tro.every = cap->every;
    tro.k = K;
    tro.sv_count = c->width > 64 ? 16 : 0;
    tro.csv_path = csv;
    tro.on_record = on_record;
    tro.on_record_user = cap;
    if ((rc = lrmlp_tracker_create(&tr, net, ss, &tro))) {
        fprintf(stderr, "%s: tracker: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    ro.tr = tr;
    ro.cap = cap;
    if (rot_csv && (rc = rotation_init(&ro, net, c->layers - 1, K, c->f32, rot_csv))) {
        fprintf(stderr, "%s: rotation setup failed (%s)\n", PROG, lrmlp_strerror(rc));
        goto done;
    }
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = okind;
    oo.lr = c->lr;
    if (!(oo.lr > 0)) {
        if (!strcmp(c->data, "fashion"))
            oo.lr = 2e-5 * 50000.0 / (double)n;
        else
            oo.lr = okind == LRMLP_OPTIM_ADAM ? 1e-3 : okind == LRMLP_OPTIM_MUON ? 0.02 : 0.05;
    }
    if (okind == LRMLP_OPTIM_SGD || okind == LRMLP_OPTIM_MUON)
        oo.momentum = c->momentum;
    if ((rc = lrmlp_optim_create(&opt, net, &oo))) {
        fprintf(stderr, "%s: optimizer: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    lrmlp_eval_result ev;
    if ((rc = lrmlp_evaluate(net, ds, loss, 0, &ev))) {
        fprintf(stderr, "%s: evaluate: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    res->loss0 = ev.loss;
    cap->loss[0] = ev.loss;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = loss;
    to.batch_size = c->batch;
    to.shuffle = c->batch != 0;
    to.on_step = step_hook;
    to.on_step_user = &ro;
    while (lrmlp_optim_steps(opt) < c->steps) {
        lrmlp_epoch_stats st;
        if ((rc = lrmlp_train_epoch(net, opt, ds, &to, &st))) {
            fprintf(stderr, "%s: step %llu: %s", PROG,
                    (unsigned long long)lrmlp_optim_steps(opt) + 1, lrmlp_last_errmsg());
            if (rc == LRMLP_ERR_STOPPED)
                fprintf(stderr, " (%s)", ro.why);
            fprintf(stderr, "\n");
            goto done;
        }
        if (!strcmp(c->data, "fashion") && lrmlp_optim_steps(opt) % 25 == 0) {
            printf("  step %5llu  loss %.4f  train_acc %.4f  %.2f s/step\n",
                   (unsigned long long)lrmlp_optim_steps(opt), st.loss, st.accuracy,
                   st.seconds / (double)st.steps);
            fflush(stdout);
        }
    }
    res->steps = (size_t)lrmlp_optim_steps(opt);
    if ((rc = lrmlp_tracker_flush(tr))) {
        fprintf(stderr, "%s: tracker flush: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    if (res->steps % cap->every && (rc = lrmlp_tracker_record(tr, net, res->steps))) {
        fprintf(stderr, "%s: tracker record: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    if ((rc = lrmlp_evaluate(net, ds, loss, 0, &ev))) {
        fprintf(stderr, "%s: evaluate: %s\n", PROG, lrmlp_last_errmsg());
        goto done;
    }
    res->lossT = ev.loss;
    res->acc = ev.accuracy;
    for (size_t l = 0; l < MAX_L; l++)
        for (int b = 0; b < 4; b++)
            res->frac[l][b] =
                l < nl ? lrmlp_tracker_last(tr, l, LRMLP_TRACK_BLOCK_FRACTION, (size_t)b) : NAN;
done:
    rotation_free(&ro);
    free(ro.rows);
    free(ro.cols);
    lrmlp_optim_free(opt);
    lrmlp_tracker_free(tr);
    lrmlp_subspace_free(ss);
    lrmlp_net_free(net);
    return rc;
}

static int parse_optim(const char *s, lrmlp_optim_kind *k)
{
    if (!strcmp(s, "gd"))
        *k = LRMLP_OPTIM_GD;
    else if (!strcmp(s, "sgd"))
        *k = LRMLP_OPTIM_SGD;
    else if (!strcmp(s, "adam"))
        *k = LRMLP_OPTIM_ADAM;
    else if (!strcmp(s, "muon"))
        *k = LRMLP_OPTIM_MUON;
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    config c;
    defaults(&c, DYN_DEEP);
    const ex_opt opts[] = {
        EX_OPT_STR("--profile", &c.profile),
        EX_OPT_STR("--acts", &c.acts),
        EX_OPT_STR("--optims", &c.optims),
        EX_OPT_COUNT("--seeds", &c.seeds),
        EX_OPT_ULL("--seed0", &c.seed0),
        EX_OPT_COUNT("--steps", &c.steps),
        EX_OPT_POS("--lr", &c.lr),
        EX_OPT_DOUBLE("--momentum", &c.momentum),
        EX_OPT_SIZE("--batch", &c.batch),
        EX_OPT_STR("--loss", &c.loss_name),
        EX_OPT_COUNT("--every", &c.every),
        EX_OPT_STR("--data", &c.data),
        EX_OPT_STR("--fashion", &c.fashion_dir),
        EX_OPT_INT("--whiten", &c.whiten),
        EX_OPT_DOUBLE("--sep", &c.sep),
        EX_OPT_SIZE("--n", &c.n),
        EX_OPT_COUNT("--d", &c.d),
        EX_OPT_COUNT("--k", &c.k),
        EX_OPT_COUNT("--width", &c.width),
        EX_OPT_SIZE("--layers", &c.layers),
        EX_OPT_POS("--eps", &c.eps),
        EX_OPT_POS("--last-scale", &c.last_scale),
        EX_OPT_INT("--rotation", &c.rotation),
        EX_OPT_FLAG("--f32", &c.f32),
        EX_OPT_STR("--out", &c.out),
        EX_OPT_STR("--prefix", &c.prefix),
        EX_OPT_END,
    };
    /* A first, silent pass finds --profile; the second applies every option
     * over that profile's defaults (and prints --help with them). */
    ex_parse_options(argc, argv, PROG, opts, NULL);
    const char *pname = c.profile;
    int found = 0;
    for (int p = 0; p < (int)(sizeof profile_names / sizeof *profile_names); p++)
        if (!strcmp(pname, profile_names[p])) {
            g_profile = (profile)p;
            found = 1;
        }
    if (!found)
        return ex_bad_usage(PROG, "unknown --profile '%s' (deep, case, optim or fashion)", pname);
    defaults(&c, g_profile);
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    int fashion = !strcmp(c.data, "fashion");
    synth_kind kind = SYNTH_TEACHER;
    if (!fashion && synth_kind_from_name(c.data, &kind))
        return ex_bad_usage(PROG, "unknown --data '%s' (teacher, clusters or fashion)", c.data);
    if (strcmp(c.loss_name, "sse") && strcmp(c.loss_name, "ce"))
        return ex_bad_usage(PROG, "--loss must be sse or ce, not '%s'", c.loss_name);
    if (c.layers < 2 || c.layers > MAX_L)
        return ex_bad_usage(PROG, "--layers must be 2..%d", MAX_L);
    if (c.n < 2 || c.whiten < 0 || c.whiten > 2 || c.rotation < 0 || c.rotation > 1 ||
        !(c.momentum >= 0 && c.momentum < 1))
        return ex_bad_usage(PROG, "need --n >= 2, --whiten 0..2, --rotation 0|1, "
                                  "0 <= --momentum < 1");
    char abuf[512], obuf[512];
    const char *acts[MAX_LIST], *optims[MAX_LIST];
    lrmlp_activation act_ids[MAX_LIST];
    lrmlp_optim_kind opt_ids[MAX_LIST];
    int n_acts = dyn_split_list(c.acts, abuf, sizeof abuf, acts, MAX_LIST);
    int n_opts = dyn_split_list(c.optims, obuf, sizeof obuf, optims, MAX_LIST);
    if (n_acts < 1 || n_opts < 1)
        return ex_bad_usage(PROG, "bad --acts or --optims list");
    for (int a = 0; a < n_acts; a++)
        if (lrmlp_activation_from_name(acts[a], &act_ids[a]))
            return ex_bad_usage(PROG, "unknown activation '%s'", acts[a]);
    for (int o = 0; o < n_opts; o++)
        if (parse_optim(optims[o], &opt_ids[o]))
            return ex_bad_usage(PROG, "unknown optimizer '%s' (gd, sgd, adam or muon)",
                                optims[o]);
    if (dyn_mkdir_p(c.out))
        return 1;
    size_t slots = c.steps / c.every + 2;
    capture cap = {c.every, slots, 0, malloc(slots * MAX_L * 4 * sizeof(double)),
                   malloc(slots * sizeof(double))};
    size_t nruns = (size_t)n_opts * (size_t)n_acts * c.seeds;
    run_result *res = calloc(nruns, sizeof *res);
    double *acc = malloc(slots * MAX_L * 6 * sizeof(double)), *accl = malloc(slots * sizeof(double));
    if (!cap.frac || !cap.loss || !res || !acc || !accl) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_summary.csv", c.out, c.prefix);
    FILE *fs = fopen(path, "w");
    if (!fs) {
        perror(path);
        return 1;
    }
    fprintf(fs, "optimizer,activation,seed,layer,frac11,frac12,frac21,frac22,loss0,lossT,"
                "accuracy,steps\n");
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("# %s\n# %s --profile %s: L=%zu width=%zu data=%s n=%zu%s loss=%s batch=%zu eps=%g "
           "W_L scale=%g steps=%zu seeds=%zu %s\n",
           info, PROG, c.profile, c.layers, c.width, c.data, c.n,
           fashion ? " (standardized)"
           : c.whiten == SYNTH_RAW ? " (raw)"
           : c.whiten == SYNTH_WHITEN_CENTERED ? " (whitened, centered)"
                                               : " (whitened, X X^T = I)",
           c.loss_name, c.batch, c.eps, c.last_scale, c.steps, c.seeds,
           c.f32 ? "float32" : "float64");
    fflush(stdout);
    size_t nl_all = 0, run = 0;
    for (int o = 0; o < n_opts; o++) {
        for (int a = 0; a < n_acts; a++) {
            const char *an = lrmlp_activation_name(act_ids[a]), *on = optims[o];
            for (size_t i = 0; i < slots * MAX_L * 6; i++)
                acc[i] = (i % 6) == 4 ? INFINITY : (i % 6) == 5 ? -INFINITY : 0;
            for (size_t i = 0; i < slots; i++)
                accl[i] = 0;
            for (size_t s = 0; s < c.seeds; s++, run++) {
                uint64_t seed = c.seed0 + s;
                lrmlp_dataset *ds = NULL;
                void *X = NULL, *T = NULL;
                int rc = fashion ? load_fashion(&c, seed, &ds)
                                 : synth_dataset(kind, c.n, c.d, c.k, c.sep, seed, c.whiten, &ds);
                if (rc)
                    return 1;
                size_t n = lrmlp_dataset_size(ds), d = lrmlp_dataset_dim(ds),
                       kk = lrmlp_dataset_target_dim(ds);
                size_t es = c.f32 ? sizeof(float) : sizeof(double);
                X = malloc(n * d * es);
                T = malloc(n * kk * es);
                if (!X || !T) {
                    fprintf(stderr, "%s: out of memory\n", PROG);
                    return 1;
                }
                rc = c.f32 ? lrmlp_dataset_batch_f32(ds, NULL, 0, n, X, T)
                           : lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, T);
                if (rc) {
                    fprintf(stderr, "%s: batch: %s\n", PROG, lrmlp_last_errmsg());
                    return 1;
                }
                char csv[4096], rot[4096];
                snprintf(csv, sizeof csv, "%s/%s_%s_%s_seed%llu.csv", c.out, c.prefix, on, an,
                         (unsigned long long)seed);
                snprintf(rot, sizeof rot, "%s/%s_rotation_%s_seed%llu.csv", c.out, c.prefix, an,
                         (unsigned long long)seed);
                run_result *r = &res[run];
                rc = run_one(&c, opt_ids[o], act_ids[a], seed, ds, X, T, &cap, csv,
                             c.rotation ? rot : NULL, r);
                free(X);
                free(T);
                lrmlp_dataset_free(ds);
                if (rc)
                    return 1;
                nl_all = cap.nl;
                for (size_t i = 0; i < slots; i++) {
                    accl[i] += cap.loss[i] / (double)c.seeds;
                    for (size_t l = 0; l < cap.nl; l++) {
                        double *q = acc + (i * MAX_L + l) * 6, *f = cap.frac + (i * cap.nl + l) * 4;
                        for (int b = 0; b < 4; b++)
                            q[b] += f[b] / (double)c.seeds;
                        q[4] = fmin(q[4], f[0]);
                        q[5] = fmax(q[5], f[0]);
                    }
                }
                printf("%-5s %-10s seed %llu  %zu steps  loss %.4g -> %.4g  acc %.3f  block11",
                       on, an, (unsigned long long)seed, r->steps, r->loss0, r->lossT, r->acc);
                for (size_t l = 0; l < cap.nl; l++) {
                    printf(" L%zu %.3f", l + 1, r->frac[l][0]);
                    fprintf(fs, "%s,%s,%llu,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f,%zu\n", on, an,
                            (unsigned long long)seed, l + 1, r->frac[l][0], r->frac[l][1],
                            r->frac[l][2], r->frac[l][3], r->loss0, r->lossT, r->acc, r->steps);
                }
                printf("\n");
                fflush(stdout);
            }
            snprintf(path, sizeof path, "%s/%s_frac_%s_%s.csv", c.out, c.prefix, on, an);
            FILE *f = fopen(path, "w");
            if (!f) {
                perror(path);
                return 1;
            }
            fprintf(f, "step,loss");
            for (size_t l = 1; l <= cap.nl; l++)
                fprintf(f, ",L%zu_11,L%zu_12,L%zu_21,L%zu_22,L%zu_11min,L%zu_11max", l, l, l, l,
                        l, l);
            fprintf(f, "\n");
            for (size_t i = 0; i < slots; i++) {
                if (i * c.every > res[run - 1].steps)
                    break;
                fprintf(f, "%llu,%.9g", (unsigned long long)(i * c.every), accl[i]);
                for (size_t l = 0; l < cap.nl; l++) {
                    const double *q = acc + (i * MAX_L + l) * 6;
                    fprintf(f, ",%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", q[0], q[1], q[2], q[3], q[4],
                            q[5]);
                }
                fprintf(f, "\n");
            }
            if (fclose(f)) {
                perror(path);
                return 1;
            }
        }
    }
    if (fclose(fs)) {
        perror("summary csv");
        return 1;
    }
    printf("\noptim activation layer  block11 mean [min, max]    block12  block21  block22  "
           "loss(end)  acc\n");
    run = 0;
    for (int o = 0; o < n_opts; o++)
        for (int a = 0; a < n_acts; a++, run += c.seeds)
            for (size_t l = 0; l < nl_all; l++) {
                double f[4] = {0, 0, 0, 0}, lo = INFINITY, hi = -INFINITY, ls = 0, ac = 0;
                for (size_t s = 0; s < c.seeds; s++) {
                    const run_result *r = &res[run + s];
                    for (int b = 0; b < 4; b++)
                        f[b] += r->frac[l][b] / (double)c.seeds;
                    lo = fmin(lo, r->frac[l][0]);
                    hi = fmax(hi, r->frac[l][0]);
                    ls += r->lossT / (double)c.seeds;
                    ac += r->acc / (double)c.seeds;
                }
                printf("%-5s %-10s %5zu  %.4f [%.4f, %.4f]   %.4f   %.4f   %.4f  %9.4g  %.3f\n",
                       optims[o], lrmlp_activation_name(act_ids[a]), l + 1, f[0], lo, hi, f[1],
                       f[2], f[3], ls, ac);
            }
    free(cap.frac);
    free(cap.loss);
    free(res);
    free(acc);
    free(accl);
    return 0;
}
