/* Resuming from a checkpoint: a model file holds the network (weights,
 * generator state, epoch count) and, when given, its optimizer (options,
 * moments, step count), so training that is stopped, saved and loaded goes
 * on bit for bit as if it had never stopped (include/lrmlp/model.h).
 *
 *   resume [--epochs 4] [--stop-at 2] [--checkpoint FILE]
 *
 * Steps: train a net with Adam on shuffled mini-batches for --stop-at
 * epochs, save net + optimizer (lrmlp_model_save: atomic, a crash leaves the
 * old file or the new one), go on to --epochs; then load the checkpoint into
 * new handles (lrmlp_model_load), train the remaining epochs and compare the
 * two parameter vectors byte for byte. Exits 0 when they are identical. */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <string.h>

#define PROG "resume"

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options]\n"
          "  --epochs N         epochs in all, >= 1 (default 4)\n"
          "  --stop-at N        epoch after which the checkpoint is saved, < --epochs\n"
          "                     (default 2)\n"
          "  --checkpoint FILE  the model file (default resume.lrmlp, removed at the end)\n",
          f);
}

/* Trains epochs [from, to) and prints the loss of each. */
static int train(lrmlp_net *net, lrmlp_optim *opt, const lrmlp_dataset *ds, size_t from,
                 size_t to, const char *who)
{
    lrmlp_train_options tro = LRMLP_TRAIN_OPTIONS_INIT;
    tro.batch_size = 64;
    tro.shuffle = 1; /* the order comes from the net's generator, saved with it */
    for (size_t e = from; e < to; e++) {
        lrmlp_epoch_stats st;
        if (lrmlp_train_epoch(net, opt, ds, &tro, &st)) {
            fprintf(stderr, PROG ": %s, epoch %zu: %s\n", who, e + 1, lrmlp_last_errmsg());
            return 1;
        }
        printf("%-9s epoch %zu  loss %.17g\n", who, e + 1, st.loss);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t epochs = 4, stop_at = 2;
    const char *path = "resume.lrmlp";
    const ex_opt opts[] = {EX_OPT_COUNT("--epochs", &epochs), EX_OPT_COUNT("--stop-at", &stop_at),
                           EX_OPT_STR("--checkpoint", &path), EX_OPT_END};
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (stop_at >= epochs)
        return ex_bad_usage(PROG, "--stop-at must be below --epochs");

    const size_t widths[] = {20, 64, 64, 5};
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.n_layers = 3;
    no.widths = widths;
    no.bias = 1;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.kind = LRMLP_OPTIM_ADAM;
    oo.lr = 1e-3;
    lrmlp_dataset *ds = NULL;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    if (ex_toy_dataset(&ds, 1000, widths[0], widths[3], 1) || lrmlp_net_create(&net, &no) ||
        lrmlp_optim_create(&opt, net, &oo)) {
        fprintf(stderr, PROG ": setup: %s\n", lrmlp_last_errmsg());
        return 1;
    }

    /* The uninterrupted run, with a checkpoint on the way. */
    if (train(net, opt, ds, 0, stop_at, "first"))
        return 1;
    if (lrmlp_model_save(net, opt, path)) {
        fprintf(stderr, PROG ": save %s: %s\n", path, lrmlp_last_errmsg());
        return 1;
    }
    printf("saved net and optimizer to %s after epoch %zu\n", path, stop_at);
    if (train(net, opt, ds, stop_at, epochs, "first"))
        return 1;

    /* A second process would start here: load, then continue. */
    lrmlp_net *net2 = NULL;
    lrmlp_optim *opt2 = NULL;
    if (lrmlp_model_load(path, &net2, &opt2) || !opt2) {
        fprintf(stderr, PROG ": load %s: %s\n", path, opt2 || !net2 ? lrmlp_last_errmsg()
                                                                   : "no optimizer in the file");
        return 1;
    }
    remove(path);
    printf("loaded %s: optimizer at step %llu\n", path,
           (unsigned long long)lrmlp_optim_steps(opt2));
    if (train(net2, opt2, ds, stop_at, epochs, "resumed"))
        return 1;

    size_t bytes = lrmlp_net_param_count(net) * (lrmlp_net_dtype(net) == LRMLP_F32 ? 4 : 8);
    int same = lrmlp_net_param_count(net2) == lrmlp_net_param_count(net) &&
               memcmp(lrmlp_net_params(net), lrmlp_net_params(net2), bytes) == 0;
    printf("parameters after epoch %zu: %s\n", epochs,
           same ? "bit-identical" : "DIFFERENT (resuming is broken)");
    lrmlp_optim_free(opt);
    lrmlp_optim_free(opt2);
    lrmlp_net_free(net);
    lrmlp_net_free(net2);
    lrmlp_dataset_free(ds);
    return same ? 0 : 1;
}
