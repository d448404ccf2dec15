/* Restart from a checkpoint reproduces the uninterrupted run bit for bit:
 * 4 epochs straight vs 2 epochs, checkpoint (rank 0 writes), handles
 * dropped on every rank, load on rank 0 + broadcast, epoch index recovered
 * from the optimizer's step count, 2 more epochs. */
#include "mpi_test.h"

#include <unistd.h>

#define N 150
#define D 9
#define B 7
#define EPOCHS 4

static void run(lrmlp_mpi *h, int lowrank, lrmlp_optim_kind kind, const char *path)
{
    lrmlp_dataset *ds = t_dataset(N, D, LRMLP_F32, 2);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = B;
    size_t spe = (N + 2 * B - 1) / (2 * B);

    lrmlp_net *a = t_net(lowrank, D, LRMLP_F32, 8);
    lrmlp_optim *oa = t_optim(a, kind);
    for (uint64_t e = 0; e < EPOCHS; e++)
        CHECK(lrmlp_mpi_train_epoch(h, a, oa, ds, &o, 17, e, NULL) == 0, "%s",
              lrmlp_last_errmsg());

    lrmlp_net *b = t_net(lowrank, D, LRMLP_F32, 8);
    lrmlp_optim *ob = t_optim(b, kind);
    for (uint64_t e = 0; e < EPOCHS / 2; e++)
        CHECK(lrmlp_mpi_train_epoch(h, b, ob, ds, &o, 17, e, NULL) == 0, "%s",
              lrmlp_last_errmsg());
    CHECK(lrmlp_mpi_checkpoint_save(h, b, ob, path, 0) == 0, "%s", lrmlp_last_errmsg());
    /* "Crash": every rank drops its state; non-root ranks restart empty. */
    lrmlp_net_free(b);
    lrmlp_optim_free(ob);
    b = t_rank == 0 ? t_net(lowrank, D, LRMLP_F32, 1234) : NULL;
    ob = NULL;
    CHECK(lrmlp_mpi_checkpoint_load(h, &b, &ob, path, 0) == 0, "%s", lrmlp_last_errmsg());
    CHECK(b && ob, "restored handles");
    uint64_t first = ob ? lrmlp_optim_steps(ob) / spe : 0;
    CHECK(first == EPOCHS / 2, "resume epoch %llu", (unsigned long long)first);
    for (uint64_t e = first; e < EPOCHS && b && ob; e++)
        CHECK(lrmlp_mpi_train_epoch(h, b, ob, ds, &o, 17, e, NULL) == 0, "%s",
              lrmlp_last_errmsg());
    if (b) {
        double diff = t_param_diff(a, b);
        CHECK(diff == 0.0, "restarted run differs by %g", diff);
        CHECK(t_model_hash(a, oa) == t_model_hash(b, ob), "model bytes differ");
    }
    CHECK(t_all_same(b ? t_model_hash(b, ob) : 0, MPI_COMM_WORLD), "replicas differ");
    lrmlp_net_free(a);
    lrmlp_net_free(b);
    lrmlp_optim_free(oa);
    lrmlp_optim_free(ob);
    lrmlp_dataset_free(ds);
}

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *h = NULL;
    CHECK(lrmlp_mpi_create(&h, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());
    /* One path for every rank (only rank 0 writes it). */
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char path[256];
    snprintf(path, sizeof path, "/tmp/lrmlp_mpi_ckpt_%d.lrm", pid);
    run(h, 0, LRMLP_OPTIM_SGD, path);
    run(h, 1, LRMLP_OPTIM_ADAM, path);

    /* A missing checkpoint fails on every rank and changes nothing. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s.missing", path);
    lrmlp_net *net = t_net(0, D, LRMLP_F32, 1), *keep = net;
    lrmlp_optim *opt = NULL;
    int rc = lrmlp_mpi_checkpoint_load(h, &net, &opt, missing, 0);
    CHECK(rc == LRMLP_ERR_IO, "missing file: %d %s", rc, lrmlp_last_errmsg());
    CHECK(net == keep, "handles unchanged on error");
    /* An unwritable path: root's error reaches every rank. */
    rc = lrmlp_mpi_checkpoint_save(h, net, NULL, "/nonexistent-dir/x.lrm", 0);
    CHECK(rc == LRMLP_ERR_IO, "unwritable: %d %s", rc, lrmlp_last_errmsg());
    lrmlp_net_free(net);
    if (t_rank == 0)
        unlink(path);
    lrmlp_mpi_free(h);
    return t_finish();
}
