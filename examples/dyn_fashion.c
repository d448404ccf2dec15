/* Real data (docs/dynamics.md): a 4-layer, 784-wide bias-free GELU net with
 * eps = 0.1 orthogonal init on a standardized Fashion-MNIST subset, full-batch
 * GD on the total squared error with lr = 2e-5 * 50000 / n (twice the paper's
 * rate rescaled to the subset, so that the short default run leaves the
 * initial saddle); block fractions of layers 1-3 and singular values
 * (tracker CSV, top and bottom 16 per layer). The code is dyn_deep.c with
 * other defaults; see --help. */
#define DYN_PROFILE 3 /* DYN_FASHION */
#include "dyn_deep.c"
