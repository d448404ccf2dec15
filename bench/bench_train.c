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
#include <lrmlp.h>

#include "gemm_floor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void openblas_set_num_threads(int);

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *act_name = "tanh";
    int threads = 0;
    long epochs = 1;
    size_t batch = 128, hidden[8] = {512, 512}, nh = 2;
    lrmlp_dtype dt = LRMLP_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--f64")) {
            dt = LRMLP_F64;
            continue;
        }
        if (!strcmp(a, "--help")) {
            puts("bench_train [--data DIR] [--threads N] [--epochs N] [--hidden 512,512] "
                 "[--act tanh] [--batch 128] [--f64]");
            return 0;
        }
        i++;
        if (!strcmp(a, "--data"))
            dir = v;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--epochs"))
            epochs = atol(v);
        else if (!strcmp(a, "--act"))
            act_name = v;
        else if (!strcmp(a, "--batch"))
            batch = (size_t)atol(v);
        else if (!strcmp(a, "--hidden")) {
            nh = 0;
            for (char *p = (char *)v; *p && nh < 7;) {
                char *end;
                hidden[nh++] = strtoul(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p)
                    break;
            }
        } else {
            fprintf(stderr, "bench_train: unknown option %s\n", a);
            return 2;
        }
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    lrmlp_activation act;
    if (lrmlp_activation_from_name(act_name, &act))
        return 2;
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    lrmlp_dataset *ds;
    if (lrmlp_dataset_load_idx(&ds, img, lab) ||
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
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"liblrmlp\", \"threads\": %d, \"blas_core\": \"%s\", \"epochs\": %ld, "
           "\"seconds\": %.3f, \"seconds_per_epoch\": %.3f, \"samples_per_second\": %.0f, "
           "\"peak_rss_mb\": %.1f, \"final_loss\": %.4f, \"params\": %zu, "
           "\"dtype\": \"%s\", \"gemm_calls_per_epoch\": %zu, \"gemm_gflop_per_epoch\": %.2f, "
           "\"gemm_floor_seconds_per_epoch\": %.3f, \"ratio_to_floor\": %.3f}\n",
           lrmlp_blas_threads(), lrmlp_blas_core(), epochs, secs, secs / (double)epochs,
           (double)samples / secs, (double)ru.ru_maxrss / 1024.0, loss,
           lrmlp_net_param_count(net), dt == LRMLP_F64 ? "f64" : "f32",
           gemm_calls / (size_t)epochs, 1e-9 * gemm_flops / (double)epochs,
           floor_s / (double)epochs, secs / floor_s);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    return 0;
}
