/* COBS (consistent overhead byte stuffing): frames never contain 0x00, which delimits them.
 * The same encoding as Python's `cobs.cobs.encode` / `decode` (PyPI `cobs`). */
#ifndef FW_COBS_H
#define FW_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode n bytes (without the 0x00 delimiter): n + 1 + n / 254. */
#define FW_COBS_MAX_ENCODED(n) ((n) + 1u + (n) / 254u)

/* Decode `n` encoded bytes (no delimiter) into `out` (may equal `in`: decoding in place is safe).
 * Returns the decoded length, or -1 if the input is not valid COBS (a 0x00 byte, or a code that
 * runs past the end). Never writes more than n bytes. */
long fw_cobs_decode(const uint8_t *in, size_t n, uint8_t *out);

/* Streaming encoder: the caller gives bytes one span at a time and a sink for output bytes. */
typedef void (*FwPutFn)(const uint8_t *data, size_t n);

typedef struct {
    uint8_t block[255]; /* block[0] is the code byte; data bytes follow */
    uint8_t fill;       /* bytes in the current block incl. the code byte */
    uint8_t after_full; /* the last flushed block was a full 254-byte one */
    FwPutFn put;
} FwCobsEncoder;

void fw_cobs_begin(FwCobsEncoder *e, FwPutFn put);
void fw_cobs_feed(FwCobsEncoder *e, const uint8_t *data, size_t n);
/* Flush the last block and write the 0x00 delimiter. */
void fw_cobs_end(FwCobsEncoder *e);

#endif
