/* liblrmlp: model files.
 *
 * A model file holds a network (architecture, parameters, generator state,
 * frozen flags, epoch count) and optionally an optimizer (options, state,
 * step count), so that training resumes exactly. The format is versioned,
 * little-endian on every platform, independent of locale and size_t width,
 * made of checksummed sections; docs/format.md describes it. Readers accept
 * every earlier format version.
 *
 * Saving to a path writes a temporary file in the target's directory,
 * flushes it to disk and renames it over the target, so a crash leaves
 * either the old file or the new one, never half of one. The policy:
 * - a symbolic link is followed (through chains) and its final target is
 *   replaced; the link stays a link. A dangling link is LRMLP_ERR_IO;
 * - an existing target that is not a regular file (a directory, a device
 *   node, a FIFO, a socket) is not replaced: LRMLP_ERR_IO;
 * - the file is written unnamed (Linux O_TMPFILE) and named only once it
 *   is complete and synced, as .lrmlp-XXXXXX beside the target for the
 *   instant before the rename, so a crash or kill leaves no temporary file.
 *   Where O_TMPFILE is not supported (other systems, some file systems) the
 *   file is created as .lrmlp-XXXXXX from the start and a crash can leave
 *   it behind: such files are never removed by the library (it cannot tell
 *   them from another process's save in progress) and may be deleted when
 *   no save is running. The short name works for any basename length;
 * - the new file keeps the permission bits of the file it replaces, or
 *   gets 0644; failing to set them is LRMLP_ERR_IO (nothing is replaced).
 *
 * Threads: saving reads the handles (no other thread may modify them);
 * loading creates new handles and is safe to call from several threads. */
#ifndef LRMLP_MODEL_H
#define LRMLP_MODEL_H

#include "common.h"
#include "net.h"
#include "optim.h"
#include "subspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes net (and opt, when not NULL; it must have been created for net's
 * shape) to path atomically. Errors go to net's message. */
LRMLP_API int lrmlp_model_save(const lrmlp_net *net, const lrmlp_optim *opt, const char *path);

/* Same bytes into a new buffer: *buf (free with lrmlp_free) of *len bytes. */
LRMLP_API int lrmlp_model_save_mem(const lrmlp_net *net, const lrmlp_optim *opt,
                                   void **buf, size_t *len);

/* Reads a model file. *net receives a new network. When opt is not NULL,
 * *opt receives a new optimizer if the file holds one, else NULL. On error
 * nothing is allocated, the out pointers are NULL and lrmlp_last_errmsg()
 * says what is wrong: LRMLP_ERR_IO (cannot read), LRMLP_ERR_FORMAT
 * (truncated or malformed), LRMLP_ERR_CHECKSUM (corrupted),
 * LRMLP_ERR_VERSION (written by a newer, incompatible library). The header
 * and section table are read and checked first, the rest only as far as
 * the table says (docs/format.md): a stream that is not a model file fails
 * after its first 16 bytes. */
LRMLP_API int lrmlp_model_load(const char *path, lrmlp_net **net, lrmlp_optim **opt);
LRMLP_API int lrmlp_model_load_mem(const void *buf, size_t len, lrmlp_net **net,
                                   lrmlp_optim **opt);

/* Saving with a subspace estimate (lrmlp_subspace_estimate_*): the same file
 * plus an optional SUBS section holding its bases, singular values and
 * vectors, so an analysis can be resumed or shared. sub must not be NULL.
 * Readers that do not know SUBS still load the network. */
LRMLP_API int lrmlp_model_save_subspace(const lrmlp_net *net, const lrmlp_optim *opt,
                                        const lrmlp_subspace *sub, const char *path);
LRMLP_API int lrmlp_model_save_subspace_mem(const lrmlp_net *net, const lrmlp_optim *opt,
                                            const lrmlp_subspace *sub, void **buf, size_t *len);

/* Reads the subspace estimate stored in a model file: *sub receives a new
 * handle (free with lrmlp_subspace_free), or NULL with LRMLP_OK when the
 * file holds none. The whole file is validated as by lrmlp_model_load; the
 * estimate's bases are bit-identical to the saved ones. Errors as
 * lrmlp_model_load, through lrmlp_last_errmsg(). Thread-safe. */
LRMLP_API int lrmlp_model_load_subspace(const char *path, lrmlp_subspace **sub);
LRMLP_API int lrmlp_model_load_subspace_mem(const void *buf, size_t len, lrmlp_subspace **sub);

#ifdef __cplusplus
}
#endif
#endif
