/* Helpers shared by the example programs; see common.h. */
#include "common.h"

#include <stdio.h>
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

int ex_option_value(int argc, char **argv, int *i, const char **v)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return EX_OPT_HELP;
    if (*i + 1 >= argc)
        return EX_OPT_MISSING;
    *v = argv[++*i];
    return EX_OPT_VALUE;
}

double ex_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}
