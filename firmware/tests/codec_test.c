/* COBS and CRC-32 against vectors from Python's `cobs` package and zlib (tests/test_firmware_codec.py).
 * Reads lines "<op> <hex>" from stdin, op = enc | dec | crc; prints one result line each:
 * enc -> hex of the encoding (no delimiter); dec -> hex, or "ERR"; crc -> 8 hex digits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "crc32.h"

static unsigned char out[70000];
static size_t out_len;

static void sink(const uint8_t *d, size_t n)
{
    memcpy(out + out_len, d, n);
    out_len += n;
}

static void print_hex(const unsigned char *d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        printf("%02x", d[i]);
    }
    printf("\n");
}

int main(void)
{
    static char line[140000];
    static unsigned char data[70000];
    while (fgets(line, sizeof line, stdin) != NULL) {
        char op[8];
        char *hex = strchr(line, ' ');
        size_t n = 0;
        if (hex == NULL || sscanf(line, "%7s", op) != 1) {
            continue;
        }
        hex++;
        while (hex[0] && hex[0] != '\n' && hex[1]) {
            unsigned v;
            sscanf(hex, "%2x", &v);
            data[n++] = (unsigned char)v;
            hex += 2;
        }
        if (strcmp(op, "enc") == 0) {
            FwCobsEncoder e;
            out_len = 0;
            fw_cobs_begin(&e, sink);
            fw_cobs_feed(&e, data, n / 2);
            fw_cobs_feed(&e, data + n / 2, n - n / 2);
            fw_cobs_end(&e);
            print_hex(out, out_len - 1); /* without the delimiter */
            if (out[out_len - 1] != 0) {
                printf("NO-DELIMITER\n");
            }
        } else if (strcmp(op, "dec") == 0) {
            long k = fw_cobs_decode(data, n, out);
            if (k < 0) {
                printf("ERR\n");
            } else {
                print_hex(out, (size_t)k);
            }
        } else if (strcmp(op, "crc") == 0) {
            printf("%08x\n", fw_crc32(fw_crc32(0, data, n / 3), data + n / 3, n - n / 3));
        }
        fflush(stdout);
    }
    return 0;
}
