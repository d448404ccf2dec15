/* Weight interop internals (interop.c, interop_npz.c, interop_safetensors.c).
 *
 * The containers are read into and written from a tensor set: named tensors
 * whose bytes are in the file's own order, plus the string metadata map.
 * interop.c turns a set into a network (all the naming, shape and dtype
 * rules) and a network into a set; the container files only parse and
 * write bytes. Not installed. */
#ifndef LRMLP_INTEROP_IMPL_H
#define LRMLP_INTEROP_IMPL_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* Element kinds. Every other dtype is LRMLP__T_OTHER, kept with its name
 * for the error message (F16 and BF16 are refused by name). */
enum { LRMLP__T_OTHER = 0, LRMLP__T_F32 = 1, LRMLP__T_F64 = 2, LRMLP__T_U8 = 3 };

#define LRMLP__T_MAXDIM 8

typedef struct lrmlp__tensor {
    char *name;                       /* owned, NUL-terminated */
    int kind;                         /* LRMLP__T_* */
    char dtype[16];                   /* the file's dtype text, for messages */
    size_t ndim;
    uint64_t shape[LRMLP__T_MAXDIM];
    const uint8_t *data;              /* nbytes bytes (in the input buffer or owned) */
    size_t nbytes;
    int big_endian;                   /* .npy '>' arrays */
    int fortran;                      /* .npy fortran_order (column-major) */
} lrmlp__tensor;

typedef struct lrmlp__tset {
    lrmlp__tensor *t;
    size_t n, cap;
    void **owned;                     /* buffers freed with the set */
    size_t n_owned, cap_owned;
    char **meta;                      /* key, value, key, value, ... (owned) */
    size_t n_meta;                    /* number of pairs */
    int has_meta;                     /* the file carried lrmlp metadata */
} lrmlp__tset;

/* Name of the .npz entry (without ".npy") holding the metadata JSON. */
#define LRMLP__NPZ_META "__lrmlp__"

LRMLP_INTERNAL void lrmlp__tset_free(lrmlp__tset *ts);
/* Appends a tensor named name (copied); returns it zeroed but for the name,
 * or NULL after recording LRMLP_ERR_NOMEM. */
LRMLP_INTERNAL lrmlp__tensor *lrmlp__tset_add(lrmlp__tset *ts, const char *name, size_t name_len);
/* Hands buffer p to the set (freed with it); frees p and fails on NOMEM. */
LRMLP_INTERNAL int lrmlp__tset_own(lrmlp__tset *ts, void *p);
/* Appends a metadata pair (both copied). */
LRMLP_INTERNAL int lrmlp__tset_meta_add(lrmlp__tset *ts, const char *key, const char *val);
/* Value of a metadata key, or NULL. */
LRMLP_INTERNAL const char *lrmlp__tset_meta_get(const lrmlp__tset *ts, const char *key);
/* Element size of a kind (0 for OTHER). */
LRMLP_INTERNAL size_t lrmlp__tkind_size(int kind);
/* Checks that shape's element count times the element size is nbytes
 * (overflow-checked); the message names the tensor. */
LRMLP_INTERNAL int lrmlp__tensor_check_size(const lrmlp__tensor *t, const char *what);

/* Containers. Readers fill ts (tensor data may point into buf, which must
 * outlive ts) and report LRMLP_ERR_FORMAT / LRMLP_ERR_UNSUPPORTED / NOMEM
 * with a message; writers produce a new malloc'd buffer. */
LRMLP_INTERNAL int lrmlp__npz_read(const uint8_t *buf, size_t len, lrmlp__tset *ts);
LRMLP_INTERNAL int lrmlp__npz_write(const lrmlp__tset *ts, int compress, uint8_t **out,
                                   size_t *out_len);
LRMLP_INTERNAL int lrmlp__safetensors_read(const uint8_t *buf, size_t len, lrmlp__tset *ts);
LRMLP_INTERNAL int lrmlp__safetensors_write(const lrmlp__tset *ts, uint8_t **out,
                                           size_t *out_len);

/* The metadata map as a JSON object (the .npz metadata entry): encode to a
 * new malloc'd string, decode into ts (string values only). */
LRMLP_INTERNAL int lrmlp__meta_to_json(const lrmlp__tset *ts, char **out, size_t *out_len);
LRMLP_INTERNAL int lrmlp__meta_from_json(const uint8_t *p, size_t len, lrmlp__tset *ts);

#endif
