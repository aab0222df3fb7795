/* Frame reception (COBS + CRC-32), request dispatch, replies, and the idempotency cache. */
#include "proto.h"

#include "fw_string.h"

#include "board.h"
#include "cobs.h"
#include "crc32.h"
#include "fw_engine.h"
#include "modelio.h"
#include "proto_defs.h"

#ifndef FW_VERSION_STRING
#define FW_VERSION_STRING "erbp-fw 0.1"
#endif

#define TX_MAX (FW_HDR_BYTES + 8u + FW_BOARD_MAX_CHUNK + FW_CRC_BYTES)
/* The largest reply of a state-changing request: a SAMPLE result (32 bytes: index, mode,
 * prediction, n_out, samples_seen, events, cycles, ticks; then FW_MAX_OUT counts), or an error (a
 * message of up to 96 bytes). */
#define SAMPLE_REPLY_MAX (FW_HDR_BYTES + 32u + 4u * FW_MAX_OUT + FW_CRC_BYTES)
#define ERROR_REPLY_MAX (FW_HDR_BYTES + 8u + 96u + FW_CRC_BYTES)
#define TX_CACHED_MAX (SAMPLE_REPLY_MAX > ERROR_REPLY_MAX ? SAMPLE_REPLY_MAX : ERROR_REPLY_MAX)
/* the read buffer holds an error reply and HELLO's too */
typedef char fw_tx_read_holds_an_error[TX_MAX >= ERROR_REPLY_MAX ? 1 : -1];

/* Receive buffer: encoded bytes up to the delimiter, decoded in place. */
static uint8_t rx[FW_COBS_MAX_ENCODED(FW_RX_MAX)];
static uint32_t rx_len;
static uint8_t rx_overflow;

/* Every reply is built in tx. The reply to the last request that changed the board (an applied
 * LOAD_*, SAMPLE or RESET, or a refusal that ended an upload) is kept in tx_cached for duplicates
 * (same seq and same frame CRC): such a request is never applied twice. Read-only requests
 * (HELLO, MODEL_READ, STATE_READ) and refusals that changed nothing leave the cache alone (sent
 * again, they get the same answer anyway), so a host that reconnects and says HELLO, or a stray
 * frame on the link, does not stop the host from re-sending its last sample safely. */
static uint8_t tx[TX_MAX];
static uint8_t tx_cached[TX_CACHED_MAX];
static uint32_t tx_len;
static uint32_t last_seq, last_crc;
static uint8_t have_last;

static FwModel model;
static size_t arena_size;
static uint32_t counts[FW_MAX_OUT];
static uint8_t reset_requested;

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | (rd16(p + 2) << 16);
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* Send buf[0, n) as one frame: CRC appended in place (buf has room), COBS encoded. */
static void send_frame(uint8_t *buf, uint32_t n)
{
    FwCobsEncoder enc;
    static const uint8_t delim = 0;
    wr32(buf + n, fw_crc32(0, buf, n));
    board_write(&delim, 1); /* a leading delimiter ends any garbage the host holds */
    fw_cobs_begin(&enc, board_write);
    fw_cobs_feed(&enc, buf, n + FW_CRC_BYTES);
    fw_cobs_end(&enc);
}

static uint32_t header(uint8_t *buf, uint32_t type, uint32_t seq)
{
    buf[0] = (uint8_t)FW_PROTOCOL_VERSION;
    buf[1] = (uint8_t)type;
    wr16(buf + 2, 0);
    wr32(buf + 4, seq);
    return FW_HDR_BYTES;
}

static uint32_t error_body(uint8_t *buf, uint32_t seq, uint32_t code, uint32_t value,
                           const char *why)
{
    uint32_t n = header(buf, FW_MSG_ERROR, seq), len = (uint32_t)strlen(why);
    if (len > 96u) {
        len = 96u;
    }
    wr16(buf + n, code);
    wr16(buf + n + 2, 0);
    wr32(buf + n + 4, value);
    memcpy(buf + n + 8, why, len);
    return n + 8u + len;
}

/* An error about a frame that could not be trusted: not cached. (Not inlined: its buffer stays
 * off the stack of the path that runs samples.) */
__attribute__((noinline)) static void frame_error(uint32_t seq, uint32_t code, uint32_t value, const char *why)
{
    uint8_t buf[FW_HDR_BYTES + 8u + 96u + FW_CRC_BYTES];
    send_frame(buf, error_body(buf, seq, code, value, why));
}

static int need(uint32_t seq, uint32_t have, uint32_t want, uint32_t *n)
{
    if (have != want) {
        *n = error_body(tx, seq, FW_ERR_LENGTH, want, "wrong body length for this message");
        return 0;
    }
    return 1;
}

static uint32_t hello(uint32_t seq, uint32_t len)
{
    uint8_t *b = tx;
    uint32_t n;
    if (!need(seq, len, 0u, &n)) {
        return n;
    }
    n = header(b, FW_MSG_HELLO | FW_MSG_REPLY, seq);
    uint32_t flags = (uint32_t)(model.loaded ? 1u : 0u) | (uint32_t)(model.loading ? 2u : 0u) |
                     (uint32_t)(fw_engine_read_only() ? 4u : 0u);
    size_t name_len = strlen(board_name), fw_len = strlen(FW_VERSION_STRING);
    wr16(b + n, FW_PROTOCOL_VERSION);
    wr16(b + n + 2, fw_engine_semantics());
    wr16(b + n + 4, 1u); /* model-file format */
    wr16(b + n + 6, flags);
    wr32(b + n + 8, FW_RX_MAX);
    wr32(b + n + 12, (uint32_t)arena_size);
    wr32(b + n + 16, board_ram_bytes);
    wr32(b + n + 20, board_cycles_hz());
    wr32(b + n + 24, board_boot_id());
    wr32(b + n + 28, model.loaded ? fw_engine_samples_seen() : 0u);
    wr32(b + n + 32, FW_BOARD_MAX_CHUNK);
    wr16(b + n + 36, FW_MAX_PIXELS);
    wr16(b + n + 38, (uint32_t)(sizeof counts / sizeof counts[0]));
    memset(b + n + 40, 0, 2u * FW_BOARD_NAME_BYTES);
    memcpy(b + n + 40, board_name, name_len < FW_BOARD_NAME_BYTES ? name_len : FW_BOARD_NAME_BYTES);
    memcpy(b + n + 40 + FW_BOARD_NAME_BYTES, FW_VERSION_STRING,
           fw_len < FW_BOARD_NAME_BYTES ? fw_len : FW_BOARD_NAME_BYTES);
    wr32(b + n + 40 + 2u * FW_BOARD_NAME_BYTES, fw_model_max_bytes(&model));
    return n + 44u + 2u * FW_BOARD_NAME_BYTES;
}

static uint32_t status_reply(uint32_t seq, FwStatus st, uint32_t type, uint32_t value)
{
    uint32_t n;
    if (st.code != 0) {
        return error_body(tx, seq, st.code, st.value, st.why);
    }
    n = header(tx, type | FW_MSG_REPLY, seq);
    wr32(tx + n, value);
    return n + 4u;
}

static uint32_t load_end(uint32_t seq)
{
    FwStatus st = fw_model_end(&model);
    uint32_t n;
    if (st.code != 0) {
        return error_body(tx, seq, st.code, st.value, st.why);
    }
    n = header(tx, FW_MSG_LOAD_END | FW_MSG_REPLY, seq);
    wr32(tx + n, fw_engine_model_bytes());
    wr32(tx + n + 4, fw_engine_arena_used());
    wr32(tx + n + 8, fw_engine_samples_seen());
    wr16(tx + n + 12, fw_engine_n_in());
    wr16(tx + n + 14, fw_engine_n_out());
    return n + 16u;
}

/* Expand zero-run coded pixels in the receive buffer itself: the code is first moved to the end of
 * the buffer, then expanded from the start; the output never overtakes the input as long as
 * pixels + code + 16 fit in the buffer. The rule (docs/protocol.md) is that they fit in max_frame
 * bytes (FW_RX_MAX, no larger than the buffer). Returns NULL, or why the coding is refused. */
static const char *decode_zero_runs(const uint8_t *code, uint32_t n, uint32_t npx,
                                    const uint8_t **pixels)
{
    uint8_t *out = rx + 16, *in;
    uint32_t r = 0, w = 0;
    if ((size_t)npx + n + 16u > FW_RX_MAX) {
        return "zero-run coded sample too large to expand: send raw pixels";
    }
    in = rx + sizeof rx - n;
    memmove(in, code, n);
    while (r < n) {
        uint32_t t = in[r++], k;
        if (t >= 0x80u) {
            k = t - 0x7Fu;
            if (k > npx - w) {
                return "zero run past the pixel count";
            }
            memset(out + w, 0, k);
        } else {
            k = t + 1u;
            if (k > npx - w || k > n - r) {
                return "literal run past the pixel count or the body";
            }
            memmove(out + w, in + r, k);
            r += k;
        }
        w += k;
    }
    if (w != npx) {
        return "zero-run code shorter than the pixel count";
    }
    *pixels = out;
    return NULL;
}

static uint32_t sample(uint32_t seq, const uint8_t *body, uint32_t len)
{
    uint32_t index, mode, label, npx, n_out, n, k;
    FwResult r;
    uint64_t t0, t1;
    const char *why = "";
    const uint8_t *pixels = NULL;
    if (len < 8u) {
        return error_body(tx, seq, FW_ERR_LENGTH, 8u, "sample body shorter than its header");
    }
    index = rd32(body);
    mode = body[4] & (uint32_t)~FW_SAMPLE_ZRUN;
    label = body[5];
    npx = rd16(body + 6);
    if (body[4] & FW_SAMPLE_ZRUN) {
        why = decode_zero_runs(body + 8, len - 8u, npx, &pixels);
        if (why != NULL) {
            return error_body(tx, seq, FW_ERR_ARGUMENT, npx, why);
        }
    } else if (len != 8u + npx) {
        return error_body(tx, seq, FW_ERR_LENGTH, 8u + npx, "pixel count and body length differ");
    } else {
        pixels = body + 8;
    }
    if (!model.loaded) {
        return error_body(tx, seq, FW_ERR_NO_MODEL, 0, "no model loaded");
    }
    n_out = fw_engine_n_out();
    if (npx != fw_engine_n_in()) {
        return error_body(tx, seq, FW_ERR_ARGUMENT, fw_engine_n_in(),
                          "pixel count differs from the model's n_in");
    }
    if (mode != FW_MODE_INFER && mode != FW_MODE_TRAIN) {
        return error_body(tx, seq, FW_ERR_ARGUMENT, mode, "mode must be 0 (infer) or 1 (train)");
    }
    if (mode == FW_MODE_TRAIN && label >= n_out) {
        return error_body(tx, seq, FW_ERR_ARGUMENT, n_out, "training needs a label below n_out");
    }
    t0 = board_cycles();
    if (fw_engine_run(pixels, index, mode, label, &r, counts, FW_MAX_OUT, &why) != 0) {
        return error_body(tx, seq, FW_ERR_ARGUMENT, 0, why);
    }
    t1 = board_cycles();
    n = header(tx, FW_MSG_SAMPLE | FW_MSG_REPLY, seq);
    wr32(tx + n, index);
    tx[n + 4] = (uint8_t)mode;
    tx[n + 5] = (uint8_t)r.prediction;
    tx[n + 6] = (uint8_t)n_out;
    tx[n + 7] = 0;
    wr32(tx + n + 8, r.samples_seen);
    wr64(tx + n + 12, r.events);
    wr64(tx + n + 20, t1 - t0);
    wr32(tx + n + 28, r.ticks);
    n += 32u;
    for (k = 0; k < n_out; k++) {
        wr32(tx + n, counts[k]);
        n += 4u;
    }
    return n;
}

static uint32_t read_reply(uint32_t seq, uint32_t type, const uint8_t *body, uint32_t len)
{
    uint32_t offset, want, total, n;
    if (!need(seq, len, 6u, &n)) {
        return n;
    }
    if (!model.loaded) {
        return error_body(tx, seq, FW_ERR_NO_MODEL, 0, "no model loaded");
    }
    offset = rd32(body);
    want = rd16(body + 4);
    total = type == FW_MSG_MODEL_READ ? fw_engine_model_bytes() : fw_engine_state_bytes();
    if (offset > total) {
        return error_body(tx, seq, FW_ERR_ARGUMENT, total, "offset past the end");
    }
    if (want > FW_BOARD_MAX_CHUNK) {
        want = FW_BOARD_MAX_CHUNK;
    }
    if (want > total - offset) {
        want = total - offset;
    }
    n = header(tx, type | FW_MSG_REPLY, seq);
    wr32(tx + n, total);
    wr32(tx + n + 4, offset);
    n += 8u;
    if (type == FW_MSG_MODEL_READ) {
        fw_engine_model_read(offset, tx + n, want);
    } else {
        fw_engine_state_read(offset, tx + n, want);
    }
    return n + want;
}

/* Handle one verified request; the reply is built in tx. */
static uint32_t dispatch(uint32_t type, uint32_t seq, const uint8_t *body, uint32_t len)
{
    uint32_t n, next = 0;
    FwStatus st;
    switch (type) {
    case FW_MSG_HELLO:
        return hello(seq, len);
    case FW_MSG_LOAD_BEGIN:
        if (!need(seq, len, 4u, &n)) {
            return n;
        }
        return status_reply(seq, fw_model_begin(&model, rd32(body)), type, 0);
    case FW_MSG_LOAD_CHUNK:
        if (len < 5u || len - 4u > FW_MAX_CHUNK) {
            return error_body(tx, seq, FW_ERR_LENGTH, len < 5u ? 5u : 4u + FW_MAX_CHUNK,
                              "chunk needs an offset and 1..max_chunk bytes");
        }
        st = fw_model_chunk(&model, rd32(body), body + 4, len - 4u, &next);
        return status_reply(seq, st, type, next);
    case FW_MSG_LOAD_END:
        if (!need(seq, len, 0u, &n)) {
            return n;
        }
        return load_end(seq);
    case FW_MSG_SAMPLE:
        return sample(seq, body, len);
    case FW_MSG_MODEL_READ:
    case FW_MSG_STATE_READ:
        return read_reply(seq, type, body, len);
    case FW_MSG_RESET:
        if (!need(seq, len, 0u, &n)) {
            return n;
        }
        reset_requested = 1;
        return header(tx, type | FW_MSG_REPLY, seq);
    default:
        return error_body(tx, seq, FW_ERR_UNKNOWN_TYPE, type, "unknown message type");
    }
}

static void frame(uint32_t n)
{
    long len = fw_cobs_decode(rx, n, rx);
    uint32_t plen, seq, crc, type, reply;
    uint8_t was_loading;
    if (len < 0) {
        frame_error(0, FW_ERR_FRAMING, 0, "invalid COBS encoding");
        return;
    }
    plen = (uint32_t)len;
    if (plen < FW_MIN_FRAME) {
        frame_error(0, FW_ERR_FRAMING, plen, "frame shorter than header and CRC");
        return;
    }
    if (plen > FW_RX_MAX) { /* the buffer holds a little more: COBS's overhead */
        frame_error(0, FW_ERR_TOO_LONG, FW_RX_MAX, "frame longer than max_frame");
        return;
    }
    seq = rd32(rx + 4);
    crc = rd32(rx + plen - FW_CRC_BYTES);
    if (fw_crc32(0, rx, plen - FW_CRC_BYTES) != crc) {
        frame_error(seq, FW_ERR_CRC, 0, "frame CRC mismatch");
        return;
    }
    if (rx[0] != FW_PROTOCOL_VERSION) {
        frame_error(seq, FW_ERR_VERSION, FW_PROTOCOL_VERSION, "other protocol version");
        return;
    }
    if (rd16(rx + 2) != 0) {
        frame_error(seq, FW_ERR_FLAGS, 0, "header flags must be 0");
        return;
    }
    if (have_last && seq == last_seq && crc == last_crc) {
        send_frame(tx_cached, tx_len); /* a duplicate: the same answer, nothing applied again */
        return;
    }
    type = rx[1];
    was_loading = model.loading;
    reply = dispatch(type, seq, rx + FW_HDR_BYTES, plen - FW_HDR_BYTES - FW_CRC_BYTES);
    /* (the replies of state-changing requests always fit the cache: TX_CACHED_MAX) */
    if (type != FW_MSG_HELLO && type != FW_MSG_MODEL_READ && type != FW_MSG_STATE_READ &&
        (tx[1] != FW_MSG_ERROR || model.loading != was_loading) &&
        reply + FW_CRC_BYTES <= sizeof tx_cached) {
        memcpy(tx_cached, tx, reply);
        tx_len = reply;
        last_seq = seq;
        last_crc = crc;
        have_last = 1;
    }
    send_frame(tx, reply);
}

void fw_proto_rx(uint8_t byte)
{
    if (byte != 0) {
        if (rx_len < sizeof rx) {
            rx[rx_len++] = byte;
        } else {
            rx_overflow = 1;
        }
        return;
    }
    if (rx_overflow) {
        frame_error(0, FW_ERR_TOO_LONG, FW_RX_MAX, "frame longer than the receive buffer");
    } else if (rx_len > 0) {
        frame(rx_len);
    }
    rx_len = 0;
    rx_overflow = 0;
}

void fw_proto_init(void *arena, size_t arena_bytes)
{
    rx_len = 0;
    rx_overflow = 0;
    have_last = 0;
    tx_len = 0;
    reset_requested = 0;
    fw_model_init(&model, arena, arena_bytes);
    arena_size = arena ? arena_bytes : fw_engine_arena_used(); /* in flash: the state arena */
}

int fw_proto_reset_requested(void)
{
    return reset_requested;
}
