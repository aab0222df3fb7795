/* COBS encoder (streaming, 255-byte block buffer) and in-place decoder. */
#include "cobs.h"

long fw_cobs_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        size_t k;
        if (code == 0) {
            return -1;
        }
        if ((size_t)(code - 1u) > n - i) {
            return -1;
        }
        for (k = 1; k < code; k++) {
            uint8_t b = in[i++];
            if (b == 0) {
                return -1;
            }
            out[o++] = b;
        }
        /* A block shorter than 254 data bytes stands for its bytes plus a zero, except at the
         * very end of the frame. */
        if (code != 0xFFu && i < n) {
            out[o++] = 0;
        }
    }
    return (long)o;
}

void fw_cobs_begin(FwCobsEncoder *e, FwPutFn put)
{
    e->fill = 1;
    e->after_full = 0;
    e->put = put;
}

static void flush_block(FwCobsEncoder *e)
{
    e->after_full = (uint8_t)(e->fill == 0xFFu);
    e->block[0] = e->fill;
    e->put(e->block, e->fill);
    e->fill = 1;
}

void fw_cobs_feed(FwCobsEncoder *e, const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (data[i] == 0) {
            flush_block(e);
        } else {
            e->block[e->fill++] = data[i];
            if (e->fill == 0xFFu) {
                flush_block(e);
            }
        }
    }
}

void fw_cobs_end(FwCobsEncoder *e)
{
    static const uint8_t zero = 0;
    /* Like Python's cobs.encode: no empty block after a full block that ends the data. */
    if (!(e->fill == 1 && e->after_full)) {
        flush_block(e);
    }
    e->put(&zero, 1);
}
