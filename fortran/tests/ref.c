/* C side of the Fortran tests: the sizes of the options structs as the C
 * compiler lays them out, and a reference training run done directly through
 * the C API, for test_fortran.f90 to compare with. */
#include <lrmlp.h>

#include <stddef.h>

size_t ref_sizeof(int which)
{
    switch (which) {
    case 0: return sizeof(lrmlp_net_options);
    case 1: return sizeof(lrmlp_optim_options);
    case 2: return sizeof(lrmlp_train_options);
    case 3: return sizeof(lrmlp_epoch_stats);
    case 4: return sizeof(lrmlp_eval_result);
    default: return 0;
    }
}

/* Trains a 2-8-1 tanh network (float64, biases, seed 3) with Adam (lr 1e-2)
 * for `epochs` shuffled epochs of batches of 16 on X (n x 2, row-major) and T
 * (n x 1) under the MSE loss, then writes its predictions on X to Y.
 * Returns 0 or the failing status. */
int ref_train(const double *X, const double *T, size_t n, int epochs, double *Y)
{
    const size_t widths[] = {2, 8, 1};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 2;
    no.widths = widths;
    no.bias = 1;
    no.seed = 3;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 1e-2;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_MSE;
    to.batch_size = 16;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    lrmlp_dataset *ds = NULL;
    int rc = lrmlp_net_create(&net, &no);
    if (!rc)
        rc = lrmlp_optim_create(&opt, net, &oo);
    if (!rc)
        rc = lrmlp_dataset_from_targets_f64(&ds, X, n, 2, T, 1);
    for (int e = 0; e < epochs && !rc; e++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    if (!rc)
        rc = lrmlp_net_predict_f64(net, X, n, Y);
    lrmlp_dataset_free(ds);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return rc;
}
