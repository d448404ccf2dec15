/* The gradient reduction overlapped with the backward pass (per-layer
 * MPI_Iallreduce started from grad_ready) gives bit-identical replicas and
 * trajectories to the same reductions started after the backward pass
 * (overlap off) and, with 2 ranks, to one whole-vector MPI_Allreduce (the
 * hook without grad_ready): dense and low-rank, float32 and float64, small
 * batches and a batch above the chunk size (accumulated chunks), a frozen
 * layer. Also the core loop driven with lrmlp_mpi_grad_ready directly, and
 * a local failure on one rank. */
#include "mpi_test.h"

#define N 4601 /* full batch: about 2300 rows per rank, above the chunk size (2048) */
#define D 12
#define EPOCHS 2

enum { OVERLAP, NO_OVERLAP, WHOLE_VECTOR, CORE_OVERLAP, VARIANTS };
static const char *variant_name[] = {"overlap", "no overlap", "whole vector", "core + grad_ready"};

/* Trains a fresh replica EPOCHS epochs one way; returns the model hash. */
static uint64_t train(lrmlp_mpi *h, int variant, int lowrank, lrmlp_dtype dt, size_t batch,
                      int frozen, const lrmlp_dataset *ds)
{
    lrmlp_net *net = t_net(lowrank, D, dt, 17);
    if (frozen)
        CHECK(lrmlp_net_set_frozen(net, 1, 1) == 0, "%s", lrmlp_last_errmsg());
    lrmlp_optim *opt = t_optim(net, LRMLP_OPTIM_ADAM);
    uint64_t before = t_model_hash(net, opt);
    lrmlp_mpi_reset_counters(h);
    lrmlp_mpi_set_overlap(h, variant != NO_OVERLAP);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = batch;
    o.shuffle = 0;
    size_t steps = 0;
    for (uint64_t e = 0; e < EPOCHS; e++) {
        lrmlp_epoch_stats st;
        int rc;
        if (variant == OVERLAP || variant == NO_OVERLAP) {
            rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 3, e, &st);
        } else {
            /* the core loop with the add-on's hooks: shards of the same
             * order, sum mode (the core weights the mean losses) */
            lrmlp_train_options c = o;
            c.shard_count = (size_t)lrmlp_mpi_size(h);
            c.shard_index = (size_t)lrmlp_mpi_rank(h);
            c.allreduce = lrmlp_mpi_allreduce;
            c.allreduce_user = h;
            if (variant == CORE_OVERLAP) {
                c.grad_ready = lrmlp_mpi_grad_ready;
                c.grad_ready_user = h;
            }
            rc = lrmlp_train_epoch(net, opt, ds, &c, &st);
        }
        CHECK(rc == 0, "%s: %s", variant_name[variant], lrmlp_last_errmsg());
        steps += st.steps;
    }
    CHECK(lrmlp_mpi_allreduce_calls(h) == steps, "%s: %llu all-reduces for %zu steps",
          variant_name[variant], (unsigned long long)lrmlp_mpi_allreduce_calls(h), steps);
    CHECK((lrmlp_mpi_post_seconds(h) > 0) == (variant == OVERLAP || variant == CORE_OVERLAP),
          "%s: post seconds %g", variant_name[variant], lrmlp_mpi_post_seconds(h));
    uint64_t hash = t_model_hash(net, opt);
    CHECK(hash != before, "%s: training changed nothing", variant_name[variant]);
    CHECK(t_all_same(hash, MPI_COMM_WORLD), "%s: replicas differ", variant_name[variant]);
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    return hash;
}

/* A local failure on one rank only (a NaN weight: its loss is not finite,
 * no backward pass runs) still announces every slice, NaN, so both ranks
 * post the same reductions, receive a NaN gradient and refuse the step:
 * no hang, no step, rank 0's weights untouched. */
static void local_failure(lrmlp_mpi *h, int overlap, size_t batch, const lrmlp_dataset *ds)
{
    lrmlp_net *net = t_net(0, D, LRMLP_F32, 17);
    lrmlp_optim *opt = t_optim(net, LRMLP_OPTIM_SGD);
    if (t_rank == 1)
        ((float *)lrmlp_net_params(net))[0] = NAN;
    uint64_t before = t_model_hash(net, opt);
    lrmlp_mpi_set_overlap(h, overlap);
    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = batch;
    int rc = lrmlp_mpi_train_epoch(h, net, opt, ds, &o, 3, 0, NULL);
    CHECK(rc == LRMLP_ERR_DIVERGED, "overlap %d batch %zu: rank %d returned %d (%s)", overlap,
          batch, t_rank, rc, lrmlp_last_errmsg());
    CHECK(lrmlp_optim_steps(opt) == 0, "a step was taken");
    CHECK(t_model_hash(net, opt) == before, "weights changed");
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
}

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *h = NULL;
    CHECK(lrmlp_mpi_create(&h, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());
    CHECK(lrmlp_mpi_get_overlap(h) == 1, "overlap is the default");
    for (int dti = 0; dti < 2; dti++) {
        lrmlp_dtype dt = dti ? LRMLP_F64 : LRMLP_F32;
        lrmlp_dataset *ds = t_dataset(N, D, dt, 5);
        for (int lowrank = 0; lowrank < 2; lowrank++) {
            for (int bi = 0; bi < 2; bi++) {
                size_t batch = bi ? 0 : 32;
                for (int frozen = 0; frozen < 1 + !lowrank; frozen++) {
                    uint64_t hash[VARIANTS];
                    for (int v = 0; v < VARIANTS; v++) {
                        hash[v] = train(h, v, lowrank, dt, batch, frozen, ds);
                        CHECK(hash[v] == hash[0], "%s %s batch %zu%s: %s differs from %s",
                              lowrank ? "lowrank" : "dense", dti ? "f64" : "f32", batch,
                              frozen ? " frozen" : "", variant_name[v], variant_name[0]);
                    }
                    if (t_rank == 0)
                        printf("%-7s %s batch %-4s%s: %d ways bit-identical\n",
                               lowrank ? "lowrank" : "dense", dti ? "f64" : "f32",
                               batch ? "32" : "full", frozen ? " (layer 1 frozen)" : "",
                               VARIANTS);
                }
            }
        }
        lrmlp_dataset_free(ds);
    }
    lrmlp_dataset *ds = t_dataset(N, D, LRMLP_F32, 5);
    for (int overlap = 0; overlap < 2; overlap++)
        for (int bi = 0; bi < 2; bi++)
            local_failure(h, overlap, bi ? 0 : 32, ds);
    lrmlp_dataset_free(ds);
    lrmlp_mpi_free(h);
    return t_finish();
}
