/* Adapter networks (lrmlp/adapter.h) in data-parallel training: every rank
 * builds the adapter from the same base (creation is deterministic), each
 * step all-reduces only the adapter's parameter vector (the factors and the
 * trainable last layer, not the frozen W0), and the replicas stay
 * bit-identical. lrmlp_mpi_broadcast_model refuses adapters on every rank
 * (model files cannot hold them) without hanging. */
#include "mpi_test.h"

static uint64_t params_hash(lrmlp_net *net)
{
    const unsigned char *p = lrmlp_net_params(net);
    size_t n = lrmlp_net_param_count(net) * (lrmlp_net_dtype(net) == LRMLP_F32 ? 4 : 8);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int main(int argc, char **argv)
{
    t_init(&argc, &argv);
    lrmlp_mpi *h = NULL;
    CHECK(lrmlp_mpi_create(&h, MPI_COMM_WORLD) == 0, "%s", lrmlp_last_errmsg());
    lrmlp_dataset *ds = t_dataset(96, 12, LRMLP_F32, 3);
    lrmlp_net *base = t_net(0, 12, LRMLP_F32, 7); /* 12-16-16-3, biases */
    const size_t ranks[] = { 2, 2, 0 };
    lrmlp_adapter_options ao = LRMLP_ADAPTER_OPTIONS_INIT;
    ao.ranks = ranks;
    ao.init = LRMLP_ADAPTER_GRADIENT;
    ao.data = ds;
    ao.train_last = 1;
    lrmlp_net *ad = NULL;
    CHECK(lrmlp_adapter_create(&ad, base, &ao) == 0, "%s", lrmlp_last_errmsg());
    CHECK(t_all_same(params_hash(ad), MPI_COMM_WORLD), "identical adapters from one base");

    lrmlp_train_options o = LRMLP_TRAIN_OPTIONS_INIT;
    o.batch_size = 8;
    lrmlp_optim *opt = t_optim(ad, LRMLP_OPTIM_ADAM);
    for (uint64_t e = 0; e < 2; e++)
        CHECK(lrmlp_mpi_train_epoch(h, ad, opt, ds, &o, 5, e, NULL) == 0, "%s",
              lrmlp_last_errmsg());
    size_t ad_bytes = lrmlp_mpi_last_step_bytes(h);
    CHECK(ad_bytes == lrmlp_net_param_count(ad) * sizeof(float), "adapter step bytes %zu",
          ad_bytes);
    CHECK(t_all_same(params_hash(ad), MPI_COMM_WORLD), "identical after training");
    double W0[16 * 12], Wb[16 * 12];
    float Wf[16 * 12];
    CHECK(lrmlp_adapter_get_frozen(ad, 0, W0) == 0, "%s", lrmlp_last_errmsg());
    lrmlp_net_get_weights_f32(base, 0, Wf);
    for (int i = 0; i < 16 * 12; i++)
        Wb[i] = Wf[i];
    CHECK(memcmp(W0, Wb, sizeof W0) == 0, "W0 stays frozen");

    /* Full fine-tuning of the same base for comparison. */
    lrmlp_net *full = NULL;
    CHECK(lrmlp_net_clone(&full, base) == 0, "%s", lrmlp_last_errmsg());
    lrmlp_optim *fopt = t_optim(full, LRMLP_OPTIM_ADAM);
    CHECK(lrmlp_mpi_train_epoch(h, full, fopt, ds, &o, 5, 0, NULL) == 0, "%s",
          lrmlp_last_errmsg());
    size_t full_bytes = lrmlp_mpi_last_step_bytes(h);
    CHECK(full_bytes == lrmlp_net_param_count(base) * sizeof(float), "full bytes %zu",
          full_bytes);
    CHECK(ad_bytes < full_bytes, "adapter %zu bytes, full %zu", ad_bytes, full_bytes);
    if (t_rank == 0)
        printf("bytes per step: adapter %zu, full fine-tuning %zu\n", ad_bytes, full_bytes);

    /* No model file for an adapter: a clean error on every rank. */
    int rc = lrmlp_mpi_broadcast_model(h, &ad, NULL, 0);
    CHECK(rc != 0, "broadcast of an adapter must fail");
    CHECK(t_all_same((uint64_t)(int64_t)rc, MPI_COMM_WORLD), "every rank gets the error");
    CHECK(lrmlp_adapter_is(ad), "the handle is kept");

    lrmlp_optim_free(fopt);
    lrmlp_net_free(full);
    lrmlp_optim_free(opt);
    lrmlp_net_free(ad);
    lrmlp_net_free(base);
    lrmlp_dataset_free(ds);
    lrmlp_mpi_free(h);
    return t_finish();
}
