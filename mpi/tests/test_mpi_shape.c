/* A rank with a mismatched network (or dataset, or options) makes every
 * rank return the same error, and the ranks stay in step (no hang): after
 * each failure a correct collective call still works. */
#include "mpi_test.h"

static void still_in_step(lrmlp_mpi *h, const char *after)
{
    lrmlp_net *net = t_net(0, 6, LRMLP_F32, 1 + (uint64_t)t_rank);
    CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 0) == 0, "after %s: %s", after,
          lrmlp_last_errmsg());
    CHECK(t_all_same(t_model_hash(net, NULL), MPI_COMM_WORLD), "after %s: replicas differ",
          after);
    lrmlp_net_free(net);
}

static lrmlp_net *dense(size_t hidden)
{
    size_t w[3] = {6, hidden, 3};
    lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
    o.n_layers = 2;
    o.widths = w;
    lrmlp_net *net = NULL;
    lrmlp_net_create(&net, &o);
    return net;
}

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *h = NULL;
    CHECK(lrmlp_mpi_create(&h, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());

    /* Broadcast: rank 1's hidden width differs (as root and as receiver). */
    for (int root = 0; root < 2; root++) {
        lrmlp_net *net = dense(t_rank == 1 ? 9 : 8), *keep = net;
        int rc = lrmlp_mpi_broadcast_model(h, &net, NULL, root);
        CHECK(rc == LRMLP_ERR_SHAPE, "root %d: got %d (%s)", root, rc, lrmlp_last_errmsg());
        CHECK(net == keep, "handle unchanged");
        lrmlp_net_free(net);
        still_in_step(h, "shape mismatch");
    }
    /* Same parameter count, different layout (6-8-3 vs 6-... no: activation). */
    {
        size_t w[3] = {6, 8, 3};
        lrmlp_net_options o = LRMLP_NET_OPTIONS_INIT;
        o.n_layers = 2;
        o.widths = w;
        o.hidden_activation = t_rank ? LRMLP_ACT_RELU : LRMLP_ACT_TANH;
        lrmlp_net *net = NULL;
        lrmlp_net_create(&net, &o);
        CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 0) == LRMLP_ERR_SHAPE, "activation");
        lrmlp_net_free(net);
    }
    /* Dense vs low-rank. */
    {
        lrmlp_net *net = t_net(t_rank, 6, LRMLP_F32, 1);
        CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 0) == LRMLP_ERR_SHAPE, "dense/lowrank");
        lrmlp_net_free(net);
    }
    /* float32 vs float64. */
    {
        lrmlp_net *net = t_net(0, 6, t_rank ? LRMLP_F64 : LRMLP_F32, 1);
        CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 0) == LRMLP_ERR_SHAPE, "dtype");
        lrmlp_net_free(net);
    }

    /* Training and evaluation with mismatched networks. */
    lrmlp_dataset *ds = t_dataset(40, 6, LRMLP_F32, 1);
    lrmlp_net *net = dense(t_rank == 1 ? 9 : 8);
    lrmlp_optim *opt = t_optim(net, LRMLP_OPTIM_SGD);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = 4;
    lrmlp_epoch_stats st;
    int rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 1, 0, &st);
    CHECK(rc == LRMLP_ERR_SHAPE, "train: %d (%s)", rc, lrmlp_last_errmsg());
    CHECK(lrmlp_optim_steps(opt) == 0, "no step taken");
    lrmlp_eval_result ev;
    rc = lrmlp_mpi_evaluate(h, net, ds, LRMLP_LOSS_CROSS_ENTROPY, 0, &ev);
    CHECK(rc == LRMLP_ERR_SHAPE, "evaluate: %d (%s)", rc, lrmlp_last_errmsg());
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    still_in_step(h, "train/evaluate mismatch");

    /* Same networks, but rank 1's dataset has another size. */
    net = dense(8);
    opt = t_optim(net, LRMLP_OPTIM_SGD);
    lrmlp_dataset *ds2 = t_dataset(t_rank ? 41 : 40, 6, LRMLP_F32, 1);
    rc = lrmlp_mpi_train_epoch(h, net, opt, ds2, &o, 1, 0, NULL);
    CHECK(rc == LRMLP_ERR_SHAPE, "dataset size: %d (%s)", rc, lrmlp_last_errmsg());
    lrmlp_dataset_free(ds2);
    /* Rank 1's dataset does not fit the network: its local error reaches rank 0. */
    ds2 = t_dataset(40, t_rank ? 7 : 6, LRMLP_F32, 1);
    rc = lrmlp_mpi_train_epoch(h, net, opt, ds2, &o, 1, 0, NULL);
    CHECK(rc == LRMLP_ERR_SHAPE, "dataset width: %d (%s)", rc, lrmlp_last_errmsg());
    lrmlp_dataset_free(ds2);
    /* Options that differ: batch size, epoch index. */
    o.batch_size = t_rank ? 5 : 4;
    rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 1, 0, NULL);
    CHECK(rc == LRMLP_ERR_INVALID, "batch: %d (%s)", rc, lrmlp_last_errmsg());
    o.batch_size = 4;
    rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 1, (uint64_t)t_rank, NULL);
    CHECK(rc == LRMLP_ERR_INVALID, "epoch: %d (%s)", rc, lrmlp_last_errmsg());
    /* A NULL argument on one rank only. */
    rc = lrmlp_mpi_train_epoch(h, net, opt, t_rank ? NULL : ds, &o, 1, 0, NULL);
    CHECK(rc == LRMLP_ERR_INVALID, "NULL dataset on rank 1: %d (%s)", rc, lrmlp_last_errmsg());
    CHECK(lrmlp_optim_steps(opt) == 0, "no step taken");
    /* And a correct epoch afterwards. */
    rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 1, 0, NULL);
    CHECK(rc == 0, "%s", lrmlp_last_errmsg());
    CHECK(lrmlp_optim_steps(opt) == 5, "steps %llu", (unsigned long long)lrmlp_optim_steps(opt));
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    lrmlp_dataset_free(ds);
    still_in_step(h, "dataset/options mismatch");

    /* Divergence: a huge learning rate overflows the weights; every rank
     * stops at the same step with LRMLP_ERR_DIVERGED and identical weights. */
    {
        lrmlp_net *dn = t_net(0, 6, LRMLP_F32, 4);
        lrmlp_optim *dop = t_optim_lr(dn, LRMLP_OPTIM_SGD, 1e30);
        lrmlp_dataset *dd = t_dataset(40, 6, LRMLP_F32, 2);
        lrmlp_train_options so = LRMLP_TRAIN_OPTIONS_INIT;
        so.loss = LRMLP_LOSS_SSE;
        so.batch_size = 4;
        int drc = 0;
        for (uint64_t e = 0; e < 20 && drc == 0; e++)
            drc = lrmlp_mpi_train_epoch(h, dn, dop, dd, &so, 1, e, NULL);
        CHECK(drc == LRMLP_ERR_DIVERGED, "diverged: %d (%s)", drc, lrmlp_last_errmsg());
        CHECK(t_all_same((uint64_t)drc, MPI_COMM_WORLD), "same status");
        CHECK(t_all_same(lrmlp_optim_steps(dop), MPI_COMM_WORLD), "same step");
        CHECK(t_all_same(t_model_hash(dn, dop), MPI_COMM_WORLD), "same weights");
        lrmlp_optim_free(dop);
        lrmlp_net_free(dn);
        lrmlp_dataset_free(dd);
        still_in_step(h, "divergence");
    }

    lrmlp_mpi_free(h);
    return t_finish();
}
