/* Allocation of the library's large buffers (numerics.h lrmlp__big_alloc).
 *
 * Why: a training step walks a dataset's scattered rows, the parameter,
 * gradient and optimizer-state vectors and the workspace, several MB in
 * all, between GEMMs that evict the TLB. With 4 KiB pages each page costs
 * a page walk (two-level under virtualization); on the 2-vCPU development
 * VM the 128-row batch copy of Fashion-MNIST took 490 us per step with
 * 4 KiB pages and 85 us with transparent huge pages, and the whole dense
 * epoch 12% less time (docs/benchmarks.md). So a buffer of at least
 * LRMLP__BIG_BYTES is aligned to 2 MiB and marked MADV_HUGEPAGE: a hint
 * about this one mapping, which changes nothing process-wide and is
 * ignored where transparent huge pages are off or unknown. */
#define _DEFAULT_SOURCE 1 /* MADV_HUGEPAGE */
#include "numerics.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

void *lrmlp__big_alloc(size_t bytes, int zero)
{
    if (bytes > SIZE_MAX - HUGE_PAGE)
        return NULL;
    void *p = NULL;
    if (bytes < LRMLP__BIG_BYTES) {
        if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
            return NULL;
    } else {
        /* whole huge pages, so that the tail page is not shared with
         * malloc's other blocks */
        const size_t span = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (posix_memalign(&p, HUGE_PAGE, span) != 0)
            return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        (void)madvise(p, span, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    }
    if (zero)
        memset(p, 0, bytes);
    return p;
}
