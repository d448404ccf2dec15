// Minimal C++ embedding: RAII ownership of liblrmlp handles. Build with
//   c++ embed.cpp $(pkg-config --cflags --libs lrmlp) -o embed_cpp
// Learns XOR with a 2-8-2 tanh network; exits 0 when all four are right.
// Takes no options besides --help and --version (checked by hand, so that it
// builds on its own).
#include <lrmlp.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {
struct NetDeleter { void operator()(lrmlp_net *n) const { lrmlp_net_free(n); } };
struct OptDeleter { void operator()(lrmlp_optim *o) const { lrmlp_optim_free(o); } };
using Net = std::unique_ptr<lrmlp_net, NetDeleter>;
using Optim = std::unique_ptr<lrmlp_optim, OptDeleter>;

void check(int rc, const char *what)
{
    if (rc != LRMLP_OK)
        throw std::runtime_error(std::string(what) + ": " + lrmlp_strerror(rc) + " (" +
                                 lrmlp_last_errmsg() + ")");
}
} // namespace

int main(int argc, char **argv)
{
    if (argc > 1) {
        const bool help = argc == 2 && !std::strcmp(argv[1], "--help");
        const bool version = argc == 2 && !std::strcmp(argv[1], "--version");
        char info[512];
        lrmlp_build_info(info, sizeof info);
        if (help)
            std::printf("usage: embed_cpp\nLearns XOR with a 2-8-2 tanh network through RAII "
                        "handles; exits 0 when all four are right.\n");
        else if (version)
            std::printf("embed_cpp (liblrmlp %s)\n%s\n", lrmlp_version_string(), info);
        else
            std::fprintf(stderr, "embed_cpp: takes no arguments (--help, --version)\n");
        return help || version ? 0 : 2;
    }
    try {
        const size_t widths[] = {2, 8, 2};
        lrmlp_net_options no;
        check(lrmlp_net_options_init(&no, LRMLP_NET_OPTIONS_VERSION), "options");
        no.n_layers = 2;
        no.widths = widths;
        no.bias = 1;
        no.seed = 3;
        lrmlp_net *raw = nullptr;
        check(lrmlp_net_create(&raw, &no), "net");
        Net net(raw);
        lrmlp_optim_options oo;
        check(lrmlp_optim_options_init(&oo, LRMLP_OPTIM_OPTIONS_VERSION), "optim options");
        oo.kind = LRMLP_OPTIM_ADAM;
        oo.lr = 0.05;
        lrmlp_optim *rawo = nullptr;
        check(lrmlp_optim_create(&rawo, net.get(), &oo), "optim");
        Optim opt(rawo);
        const std::vector<float> X = {0, 0, 0, 1, 1, 0, 1, 1};
        const std::vector<float> T = {1, 0, 0, 1, 0, 1, 1, 0};
        for (int step = 0; step < 500; step++) {
            check(lrmlp_net_gradient_f32(net.get(), X.data(), T.data(), 4,
                                         LRMLP_LOSS_CROSS_ENTROPY, nullptr),
                  "gradient");
            check(lrmlp_optim_step(opt.get(), net.get()), "step");
        }
        std::vector<float> Y(8);
        check(lrmlp_net_predict_f32(net.get(), X.data(), 4, Y.data()), "predict");
        int right = 0;
        for (int i = 0; i < 4; i++)
            right += (Y[2 * i + 1] > Y[2 * i]) == (T[2 * i + 1] > 0.5f);
        std::printf("XOR: %d of 4 right\n", right);
        return right == 4 ? 0 : 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "embed_cpp: %s\n", e.what());
        return 1;
    }
}
