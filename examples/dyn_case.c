/* Case study of the paper's Fig. 2 (docs/dynamics.md): a 4-layer bias-free MLP
 * (d = 32, three hidden layers of width 32, K = 4) on whitened synthetic data,
 * full-batch GD on the total squared error, one smooth (GELU) and one
 * non-smooth (ReLU) activation. Besides the block fractions it writes the
 * singular values of W_1..W_3 (tracker CSV) and the rotation of the top-K,
 * middle and bottom-K singular subspaces of W_l(t) against W_l(0)
 * (LAPACKE_dgesdd + lrmlp_principal_angles). The code is dyn_deep.c with
 * other defaults; see --help. */
#define DYN_PROFILE 1 /* DYN_CASE */
#include "dyn_deep.c"
