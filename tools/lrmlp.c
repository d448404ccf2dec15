/* lrmlp: inspect, convert and run liblrmlp networks from the command line.
 *
 *   lrmlp info FILE
 *   lrmlp convert [options] IN OUT
 *   lrmlp predict [options] MODEL CSV
 *
 * Exit status: 0 success, 1 runtime error (unreadable or invalid file, bad
 * data), 2 usage error. Messages go to stderr. tools/lrmlp.1 is the manual. */
#include <lrmlp.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static const char *prog = "lrmlp";

static const char usage_text[] =
    "Usage: lrmlp [--help] [--version] COMMAND [OPTIONS] ARGS\n"
    "\n"
    "Commands:\n"
    "  info FILE              describe a network file (.lrmlp, .npz, .safetensors)\n"
    "  convert IN OUT         convert between .lrmlp, .npz and .safetensors\n"
    "  predict MODEL CSV      run MODEL on the rows of CSV (\"-\": stdin), print outputs\n"
    "\n"
    "Options of convert and predict (for .npz/.safetensors inputs):\n"
    "  --activation NAME          hidden activation when the file records none\n"
    "  --output-activation NAME   output activation when the file records none\n"
    "  --prefix STR               tensor names start with STR (e.g. \"net.\")\n"
    "  --dtype f32|f64            precision of the network made from the input\n"
    "Options of convert:\n"
    "  --from FMT, --to FMT       lrmlp, npz or safetensors (default: by extension)\n"
    "  --compress                 deflate .npz entries (as np.savez_compressed)\n"
    "  --contiguous               name layers 0, 1, 2, ... (default: nn.Sequential\n"
    "                             indices with a gap for each activation module)\n"
    "  --no-metadata              write no activation metadata\n"
    "Options of predict:\n"
    "  -o, --output FILE          write the outputs to FILE instead of stdout\n"
    "  --raw                      write outputs as raw little-endian binary values of\n"
    "                             the network's dtype (f32 or f64) instead of CSV\n"
    "  --header                   skip the first line of CSV\n"
    "\n"
    "Activations: identity tanh sigmoid softplus elu gelu gelu_tanh silu relu\n"
    "leaky_relu rrelu. Exit status: 0 success, 1 runtime error, 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    va_end(ap);
    return EXIT_USAGE;
}

static int lib_error(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, lrmlp_last_errmsg());
    if (lrmlp_last_status() == LRMLP_ERR_INVALID && strstr(lrmlp_last_errmsg(), "metadata"))
        fprintf(stderr, "%s: give the activations with --activation and "
                "--output-activation\n", prog);
    return EXIT_RUNTIME;
}

/* ---- file kinds ---- */

typedef enum { KIND_NONE = -1, KIND_LRMLP = 0, KIND_NPZ = 1, KIND_SAFETENSORS = 2 } kind_;

static kind_ kind_from_name(const char *s)
{
    if (!strcasecmp(s, "lrmlp"))
        return KIND_LRMLP;
    if (!strcasecmp(s, "npz"))
        return KIND_NPZ;
    if (!strcasecmp(s, "safetensors"))
        return KIND_SAFETENSORS;
    return KIND_NONE;
}

static kind_ kind_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return KIND_NONE;
    return kind_from_name(dot + 1);
}

/* Options shared by the commands that read networks. */
typedef struct {
    lrmlp_import_options imp;
    int have_hidden, have_output;
    lrmlp_dtype dtype;
} load_opts_;

static int load_net(const char *path, kind_ kind, const load_opts_ *lo, lrmlp_net **net)
{
    *net = NULL;
    if (kind == KIND_NONE)
        kind = kind_from_path(path);
    if (kind == KIND_NONE) {
        /* By content: our magic, else let the importer detect npz/safetensors. */
        FILE *f = fopen(path, "rb");
        unsigned char m[8] = {0};
        if (f) {
            size_t got = fread(m, 1, 8, f);
            fclose(f);
            kind = (got == 8 && !memcmp(m, "\x89LRMLP\r\n", 8)) ? KIND_LRMLP : KIND_NPZ;
        } else {
            kind = KIND_LRMLP; /* the loader reports the open error */
        }
        if (kind == KIND_NPZ) {
            lrmlp_import_options o = lo->imp;
            o.format = LRMLP_WEIGHTS_AUTO;
            return lrmlp_weights_import(net, path, &o);
        }
    }
    if (kind == KIND_LRMLP) {
        int rc = lrmlp_model_load(path, net, NULL);
        if (rc == LRMLP_OK && lo->dtype && lo->dtype != lrmlp_net_dtype(*net)) {
            /* A change of precision goes through the weights formats. */
            lrmlp_export_options eo;
            lrmlp_export_options_init(&eo, LRMLP_EXPORT_OPTIONS_VERSION);
            eo.format = LRMLP_WEIGHTS_SAFETENSORS;
            eo.dtype = lo->dtype;
            void *b = NULL;
            size_t n = 0;
            lrmlp_net *conv = NULL;
            rc = lrmlp_weights_export_mem(*net, &b, &n, &eo);
            if (rc == LRMLP_OK)
                rc = lrmlp_weights_import_mem(&conv, b, n, NULL);
            lrmlp_free(b);
            lrmlp_net_free(*net);
            *net = conv;
        }
        return rc;
    }
    lrmlp_import_options o = lo->imp;
    o.format = kind == KIND_NPZ ? LRMLP_WEIGHTS_NPZ : LRMLP_WEIGHTS_SAFETENSORS;
    return lrmlp_weights_import(net, path, &o);
}

static int parse_act(const char *s, lrmlp_activation *a)
{
    return lrmlp_activation_from_name(s, a) == LRMLP_OK;
}

/* Long options common to convert and predict; returns 1 if handled, -1 on
 * a bad value. */
enum {
    OPT_ACT = 256, OPT_OUT_ACT, OPT_PREFIX, OPT_DTYPE, OPT_FROM, OPT_TO, OPT_COMPRESS,
    OPT_CONTIG, OPT_NO_META, OPT_RAW, OPT_HEADER
};

static int load_option(int c, const char *arg, load_opts_ *lo)
{
    switch (c) {
    case OPT_ACT:
        if (!parse_act(arg, &lo->imp.hidden_activation))
            return -1;
        lo->have_hidden = 1;
        return 1;
    case OPT_OUT_ACT:
        if (!parse_act(arg, &lo->imp.output_activation))
            return -1;
        lo->have_output = 1;
        return 1;
    case OPT_PREFIX:
        lo->imp.prefix = arg;
        return 1;
    case OPT_DTYPE:
        if (!strcmp(arg, "f32"))
            lo->dtype = LRMLP_F32;
        else if (!strcmp(arg, "f64"))
            lo->dtype = LRMLP_F64;
        else
            return -1;
        lo->imp.dtype = lo->dtype;
        return 1;
    default:
        return 0;
    }
}

static void load_opts_init(load_opts_ *lo)
{
    memset(lo, 0, sizeof *lo);
    lrmlp_import_options_init(&lo->imp, LRMLP_IMPORT_OPTIONS_VERSION);
}

static void load_opts_finish(load_opts_ *lo)
{
    /* Given activations override the file's metadata; otherwise it is
     * required. An output activation alone keeps the hidden default. */
    if (lo->have_hidden || lo->have_output)
        lo->imp.activations = LRMLP_IMPORT_ACTS_GIVEN;
}

/* ---- info ---- */

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int read_all(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, path, strerror(errno));
        return 0;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        fprintf(stderr, "%s: cannot read '%s'\n", prog, path);
        free(b);
        return 0;
    }
    *out = b;
    *len = n;
    return 1;
}

/* The container facts of a .lrmlp file (docs/format.md): version and the
 * section table with each payload's CRC. Only printed for a file that has
 * loaded, so the table is valid. */
static void print_lrmlp_container(const unsigned char *b, size_t len)
{
    uint32_t ver = rd32(b + 8), n = rd32(b + 12);
    printf("format:       liblrmlp model file, version %u.%u\n", ver >> 16, ver & 0xffffu);
    for (uint32_t i = 0; i < n && 16 + 32 * (size_t)(i + 1) <= len; i++) {
        const unsigned char *e = b + 16 + 32 * (size_t)i;
        uint32_t flags = rd32(e + 4);
        printf("%s %.4s v%u%s, %llu bytes, crc32 %08x\n", i ? "             " : "sections:    ",
               (const char *)e, flags & 0xffffu, (flags >> 31) ? " critical" : "",
               (unsigned long long)rd64(e + 16), rd32(e + 24));
    }
}

static void print_net(const lrmlp_net *net)
{
    size_t L = lrmlp_net_n_layers(net);
    printf("dtype:        %s\n", lrmlp_net_dtype(net) == LRMLP_F64 ? "f64" : "f32");
    printf("layers:       %zu\n", L);
    printf("widths:      ");
    for (size_t i = 0; i <= L; i++)
        printf(" %zu%s", lrmlp_net_width(net, i), i < L ? " ->" : "\n");
    printf("activations: ");
    for (size_t l = 0; l < L; l++)
        printf(" %s%s", lrmlp_activation_name(lrmlp_net_activation(net, l)),
               l + 1 < L ? "," : "\n");
    printf("bias:         %s\n", lrmlp_net_has_bias(net) ? "yes" : "no");
    printf("parameters:   %zu (%zu bytes)\n", lrmlp_net_param_count(net),
           lrmlp_net_param_count(net) * (lrmlp_net_dtype(net) == LRMLP_F64 ? 8 : 4));
    size_t r = lrmlp_lowrank_rank(net);
    if (r) {
        printf("low-rank:     rank %zu standing for a %zu-layer network %zu -> %zu (x%zu) -> %zu\n",
               r, L - 2, lrmlp_net_width(net, 0), lrmlp_net_width(net, L - 1), L - 3,
               lrmlp_net_width(net, L));
    } else {
        printf("low-rank:     no\n");
    }
    size_t nf = 0;
    for (size_t l = 0; l < L; l++)
        nf += lrmlp_net_is_frozen(net, l) == 1;
    printf("frozen:       %zu of %zu layers\n", nf, L);
}

static int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        return usage_error("info: invalid option");
    }
    if (argc - optind != 1)
        return usage_error("info takes one FILE");
    const char *path = argv[optind];
    unsigned char *b;
    size_t len;
    if (!read_all(path, &b, &len))
        return EXIT_RUNTIME;
    int is_model = len >= 8 && !memcmp(b, "\x89LRMLP\r\n", 8);
    lrmlp_net *net = NULL;
    lrmlp_optim *opt = NULL;
    int rc, had_acts = 1;
    if (is_model) {
        rc = lrmlp_model_load_mem(b, len, &net, &opt);
    } else {
        lrmlp_import_options o;
        lrmlp_import_options_init(&o, LRMLP_IMPORT_OPTIONS_VERSION);
        rc = lrmlp_weights_import_mem(&net, b, len, &o);
        if (rc == LRMLP_ERR_INVALID) { /* no activation metadata: show the rest */
            had_acts = 0;
            o.activations = LRMLP_IMPORT_ACTS_GIVEN;
            o.hidden_activation = LRMLP_ACT_IDENTITY;
            rc = lrmlp_weights_import_mem(&net, b, len, &o);
        }
    }
    if (rc != LRMLP_OK) {
        free(b);
        fprintf(stderr, "%s: %s: %s\n", prog, path, lrmlp_last_errmsg());
        return EXIT_RUNTIME;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < len; off += 1u << 30) {
        size_t n = len - off < (1u << 30) ? len - off : (1u << 30);
        crc = crc32(crc, b + off, (uInt)n);
    }
    printf("file:         %s\n", path);
    printf("size:         %zu bytes, crc32 %08lx\n", len, (unsigned long)crc);
    if (is_model)
        print_lrmlp_container(b, len);
    else
        printf("format:       %s\n", b[0] == 'P' ? "npz (zip of .npy arrays)" : "safetensors");
    print_net(net);
    if (!had_acts)
        printf("note:         the file records no activations (the list above is a "
               "placeholder); give --activation to convert or predict\n");
    if (is_model) {
        printf("epochs:       %llu\n", (unsigned long long)lrmlp_net_epochs(net));
        if (opt) {
            lrmlp_optim_options oo;
            lrmlp_optim_get_options(opt, &oo);
            printf("optimizer:    %s, lr %g, %llu steps\n", lrmlp_optim_kind_name(oo.kind),
                   oo.lr, (unsigned long long)lrmlp_optim_steps(opt));
        } else {
            printf("optimizer:    none\n");
        }
    }
    lrmlp_optim_free(opt);
    lrmlp_net_free(net);
    free(b);
    return EXIT_OK;
}

/* ---- convert ---- */

static int cmd_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"activation", required_argument, NULL, OPT_ACT},
        {"output-activation", required_argument, NULL, OPT_OUT_ACT},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"dtype", required_argument, NULL, OPT_DTYPE},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"compress", no_argument, NULL, OPT_COMPRESS},
        {"contiguous", no_argument, NULL, OPT_CONTIG},
        {"no-metadata", no_argument, NULL, OPT_NO_META},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    load_opts_ lo;
    load_opts_init(&lo);
    lrmlp_export_options eo;
    lrmlp_export_options_init(&eo, LRMLP_EXPORT_OPTIONS_VERSION);
    kind_ from = KIND_NONE, to = KIND_NONE;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        int r = load_option(c, optarg, &lo);
        if (r < 0)
            return usage_error("convert: invalid value '%s'", optarg);
        if (r > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case OPT_FROM:
        case OPT_TO:
            if (kind_from_name(optarg) == KIND_NONE)
                return usage_error("convert: unknown format '%s' (lrmlp, npz, safetensors)",
                                   optarg);
            *(c == OPT_FROM ? &from : &to) = kind_from_name(optarg);
            break;
        case OPT_COMPRESS:
            eo.compress = 1;
            break;
        case OPT_CONTIG:
            eo.contiguous_names = 1;
            break;
        case OPT_NO_META:
            eo.metadata = 0;
            break;
        default:
            return usage_error("convert: invalid option");
        }
    }
    if (argc - optind != 2)
        return usage_error("convert takes IN and OUT");
    const char *in = argv[optind], *out = argv[optind + 1];
    if (to == KIND_NONE && (to = kind_from_path(out)) == KIND_NONE)
        return usage_error("convert: cannot tell the format of '%s' from its extension; "
                           "use --to", out);
    load_opts_finish(&lo);
    lrmlp_net *net;
    if (load_net(in, from, &lo, &net) != LRMLP_OK)
        return lib_error(in);
    int rc;
    if (to == KIND_LRMLP) {
        rc = lrmlp_model_save(net, NULL, out);
    } else {
        eo.format = to == KIND_NPZ ? LRMLP_WEIGHTS_NPZ : LRMLP_WEIGHTS_SAFETENSORS;
        eo.dtype = lo.dtype;
        rc = lrmlp_weights_export(net, out, &eo);
    }
    lrmlp_net_free(net);
    return rc == LRMLP_OK ? EXIT_OK : lib_error(out);
}

/* ---- predict ---- */

/* Reads the CSV rows of d numbers each into a growing double array.
 * Blank lines and lines starting with '#' are skipped. */
static int read_csv(FILE *f, const char *name, size_t d, int header, double **out, size_t *n_out)
{
    size_t cap = 0, n = 0, lineno = 0;
    double *X = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    int ok = 1;
    while (ok && (got = getline(&line, &lcap, f)) != -1) {
        lineno++;
        if (header && lineno == 1)
            continue;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#')
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            double *nx = (nc > SIZE_MAX / d / sizeof *X) ? NULL : realloc(X, nc * d * sizeof *X);
            if (!nx) {
                fprintf(stderr, "%s: %s: out of memory\n", prog, name);
                ok = 0;
                break;
            }
            X = nx;
            cap = nc;
        }
        for (size_t j = 0; j < d; j++) {
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            if (end == p || errno == ERANGE) {
                fprintf(stderr, "%s: %s:%zu: field %zu is not a number\n", prog, name, lineno,
                        j + 1);
                ok = 0;
                break;
            }
            X[n * d + j] = v;
            p = end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (j + 1 < d) {
                if (*p != ',') {
                    fprintf(stderr, "%s: %s:%zu: %zu fields, the model takes %zu\n", prog,
                            name, lineno, j + 1, d);
                    ok = 0;
                    break;
                }
                p++;
            }
        }
        if (!ok)
            break;
        if (*p == ',' || (*p != '\n' && *p != '\r' && *p != '\0')) {
            fprintf(stderr, "%s: %s:%zu: more than the %zu fields the model takes\n", prog,
                    name, lineno, d);
            ok = 0;
        }
        n++;
    }
    free(line);
    if (ok && ferror(f)) {
        fprintf(stderr, "%s: %s: read error\n", prog, name);
        ok = 0;
    }
    if (!ok) {
        free(X);
        return 0;
    }
    *out = X;
    *n_out = n;
    return 1;
}

static int cmd_predict(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"activation", required_argument, NULL, OPT_ACT},
        {"output-activation", required_argument, NULL, OPT_OUT_ACT},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"dtype", required_argument, NULL, OPT_DTYPE},
        {"output", required_argument, NULL, 'o'},
        {"raw", no_argument, NULL, OPT_RAW},
        {"header", no_argument, NULL, OPT_HEADER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    load_opts_ lo;
    load_opts_init(&lo);
    const char *outpath = NULL;
    int raw = 0, header = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+ho:", longopts, NULL)) != -1) {
        int r = load_option(c, optarg, &lo);
        if (r < 0)
            return usage_error("predict: invalid value '%s'", optarg);
        if (r > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case 'o':
            outpath = optarg;
            break;
        case OPT_RAW:
            raw = 1;
            break;
        case OPT_HEADER:
            header = 1;
            break;
        default:
            return usage_error("predict: invalid option");
        }
    }
    if (argc - optind != 2)
        return usage_error("predict takes MODEL and CSV");
    const char *mpath = argv[optind], *cpath = argv[optind + 1];
    load_opts_finish(&lo);
    lrmlp_net *net;
    if (load_net(mpath, KIND_NONE, &lo, &net) != LRMLP_OK)
        return lib_error(mpath);
    FILE *in = strcmp(cpath, "-") ? fopen(cpath, "r") : stdin;
    if (!in) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, cpath, strerror(errno));
        lrmlp_net_free(net);
        return EXIT_RUNTIME;
    }
    size_t d = lrmlp_net_width(net, 0), k = lrmlp_net_width(net, lrmlp_net_n_layers(net));
    double *X = NULL;
    size_t n = 0;
    int ok = read_csv(in, cpath, d, header, &X, &n);
    if (in != stdin)
        fclose(in);
    int status = ok ? EXIT_OK : EXIT_RUNTIME;
    int f64 = lrmlp_net_dtype(net) == LRMLP_F64;
    void *Xd = NULL, *Y = NULL;
    if (ok && n > 0) {
        Xd = f64 ? (void *)X : malloc(n * d * sizeof(float));
        Y = malloc(n * k * (f64 ? sizeof(double) : sizeof(float)));
        if (!Xd || !Y) {
            fprintf(stderr, "%s: out of memory\n", prog);
            status = EXIT_RUNTIME;
        } else {
            int rc;
            if (f64) {
                rc = lrmlp_net_predict_f64(net, X, n, Y);
            } else {
                for (size_t i = 0; i < n * d; i++)
                    ((float *)Xd)[i] = (float)X[i];
                rc = lrmlp_net_predict_f32(net, Xd, n, Y);
            }
            if (rc != LRMLP_OK)
                status = lib_error(cpath);
        }
    }
    FILE *out = stdout;
    if (status == EXIT_OK && outpath && !(out = fopen(outpath, raw ? "wb" : "w"))) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, outpath, strerror(errno));
        status = EXIT_RUNTIME;
    }
    if (status == EXIT_OK && n > 0) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < k; j++) {
                double v = f64 ? ((double *)Y)[i * k + j] : ((float *)Y)[i * k + j];
                if (raw) {
                    /* little-endian bytes of the network's dtype */
                    unsigned char b[8];
                    uint64_t u;
                    size_t es = f64 ? 8 : 4;
                    if (f64) {
                        memcpy(&u, &v, 8);
                    } else {
                        float fv = (float)v;
                        uint32_t u32;
                        memcpy(&u32, &fv, 4);
                        u = u32;
                    }
                    for (size_t q = 0; q < es; q++)
                        b[q] = (unsigned char)(u >> (8 * q));
                    fwrite(b, 1, es, out);
                } else {
                    fprintf(out, f64 ? "%.17g%s" : "%.9g%s", v, j + 1 < k ? "," : "\n");
                }
            }
        }
    }
    if (out != stdout && out && fclose(out) != 0 && status == EXIT_OK) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", prog, outpath, strerror(errno));
        status = EXIT_RUNTIME;
    }
    if (out == stdout && fflush(stdout) != 0 && status == EXIT_OK) {
        fprintf(stderr, "%s: cannot write the output: %s\n", prog, strerror(errno));
        status = EXIT_RUNTIME;
    }
    if (Xd != X)
        free(Xd);
    free(X);
    free(Y);
    lrmlp_net_free(net);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    int c;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case 'V': {
            char info[256];
            lrmlp_build_info(info, sizeof info);
            printf("lrmlp %s\n%s; interop %s\n", lrmlp_version_string(), info,
                   lrmlp_interop_available() ? "yes" : "no");
            return EXIT_OK;
        }
        default:
            return usage_error("invalid option");
        }
    }
    if (optind >= argc)
        return usage_error("no command given");
    const char *cmd = argv[optind];
    argc -= optind;
    argv += optind;
    if (!strcmp(cmd, "info"))
        return cmd_info(argc, argv);
    if (!strcmp(cmd, "convert"))
        return cmd_convert(argc, argv);
    if (!strcmp(cmd, "predict"))
        return cmd_predict(argc, argv);
    return usage_error("unknown command '%s'", cmd);
}
