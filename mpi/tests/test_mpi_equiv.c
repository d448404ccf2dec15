/* P = 2 ranks with per-rank batch b follow the same trajectory as one
 * process (P = 1, MPI_COMM_SELF) with batch 2b: dense and low-rank nets, SGD
 * with momentum and Adam, SSE and cross-entropy, float32 and float64. Also
 * the all-reduce hook's sum/mean modes and counters, and the sharded
 * evaluation against lrmlp_evaluate. */
#include "mpi_test.h"

#define N 203 /* odd: the last global batch is short and unevenly split */
#define D 12
#define B 8
#define EPOCHS 3

/* Tolerances (relative to the largest weight): float round-off of the
 * summation order only. */
#define TOL_F32 1e-5
#define TOL_F64 1e-12

static void run_case(lrmlp_mpi *world, lrmlp_mpi *self, int lowrank, lrmlp_optim_kind kind,
                     lrmlp_loss loss, lrmlp_dtype dt)
{
    lrmlp_dataset *ds = t_dataset(N, D, dt, 7);
    lrmlp_net *a = t_net(lowrank, D, dt, 42), *b = t_net(lowrank, D, dt, 42);
    lrmlp_optim *oa = t_optim(a, kind), *ob = t_optim(b, kind);
    if (kind == LRMLP_OPTIM_SGD && loss == LRMLP_LOSS_SSE) {
        /* The SSE gradient is a sum over the 16-sample global batch. */
        lrmlp_optim_free(oa);
        lrmlp_optim_free(ob);
        oa = t_optim_lr(a, kind, 0.05 / (2 * B));
        ob = t_optim_lr(b, kind, 0.05 / (2 * B));
    }
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.loss = loss;
    const char *what = lowrank ? "lowrank" : "dense";
    for (uint64_t e = 0; e < EPOCHS; e++) {
        lrmlp_epoch_stats sa, sb;
        o.batch_size = B;
        int rc = lrmlp_mpi_train_epoch(world, a, oa, ds, &o, 99, e, &sa);
        CHECK(rc == 0, "P=2 %s: %s", what, lrmlp_last_errmsg());
        o.batch_size = 2 * B;
        rc = lrmlp_mpi_train_epoch(self, b, ob, ds, &o, 99, e, &sb);
        CHECK(rc == 0, "P=1 %s: %s", what, lrmlp_last_errmsg());
        CHECK(sa.steps == sb.steps && sa.samples == N && sb.samples == N,
              "steps %zu vs %zu", sa.steps, sb.steps);
        CHECK(fabs(sa.loss - sb.loss) <= 1e-4 * (1 + fabs(sb.loss)), "loss %g vs %g", sa.loss,
              sb.loss);
    }
    double diff = t_param_diff(a, b), tol = dt == LRMLP_F32 ? TOL_F32 : TOL_F64;
    CHECK(diff <= tol, "%s %s %s %s: P=2 vs P=1 weights differ by %.3g (tol %.1g)", what,
          lrmlp_optim_kind_name(kind), loss == LRMLP_LOSS_SSE ? "sse" : "ce",
          dt == LRMLP_F32 ? "f32" : "f64", diff, tol);
    CHECK(lrmlp_optim_steps(oa) == lrmlp_optim_steps(ob), "optimizer steps differ");
    /* The two ranks' replicas are bit-identical. */
    CHECK(t_all_same(t_model_hash(a, oa), MPI_COMM_WORLD), "replicas differ after training");
    if (t_rank == 0)
        printf("%-8s %-5s %-4s %s: max rel. weight difference P=2 vs P=1 = %.3g\n", what,
               lrmlp_optim_kind_name(kind), loss == LRMLP_LOSS_SSE ? "sse" : "ce",
               dt == LRMLP_F32 ? "f32" : "f64", diff);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_dataset_free(ds);
}

/* With shuffle off, P = 2 also matches the core's lrmlp_train_epoch. */
static void vs_core(lrmlp_mpi *world)
{
    lrmlp_dataset *ds = t_dataset(N, D, LRMLP_F64, 3);
    lrmlp_net *a = t_net(0, D, LRMLP_F64, 5), *b = t_net(0, D, LRMLP_F64, 5);
    lrmlp_optim *oa = t_optim(a, LRMLP_OPTIM_SGD), *ob = t_optim(b, LRMLP_OPTIM_SGD);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.shuffle = 0;
    o.batch_size = B;
    CHECK(lrmlp_mpi_train_epoch(world, a, oa, ds, &o, 1, 0, NULL) == 0, "%s",
          lrmlp_last_errmsg());
    o.batch_size = 2 * B;
    CHECK(lrmlp_train_epoch(b, ob, ds, &o, NULL) == 0, "%s", lrmlp_last_errmsg());
    double diff = t_param_diff(a, b);
    CHECK(diff <= TOL_F64, "P=2 vs lrmlp_train_epoch: %.3g", diff);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_dataset_free(ds);
}

static void hook(lrmlp_mpi *world)
{
    float g[5];
    double gd[3];
    for (int i = 0; i < 5; i++)
        g[i] = (float)(t_rank + 1);
    for (int i = 0; i < 3; i++)
        gd[i] = t_rank ? 3.0 : 1.0;
    lrmlp_mpi_reset_counters(world);
    CHECK(lrmlp_mpi_get_average(world) == 0, "default is sum mode");
    CHECK(lrmlp_mpi_allreduce(world, g, 5, LRMLP_F32) == 0, "%s", lrmlp_last_errmsg());
    CHECK(g[0] == 3.0f && g[4] == 3.0f, "sum: %g", (double)g[0]);
    lrmlp_mpi_set_average(world, 1);
    CHECK(lrmlp_mpi_allreduce(world, gd, 3, LRMLP_F64) == 0, "%s", lrmlp_last_errmsg());
    CHECK(gd[0] == 2.0 && gd[2] == 2.0, "mean: %g", gd[0]);
    lrmlp_mpi_set_average(world, 0);
    CHECK(lrmlp_mpi_allreduce_calls(world) == 2, "calls %llu",
          (unsigned long long)lrmlp_mpi_allreduce_calls(world));
    CHECK(lrmlp_mpi_allreduce_bytes(world) == 5 * 4 + 3 * 8, "bytes %llu",
          (unsigned long long)lrmlp_mpi_allreduce_bytes(world));
    CHECK(lrmlp_mpi_last_step_bytes(world) == 24, "last %zu", lrmlp_mpi_last_step_bytes(world));
    CHECK(lrmlp_mpi_allreduce_seconds(world) >= 0, "seconds");
    CHECK(lrmlp_mpi_allreduce(world, g, 5, (lrmlp_dtype)7) == LRMLP_ERR_DTYPE, "bad dtype");

    /* Bytes per step: the low-rank net sends fewer. */
    lrmlp_dataset *ds = t_dataset(64, D, LRMLP_F32, 1);
    lrmlp_net *dn = t_net(0, D, LRMLP_F32, 1), *ln = t_net(1, D, LRMLP_F32, 1);
    lrmlp_optim *od = t_optim(dn, LRMLP_OPTIM_SGD), *ol = t_optim(ln, LRMLP_OPTIM_SGD);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = 16;
    lrmlp_mpi_train_epoch(world, dn, od, ds, &o, 1, 0, NULL);
    size_t bd = lrmlp_mpi_last_step_bytes(world);
    lrmlp_mpi_train_epoch(world, ln, ol, ds, &o, 1, 0, NULL);
    size_t bl = lrmlp_mpi_last_step_bytes(world);
    CHECK(bd == lrmlp_net_param_count(dn) * 4, "dense bytes %zu", bd);
    CHECK(bl == lrmlp_net_param_count(ln) * 4 && bl < bd, "low-rank bytes %zu", bl);
    lrmlp_optim_free(od);
    lrmlp_optim_free(ol);
    lrmlp_net_free(dn);
    lrmlp_net_free(ln);
    lrmlp_dataset_free(ds);
}

static void evaluate(lrmlp_mpi *world)
{
    lrmlp_dataset *ds = t_dataset(N, D, LRMLP_F32, 11);
    lrmlp_net *net = t_net(0, D, LRMLP_F32, 3);
    lrmlp_loss losses[2] = {LRMLP_LOSS_CROSS_ENTROPY, LRMLP_LOSS_SSE};
    for (int i = 0; i < 2; i++) {
        lrmlp_eval_result g, l;
        CHECK(lrmlp_mpi_evaluate(world, net, ds, losses[i], 50, &g) == 0, "%s",
              lrmlp_last_errmsg());
        CHECK(lrmlp_evaluate(net, ds, losses[i], 0, &l) == 0, "%s", lrmlp_last_errmsg());
        CHECK(fabs(g.loss - l.loss) <= 1e-5 * fabs(l.loss), "eval loss %g vs %g", g.loss,
              l.loss);
        CHECK(g.accuracy == l.accuracy && g.samples == N, "accuracy %g vs %g", g.accuracy,
              l.accuracy);
    }
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
}

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *world = NULL, *self = NULL;
    CHECK(lrmlp_mpi_create(&world, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());
    CHECK(lrmlp_mpi_create(&self, MPI_COMM_SELF) == 0, "%s", lrmlp_last_errmsg());
    CHECK(lrmlp_mpi_size(world) == 2 && lrmlp_mpi_size(self) == 1, "sizes");
    for (int lr = 0; lr < 2; lr++)
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < 2; l++)
                for (int f = 0; f < 2; f++)
                    run_case(world, self, lr, k ? LRMLP_OPTIM_ADAM : LRMLP_OPTIM_SGD,
                             l ? LRMLP_LOSS_CROSS_ENTROPY : LRMLP_LOSS_SSE,
                             f ? LRMLP_F64 : LRMLP_F32);
    vs_core(world);
    hook(world);
    evaluate(world);
    lrmlp_mpi_free(self);
    lrmlp_mpi_free(world);
    return t_finish();
}
