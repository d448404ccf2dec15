/* Tracking training dynamics: a tracker (include/lrmlp/track.h) attached to
 * the training loop records, every few steps, how the change of each layer
 * W_l(t) - W_l(0) splits over the invariant subspaces estimated at
 * initialization (block fractions), the singular values of W_l(t), its
 * stable rank and the gap of the first layer's gradient, into a tidy CSV
 * file and through a callback.
 *
 *   track [--steps 400] [--every 50] [--lr 0.01] [--act gelu] [--csv FILE]
 *
 * Steps: toy data, a bias-free eps-initialized net, a subspace estimate, a
 * tracker whose callback prints the block-11 fraction of layer 1 at each
 * record, and lrmlp_train_epoch with lrmlp_tracker_on_step as its step hook
 * (one full-batch gradient step per call). */
#include "common.h"

#include <lrmlp.h>
#include <lrmlp/track.h>

#include <stdio.h>
#include <stdlib.h>

#define PROG "track"

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options]\n"
          "  --steps N   full-batch gradient descent steps, >= 1 (default 400)\n"
          "  --every N   record every N steps, >= 1 (default 50)\n"
          "  --lr X      learning rate, > 0 (default 0.01)\n"
          "  --act NAME  hidden activation (default gelu)\n"
          "  --csv FILE  also write every record to FILE (step,layer,quantity,index,value)\n",
          f);
}

/* Called for every value the tracker records; prints one line per record. */
static int on_record(void *user, const lrmlp_track_record *rec)
{
    (void)user;
    if (rec->layer == 0 && rec->quantity == LRMLP_TRACK_BLOCK_FRACTION && rec->index == 0)
        printf("step %5llu  layer 1: block 11 holds %.4f of ||W_1(t) - W_1(0)||_F^2\n",
               (unsigned long long)rec->step, rec->value);
    return 0; /* nonzero would stop training with LRMLP_ERR_STOPPED */
}

int main(int argc, char **argv)
{
    size_t steps = 400, every = 50;
    double lr = 0.01;
    const char *act_name = "gelu", *csv = NULL;
    const ex_opt opts[] = {EX_OPT_COUNT("--steps", &steps), EX_OPT_COUNT("--every", &every),
                           EX_OPT_POS("--lr", &lr),         EX_OPT_STR("--act", &act_name),
                           EX_OPT_STR("--csv", &csv),       EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return ex_bad_usage(PROG, "unknown activation '%s'", act_name);

    /* Data and network as in examples/subspace.c: whitened toy data, a
     * bias-free d-m-m-K net, W_l(0) = eps Q_l, the last layer orthonormal. */
    const size_t n = 512, d = 32, m = 48, K = 4, widths[] = {d, m, m, K};
    lrmlp_dataset *ds = NULL;
    lrmlp_whiten_options wo = LRMLP_WHITEN_OPTIONS_INIT;
    wo.center = 0;
    wo.unit_sum = 1;
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = LRMLP_F64;
    no.n_layers = 3;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 0;
    no.init = LRMLP_INIT_ORTHOGONAL;
    no.init_scale = 0.1;
    lrmlp_net *net = NULL;
    double *X = malloc(n * d * sizeof *X), *T = malloc(n * K * sizeof *T);
    if (!X || !T || ex_toy_dataset(&ds, n, d, K, 1) || lrmlp_dataset_whiten(ds, &wo, NULL) ||
        lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, T) || lrmlp_net_create(&net, &no) ||
        lrmlp_net_init_layer(net, 2, LRMLP_INIT_ORTHOGONAL, 1.0)) {
        fprintf(stderr, PROG ": setup: %s\n", lrmlp_last_errmsg());
        return 1;
    }

    /* The subspaces at initialization, then the tracker (it records step 0
     * at once, and copies the subspaces: the estimate can be freed). */
    lrmlp_subspace_options so = LRMLP_SUBSPACE_OPTIONS_INIT;
    so.k = K;
    so.eps = no.init_scale;
    lrmlp_subspace *sub = NULL;
    lrmlp_tracker_options tro = LRMLP_TRACKER_OPTIONS_INIT;
    tro.every = every;
    tro.csv_path = csv;
    tro.on_record = on_record;
    lrmlp_tracker *tr = NULL;
    if (lrmlp_subspace_estimate_f64(&sub, net, X, T, n, LRMLP_LOSS_SSE, &so) ||
        lrmlp_tracker_create(&tr, net, sub, &tro)) {
        fprintf(stderr, PROG ": tracker: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_subspace_free(sub);

    /* Training: the tracker sees every step through the step hook. */
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_GD;
    oo.lr = lr;
    lrmlp_optim *opt = NULL;
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.loss = LRMLP_LOSS_SSE;
    to.batch_size = 0; /* full batch: one step per epoch */
    to.on_step = lrmlp_tracker_on_step;
    to.on_step_user = tr;
    int rc = lrmlp_optim_create(&opt, net, &oo);
    for (size_t s = 0; s < steps && !rc; s++)
        rc = lrmlp_train_epoch(net, opt, ds, &to, NULL);
    if (rc || lrmlp_tracker_flush(tr)) {
        fprintf(stderr, PROG ": training: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    printf("last record: block 11 of layers 1 and 2: %.4f %.4f; stable rank of W_1: %.2f\n",
           lrmlp_tracker_last(tr, 0, LRMLP_TRACK_BLOCK_FRACTION, 0),
           lrmlp_tracker_last(tr, 1, LRMLP_TRACK_BLOCK_FRACTION, 0),
           lrmlp_tracker_last(tr, 0, LRMLP_TRACK_STABLE_RANK, 0));
    if (csv)
        printf("all records in %s\n", csv);
    lrmlp_tracker_free(tr);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    free(X);
    free(T);
    return 0;
}
