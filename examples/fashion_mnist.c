/* Trains a dense MLP on Fashion-MNIST (or any MNIST-format IDX set).
 *
 *   fashion_mnist [--data DIR] [--epochs N] [--hidden 512,512] [--act tanh]
 *                 [--optim adam|sgd|adamw|muon|gd] [--lr X] [--momentum X]
 *                 [--batch N] [--seed N] [--f64] [--save FILE]
 *
 * Prints one progress line per epoch and, as its last line, a JSON object
 * with the results. Threads: OpenBLAS's own setting (OPENBLAS_NUM_THREADS). */
#include "common.h"

#include <lrmlp.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fashion_mnist [options]\n"
            "  --data DIR      IDX files directory (default /usr/share/datasets/fashion-mnist)\n"
            "  --epochs N      epochs (default 10)\n"
            "  --hidden LIST   hidden widths, comma separated (default 512,512)\n"
            "  --act NAME      hidden activation: tanh gelu silu elu relu ... (default tanh)\n"
            "  --optim NAME    gd sgd adam adamw muon (default adam)\n"
            "  --lr X          learning rate (default 1e-3 for adam/adamw, 0.05 otherwise)\n"
            "  --momentum X    momentum for sgd/muon (default 0.9)\n"
            "  --batch N       mini-batch size, 0 = full batch (default 128)\n"
            "  --seed N        seed for init and shuffling (default 1)\n"
            "  --schedule S    cosine (anneal to 0 over the run) or constant (default cosine)\n"
            "  --f64           train in float64 (default float32)\n"
            "  --save FILE     write the trained model (and optimizer) to FILE\n");
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *save = NULL;
    const char *act_name = "tanh", *opt_name = "adam", *sched = "cosine";
    size_t hidden[MAX_LAYERS] = {512, 512}, n_hidden = 2, batch = 128;
    long epochs = 10;
    double lr = -1, momentum = 0.9;
    unsigned long long seed = 1;
    const char *hidden_list = NULL;
    int f64 = 0;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),
        EX_OPT_LONG("--epochs", &epochs),
        EX_OPT_STR("--hidden", &hidden_list),
        EX_OPT_STR("--act", &act_name),
        EX_OPT_STR("--optim", &opt_name),
        EX_OPT_DOUBLE("--lr", &lr),
        EX_OPT_DOUBLE("--momentum", &momentum),
        EX_OPT_SIZE("--batch", &batch),
        EX_OPT_ULL("--seed", &seed),
        EX_OPT_STR("--schedule", &sched),
        EX_OPT_FLAG("--f64", &f64),
        EX_OPT_STR("--save", &save),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "fashion_mnist", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : 2;
    if (epochs < 1) {
        fprintf(stderr, "fashion_mnist: --epochs must be >= 1\n");
        return 2;
    }
    if (hidden_list) {
        n_hidden = 0;
        for (const char *p = hidden_list; *p;) {
            char *end = (char *)p;
            unsigned long w = isdigit((unsigned char)*p) ? strtoul(p, &end, 10) : 0;
            if (w == 0 || (*end && *end != ',') || n_hidden == MAX_LAYERS - 1) {
                fprintf(stderr, "fashion_mnist: bad --hidden list '%s' (up to %d widths >= 1)\n",
                        hidden_list, MAX_LAYERS - 1);
                return 2;
            }
            hidden[n_hidden++] = w;
            p = *end ? end + 1 : end;
        }
    }
    lrmlp_dtype dtype = f64 ? LRMLP_F64 : LRMLP_F32;
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act)) {
        fprintf(stderr, "fashion_mnist: unknown activation '%s'\n", act_name);
        return 2;
    }
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    if (!strcmp(opt_name, "adam"))
        oo.kind = LRMLP_OPTIM_ADAM;
    else if (!strcmp(opt_name, "adamw"))
        oo.kind = LRMLP_OPTIM_ADAMW;
    else if (!strcmp(opt_name, "sgd"))
        oo.kind = LRMLP_OPTIM_SGD;
    else if (!strcmp(opt_name, "muon"))
        oo.kind = LRMLP_OPTIM_MUON;
    else if (!strcmp(opt_name, "gd"))
        oo.kind = LRMLP_OPTIM_GD;
    else {
        fprintf(stderr, "fashion_mnist: unknown optimizer '%s'\n", opt_name);
        return 2;
    }
    int adam = oo.kind == LRMLP_OPTIM_ADAM || oo.kind == LRMLP_OPTIM_ADAMW;
    oo.lr = lr > 0 ? lr : adam ? 1e-3 : 0.05;
    if (oo.kind == LRMLP_OPTIM_SGD || oo.kind == LRMLP_OPTIM_MUON)
        oo.momentum = momentum;

    lrmlp_dataset *train = NULL, *test = NULL;
    if (ex_load_fashion("fashion_mnist", dir, "train", &train) ||
        ex_load_fashion("fashion_mnist", dir, "t10k", &test))
        return 1;
    /* Standardize both sets with the training set's statistics: the test set
     * first, while the training set still holds its raw features. */
    if (lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_GLOBAL, train) ||
        lrmlp_dataset_standardize(train, LRMLP_STANDARDIZE_GLOBAL, NULL)) {
        fprintf(stderr, "fashion_mnist: standardize: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    size_t widths[MAX_LAYERS + 1];
    widths[0] = lrmlp_dataset_dim(train);
    for (size_t i = 0; i < n_hidden; i++)
        widths[i + 1] = hidden[i];
    widths[n_hidden + 1] = lrmlp_dataset_n_classes(train);
    if (!strcmp(sched, "cosine")) {
        size_t n = lrmlp_dataset_size(train), b = batch ? batch : n;
        oo.schedule = LRMLP_SCHEDULE_COSINE;
        oo.total_steps = (uint64_t)epochs * ((n + b - 1) / b);
    } else if (strcmp(sched, "constant")) {
        fprintf(stderr, "fashion_mnist: unknown schedule '%s'\n", sched);
        return 2;
    }
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = dtype;
    no.n_layers = n_hidden + 1;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 1;
    no.seed = seed;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    if (lrmlp_net_create(&net, &no) || lrmlp_optim_create(&opt, net, &oo)) {
        fprintf(stderr, "fashion_mnist: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    char info[256];
    lrmlp_build_info(info, sizeof info);
    printf("# %s\n# net", info);
    for (size_t i = 0; i <= n_hidden + 1; i++)
        printf("%s%zu", i ? "-" : " ", widths[i]);
    printf(" %s, %zu params, %s lr %g (%s), batch %zu, %s\n", act_name,
           lrmlp_net_param_count(net), opt_name, oo.lr, sched, batch,
           dtype == LRMLP_F32 ? "float32" : "float64");

    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = batch;
    double train_seconds = 0;
    size_t samples = 0;
    lrmlp_eval_result ev = {0, 0, 0};
    for (long e = 0; e < epochs; e++) {
        lrmlp_epoch_stats st;
        int rc = lrmlp_train_epoch(net, opt, train, &to, &st);
        if (rc) {
            fprintf(stderr, "fashion_mnist: epoch %ld: %s\n", e + 1, lrmlp_last_errmsg());
            return 1;
        }
        train_seconds += st.seconds;
        samples += st.samples;
        if (lrmlp_evaluate(net, test, LRMLP_LOSS_CROSS_ENTROPY, 0, &ev)) {
            fprintf(stderr, "fashion_mnist: evaluate: %s\n", lrmlp_last_errmsg());
            return 1;
        }
        printf("epoch %3ld  loss %.4f  train_acc %.4f  test_loss %.4f  test_acc %.4f  "
               "%.2f s  %.0f samples/s\n",
               e + 1, st.loss, st.accuracy, ev.loss, ev.accuracy, st.seconds,
               (double)st.samples / st.seconds);
        fflush(stdout);
    }
    if (save && lrmlp_model_save(net, opt, save)) {
        fprintf(stderr, "fashion_mnist: save: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    printf("{\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"epochs\": %ld, "
           "\"train_seconds\": %.3f, \"samples_per_second\": %.0f, \"params\": %zu, "
           "\"peak_rss_mb\": %.1f, \"activation\": \"%s\", \"optimizer\": \"%s\", "
           "\"blas_core\": \"%s\", \"blas_threads\": %d}\n",
           ev.accuracy, ev.loss, epochs, train_seconds,
           train_seconds > 0 ? (double)samples / train_seconds : 0.0,
           lrmlp_net_param_count(net), ex_peak_rss_mb(), act_name, opt_name, lrmlp_blas_core(),
           lrmlp_blas_threads());
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    return 0;
}
