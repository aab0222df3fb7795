/* libFuzzer target: the frame parser and command handler (src/proto.c, src/modelio.c) over cport,
 * exactly as the boards run them, under ASan + UBSan. Each input is a byte stream as it would
 * arrive on the serial link; if its first byte is odd, a valid model (FW_FUZZ_MODEL, a model file)
 * is uploaded first, so that SAMPLE / MODEL_READ / STATE_READ reach the engine. Every byte the
 * board sends is checked: it must form valid frames (COBS, CRC-32, version, reply or error type);
 * otherwise the target aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_board.h"
#include "../src/cobs.h"
#include "../src/crc32.h"
#include "../src/proto.h"
#include "../src/proto_defs.h"

static uint32_t arena[(4u << 20) / 4u];
static uint8_t model[1u << 20];
static size_t model_len;
static uint8_t out[1u << 16];
static size_t out_len;

static void check_frame(void)
{
    uint8_t dec[sizeof out];
    long n = fw_cobs_decode(out, out_len, dec);
    uint32_t crc;
    if (out_len == 0) {
        return;
    }
    if (n < (long)FW_MIN_FRAME) {
        fprintf(stderr, "board sent an undecodable frame\n");
        abort();
    }
    crc = (uint32_t)dec[n - 4] | ((uint32_t)dec[n - 3] << 8) | ((uint32_t)dec[n - 2] << 16) |
          ((uint32_t)dec[n - 1] << 24);
    if (fw_crc32(0, dec, (size_t)n - 4u) != crc || dec[0] != FW_PROTOCOL_VERSION ||
        !(dec[1] == FW_MSG_ERROR || (dec[1] & FW_MSG_REPLY))) {
        fprintf(stderr, "board sent a bad frame\n");
        abort();
    }
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (data[i] == 0) {
            check_frame();
            out_len = 0;
        } else if (out_len < sizeof out) {
            out[out_len++] = data[i];
        } else {
            fprintf(stderr, "board frame too long\n");
            abort();
        }
    }
}

static uint8_t enc_buf[4096];
static size_t enc_len;

static void enc_sink(const uint8_t *data, size_t n)
{
    memcpy(enc_buf + enc_len, data, n);
    enc_len += n;
}

/* Send one valid request frame to the board. */
static void send(uint8_t type, uint32_t seq, const uint8_t *body, size_t n)
{
    static uint8_t buf[2048];
    FwCobsEncoder e;
    uint32_t crc;
    size_t i, len = 8u + n;
    buf[0] = 1;
    buf[1] = type;
    buf[2] = buf[3] = 0;
    memcpy(buf + 4, &seq, 4);
    memcpy(buf + 8, body, n);
    crc = fw_crc32(0, buf, len);
    memcpy(buf + len, &crc, 4);
    enc_len = 0;
    fw_cobs_begin(&e, enc_sink);
    fw_cobs_feed(&e, buf, len + 4u);
    fw_cobs_end(&e);
    for (i = 0; i < enc_len; i++) {
        fw_proto_rx(enc_buf[i]);
    }
}

static void upload_model(void)
{
    uint8_t body[4 + 1024];
    uint32_t total = (uint32_t)model_len, off, seq = 0x70000000u;
    memcpy(body, &total, 4);
    send(FW_MSG_LOAD_BEGIN, seq++, body, 4);
    for (off = 0; off < total; off += 1024u) {
        uint32_t n = total - off < 1024u ? total - off : 1024u;
        memcpy(body, &off, 4);
        memcpy(body + 4, model + off, n);
        send(FW_MSG_LOAD_CHUNK, seq++, body, 4u + n);
    }
    send(FW_MSG_LOAD_END, seq, body, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("FW_FUZZ_MODEL");
    FILE *f;
    (void)argc;
    (void)argv;
    if (path != NULL && (f = fopen(path, "rb")) != NULL) {
        model_len = fread(model, 1, sizeof model, f);
        fclose(f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    fw_proto_init(arena, sizeof arena);
    out_len = 0;
    if (size > 0 && (data[0] & 1u) && model_len > 0) {
        upload_model();
    }
    for (i = 0; i < size; i++) {
        fw_proto_rx(data[i]);
    }
    fw_proto_rx(0); /* end of stream: the last frame, if any, is answered too */
    return 0;
}
