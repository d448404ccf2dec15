/* C side of the Fortran tests: the sizes of the options structs as the C
 * compiler lays them out, their fields as C reads them (and result structs
 * as C writes them), and a reference training run done directly through the
 * C API, for test_fortran.f90 to compare with. */
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

/* The C values of the constants the Fortran module repeats, in the order
 * test_fortran.f90 lists them; returns how many. */
int ref_constants(int *v)
{
    const int c[] = {
        LRMLP_OK, LRMLP_ERR_NOMEM, LRMLP_ERR_INVALID, LRMLP_ERR_SHAPE, LRMLP_ERR_DTYPE,
        LRMLP_ERR_NONFINITE, LRMLP_ERR_DIVERGED, LRMLP_ERR_IO, LRMLP_ERR_FORMAT,
        LRMLP_ERR_CHECKSUM, LRMLP_ERR_VERSION, LRMLP_ERR_LINALG, LRMLP_ERR_STOPPED,
        LRMLP_ERR_UNSUPPORTED, LRMLP_ERR_STATE,
        LRMLP_F32, LRMLP_F64,
        LRMLP_ACT_IDENTITY, LRMLP_ACT_TANH, LRMLP_ACT_SIGMOID, LRMLP_ACT_SOFTPLUS, LRMLP_ACT_ELU,
        LRMLP_ACT_GELU, LRMLP_ACT_GELU_TANH, LRMLP_ACT_SILU, LRMLP_ACT_RELU,
        LRMLP_ACT_LEAKY_RELU, LRMLP_ACT_RRELU,
        LRMLP_LOSS_SSE, LRMLP_LOSS_MSE, LRMLP_LOSS_CROSS_ENTROPY,
        LRMLP_INIT_TORCH_DEFAULT, LRMLP_INIT_ORTHOGONAL, LRMLP_INIT_GAUSSIAN,
        LRMLP_INIT_XAVIER_UNIFORM, LRMLP_INIT_XAVIER_NORMAL, LRMLP_INIT_HE_UNIFORM,
        LRMLP_INIT_HE_NORMAL, LRMLP_INIT_ZERO,
        LRMLP_OPTIM_GD, LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAM, LRMLP_OPTIM_ADAMW, LRMLP_OPTIM_MUON,
        LRMLP_SCHEDULE_CONSTANT, LRMLP_SCHEDULE_COSINE, LRMLP_SCHEDULE_STEP,
        LRMLP_NET_OPTIONS_VERSION, LRMLP_OPTIM_OPTIONS_VERSION, LRMLP_TRAIN_OPTIONS_VERSION,
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        v[i] = c[i];
    return (int)(sizeof c / sizeof c[0]);
}

/* Every field of an options struct the Fortran side filled, in declaration
 * order, as a double (pointers as 1 when set, 0 when NULL). */
void ref_read_net_options(const lrmlp_net_options *o, double *v)
{
    double f[] = {o->version, o->dtype, (double)o->n_layers, o->widths != NULL,
                  o->hidden_activation, o->output_activation, o->activations != NULL,
                  o->bias, (double)o->seed, o->init, o->init_scale};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        v[i] = f[i];
}

void ref_read_optim_options(const lrmlp_optim_options *o, double *v)
{
    double f[] = {o->version, o->kind, o->lr, o->momentum, o->nesterov, o->beta1, o->beta2,
                  o->eps, o->weight_decay, o->clip_norm, o->ns_steps, o->schedule,
                  (double)o->total_steps, o->min_lr, (double)o->step_size, o->gamma,
                  (double)o->warmup_steps};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        v[i] = f[i];
}

void ref_read_train_options(const lrmlp_train_options *o, double *v)
{
    double f[] = {o->version, o->loss, (double)o->batch_size, o->shuffle, o->on_step != NULL,
                  o->on_step_user != NULL, o->allreduce != NULL, o->allreduce_user != NULL,
                  o->order != NULL, (double)o->shard_count, (double)o->shard_index,
                  o->grad_ready != NULL, o->grad_ready_user != NULL};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        v[i] = f[i];
}

/* Result structs filled with distinct values, for the Fortran side to read. */
void ref_fill_results(lrmlp_epoch_stats *st, lrmlp_eval_result *ev)
{
    st->loss = 1.5;
    st->accuracy = 2.5;
    st->samples = 3;
    st->steps = 4;
    st->seconds = 5.5;
    ev->loss = 6.5;
    ev->accuracy = 7.5;
    ev->samples = 8;
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

/* lrmlp_net_predict_f64/_f32 (raw != 0: the _raw_ variants) on a network
 * the Fortran side made, for the shared-model checks. */
int ref_net_predict_f64(lrmlp_net *net, const double *X, size_t n, double *Y, int raw)
{
    return raw ? lrmlp_net_predict_raw_f64(net, X, n, Y) : lrmlp_net_predict_f64(net, X, n, Y);
}

int ref_net_predict_f32(lrmlp_net *net, const float *X, size_t n, float *Y, int raw)
{
    return raw ? lrmlp_net_predict_raw_f32(net, X, n, Y) : lrmlp_net_predict_f32(net, X, n, Y);
}
