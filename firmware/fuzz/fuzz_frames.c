/* libFuzzer target, structure-aware: the fuzzer's bytes are a sequence of requests, each framed
 * with the real encoder (valid CRC-32, valid COBS) unless the record asks for damage, so the
 * mutations reach the dispatcher, the upload, the samples and the reads (src/proto.c,
 * src/modelio.c, cport) instead of dying at the CRC. ASan + UBSan; the board runs as on the
 * boards (a RESET re-initialises it, as main.c does).
 *
 * Input: byte 0: bit 0 set = upload model (bits 1-2) % N first; then records until the input ends:
 *
 *   op u8 | len u16 (clipped to what is left) | data[len]
 *
 *   op bits 0-3, the request: 0 HELLO, 1 LOAD_BEGIN, 2 LOAD_CHUNK, 3 LOAD_END, 4 SAMPLE,
 *     5 MODEL_READ, 6 STATE_READ, 7 RESET, 8 any type (data[0]; body data[1..]), 9 a whole upload
 *     of model data[0] % N in chunks of 1 + 4 * data[1] bytes with the byte changes of data[2..]
 *     (3 bytes each: u16 position, xor; data[0] bit 7: CRC fixed after the changes),
 *     10 raw bytes on the link (no framing), 11-15 SAMPLE
 *   op bit 6, a well-formed body built from data: LOAD_BEGIN the size of model data[0]; LOAD_CHUNK
 *     at the offset the board expects, model bytes with the byte changes of data[2..]; SAMPLE
 *     with the live model's n_in pixels (zero-run coded if the mode byte says so); reads at
 *     offset u16, max u16. Otherwise the body is data itself.
 *   op bits 4-5: 0, 1 the frame as encoded; 2 one bit of the encoded frame flipped; 3 the
 *     previous frame sent again byte for byte (a retransmission).
 *   op bit 7: the sequence number of the previous request (else a new one).
 *
 * Models: FW_FUZZ_MODEL, one or more model files separated by ':'.
 *
 * Checked on every request, besides the sanitizers: the board answers a well-formed frame exactly
 * once, with its seq and its type (| 0x80) or ERROR; every frame it sends is valid (COBS, CRC,
 * version); a request it refuses, and a read-only one, change nothing (docs/protocol.md section
 * 2): the HELLO reply (flags, samples_seen), the upload's position and the arena (weights, G, the
 * state image's variables) are compared before and after (the one exception: a LOAD_CHUNK /
 * LOAD_END whose file is refused, MODEL or NO_MEMORY, ends the upload); a retransmission of the
 * last request gets the same answer and changes nothing (the idempotency cache). Any failure
 * aborts with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_board.h"
#include "../src/cobs.h"
#include "../src/crc32.h"
#include "../src/proto.h"
#include "../src/proto_defs.h"
#include "erbp.h"

#define MAX_MODELS 8
#define MAX_BODY 4400u
#define PROBE_OFFSET 0xFFFFFFF0u /* no upload reaches it: its refusal names the position */

static uint32_t arena[(4u << 20) / 4u];
static uint8_t *models[MAX_MODELS];
static uint32_t model_lens[MAX_MODELS];
static uint32_t n_models;
/* the harness's view of the board: the model uploaded last, the next chunk offset, the live
 * network's n_in and arena bytes */
static uint32_t cur_model, next_offset, live_n_in, live_arena;

static void die(const char *why)
{
    fprintf(stderr, "fuzz_frames: %s\n", why);
    abort();
}

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | (rd16(p + 2) << 16);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- what the board sends ------------------------------------------------------------------- */
static uint8_t out[1u << 14];
static size_t out_len;
static uint8_t reply[1u << 14]; /* the last answer: decoded payload without the CRC */
static uint32_t reply_len, answers, answer_errors, answer_refused_file;

static void answer_done(void)
{
    long n = fw_cobs_decode(out, out_len, reply);
    if (n < (long)FW_MIN_FRAME) {
        die("board sent an undecodable frame");
    }
    if (fw_crc32(0, reply, (size_t)n - 4u) != rd32(reply + n - 4) ||
        reply[0] != FW_PROTOCOL_VERSION || rd16(reply + 2) != 0 ||
        !(reply[1] == FW_MSG_ERROR || (reply[1] & FW_MSG_REPLY))) {
        die("board sent a bad frame");
    }
    reply_len = (uint32_t)n - 4u;
    answers++;
    if (reply[1] == FW_MSG_ERROR) {
        uint32_t code;
        if (reply_len < FW_HDR_BYTES + 8u) {
            die("board sent a short ERROR");
        }
        code = rd16(reply + FW_HDR_BYTES);
        answer_errors++;
        answer_refused_file += code == FW_ERR_MODEL || code == FW_ERR_NO_MEMORY;
    }
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (data[i] == 0) {
            if (out_len > 0) {
                answer_done();
            }
            out_len = 0;
        } else if (out_len < sizeof out) {
            out[out_len++] = data[i];
        } else {
            die("board frame too long");
        }
    }
}

/* ---- the link ------------------------------------------------------------------------------- */
static uint8_t wire[2u * MAX_BODY + 64u];
static size_t wire_len;
/* the last well-formed request of the input, and its answer (for retransmissions) */
static uint8_t prev_wire[sizeof wire], prev_reply[sizeof reply];
static size_t prev_wire_len;
static uint32_t prev_reply_len;

static void wire_put(const uint8_t *d, size_t n)
{
    if (wire_len + n > sizeof wire) {
        die("harness: wire buffer");
    }
    memcpy(wire + wire_len, d, n);
    wire_len += n;
}

static void board_rx(const uint8_t *d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        fw_proto_rx(d[i]);
        if (fw_proto_reset_requested()) {
            fw_proto_init(arena, sizeof arena); /* what main.c does after board_reset() */
        }
    }
}

/* Encode a request into wire (0x00, COBS(payload), 0x00). */
static void encode(uint32_t type, uint32_t seq, const uint8_t *body, uint32_t n)
{
    static uint8_t payload[MAX_BODY + 16u];
    static const uint8_t delim = 0;
    FwCobsEncoder e;
    payload[0] = (uint8_t)FW_PROTOCOL_VERSION;
    payload[1] = (uint8_t)type;
    payload[2] = payload[3] = 0;
    wr32(payload + 4, seq);
    if (n > 0) {
        memcpy(payload + FW_HDR_BYTES, body, n);
    }
    wr32(payload + FW_HDR_BYTES + n, fw_crc32(0, payload, FW_HDR_BYTES + n));
    wire_len = 0;
    wire_put(&delim, 1);
    fw_cobs_begin(&e, wire_put);
    fw_cobs_feed(&e, payload, FW_HDR_BYTES + n + FW_CRC_BYTES);
    fw_cobs_end(&e);
}

/* Send wire: the leading delimiter first (it ends whatever the board holds, which may answer),
 * then the frame, whose answers are counted. */
static void send_wire(void)
{
    board_rx(wire, 1);
    answers = answer_errors = answer_refused_file = 0;
    board_rx(wire + 1, wire_len - 1u);
}

/* A well-formed request: exactly one answer, with its seq, its reply type or ERROR (a frame
 * longer than max_frame gets TOO_LONG, which cannot name a seq). Returns the answer's type. */
static uint32_t request(uint32_t type, uint32_t seq, const uint8_t *body, uint32_t n)
{
    encode(type, seq, body, n);
    send_wire();
    if (answers != 1) {
        die("a well-formed request did not get exactly one answer");
    }
    if (reply[1] == FW_MSG_ERROR && rd16(reply + FW_HDR_BYTES) == FW_ERR_TOO_LONG) {
        if (FW_HDR_BYTES + n + FW_CRC_BYTES <= FW_RX_MAX) {
            die("TOO_LONG for a frame within max_frame");
        }
        return reply[1];
    }
    if (rd32(reply + 4) != seq) {
        die("the answer has another seq");
    }
    if (reply[1] != FW_MSG_ERROR && reply[1] != (type | FW_MSG_REPLY)) {
        die("the answer has another type");
    }
    return reply[1];
}

/* ---- the board's state -------------------------------------------------------------------- */
/* What a host observes (the HELLO reply, the upload's position), and the memory behind the model
 * and the state image: the arena up to the largest network the input's models need (a model
 * changed by the input may need more: then its file's CRC, read with MODEL_READ, stands in for
 * the part of the arena past the window). */
typedef struct {
    uint8_t hello[128];
    uint32_t hello_len;
    uint32_t upload_code, upload_value;
    uint32_t model_crc;
} Snap;

static uint8_t arena_copy[1u << 18];
static size_t window; /* bytes of the arena compared */
static uint32_t snap_seq = 0xF0000000u;

static void snapshot(Snap *s, uint8_t *mem)
{
    static const uint8_t probe[5] = {0xF0, 0xFF, 0xFF, 0xFF, 0x55};
    memset(s, 0, sizeof *s);
    if (request(FW_MSG_HELLO, snap_seq++, NULL, 0) != (FW_MSG_HELLO | FW_MSG_REPLY)) {
        die("HELLO refused");
    }
    s->hello_len = reply_len < sizeof s->hello ? reply_len : (uint32_t)sizeof s->hello;
    memcpy(s->hello, reply, s->hello_len);
    memset(s->hello + 4, 0, 4); /* the seq */
    if ((rd16(reply + FW_HDR_BYTES + 6) & 1u) && live_arena > window) {
        uint8_t b[6] = {0, 0, 0, 0, 0, 0};
        uint32_t total;
        if (request(FW_MSG_MODEL_READ, snap_seq++, b, 6) != (FW_MSG_MODEL_READ | FW_MSG_REPLY)) {
            die("a read of the live model was refused");
        }
        total = rd32(reply + FW_HDR_BYTES);
        wr32(b, total - 4u);
        b[4] = 4;
        if (request(FW_MSG_MODEL_READ, snap_seq++, b, 6) != (FW_MSG_MODEL_READ | FW_MSG_REPLY)) {
            die("a read of the live model was refused");
        }
        s->model_crc = rd32(reply + FW_HDR_BYTES + 8);
    }
    if (request(FW_MSG_LOAD_CHUNK, snap_seq++, probe, sizeof probe) != FW_MSG_ERROR) {
        die("the probe chunk was accepted");
    }
    s->upload_code = rd16(reply + FW_HDR_BYTES);
    s->upload_value = rd32(reply + FW_HDR_BYTES + 4);
    if (mem != NULL) {
        memcpy(mem, arena, window);
    }
}

/* ---- the harness's view of the board (for well-formed bodies) ------------------------------- */

static void track(uint32_t type, uint32_t answer)
{
    if (answer == (FW_MSG_LOAD_BEGIN | FW_MSG_REPLY)) {
        next_offset = 0;
    } else if (answer == (FW_MSG_LOAD_CHUNK | FW_MSG_REPLY)) {
        next_offset = rd32(reply + FW_HDR_BYTES);
    } else if (answer == (FW_MSG_LOAD_END | FW_MSG_REPLY)) {
        live_n_in = rd16(reply + FW_HDR_BYTES + 12);
        live_arena = rd32(reply + FW_HDR_BYTES + 4);
    } else if (answer == FW_MSG_ERROR && type == FW_MSG_LOAD_CHUNK &&
               rd16(reply + FW_HDR_BYTES) == FW_ERR_OFFSET) {
        next_offset = rd32(reply + FW_HDR_BYTES + 4);
    }
}

/* Apply byte changes (u16 position, xor) from d[0..n) to buf[0..len). */
static void mutate(uint8_t *buf, uint32_t len, const uint8_t *d, uint32_t n)
{
    uint32_t i;
    for (i = 0; i + 3u <= n && len > 0; i += 3u) {
        buf[rd16(d + i) % len] ^= d[i + 2];
    }
}

/* Pixels as zero runs (docs/protocol.md): t < 0x80: t + 1 literals; t >= 0x80: t - 0x7F zeros. */
static uint32_t zero_runs(const uint8_t *px, uint32_t n, uint8_t *code)
{
    uint32_t i = 0, w = 0, j;
    while (i < n) {
        j = i;
        if (px[i] == 0) {
            while (j < n && px[j] == 0 && j - i < 128u) {
                j++;
            }
            code[w++] = (uint8_t)(0x7Fu + (j - i));
        } else {
            while (j < n && px[j] != 0 && j - i < 128u) {
                j++;
            }
            code[w++] = (uint8_t)(j - i - 1u);
            memcpy(code + w, px + i, j - i);
            w += j - i;
        }
        i = j;
    }
    return w;
}

/* A well-formed body of this type from d[0..n); returns its length. */
static uint32_t smart_body(uint32_t type, const uint8_t *d, uint32_t n, uint8_t *body)
{
    static uint8_t px[4096];
    uint32_t k, len, npx;
    const uint8_t *m;
    switch (type) {
    case FW_MSG_LOAD_BEGIN:
        cur_model = n > 0 ? d[0] % n_models : 0;
        wr32(body, model_lens[cur_model]);
        return 4;
    case FW_MSG_LOAD_CHUNK:
        m = models[cur_model];
        len = 1u + (n >= 2 ? rd16(d) % FW_MAX_CHUNK : 63u);
        if (next_offset < model_lens[cur_model] && len > model_lens[cur_model] - next_offset) {
            len = model_lens[cur_model] - next_offset;
        }
        wr32(body, next_offset);
        for (k = 0; k < len; k++) {
            body[4 + k] = next_offset + k < model_lens[cur_model] ? m[next_offset + k] : 0;
        }
        if (n > 2) {
            mutate(body + 4, len, d + 2, n - 2u);
        }
        return 4u + len;
    case FW_MSG_SAMPLE:
        npx = live_n_in ? live_n_in : 64u;
        if (n < 6) {
            memset(body, 0, 6);
            memcpy(body, d, n);
        } else {
            memcpy(body, d, 6);
        }
        body[4] &= (uint8_t)(FW_SAMPLE_ZRUN | FW_MODE_TRAIN);
        body[6] = (uint8_t)npx;
        body[7] = (uint8_t)(npx >> 8);
        for (k = 0; k < npx; k++) {
            px[k] = n > 6 ? d[6 + k % (n - 6u)] : 0;
        }
        if (body[4] & FW_SAMPLE_ZRUN) {
            return 8u + zero_runs(px, npx, body + 8);
        }
        memcpy(body + 8, px, npx);
        return 8u + npx;
    case FW_MSG_MODEL_READ:
    case FW_MSG_STATE_READ:
        memset(body, 0, 6);
        if (n >= 4) {
            wr32(body, rd16(d));
            body[4] = d[2];
            body[5] = d[3];
        }
        return 6;
    default:
        return 0;
    }
}

/* A whole upload (kind 9): stops at the first refusal. */
static uint32_t seq_counter;

static void upload(const uint8_t *d, uint32_t n)
{
    static uint8_t file[1u << 20];
    static uint8_t body[4u + FW_MAX_CHUNK];
    uint32_t i = n > 0 ? d[0] % n_models : 0, len = model_lens[i], chunk, off;
    chunk = 1u + 4u * (n > 1 ? d[1] : 255u);
    if (chunk > FW_MAX_CHUNK) {
        chunk = FW_MAX_CHUNK;
    }
    memcpy(file, models[i], len);
    if (n > 2) {
        mutate(file, len, d + 2, n - 2u);
        if (d[0] & 0x80u && len >= 8u) {
            wr32(file + len - 4u, fw_crc32(0, file, len - 4u));
        }
    }
    wr32(body, len);
    if (request(FW_MSG_LOAD_BEGIN, ++seq_counter, body, 4) == FW_MSG_ERROR) {
        return;
    }
    for (off = 0; off < len; off += chunk) {
        uint32_t k = len - off < chunk ? len - off : chunk;
        wr32(body, off);
        memcpy(body + 4, file + off, k);
        if (request(FW_MSG_LOAD_CHUNK, ++seq_counter, body, 4u + k) == FW_MSG_ERROR) {
            return;
        }
    }
    track(FW_MSG_LOAD_END, request(FW_MSG_LOAD_END, ++seq_counter, NULL, 0));
}

/* The board after a request: if `same`, it must equal *before (what = the request). */
static void after(Snap *before, int same, const char *what)
{
    Snap now;
    snapshot(&now, NULL);
    if (same && (memcmp(before, &now, sizeof now) != 0 || memcmp(arena_copy, arena, window))) {
        fprintf(stderr, "fuzz_frames: after %s\n", what);
        die("a request that must change nothing changed the board");
    }
    *before = now;
    memcpy(arena_copy, arena, window);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *env = getenv("FW_FUZZ_MODEL"), *p, *end;
    char path[4096];
    uint32_t k;
    (void)argc;
    (void)argv;
    if (env == NULL) {
        die("set FW_FUZZ_MODEL to one or more model files separated by ':'");
    }
    for (p = env; *p != '\0' && n_models < MAX_MODELS; p = *end ? end + 1 : end) {
        FILE *f;
        size_t len;
        end = strchr(p, ':');
        end = end ? end : p + strlen(p);
        len = (size_t)(end - p);
        if (len == 0 || len >= sizeof path) {
            continue;
        }
        memcpy(path, p, len);
        path[len] = '\0';
        if ((f = fopen(path, "rb")) == NULL) {
            die("cannot open a model of FW_FUZZ_MODEL");
        }
        models[n_models] = malloc(1u << 20);
        if (models[n_models] == NULL) {
            die("out of memory");
        }
        model_lens[n_models] = (uint32_t)fread(models[n_models], 1, 1u << 20, f);
        fclose(f);
        n_models++;
    }
    if (n_models == 0) {
        die("FW_FUZZ_MODEL names no model");
    }
    for (k = 0; k < n_models; k++) {
        erbp_config_t cfg;
        if (erbp_model_check(models[k], model_lens[k], &cfg, NULL, NULL) != ERBP_OK) {
            die("a model of FW_FUZZ_MODEL is refused by erbp_model_check");
        }
        if (erbp_net_required_bytes(&cfg) > window) {
            window = erbp_net_required_bytes(&cfg);
        }
    }
    if (window > sizeof arena_copy) {
        die("the models of FW_FUZZ_MODEL need more than 256 KiB of arena");
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t body[MAX_BODY + 8u];
    size_t at = 1;
    uint32_t seq = 0;
    Snap before;
    fw_proto_init(arena, sizeof arena);
    out_len = 0;
    prev_wire_len = 0;
    cur_model = next_offset = live_n_in = live_arena = 0;
    seq_counter = 0x10000u;
    if (size == 0) {
        return 0;
    }
    if (data[0] & 1u) {
        uint8_t d[2] = {(uint8_t)((data[0] >> 1) & 3u), 255};
        upload(d, 2);
    }
    snapshot(&before, arena_copy);
    while (at + 3u <= size) {
        uint32_t op = data[at], kind = op & 15u, framing = (op >> 4) & 3u, type, n, blen, answer;
        const uint8_t *d = data + at + 3;
        n = rd16(data + at + 1);
        at += 3;
        if (n > size - at) {
            n = (uint32_t)(size - at);
        }
        if (n > MAX_BODY) {
            n = MAX_BODY;
        }
        at += n;
        if (!(op & 0x80u)) {
            seq = ++seq_counter;
        }
        if (kind == 9u) { /* a whole upload: changes the board */
            upload(d, n);
            prev_wire_len = 0;
            after(&before, 0, "");
            continue;
        }
        if (kind == 10u) { /* raw bytes: if every answer is a refusal, nothing changed */
            answers = answer_errors = answer_refused_file = 0;
            board_rx(d, n);
            prev_wire_len = 0;
            after(&before, answer_errors == answers && answer_refused_file == 0,
                  "raw bytes answered by refusals");
            continue;
        }
        if (framing == 3u && prev_wire_len > 0) {
            /* the last well-formed request again, byte for byte: answered as the first time
               (from the cache if it changed the board), and nothing changes */
            memcpy(wire, prev_wire, prev_wire_len);
            wire_len = prev_wire_len;
            send_wire();
            if (answers != 1 || reply_len != prev_reply_len ||
                memcmp(reply, prev_reply, reply_len) != 0) {
                die("a retransmission got another answer");
            }
            after(&before, 1, "a retransmission");
            continue;
        }
        if (kind == 8u) {
            type = n > 0 ? d[0] : 0u;
            d += n > 0;
            n -= n > 0;
        } else {
            type = kind >= 11u ? FW_MSG_SAMPLE : kind + 1u;
        }
        if (op & 0x40u) {
            blen = smart_body(type, d, n, body);
        } else {
            memcpy(body, d, n);
            blen = n;
        }
        if (framing == 2u) { /* one bit flipped somewhere in the frame (not the delimiters) */
            encode(type, seq, body, blen);
            if (wire_len > 2u) {
                size_t pos = 1u + (size_t)(blen + seq) % (wire_len - 2u);
                wire[pos] ^= (uint8_t)(1u << (seq % 8u));
            }
            send_wire();
            prev_wire_len = 0;
            after(&before, answer_errors == answers && answer_refused_file == 0,
                  "a damaged frame answered by refusals");
            continue;
        }
        answer = request(type, seq, body, blen);
        memcpy(prev_wire, wire, wire_len);
        prev_wire_len = wire_len;
        memcpy(prev_reply, reply, reply_len);
        prev_reply_len = reply_len;
        track(type, answer);
        if (answer == FW_MSG_ERROR) {
            uint32_t code = rd16(reply + FW_HDR_BYTES);
            int file_refused = (type == FW_MSG_LOAD_CHUNK || type == FW_MSG_LOAD_END) &&
                               (code == FW_ERR_MODEL || code == FW_ERR_NO_MEMORY);
            after(&before, !file_refused, "a refused request");
        } else {
            after(&before, type == FW_MSG_HELLO || type == FW_MSG_MODEL_READ ||
                               type == FW_MSG_STATE_READ, "a read-only request");
        }
    }
    board_rx((const uint8_t *)"", 1); /* a last delimiter: whatever the board holds is answered */
    return 0;
}
