/* Synthetic data generators and small helpers shared by the dyn_* experiments
 * (the training-dynamics experiments of docs/dynamics.md).
 *
 * Generators (documented in docs/dynamics.md, "Synthetic data"):
 *
 *   clusters  K classes, each a mixture of SYNTH_BLOBS Gaussian blobs in R^d.
 *             Blob centres c_{k,j} ~ N(0, (sep^2 / d) I) (norm about sep),
 *             a sample of class y = uniform{0..K-1} is c_{y,j} + N(0, I),
 *             j = uniform{0..SYNTH_BLOBS-1}. Not linearly separable in
 *             general (two blobs per class).
 *   teacher   x ~ N(0, I_d), a fixed random teacher A (K x d, entries
 *             N(0, 1)), label y = argmax_k (A x)_k: a linear teacher.
 *
 * Everything is drawn from one SplitMix64 stream seeded with `seed`
 * (Box-Muller normals), so a seed gives the same data on every platform. */
#ifndef LRMLP_EXAMPLES_SYNTH_H
#define LRMLP_EXAMPLES_SYNTH_H

#include <lrmlp.h>
#include <stddef.h>
#include <stdint.h>

#define SYNTH_BLOBS 2

typedef enum synth_kind { SYNTH_CLUSTERS = 0, SYNTH_TEACHER = 1 } synth_kind;

/* "clusters" / "teacher" -> kind; returns 0 or -1 for an unknown name. */
int synth_kind_from_name(const char *name, synth_kind *out);
const char *synth_kind_name(synth_kind kind);

/* Fills X (n x d, row-major) and labels (n entries in [0, k)). */
void synth_generate(synth_kind kind, size_t n, size_t d, size_t k, double sep, uint64_t seed,
                    double *X, int32_t *labels);

/* Whitening choices for synth_dataset. Both use ZCA with unit_sum = 1, so
 * that X X^T = I_d over the n samples (the theory's assumption).
 * SYNTH_WHITEN_SECOND_MOMENT does not subtract the mean: centering would make
 * the rows of Y X^T sum to zero (one-hot rows sum to 1 and the centered
 * samples to 0), so W_2^T Y X^T and G_1(0) would have rank K - 1, not K. */
#define SYNTH_RAW 0
#define SYNTH_WHITEN_SECOND_MOMENT 1
#define SYNTH_WHITEN_CENTERED 2

/* Generates data as above and wraps it in a float64 dataset, whitened as
 * chosen by whiten (one of the three values above). Prints the library's message and
 * returns its status on failure. */
int synth_dataset(synth_kind kind, size_t n, size_t d, size_t k, double sep, uint64_t seed,
                  int whiten, lrmlp_dataset **out);

/* Copies all samples of ds out as float64 rows X (n x d) and one-hot T
 * (n x K), allocated with malloc. Returns 0 or a negative status (printed). */
int synth_full_batch(const lrmlp_dataset *ds, double **X, double **T);

/* Replaces the targets of ds (n x d features) by a linear teacher's: Y = A X
 * (row-major here: T = X A^T, n x k) with A (k x d, entries N(0, 1)) drawn
 * from a stream of its own seeded with seed, then scaled so that
 * ||Y||_F = sqrt(k). *ds becomes a regression dataset with the same
 * features. Returns 0 or a negative status (printed). */
int synth_linear_teacher(lrmlp_dataset **ds, size_t k, uint64_t seed);

/* ---- helpers shared by the dyn_* programs ---- */

/* mkdir -p; returns 0 or -1 (message printed). */
int dyn_mkdir_p(const char *dir);

/* Creates a bias-free float64 (or float32) network with the given widths
 * (n_layers + 1 entries) and hidden activation, every layer initialized
 * eps-scaled orthogonal except the last, which gets last_init with scale
 * last_scale (LRMLP_INIT_ORTHOGONAL: full row rank when it is wide;
 * LRMLP_INIT_GAUSSIAN: entries N(0, last_scale^2)). Returns 0 or a negative
 * status (printed). */
int dyn_make_net(lrmlp_net **out, lrmlp_dtype dtype, size_t n_layers, const size_t *widths,
                 lrmlp_activation act, double eps, lrmlp_init last_init, double last_scale,
                 uint64_t seed);

/* Splits a comma-separated list into at most max items written to items
 * (pointers into a copy held in buf of buflen bytes). Returns the count, or
 * -1 if it does not fit. */
int dyn_split_list(const char *s, char *buf, size_t buflen, const char **items, int max);

#endif
