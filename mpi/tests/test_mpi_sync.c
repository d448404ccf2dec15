/* All ranks hold bit-identical networks and optimizers (weights, generator,
 * optimizer state: compared through a hash of lrmlp_model_save_mem) after a
 * broadcast from either root, after receiving into a NULL handle, and after
 * data-parallel training. */
#include "mpi_test.h"

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *h = NULL;
    CHECK(lrmlp_mpi_create(&h, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());
    CHECK(lrmlp_mpi_rank(h) == t_rank, "rank");
    CHECK(lrmlp_mpi_comm(h) != MPI_COMM_WORLD, "communicator is duplicated");

    for (int lowrank = 0; lowrank < 2; lowrank++) {
        /* Different seeds: the replicas start different. */
        lrmlp_net *net = t_net(lowrank, 10, LRMLP_F32, 100 + (uint64_t)t_rank);
        lrmlp_optim *opt = t_optim(net, LRMLP_OPTIM_ADAM);
        CHECK(!t_all_same(t_model_hash(net, opt), MPI_COMM_WORLD), "replicas start different");
        lrmlp_net *before = net;
        CHECK(lrmlp_mpi_broadcast_model(h, &net, &opt, 1) == 0, "%s", lrmlp_last_errmsg());
        CHECK(t_all_same(t_model_hash(net, opt), MPI_COMM_WORLD), "identical after broadcast");
        CHECK(t_rank == 1 ? net == before : 1, "root keeps its handle");

        /* Train a bit so the optimizer has state, then broadcast from 0 to
         * a rank that passes NULL handles. */
        lrmlp_dataset *ds = t_dataset(97, 10, LRMLP_F32, 5);
        lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
        o.batch_size = 6;
        for (uint64_t e = 0; e < 2; e++)
            CHECK(lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 3, e, NULL) == 0, "%s",
                  lrmlp_last_errmsg());
        CHECK(lrmlp_optim_steps(opt) == 2 * 9, "steps %llu",
              (unsigned long long)lrmlp_optim_steps(opt));
        CHECK(t_all_same(t_model_hash(net, opt), MPI_COMM_WORLD), "identical after training");

        if (t_rank == 1) {
            lrmlp_net_free(net);
            lrmlp_optim_free(opt);
            net = NULL;
            opt = NULL;
        }
        CHECK(lrmlp_mpi_broadcast_model(h, &net, &opt, 0) == 0, "%s", lrmlp_last_errmsg());
        CHECK(net && opt, "received handles");
        CHECK(t_all_same(t_model_hash(net, opt), MPI_COMM_WORLD), "identical after NULL receive");
        CHECK(lrmlp_optim_steps(opt) == 18, "optimizer state travels");

        /* Without an optimizer pointer only the network travels. */
        CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 0) == 0, "%s", lrmlp_last_errmsg());

        /* Training continues identically, and the evaluation agrees. */
        CHECK(lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 3, 2, NULL) == 0, "%s",
              lrmlp_last_errmsg());
        CHECK(t_all_same(t_model_hash(net, opt), MPI_COMM_WORLD), "identical after epoch 3");
        lrmlp_eval_result ev;
        CHECK(lrmlp_mpi_evaluate(h, net, ds, LRMLP_LOSS_CROSS_ENTROPY, 8, &ev) == 0, "%s",
              lrmlp_last_errmsg());
        uint64_t bits;
        memcpy(&bits, &ev.loss, sizeof bits);
        CHECK(t_all_same(bits, MPI_COMM_WORLD), "every rank gets the same evaluation");
        lrmlp_dataset_free(ds);
        lrmlp_optim_free(opt);
        lrmlp_net_free(net);
    }

    /* Bad root: rejected locally on every rank, no collective. */
    lrmlp_net *net = t_net(0, 4, LRMLP_F32, 1);
    CHECK(lrmlp_mpi_broadcast_model(h, &net, NULL, 5) == LRMLP_ERR_INVALID, "bad root");
    lrmlp_net_free(net);
    lrmlp_mpi_free(h);
    lrmlp_mpi_free(NULL);
    return t_finish();
}
