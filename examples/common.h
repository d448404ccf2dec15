/* Helpers shared by the programs in examples/, experiments/ and bench/
 * (compiled once into a static library, see the top-level meson.build):
 * Fashion-MNIST (IDX) loading, the command-line options and the peak
 * resident set size. */
#ifndef LRMLP_EXAMPLES_COMMON_H
#define LRMLP_EXAMPLES_COMMON_H

#include <lrmlp.h>

#include <stdint.h>
#include <stdio.h>

/* Loads DIR/PREFIX-images-idx3-ubyte.gz and DIR/PREFIX-labels-idx1-ubyte.gz,
 * else the uncompressed names. Prints nothing; lrmlp_last_errmsg() holds the
 * reason of a failure. */
int ex_load_idx(const char *dir, const char *prefix, lrmlp_dataset **out);

/* ex_load_idx that, on failure, prints "WHO: cannot load DIR/PREFIX: <msg>"
 * (without "WHO: " when who is NULL) to stderr. PREFIX is "train" or "t10k". */
int ex_load_fashion(const char *who, const char *dir, const char *prefix,
                    lrmlp_dataset **out);

/* Command-line options, one parser for examples/, experiments/ and bench/:
 * getopt_long over a table of long options, each stored into a variable of
 * its type. "--name value" and "--name=value" both work (an unambiguous
 * prefix of a name too); every program also answers --help (-h) and
 * --version. Numbers must parse completely and be in range. */
typedef enum ex_opt_type {
    EX_STR,    /* const char *: the argument as is */
    EX_INT,    /* int, base 10 */
    EX_LONG,   /* long, base 10 */
    EX_SIZE,   /* size_t, base 10, no minus sign */
    EX_COUNT,  /* size_t >= 1, base 10 */
    EX_ULL,    /* unsigned long long, base 10, no minus sign */
    EX_DOUBLE, /* double, finite */
    EX_POS,    /* double, finite and > 0 (learning rates, scales) */
    EX_FLAG    /* int set to 1; takes no value */
} ex_opt_type;

typedef struct ex_opt {
    const char *name; /* with its dashes: "--epochs"; NULL ends a table */
    ex_opt_type type;
    void *dst;
} ex_opt;

/* Table entries; the conditional makes the compiler check dst's type. */
#define EX_OPT_(name, type, ctype, dst) {(name), (type), (void *)(1 ? (dst) : (ctype *)0)}
#define EX_OPT_STR(name, dst) EX_OPT_(name, EX_STR, const char *, dst)
#define EX_OPT_INT(name, dst) EX_OPT_(name, EX_INT, int, dst)
#define EX_OPT_LONG(name, dst) EX_OPT_(name, EX_LONG, long, dst)
#define EX_OPT_SIZE(name, dst) EX_OPT_(name, EX_SIZE, size_t, dst)
#define EX_OPT_COUNT(name, dst) EX_OPT_(name, EX_COUNT, size_t, dst)
#define EX_OPT_ULL(name, dst) EX_OPT_(name, EX_ULL, unsigned long long, dst)
#define EX_OPT_DOUBLE(name, dst) EX_OPT_(name, EX_DOUBLE, double, dst)
#define EX_OPT_POS(name, dst) EX_OPT_(name, EX_POS, double, dst)
#define EX_OPT_FLAG(name, dst) EX_OPT_(name, EX_FLAG, int, dst)
#define EX_OPT_END {NULL, EX_STR, NULL}

enum { EX_ARGS_OK = 0, EX_ARGS_HELP = 1, EX_ARGS_BAD = 2 };

/* Parses argv[1..argc-1] against opts. Returns EX_ARGS_OK; EX_ARGS_HELP
 * after usage(stdout) for --help or -h, or after the version lines for
 * --version ("PROG (liblrmlp X.Y.Z)" and lrmlp_build_info()); the caller
 * exits 0 without doing anything else. EX_ARGS_BAD for an unknown or
 * ambiguous option, a missing or unexpected value, a bad number or a
 * positional argument, after "PROG: <reason>" and "Try 'PROG --help'." on
 * stderr; the caller exits 2 (EX_EXIT_USAGE). With usage NULL it prints nothing (MPI ranks
 * other than 0). Options met before a failure have been stored. Uses the
 * process-wide getopt state: not thread-safe, call it from main. */
int ex_parse_options(int argc, char **argv, const char *prog, const ex_opt *opts,
                     void (*usage)(FILE *f));

/* The exit status for bad command lines. */
#define EX_EXIT_USAGE 2

/* Prints "PROG: <what>" and the --help hint to stderr and returns
 * EX_EXIT_USAGE: for the checks a program makes after ex_parse_options (a
 * value out of its range, an unknown name). */
int ex_bad_usage(const char *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses a comma-separated list of positive integers ("512,512") into
 * out[0..max-1]. Returns the count, or 0 when s is empty, malformed, has a
 * zero or more than max entries. */
size_t ex_parse_sizes(const char *s, size_t *out, size_t max);

/* Writes "# <lrmlp_build_info()>" and a newline to f: the first line of
 * every program's output, so a log says which build and BLAS kernel ran. */
void ex_print_build_info(FILE *f);

/* A small generator with the same numbers on every platform: SplitMix64,
 * uniforms in (0, 1), Box-Muller normals. Seed it with {seed, 0, 0}. */
typedef struct ex_rng {
    uint64_t s;
    int has_spare;
    double spare;
} ex_rng;
uint64_t ex_rng_next(ex_rng *r);
double ex_rng_uniform(ex_rng *r);
double ex_rng_normal(ex_rng *r);

/* Toy data for the examples, so that they run in a second without a data
 * set: n samples in R^d of k classes, class c drawn uniformly, x ~ N(mu_c,
 * I_d) with class means mu_c ~ N(0, (9 / d) I_d) (about 3 apart), as a
 * float64 dataset with labels. Returns 0 or a negative status (message in
 * lrmlp_last_errmsg(), or "out of memory" printed). */
int ex_toy_dataset(lrmlp_dataset **out, size_t n, size_t d, size_t k, uint64_t seed);

/* Peak resident set size of this process in MiB. */
double ex_peak_rss_mb(void);

#endif
