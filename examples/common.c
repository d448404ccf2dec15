/* Helpers shared by the example programs; see common.h. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
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
    default: return "a finite number";
    }
}

int ex_parse_options(int argc, char **argv, const char *prog, const ex_opt *opts,
                     void (*usage)(FILE *f))
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (usage)
                usage(stdout);
            return EX_ARGS_HELP;
        }
        const ex_opt *o = opts;
        while (o->name && strcmp(o->name, a))
            o++;
        if (!o->name) {
            if (usage)
                fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            goto bad;
        }
        if (o->type == EX_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            if (usage)
                fprintf(stderr, "%s: option %s needs a value\n", prog, a);
            goto bad;
        }
        const char *v = argv[++i];
        if (o->type == EX_STR) {
            *(const char **)o->dst = v;
            continue;
        }
        int k = parse_number(v, o->type, o->dst);
        if (k == 1 && usage)
            fprintf(stderr, "%s: %s expects %s, not '%s'\n", prog, a, expected(o->type), v);
        else if (k == 2 && usage)
            fprintf(stderr, "%s: %s value '%s' is out of range\n", prog, a, v);
        if (k)
            goto bad;
    }
    return EX_ARGS_OK;
bad:
    if (usage)
        usage(stderr);
    return EX_ARGS_BAD;
}

double ex_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}
