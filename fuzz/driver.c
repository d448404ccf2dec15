/* Standalone fuzz driver: a main() for compilers without libFuzzer (gcc).
 *
 *   fuzz_<target>_standalone [-n iterations] [-t seconds] [-s seed] [-v]
 *   fuzz_<target>_standalone -w dir        write the seed inputs to dir and exit
 *   fuzz_<target>_standalone file...       run each file once (reproduce a crash)
 *
 * It mutates the target's valid seed inputs (built in-process by the library,
 * see fuzz_target_seeds) and earlier mutants with byte flips, interesting
 * values, insertions, deletions, truncations and chunk copies, and feeds each
 * result to LLVMFuzzerTestOneInput. The run is deterministic for a seed and an
 * iteration count; it stops at whichever of -n / -t comes first. A bug shows
 * as a crash, a sanitizer report or abort(); the input that triggered it is
 * written to ./crash-<target>-<seed>.bin when the process dies from a signal
 * or a sanitizer. Exit status 0 when the budget ran out without a crash. */
#include "fuzz.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define MAX_SEEDS 16
#define POOL 64
#define MAX_LEN ((size_t)1 << 16)

/* ---- the input under test, for the crash handlers ---- */
static const uint8_t *cur_data;
static size_t cur_size;
static char crash_path[256];

static void dump_current(void)
{
    if (!cur_data || !crash_path[0])
        return;
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < cur_size) {
        ssize_t w = write(fd, cur_data + off, cur_size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    static const char msg[] = "fuzz driver: input written to ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    r = write(2, crash_path, strlen(crash_path));
    r = write(2, "\n", 1);
    (void)r;
}

static void on_signal(int sig)
{
    dump_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Sanitizers call this before they exit (weak: absent without sanitizers). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* ---- deterministic generator (SplitMix64) ---- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ---- mutations on buf (capacity MAX_LEN), length *len ---- */
static void mutate_once(uint8_t *buf, size_t *len)
{
    static const uint8_t bytes[] = { 0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x03, 0x10 };
    static const uint32_t words[] = { 0,          1,          2,          0x7FFFFFFFu,
                                      0x80000000u, 0xFFFFFFFFu, 0x00010000u, 0x00020000u,
                                      0x00000803u, 0x03080000u, 256,        4096 };
    static const uint64_t quads[] = { 0, 1, UINT64_MAX, (uint64_t)1 << 31, (uint64_t)1 << 32,
                                      (uint64_t)1 << 63, 0x7FF0000000000000ull,
                                      0x7FF8000000000000ull, 20, 1000000 };
    size_t n = *len;
    switch (below(11)) {
    case 0: /* flip a bit */
        if (n)
            buf[below(n)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* random byte */
        if (n)
            buf[below(n)] = (uint8_t)rnd();
        break;
    case 2: /* interesting byte */
        if (n)
            buf[below(n)] = bytes[below(sizeof bytes)];
        break;
    case 3: /* interesting u32, either byte order */
        if (n >= 4) {
            size_t p = below(n - 3);
            uint32_t v = words[below(sizeof words / sizeof words[0])];
            int be = (int)below(2);
            for (int i = 0; i < 4; i++)
                buf[p + (size_t)i] = (uint8_t)(v >> (8 * (be ? 3 - i : i)));
        }
        break;
    case 4: /* interesting u64, little-endian; sometimes at an aligned offset */
        if (n >= 8) {
            size_t p = below(n - 7);
            if (below(2))
                p &= ~(size_t)7;
            uint64_t v = quads[below(sizeof quads / sizeof quads[0])];
            if (below(4) == 0)
                v = (uint64_t)n + below(64) - 32;
            for (int i = 0; i < 8; i++)
                buf[p + (size_t)i] = (uint8_t)(v >> (8 * i));
        }
        break;
    case 5: { /* insert random bytes */
        size_t k = 1 + below(16), p = below(n + 1);
        if (n + k > MAX_LEN)
            break;
        memmove(buf + p + k, buf + p, n - p);
        for (size_t i = 0; i < k; i++)
            buf[p + i] = (uint8_t)rnd();
        *len = n + k;
        break;
    }
    case 6: { /* delete a range */
        if (!n)
            break;
        size_t p = below(n), k = 1 + below(16);
        if (k > n - p)
            k = n - p;
        memmove(buf + p, buf + p + k, n - p - k);
        *len = n - k;
        break;
    }
    case 7: /* truncate */
        *len = below(n + 1);
        break;
    case 8: /* copy a chunk over another place */
        if (n >= 2) {
            size_t a = below(n), b = below(n), k = 1 + below(32);
            if (k > n - a)
                k = n - a;
            if (k > n - b)
                k = n - b;
            memmove(buf + b, buf + a, k);
        }
        break;
    case 9: { /* append */
        size_t k = 1 + below(32);
        if (n + k > MAX_LEN)
            break;
        for (size_t i = 0; i < k; i++)
            buf[n + i] = below(2) ? 0 : (uint8_t)rnd();
        *len = n + k;
        break;
    }
    default: /* zero a range */
        if (n) {
            size_t p = below(n), k = 1 + below(16);
            if (k > n - p)
                k = n - p;
            memset(buf + p, 0, k);
        }
        break;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return b;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-n iterations] [-t seconds] [-s seed] [-v]\n"
            "       %s -w dir      (write the seed corpus)\n"
            "       %s file...     (run each file once)\n",
            prog, prog, prog);
}

int main(int argc, char **argv)
{
    unsigned long long iters = 0, seed = 1;
    double seconds = 0;
    const char *write_dir = NULL;
    int verbose = 0, i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v")) {
            verbose = 1;
            continue;
        }
        if (i + 1 >= argc || a[1] == '\0' || a[2] != '\0') {
            usage(argv[0]);
            return 2;
        }
        const char *v = argv[++i];
        if (a[1] == 'n')
            iters = strtoull(v, NULL, 10);
        else if (a[1] == 't')
            seconds = strtod(v, NULL);
        else if (a[1] == 's')
            seed = strtoull(v, NULL, 10);
        else if (a[1] == 'w')
            write_dir = v;
        else {
            usage(argv[0]);
            return 2;
        }
    }

    uint8_t *seeds[MAX_SEEDS];
    size_t seed_len[MAX_SEEDS];
    size_t n_seeds = fuzz_target_seeds(seeds, seed_len, MAX_SEEDS);

    if (write_dir) {
        for (size_t k = 0; k < n_seeds; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/seed-%s-%zu.bin", write_dir, fuzz_target_name, k);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(seeds[k], 1, seed_len[k], f) != seed_len[k] || fclose(f) != 0) {
                fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
                return 1;
            }
            printf("%s (%zu bytes)\n", path, seed_len[k]);
        }
        return 0;
    }

    snprintf(crash_path, sizeof crash_path, "crash-%s-%llu.bin", fuzz_target_name, seed);
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGABRT, on_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(dump_current);

    if (i < argc && iters == 0 && seconds == 0) {
        /* reproduce: each file once, as is */
        for (; i < argc; i++) {
            size_t len;
            uint8_t *b = read_file(argv[i], &len);
            if (!b) {
                fprintf(stderr, "cannot read %s\n", argv[i]);
                return 1;
            }
            cur_data = b;
            cur_size = len;
            LLVMFuzzerTestOneInput(b, len);
            printf("%s: ok\n", argv[i]);
            free(b);
        }
        return 0;
    }
    /* files given with a budget join the seeds */
    for (; i < argc && n_seeds < MAX_SEEDS; i++) {
        size_t len;
        uint8_t *b = read_file(argv[i], &len);
        if (b && len <= MAX_LEN) {
            seeds[n_seeds] = b;
            seed_len[n_seeds++] = len;
        } else {
            free(b);
        }
    }
    if (iters == 0 && seconds == 0)
        iters = 10000;
    if (n_seeds == 0) {
        fprintf(stderr, "no seed inputs\n");
        return 1;
    }

    /* every seed as is first: they must be accepted without trouble */
    for (size_t k = 0; k < n_seeds; k++) {
        cur_data = seeds[k];
        cur_size = seed_len[k];
        LLVMFuzzerTestOneInput(seeds[k], seed_len[k]);
    }

    rng_state = seed;
    uint8_t *pool[POOL];
    size_t pool_len[POOL], pool_n = 0;
    uint8_t *buf = malloc(MAX_LEN);
    int oom = !buf;
    for (size_t k = 0; k < POOL; k++)
        oom |= !(pool[k] = malloc(MAX_LEN));
    if (oom) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const double t0 = now();
    unsigned long long it = 0;
    for (; (iters == 0 || it < iters); it++) {
        if (seconds > 0 && (it & 63) == 0 && now() - t0 >= seconds)
            break;
        /* start from a seed, or (half the time) an earlier mutant */
        const uint8_t *src;
        size_t len;
        if (pool_n && below(2)) {
            size_t k = below(pool_n < POOL ? pool_n : POOL);
            src = pool[k];
            len = pool_len[k];
        } else {
            size_t k = below(n_seeds);
            src = seeds[k];
            len = seed_len[k];
        }
        memcpy(buf, src, len);
        size_t rounds = 1 + below(below(2) ? 2 : 8);
        for (size_t r = 0; r < rounds; r++)
            mutate_once(buf, &len);
        /* an exact-size copy, so a read past the end is caught by ASan */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact)
            break;
        memcpy(exact, buf, len);
        cur_data = exact;
        cur_size = len;
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        memcpy(pool[pool_n % POOL], buf, len);
        pool_len[pool_n % POOL] = len;
        pool_n++;
        if (verbose && (it & 4095) == 0)
            fprintf(stderr, "%llu iterations, %.1f s\n", it, now() - t0);
    }
    cur_data = NULL;
    printf("fuzz %s: %llu inputs (%zu seeds), seed %llu, %.2f s, no crash\n", fuzz_target_name,
           it, n_seeds, seed, now() - t0);
    for (size_t k = 0; k < POOL; k++)
        free(pool[k]);
    for (size_t k = 0; k < n_seeds; k++)
        free(seeds[k]);
    free(buf);
    return 0;
}
