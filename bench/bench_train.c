/* Benchmark: one epoch of Fashion-MNIST on a dense MLP (default
 * 784-512-512-10 tanh, batch 128, float32, plain SGD lr 0.1), the same job
 * as bench/torch_mlp.py. Prints one JSON line.
 *
 *   bench_train [--data DIR] [--threads N] [--epochs N] [--hidden 512,512]
 *               [--act tanh] [--batch 128] [--f64]
 *
 * Also reports the GEMM floor (gemm_floor.h): the same cblas_?gemm calls
 * the epochs made, replayed alone (fastest of 3 replays), and the epoch's
 * ratio to it.
 *
 * --threads calls openblas_set_num_threads: the benchmark is the application
 * and may choose; the library itself never does. */
#include "common.h"

#include <lrmlp.h>

#include "gemm_floor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);

static void usage(FILE *f)
{
    fputs("usage: bench_train [options]\n"
          "  --data DIR     Fashion-MNIST IDX directory (default "
          "/usr/share/datasets/fashion-mnist)\n"
          "  --threads N    openblas_set_num_threads(N); 0 = OpenBLAS's own (default 0)\n"
          "  --epochs N     epochs, >= 1 (default 1)\n"
          "  --hidden LIST  hidden widths, comma separated, up to 8 (default 512,512)\n"
          "  --act NAME     hidden activation (default tanh)\n"
          "  --batch N      mini-batch size, 0 = full batch (default 128)\n"
          "  --f64          float64 (default float32)\n",
          f);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *act_name = "tanh", *hl = NULL;
    int threads = 0, f64 = 0;
    long epochs = 1;
    size_t batch = 128, hidden[8] = {512, 512}, nh = 2;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &dir),   EX_OPT_INT("--threads", &threads),
        EX_OPT_LONG("--epochs", &epochs), EX_OPT_STR("--hidden", &hl),
        EX_OPT_STR("--act", &act_name), EX_OPT_SIZE("--batch", &batch),
        EX_OPT_FLAG("--f64", &f64),   EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "bench_train", opts, usage);
    if (parsed)
        return parsed == EX_ARGS_HELP ? 0 : EX_EXIT_USAGE;
    if (hl && !(nh = ex_parse_sizes(hl, hidden, 8)))
        return ex_bad_usage("bench_train", "bad --hidden list '%s'", hl);
    if (epochs < 1 || threads < 0)
        return ex_bad_usage("bench_train", "need --epochs >= 1 and --threads >= 0");
    lrmlp_dtype dt = f64 ? LRMLP_F64 : LRMLP_F32;
    if (threads > 0)
        openblas_set_num_threads(threads);
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return ex_bad_usage("bench_train", "unknown activation '%s'", act_name);
    lrmlp_dataset *ds;
    if (ex_load_idx(dir, "train", &ds) ||
        lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL)) {
        fprintf(stderr, "bench_train: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    size_t widths[10];
    widths[0] = lrmlp_dataset_dim(ds);
    for (size_t i = 0; i < nh; i++)
        widths[i + 1] = hidden[i];
    widths[nh + 1] = lrmlp_dataset_n_classes(ds);
    lrmlp_net_options no = LRMLP_NET_OPTIONS_INIT;
    no.dtype = dt;
    no.n_layers = nh + 1;
    no.widths = widths;
    no.hidden_activation = act;
    no.bias = 1;
    lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
    oo.lr = 0.1;
    lrmlp_net *net;
    lrmlp_optim *opt;
    if (lrmlp_net_create(&net, &no) || lrmlp_optim_create(&opt, net, &oo)) {
        fprintf(stderr, "bench_train: %s\n", lrmlp_last_errmsg());
        return 1;
    }
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = batch;
    double secs = 0, loss = 0;
    size_t samples = 0;
    gemm_floor_record_start();
    for (long e = 0; e < epochs; e++) {
        lrmlp_epoch_stats st;
        if (lrmlp_train_epoch(net, opt, ds, &to, &st)) {
            fprintf(stderr, "bench_train: %s\n", lrmlp_last_errmsg());
            return 1;
        }
        secs += st.seconds;
        samples += st.samples;
        loss = st.loss;
    }
    gemm_floor_record_stop();
    double gemm_flops = 0;
    size_t gemm_calls = gemm_floor_calls(&gemm_flops);
    double floor_s = gemm_floor_replay(3);
    if (floor_s < 0) {
        fprintf(stderr, "bench_train: out of memory for the GEMM floor replay\n");
        return 1;
    }
    printf("{\"impl\": \"liblrmlp\", \"threads\": %d, \"blas_core\": \"%s\", \"epochs\": %ld, "
           "\"seconds\": %.3f, \"seconds_per_epoch\": %.3f, \"samples_per_second\": %.0f, "
           "\"peak_rss_mb\": %.1f, \"final_loss\": %.4f, \"params\": %zu, "
           "\"dtype\": \"%s\", \"gemm_calls_per_epoch\": %zu, \"gemm_gflop_per_epoch\": %.2f, "
           "\"gemm_floor_seconds_per_epoch\": %.3f, \"gemm_in_job_seconds_per_epoch\": %.3f, "
           "\"ratio_to_floor\": %.3f}\n",
           lrmlp_blas_threads(), lrmlp_blas_core(), epochs, secs, secs / (double)epochs,
           (double)samples / secs, ex_peak_rss_mb(), loss,
           lrmlp_net_param_count(net), dt == LRMLP_F64 ? "f64" : "f32",
           gemm_calls / (size_t)epochs, 1e-9 * gemm_flops / (double)epochs,
           floor_s / (double)epochs, gemm_floor_in_job_seconds() / (double)epochs,
           secs / floor_s);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    return 0;
}
