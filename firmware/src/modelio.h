/* Model files over the link: a streaming loader that writes an uploaded model file straight into
 * the engine's network (no copy of the file is ever held: a 784-100-10 model and its network do
 * not both fit in 128 KB), and a reader that regenerates the model file of the live network. */
#ifndef FW_MODELIO_H
#define FW_MODELIO_H

#include <stddef.h>
#include <stdint.h>

#include "fw_engine.h"

#define FW_MODEL_HEADER_BYTES 24u
#define FW_MAX_CONFIG_WORDS 128u

typedef struct {
    uint8_t head[FW_MODEL_HEADER_BYTES + 4u * FW_MAX_CONFIG_WORDS]; /* header + config */
    uint32_t head_len;  /* bytes of head in use (known once the first 24 bytes are in) */
    uint32_t total;     /* declared file size */
    uint32_t pos;       /* bytes received so far */
    uint32_t crc;       /* CRC-32 of bytes [0, pos) below total - 4 */
    uint32_t file_crc;  /* CRC bytes collected at the end */
    uint8_t loading;    /* an upload is in progress */
    uint8_t loaded;     /* a complete, valid model is live */
    uint8_t created;    /* the network exists (header complete) */
    FwShape shape;
    size_t required;    /* arena bytes the network uses */
} FwModel;

typedef struct {
    uint32_t code;      /* 0 or an FW_ERR_* code */
    uint32_t value;     /* detail value of the error */
    const char *why;    /* message */
} FwStatus;

void fw_model_init(FwModel *m, void *arena, size_t arena_bytes);
/* Start an upload of `total` bytes (the live model is dropped). */
FwStatus fw_model_begin(FwModel *m, uint32_t total);
/* Append bytes at `offset` (== bytes received; earlier, already received spans are accepted and
 * ignored). *next is set to the next expected offset. */
FwStatus fw_model_chunk(FwModel *m, uint32_t offset, const uint8_t *data, uint32_t n,
                        uint32_t *next);
/* Finish: the whole file arrived and its CRC matched; the model becomes live. */
FwStatus fw_model_end(FwModel *m);
/* The largest model file an upload may announce (LOAD_BEGIN refuses bigger ones). */
uint32_t fw_model_max_bytes(const FwModel *m);
/* Size of the model file of the live network. */
uint32_t fw_model_file_size(const FwModel *m);
/* Copy n bytes of the live network's model file from `offset` (caller checks the range). */
void fw_model_read(FwModel *m, uint32_t offset, uint8_t *out, uint32_t n);

#endif
