/* Helpers shared by the programs of examples/, experiments/ and bench/;
 * see common.h. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int ex_load_idx(const char *dir, const char *prefix, lrmlp_dataset **out)
{
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    int rc = lrmlp_dataset_load_idx(out, img, lab);
    if (rc) { /* try uncompressed names */
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", dir, prefix);
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", dir, prefix);
        rc = lrmlp_dataset_load_idx(out, img, lab);
    }
    return rc;
}

int ex_load_fashion(const char *who, const char *dir, const char *prefix,
                    lrmlp_dataset **out)
{
    int rc = ex_load_idx(dir, prefix, out);
    if (rc)
        fprintf(stderr, "%s%scannot load %s/%s: %s\n", who ? who : "", who ? ": " : "", dir,
                prefix, lrmlp_last_errmsg());
    return rc;
}

/* Parses all of s as a number of the given type into *dst: 0; 1 when s is
 * malformed (*dst untouched); 2 when it is out of range (likewise). */
static int parse_number(const char *s, ex_opt_type type, void *dst)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return 1;
    errno = 0;
    if (type == EX_INT || type == EX_LONG) {
        long v = strtol(s, &end, 10);
        if (*end)
            return 1;
        if (errno == ERANGE || (type == EX_INT && (v < INT_MIN || v > INT_MAX)))
            return 2;
        if (type == EX_INT)
            *(int *)dst = (int)v;
        else
            *(long *)dst = v;
    } else if (type == EX_SIZE || type == EX_ULL) {
        if (*s == '-') /* strtoull would negate it */
            return 1;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end)
            return 1;
        if (errno == ERANGE)
            return 2;
#if SIZE_MAX < ULLONG_MAX
        if (type == EX_SIZE && v > SIZE_MAX)
            return 2;
#endif
        if (type == EX_SIZE)
            *(size_t *)dst = (size_t)v;
        else
            *(unsigned long long *)dst = v;
    } else {
        double v = strtod(s, &end);
        if (*end)
            return 1;
        if (errno == ERANGE)
            return 2;
        if (!isfinite(v)) /* "inf", "nan" */
            return 1;
        *(double *)dst = v;
    }
    return 0;
}

static const char *expected(ex_opt_type type)
{
    switch (type) {
    case EX_INT:
    case EX_LONG: return "an integer";
    case EX_SIZE:
    case EX_ULL: return "a non-negative integer";
    case EX_COUNT: return "a positive integer";
    case EX_POS: return "a positive number";
    default: return "a finite number";
    }
}

/* Stores v into o's variable: 0, or 1 after printing why it is bad. */
static int store(const ex_opt *o, const char *v, const char *prog, int loud)
{
    if (o->type == EX_FLAG) {
        *(int *)o->dst = 1;
        return 0;
    }
    if (o->type == EX_STR) {
        *(const char **)o->dst = v;
        return 0;
    }
    size_t count;
    double pos;
    ex_opt_type t = o->type == EX_COUNT ? EX_SIZE : o->type == EX_POS ? EX_DOUBLE : o->type;
    void *dst = o->type == EX_COUNT ? (void *)&count : o->type == EX_POS ? (void *)&pos : o->dst;
    int k = parse_number(v, t, dst);
    if (k == 0 && ((o->type == EX_COUNT && count < 1) || (o->type == EX_POS && !(pos > 0))))
        k = 1;
    if (k == 1 && loud)
        fprintf(stderr, "%s: %s expects %s, not '%s'\n", prog, o->name, expected(o->type), v);
    else if (k == 2 && loud)
        fprintf(stderr, "%s: %s value '%s' is out of range\n", prog, o->name, v);
    if (k)
        return 1;
    if (o->type == EX_COUNT)
        *(size_t *)o->dst = count;
    else if (o->type == EX_POS)
        *(double *)o->dst = pos;
    return 0;
}

enum { OPT_HELP = 'h', OPT_VERSION = 255, OPT_TABLE = 256 };

int ex_parse_options(int argc, char **argv, const char *prog, const ex_opt *opts,
                     void (*usage)(FILE *f))
{
    int loud = usage != NULL;
    size_t n = 0;
    while (opts[n].name)
        n++;
    struct option *lo = calloc(n + 3, sizeof *lo);
    if (!lo) {
        if (loud)
            fprintf(stderr, "%s: out of memory\n", prog);
        return EX_ARGS_BAD;
    }
    for (size_t i = 0; i < n; i++) {
        lo[i].name = opts[i].name + strspn(opts[i].name, "-");
        lo[i].has_arg = opts[i].type == EX_FLAG ? no_argument : required_argument;
        lo[i].val = OPT_TABLE + (int)i;
    }
    lo[n] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[n + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    int rc = EX_ARGS_OK;
    opterr = 0; /* the messages below name the program and the option */
    optind = 0; /* glibc: start afresh */
    /* "+": stop at the first positional argument (none is accepted);
     * ":": report a missing value as ':' */
    for (int c; rc == EX_ARGS_OK && (c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1;) {
        if (c == OPT_HELP || c == OPT_VERSION) {
            if (loud && c == OPT_HELP) {
                usage(stdout);
            } else if (loud) {
                char info[512];
                lrmlp_build_info(info, sizeof info);
                printf("%s (liblrmlp %s)\n%s\n", prog, lrmlp_version_string(), info);
            }
            rc = EX_ARGS_HELP;
        } else if (c >= OPT_TABLE) {
            if (store(&opts[c - OPT_TABLE], optarg, prog, loud))
                rc = EX_ARGS_BAD;
        } else {
            rc = EX_ARGS_BAD;
            if (!loud)
                break;
            if (c == ':')
                fprintf(stderr, "%s: option %s needs a value\n", prog,
                        optopt >= OPT_TABLE ? opts[optopt - OPT_TABLE].name : argv[optind - 1]);
            else if (optopt >= OPT_TABLE) /* "--flag=value" */
                fprintf(stderr, "%s: option %s takes no value\n", prog,
                        opts[optopt - OPT_TABLE].name);
            else if (optopt == OPT_VERSION || optopt == OPT_HELP) /* "--help=x" */
                fprintf(stderr, "%s: option --%s takes no value\n", prog,
                        optopt == OPT_HELP ? "help" : "version");
            else if (optopt)
                fprintf(stderr, "%s: unknown option '-%c'\n", prog, optopt);
            else
                fprintf(stderr, "%s: unknown or ambiguous option '%s'\n", prog, argv[optind - 1]);
        }
    }
    if (rc == EX_ARGS_OK && optind < argc) {
        rc = EX_ARGS_BAD;
        if (loud)
            fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
    }
    if (rc == EX_ARGS_BAD && loud)
        fprintf(stderr, "Try '%s --help' for the options.\n", prog);
    free(lo);
    return rc;
}

size_t ex_parse_sizes(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        size_t len = strcspn(s, ","), v;
        char item[32];
        if (len == 0 || len >= sizeof item || n == max)
            return 0;
        memcpy(item, s, len);
        item[len] = '\0';
        if (parse_number(item, EX_SIZE, &v) || v == 0)
            return 0;
        out[n++] = v;
        s += len;
        if (*s == ',' && !*++s) /* trailing comma */
            return 0;
    }
    return n;
}

int ex_bad_usage(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help' for the options.\n", prog);
    va_end(ap);
    return EX_EXIT_USAGE;
}

void ex_print_build_info(FILE *f)
{
    char info[512];
    lrmlp_build_info(info, sizeof info);
    fprintf(f, "# %s\n", info);
}

uint64_t ex_rng_next(ex_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double ex_rng_uniform(ex_rng *r)
{
    return ((double)(ex_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double ex_rng_normal(ex_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u = ex_rng_uniform(r), v = ex_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u)), ang = 6.283185307179586 * v;
    r->spare = rad * sin(ang);
    r->has_spare = 1;
    return rad * cos(ang);
}

int ex_toy_dataset(lrmlp_dataset **out, size_t n, size_t d, size_t k, uint64_t seed)
{
    double *mu = malloc(k * d * sizeof *mu), *X = malloc(n * d * sizeof *X);
    int32_t *labels = malloc(n * sizeof *labels);
    int rc = LRMLP_ERR_NOMEM;
    if (mu && X && labels) {
        ex_rng r = {seed, 0, 0.0};
        for (size_t i = 0; i < k * d; i++)
            mu[i] = 3.0 / sqrt((double)d) * ex_rng_normal(&r);
        for (size_t i = 0; i < n; i++) {
            size_t c = (size_t)(ex_rng_uniform(&r) * (double)k) % k;
            for (size_t j = 0; j < d; j++)
                X[i * d + j] = mu[c * d + j] + ex_rng_normal(&r);
            labels[i] = (int32_t)c;
        }
        rc = lrmlp_dataset_from_labels_f64(out, X, n, d, labels, k);
    } else {
        fprintf(stderr, "out of memory\n");
    }
    free(mu);
    free(X);
    free(labels);
    return rc;
}

double ex_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}
