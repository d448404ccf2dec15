/* Shared helpers of the low-rank experiments (experiments/lowrank_*.c,
 * docs/lowrank.md): Fashion-MNIST loading, the paper's dense network at
 * initialization, S_big bases and a training loop that records curves.
 * Every function returns LRMLP_OK or a negative status and has already
 * printed the library's message to stderr when it fails. */
#ifndef LRMLP_EXAMPLES_LOWRANK_COMMON_H
#define LRMLP_EXAMPLES_LOWRANK_COMMON_H

#include "common.h"

#include <lrmlp.h>

#include <stdio.h>

#define LRX_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

double lrx_now(void);

/* The first n_train images of the 60k training set, standardized (one global
 * mean and std), and the 10k test set standardized with the same statistics. */
int lrx_load_fashion(const char *dir, size_t n_train, lrmlp_dataset **train,
                     lrmlp_dataset **test);

/* The paper's dense net: L layers d-m-...-m-K, bias-free, hidden activation
 * act, layers 0 .. L-2 eps-scaled orthogonal, the last layer (K x m) with the
 * PyTorch default U(-1/sqrt(m), 1/sqrt(m)) (the paper does not say). */
int lrx_dense_create(lrmlp_net **out, size_t L, size_t d, size_t m, size_t K,
                     lrmlp_activation act, double eps, unsigned long long seed, int bias);

/* Estimates the subspaces of dense from its first n_est training samples
 * (0: all of them) with the given loss. */
int lrx_estimate(lrmlp_subspace **out, lrmlp_net *dense, const lrmlp_dataset *train,
                 size_t n_est, lrmlp_loss loss, double eps);

/* Copies the first ncols columns of a basis of layer 0 into out (d x ncols,
 * row-major), out_ld being the row stride of out (>= ncols). */
int lrx_basis_columns(const lrmlp_subspace *s, lrmlp_subspace_basis which, size_t ncols,
                      double *out, size_t out_ld);

/* A low-rank net of rank r matching dense; Vb NULL: the random baseline
 * (lrmlp_lowrank_init_random), else lrmlp_lowrank_init_from_dense(Vb). */
int lrx_lowrank_create(lrmlp_net **out, const lrmlp_net *dense, size_t r, const double *Vb,
                       double eps, unsigned long long seed);

typedef struct lrx_run {
    const char *name;           /* label in logs */
    long epochs;
    lrmlp_optim_options oo;     /* schedule total_steps is filled in by lrx_train */
    lrmlp_train_options to;
    lrmlp_loss eval_loss;       /* loss reported on the test set */
    int quiet;                  /* no per-epoch lines */
    /* results */
    double *train_loss, *test_loss, *test_acc; /* epochs entries, NaN after a stop */
    double final_test_acc, final_test_loss, final_train_loss, seconds;
    long epochs_done;
    int diverged;
    size_t params;
} lrx_run;

/* Trains net for run->epochs epochs, evaluating the test set after each
 * one. A diverged epoch ends the run with run->diverged = 1 and returns
 * LRMLP_OK (the net keeps its last finite weights); other errors fail. */
int lrx_train(lrmlp_net *net, const lrmlp_dataset *train, const lrmlp_dataset *test,
              lrx_run *run);
void lrx_run_free(lrx_run *run);

/* Fills a run: optimizer kind (momentum for SGD), base lr cosine-annealed to
 * 0 over the run, loss for training and test, batch 0 = full batch (no
 * shuffling then). */
void lrx_run_init(lrx_run *run, const char *name, long epochs, lrmlp_optim_kind kind,
                  double lr, double momentum, lrmlp_loss loss, size_t batch);

/* Curves in tidy form: one row per model (run->name) and epoch,
 * "model,epoch,train_loss,test_loss,test_acc" (the header line).
 * lrx_curves_save writes the header and n runs to path; it returns 0, or 1
 * after printing the reason. */
void lrx_curves_header(FILE *f);
void lrx_curves_write(FILE *f, const lrx_run *run);
int lrx_curves_save(const char *path, const lrx_run *runs, size_t n);
/* Activation by name; on failure prints "PROG: unknown activation ..." and
 * the --help hint and returns EX_EXIT_USAGE. */
int lrx_parse_act(const char *prog, const char *name, lrmlp_activation *act);

#endif
