/* Data-parallel training of Fashion-MNIST over MPI (liblrmlp_mpi).
 *
 *   mpirun -np P mpi_fashion [--data DIR] [--model dense|lowrank|both]
 *       [--epochs N] [--batch B] [--rank R] [--optim sgd|adam] [--lr X]
 *       [--seed N] [--limit N] [--checkpoint FILE] [--every N] [--resume]
 *       [--profile] [--overlap on|off|alternate]
 *
 * Every rank loads the whole training set; each global batch of P * B
 * samples is split across the ranks and the gradients are all-reduced.
 * Dense: 784-512-512-10 tanh with biases. Low-rank: the paper's L = 3 net
 * with d = 784, m = 512, K = 10 and rank R (default 32), GELU. Rank 0 prints
 * one line per epoch: loss, test accuracy, epoch seconds, all-reduce seconds
 * and share, bytes all-reduced per step (the gradient payload per rank), and
 * a JSON line per model at the end.
 *
 * Checkpoints: with --checkpoint FILE rank 0 saves the model and optimizer
 * atomically every --every epochs (default 1) to FILE (FILE.dense and
 * FILE.lowrank with --model both). --resume loads it on rank 0, broadcasts it
 * to every rank and continues at epoch = optimizer steps / steps per epoch,
 * so the run ends with the same weights as an uninterrupted one (same P and
 * B). --profile puts a barrier before each all-reduce so that waiting for the
 * slower rank ("wait") is timed apart from the transfer. --overlap (default on)
 * sets lrmlp_mpi_set_overlap; alternate switches it after every step (on
 * first), a paired comparison within one run (the trajectory is the same
 * either way; a step callback does the switching, which adds one tiny
 * all-reduce per step to both modes). "allreduce" is the time the hook
 * blocks (MPI_Waitall with overlap) and "post" the time spent in MPI during
 * the backward pass; the JSON line gives both per mode, summed over the
 * epochs and averaged over the ranks. BLAS threads: OpenBLAS's own setting (OPENBLAS_NUM_THREADS per rank). */
#include "common.h"

#include <lrmlp_mpi.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cfg {
    const char *data, *model, *checkpoint, *optim, *overlap;
    int epochs, every, resume, profile;
    size_t batch, rank, limit;
    double lr;
    unsigned long long seed;
} cfg;

static lrmlp_net *make_net(int lowrank, const cfg *c)
{
    lrmlp_net *net = NULL;
    int rc;
    if (lowrank) {
        lrmlp_lowrank_options o = LRMLP_LOWRANK_OPTIONS_INIT;
        o.n_layers = 3;
        o.input_dim = 784;
        o.width = 512;
        o.output_dim = 10;
        o.rank = c->rank;
        o.seed = c->seed;
        rc = lrmlp_lowrank_create(&net, &o);
    } else {
        size_t w[4] = {784, 512, 512, 10};
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.n_layers = 3;
        o.widths = w;
        o.bias = 1;
        o.seed = c->seed;
        rc = lrmlp_net_create(&net, &o);
    }
    if (rc)
        fprintf(stderr, "mpi_fashion: creating the network: %s\n", lrmlp_last_errmsg());
    return net;
}

/* --overlap alternate: per step, attributes the step's time and the
 * handle's counters to the mode it ran in, then switches the mode. */
typedef struct {
    lrmlp_mpi *h;
    int on;
    double t, ar, post;   /* at the last switch */
    double sum[2][4];     /* per mode (0 off, 1 on): steps, step s, hook s, post s */
} alternate_;

static double wall(void)
{
    return MPI_Wtime();
}

static void alternate_mark(alternate_ *a)
{
    a->t = wall();
    a->ar = lrmlp_mpi_allreduce_seconds(a->h);
    a->post = lrmlp_mpi_post_seconds(a->h);
}

static int alternate_step(void *user, lrmlp_net *net, const lrmlp_step_info *info)
{
    (void)net, (void)info;
    alternate_ *a = user;
    double *s = a->sum[a->on];
    s[0] += 1;
    s[1] += wall() - a->t;
    s[2] += lrmlp_mpi_allreduce_seconds(a->h) - a->ar;
    s[3] += lrmlp_mpi_post_seconds(a->h) - a->post;
    a->on = !a->on;
    lrmlp_mpi_set_overlap(a->h, a->on);
    alternate_mark(a);
    return 0;
}

static int train(lrmlp_mpi *h, int lowrank, const cfg *c, const lrmlp_dataset *train_ds,
                 const lrmlp_dataset *test_ds)
{
    int rank = lrmlp_mpi_rank(h), P = lrmlp_mpi_size(h);
    const char *name = lowrank ? "lowrank" : "dense";
    char ckpt[4096] = "";
    if (c->checkpoint) {
        if (strcmp(c->model, "both") == 0)
            snprintf(ckpt, sizeof ckpt, "%s.%s", c->checkpoint, name);
        else
            snprintf(ckpt, sizeof ckpt, "%s", c->checkpoint);
    }
    lrmlp_net *net = make_net(lowrank, c);
    lrmlp_optim *opt = NULL;
    int rc = net ? LRMLP_OK : LRMLP_ERR_INVALID;
    if (net) {
        lrmlp_optim_options oo = LRMLP_OPTIM_OPTIONS_INIT;
        int adam = strcmp(c->optim, "adam") == 0;
        oo.kind = adam ? LRMLP_OPTIM_ADAM : LRMLP_OPTIM_SGD;
        oo.lr = c->lr > 0 ? c->lr : adam ? 1e-3 : 0.05;
        oo.momentum = adam ? 0.0 : 0.9;
        rc = lrmlp_optim_create(&opt, net, &oo);
        if (rc)
            fprintf(stderr, "mpi_fashion: optimizer: %s\n", lrmlp_last_errmsg());
    }
    /* All ranks must agree before the first collective. */
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, lrmlp_mpi_comm(h));
    if (rc)
        goto out;
    size_t n = lrmlp_dataset_size(train_ds), G = (size_t)P * c->batch;
    size_t steps_per_epoch = (n + G - 1) / G;
    uint64_t first = 0;
    int resumed = 0;
    if (c->resume && ckpt[0]) {
        int exists = rank == 0 ? access(ckpt, R_OK) == 0 : 0;
        MPI_Bcast(&exists, 1, MPI_INT, 0, lrmlp_mpi_comm(h));
        if (exists) {
            rc = lrmlp_mpi_checkpoint_load(h, &net, &opt, ckpt, 0);
            if (rc) {
                if (rank == 0)
                    fprintf(stderr, "mpi_fashion: resume: %s\n", lrmlp_last_errmsg());
                goto out;
            }
            first = lrmlp_optim_steps(opt) / steps_per_epoch;
            resumed = 1;
        }
    }
    if (!resumed) {
        /* Same seed gives the same weights everywhere; broadcasting anyway
         * makes that hold for any initialization. */
        rc = lrmlp_mpi_broadcast_model(h, &net, &opt, 0);
        if (rc) {
            if (rank == 0)
                fprintf(stderr, "mpi_fashion: broadcast: %s\n", lrmlp_last_errmsg());
            goto out;
        }
    }
    size_t params = lrmlp_net_param_count(net);
    if (rank == 0)
        printf("%s: %zu parameters, %zu bytes all-reduced per step, %d ranks x batch %zu, "
               "%zu steps/epoch, blas core %s threads %d%s\n",
               name, params, params * sizeof(float), P, c->batch, steps_per_epoch,
               lrmlp_blas_core(), lrmlp_blas_threads(), resumed ? ", resumed" : "");
    lrmlp_train_options to = LRMLP_TRAIN_OPTIONS_INIT;
    to.batch_size = c->batch;
    double total_s = 0, total_ar = 0, total_wait = 0;
    const int alternate = !strcmp(c->overlap, "alternate");
    alternate_ alt = {h, 1, 0, 0, 0, {{0, 0, 0, 0}, {0, 0, 0, 0}}};
    if (alternate) {
        to.on_step = alternate_step;
        to.on_step_user = &alt;
    }
    lrmlp_eval_result ev = {NAN, NAN, 0};
    int done = 0;
    for (uint64_t e = first; e < (uint64_t)c->epochs; e++) {
        lrmlp_epoch_stats st;
        int ov = alternate ? alt.on : strcmp(c->overlap, "off") != 0;
        lrmlp_mpi_set_overlap(h, ov);
        if (alternate)
            alternate_mark(&alt);
        else
            alt.on = ov;
        double ar0 = lrmlp_mpi_allreduce_seconds(h), w0 = lrmlp_mpi_wait_seconds(h);
        double p0 = lrmlp_mpi_post_seconds(h);
        uint64_t b0 = lrmlp_mpi_allreduce_bytes(h), c0 = lrmlp_mpi_allreduce_calls(h);
        rc = lrmlp_mpi_train_epoch(h, net, opt, train_ds, &to, c->seed, e, &st);
        if (rc) {
            fprintf(stderr, "mpi_fashion: rank %d epoch %llu: %s\n", rank,
                    (unsigned long long)e, lrmlp_last_errmsg());
            goto out;
        }
        double ar = lrmlp_mpi_allreduce_seconds(h) - ar0;
        uint64_t calls = lrmlp_mpi_allreduce_calls(h) - c0;
        uint64_t bytes = lrmlp_mpi_allreduce_bytes(h) - b0;
        /* Slowest rank's times. */
        double tm[4] = {st.seconds, ar, lrmlp_mpi_wait_seconds(h) - w0,
                        lrmlp_mpi_post_seconds(h) - p0};
        MPI_Allreduce(MPI_IN_PLACE, tm, 4, MPI_DOUBLE, MPI_MAX, lrmlp_mpi_comm(h));
        if (!alternate) { /* the whole epoch ran in mode ov */
            alt.sum[ov][0] += (double)calls;
            for (int i = 0; i < 2; i++)
                alt.sum[ov][1 + i] += tm[i];
            alt.sum[ov][3] += tm[3];
        }
        total_s += tm[0];
        total_ar += tm[1];
        total_wait += tm[2];
        rc = lrmlp_mpi_evaluate(h, net, test_ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &ev);
        if (rc)
            goto out;
        if (rank == 0)
            printf("%s epoch %llu: loss %.4f test acc %.4f  %.3f s  allreduce %.3f s (%.1f%%)  "
                   "wait %.3f s  overlap %s post %.3f s  %llu bytes/step x %llu steps\n",
                   name, (unsigned long long)e + 1, st.loss, ev.accuracy, tm[0], tm[1],
                   100.0 * tm[1] / tm[0], tm[2], alternate ? "alternating" : ov ? "on" : "off",
                   tm[3],
                   (unsigned long long)(calls ? bytes / calls : 0), (unsigned long long)calls);
        fflush(stdout);
        done++;
        if (ckpt[0] && ((e + 1) % (uint64_t)c->every == 0 || e + 1 == (uint64_t)c->epochs)) {
            rc = lrmlp_mpi_checkpoint_save(h, net, opt, ckpt, 0);
            if (rc) {
                if (rank == 0)
                    fprintf(stderr, "mpi_fashion: checkpoint: %s\n", lrmlp_last_errmsg());
                goto out;
            }
        }
    }
    /* per mode: mean over the ranks, then per step (x steps_per_epoch: per epoch) */
    MPI_Allreduce(MPI_IN_PLACE, alt.sum, 8, MPI_DOUBLE, MPI_SUM, lrmlp_mpi_comm(h));
    double per[2][3];
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 3; i++)
            per[m][i] = alt.sum[m][0] > 0 ? alt.sum[m][1 + i] / alt.sum[m][0] *
                                                (double)steps_per_epoch
                                          : NAN;
    if (rank == 0)
        printf("{\"model\": \"%s\", \"ranks\": %d, \"batch_per_rank\": %zu, \"params\": %zu, "
               "\"bytes_per_step\": %zu, \"epochs_run\": %d, \"seconds_per_epoch\": %.4f, "
               "\"allreduce_seconds_per_epoch\": %.4f, \"allreduce_share\": %.4f, "
               "\"wait_seconds_per_epoch\": %.4f, \"profile\": %d, \"overlap\": \"%s\", "
               "\"steps_overlap\": %.0f, \"step_seconds_per_epoch_overlap\": %.4f, "
               "\"allreduce_seconds_per_epoch_overlap\": %.4f, "
               "\"post_seconds_per_epoch_overlap\": %.4f, \"steps_no_overlap\": %.0f, "
               "\"step_seconds_per_epoch_no_overlap\": %.4f, "
               "\"allreduce_seconds_per_epoch_no_overlap\": %.4f, "
               "\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"blas_core\": \"%s\"}\n",
               name, P, c->batch, params, params * sizeof(float), done,
               done ? total_s / done : NAN, done ? total_ar / done : NAN,
               total_s > 0 ? total_ar / total_s : NAN, done ? total_wait / done : NAN,
               c->profile, c->overlap, alt.sum[1][0] / P, per[1][0], per[1][1], per[1][2],
               alt.sum[0][0] / P, per[0][0], per[0][1], ev.accuracy, ev.loss,
               lrmlp_blas_core());
out:
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: mpirun -np P mpi_fashion [options]\n"
          "  --data DIR         IDX directory (default /usr/share/datasets/fashion-mnist)\n"
          "  --model M          dense, lowrank or both (default both)\n"
          "  --epochs N         epochs, >= 1 (default 3)\n"
          "  --batch B          samples per rank and step, >= 1 (default 128)\n"
          "  --rank R           rank of the low-rank net, >= 1 (default 32)\n"
          "  --optim NAME       sgd or adam (default sgd)\n"
          "  --lr X             learning rate, > 0 (default 0.05 sgd, 1e-3 adam)\n"
          "  --seed N           seed (default 1)\n"
          "  --limit N          use the first N training images, 0 = all (default 0)\n"
          "  --checkpoint FILE  save model and optimizer every --every epochs\n"
          "  --every N          checkpoint interval in epochs, >= 1 (default 1)\n"
          "  --resume           continue from --checkpoint\n"
          "  --profile          barrier before each all-reduce to time waiting apart\n"
          "  --overlap MODE     on, off or alternate (every epoch): all-reduce overlapped\n"
          "                     with the backward pass (default on)\n",
          f);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    cfg c = {"/usr/share/datasets/fashion-mnist", "both", NULL, "sgd", "on", 3, 1, 0, 0, 128, 32,
             0, 0.0, 1};
    int world_rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    void (*say)(FILE *) = world_rank == 0 ? usage : NULL;
    const ex_opt opts[] = {
        EX_OPT_STR("--data", &c.data),
        EX_OPT_STR("--model", &c.model),
        EX_OPT_STR("--checkpoint", &c.checkpoint),
        EX_OPT_STR("--optim", &c.optim),
        EX_OPT_STR("--overlap", &c.overlap),
        EX_OPT_INT("--epochs", &c.epochs),
        EX_OPT_INT("--every", &c.every),
        EX_OPT_SIZE("--batch", &c.batch),
        EX_OPT_SIZE("--rank", &c.rank),
        EX_OPT_SIZE("--limit", &c.limit),
        EX_OPT_POS("--lr", &c.lr), /* 0: not given */
        EX_OPT_ULL("--seed", &c.seed),
        EX_OPT_FLAG("--resume", &c.resume),
        EX_OPT_FLAG("--profile", &c.profile),
        EX_OPT_END,
    };
    int parsed = ex_parse_options(argc, argv, "mpi_fashion", opts, say);
    int model_ok = !strcmp(c.model, "dense") || !strcmp(c.model, "lowrank") ||
                   !strcmp(c.model, "both");
    int optim_ok = !strcmp(c.optim, "sgd") || !strcmp(c.optim, "adam");
    int overlap_ok = !strcmp(c.overlap, "on") || !strcmp(c.overlap, "off") ||
                     !strcmp(c.overlap, "alternate");
    if (!parsed && (!model_ok || !optim_ok || !overlap_ok || c.epochs < 1 || c.every < 1 || c.batch < 1 ||
                    c.rank < 1)) {
        if (say) {
            fprintf(stderr, "mpi_fashion: need --model dense|lowrank|both, --optim sgd|adam, "
                            "--overlap on|off|alternate and --epochs, --every, --batch, "
                            "--rank >= 1\n");
            fprintf(stderr, "Try 'mpi_fashion --help' for the options.\n");
        }
        parsed = EX_ARGS_BAD;
    }
    if (parsed) {
        MPI_Finalize();
        return parsed == EX_ARGS_HELP ? 0 : 2;
    }
    lrmlp_mpi *h = NULL;
    int rc = lrmlp_mpi_create(&h, MPI_COMM_WORLD);
    if (h)
        lrmlp_mpi_set_profile(h, c.profile);
    lrmlp_dataset *tr = NULL, *te = NULL;
    if (!rc) {
        rc = ex_load_fashion("mpi_fashion", c.data, "train", &tr) ||
                     ex_load_fashion("mpi_fashion", c.data, "t10k", &te)
                 ? LRMLP_ERR_IO
                 : 0;
        if (!rc && c.limit && c.limit < lrmlp_dataset_size(tr)) {
            lrmlp_dataset *first = NULL;
            rc = lrmlp_dataset_split(tr, c.limit, &first, NULL);
            if (!rc) {
                lrmlp_dataset_free(tr);
                tr = first;
            }
        }
        if (!rc)
            rc = lrmlp_dataset_standardize(tr, LRMLP_STANDARDIZE_GLOBAL, NULL) ||
                 lrmlp_dataset_standardize(te, LRMLP_STANDARDIZE_GLOBAL, tr);
    }
    if (h) {
        MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, lrmlp_mpi_comm(h));
        if (!rc && strcmp(c.model, "lowrank"))
            rc = train(h, 0, &c, tr, te);
        if (!rc && strcmp(c.model, "dense"))
            rc = train(h, 1, &c, tr, te);
    }
    lrmlp_dataset_free(tr);
    lrmlp_dataset_free(te);
    lrmlp_mpi_free(h);
    MPI_Finalize();
    return rc ? 1 : 0;
}
