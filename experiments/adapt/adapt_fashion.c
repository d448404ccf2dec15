/* Adaptation and compression on Fashion-MNIST (docs/adaptation.md).
 *
 *   shift:    pretrain 784-m-m-5 on classes 0-4, adapt to classes 5-9 with a
 *             fresh output layer;
 *   rotate:   pretrain 784-m-m-10 on the images, adapt to the images rotated
 *             by 90 degrees;
 *   project:  how much of full fine-tuning's change of each hidden layer lies
 *             in the top-r singular subspaces of the new task's gradient at
 *             the start, of the pretrained weights, or of a random subspace;
 *   compress: truncated-SVD factorization of the rotate task's base at rank r,
 *             then fine-tuned, against a rank-r low-rank net trained from
 *             S_big from scratch.
 *
 * Methods of the adaptation tasks: full fine-tuning, the last layer only, and
 * adapters (LoRA, PiSSA, GRADIENT) of rank r on both hidden layers with the
 * last layer trainable. Every run: Adam, constant lr, batch 64. Results go
 * to CSV files in --out; the rank suggestion from the gradient's spectrum is
 * written next to them. */
#include "lowrank_common.h"

#include <lrmlp.h>

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NRANK_MAX 16

static const char *data_dir = LRX_DEFAULT_DATA;
static const char *out_dir = ".";
static const char *part = "all";
static const char *ranks_arg = "1,2,4,8,16,32";
static const char *cranks_arg = "4,8,16,32,64";
static size_t n_pre = 10000, n_adapt = 5000, width = 256, batch = 64;
static long pre_epochs = 5, epochs = 3;
static int seeds = 3;
static double lr = 1e-3, scale = 1.0;

static size_t ranks[NRANK_MAX], n_ranks, cranks[NRANK_MAX], n_cranks;

typedef struct raw {
    float *X;        /* n x 784, raw pixels */
    int32_t *y;
    size_t n;
} raw;

static void usage(FILE *f)
{
    fprintf(f, "usage: adapt_fashion [--data DIR] [--out DIR] [--part shift|rotate|project|compress|all]\n"
               "  [--n-pre N] [--n-adapt N] [--width M] [--pre-epochs E] [--epochs E]\n"
               "  [--ranks LIST] [--compress-ranks LIST] [--seeds S] [--lr LR] [--batch B]\n"
               "  [--scale S (of LoRA's and GRADIENT's A)]\n");
}

static int load_raw(const char *prefix, raw *r)
{
    lrmlp_dataset *ds = NULL;
    if (ex_load_fashion("adapt_fashion", data_dir, prefix, &ds))
        return 1;
    r->n = lrmlp_dataset_size(ds);
    r->X = malloc(r->n * 784 * sizeof *r->X);
    r->y = malloc(r->n * sizeof *r->y);
    int rc = !r->X || !r->y || lrmlp_dataset_batch_f32(ds, NULL, 0, r->n, r->X, NULL) ||
             lrmlp_dataset_labels(ds, NULL, 0, r->n, r->y);
    lrmlp_dataset_free(ds);
    return rc;
}

/* A dataset of the samples [from, ...) of src whose label passes keep
 * (label_lo <= y < label_hi), at most n, relabelled y - label_lo; rotated
 * by 90 degrees when rot. */
static lrmlp_dataset *subset(const raw *src, size_t from, size_t n, int lo, int hi, int rot,
                             const lrmlp_dataset *ref, size_t *next)
{
    float *X = malloc(n * 784 * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    size_t k = 0, i = from;
    for (; i < src->n && k < n; i++) {
        if (src->y[i] < lo || src->y[i] >= hi)
            continue;
        const float *img = src->X + i * 784;
        float *dst = X + k * 784;
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) /* rotate: dst(r, c) = img(27 - c, r) */
                dst[r * 28 + c] = rot ? img[(27 - c) * 28 + r] : img[r * 28 + c];
        y[k++] = src->y[i] - lo;
    }
    if (next)
        *next = i;
    lrmlp_dataset *ds = NULL;
    if (lrmlp_dataset_from_labels_f32(&ds, X, k, 784, y, (size_t)(hi - lo)) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, ref)) {
        fprintf(stderr, "dataset: %s\n", lrmlp_last_errmsg());
        exit(1);
    }
    free(X);
    free(y);
    return ds;
}

static size_t trainable(const lrmlp_net *net)
{
    size_t t = 0;
    for (size_t l = 0; l < lrmlp_net_n_layers(net); l++)
        if (!lrmlp_net_is_frozen(net, l))
            t += lrmlp_net_width(net, l) * lrmlp_net_width(net, l + 1) +
                 (lrmlp_net_has_bias(net) ? lrmlp_net_width(net, l + 1) : 0);
    return t;
}

static void die(const char *what)
{
    fprintf(stderr, "adapt_fashion: %s: %s\n", what, lrmlp_last_errmsg());
    exit(1);
}

/* Trains for ep epochs; returns the mean seconds per epoch. */
static double train(lrmlp_net *net, const lrmlp_dataset *ds, long ep)
{
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = lr;
    lrmlp_optim *opt = NULL;
    if (lrmlp_optim_create(&opt, net, &oo))
        die("optim");
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = batch;
    double sec = 0;
    for (long e = 0; e < ep; e++) {
        lrmlp_epoch_stats st;
        if (lrmlp_train_epoch(net, opt, ds, &to, &st))
            die("train");
        sec += st.seconds;
    }
    lrmlp_optim_free(opt);
    return ep > 0 ? sec / (double)ep : 0;
}

static double accuracy(lrmlp_net *net, const lrmlp_dataset *ds)
{
    lrmlp_eval_result r;
    if (lrmlp_evaluate(net, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &r))
        die("evaluate");
    return r.accuracy;
}

static lrmlp_net *pretrain(const lrmlp_dataset *ds, size_t K)
{
    size_t w[] = { 784, width, width, K };
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 3;
    no.widths = w;
    no.hidden_activation = LRMLP_ACT_GELU;
    no.bias = 1;
    no.seed = 1;
    lrmlp_net *net = NULL;
    if (lrmlp_net_create(&net, &no))
        die("net");
    train(net, ds, pre_epochs);
    return net;
}

static FILE *open_out(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

/* The rank suggestion from the spectrum of the new task's gradient of each
 * hidden layer (with the task's starting output layer). */
static void suggest(const char *task, const lrmlp_net *start, const lrmlp_dataset *ds)
{
    lrmlp_net *g = NULL;
    if (lrmlp_net_clone(&g, start))
        die("clone");
    size_t n = lrmlp_dataset_size(ds), K = lrmlp_dataset_target_dim(ds);
    float *X = malloc(n * 784 * sizeof *X), *T = malloc(n * K * sizeof *T);
    if (lrmlp_dataset_batch_f32(ds, NULL, 0, n, X, T) ||
        lrmlp_net_gradient_f32(g, X, T, n, LRMLP_LOSS_CROSS_ENTROPY, NULL))
        die("gradient");
    char name[256];
    snprintf(name, sizeof name, "spectrum_%s.csv", task);
    FILE *f = open_out(name);
    fprintf(f, "layer,index,sv\n");
    snprintf(name, sizeof name, "suggest_%s.csv", task);
    FILE *fs = open_out(name);
    fprintf(fs, "layer,r_energy90,r_energy99,r_gap\n");
    for (size_t l = 0; l < 2; l++) {
        size_t in = lrmlp_net_width(g, l), out = lrmlp_net_width(g, l + 1);
        size_t mn = in < out ? in : out;
        double *G = malloc(in * out * sizeof *G), *sv = malloc(mn * sizeof *sv);
        float *Gf = malloc(in * out * sizeof *Gf);
        if (lrmlp_net_get_weight_grad_f32(g, l, Gf))
            die("grad");
        for (size_t i = 0; i < in * out; i++)
            G[i] = Gf[i];
        size_t r90, r99, rg;
        if (lrmlp_singular_values(G, out, in, sv) ||
            lrmlp_rank_suggest(sv, mn, 0.9, &r90, &rg) ||
            lrmlp_rank_suggest(sv, mn, 0.99, &r99, NULL))
            die("rank_suggest");
        for (size_t i = 0; i < mn && i < 64; i++)
            fprintf(f, "%zu,%zu,%.6g\n", l, i + 1, sv[i]);
        fprintf(fs, "%zu,%zu,%zu,%zu\n", l, r90, r99, rg);
        printf("%s: layer %zu gradient spectrum: r(90%%) = %zu, r(99%%) = %zu, gap r = %zu\n",
               task, l, r90, r99, rg);
        free(G);
        free(Gf);
        free(sv);
    }
    fclose(f);
    fclose(fs);
    free(X);
    free(T);
    lrmlp_net_free(g);
}

static void adapt_task(const char *task, lrmlp_net *base, const lrmlp_dataset *tr,
                       const lrmlp_dataset *te, int fresh_head)
{
    char name[256];
    snprintf(name, sizeof name, "adapt_%s.csv", task);
    FILE *f = open_out(name);
    fprintf(f, "method,rank,seed,trainable,bytes_per_step,test_acc,sec_per_epoch\n");
    for (int s = 0; s < seeds; s++) {
        /* the starting point shared by every method of this seed */
        lrmlp_net *start = NULL;
        if (lrmlp_net_clone(&start, base))
            die("clone");
        if (fresh_head && (lrmlp_net_seed(start, 1000 + (uint64_t)s) ||
                           lrmlp_net_init_layer(start, 2, LRMLP_INIT_TORCH_DEFAULT, 1.0)))
            die("head");
        if (s == 0)
            suggest(task, start, tr);
        for (int m = 0; m < 2; m++) { /* full, head */
            lrmlp_net *net = NULL;
            if (lrmlp_net_clone(&net, start) || lrmlp_net_seed(net, 1 + (uint64_t)s))
                die("clone");
            if (m == 1)
                for (size_t l = 0; l < 2; l++)
                    lrmlp_net_set_frozen(net, l, 1);
            double sec = train(net, tr, epochs), acc = accuracy(net, te);
            size_t t = trainable(net);
            fprintf(f, "%s,0,%d,%zu,%zu,%.4f,%.3f\n", m ? "head" : "full", s, t,
                    lrmlp_net_param_count(net) * sizeof(float), acc, sec);
            printf("%s seed %d %-5s trainable %7zu acc %.4f  %.2f s/epoch\n", task, s,
                   m ? "head" : "full", t, acc, sec);
            fflush(f);
            fflush(stdout);
            lrmlp_net_free(net);
        }
        static const char *names[] = { "lora", "pissa", "gradient" };
        for (size_t ri = 0; ri < n_ranks; ri++)
            for (int init = 0; init < LRMLP_ADAPTER_INIT_COUNT_; init++) {
                size_t rk[3] = { ranks[ri], ranks[ri], 0 };
                lrmlp_adapter_options ao = LRMLP_ADAPTER_OPTIONS_INIT;
                ao.ranks = rk;
                ao.init = (lrmlp_adapter_init)init;
                ao.train_last = 1;
                ao.seed = 1 + (uint64_t)s;
                ao.scale = scale;
                ao.data = tr;
                lrmlp_net *ad = NULL;
                if (lrmlp_adapter_create(&ad, start, &ao))
                    die("adapter_create");
                double sec = train(ad, tr, epochs), acc = accuracy(ad, te);
                size_t t = trainable(ad);
                fprintf(f, "%s,%zu,%d,%zu,%zu,%.4f,%.3f\n", names[init], ranks[ri], s, t,
                        lrmlp_net_param_count(ad) * sizeof(float), acc, sec);
                printf("%s seed %d %-8s r %3zu trainable %7zu acc %.4f  %.2f s/epoch\n", task,
                       s, names[init], ranks[ri], t, acc, sec);
                fflush(f);
                fflush(stdout);
                lrmlp_net_free(ad);
            }
        lrmlp_net_free(start);
    }
    fclose(f);
}

/* Thin SVD of the rows x cols matrix M (copied): U (rows x k), Vt (k x cols). */
static void svd(const double *M, size_t rows, size_t cols, double *U, double *Vt)
{
    size_t k = rows < cols ? rows : cols;
    double *A = malloc(rows * cols * sizeof *A), *S = malloc(k * sizeof *S);
    memcpy(A, M, rows * cols * sizeof *A);
    if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)rows, (lapack_int)cols, A,
                       (lapack_int)cols, S, U, (lapack_int)k, Vt, (lapack_int)cols)) {
        fprintf(stderr, "adapt_fashion: SVD failed\n");
        exit(1);
    }
    free(A);
    free(S);
}

/* Fraction of ||D||_F^2 (D out x in) in the span of the first r right
 * singular vectors (rows of Vt, k x in): ||D V_r||^2 / ||D||^2, or of the
 * first r left ones (columns of U, out x k): ||U_r^T D||^2 / ||D||^2. */
static double frac(const double *D, size_t out, size_t in, const double *U, const double *Vt,
                   size_t k, size_t r, int right)
{
    double tot = 0, in_span = 0;
    for (size_t i = 0; i < out * in; i++)
        tot += D[i] * D[i];
    for (size_t j = 0; j < r; j++) {
        if (right) {
            for (size_t i = 0; i < out; i++) {
                double t = 0;
                for (size_t c = 0; c < in; c++)
                    t += D[i * in + c] * Vt[j * in + c];
                in_span += t * t;
            }
        } else {
            for (size_t c = 0; c < in; c++) {
                double t = 0;
                for (size_t i = 0; i < out; i++)
                    t += U[i * k + j] * D[i * in + c];
                in_span += t * t;
            }
        }
    }
    return tot > 0 ? in_span / tot : 0;
}

static void project(const char *task, const lrmlp_net *base, const lrmlp_dataset *tr,
                    int fresh_head)
{
    lrmlp_net *start = NULL, *ft = NULL, *g = NULL;
    if (lrmlp_net_clone(&start, base))
        die("clone");
    if (fresh_head && (lrmlp_net_seed(start, 1000) ||
                       lrmlp_net_init_layer(start, 2, LRMLP_INIT_TORCH_DEFAULT, 1.0)))
        die("head");
    if (lrmlp_net_clone(&ft, start) || lrmlp_net_seed(ft, 1) || lrmlp_net_clone(&g, start))
        die("clone");
    train(ft, tr, epochs);
    size_t n = lrmlp_dataset_size(tr), K = lrmlp_dataset_target_dim(tr);
    float *X = malloc(n * 784 * sizeof *X), *T = malloc(n * K * sizeof *T);
    if (lrmlp_dataset_batch_f32(tr, NULL, 0, n, X, T) ||
        lrmlp_net_gradient_f32(g, X, T, n, LRMLP_LOSS_CROSS_ENTROPY, NULL))
        die("gradient");
    char name[256];
    snprintf(name, sizeof name, "project_%s.csv", task);
    FILE *f = open_out(name);
    fprintf(f, "layer,rank,side,basis,fraction\n");
    for (size_t l = 0; l < 2; l++) {
        size_t in = lrmlp_net_width(g, l), out = lrmlp_net_width(g, l + 1);
        size_t k = in < out ? in : out, nw = in * out;
        float *a = malloc(nw * sizeof *a), *b = malloc(nw * sizeof *b),
              *gf = malloc(nw * sizeof *gf);
        double *D = malloc(nw * sizeof *D), *G = malloc(nw * sizeof *G),
               *W = malloc(nw * sizeof *W);
        double *Ug = malloc(out * k * sizeof *Ug), *Vg = malloc(k * in * sizeof *Vg);
        double *Uw = malloc(out * k * sizeof *Uw), *Vw = malloc(k * in * sizeof *Vw);
        if (lrmlp_net_get_weights_f32(start, l, a) || lrmlp_net_get_weights_f32(ft, l, b) ||
            lrmlp_net_get_weight_grad_f32(g, l, gf))
            die("weights");
        for (size_t i = 0; i < nw; i++) {
            G[i] = gf[i];
            D[i] = (double)b[i] - (double)a[i];
            W[i] = a[i];
        }
        svd(G, out, in, Ug, Vg);
        svd(W, out, in, Uw, Vw);
        for (size_t ri = 0; ri < n_ranks; ri++) {
            size_t r = ranks[ri] < k ? ranks[ri] : k;
            fprintf(f, "%zu,%zu,in,gradient,%.5f\n", l, r, frac(D, out, in, Ug, Vg, k, r, 1));
            fprintf(f, "%zu,%zu,in,weights,%.5f\n", l, r, frac(D, out, in, Uw, Vw, k, r, 1));
            fprintf(f, "%zu,%zu,in,random,%.5f\n", l, r, (double)r / (double)in);
            fprintf(f, "%zu,%zu,out,gradient,%.5f\n", l, r, frac(D, out, in, Ug, Vg, k, r, 0));
            fprintf(f, "%zu,%zu,out,weights,%.5f\n", l, r, frac(D, out, in, Uw, Vw, k, r, 0));
            fprintf(f, "%zu,%zu,out,random,%.5f\n", l, r, (double)r / (double)out);
        }
        free(a);
        free(b);
        free(gf);
        free(D);
        free(G);
        free(W);
        free(Ug);
        free(Vg);
        free(Uw);
        free(Vw);
    }
    printf("%s: projections written\n", task);
    fclose(f);
    free(X);
    free(T);
    lrmlp_net_free(g);
    lrmlp_net_free(ft);
    lrmlp_net_free(start);
}

static void compress(lrmlp_net *base, const lrmlp_dataset *tr, const lrmlp_dataset *te)
{
    FILE *f = open_out("compress.csv");
    fprintf(f, "method,rank,seed,params,test_acc\n");
    fprintf(f, "dense,0,0,%zu,%.4f\n", lrmlp_net_param_count(base), accuracy(base, te));
    for (int s = 0; s < seeds; s++) { /* the dense base, given the fine-tuning's epochs too */
        lrmlp_net *ft = NULL;
        if (lrmlp_net_clone(&ft, base) || lrmlp_net_seed(ft, 1 + (uint64_t)s))
            die("clone");
        train(ft, tr, epochs);
        fprintf(f, "dense+ft,0,%d,%zu,%.4f\n", s, lrmlp_net_param_count(ft), accuracy(ft, te));
        lrmlp_net_free(ft);
    }
    for (size_t ri = 0; ri < n_cranks; ri++) {
        size_t r = cranks[ri], rk[3] = { r, r, 0 };
        lrmlp_net *fz = NULL;
        if (lrmlp_net_factorize(&fz, base, rk))
            die("factorize");
        fprintf(f, "svd,%zu,0,%zu,%.4f\n", r, lrmlp_net_param_count(fz), accuracy(fz, te));
        for (int s = 0; s < seeds; s++) {
            lrmlp_net *ft = NULL;
            if (lrmlp_net_clone(&ft, fz) || lrmlp_net_seed(ft, 1 + (uint64_t)s))
                die("clone");
            train(ft, tr, epochs);
            fprintf(f, "svd+ft,%zu,%d,%zu,%.4f\n", r, s, lrmlp_net_param_count(ft),
                    accuracy(ft, te));
            lrmlp_net_free(ft);
            /* the paper's low-rank net from S_big, trained for the dense
             * base's epochs plus the fine-tuning's */
            lrmlp_net *dense = NULL, *lrn = NULL;
            lrmlp_subspace *sub = NULL;
            if (lrx_dense_create(&dense, 3, 784, width, 10, LRMLP_ACT_GELU, 0.1,
                                 1 + (unsigned long long)s, 0) ||
                lrx_estimate(&sub, dense, tr, 2000, LRMLP_LOSS_CROSS_ENTROPY, 0.1))
                exit(1);
            size_t kb = 2 * lrmlp_subspace_rank(sub);
            double *Vb = malloc(784 * r * sizeof *Vb);
            size_t c1 = r < kb ? r : kb;
            if (lrx_basis_columns(sub, LRMLP_SUBSPACE_V1, c1, Vb, r) ||
                (r > kb && lrx_basis_columns(sub, LRMLP_SUBSPACE_V2, r - kb, Vb + kb, r)) ||
                lrx_lowrank_create(&lrn, dense, r, Vb, 0.1, 1 + (unsigned long long)s))
                exit(1);
            train(lrn, tr, pre_epochs + epochs);
            fprintf(f, "sbig,%zu,%d,%zu,%.4f\n", r, s, lrmlp_net_param_count(lrn),
                    accuracy(lrn, te));
            lrmlp_net_free(lrn);
            lrn = NULL; /* the paper's random-subspace baseline, same budget */
            if (lrx_lowrank_create(&lrn, dense, r, NULL, 0.1, 1 + (unsigned long long)s))
                exit(1);
            train(lrn, tr, pre_epochs + epochs);
            fprintf(f, "random,%zu,%d,%zu,%.4f\n", r, s, lrmlp_net_param_count(lrn),
                    accuracy(lrn, te));
            printf("compress r %zu seed %d done\n", r, s);
            fflush(f);
            fflush(stdout);
            free(Vb);
            lrmlp_subspace_free(sub);
            lrmlp_net_free(dense);
            lrmlp_net_free(lrn);
        }
        lrmlp_net_free(fz);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    ex_opt opts[] = {
        EX_OPT_STR("--data", &data_dir),     EX_OPT_STR("--out", &out_dir),
        EX_OPT_STR("--part", &part),         EX_OPT_SIZE("--n-pre", &n_pre),
        EX_OPT_SIZE("--n-adapt", &n_adapt),  EX_OPT_SIZE("--width", &width),
        EX_OPT_LONG("--pre-epochs", &pre_epochs), EX_OPT_LONG("--epochs", &epochs),
        EX_OPT_STR("--ranks", &ranks_arg),   EX_OPT_STR("--compress-ranks", &cranks_arg),
        EX_OPT_INT("--seeds", &seeds),       EX_OPT_POS("--lr", &lr),
        EX_OPT_SIZE("--batch", &batch),      EX_OPT_POS("--scale", &scale),
        EX_OPT_END,
    };
    int a = ex_parse_options(argc, argv, "adapt_fashion", opts, usage);
    if (a != EX_ARGS_OK)
        return a == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    n_ranks = ex_parse_sizes(ranks_arg, ranks, NRANK_MAX);
    n_cranks = ex_parse_sizes(cranks_arg, cranks, NRANK_MAX);
    if (!n_ranks || !n_cranks)
        return ex_bad_usage("adapt_fashion", "bad rank list");
    if (strcmp(part, "all") && strcmp(part, "shift") && strcmp(part, "rotate") &&
        strcmp(part, "project") && strcmp(part, "compress"))
        return ex_bad_usage("adapt_fashion", "unknown --part '%s'", part);
    if (seeds < 1 || epochs < 1 || pre_epochs < 1 || width < 1 || batch < 1 || n_pre < 1 ||
        n_adapt < 1)
        return ex_bad_usage("adapt_fashion", "counts must be >= 1");
    ex_print_build_info(stdout);
    raw trn = { 0 }, tst = { 0 };
    if (load_raw("train", &trn) || load_raw("t10k", &tst))
        return 1;
    int all = !strcmp(part, "all");
    int proj = !strcmp(part, "project");
    if (all || proj || !strcmp(part, "shift")) {
        size_t next;
        lrmlp_dataset *pre = subset(&trn, 0, n_pre, 0, 5, 0, NULL, &next);
        lrmlp_dataset *pre_te = subset(&tst, 0, tst.n, 0, 5, 0, pre, NULL);
        lrmlp_dataset *tr = subset(&trn, 0, n_adapt, 5, 10, 0, pre, NULL);
        lrmlp_dataset *te = subset(&tst, 0, tst.n, 5, 10, 0, pre, NULL);
        lrmlp_net *base = pretrain(pre, 5);
        printf("shift: base accuracy on classes 0-4: %.4f\n", accuracy(base, pre_te));
        if (!proj)
            adapt_task("shift", base, tr, te, 1);
        if (all || proj)
            project("shift", base, tr, 1);
        lrmlp_net_free(base);
        lrmlp_dataset_free(pre);
        lrmlp_dataset_free(pre_te);
        lrmlp_dataset_free(tr);
        lrmlp_dataset_free(te);
    }
    if (all || proj || !strcmp(part, "rotate") || !strcmp(part, "compress")) {
        size_t next;
        lrmlp_dataset *pre = subset(&trn, 0, n_pre, 0, 10, 0, NULL, &next);
        lrmlp_dataset *pre_te = subset(&tst, 0, tst.n, 0, 10, 0, pre, NULL);
        lrmlp_dataset *tr = subset(&trn, next, n_adapt, 0, 10, 1, pre, NULL);
        lrmlp_dataset *te = subset(&tst, 0, tst.n, 0, 10, 1, pre, NULL);
        lrmlp_net *base = pretrain(pre, 10);
        printf("rotate: base accuracy on upright images %.4f, on rotated %.4f\n",
               accuracy(base, pre_te), accuracy(base, te));
        if (all || !strcmp(part, "rotate"))
            adapt_task("rotate", base, tr, te, 0);
        if (all || proj)
            project("rotate", base, tr, 0);
        if (all || !strcmp(part, "compress"))
            compress(base, pre, pre_te);
        lrmlp_net_free(base);
        lrmlp_dataset_free(pre);
        lrmlp_dataset_free(pre_te);
        lrmlp_dataset_free(tr);
        lrmlp_dataset_free(te);
    }
    free(trn.X);
    free(trn.y);
    free(tst.X);
    free(tst.y);
    return 0;
}
