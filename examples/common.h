/* Helpers shared by the example programs: Fashion-MNIST (IDX) loading, the
 * "--option value" command-line step and the peak resident set size. */
#ifndef LRMLP_EXAMPLES_COMMON_H
#define LRMLP_EXAMPLES_COMMON_H

#include <lrmlp.h>

/* Loads DIR/PREFIX-images-idx3-ubyte.gz and DIR/PREFIX-labels-idx1-ubyte.gz,
 * else the uncompressed names. Prints nothing; lrmlp_last_errmsg() holds the
 * reason of a failure. */
int ex_load_idx(const char *dir, const char *prefix, lrmlp_dataset **out);

/* ex_load_idx that, on failure, prints "WHO: cannot load DIR/PREFIX: <msg>"
 * (without "WHO: " when who is NULL) to stderr. PREFIX is "train" or "t10k". */
int ex_load_fashion(const char *who, const char *dir, const char *prefix,
                    lrmlp_dataset **out);

enum { EX_OPT_VALUE = 0, EX_OPT_HELP = 1, EX_OPT_MISSING = 2 };

/* One step of an "--option value" loop at argv[*i]: EX_OPT_HELP for --help or
 * -h; EX_OPT_MISSING when no argument follows; else stores the next argument
 * in *v, advances *i past it and returns EX_OPT_VALUE. */
int ex_option_value(int argc, char **argv, int *i, const char **v);

/* Peak resident set size of this process in MiB. */
double ex_peak_rss_mb(void);

#endif
