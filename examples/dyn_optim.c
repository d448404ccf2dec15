/* Optimizers (the paper's Fig. 5, docs/dynamics.md): unwhitened synthetic
 * cluster data, softmax cross-entropy, mini-batches, SGD with momentum 0.9,
 * Adam and Muon; block fractions of layers 1-3 of a 4-layer GELU net. The
 * code is dyn_deep.c with other defaults; see --help. */
#define DYN_PROFILE 2 /* DYN_OPTIM */
#include "dyn_deep.c"
