/* liblrmlp: weight interop with NumPy (.npz) and PyTorch (safetensors).
 *
 * A network's weights are exchanged in the naming of a PyTorch nn.Sequential
 * of nn.Linear layers and activation modules, as its state_dict() names
 * them: "<i>.weight" (out x in, row-major, the layout of net.h) and
 * "<i>.bias" (out), where i is the module's index in the Sequential. The
 * activation modules hold no tensors, so they show as gaps in the indices:
 *
 *     nn.Sequential(Linear, Tanh, Linear, Tanh, Linear)  ->  0, 2, 4
 *
 * Two containers are read and written (docs/interop.md specifies both):
 *
 *   .npz          a zip archive of .npy arrays, as np.savez (stored entries)
 *                 and np.savez_compressed (deflated entries) write it;
 *   .safetensors  an 8-byte little-endian header length, a JSON header
 *                 giving each tensor's dtype, shape and data_offsets, and
 *                 the raw little-endian data.
 *
 * Tensors are F32 or F64 (float32/float64). F16, BF16 and integer tensors
 * are refused with LRMLP_ERR_UNSUPPORTED.
 *
 * Activations are not tensors. The exporter records them (with the library
 * version and any low-rank structure) as string metadata: safetensors'
 * "__metadata__" map, or in an .npz an extra array "__lrmlp__" holding the
 * same map as a JSON object in uint8 bytes. On import they come from that
 * metadata, or from the caller (lrmlp_import_options.activations).
 *
 * A low-rank network (lowrank.h) is exported as its chain of plain layers
 * V^T, A_1, ..., U, W_L, which an nn.Sequential of Linear layers computes
 * exactly; importing the file with its metadata gives back a low-rank
 * network (lrmlp_lowrank_rank() > 0).
 *
 * Every file is checked before a network is made: container structure,
 * header size (at most LRMLP_IMPORT_MAX_HEADER bytes and inside the file),
 * tensor names, index pattern, dtypes, shapes and their chaining, data
 * offsets (inside the data, not overlapping, without holes) and data sizes.
 * NaN or infinite weights are refused (LRMLP_ERR_NONFINITE), as
 * lrmlp_net_set_weights_* refuses them.
 *
 * These functions need a library built with the "interop" feature (libzip
 * and jansson); lrmlp_interop_available() says whether it was. Without it
 * they exist, check their arguments and return LRMLP_ERR_UNSUPPORTED.
 *
 * Errors: LRMLP_OK or a negative status with a message in
 * lrmlp_last_errmsg() (common.h). Threads: importing creates a new handle
 * and is safe from several threads at once; exporting reads the network
 * (no other thread may modify it). Nothing here changes a process-wide
 * setting. */
#ifndef LRMLP_INTEROP_H
#define LRMLP_INTEROP_H

#include "common.h"
#include "activation.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest safetensors JSON header or .npy header accepted, in bytes. */
#define LRMLP_IMPORT_MAX_HEADER ((size_t)100 * 1000 * 1000)

typedef enum lrmlp_weights_format {
    LRMLP_WEIGHTS_AUTO = 0,        /* import: from the content; export: from the
                                      path's extension (.npz, .safetensors) */
    LRMLP_WEIGHTS_NPZ = 1,
    LRMLP_WEIGHTS_SAFETENSORS = 2
} lrmlp_weights_format;

/* Where an import takes the activations from. */
typedef enum lrmlp_import_acts {
    LRMLP_IMPORT_ACTS_METADATA = 0, /* the file's metadata; LRMLP_ERR_INVALID when it has none */
    LRMLP_IMPORT_ACTS_GIVEN = 1,    /* the options' activations; metadata ignored */
    LRMLP_IMPORT_ACTS_METADATA_OR_GIVEN = 2 /* metadata when present, else the options' */
} lrmlp_import_acts;

#define LRMLP_IMPORT_OPTIONS_VERSION 1

/* Import options. Initialize with LRMLP_IMPORT_OPTIONS_INIT or
 * lrmlp_import_options_init(). With given activations the output layer gets
 * output_activation, and the hidden layers get hidden_activation according
 * to the index pattern: when the indices are contiguous (0, 1, 2, ...) every
 * hidden layer; otherwise each layer followed by a gap of one index (the
 * activation module), and the layers followed directly by the next Linear
 * get the identity. Gaps of more than one module are refused. */
typedef struct lrmlp_import_options {
    unsigned int version;               /* LRMLP_IMPORT_OPTIONS_VERSION */
    lrmlp_weights_format format;        /* default AUTO (detected from the content) */
    lrmlp_dtype dtype;                  /* 0 (default): the file's, which must be one
                                           dtype; LRMLP_F32/F64: converted to it */
    lrmlp_import_acts activations;      /* default LRMLP_IMPORT_ACTS_METADATA */
    lrmlp_activation hidden_activation; /* default LRMLP_ACT_TANH */
    lrmlp_activation output_activation; /* default LRMLP_ACT_IDENTITY */
    const char *prefix;                 /* tensor names start with it (e.g. "net."
                                           for a Sequential held as self.net);
                                           NULL (default) = "" */
    uint64_t seed;                      /* the new network's generator seed, default 1 */
} lrmlp_import_options;

#define LRMLP_IMPORT_OPTIONS_INIT \
    { LRMLP_IMPORT_OPTIONS_VERSION, LRMLP_WEIGHTS_AUTO, (lrmlp_dtype)0, \
      LRMLP_IMPORT_ACTS_METADATA, LRMLP_ACT_TANH, LRMLP_ACT_IDENTITY, NULL, 1u }

#define LRMLP_EXPORT_OPTIONS_VERSION 1

/* Export options. Initialize with LRMLP_EXPORT_OPTIONS_INIT or
 * lrmlp_export_options_init(). */
typedef struct lrmlp_export_options {
    unsigned int version;          /* LRMLP_EXPORT_OPTIONS_VERSION */
    lrmlp_weights_format format;   /* default AUTO (from the path; required for _mem) */
    lrmlp_dtype dtype;             /* 0 (default): the network's; else converted */
    int compress;                  /* .npz: deflate entries as np.savez_compressed
                                      (default 0: stored, as np.savez) */
    int contiguous_names;          /* nonzero: layer l is named l (0, 1, 2, ...);
                                      default 0: nn.Sequential indices, one
                                      module after every layer whose activation
                                      is not the identity */
    int metadata;                  /* nonzero (default 1): write the activations
                                      and low-rank structure as metadata */
    const char *prefix;            /* put before every name; NULL (default) = "" */
} lrmlp_export_options;

#define LRMLP_EXPORT_OPTIONS_INIT \
    { LRMLP_EXPORT_OPTIONS_VERSION, LRMLP_WEIGHTS_AUTO, (lrmlp_dtype)0, 0, 0, 1, NULL }

/* Fill opts with defaults; LRMLP_ERR_VERSION for an unknown version.
 * Thread-safe. */
LRMLP_API int lrmlp_import_options_init(lrmlp_import_options *opts, unsigned int version);
LRMLP_API int lrmlp_export_options_init(lrmlp_export_options *opts, unsigned int version);

/* 1 when this library was built with the interop feature, else 0. Thread-safe. */
LRMLP_API int lrmlp_interop_available(void);

/* The format a path's extension names (".npz", ".safetensors", case-
 * insensitive) in *out; LRMLP_ERR_INVALID for any other path. Thread-safe. */
LRMLP_API int lrmlp_weights_format_from_path(const char *path, lrmlp_weights_format *out);

/* Reads a network from an .npz or safetensors file (path) or buffer (buf,
 * len; not retained). opts may be NULL for the defaults. On success *out
 * owns a new network (free with lrmlp_net_free) with biases when the file
 * has them, parameters equal to the file's (rounded when converted to
 * float32), not frozen, epoch count 0. On error *out is NULL and the status
 * says why: LRMLP_ERR_IO (cannot read the file, or path is not a regular
 * file: read a stream into memory and use _mem), LRMLP_ERR_FORMAT (not a
 * zip/npy/safetensors file, truncated, malformed header, bad names or
 * index pattern, missing or extra tensors, bad data offsets),
 * LRMLP_ERR_SHAPE (tensor shapes that do not chain), LRMLP_ERR_DTYPE (mixed
 * dtypes without opts->dtype), LRMLP_ERR_UNSUPPORTED (F16, BF16 or integer
 * tensors; a library without interop), LRMLP_ERR_NONFINITE (NaN or Inf
 * weights), LRMLP_ERR_INVALID (bad options; activations asked from
 * metadata the file lacks). */
LRMLP_API int lrmlp_weights_import(lrmlp_net **out, const char *path,
                                   const lrmlp_import_options *opts);
LRMLP_API int lrmlp_weights_import_mem(lrmlp_net **out, const void *buf, size_t len,
                                       const lrmlp_import_options *opts);

/* Writes net's weights and biases (gradients, optimizer state, frozen flags
 * and the generator are not part of these formats; use model.h for them).
 * To a path the file is written atomically as by lrmlp_model_save; to
 * memory *buf (free with lrmlp_free) receives *len bytes, and opts->format
 * must be NPZ or SAFETENSORS. opts may be NULL for the defaults (then a
 * path needs a known extension). The output is deterministic: the same
 * network and options give the same bytes. Errors: LRMLP_ERR_INVALID (bad
 * arguments, unknown extension), LRMLP_ERR_IO, LRMLP_ERR_NOMEM,
 * LRMLP_ERR_NONFINITE (a float64 weight overflows float32),
 * LRMLP_ERR_UNSUPPORTED (library without interop). */
LRMLP_API int lrmlp_weights_export(const lrmlp_net *net, const char *path,
                                   const lrmlp_export_options *opts);
LRMLP_API int lrmlp_weights_export_mem(const lrmlp_net *net, void **buf, size_t *len,
                                       const lrmlp_export_options *opts);

#ifdef __cplusplus
}
#endif
#endif
