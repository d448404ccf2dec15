/* Datasets: IDX and CSV readers, memory constructors, standardization,
 * whitening, shuffle, split and batch copy-out. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <lrmlp.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* IDX bytes: magic 0x000008<ndims>, dims, then data_len bytes of data. */
static unsigned char *idx_bytes(unsigned ndims, const uint32_t *dims, const unsigned char *data,
                                size_t data_len, size_t *len)
{
    *len = 4 + 4 * (size_t)ndims + data_len;
    unsigned char *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)ndims;
    for (unsigned k = 0; k < ndims; k++)
        put_be32(b + 4 + 4 * k, dims[k]);
    if (data_len)
        memcpy(b + 4 + 4 * ndims, data, data_len);
    return b;
}

static uint32_t crc32_bytes(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* A valid gzip stream holding data in stored (uncompressed) deflate blocks,
 * written by hand so the test needs no zlib. */
static unsigned char *gzip_stored(const unsigned char *data, size_t len, size_t *out_len)
{
    size_t blocks = len / 65535 + 1;
    unsigned char *g = malloc(10 + blocks * 5 + len + 8);
    ck_assert_ptr_nonnull(g);
    static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
    memcpy(g, hdr, 10);
    size_t o = 10, pos = 0;
    do {
        size_t c = len - pos < 65535 ? len - pos : 65535;
        g[o++] = pos + c == len ? 1 : 0;
        g[o++] = (unsigned char)c;
        g[o++] = (unsigned char)(c >> 8);
        g[o++] = (unsigned char)~c;
        g[o++] = (unsigned char)(~c >> 8);
        memcpy(g + o, data + pos, c);
        o += c;
        pos += c;
    } while (pos < len);
    uint32_t crc = crc32_bytes(data, len), isz = (uint32_t)len;
    for (int k = 0; k < 4; k++)
        g[o++] = (unsigned char)(crc >> (8 * k));
    for (int k = 0; k < 4; k++)
        g[o++] = (unsigned char)(isz >> (8 * k));
    *out_len = o;
    return g;
}

static void write_or_fail(const char *path, const void *p, size_t len)
{
    ck_assert_int_eq(tu_write_file(path, p, len), 0);
}

/* 3 images of 2 x 3 pixels, labels 2, 0, 1. */
static const unsigned char px3[18] = { 0,  1,  2,  3,  4,  5,  10, 20, 30,
                                       40, 50, 60, 255, 254, 253, 252, 251, 250 };
static const unsigned char lab3[3] = { 2, 0, 1 };
static const uint32_t img_dims3[3] = { 3, 2, 3 };
static const uint32_t lab_dims3[1] = { 3 };

static void write_idx3(const char *img_path, const char *lab_path, int gz)
{
    size_t li, ll;
    unsigned char *bi = idx_bytes(3, img_dims3, px3, sizeof px3, &li);
    unsigned char *bl = idx_bytes(1, lab_dims3, lab3, sizeof lab3, &ll);
    if (gz) {
        size_t gi, gl;
        unsigned char *zi = gzip_stored(bi, li, &gi), *zl = gzip_stored(bl, ll, &gl);
        write_or_fail(img_path, zi, gi);
        write_or_fail(lab_path, zl, gl);
        free(zi);
        free(zl);
    } else {
        write_or_fail(img_path, bi, li);
        write_or_fail(lab_path, bl, ll);
    }
    free(bi);
    free(bl);
}

static void check_idx3(lrmlp_dataset *ds)
{
    ck_assert_uint_eq(lrmlp_dataset_size(ds), 3);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 6);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 3);
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 3);
    float X[18], T[9];
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 3, X, T), LRMLP_OK);
    for (int i = 0; i < 18; i++)
        ck_assert_float_eq(X[i], (float)px3[i]);
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_float_eq(T[i * 3 + c], c == lab3[i] ? 1.0f : 0.0f);
    int32_t l[3];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 3, l), LRMLP_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(l[i], lab3[i]);
    /* u8 storage: a few hundred bytes, not 4 bytes per pixel plus padding. */
    ck_assert_uint_ge(lrmlp_dataset_memory(ds), 18 + 3);
    ck_assert_uint_lt(lrmlp_dataset_memory(ds), 18 + 3 + 1024);
}

/* Loads images/labels bytes (plain) written to files; returns the status. */
static int load_idx_bytes(const unsigned char *img, size_t li, const unsigned char *lab,
                          size_t ll, lrmlp_dataset **ds)
{
    const char *pi = tu_tmp_path("bi.idx"), *pl = tu_tmp_path("bl.idx");
    write_or_fail(pi, img, li);
    if (lab)
        write_or_fail(pl, lab, ll);
    int rc = lrmlp_dataset_load_idx(ds, pi, lab ? pl : NULL);
    unlink(pi);
    if (lab)
        unlink(pl);
    return rc;
}

static lrmlp_dataset *make_f64(const double *X, size_t n, size_t d)
{
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, n, d, NULL, 0), LRMLP_OK);
    ck_assert_ptr_nonnull(ds);
    return ds;
}

static double *batch64(const lrmlp_dataset *ds)
{
    size_t n = lrmlp_dataset_size(ds), d = lrmlp_dataset_dim(ds);
    double *X = malloc(n * d * sizeof *X);
    ck_assert_ptr_nonnull(X);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, n, X, NULL), LRMLP_OK);
    return X;
}

/* Correlated Gaussian-ish data: X = Z M + offset. */
static double *correlated(size_t n, size_t d, uint64_t seed)
{
    double *X = malloc(n * d * sizeof *X), *M = malloc(d * d * sizeof *M);
    double *z = malloc(d * sizeof *z);
    ck_assert(X && M && z);
    uint64_t s = seed;
    for (size_t i = 0; i < d * d; i++)
        M[i] = tu_rand(&s) + (i % (d + 1) == 0 ? 2.0 : 0.0);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < d; k++)
            z[k] = tu_rand(&s) + tu_rand(&s) + tu_rand(&s);
        for (size_t j = 0; j < d; j++) {
            double a = 3.0 + (double)j;
            for (size_t k = 0; k < d; k++)
                a += z[k] * M[k * d + j];
            X[i * d + j] = a;
        }
    }
    free(M);
    free(z);
    return X;
}

/* S = sum_i x_i x_i^T / div, d x d. */
static void second_moment(const double *X, size_t n, size_t d, double div, double *S)
{
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                s += X[i * d + a] * X[i * d + b];
            S[a * d + b] = s / div;
        }
}

static void assert_identity(const double *S, size_t d, double tol)
{
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            ck_assert_double_eq_tol(S[a * d + b], a == b ? 1.0 : 0.0, tol);
}

/* ---- IDX ----------------------------------------------------------------- */

START_TEST(test_idx_plain)
{
    const char *pi = tu_tmp_path("img.idx"), *pl = tu_tmp_path("lab.idx");
    write_idx3(pi, pl, 0);
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, pi, pl), LRMLP_OK);
    check_idx3(ds);
    lrmlp_dataset_free(ds);

    /* Without labels: no targets, labels() refuses. */
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, pi, NULL), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 0);
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 0);
    int32_t l[1];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 1, l), LRMLP_ERR_STATE);
    ck_assert_str_ne(lrmlp_last_errmsg(), "");
    lrmlp_dataset_free(ds);
    unlink(pi);
    unlink(pl);
}
END_TEST

START_TEST(test_idx_gzip)
{
    const char *pi = tu_tmp_path("img.idx.gz"), *pl = tu_tmp_path("lab.idx.gz");
    write_idx3(pi, pl, 1);
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, pi, pl), LRMLP_OK);
    check_idx3(ds);
    lrmlp_dataset_free(ds);

    /* A larger gzip file spanning several stored blocks and read buffers:
     * 300 images of 40 x 50 = 600000 bytes, more than the first guess. */
    size_t n = 300, d = 2000, len, glen;
    unsigned char *px = malloc(n * d);
    ck_assert_ptr_nonnull(px);
    for (size_t i = 0; i < n * d; i++)
        px[i] = (unsigned char)((i * 7 + i / 13) & 0xff);
    uint32_t dims[3] = { (uint32_t)n, 40, 50 };
    unsigned char *b = idx_bytes(3, dims, px, n * d, &len);
    unsigned char *g = gzip_stored(b, len, &glen);
    write_or_fail(pi, g, glen);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, pi, NULL), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(ds), n);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), d);
    float *X = malloc(n * d * sizeof *X);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, n, X, NULL), LRMLP_OK);
    for (size_t i = 0; i < n * d; i++)
        ck_assert_float_eq(X[i], (float)px[i]);
    lrmlp_dataset_free(ds);
    free(X);
    free(g);
    free(b);
    free(px);
    unlink(pi);
    unlink(pl);
}
END_TEST

START_TEST(test_idx_truncated)
{
    size_t li, ll;
    unsigned char *bi = idx_bytes(3, img_dims3, px3, sizeof px3, &li);
    unsigned char *bl = idx_bytes(1, lab_dims3, lab3, sizeof lab3, &ll);
    lrmlp_dataset *ds = (lrmlp_dataset *)bi; /* must be reset to NULL */
    /* One pixel short, header cut, empty file. */
    ck_assert_int_eq(load_idx_bytes(bi, li - 1, bl, ll, &ds), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert(strstr(lrmlp_last_errmsg(), "truncated") != NULL);
    ck_assert_int_eq(load_idx_bytes(bi, 10, bl, ll, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_idx_bytes(bi, 0, bl, ll, &ds), LRMLP_ERR_FORMAT);
    /* A label file that claims more labels than it has. */
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll - 1, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "labels") != NULL);
    /* Trailing garbage. */
    unsigned char *big = malloc(li + 1);
    memcpy(big, bi, li);
    big[li] = 7;
    ck_assert_int_eq(load_idx_bytes(big, li + 1, bl, ll, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "trailing") != NULL);

    /* The same through gzip: decompressed data short, long, stream cut. */
    const char *p = tu_tmp_path("trunc.gz");
    size_t gl;
    unsigned char *g = gzip_stored(bi, li - 1, &gl);
    write_or_fail(p, g, gl);
    free(g);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    g = gzip_stored(big, li + 1, &gl);
    write_or_fail(p, g, gl);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    free(g);
    g = gzip_stored(bi, li, &gl);
    write_or_fail(p, g, gl - 12);   /* cut inside the data */
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    write_or_fail(p, g, gl);        /* intact: loads */
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_OK);
    lrmlp_dataset_free(ds);
    /* The 8-byte trailer (CRC, size) cut, in part or whole, and one byte
     * of the last deflate block with it: the data is all there, the file
     * is still truncated. */
    for (size_t cut = 1; cut <= 9; cut++) {
        write_or_fail(p, g, gl - cut);
        ck_assert_msg(lrmlp_dataset_load_idx(&ds, p, NULL) == LRMLP_ERR_FORMAT,
                      "gzip file with %zu bytes cut off loaded", cut);
        ck_assert_ptr_null(ds);
    }
    /* Bytes after the gzip stream that are not another gzip member. */
    static const unsigned char junk[][4] = {{0}, {7}, {0x1f, 0}, {'a', 'b', 'c', 'd'}};
    static const size_t junk_len[] = {1, 1, 2, 4};
    unsigned char *gj = malloc(gl + 4);
    memcpy(gj, g, gl);
    for (size_t j = 0; j < 4; j++) {
        memcpy(gj + gl, junk[j], junk_len[j]);
        write_or_fail(p, gj, gl + junk_len[j]);
        ck_assert_msg(lrmlp_dataset_load_idx(&ds, p, NULL) == LRMLP_ERR_FORMAT,
                      "gzip file with %zu bytes of garbage appended loaded", junk_len[j]);
        ck_assert_ptr_null(ds);
    }
    free(gj);
    /* Two gzip members concatenated are one valid gzip file (gzip -c a b). */
    size_t g1l, g2l;
    unsigned char *g1 = gzip_stored(bi, 7, &g1l), *g2 = gzip_stored(bi + 7, li - 7, &g2l);
    unsigned char *gg = malloc(g1l + g2l);
    memcpy(gg, g1, g1l);
    memcpy(gg + g1l, g2, g2l);
    write_or_fail(p, gg, g1l + g2l);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_OK);
    lrmlp_dataset_free(ds);
    free(g1);
    free(g2);
    free(gg);
    g[10 + 5 + 16 + 4] ^= 0xff;     /* a pixel: only the CRC can tell */
    write_or_fail(p, g, gl);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "gzip") != NULL);
    ck_assert_ptr_null(ds);
    free(g);
    unlink(p);
    free(big);
    free(bi);
    free(bl);
}
END_TEST

START_TEST(test_idx_bad_magic)
{
    size_t li, ll;
    unsigned char *bi = idx_bytes(3, img_dims3, px3, sizeof px3, &li);
    unsigned char *bl = idx_bytes(1, lab_dims3, lab3, sizeof lab3, &ll);
    lrmlp_dataset *ds = NULL;
    /* Labels as images and images as labels. */
    ck_assert_int_eq(load_idx_bytes(bl, ll, NULL, 0, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "magic") != NULL);
    ck_assert_int_eq(load_idx_bytes(bi, li, bi, li, &ds), LRMLP_ERR_FORMAT);
    /* Element type 0x09 (signed byte), and a nonzero first byte. */
    bi[2] = 0x09;
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll, &ds), LRMLP_ERR_FORMAT);
    bi[2] = 0x08;
    bi[0] = 1;
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll, &ds), LRMLP_ERR_FORMAT);
    bi[0] = 0;
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll, &ds), LRMLP_OK);
    lrmlp_dataset_free(ds);
    /* A zero dimension. */
    put_be32(bi + 8, 0);
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll, &ds), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    /* Missing file. */
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, "/nonexistent/dir/x.idx", NULL),
                     LRMLP_ERR_IO);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, NULL, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_load_idx(NULL, "x", NULL), LRMLP_ERR_INVALID);
    free(bi);
    free(bl);
}
END_TEST

START_TEST(test_idx_oversized)
{
    lrmlp_dataset *ds = NULL;
    size_t len, gl;
    /* 1 x 0x7fffffff x 0x7fffffff: the product overflows 2^31 at once. */
    uint32_t huge[3] = { 1, 0x7fffffffu, 0x7fffffffu };
    unsigned char *b = idx_bytes(3, huge, px3, sizeof px3, &len);
    ck_assert_int_eq(load_idx_bytes(b, len, NULL, 0, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "2^31") != NULL);
    free(b);
    /* 0xffffffff images of 28 x 28 claimed in an 18-byte file. */
    uint32_t many[3] = { 0xffffffffu, 28, 28 };
    b = idx_bytes(3, many, px3, sizeof px3, &len);
    ck_assert_int_eq(load_idx_bytes(b, len, NULL, 0, &ds), LRMLP_ERR_FORMAT);
    free(b);
    /* Exactly 2^31 elements claimed inside gzip (whose size is unknown up
     * front): fails as truncated after reading what is there. */
    uint32_t edge[3] = { 1u << 15, 256, 256 };
    b = idx_bytes(3, edge, px3, sizeof px3, &len);
    unsigned char *g = gzip_stored(b, len, &gl);
    const char *p = tu_tmp_path("huge.gz");
    write_or_fail(p, g, gl);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "truncated") != NULL);
    free(g);
    free(b);
    /* 2^31 + 256 elements in gzip: refused from the header alone. */
    uint32_t over[3] = { (1u << 15) + 1, 256, 256 };
    b = idx_bytes(3, over, px3, sizeof px3, &len);
    g = gzip_stored(b, len, &gl);
    write_or_fail(p, g, gl);
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, p, NULL), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "2^31") != NULL);
    ck_assert_ptr_null(ds);
    free(g);
    free(b);
    unlink(p);
}
END_TEST

START_TEST(test_idx_count_mismatch)
{
    size_t li, ll;
    uint32_t two[1] = { 2 };
    unsigned char *bi = idx_bytes(3, img_dims3, px3, sizeof px3, &li);
    unsigned char *bl = idx_bytes(1, two, lab3, 2, &ll);
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(load_idx_bytes(bi, li, bl, ll, &ds), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert(strstr(lrmlp_last_errmsg(), "2 labels") != NULL);
    free(bi);
    free(bl);
}
END_TEST

#define FMNIST "/usr/share/datasets/fashion-mnist/"

START_TEST(test_idx_fashion_mnist)
{
    struct stat st;
    if (stat(FMNIST "train-images-idx3-ubyte.gz", &st) != 0) {
        fprintf(stderr, "test_idx_fashion_mnist: " FMNIST " not found, skipped\n");
        return;
    }
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, FMNIST "train-images-idx3-ubyte.gz",
                                            FMNIST "train-labels-idx1-ubyte.gz"),
                     LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(ds), 60000);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 784);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 10);
    ck_assert_uint_lt(lrmlp_dataset_memory(ds), 60u * 1000 * 1000);
    ck_assert_uint_ge(lrmlp_dataset_memory(ds), 60000u * 784);
    int32_t l[6];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 6, l), LRMLP_OK);
    static const int32_t first[6] = { 9, 0, 0, 3, 0, 2 };   /* 9 = ankle boot */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(l[i], first[i]);
    size_t counts[10] = { 0 };
    int32_t *all = malloc(60000 * sizeof *all);
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 60000, all), LRMLP_OK);
    for (size_t i = 0; i < 60000; i++)
        counts[all[i]]++;
    for (int c = 0; c < 10; c++)
        ck_assert_uint_eq(counts[c], 6000);
    free(all);
    double x[784];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 1, x, NULL), LRMLP_OK);
    double s = 0.0;
    for (int j = 0; j < 784; j++)
        s += x[j];
    ck_assert_double_eq(s, 76247.0);             /* pixel sum of image 0 */
    ck_assert_double_eq(x[14 * 28 + 14], 217.0); /* centre pixel */
    size_t last = 59999;
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, &last, 0, 1, x, NULL), LRMLP_OK);
    s = 0.0;
    for (int j = 0; j < 784; j++)
        s += x[j];
    ck_assert_double_eq(s, 16684.0);
    lrmlp_dataset_free(ds);

    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, FMNIST "t10k-images-idx3-ubyte.gz",
                                            FMNIST "t10k-labels-idx1-ubyte.gz"),
                     LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(ds), 10000);
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 5, l), LRMLP_OK);
    ck_assert_int_eq(l[0], 9);
    ck_assert_int_eq(l[1], 2);
    ck_assert_int_eq(l[4], 6);
    lrmlp_dataset_free(ds);
    /* Train images with test labels: counts differ. */
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, FMNIST "train-images-idx3-ubyte.gz",
                                            FMNIST "t10k-labels-idx1-ubyte.gz"),
                     LRMLP_ERR_FORMAT);
}
END_TEST

/* ---- CSV ----------------------------------------------------------------- */

static int load_csv_text(const char *text, const lrmlp_csv_options *o, lrmlp_dataset **ds)
{
    const char *p = tu_tmp_path("data.csv");
    write_or_fail(p, text, strlen(text));
    int rc = lrmlp_dataset_load_csv(ds, p, o);
    unlink(p);
    return rc;
}

START_TEST(test_csv_good)
{
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(load_csv_text("1,0.5,2\n0, -1.25e1 ,3\r\n2,.5,+4E-1\n\n", NULL, &ds),
                     LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(ds), 3);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 2);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 3);
    double X[6], T[9];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 3, X, T), LRMLP_OK);
    static const float want[6] = { 0.5f, 2.0f, -12.5f, 3.0f, 0.5f, 0.4f };
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(X[i], (double)want[i]);   /* default storage: float */
    ck_assert_double_eq(T[0 * 3 + 1], 1.0);
    ck_assert_double_eq(T[1 * 3 + 0], 1.0);
    ck_assert_double_eq(T[2 * 3 + 2], 1.0);
    lrmlp_dataset_free(ds);

    /* Label in the middle, tab delimiter, float64. */
    lrmlp_csv_options o;
    ck_assert_int_eq(lrmlp_csv_options_init(&o, LRMLP_CSV_OPTIONS_VERSION), LRMLP_OK);
    o.delimiter = '\t';
    o.label_column = 1;
    o.dtype = LRMLP_F64;
    ck_assert_int_eq(load_csv_text("0.1\t4\t7\n0.2\t0\t8", &o, &ds), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 2);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 5);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 2, X, NULL), LRMLP_OK);
    ck_assert_double_eq(X[0], 0.1);
    ck_assert_double_eq(X[1], 7.0);
    ck_assert_double_eq(X[2], 0.2);
    int32_t l[2];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 2, l), LRMLP_OK);
    ck_assert_int_eq(l[0], 4);
    ck_assert_int_eq(l[1], 0);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_csv_numbers)
{
    /* The parser is our own: check it against the compiler's conversions. */
    static const char *txt[] = { "0.1",      "123456.789",   "1e-5",  "6.02214076e23",
                                 "-0",       "0.000001",     "3.14159265358979323846",
                                 "1E22",     "9007199254740993", "2.2250738585072014e-308",
                                 "1.7976931348623157e308", "4.9406564584124654e-324",
                                 "00012.50", "12345678901234567890123", "1.e2" };
    static const double val[] = { 0.1,      123456.789,   1e-5,  6.02214076e23,
                                  -0.0,     0.000001,     3.14159265358979323846,
                                  1E22,     9007199254740993.0, 2.2250738585072014e-308,
                                  1.7976931348623157e308, 4.9406564584124654e-324,
                                  12.5,     12345678901234567890123.0, 100.0 };
    size_t k = sizeof val / sizeof val[0];
    char text[2048] = "";
    for (size_t i = 0; i < k; i++) {
        strcat(text, "0,");
        strcat(text, txt[i]);
        strcat(text, "\n");
    }
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    o.dtype = LRMLP_F64;
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(load_csv_text(text, &o, &ds), LRMLP_OK);
    double X[32];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, k, X, NULL), LRMLP_OK);
    for (size_t i = 0; i < k; i++) {
        double tol = fabs(val[i]) * 2 * DBL_EPSILON;   /* at most 1 ulp off */
        ck_assert_msg(fabs(X[i] - val[i]) <= tol, "'%s' parsed as %.17g, want %.17g", txt[i],
                      X[i], val[i]);
    }
    ck_assert(signbit(X[4]));
    /* The common short forms are exact. */
    for (size_t i = 0; i < 8; i++)
        ck_assert_double_eq(X[i], val[i]);
    lrmlp_dataset_free(ds);

    /* A locale with a decimal comma must not change anything. */
    const char *old = setlocale(LC_NUMERIC, NULL);
    char saved[64];
    snprintf(saved, sizeof saved, "%s", old ? old : "C");
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        ck_assert_int_eq(load_csv_text("0,2.5\n", &o, &ds), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 1, X, NULL), LRMLP_OK);
        ck_assert_double_eq(X[0], 2.5);
        lrmlp_dataset_free(ds);
        setlocale(LC_NUMERIC, saved);
    }
}
END_TEST

START_TEST(test_csv_header)
{
    lrmlp_dataset *ds = NULL;
    /* Without has_header the header is a non-numeric field on line 1. */
    ck_assert_int_eq(load_csv_text("label,a,b\n1,2,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "line 1") != NULL);
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    o.has_header = 1;
    ck_assert_int_eq(load_csv_text("label,a,b\n1,2,3\n", &o, &ds), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(ds), 1);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 2);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 2);
    lrmlp_dataset_free(ds);
    /* A header alone, and an empty file. */
    ck_assert_int_eq(load_csv_text("label,a,b\n", &o, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("\n\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
}
END_TEST

START_TEST(test_csv_bad)
{
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(load_csv_text("1,2,3\n1,2,3\n1,2\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "line 3") != NULL);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,abc,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "line 2, column 2") != NULL);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,0x10,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,1e,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,2 3,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,2,3\n1,nan,3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,-Inf,3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,nan(0x1),3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,-NAN(),3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,nan(a_9),3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,nan(0x1,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,nan(-),3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_int_eq(load_csv_text("1,1e999,3\n", NULL, &ds), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(load_csv_text("1,1e39,3\n", NULL, &ds), LRMLP_ERR_NONFINITE); /* > FLT_MAX */
    /* Labels must be non-negative integers. */
    ck_assert_int_eq(load_csv_text("1.5,2,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert(strstr(lrmlp_last_errmsg(), "label") != NULL);
    ck_assert_int_eq(load_csv_text("-1,2,3\n", NULL, &ds), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    /* Options. */
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    o.label_column = 3;
    ck_assert_int_eq(load_csv_text("1,2,3\n", &o, &ds), LRMLP_ERR_INVALID);
    o.label_column = 0;
    o.version = 99;
    ck_assert_int_eq(load_csv_text("1,2,3\n", &o, &ds), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_csv_options_init(&o, 99), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_csv_options_init(NULL, LRMLP_CSV_OPTIONS_VERSION), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_csv_options_init(&o, LRMLP_CSV_OPTIONS_VERSION), LRMLP_OK);
    lrmlp_csv_options def = LRMLP_CSV_OPTIONS_INIT;
    ck_assert(o.version == def.version && o.delimiter == def.delimiter &&
              o.has_header == def.has_header && o.label_column == def.label_column &&
              o.n_targets == def.n_targets && o.dtype == def.dtype);
    o.n_targets = 1;   /* needs label_column = -1 */
    ck_assert_int_eq(load_csv_text("1,2,3\n", &o, &ds), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_load_csv(&ds, "/nonexistent/x.csv", NULL), LRMLP_ERR_IO);
}
END_TEST

START_TEST(test_csv_regression)
{
    lrmlp_csv_options o = LRMLP_CSV_OPTIONS_INIT;
    o.label_column = -1;
    o.n_targets = 2;
    o.delimiter = ';';
    o.dtype = LRMLP_F64;
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(load_csv_text("1;2;3;0.25;-7\n4;5;6;1e3;0.1\n", &o, &ds), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 3);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(ds), 0);
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 2);
    double X[6], T[4];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 2, X, T), LRMLP_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(X[i], (double)(i + 1));
    ck_assert_double_eq(T[0], 0.25);
    ck_assert_double_eq(T[1], -7.0);
    ck_assert_double_eq(T[2], 1000.0);
    ck_assert_double_eq(T[3], 0.1);
    int32_t l[2];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, 2, l), LRMLP_ERR_STATE);
    lrmlp_dataset_free(ds);
    /* No feature column left. */
    o.n_targets = 5;
    ck_assert_int_eq(load_csv_text("1;2;3;0.25;-7\n", &o, &ds), LRMLP_ERR_INVALID);
    /* Neither labels nor targets: all columns are features. */
    o.n_targets = 0;
    ck_assert_int_eq(load_csv_text("1;2;3;0.25;-7\n", &o, &ds), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_dim(ds), 5);
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 0);
    lrmlp_dataset_free(ds);
}
END_TEST

/* ---- memory constructors ------------------------------------------------- */

START_TEST(test_from_memory)
{
    float X[6] = { 1, 2, 3, 4, 5, 6 };
    int32_t lab[3] = { 0, 1, 1 };
    lrmlp_dataset *ds = (lrmlp_dataset *)X;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, NULL, 3, 2, lab, 2), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(ds);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 0, 2, lab, 2), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 0, lab, 2), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(NULL, X, 3, 2, lab, 2), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 2, lab, 1), LRMLP_ERR_INVALID);
    ck_assert(strstr(lrmlp_last_errmsg(), "labels[1]") != NULL);
    lab[0] = -1;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 2, lab, 2), LRMLP_ERR_INVALID);
    lab[0] = 0;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 2, NULL, 2), LRMLP_ERR_INVALID);
    X[3] = NAN;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 2, lab, 2), LRMLP_ERR_NONFINITE);
    ck_assert(strstr(lrmlp_last_errmsg(), "sample 1") != NULL);
    X[3] = 4;
    double Xd[6] = { 1, 2, 3, 4, 5, INFINITY };
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, Xd, 3, 2, NULL, 0),
                     LRMLP_ERR_NONFINITE);
    Xd[5] = 6;
    double T[3] = { 1, NAN, 3 };
    ck_assert_int_eq(lrmlp_dataset_from_targets_f64(&ds, Xd, 3, 2, T, 1), LRMLP_ERR_NONFINITE);
    ck_assert_int_eq(lrmlp_dataset_from_targets_f64(&ds, Xd, 3, 2, T, 0), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(ds);
    T[1] = 2;
    ck_assert_int_eq(lrmlp_dataset_from_targets_f64(&ds, Xd, 3, 2, T, 1), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 1);
    ck_assert_uint_ge(lrmlp_dataset_memory(ds), 9 * sizeof(double));
    float Tf[3];
    float Xf[6];
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 3, Xf, Tf), LRMLP_OK);
    ck_assert_float_eq(Tf[2], 3.0f);
    ck_assert_float_eq(Xf[5], 6.0f);
    lrmlp_dataset_free(ds);

    /* Copies, not references; many classes store int32 labels. */
    int32_t big[3] = { 299, 0, 150 };
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, X, 3, 2, big, 300), LRMLP_OK);
    X[0] = 100;
    big[0] = 1;
    ck_assert_uint_eq(lrmlp_dataset_target_dim(ds), 300);
    float *Tb = malloc(3 * 300 * sizeof *Tb);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 3, Xf, Tb), LRMLP_OK);
    ck_assert_float_eq(Xf[0], 1.0f);
    for (int c = 0; c < 300; c++) {
        ck_assert_float_eq(Tb[c], c == 299 ? 1.0f : 0.0f);
        ck_assert_float_eq(Tb[600 + c], c == 150 ? 1.0f : 0.0f);
    }
    free(Tb);
    lrmlp_dataset_free(ds);

    /* NULL handles. */
    lrmlp_dataset_free(NULL);
    ck_assert_uint_eq(lrmlp_dataset_size(NULL), 0);
    ck_assert_uint_eq(lrmlp_dataset_memory(NULL), 0);
    ck_assert_ptr_nonnull(lrmlp_last_errmsg());
}
END_TEST

/* ---- standardization ----------------------------------------------------- */

static void col_stats(const double *X, size_t n, size_t d, size_t j, double *m, double *v)
{
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++)
        s += X[i * d + j];
    s /= (double)n;
    for (size_t i = 0; i < n; i++)
        q += (X[i * d + j] - s) * (X[i * d + j] - s);
    *m = s;
    *v = q / (double)n;
}

START_TEST(test_standardize_feature)
{
    size_t n = 500, d = 4;
    double *X = correlated(n, d, 7);
    for (size_t i = 0; i < n; i++) {
        X[i * d + 0] = X[i * d + 0] * 100.0 + 1e4;
        X[i * d + 3] = 5.0;   /* constant feature */
    }
    lrmlp_dataset *ds = make_f64(X, n, d);
    ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL), LRMLP_OK);
    double *Y = batch64(ds);
    for (size_t j = 0; j < 3; j++) {
        double m, v;
        col_stats(Y, n, d, j, &m, &v);
        ck_assert_double_eq_tol(m, 0.0, 1e-10);
        ck_assert_double_eq_tol(v, 1.0, 1e-10);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(Y[i * d + 3], 0.0);   /* constant: x - mean with std 1 */
    /* Standardizing again composes and changes nothing. */
    ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL), LRMLP_OK);
    double *Y2 = batch64(ds);
    for (size_t i = 0; i < n * d; i++)
        ck_assert_double_eq_tol(Y2[i], Y[i], 1e-10);
    /* f32 copy-out agrees. */
    float *F = malloc(n * d * sizeof *F);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, n, F, NULL), LRMLP_OK);
    for (size_t i = 0; i < n * d; i++)
        ck_assert_double_eq_tol(F[i], Y[i], 1e-5);
    free(F);
    free(Y2);
    free(Y);
    free(X);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_standardize_global_idx)
{
    /* u8 storage: the map is kept aside and applied on copy-out. */
    const char *pi = tu_tmp_path("gimg.idx"), *pl = tu_tmp_path("glab.idx");
    write_idx3(pi, pl, 0);
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_load_idx(&ds, pi, pl), LRMLP_OK);
    size_t mem = lrmlp_dataset_memory(ds);
    ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_GLOBAL, NULL), LRMLP_OK);
    ck_assert_uint_gt(lrmlp_dataset_memory(ds), mem);   /* the map is counted */
    double m = 0.0, v = 0.0;
    for (int i = 0; i < 18; i++)
        m += px3[i];
    m /= 18.0;
    for (int i = 0; i < 18; i++)
        v += (px3[i] - m) * (px3[i] - m);
    double s = sqrt(v / 18.0);
    double Y[18];
    float F[18];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 3, Y, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 3, F, NULL), LRMLP_OK);
    double gm = 0.0, gv = 0.0;
    for (int i = 0; i < 18; i++) {
        ck_assert_double_eq_tol(Y[i], (px3[i] - m) / s, 1e-12);
        ck_assert_double_eq_tol(F[i], (px3[i] - m) / s, 1e-5);
        gm += Y[i];
        gv += Y[i] * Y[i];
    }
    ck_assert_double_eq_tol(gm / 18.0, 0.0, 1e-12);
    ck_assert_double_eq_tol(gv / 18.0, 1.0, 1e-12);
    lrmlp_dataset_free(ds);
    unlink(pi);
    unlink(pl);
}
END_TEST

START_TEST(test_standardize_reference)
{
    size_t n = 300, d = 3;
    double *X = correlated(n, d, 11);
    lrmlp_dataset *train = make_f64(X, 200, d);
    lrmlp_dataset *test = make_f64(X + 200 * d, 100, d);
    ck_assert_int_eq(lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_FEATURE, train),
                     LRMLP_OK);
    double *Y = batch64(test);
    for (size_t j = 0; j < d; j++) {
        double m, v;
        col_stats(X, 200, d, j, &m, &v);
        for (size_t i = 0; i < 100; i++)
            ck_assert_double_eq_tol(Y[i * d + j], (X[(200 + i) * d + j] - m) / sqrt(v), 1e-10);
    }
    /* The train set is untouched; a shape mismatch fails and changes nothing. */
    double x0[3];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(train, NULL, 0, 1, x0, NULL), LRMLP_OK);
    ck_assert_double_eq(x0[0], X[0]);
    lrmlp_dataset *other = make_f64(X, 100, 2);
    ck_assert_int_eq(lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_FEATURE, other),
                     LRMLP_ERR_SHAPE);
    ck_assert_str_ne(lrmlp_last_errmsg(), "");
    ck_assert_int_eq(lrmlp_dataset_standardize(test, (lrmlp_standardize_mode)7, NULL),
                     LRMLP_ERR_INVALID);
    double *Y2 = batch64(test);
    ck_assert_mem_eq(Y, Y2, 100 * d * sizeof *Y);
    free(Y2);
    free(Y);
    free(X);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
    lrmlp_dataset_free(other);
}
END_TEST

/* ---- whitening ----------------------------------------------------------- */

static void check_whiten(lrmlp_whiten_mode mode, int unit_sum)
{
    size_t n = 400, d = 5;
    double *X = correlated(n, d, 3 + (uint64_t)mode);
    lrmlp_dataset *ds = make_f64(X, n, d);
    lrmlp_whiten_options o;
    ck_assert_int_eq(lrmlp_whiten_options_init(&o, LRMLP_WHITEN_OPTIONS_VERSION), LRMLP_OK);
    o.mode = mode;
    o.unit_sum = unit_sum;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &o, NULL), LRMLP_OK);
    double *Y = batch64(ds);
    double S[25];
    for (size_t j = 0; j < d; j++) {
        double m, v;
        col_stats(Y, n, d, j, &m, &v);
        ck_assert_double_eq_tol(m, 0.0, 1e-9);
    }
    second_moment(Y, n, d, unit_sum ? 1.0 : (double)n, S);
    assert_identity(S, d, 1e-6);
    if (mode == LRMLP_WHITEN_ZCA && !unit_sum) {
        /* ZCA stays close to the (centered) input: positive correlation. */
        for (size_t j = 0; j < d; j++) {
            double m, v, c = 0.0;
            col_stats(X, n, d, j, &m, &v);
            for (size_t i = 0; i < n; i++)
                c += (X[i * d + j] - m) * Y[i * d + j];
            ck_assert_double_gt(c, 0.0);
        }
    }
    free(Y);
    free(X);
    lrmlp_dataset_free(ds);
}

START_TEST(test_whiten_pca) { check_whiten(LRMLP_WHITEN_PCA, 0); }
END_TEST
START_TEST(test_whiten_pca_unit_sum) { check_whiten(LRMLP_WHITEN_PCA, 1); }
END_TEST
START_TEST(test_whiten_zca) { check_whiten(LRMLP_WHITEN_ZCA, 0); }
END_TEST
START_TEST(test_whiten_zca_unit_sum) { check_whiten(LRMLP_WHITEN_ZCA, 1); }
END_TEST

START_TEST(test_whiten_zca_symmetric)
{
    /* Without centering, whitening the unit vectors e_j with X's transform
     * yields the rows of W^T; ZCA's W is symmetric, PCA's is not. */
    size_t n = 300, d = 4;
    double *X = correlated(n, d, 5);
    lrmlp_dataset *ref = make_f64(X, n, d);
    double I[16] = { 0 };
    for (size_t j = 0; j < d; j++)
        I[j * d + j] = 1.0;
    lrmlp_whiten_options o = LRMLP_WHITEN_OPTIONS_INIT;
    o.center = 0;
    for (int mode = 0; mode < 2; mode++) {
        o.mode = mode ? LRMLP_WHITEN_ZCA : LRMLP_WHITEN_PCA;
        lrmlp_dataset *e = make_f64(I, d, d);
        ck_assert_int_eq(lrmlp_dataset_whiten(e, &o, ref), LRMLP_OK);
        double *Wt = batch64(e);
        double asym = 0.0;
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++)
                asym = fmax(asym, fabs(Wt[a * d + b] - Wt[b * d + a]));
        if (mode)
            ck_assert_double_le(asym, 1e-12);
        else
            ck_assert_double_gt(asym, 1e-3);
        /* W (sum x x^T / n) W^T = I, from W alone. */
        double S[16], M[16];
        second_moment(X, n, d, (double)n, S);
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++) {
                double s = 0.0;
                for (size_t k = 0; k < d; k++)
                    for (size_t l = 0; l < d; l++)
                        s += Wt[k * d + a] * S[k * d + l] * Wt[l * d + b];
                M[a * d + b] = s;
            }
        assert_identity(M, d, 1e-8);
        free(Wt);
        lrmlp_dataset_free(e);
    }
    lrmlp_dataset_free(ref);
    free(X);
}
END_TEST

START_TEST(test_whiten_reference_f32)
{
    /* The test set whitened with the train set's statistics equals the train
     * set's own whitening on the same rows; f32 datasets stay f32. */
    size_t n = 600, d = 6;
    double *X = correlated(n, d, 9);
    float *Xf = malloc(n * d * sizeof *Xf);
    for (size_t i = 0; i < n * d; i++)
        Xf[i] = (float)X[i];
    lrmlp_dataset *train = NULL, *test = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&train, Xf, n, d, NULL, 0), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&test, Xf + 100 * d, 50, d, NULL, 0),
                     LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_standardize(train, LRMLP_STANDARDIZE_FEATURE, NULL),
                     LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_FEATURE, train),
                     LRMLP_OK);
    size_t mem = lrmlp_dataset_memory(test);
    ck_assert_int_eq(lrmlp_dataset_whiten(test, NULL, train), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_whiten(train, NULL, NULL), LRMLP_OK);
    ck_assert_uint_le(lrmlp_dataset_memory(test), mem);   /* f32, map dropped */
    double *A = batch64(train), *B = batch64(test);
    for (size_t i = 0; i < 50 * d; i++)
        ck_assert_double_eq_tol(B[i], A[100 * d + i], 1e-5);
    double S[36];
    second_moment(A, n, d, (double)n, S);
    assert_identity(S, d, 1e-4);
    free(A);
    free(B);
    free(X);
    free(Xf);
    lrmlp_dataset_free(train);
    lrmlp_dataset_free(test);
}
END_TEST

START_TEST(test_whiten_singular)
{
    size_t n = 50, d = 3;
    double *X = correlated(n, d, 13);
    for (size_t i = 0; i < n; i++)
        X[i * d + 2] = 2.0 * X[i * d + 0] - X[i * d + 1];   /* rank 2 */
    lrmlp_dataset *ds = make_f64(X, n, d);
    double *before = batch64(ds);
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, NULL, NULL), LRMLP_ERR_LINALG);
    ck_assert(strstr(lrmlp_last_errmsg(), "singular") != NULL);
    double *after = batch64(ds);
    ck_assert_mem_eq(before, after, n * d * sizeof *before);
    lrmlp_whiten_options o = LRMLP_WHITEN_OPTIONS_INIT;
    o.eps = -1.0;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &o, NULL), LRMLP_ERR_INVALID);
    o.eps = 0.0;
    o.version = 42;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &o, NULL), LRMLP_ERR_VERSION);
    ck_assert_int_eq(lrmlp_whiten_options_init(&o, 42), LRMLP_ERR_VERSION);
    o.version = LRMLP_WHITEN_OPTIONS_VERSION;
    o.mode = (lrmlp_whiten_mode)5;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &o, NULL), LRMLP_ERR_INVALID);
    lrmlp_dataset *other = make_f64(X, n, 2);
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, NULL, other), LRMLP_ERR_SHAPE);
    free(after);
    after = batch64(ds);
    ck_assert_mem_eq(before, after, n * d * sizeof *before);
    /* eps > 0 regularizes. */
    o.mode = LRMLP_WHITEN_ZCA;
    o.eps = 1e-3;
    ck_assert_int_eq(lrmlp_dataset_whiten(ds, &o, NULL), LRMLP_OK);
    /* Fewer samples than features: singular. */
    lrmlp_dataset *few = make_f64(X, 2, d);
    ck_assert_int_eq(lrmlp_dataset_whiten(few, NULL, NULL), LRMLP_ERR_LINALG);
    lrmlp_dataset_free(few);
    lrmlp_dataset_free(other);
    lrmlp_dataset_free(ds);
    free(before);
    free(after);
    free(X);
}
END_TEST

START_TEST(test_reference_order)
{
    /* Fitting the train set before or after transforming the test set with
     * it as reference gives the test set the same transform. */
    size_t n = 300, d = 4;
    double *X = correlated(n, d, 21);
    lrmlp_whiten_options o = LRMLP_WHITEN_OPTIONS_INIT;
    o.mode = LRMLP_WHITEN_PCA;
    o.unit_sum = 1;
    double *out[2];
    for (int order = 0; order < 2; order++) {
        lrmlp_dataset *train = make_f64(X, 250, d), *test = make_f64(X + 250 * d, 50, d);
        if (order == 0) {
            ck_assert_int_eq(lrmlp_dataset_standardize(train, LRMLP_STANDARDIZE_GLOBAL, NULL),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_GLOBAL, train),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_whiten(train, &o, NULL), LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_whiten(test, &o, train), LRMLP_OK);
        } else {
            ck_assert_int_eq(lrmlp_dataset_standardize(test, LRMLP_STANDARDIZE_GLOBAL, train),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_standardize(train, LRMLP_STANDARDIZE_GLOBAL, NULL),
                             LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_whiten(test, &o, train), LRMLP_OK);
            ck_assert_int_eq(lrmlp_dataset_whiten(train, &o, NULL), LRMLP_OK);
        }
        out[order] = batch64(test);
        /* A split part carries the remembered fit. */
        lrmlp_dataset *part = NULL, *test2 = make_f64(X + 250 * d, 50, d);
        ck_assert_int_eq(lrmlp_dataset_split(train, 100, &part, NULL), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize(test2, LRMLP_STANDARDIZE_GLOBAL, part),
                         LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_whiten(test2, &o, part), LRMLP_OK);
        double *t2 = batch64(test2);
        for (size_t i = 0; i < 50 * d; i++)
            ck_assert_double_eq_tol(t2[i], out[order][i], 1e-12);
        free(t2);
        lrmlp_dataset_free(part);
        lrmlp_dataset_free(test2);
        lrmlp_dataset_free(train);
        lrmlp_dataset_free(test);
    }
    for (size_t i = 0; i < 50 * d; i++)
        ck_assert_double_eq_tol(out[0][i], out[1][i], 1e-12);
    /* And the result is what the train set's statistics prescribe: for
     * unit_sum the test rows are O(1/sqrt(n)), not O(1). */
    double s = 0.0;
    for (size_t i = 0; i < 50 * d; i++)
        s += out[0][i] * out[0][i];
    ck_assert_double_lt(s, 5.0);
    ck_assert_double_gt(s, 0.01);
    free(out[0]);
    free(out[1]);
    free(X);
}
END_TEST

/* ---- shuffle, split, batch ----------------------------------------------- */

/* n samples: X row i = (i, -i, 0.5 i), label i % 4. */
static lrmlp_dataset *make_tagged(size_t n)
{
    double *X = malloc(n * 3 * sizeof *X);
    int32_t *l = malloc(n * sizeof *l);
    for (size_t i = 0; i < n; i++) {
        X[i * 3] = (double)i;
        X[i * 3 + 1] = -(double)i;
        X[i * 3 + 2] = 0.5 * (double)i;
        l[i] = (int32_t)(i % 4);
    }
    lrmlp_dataset *ds = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, n, 3, l, 4), LRMLP_OK);
    free(X);
    free(l);
    return ds;
}

static void order_of(const lrmlp_dataset *ds, size_t *ids)
{
    size_t n = lrmlp_dataset_size(ds);
    double *X = batch64(ds);
    int32_t *l = malloc(n * sizeof *l);
    ck_assert_int_eq(lrmlp_dataset_labels(ds, NULL, 0, n, l), LRMLP_OK);
    for (size_t i = 0; i < n; i++) {
        size_t id = (size_t)X[i * 3];
        ck_assert_double_eq(X[i * 3 + 1], -(double)id);
        ck_assert_double_eq(X[i * 3 + 2], 0.5 * (double)id);
        ck_assert_int_eq(l[i], (int32_t)(id % 4));   /* labels travel with rows */
        ids[i] = id;
    }
    free(l);
    free(X);
}

START_TEST(test_shuffle)
{
    size_t n = 257;
    lrmlp_dataset *a = make_tagged(n), *b = make_tagged(n), *c = make_tagged(n);
    ck_assert_int_eq(lrmlp_dataset_shuffle(a, 42), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_shuffle(b, 42), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_shuffle(c, 43), LRMLP_OK);
    size_t ia[257], ib[257], ic[257];
    order_of(a, ia);
    order_of(b, ib);
    order_of(c, ic);
    unsigned char seen[257] = { 0 };
    size_t fixed = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(ia[i], n);
        ck_assert_uint_eq(seen[ia[i]], 0);
        seen[ia[i]] = 1;
        ck_assert_uint_eq(ia[i], ib[i]);
        fixed += ia[i] == i;
        diff += ia[i] != ic[i];
    }
    ck_assert_uint_lt(fixed, 20);   /* it did move things */
    ck_assert_uint_gt(diff, 200);
    lrmlp_dataset_free(a);
    lrmlp_dataset_free(b);
    lrmlp_dataset_free(c);

    /* The order is part of the contract (the same on every platform):
     * Fisher-Yates over xoshiro256** seeded by SplitMix64, checked against
     * an independent implementation. */
    static const size_t golden42[10] = { 9, 1, 4, 2, 8, 7, 6, 5, 3, 0 };
    static const size_t golden7[10] = { 1, 8, 3, 0, 4, 5, 9, 6, 2, 7 };
    size_t g[10];
    a = make_tagged(10);
    ck_assert_int_eq(lrmlp_dataset_shuffle(a, 42), LRMLP_OK);
    order_of(a, g);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(g[i], golden42[i]);
    lrmlp_dataset_free(a);
    a = make_tagged(10);
    ck_assert_int_eq(lrmlp_dataset_shuffle(a, 7), LRMLP_OK);
    order_of(a, g);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(g[i], golden7[i]);
    lrmlp_dataset_free(a);

    /* Regression targets and u8 features travel too. */
    float X[4] = { 0, 1, 2, 3 }, T[8];
    for (int i = 0; i < 4; i++)
        T[2 * i] = T[2 * i + 1] = (float)(10 * i);
    ck_assert_int_eq(lrmlp_dataset_from_targets_f32(&a, X, 4, 1, T, 2), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_shuffle(a, 1), LRMLP_OK);
    float Y[4], U[8];
    ck_assert_int_eq(lrmlp_dataset_batch_f32(a, NULL, 0, 4, Y, U), LRMLP_OK);
    float sum = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(U[2 * i], 10 * Y[i]);
        ck_assert_float_eq(U[2 * i + 1], 10 * Y[i]);
        sum += Y[i];
    }
    ck_assert_float_eq(sum, 6.0f);
    lrmlp_dataset_free(a);
    ck_assert_int_eq(lrmlp_dataset_shuffle(NULL, 1), LRMLP_ERR_INVALID);
}
END_TEST

START_TEST(test_split)
{
    size_t n = 10;
    lrmlp_dataset *ds = make_tagged(n), *a = NULL, *b = NULL;
    ck_assert_int_eq(lrmlp_dataset_standardize(ds, LRMLP_STANDARDIZE_FEATURE, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_split(ds, 3, &a, &b), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(a), 3);
    ck_assert_uint_eq(lrmlp_dataset_size(b), 7);
    ck_assert_uint_eq(lrmlp_dataset_n_classes(b), 4);
    double *P = batch64(ds), *A = batch64(a), *B = batch64(b);
    ck_assert_mem_eq(A, P, 3 * 3 * sizeof *P);        /* transforms kept */
    ck_assert_mem_eq(B, P + 9, 7 * 3 * sizeof *P);
    int32_t l[7];
    ck_assert_int_eq(lrmlp_dataset_labels(b, NULL, 0, 7, l), LRMLP_OK);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(l[i], (3 + i) % 4);
    /* Deep copies: shuffling a part leaves the parent alone. */
    ck_assert_int_eq(lrmlp_dataset_shuffle(b, 5), LRMLP_OK);
    lrmlp_dataset_free(a);
    lrmlp_dataset_free(b);
    double *P2 = batch64(ds);
    ck_assert_mem_eq(P, P2, n * 3 * sizeof *P);
    /* One side only; bad sizes. */
    ck_assert_int_eq(lrmlp_dataset_split(ds, 10, &a, NULL), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(a), 10);
    lrmlp_dataset_free(a);
    ck_assert_int_eq(lrmlp_dataset_split(ds, 11, &a, &b), LRMLP_ERR_INVALID);
    ck_assert_ptr_null(a);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(lrmlp_dataset_split(ds, 0, &a, &b), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_split(ds, 10, &a, &b), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_split(ds, 0, NULL, &b), LRMLP_OK);
    ck_assert_uint_eq(lrmlp_dataset_size(b), 10);
    lrmlp_dataset_free(b);
    free(P);
    free(P2);
    free(A);
    free(B);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_batch)
{
    size_t n = 20;
    lrmlp_dataset *ds = make_tagged(n);
    size_t idx[4] = { 7, 2, 19, 7 };
    float X[12], T[16], R[12], RT[16];
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, idx, 0, 4, X, T), LRMLP_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(X[i * 3], (float)idx[i]);
        ck_assert_float_eq(X[i * 3 + 1], -(float)idx[i]);
        for (int c = 0; c < 4; c++)
            ck_assert_float_eq(T[i * 4 + c], (size_t)c == idx[i] % 4 ? 1.0f : 0.0f);
    }
    /* A range equals the same indices listed. */
    size_t seq[4] = { 5, 6, 7, 8 };
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 5, 4, R, RT), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, seq, 999, 4, X, T), LRMLP_OK);
    ck_assert_mem_eq(X, R, sizeof X);
    ck_assert_mem_eq(T, RT, sizeof T);
    /* T may be NULL; count 0 is a no-op. */
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, 4, X, NULL), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 20, 0, NULL, NULL), LRMLP_OK);
    /* Out of range: an error naming the index, nothing written. */
    size_t badidx[3] = { 1, 20, 2 };
    for (int i = 0; i < 12; i++)
        X[i] = -99.0f;
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, badidx, 0, 3, X, T), LRMLP_ERR_INVALID);
    ck_assert(strstr(lrmlp_last_errmsg(), "idx[1] = 20") != NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(X[i], -99.0f);
    double Xd[12];
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 18, 3, Xd, NULL), LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, SIZE_MAX, 2, Xd, NULL),
                     LRMLP_ERR_INVALID);
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, 2, NULL, NULL), LRMLP_ERR_INVALID);
    int32_t l[3];
    ck_assert_int_eq(lrmlp_dataset_labels(ds, badidx, 0, 3, l), LRMLP_ERR_INVALID);
    /* Still usable. */
    ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 17, 3, Xd, NULL), LRMLP_OK);
    ck_assert_double_eq(Xd[6], 19.0);
    ck_assert_int_eq(lrmlp_dataset_labels(ds, idx, 0, 3, l), LRMLP_OK);
    ck_assert_int_eq(l[2], 3);
    lrmlp_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_odd_dims)
{
    /* d not a multiple of the kernels' width, with and without a map,
     * f32 and f64 stored, f32 and f64 out. */
    size_t n = 7, d = 13;
    double *X = correlated(n, d, 17);
    float *Xf = malloc(n * d * sizeof *Xf);
    for (size_t i = 0; i < n * d; i++)
        Xf[i] = (float)X[i];
    lrmlp_dataset *a = make_f64(X, n, d), *b = NULL;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&b, Xf, n, d, NULL, 0), LRMLP_OK);
    for (int pass = 0; pass < 2; pass++) {
        double *A = batch64(a), *B = batch64(b);
        float F[7 * 13], G[7 * 13];
        ck_assert_int_eq(lrmlp_dataset_batch_f32(a, NULL, 0, n, F, NULL), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_batch_f32(b, NULL, 0, n, G, NULL), LRMLP_OK);
        for (size_t i = 0; i < n * d; i++) {
            double ref = pass ? A[i] : X[i];
            ck_assert_double_eq_tol(A[i], ref, 1e-12);
            ck_assert_double_eq_tol(B[i], ref, 1e-5 * (1 + fabs(ref)));
            ck_assert_double_eq_tol(F[i], ref, 1e-5 * (1 + fabs(ref)));
            ck_assert_double_eq_tol(G[i], ref, 1e-5 * (1 + fabs(ref)));
        }
        free(A);
        free(B);
        /* b (f32) with a's statistics first, then a itself: same map. */
        ck_assert_int_eq(lrmlp_dataset_standardize(b, LRMLP_STANDARDIZE_FEATURE, a),
                         LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize(a, LRMLP_STANDARDIZE_FEATURE, NULL),
                         LRMLP_OK);
    }
    free(X);
    free(Xf);
    lrmlp_dataset_free(a);
    lrmlp_dataset_free(b);
}
END_TEST

/* Statistics beyond the float range: float64 features near 1e200 (whose
 * squares overflow) standardize exactly like small ones, in both modes; a
 * float32 feature whose std is below 1/FLT_MAX cannot be standardized in
 * float32: an error naming it, and the dataset unchanged. */
START_TEST(test_standardize_extreme)
{
    enum { NS = 8 };
    double X[NS * 2];
    int32_t lab[NS] = {0};
    for (int i = 0; i < NS; i++) {
        X[2 * i] = (i % 2 ? 3e200 : -1e200) + 5e199 * i; /* feature 0: huge */
        X[2 * i + 1] = (double)i;                         /* feature 1: tame */
    }
    for (int mode = 0; mode < 2; mode++) {
        lrmlp_dataset *ds;
        ck_assert_int_eq(lrmlp_dataset_from_labels_f64(&ds, X, NS, 2, lab, 1), LRMLP_OK);
        ck_assert_int_eq(lrmlp_dataset_standardize(ds, (lrmlp_standardize_mode)mode, NULL),
                         LRMLP_OK);
        double Y[NS * 2];
        ck_assert_int_eq(lrmlp_dataset_batch_f64(ds, NULL, 0, NS, Y, NULL), LRMLP_OK);
        /* independent: statistics of X / 1e200 in plain double */
        for (int j = 0; j < 2; j++) {
            if (mode == LRMLP_STANDARDIZE_GLOBAL && j == 1)
                continue; /* the pooled std is dominated by feature 0 */
            double mu = 0, var = 0, sc = mode == LRMLP_STANDARDIZE_GLOBAL || j == 0 ? 1e200 : 1;
            size_t cnt = 0;
            for (int i = 0; i < NS; i++)
                for (int jj = 0; jj < 2; jj++)
                    if (mode == LRMLP_STANDARDIZE_GLOBAL || jj == j) {
                        mu += X[2 * i + jj] / sc;
                        cnt++;
                    }
            mu /= (double)cnt;
            for (int i = 0; i < NS; i++)
                for (int jj = 0; jj < 2; jj++)
                    if (mode == LRMLP_STANDARDIZE_GLOBAL || jj == j)
                        var += (X[2 * i + jj] / sc - mu) * (X[2 * i + jj] / sc - mu);
            double sd = sqrt(var / (double)cnt);
            for (int i = 0; i < NS; i++) {
                double want = (X[2 * i + j] / sc - mu) / sd;
                ck_assert_msg(fabs(Y[2 * i + j] - want) < 1e-12 * (1 + fabs(want)),
                              "mode %d feature %d sample %d: %g, want %g", mode, j, i,
                              Y[2 * i + j], want);
            }
        }
        lrmlp_dataset_free(ds);
    }
    /* float32: feature 1 spread over 1e-39 (subnormal floats) */
    float Xf[NS * 2], B0[NS * 2], B1[NS * 2];
    for (int i = 0; i < NS; i++) {
        Xf[2 * i] = (float)i;
        Xf[2 * i + 1] = (float)(1e-40 * (i % 2));
    }
    lrmlp_dataset *ds;
    ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, Xf, NS, 2, lab, 1), LRMLP_OK);
    ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, NS, B0, NULL), LRMLP_OK);
    for (int mode = 0; mode < 2; mode++) {
        int rc = lrmlp_dataset_standardize(ds, (lrmlp_standardize_mode)mode, NULL);
        if (mode == LRMLP_STANDARDIZE_GLOBAL) { /* pooled std ~ 1: fine */
            ck_assert_int_eq(rc, LRMLP_OK);
            lrmlp_dataset_free(ds);
            ck_assert_int_eq(lrmlp_dataset_from_labels_f32(&ds, Xf, NS, 2, lab, 1), LRMLP_OK);
            continue;
        }
        ck_assert_int_eq(rc, LRMLP_ERR_NONFINITE);
        ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "feature 1"));
        ck_assert_int_eq(lrmlp_dataset_batch_f32(ds, NULL, 0, NS, B1, NULL), LRMLP_OK);
        ck_assert_int_eq(memcmp(B0, B1, sizeof B0), 0);
    }
    lrmlp_dataset_free(ds);
}
END_TEST

/* The CSV reader checks the text as it arrives: /dev/zero (NUL bytes) and a
 * line that never ends fail at once instead of being read whole. */
START_TEST(test_csv_not_text)
{
    lrmlp_dataset *ds = (lrmlp_dataset *)&ds;
    ck_assert_int_eq(lrmlp_dataset_load_csv(&ds, "/dev/zero", NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "NUL"));
    size_t n = (size_t)LRMLP_CSV_MAX_LINE + 10;
    char *long_line = malloc(n);
    memset(long_line, '1', n);
    memcpy(long_line, "0,", 2);
    const char *p = tu_tmp_path("long.csv");
    ck_assert_int_eq(tu_write_file(p, long_line, n), 0);
    ck_assert_int_eq(lrmlp_dataset_load_csv(&ds, p, NULL), LRMLP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(lrmlp_last_errmsg(), "longer"));
    unlink(p);
    free(long_line);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *idx = tcase_create("idx");
    tcase_set_timeout(idx, 60);
    tcase_add_test(idx, test_idx_plain);
    tcase_add_test(idx, test_idx_gzip);
    tcase_add_test(idx, test_idx_truncated);
    tcase_add_test(idx, test_idx_bad_magic);
    tcase_add_test(idx, test_idx_oversized);
    tcase_add_test(idx, test_idx_count_mismatch);
    tcase_add_test(idx, test_idx_fashion_mnist);
    suite_add_tcase(s, idx);

    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, test_csv_good);
    tcase_add_test(csv, test_csv_numbers);
    tcase_add_test(csv, test_csv_header);
    tcase_add_test(csv, test_csv_bad);
    tcase_add_test(csv, test_csv_not_text);
    tcase_add_test(csv, test_csv_regression);
    suite_add_tcase(s, csv);

    TCase *mem = tcase_create("memory");
    tcase_add_test(mem, test_from_memory);
    suite_add_tcase(s, mem);

    TCase *tr = tcase_create("transforms");
    tcase_add_test(tr, test_standardize_feature);
    tcase_add_test(tr, test_standardize_global_idx);
    tcase_add_test(tr, test_standardize_reference);
    tcase_add_test(tr, test_standardize_extreme);
    tcase_add_test(tr, test_whiten_pca);
    tcase_add_test(tr, test_whiten_pca_unit_sum);
    tcase_add_test(tr, test_whiten_zca);
    tcase_add_test(tr, test_whiten_zca_unit_sum);
    tcase_add_test(tr, test_whiten_zca_symmetric);
    tcase_add_test(tr, test_whiten_reference_f32);
    tcase_add_test(tr, test_whiten_singular);
    tcase_add_test(tr, test_reference_order);
    suite_add_tcase(s, tr);

    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, test_shuffle);
    tcase_add_test(ops, test_split);
    tcase_add_test(ops, test_batch);
    tcase_add_test(ops, test_batch_odd_dims);
    suite_add_tcase(s, ops);
    return tu_run_suite(s);
}
