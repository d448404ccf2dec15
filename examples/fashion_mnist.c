/* Trains a dense MLP on Fashion-MNIST (or any MNIST-format IDX set): load,
 * standardize, create a network and an optimizer, train epoch by epoch,
 * evaluate on the test set, optionally save (fashion_mnist --help).
 * Prints one progress line per epoch and, as its last line, a JSON object
 * with the results. Threads: OpenBLAS's own setting (OPENBLAS_NUM_THREADS). */
#include "common.h"

#include <lrmlp.h>

#include <stdio.h>
#include <string.h>

#define PROG "fashion_mnist"
#define MAX_HIDDEN 15

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options]\n"
          "  --data DIR      IDX files directory (default /usr/share/datasets/fashion-mnist)\n"
          "  --epochs N      epochs, >= 1 (default 10)\n"
          "  --hidden LIST   hidden widths, comma separated (default 512,512)\n"
          "  --act NAME      hidden activation: tanh gelu silu elu relu ... (default tanh)\n"
          "  --optim NAME    gd sgd adam adamw muon (default adam)\n"
          "  --lr X          learning rate, > 0 (default 1e-3 for adam/adamw, 0.05 otherwise)\n"
          "  --momentum X    momentum for sgd/muon, 0 <= X < 1 (default 0.9)\n"
          "  --batch N       mini-batch size, 0 = full batch (default 128)\n"
          "  --seed N        seed for init and shuffling (default 1)\n"
          "  --schedule S    cosine (anneal to 0 over the run) or constant (default cosine)\n"
          "  --f64           train in float64 (default float32)\n"
          "  --save FILE     write the trained model and its optimizer to FILE\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *save = NULL, *hidden_list = NULL;
    const char *act_name = "tanh", *opt_name = "adam", *sched = "cosine";
    size_t epochs = 10, batch = 128, hidden[MAX_HIDDEN] = {512, 512}, n_hidden = 2;
    double lr = 0, momentum = 0.9; /* lr 0: not given */
    unsigned long long seed = 1;
    int f64 = 0;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),         EX_OPT_COUNT("--epochs", &epochs),
        EX_OPT_STR("--hidden", &hidden_list), EX_OPT_STR("--act", &act_name),
        EX_OPT_STR("--optim", &opt_name),   EX_OPT_POS("--lr", &lr),
        EX_OPT_DOUBLE("--momentum", &momentum), EX_OPT_SIZE("--batch", &batch),
        EX_OPT_ULL("--seed", &seed),        EX_OPT_STR("--schedule", &sched),
        EX_OPT_FLAG("--f64", &f64),         EX_OPT_STR("--save", &save),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, PROG, opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (hidden_list && !(n_hidden = ex_parse_sizes(hidden_list, hidden, MAX_HIDDEN)))
        return ex_bad_usage(PROG, "bad --hidden list '%s' (up to %d widths >= 1)", hidden_list,
                            MAX_HIDDEN);
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return ex_bad_usage(PROG, "unknown activation '%s'", act_name);
    static const char *const optim_names[] = {"gd", "sgd", "adam", "adamw", "muon"};
    static const lrmlp_optim_kind optim_kinds[] = {LRMLP_OPTIM_GD, LRMLP_OPTIM_SGD,
                                                   LRMLP_OPTIM_ADAM, LRMLP_OPTIM_ADAMW,
                                                   LRMLP_OPTIM_MUON};
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    size_t k = 0;
    while (k < 5 && strcmp(opt_name, optim_names[k]))
        k++;
    if (k == 5)
        return ex_bad_usage(PROG, "unknown optimizer '%s'", opt_name);
    if ((strcmp(sched, "cosine") && strcmp(sched, "constant")) || !(momentum >= 0 && momentum < 1))
        return ex_bad_usage(PROG, "need --schedule cosine|constant and 0 <= --momentum < 1");
    oo.kind = optim_kinds[k];
    oo.lr = lr > 0 ? lr : oo.kind == LRMLP_OPTIM_ADAM || oo.kind == LRMLP_OPTIM_ADAMW ? 1e-3 : 0.05;
    if (oo.kind == LRMLP_OPTIM_SGD || oo.kind == LRMLP_OPTIM_MUON)
        oo.momentum = momentum;

    lrmlp_dataset *train = NULL, *test = NULL;
    if (ex_load_fashion(PROG, dir, "train", &train) || ex_load_fashion(PROG, dir, "t10k", &test))
        return 1;
    /* Standardize both sets with the training set's statistics: the test set
     * first, while the training set still holds its raw features. */
    if (lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_GLOBAL, train) ||
        lrmlp_dataset_standardize(train, LRMLP_STANDARDIZE_GLOBAL, NULL)) {
        fprintf(stderr, PROG ": standardize: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    size_t widths[MAX_HIDDEN + 2];
    widths[0] = lrmlp_dataset_dim(train);
    memcpy(widths + 1, hidden, n_hidden * sizeof *hidden);
    widths[n_hidden + 1] = lrmlp_dataset_n_classes(train);
    if (!strcmp(sched, "cosine")) {
        size_t n = lrmlp_dataset_size(train), b = batch ? batch : n;
        oo.schedule = LRMLP_SCHEDULE_COSINE;
        oo.total_steps = (uint64_t)epochs * ((n + b - 1) / b);
    }
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = f64 ? LRMLP_F64 : LRMLP_F32;
    no.n_layers = n_hidden + 1;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 1;
    no.seed = seed;
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    if (lrmlp_net_create(&net, &no) || lrmlp_optim_create(&opt, net, &oo)) {
        fprintf(stderr, PROG ": %s\n", lrmlp_last_errmsg());
        return 1;
    }
    ex_print_build_info(stdout);
    printf("# net");
    for (size_t i = 0; i <= n_hidden + 1; i++)
        printf("%s%zu", i ? "-" : " ", widths[i]);
    printf(" %s, %zu params, %s lr %g (%s), batch %zu, %s\n", act_name,
           lrmlp_net_param_count(net), opt_name, oo.lr, sched, batch, f64 ? "float64" : "float32");

    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = batch;
    double train_seconds = 0;
    size_t samples = 0;
    lrmlp_eval_result ev = {0, 0, 0};
    for (size_t e = 1; e <= epochs; e++) {
        lrmlp_epoch_stats st;
        if (lrmlp_train_epoch(net, opt, train, &to, &st) ||
            lrmlp_evaluate(net, test, LRMLP_LOSS_CROSS_ENTROPY, 0, &ev)) {
            fprintf(stderr, PROG ": epoch %zu: %s\n", e, lrmlp_last_errmsg());
            return 1;
        }
        train_seconds += st.seconds;
        samples += st.samples;
        printf("epoch %3zu  loss %.4f  train_acc %.4f  test_loss %.4f  test_acc %.4f  "
               "%.2f s  %.0f samples/s\n",
               e, st.loss, st.accuracy, ev.loss, ev.accuracy, st.seconds,
               (double)st.samples / st.seconds);
        fflush(stdout);
    }
    if (save && lrmlp_model_save(net, opt, save)) {
        fprintf(stderr, PROG ": save: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    printf("{\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"epochs\": %zu, "
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
