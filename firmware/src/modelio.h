/* Model files over the link: the upload's bookkeeping (LOAD_BEGIN / LOAD_CHUNK / LOAD_END: the
 * announced size, chunk offsets, re-sent chunks) around the engine's incremental loader, which
 * writes each chunk straight into the network (no copy of the file is ever held: a 784-100-10
 * model and its network do not both fit in 128 KB), and the reader of the live network's file. */
#ifndef FW_MODELIO_H
#define FW_MODELIO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t total;     /* announced file size */
    uint32_t pos;       /* bytes received so far */
    uint8_t loading;    /* an upload is in progress */
    uint8_t loaded;     /* a complete, valid model is live */
} FwModel;

typedef struct {
    uint32_t code;      /* 0 or an FW_ERR_* code */
    uint32_t value;     /* detail value of the error */
    const char *why;    /* message */
} FwStatus;

void fw_model_init(FwModel *m, void *arena, size_t arena_bytes);
/* The FwStatus of a refusal changes nothing, except where said: a file certain to be refused
 * ends its upload (`loading` drops to 0). */

/* Start an upload of `total` bytes: the live model (or the upload in progress) is dropped; a size
 * that no model file can have, or that cannot fit the arena, is refused and drops nothing. */
FwStatus fw_model_begin(FwModel *m, uint32_t total);
/* Append bytes at `offset` (== bytes received; earlier, already received spans are accepted and
 * ignored). *next is set to the next expected offset. */
FwStatus fw_model_chunk(FwModel *m, uint32_t offset, const uint8_t *data, uint32_t n,
                        uint32_t *next);
/* Finish: the whole file arrived and the engine accepted it; the model becomes live. */
FwStatus fw_model_end(FwModel *m);
/* The largest model file an upload may announce (LOAD_BEGIN refuses bigger ones). */
uint32_t fw_model_max_bytes(const FwModel *m);

#endif
