/* Model files: a versioned, little-endian, checksummed container of
 * sections (docs/format.md is the specification this file implements).
 *
 * Writing builds the whole file in memory; saving to a path then writes it
 * to a temporary file in the target's directory and renames it into place.
 * Reading validates the container (magic, version, header checksum, section
 * bounds and checksums) and every field of the known sections before it
 * allocates the network or the optimizer. */
#define _XOPEN_SOURCE 700 /* realpath; POSIX 2008 otherwise */
#include "internal.h"
#include "numerics.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 binary32/64 expected");
_Static_assert(CHAR_BIT == 8, "8-bit bytes expected");

/* ---- constants of format version 1 (docs/format.md) ---- */
static const uint8_t MAGIC[8] = { 0x89, 'L', 'R', 'M', 'L', 'P', 0x0D, 0x0A };
#define FMT_MAJOR 1u
#define FMT_MINOR 0u
#define FMT_VERSION ((FMT_MAJOR << 16) | FMT_MINOR)
#define HDR_FIXED 16u            /* magic, version, section count */
#define ENTRY_SIZE 32u           /* one section-table entry */
#define MAX_SECTIONS 256u
#define SEC_VERSION_MASK 0xFFFFu
#define SEC_CRITICAL 0x80000000u
#define NETW_FIXED 56u           /* NETW bytes before the widths */
#define OPTM_FIXED 144u          /* OPTM bytes before the state vectors */
#define LAYER_FROZEN 1u
#define MAX_PARAM_BYTES ((uint64_t)1 << 34)

#define TAG_NETW "NETW"
#define TAG_PARM "PARM"
#define TAG_OPTM "OPTM"
#define TAG_LRNK "LRNK"          /* optional: low-rank network metadata */
#define TAG_OLRS "OLRS"          /* optional: per-layer learning-rate multipliers */
#define TAG_SUBS "SUBS"          /* optional: a subspace estimate */
#define TAG_ADPT "ADPT"          /* critical: adapter metadata (adapter.c) */
#define TAG_PREP "PREP"          /* optional, critical: input/output transforms (1.2) */

/* ---- little-endian byte access ---- */
/* zlib's crc32 takes a uInt length; feed large buffers in pieces. */
static uint32_t crc32_buf(const uint8_t *p, uint64_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

static uint64_t align8(uint64_t x) { return (x + 7u) & ~(uint64_t)7u; }

/* ---- vectors in canonical order: per layer W (row-major), then b ---- */

/* Writes the n_params elements of vec (the network's flat layout) at p as
 * little-endian IEEE-754 values, layer by layer. */
static void put_vector(uint8_t *p, const lrmlp_net *net, const void *vec)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        size_t cnt[2] = { ly->out * ly->in, ly->b_off == SIZE_MAX ? 0 : ly->out };
        size_t off[2] = { ly->w_off, ly->b_off };
        for (int k = 0; k < 2; k++) {
            if (net->dtype == LRMLP_F32) {
                const float *v = (const float *)vec + (cnt[k] ? off[k] : 0);
                for (size_t i = 0; i < cnt[k]; i++, p += 4) {
                    uint32_t u;
                    memcpy(&u, &v[i], 4);
                    put_u32(p, u);
                }
            } else {
                p = put_doubles(p, (const double *)vec + (cnt[k] ? off[k] : 0), cnt[k]);
            }
        }
    }
}

/* Reverse of put_vector. */
static void get_vector(const uint8_t *p, const lrmlp_net *net, void *vec)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        const lrmlp_layer_ *ly = &net->layers[l];
        size_t cnt[2] = { ly->out * ly->in, ly->b_off == SIZE_MAX ? 0 : ly->out };
        size_t off[2] = { ly->w_off, ly->b_off };
        for (int k = 0; k < 2; k++) {
            if (net->dtype == LRMLP_F32) {
                float *v = (float *)vec + (cnt[k] ? off[k] : 0);
                for (size_t i = 0; i < cnt[k]; i++, p += 4) {
                    uint32_t u = get_u32(p);
                    memcpy(&v[i], &u, 4);
                }
            } else {
                double *v = (double *)vec + (cnt[k] ? off[k] : 0);
                for (size_t i = 0; i < cnt[k]; i++, p += 8)
                    v[i] = get_f64(p);
            }
        }
    }
}

/* 1 if the n little-endian values at p (4 or 8 bytes each) are all finite:
 * checked on the bit patterns, so nothing is converted or allocated. */
static int encoded_finite(const uint8_t *p, size_t n, size_t dsize)
{
    if (dsize == 4) {
        for (size_t i = 0; i < n; i++, p += 4)
            if ((get_u32(p) & 0x7F800000u) == 0x7F800000u)
                return 0;
    } else {
        for (size_t i = 0; i < n; i++, p += 8)
            if ((get_u64(p) & 0x7FF0000000000000u) == 0x7FF0000000000000u)
                return 0;
    }
    return 1;
}

static int vector_finite(const void *vec, size_t n, lrmlp_dtype dt)
{
    if (dt == LRMLP_F32) {
        const float *v = vec;
        for (size_t i = 0; i < n; i++)
            if (!(v[i] - v[i] == 0))
                return 0;
    } else {
        const double *v = vec;
        for (size_t i = 0; i < n; i++)
            if (!(v[i] - v[i] == 0))
                return 0;
    }
    return 1;
}

/* ---- writing ---- */

static void put_entry(uint8_t *p, const char *tag, uint32_t flags, uint64_t off, uint64_t len,
                      uint32_t crc)
{
    memcpy(p, tag, 4);
    put_u32(p + 4, flags);
    put_u64(p + 8, off);
    put_u64(p + 16, len);
    put_u32(p + 24, crc);
    put_u32(p + 28, 0);
}

static int optim_matches(const lrmlp_optim *opt, const lrmlp_net *net)
{
    if (opt->dtype != net->dtype || opt->n_layers != net->n_layers || opt->bias != net->bias ||
        opt->n_params != net->n_params || !opt->widths)
        return 0;
    for (size_t i = 0; i <= net->n_layers; i++)
        if (opt->widths[i] != net->widths[i])
            return 0;
    return 1;
}

/* Builds the file in a new buffer; adpt (adpt_len bytes) is the payload of
 * an ADPT section, for adapter files only. */
static int build_file_x(const lrmlp_net *net, const lrmlp_optim *opt, const lrmlp_subspace *sub,
                        const uint8_t *adpt, uint64_t adpt_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (net->adapter && !adpt)
        return lrmlp__err(LRMLP_ERR_INVALID, "model save: an adapter network's function is "
                                             "not its chain: use lrmlp_adapter_save, or "
                                             "lrmlp_adapter_merge first");
    const size_t L = net->n_layers;
    const size_t dsize = lrmlp__dtype_size(net->dtype);
    size_t n_state = 0;

    if (!vector_finite(net->params, net->n_params, net->dtype))
        return lrmlp__err(LRMLP_ERR_NONFINITE,
                          "model save: the network's parameters hold NaN or Inf");
    if (opt) {
        if (!optim_matches(opt, net))
            return lrmlp__err(LRMLP_ERR_SHAPE,
                              "model save: the optimizer was made for another network shape");
        n_state = lrmlp__optim_n_state(opt);
        const void *st[2] = { opt->m, opt->v };
        for (size_t k = 0; k < n_state; k++)
            if (!st[k] || !vector_finite(st[k], net->n_params, net->dtype))
                return lrmlp__err(LRMLP_ERR_NONFINITE,
                                  "model save: the optimizer's state holds NaN or Inf");
    }

    /* Optional sections: low-rank metadata, non-default learning-rate scales. */
    int has_lrnk = net->lr_rank != 0, has_olrs = 0;
    for (size_t l = 0; opt && l < L; l++)
        has_olrs |= opt->lr_scale[l] != 1.0;

    /* Sizes; the network exists, so its parameter bytes fit in size_t. */
    const int has_subs = sub != NULL, has_prep = net->prep != NULL, has_adpt = adpt != NULL;
    const uint32_t n_sec = (opt ? 3u : 2u) + (uint32_t)has_lrnk + (uint32_t)has_olrs +
                           (uint32_t)has_subs + (uint32_t)has_prep + (uint32_t)has_adpt;
    const uint64_t hdr_end = HDR_FIXED + (uint64_t)ENTRY_SIZE * n_sec + 4u;
    const uint64_t netw_len = NETW_FIXED + 8u * ((uint64_t)L + 1u) + 8u * (uint64_t)L;
    const uint64_t vec_len = (uint64_t)net->n_params * dsize;
    const uint64_t optm_len = opt ? OPTM_FIXED + (uint64_t)n_state * vec_len : 0;
    const uint64_t netw_off = align8(hdr_end);
    const uint64_t parm_off = align8(netw_off + netw_len);
    const uint64_t optm_off = align8(parm_off + vec_len);
    const uint64_t main_end = opt ? optm_off + optm_len : parm_off + vec_len;
    const uint64_t lrnk_len = 16, olrs_len = 8u * (uint64_t)L;
    const uint64_t lrnk_off = align8(main_end);
    const uint64_t olrs_off = align8(has_lrnk ? lrnk_off + lrnk_len : main_end);
    const uint64_t opt_end = has_olrs ? olrs_off + olrs_len
                             : has_lrnk ? lrnk_off + lrnk_len : main_end;
    const uint64_t subs_len = has_subs ? (uint64_t)lrmlp__subspace_encoded_size(sub) : 0;
    const uint64_t subs_off = align8(opt_end);
    const uint64_t subs_end = has_subs ? subs_off + subs_len : opt_end;
    const uint64_t prep_len = has_prep ? (uint64_t)lrmlp__preproc_encoded_size(net->prep) : 0;
    const uint64_t prep_off = align8(subs_end);
    const uint64_t prep_end = has_prep ? prep_off + prep_len : subs_end;
    const uint64_t adpt_off = align8(prep_end);
    const uint64_t total = has_adpt ? adpt_off + adpt_len : prep_end;
    if (total > SIZE_MAX)
        return lrmlp__err(LRMLP_ERR_NOMEM, "model save: file too large");

    uint8_t *b = calloc(1, (size_t)total);
    if (!b)
        return lrmlp__err(LRMLP_ERR_NOMEM,
                          "model save: cannot allocate %llu bytes", (unsigned long long)total);

    /* NETW */
    uint8_t *p = b + netw_off;
    put_u32(p, (uint32_t)net->dtype);
    put_u32(p + 4, net->bias ? 1u : 0u);
    put_u64(p + 8, (uint64_t)L);
    put_u64(p + 16, net->epochs);
    for (int i = 0; i < 4; i++)
        put_u64(p + 24 + 8 * i, net->rng.s[i]);
    p += NETW_FIXED;
    for (size_t i = 0; i <= L; i++, p += 8)
        put_u64(p, (uint64_t)net->widths[i]);
    for (size_t l = 0; l < L; l++, p += 8) {
        put_u32(p, (uint32_t)net->layers[l].act);
        put_u32(p + 4, net->layers[l].frozen ? LAYER_FROZEN : 0u);
    }

    /* PARM */
    put_vector(b + parm_off, net, net->params);

    /* OPTM */
    if (opt) {
        const lrmlp_optim_options *o = &opt->o;
        p = b + optm_off;
        put_u32(p, (uint32_t)o->kind);
        put_u32(p + 4, o->nesterov ? 1u : 0u);
        put_u32(p + 8, (uint32_t)o->ns_steps);
        put_u32(p + 12, (uint32_t)o->schedule);
        const double f[9] = { o->lr, o->momentum, o->beta1, o->beta2, o->eps,
                              o->weight_decay, o->clip_norm, o->min_lr, o->gamma };
        put_doubles(p + 16, f, 9);
        put_u64(p + 88, o->total_steps);
        put_u64(p + 96, o->step_size);
        put_u64(p + 104, o->warmup_steps);
        put_u64(p + 112, opt->t);
        put_f64(p + 120, opt->last_grad_norm);
        put_u32(p + 128, (uint32_t)opt->dtype);
        put_u32(p + 132, (uint32_t)n_state);
        put_u64(p + 136, (uint64_t)opt->n_params);
        const void *st[2] = { opt->m, opt->v };
        for (size_t k = 0; k < n_state; k++)
            put_vector(p + OPTM_FIXED + k * vec_len, net, st[k]);
    }

    /* header */
    memcpy(b, MAGIC, 8);
    /* 1.0 files stay byte-identical to what 1.0 writers produced; files with
     * the optional sections added in 1.1 say so. */
    put_u32(b + 8, has_prep ? ((FMT_MAJOR << 16) | 2u)
                   : (has_lrnk || has_olrs || has_subs || has_adpt) ? ((FMT_MAJOR << 16) | 1u)
                                                                    : FMT_VERSION);
    put_u32(b + 12, n_sec);
    const uint32_t fl = SEC_CRITICAL | 1u;
    put_entry(b + HDR_FIXED, TAG_NETW, fl, netw_off, netw_len,
              crc32_buf(b + netw_off, netw_len));
    put_entry(b + HDR_FIXED + ENTRY_SIZE, TAG_PARM, fl, parm_off, vec_len,
              crc32_buf(b + parm_off, vec_len));
    uint32_t e = 2;
    if (opt)
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_OPTM, fl, optm_off, optm_len,
                  crc32_buf(b + optm_off, optm_len));
    /* The optional sections are not critical: a reader that skips LRNK still
     * gets the same function (the chain of layers), one that skips OLRS
     * trains all layers at the base rate. */
    if (has_lrnk) {
        put_u64(b + lrnk_off, (uint64_t)net->lr_rank);
        put_u64(b + lrnk_off + 8, (uint64_t)net->lr_layers);
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_LRNK, 1u, lrnk_off, lrnk_len,
                  crc32_buf(b + lrnk_off, lrnk_len));
    }
    if (has_olrs) {
        for (size_t l = 0; l < L; l++)
            put_f64(b + olrs_off + 8 * l, opt->lr_scale[l]);
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_OLRS, 1u, olrs_off, olrs_len,
                  crc32_buf(b + olrs_off, olrs_len));
    }
    if (has_subs) {
        lrmlp__subspace_encode(sub, b + subs_off);
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_SUBS, 1u, subs_off, subs_len,
                  crc32_buf(b + subs_off, subs_len));
    }
    /* PREP is critical: a reader that dropped the transforms would load a
     * network that silently computes something else. */
    if (has_prep) {
        lrmlp__preproc_encode(net->prep, b + prep_off);
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_PREP, fl, prep_off, prep_len,
                  crc32_buf(b + prep_off, prep_len));
    }
    /* Critical: a reader that skipped it would take the chain for the
     * function (docs/format.md). */
    if (has_adpt) {
        memcpy(b + adpt_off, adpt, (size_t)adpt_len);
        put_entry(b + HDR_FIXED + ENTRY_SIZE * e++, TAG_ADPT, SEC_CRITICAL | 1u, adpt_off,
                  adpt_len, crc32_buf(b + adpt_off, adpt_len));
    }
    put_u32(b + hdr_end - 4, crc32_buf(b, hdr_end - 4));

    *out = b;
    *out_len = (size_t)total;
    return LRMLP_OK;
}

static int build_file(const lrmlp_net *net, const lrmlp_optim *opt, const lrmlp_subspace *sub,
                      uint8_t **out, size_t *out_len)
{
    return build_file_x(net, opt, sub, NULL, 0, out, out_len);
}

static int save_mem(const lrmlp_net *net, const lrmlp_optim *opt, const lrmlp_subspace *sub,
                    void **buf, size_t *len)
{
    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_save_mem: net is NULL");
    if (!buf || !len)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "lrmlp_model_save_mem: buf and len must not be NULL");
    uint8_t *b;
    size_t n;
    int rc = build_file(net, opt, sub, &b, &n);
    if (rc != LRMLP_OK)
        return rc;
    *buf = b;
    *len = n;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_model_save_mem(const lrmlp_net *net, const lrmlp_optim *opt, void **buf,
                                   size_t *len)
{
    return save_mem(net, opt, NULL, buf, len);
}

LRMLP_API int lrmlp_model_save_subspace_mem(const lrmlp_net *net, const lrmlp_optim *opt,
                                            const lrmlp_subspace *sub, void **buf, size_t *len)
{
    if (net && !sub)
        return lrmlp__err(LRMLP_ERR_INVALID, "subspace estimate is NULL");
    return save_mem(net, opt, sub, buf, len);
}

#if defined(__linux__) && !defined(O_TMPFILE)
/* <fcntl.h> shows O_TMPFILE only under _GNU_SOURCE; this is its value on
 * every Debian architecture (the generic __O_TMPFILE). An unsupported value
 * or file system makes open fail, and the save falls back to a named file. */
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A name for the temporary file: dir/.lrmlp-XXXXXX, short whatever the
 * target's basename (a long basename plus a suffix could exceed NAME_MAX). */
static char *temp_name(const char *dir)
{
    size_t dl = strlen(dir);
    char *t = malloc(dl + sizeof "/.lrmlp-XXXXXX");
    if (t) {
        memcpy(t, dir, dl);
        memcpy(t + dl, "/.lrmlp-XXXXXX", sizeof "/.lrmlp-XXXXXX");
    }
    return t;
}

/* Replaces the 6 X of a temp_name with letters from a per-call generator. */
static void temp_fill(char *t, uint64_t *state)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char *x = t + strlen(t) - 6;
    for (int i = 0; i < 6; i++) {
        *state = *state * 6364136223846793005u + 1442695040888963407u;
        x[i] = al[(*state >> 33) % (sizeof al - 1)];
    }
}

/* The save policy of model.h and docs/format.md: the symlinks of path are
 * resolved and the final target is replaced; an existing target that is
 * not a regular file is refused; the data goes to an unnamed file in the
 * target's directory (O_TMPFILE, so a crash leaves nothing behind), which
 * is given a short temporary name only once complete and synced, and then
 * renamed over the target. Where O_TMPFILE is unavailable the file is
 * created under that name from the start (mkstemp), and a crash can leave
 * it behind. */
LRMLP_INTERNAL int lrmlp__write_atomic(const char *what, const char *path, const uint8_t *data,
                                       size_t len)
{
    char es[128];
    const char *op = NULL;
    int e = 0, rc = LRMLP_OK, fd = -1, named = 0;
    char *real = NULL, *dir = NULL, *tmp = NULL;
    const char *target = path;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        real = realpath(path, NULL);
        if (!real) {
            e = errno;
            rc = lrmlp__err(LRMLP_ERR_IO, "%s: cannot resolve the symbolic link '%s': %s", what,
                            path, lrmlp__errno_str(e, es, sizeof es));
            goto out;
        }
        target = real;
    }
    int exists = stat(target, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        rc = lrmlp__err(LRMLP_ERR_IO, "%s: '%s' exists and is not a regular file; it is not "
                                      "replaced", what, target);
        goto out;
    }
    /* mode of a file being replaced, else 0644 (reading the umask is not
     * thread-safe) */
    mode_t mode = exists ? (st.st_mode & 07777) : 0644;
    dir = strdup(target);
    if (!dir) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", what);
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    tmp = temp_name(strcmp(dir, "/") == 0 ? "" : dir);
    if (!tmp) {
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", what);
        goto out;
    }
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#endif
    if (fd < 0) {
        fd = mkstemp(tmp);
        if (fd < 0) {
            e = errno;
            rc = lrmlp__err(LRMLP_ERR_IO, "%s: cannot create a temporary file in '%s': %s",
                            what, dir, lrmlp__errno_str(e, es, sizeof es));
            goto out;
        }
        named = 1;
    }
    if (fchmod(fd, mode) != 0)
        op = "fchmod", e = errno;
    else if (write_all(fd, data, len) != 0)
        op = "write", e = errno;
    else if (fsync(fd) != 0)
        op = "fsync", e = errno;
    if (!op && !named) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        uint64_t g = (uint64_t)(uintptr_t)tmp ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
        for (int tries = 0; tries < 100 && !named; tries++) {
            temp_fill(tmp, &g);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
                named = 1;
            else if (errno != EEXIST)
                break;
        }
        if (!named)
            op = "link", e = errno;
    }
    if (close(fd) != 0 && !op)
        op = "close", e = errno;
    if (!op && rename(tmp, target) != 0)
        op = "rename", e = errno;
    if (op) {
        if (named)
            unlink(tmp);
        rc = lrmlp__err(LRMLP_ERR_IO, "%s: %s of '%s' failed: %s", what, op, target,
                        lrmlp__errno_str(e, es, sizeof es));
        goto out;
    }
    /* Make the rename itself durable: fsync the directory (best effort). */
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    free(real);
    free(dir);
    free(tmp);
    return rc;
}

static int save_path(const lrmlp_net *net, const lrmlp_optim *opt, const lrmlp_subspace *sub,
                     const char *path)
{
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_save: net is NULL");
    if (!path || !*path)
        return lrmlp__err(LRMLP_ERR_INVALID,
                          "lrmlp_model_save: path is NULL or empty");
    uint8_t *b;
    size_t n;
    int rc = build_file(net, opt, sub, &b, &n);
    if (rc != LRMLP_OK)
        return rc;
    rc = lrmlp__write_atomic("model save", path, b, n);
    free(b);
    return rc;
}

LRMLP_API int lrmlp_model_save(const lrmlp_net *net, const lrmlp_optim *opt, const char *path)
{
    return save_path(net, opt, NULL, path);
}

LRMLP_API int lrmlp_model_save_subspace(const lrmlp_net *net, const lrmlp_optim *opt,
                                        const lrmlp_subspace *sub, const char *path)
{
    if (net && !sub)
        return lrmlp__err(LRMLP_ERR_INVALID, "subspace estimate is NULL");
    return save_path(net, opt, sub, path);
}

/* ---- reading ---- */

typedef struct section_ {
    char tag[4];
    uint32_t flags;
    uint64_t off, len;
    uint32_t crc;
} section_;

/* Everything read from NETW, validated, before anything big is allocated. */
typedef struct netw_ {
    lrmlp_dtype dtype;
    int bias;
    size_t L;
    uint64_t epochs;
    uint64_t rng[4];
    const uint8_t *widths;   /* L + 1 u64 */
    const uint8_t *layers;   /* L x (u32 activation, u32 flags) */
    size_t n_params;
} netw_;

typedef struct optm_ {
    lrmlp_optim_options o;
    uint64_t t;
    double last_grad_norm;
    uint32_t n_state;
    const uint8_t *state;
} optm_;

static void tag_str(const char tag[4], char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (tag[i] >= 0x20 && tag[i] < 0x7F) ? tag[i] : '?';
    out[4] = '\0';
}

#define FAIL(status, ...) return lrmlp__err(status, "model file: " __VA_ARGS__)

static int parse_netw(const uint8_t *p, uint64_t len, netw_ *nw)
{
    if (len < NETW_FIXED)
        FAIL(LRMLP_ERR_FORMAT, "NETW section too short (%llu bytes)", (unsigned long long)len);
    uint32_t dt = get_u32(p), bias = get_u32(p + 4);
    uint64_t L = get_u64(p + 8);
    if (dt != LRMLP_F32 && dt != LRMLP_F64)
        FAIL(LRMLP_ERR_FORMAT, "invalid dtype %u", (unsigned)dt);
    if (bias > 1)
        FAIL(LRMLP_ERR_FORMAT, "invalid bias flag %u", (unsigned)bias);
    if (L < 1)
        FAIL(LRMLP_ERR_FORMAT, "network has no layers");
    /* Exact length 56 + 8 (L + 1) + 8 L = 64 + 16 L, without overflow. */
    if (L > (len - NETW_FIXED) / 16 || len != NETW_FIXED + 8 + 16 * L)
        FAIL(LRMLP_ERR_FORMAT, "NETW section length %llu does not match %llu layers",
             (unsigned long long)len, (unsigned long long)L);
    nw->dtype = (lrmlp_dtype)dt;
    nw->bias = (int)bias;
    nw->L = (size_t)L;
    nw->epochs = get_u64(p + 16);
    uint64_t any = 0;
    for (int i = 0; i < 4; i++)
        any |= nw->rng[i] = get_u64(p + 24 + 8 * i);
    if (!any)
        FAIL(LRMLP_ERR_FORMAT, "generator state is all zero");
    nw->widths = p + NETW_FIXED;
    nw->layers = nw->widths + 8 * (L + 1);

    const size_t dsize = lrmlp__dtype_size(nw->dtype);
    const uint64_t cap = MAX_PARAM_BYTES / dsize;
    uint64_t total = 0;
    for (uint64_t i = 0; i <= L; i++) {
        uint64_t w = get_u64(nw->widths + 8 * i);
        if (w < 1 || w > cap)
            FAIL(LRMLP_ERR_FORMAT, "width %llu of layer boundary %llu is out of range",
                 (unsigned long long)w, (unsigned long long)i);
    }
    for (uint64_t l = 0; l < L; l++) {
        uint64_t in = get_u64(nw->widths + 8 * l), out = get_u64(nw->widths + 8 * (l + 1));
        uint64_t room = cap - total;
        if (in > room / out || (bias && out > room - in * out))
            FAIL(LRMLP_ERR_FORMAT, "more parameters than the limit of %llu bytes",
                 (unsigned long long)MAX_PARAM_BYTES);
        total += in * out + (bias ? out : 0);
        uint32_t act = get_u32(nw->layers + 8 * l), fl = get_u32(nw->layers + 8 * l + 4);
        if (act >= (uint32_t)LRMLP_ACT_COUNT_)
            FAIL(LRMLP_ERR_FORMAT, "invalid activation %u in layer %llu", (unsigned)act,
                 (unsigned long long)l);
        if (fl & ~LAYER_FROZEN)
            FAIL(LRMLP_ERR_FORMAT, "unknown flags 0x%x in layer %llu", (unsigned)fl,
                 (unsigned long long)l);
    }
    size_t bytes;
    if (total > SIZE_MAX || !lrmlp__mul_ok((size_t)total, dsize, &bytes))
        FAIL(LRMLP_ERR_FORMAT, "network too large for this platform");
    nw->n_params = (size_t)total;
    return LRMLP_OK;
}

static int parse_optm(const uint8_t *p, uint64_t len, const netw_ *nw, optm_ *om)
{
    if (len < OPTM_FIXED)
        FAIL(LRMLP_ERR_FORMAT, "OPTM section too short (%llu bytes)", (unsigned long long)len);
    lrmlp_optim_options *o = &om->o;
    lrmlp_optim_options_init(o, LRMLP_OPTIM_OPTIONS_VERSION);
    uint32_t kind = get_u32(p), nest = get_u32(p + 4), sched = get_u32(p + 12);
    int32_t ns;
    {
        uint32_t u = get_u32(p + 8);
        ns = u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
    }
    if (kind >= (uint32_t)LRMLP_OPTIM_COUNT_)
        FAIL(LRMLP_ERR_FORMAT, "invalid optimizer kind %u", (unsigned)kind);
    if (nest > 1)
        FAIL(LRMLP_ERR_FORMAT, "invalid nesterov flag %u", (unsigned)nest);
    if (sched >= (uint32_t)LRMLP_SCHEDULE_COUNT_)
        FAIL(LRMLP_ERR_FORMAT, "invalid schedule %u", (unsigned)sched);
    o->kind = (lrmlp_optim_kind)kind;
    o->nesterov = (int)nest;
    o->ns_steps = (int)ns;
    o->schedule = (lrmlp_schedule)sched;
    double *f[9] = { &o->lr, &o->momentum, &o->beta1, &o->beta2, &o->eps,
                     &o->weight_decay, &o->clip_norm, &o->min_lr, &o->gamma };
    for (int i = 0; i < 9; i++)
        *f[i] = get_f64(p + 16 + 8 * i);
    o->total_steps = get_u64(p + 88);
    o->step_size = get_u64(p + 96);
    o->warmup_steps = get_u64(p + 104);
    om->t = get_u64(p + 112);
    om->last_grad_norm = get_f64(p + 120);
    uint32_t dt = get_u32(p + 128);
    om->n_state = get_u32(p + 132);
    uint64_t np = get_u64(p + 136);
    if (dt != (uint32_t)nw->dtype)
        FAIL(LRMLP_ERR_FORMAT, "optimizer dtype %u differs from the network's", (unsigned)dt);
    if (np != (uint64_t)nw->n_params)
        FAIL(LRMLP_ERR_FORMAT, "optimizer is for %llu parameters, the network has %llu",
             (unsigned long long)np, (unsigned long long)nw->n_params);
    if (om->n_state > 2)
        FAIL(LRMLP_ERR_FORMAT, "invalid number of optimizer state vectors %u",
             (unsigned)om->n_state);
    const size_t dsize = lrmlp__dtype_size(nw->dtype);
    const uint64_t vec = (uint64_t)nw->n_params * dsize;  /* <= 2^34 */
    if (len != OPTM_FIXED + om->n_state * vec)
        FAIL(LRMLP_ERR_FORMAT, "OPTM section length %llu does not match its contents",
             (unsigned long long)len);
    om->state = p + OPTM_FIXED;
    if (!encoded_finite(om->state, (size_t)om->n_state * nw->n_params, dsize))
        FAIL(LRMLP_ERR_FORMAT, "optimizer state holds NaN or Inf");
    return LRMLP_OK;
}

/* Reads the container: header, section table, checksums. Fills the known
 * sections (NULL when absent). */
static int parse_container(const uint8_t *b, size_t len, const section_ **netw,
                           const section_ **parm, const section_ **optm, section_ *sec,
                           uint32_t *n_sec_out, int allow_adpt)
{
    if (len < 8 || memcmp(b, MAGIC, 8) != 0) {
        if (len < 8 && memcmp(b, MAGIC, len) == 0)
            FAIL(LRMLP_ERR_FORMAT, "truncated (%zu bytes)", len);
        FAIL(LRMLP_ERR_FORMAT, "bad magic: not an lrmlp model file, or altered by a "
                               "text-mode transfer");
    }
    if (len < 12)
        FAIL(LRMLP_ERR_FORMAT, "truncated header (%zu bytes)", len);
    uint32_t ver = get_u32(b + 8);
    if ((ver >> 16) > FMT_MAJOR)
        FAIL(LRMLP_ERR_VERSION, "format version %u.%u is newer than this library reads "
                                "(%u.x)", (unsigned)(ver >> 16), (unsigned)(ver & 0xFFFF),
             FMT_MAJOR);
    if ((ver >> 16) == 0)
        FAIL(LRMLP_ERR_FORMAT, "invalid format version %u.%u", (unsigned)(ver >> 16),
             (unsigned)(ver & 0xFFFF));
    if (len < HDR_FIXED)
        FAIL(LRMLP_ERR_FORMAT, "truncated header (%zu bytes)", len);
    uint32_t n_sec = get_u32(b + 12);
    if (n_sec < 1 || n_sec > MAX_SECTIONS)
        FAIL(LRMLP_ERR_FORMAT, "invalid section count %u", (unsigned)n_sec);
    const uint64_t hdr_end = HDR_FIXED + (uint64_t)ENTRY_SIZE * n_sec + 4;
    if (len < hdr_end)
        FAIL(LRMLP_ERR_FORMAT, "truncated section table (%zu of %llu bytes)", len,
             (unsigned long long)hdr_end);
    if (crc32_buf(b, hdr_end - 4) != get_u32(b + hdr_end - 4))
        FAIL(LRMLP_ERR_CHECKSUM, "header checksum mismatch");

    /* Entries, bounds. */
    for (uint32_t i = 0; i < n_sec; i++) {
        const uint8_t *e = b + HDR_FIXED + (size_t)ENTRY_SIZE * i;
        section_ *s = &sec[i];
        memcpy(s->tag, e, 4);
        s->flags = get_u32(e + 4);
        s->off = get_u64(e + 8);
        s->len = get_u64(e + 16);
        s->crc = get_u32(e + 24);
        char t[5];
        tag_str(s->tag, t);
        if (s->off < hdr_end || s->off > len || s->len > len - s->off)
            FAIL(LRMLP_ERR_FORMAT, "section '%s' (offset %llu, %llu bytes) lies outside the "
                                   "%zu-byte file (truncated?)", t,
                 (unsigned long long)s->off, (unsigned long long)s->len, len);
    }
    /* No overlaps; every byte outside the header and the sections is zero.
     * Sort the (at most 256) sections by offset. */
    uint16_t order[MAX_SECTIONS];
    for (uint32_t i = 0; i < n_sec; i++) {
        uint32_t j = i;
        while (j > 0 && sec[order[j - 1]].off > sec[i].off) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint16_t)i;
    }
    uint64_t pos = hdr_end;
    for (uint32_t k = 0; k <= n_sec; k++) {
        uint64_t next = k < n_sec ? sec[order[k]].off : len;
        if (next < pos)
            FAIL(LRMLP_ERR_FORMAT, "sections overlap");
        for (uint64_t q = pos; q < next; q++)
            if (b[q] != 0)
                FAIL(LRMLP_ERR_FORMAT, "nonzero byte at offset %llu outside every section",
                     (unsigned long long)q);
        if (k < n_sec)
            pos = next + sec[order[k]].len;
    }

    /* Checksums, known and critical sections. */
    *netw = *parm = *optm = NULL;
    for (uint32_t i = 0; i < n_sec; i++) {
        const section_ *s = &sec[i];
        char t[5];
        tag_str(s->tag, t);
        if (crc32_buf(b + s->off, s->len) != s->crc)
            FAIL(LRMLP_ERR_CHECKSUM, "checksum mismatch in section '%s'", t);
        const section_ **slot = !memcmp(s->tag, TAG_NETW, 4)   ? netw
                                : !memcmp(s->tag, TAG_PARM, 4) ? parm
                                : !memcmp(s->tag, TAG_OPTM, 4) ? optm
                                                               : NULL;
        if (!slot && !memcmp(s->tag, TAG_ADPT, 4)) {
            if (!allow_adpt)
                FAIL(LRMLP_ERR_FORMAT, "this is an adapter file: load it with "
                                       "lrmlp_adapter_load on its base network");
            if ((s->flags & SEC_VERSION_MASK) != 1)
                FAIL(LRMLP_ERR_VERSION, "section 'ADPT' has version %u, this library reads 1",
                     (unsigned)(s->flags & SEC_VERSION_MASK));
            continue;
        }
        if (!slot) {
            if ((s->flags & SEC_CRITICAL) && memcmp(s->tag, TAG_PREP, 4))
                FAIL(LRMLP_ERR_VERSION, "unknown critical section '%s' (written by a newer "
                                        "library)", t);
            continue;
        }
        if (*slot)
            FAIL(LRMLP_ERR_FORMAT, "duplicate section '%s'", t);
        if ((s->flags & SEC_VERSION_MASK) != 1)
            FAIL(LRMLP_ERR_VERSION, "section '%s' has version %u, this library reads 1", t,
                 (unsigned)(s->flags & SEC_VERSION_MASK));
        *slot = s;
    }
    if (!*netw)
        FAIL(LRMLP_ERR_FORMAT, "no NETW section");
    if (!*parm)
        FAIL(LRMLP_ERR_FORMAT, "no PARM section");
    *n_sec_out = n_sec;
    return LRMLP_OK;
}

/* Applies the optional LRNK and OLRS sections (already checksummed by
 * parse_container) to freshly built handles. */
static int read_optional(const uint8_t *b, const section_ *sec, uint32_t n_sec, lrmlp_net *n,
                         lrmlp_optim *o)
{
    for (uint32_t i = 0; i < n_sec; i++) {
        const section_ *s = &sec[i];
        const uint8_t *p = b + s->off;
        if (!memcmp(s->tag, TAG_PREP, 4)) {
            if (n->prep)
                FAIL(LRMLP_ERR_FORMAT, "duplicate section 'PREP'");
            if ((s->flags & SEC_VERSION_MASK) != 1)
                FAIL(LRMLP_ERR_VERSION, "section 'PREP' has version %u, this library reads 1",
                     (unsigned)(s->flags & SEC_VERSION_MASK));
            int rc = lrmlp__preproc_decode(p, s->len, n, &n->prep);
            if (rc != LRMLP_OK)
                return lrmlp__err_prefix(rc, "model file: ");
        } else if (!memcmp(s->tag, TAG_LRNK, 4)) {
            if ((s->flags & SEC_VERSION_MASK) != 1 || s->len != 16)
                FAIL(LRMLP_ERR_FORMAT, "malformed LRNK section");
            uint64_t r = get_u64(p), L = get_u64(p + 8);
            /* The chain must be V^T, A_1..A_{L-1}, U, W_L with inner width r. */
            int ok = L >= 2 && L + 2 == n->n_layers && r >= 1 && !n->bias;
            for (uint64_t l = 1; ok && l <= L; l++)
                ok = n->widths[l] == r;
            if (!ok)
                FAIL(LRMLP_ERR_FORMAT, "LRNK section does not match the network's layers");
            n->lr_rank = (size_t)r;
            n->lr_layers = (size_t)L;
        } else if (!memcmp(s->tag, TAG_OLRS, 4)) {
            if ((s->flags & SEC_VERSION_MASK) != 1 || s->len != 8u * n->n_layers)
                FAIL(LRMLP_ERR_FORMAT, "malformed OLRS section");
            for (size_t l = 0; l < n->n_layers; l++) {
                double v = get_f64(p + 8 * l);
                if (!isfinite(v) || v < 0)
                    FAIL(LRMLP_ERR_FORMAT, "OLRS section holds an invalid scale");
                if (o)
                    o->lr_scale[l] = v;
            }
        }
    }
    return LRMLP_OK;
}

static int load_mem(const void *buf, size_t len, lrmlp_net **net, lrmlp_optim **opt,
                    int allow_adpt)
{
    if (net)
        *net = NULL;
    if (opt)
        *opt = NULL;
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load_mem: net is NULL");
    if (!buf && len)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load_mem: buf is NULL");
    static const uint8_t empty[1] = { 0 };
    const uint8_t *b = buf ? (const uint8_t *)buf : empty;

    section_ sec[MAX_SECTIONS];
    const section_ *s_netw, *s_parm, *s_optm;
    uint32_t n_sec = 0;
    int rc = parse_container(b, len, &s_netw, &s_parm, &s_optm, sec, &n_sec, allow_adpt);
    if (rc != LRMLP_OK)
        return rc;

    netw_ nw = {0};
    rc = parse_netw(b + s_netw->off, s_netw->len, &nw);
    if (rc != LRMLP_OK)
        return rc;
    const size_t dsize = lrmlp__dtype_size(nw.dtype);
    if (s_parm->len != (uint64_t)nw.n_params * dsize)
        FAIL(LRMLP_ERR_FORMAT, "PARM section has %llu bytes, the network needs %llu",
             (unsigned long long)s_parm->len, (unsigned long long)nw.n_params * dsize);
    const uint8_t *pp = b + s_parm->off;
    if (!encoded_finite(pp, nw.n_params, dsize))
        FAIL(LRMLP_ERR_FORMAT, "parameters hold NaN or Inf");
    optm_ om;
    memset(&om, 0, sizeof om);
    if (s_optm) {
        rc = parse_optm(b + s_optm->off, s_optm->len, &nw, &om);
        if (rc != LRMLP_OK)
            return rc;
    }

    /* Everything is validated: build the handles. */
    size_t *widths = malloc((nw.L + 1) * sizeof *widths);
    lrmlp_activation *acts = malloc(nw.L * sizeof *acts);
    if (!widths || !acts) {
        free(widths);
        free(acts);
        FAIL(LRMLP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i <= nw.L; i++)
        widths[i] = (size_t)get_u64(nw.widths + 8 * i);
    for (size_t l = 0; l < nw.L; l++)
        acts[l] = (lrmlp_activation)get_u32(nw.layers + 8 * l);
    lrmlp_net *n = NULL;
    rc = lrmlp__net_alloc(&n, nw.dtype, nw.L, widths, acts, nw.bias, 1);
    free(widths);
    free(acts);
    if (rc != LRMLP_OK)
        return lrmlp__err_prefix(rc == LRMLP_ERR_NOMEM ? rc : LRMLP_ERR_FORMAT,
                                 "model file: cannot create the network: ");
    if (n->n_params != nw.n_params) {
        lrmlp_net_free(n);
        FAIL(LRMLP_ERR_FORMAT, "parameter count mismatch (internal)");
    }
    get_vector(pp, n, n->params);
    memset(n->grads, 0, nw.n_params * dsize);
    memcpy(n->rng.s, nw.rng, sizeof n->rng.s);
    n->epochs = nw.epochs;
    for (size_t l = 0; l < nw.L; l++)
        n->layers[l].frozen = (get_u32(nw.layers + 8 * l + 4) & LAYER_FROZEN) ? 1 : 0;

    lrmlp_optim *o = NULL;
    if (s_optm) {
        rc = lrmlp__optim_alloc(&o, n, &om.o);
        if (rc != LRMLP_OK) {
            lrmlp_net_free(n);
            return lrmlp__err_prefix(rc == LRMLP_ERR_NOMEM ? rc : LRMLP_ERR_FORMAT,
                                     "model file: invalid optimizer: ");
        }
        if (lrmlp__optim_n_state(o) != om.n_state) {
            unsigned want = (unsigned)lrmlp__optim_n_state(o);
            lrmlp_optim_free(o);
            lrmlp_net_free(n);
            FAIL(LRMLP_ERR_FORMAT, "optimizer has %u state vectors, its kind keeps %u",
                 (unsigned)om.n_state, want);
        }
        o->t = om.t;
        o->last_grad_norm = om.last_grad_norm;
        void *st[2] = { o->m, o->v };
        for (uint32_t k = 0; k < om.n_state; k++)
            get_vector(om.state + (size_t)k * nw.n_params * dsize, n, st[k]);
    }
    rc = read_optional(b, sec, n_sec, n, o);
    if (rc != LRMLP_OK) {
        lrmlp_optim_free(o);
        lrmlp_net_free(n);
        return rc;
    }
    *net = n;
    if (opt)
        *opt = o;
    else
        lrmlp_optim_free(o);
    return LRMLP_OK;
}

LRMLP_API int lrmlp_model_load_mem(const void *buf, size_t len, lrmlp_net **net,
                                   lrmlp_optim **opt)
{
    return load_mem(buf, len, net, opt, 0);
}

LRMLP_INTERNAL int lrmlp__read_file(const char *what, const char *path, uint8_t **out,
                                    size_t *out_len)
{
    char es[128];
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrmlp__err(LRMLP_ERR_IO, "%s: cannot open '%s': %s", what, path,
                               lrmlp__errno_str(errno, es, sizeof es));
    /* Only regular files: a device or pipe (/dev/zero) could be read until
     * memory runs out before its contents are ever looked at. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lrmlp__err(LRMLP_ERR_IO, "%s: '%s' is not a regular file (read a stream "
                          "into memory and use the _mem function)", what, path);
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    int rc = LRMLP_OK;
    if (!b)
        rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: out of memory", what);
    while (rc == LRMLP_OK) {
        if (len == cap) {
            size_t ncap;
            uint8_t *nb = NULL;
            if (lrmlp__mul_ok(cap, 2, &ncap))
                nb = realloc(b, ncap);
            if (!nb) {
                rc = lrmlp__err(LRMLP_ERR_NOMEM, "%s: '%s' is too large to read",
                                     what, path);
                break;
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = lrmlp__err(LRMLP_ERR_IO, "%s: cannot read '%s': %s", what, path,
                                     lrmlp__errno_str(errno, es, sizeof es));
            break;
        }
    }
    fclose(f);
    if (rc != LRMLP_OK) {
        free(b);
        return rc;
    }
    *out = b;
    *out_len = len;
    return LRMLP_OK;
}

/* Appends up to want more bytes of f to the buffer, growing it by doubling
 * as data arrives (never past len + want); stops early at end of file. */
static int read_more(FILE *f, const char *path, uint8_t **b, size_t *cap, size_t *len,
                     uint64_t want)
{
    char es[128];
    uint64_t goal = (uint64_t)*len + want;
    while ((uint64_t)*len < goal) {
        if (*len == *cap) {
            size_t ncap = *cap * 2;
            if (ncap < *cap || (uint64_t)ncap > goal)
                ncap = goal > SIZE_MAX ? SIZE_MAX : (size_t)goal;
            uint8_t *nb = ncap > *cap ? realloc(*b, ncap) : NULL;
            if (!nb)
                return lrmlp__err(LRMLP_ERR_NOMEM, "model file: '%s' is too large to read",
                                  path);
            *b = nb;
            *cap = ncap;
        }
        uint64_t room = goal - *len < *cap - *len ? goal - *len : *cap - *len;
        size_t got = fread(*b + *len, 1, (size_t)room, f);
        *len += got;
        if (got == 0) {
            if (ferror(f))
                return lrmlp__err(LRMLP_ERR_IO, "model file: cannot read '%s': %s", path,
                                  lrmlp__errno_str(errno, es, sizeof es));
            break;
        }
    }
    return LRMLP_OK;
}

/* Zero bytes a reader accepts after the last section (docs/format.md). */
#define MAX_TAIL ((uint64_t)1 << 16)

/* Reads a model file into a new buffer, header first: the magic, the
 * section count and the table with its checksum are read and checked before
 * anything else, and the rest is read only as far as the table says (the
 * end of the last section plus at most MAX_TAIL bytes, which must be zero
 * padding; more is refused here). A header that fails a check stops the
 * reading and is handed on as it is, for lrmlp_model_load_mem to report. So
 * a stream of garbage or zeros costs 16 bytes, not memory until NOMEM. */
static int read_model_file(const char *path, uint8_t **out, size_t *out_len)
{
    char es[128];
    FILE *f = fopen(path, "rb");
    if (!f)
        return lrmlp__err(LRMLP_ERR_IO, "model file: cannot open '%s': %s", path,
                          lrmlp__errno_str(errno, es, sizeof es));
    size_t cap = 1 << 12, len = 0;
    uint8_t *b = malloc(cap);
    int rc = b ? LRMLP_OK : lrmlp__err(LRMLP_ERR_NOMEM, "model file: out of memory");
    if (rc == LRMLP_OK)
        rc = read_more(f, path, &b, &cap, &len, HDR_FIXED);
    uint32_t n_sec = len == HDR_FIXED ? get_u32(b + 12) : 0;
    int head_ok = len == HDR_FIXED && memcmp(b, MAGIC, 8) == 0 &&
                  (get_u32(b + 8) >> 16) == FMT_MAJOR && n_sec >= 1 && n_sec <= MAX_SECTIONS;
    uint64_t hdr_end = HDR_FIXED + (uint64_t)ENTRY_SIZE * n_sec + 4;
    if (rc == LRMLP_OK && head_ok) {
        rc = read_more(f, path, &b, &cap, &len, hdr_end - HDR_FIXED);
        head_ok = rc == LRMLP_OK && len == hdr_end &&
                  crc32_buf(b, hdr_end - 4) == get_u32(b + hdr_end - 4);
    }
    if (rc == LRMLP_OK && head_ok) {
        uint64_t end = hdr_end;
        for (uint32_t i = 0; i < n_sec && head_ok; i++) {
            const uint8_t *e = b + HDR_FIXED + (size_t)ENTRY_SIZE * i;
            uint64_t off = get_u64(e + 8), sl = get_u64(e + 16);
            head_ok = off <= UINT64_MAX - sl;
            if (head_ok && off + sl > end)
                end = off + sl;
        }
        struct stat st;
        if (head_ok && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
            (uint64_t)st.st_size < end)
            end = (uint64_t)st.st_size; /* truncated: read what there is */
        if (head_ok)
            rc = read_more(f, path, &b, &cap, &len, end - hdr_end + MAX_TAIL);
        if (rc == LRMLP_OK && head_ok && (uint64_t)len == end + MAX_TAIL &&
            fgetc(f) != EOF)
            rc = lrmlp__err(LRMLP_ERR_FORMAT,
                            "model file: '%s' goes on for more than %llu bytes after its "
                            "last section", path, (unsigned long long)MAX_TAIL);
    }
    fclose(f);
    if (rc != LRMLP_OK) {
        free(b);
        return rc;
    }
    *out = b;
    *out_len = len;
    return LRMLP_OK;
}

LRMLP_API int lrmlp_model_load(const char *path, lrmlp_net **net, lrmlp_optim **opt)
{
    if (net)
        *net = NULL;
    if (opt)
        *opt = NULL;
    if (!net)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load: net is NULL");
    if (!path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load: path is NULL");
    uint8_t *b;
    size_t len;
    int rc = read_model_file(path, &b, &len);
    if (rc == LRMLP_OK) {
        rc = lrmlp_model_load_mem(b, len, net, opt);
        free(b);
    }
    return rc;
}

LRMLP_API int lrmlp_model_load_subspace_mem(const void *buf, size_t len, lrmlp_subspace **sub)
{
    if (!sub)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load_subspace: sub is NULL");
    *sub = NULL;
    /* The whole file must be valid, not only its SUBS section. */
    lrmlp_net *net;
    int rc = lrmlp_model_load_mem(buf, len, &net, NULL);
    if (rc != LRMLP_OK)
        return rc;
    lrmlp_net_free(net);
    const uint8_t *b = buf;
    section_ sec[MAX_SECTIONS];
    const section_ *s_netw, *s_parm, *s_optm;
    uint32_t n_sec = 0;
    rc = parse_container(b, len, &s_netw, &s_parm, &s_optm, sec, &n_sec, 0);
    if (rc != LRMLP_OK)
        return rc;
    for (uint32_t i = 0; i < n_sec; i++) {
        if (memcmp(sec[i].tag, TAG_SUBS, 4))
            continue;
        if ((sec[i].flags & SEC_VERSION_MASK) != 1)
            FAIL(LRMLP_ERR_VERSION, "section 'SUBS' has version %u, this library reads 1",
                 (unsigned)(sec[i].flags & SEC_VERSION_MASK));
        return lrmlp__subspace_decode(b + sec[i].off, sec[i].len, sub);
    }
    return LRMLP_OK; /* no estimate in this file */
}

LRMLP_API int lrmlp_model_load_subspace(const char *path, lrmlp_subspace **sub)
{
    if (!sub)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load_subspace: sub is NULL");
    *sub = NULL;
    if (!path)
        return lrmlp__err(LRMLP_ERR_INVALID, "lrmlp_model_load_subspace: path is NULL");
    uint8_t *b;
    size_t len;
    int rc = read_model_file(path, &b, &len);
    if (rc == LRMLP_OK) {
        rc = lrmlp_model_load_subspace_mem(b, len, sub);
        free(b);
    }
    return rc;
}

/* ---- adapter files (adapter.c) ---- */

int lrmlp__model_adapter_write(const lrmlp_net *net, const uint8_t *payload,
                               uint64_t payload_len, const char *path, void **buf, size_t *len)
{
    uint8_t *b;
    size_t n;
    int rc = build_file_x(net, NULL, NULL, payload, payload_len, &b, &n);
    if (rc != LRMLP_OK)
        return rc;
    if (!path) {
        *buf = b;
        *len = n;
        return LRMLP_OK;
    }
    rc = lrmlp__write_atomic("adapter save", path, b, n);
    free(b);
    return rc;
}

int lrmlp__model_adapter_read(const char *path, const void *buf, size_t len, lrmlp_net **net,
                              uint8_t **payload, uint64_t *payload_len)
{
    *net = NULL;
    *payload = NULL;
    *payload_len = 0;
    uint8_t *file = NULL;
    if (path) {
        int rc = lrmlp__read_file("adapter file", path, &file, &len);
        if (rc != LRMLP_OK)
            return rc;
        buf = file;
    }
    static const uint8_t empty[1] = { 0 };
    const uint8_t *b = buf ? (const uint8_t *)buf : empty;
    lrmlp_net *n = NULL;
    int rc = load_mem(b, len, &n, NULL, 1);
    section_ sec[MAX_SECTIONS];
    const section_ *s_netw, *s_parm, *s_optm, *s_adpt = NULL;
    uint32_t n_sec = 0;
    if (rc == LRMLP_OK)
        rc = parse_container(b, len, &s_netw, &s_parm, &s_optm, sec, &n_sec, 1);
    for (uint32_t i = 0; rc == LRMLP_OK && i < n_sec; i++)
        if (!memcmp(sec[i].tag, TAG_ADPT, 4)) {
            if (s_adpt)
                rc = lrmlp__err(LRMLP_ERR_FORMAT, "model file: duplicate section 'ADPT'");
            s_adpt = &sec[i];
        }
    if (rc == LRMLP_OK && !s_adpt)
        rc = lrmlp__err(LRMLP_ERR_FORMAT, "not an adapter file: no ADPT section (a model "
                                          "file is loaded with lrmlp_model_load)");
    if (rc == LRMLP_OK) {
        *payload = malloc(s_adpt->len ? (size_t)s_adpt->len : 1);
        if (!*payload)
            rc = lrmlp__err(LRMLP_ERR_NOMEM, "model file: out of memory");
        else
            memcpy(*payload, b + s_adpt->off, (size_t)s_adpt->len);
        *payload_len = s_adpt->len;
    }
    free(file);
    if (rc != LRMLP_OK) {
        lrmlp_net_free(n);
        return rc;
    }
    *net = n;
    return LRMLP_OK;
}
