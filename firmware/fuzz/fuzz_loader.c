/* libFuzzer target: cport's incremental model loader (erbp_loader_begin / feed / end) fed a file
 * in chunks whose boundaries come from the input, against erbp_model_check on the whole buffer.
 * ASan + UBSan.
 *
 * Input: byte 0: bits 0-4: k, the number of chunk-size bytes that follow (0: the file in one
 * piece); bit 5: set the declared size (header bytes 8..11) to the file's length; bit 6: set the
 * CRC (the last 4 bytes) to the CRC-32 of the rest. Then k bytes of chunk sizes (used in turn,
 * 0 = an empty feed), then the file.
 *
 * Checked (abort on failure): erbp_loader_end's status equals erbp_model_check's, however the file
 * is cut (the loader may refuse a network too large for the arena, ERBP_E_SIZE, which only the
 * arena can tell; then erbp_net_required_bytes of the file's configuration must exceed it); once
 * erbp_loader_status reports an error, the end refuses the file too, and feed's errors are final
 * (what the firmware relies on to refuse an upload at the chunk that breaks a rule);
 * erbp_loader_file_bytes is the declared size once known; erbp_net_load agrees; and a file the
 * loader accepts is saved back (erbp_net_save, and erbp_net_save_range in the same chunks) to the
 * same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erbp.h"

#define MAX_FILE (1u << 16)

static uint32_t arena[(1u << 20) / 4u], arena2[(1u << 20) / 4u];
static uint8_t file[MAX_FILE];
static uint8_t saved[MAX_FILE];

static void die(const char *why, int a, int b)
{
    fprintf(stderr, "fuzz_loader: %s (%d, %d)\n", why, a, b);
    abort();
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The network of the file's configuration does not fit the arena (ERBP_E_SIZE is right). */
static int too_large(size_t n)
{
    int32_t words[ERBP_CONFIG_WORDS];
    erbp_config_t cfg;
    size_t i;
    if (n < ERBP_FILE_HEADER_BYTES + 4u * ERBP_CONFIG_WORDS) {
        return 0;
    }
    for (i = 0; i < ERBP_CONFIG_WORDS; i++) {
        words[i] = (int32_t)rd32(file + ERBP_FILE_HEADER_BYTES + 4u * i);
    }
    return erbp_config_from_words(&cfg, words, ERBP_CONFIG_WORDS) == ERBP_OK &&
           erbp_config_check(&cfg, NULL) == ERBP_OK && erbp_net_required_bytes(&cfg) > sizeof arena;
}

static erbp_status_t final_error, certain;

static void feed(erbp_loader_t *ld, size_t off, size_t piece)
{
    erbp_status_t fed = erbp_loader_feed(ld, file + off, piece);
    if (final_error != ERBP_OK && fed != final_error) {
        die("an error of feed is not final", final_error, fed);
    }
    final_error = fed;
    if (certain == ERBP_OK) {
        certain = erbp_loader_status(ld); /* a rule broken: the file is certain to be refused */
    }
    if (off + piece >= 12u && erbp_loader_file_bytes(ld) != 0 &&
        erbp_loader_file_bytes(ld) != rd32(file + 8)) {
        die("erbp_loader_file_bytes is not the declared size", 0, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static erbp_net_t net, net2;
    erbp_loader_t ld;
    erbp_status_t whole, st, end;
    const uint8_t *cuts;
    size_t k, n, i, off = 0, c = 0, written = 0;
    int any_cut = 0;
    k = size > 0 ? data[0] & 31u : 0u;
    if (k + 1u > size) {
        k = 0; /* the input is too short for its chunk sizes: the file is empty, in one piece */
    }
    cuts = data + 1;
    n = size > k + 1u ? size - 1u - k : 0u;
    if (n > MAX_FILE) {
        n = MAX_FILE;
    }
    if (n > 0) {
        memcpy(file, data + 1 + k, n);
    }
    if (n >= 12u && (data[0] & 0x20u)) {
        wr32(file + 8, (uint32_t)n);
    }
    if (n >= 4u && (data[0] & 0x40u)) {
        wr32(file + n - 4u, erbp_crc32(0, file, n - 4u));
    }
    for (i = 0; i < k; i++) {
        any_cut |= cuts[i] != 0;
    }

    whole = erbp_model_check(file, n, NULL, NULL, NULL);

    if (erbp_loader_begin(&ld, &net, arena, sizeof arena) != ERBP_OK) {
        die("erbp_loader_begin refused an aligned arena", 0, 0);
    }
    final_error = certain = ERBP_OK;
    if (!any_cut) { /* k empty feeds, then the whole file */
        for (i = 0; i < k; i++) {
            feed(&ld, 0, 0);
        }
        feed(&ld, 0, n);
    } else {
        while (off < n) {
            size_t piece = cuts[c++ % k];
            piece = piece > n - off ? n - off : piece;
            feed(&ld, off, piece);
            off += piece;
        }
    }
    end = erbp_loader_end(&ld);

    if (end != whole && !(end == ERBP_E_SIZE && too_large(n))) {
        die("the loader and erbp_model_check disagree", end, whole);
    }
    if (certain != ERBP_OK && end == ERBP_OK) {
        die("refused early, then accepted", certain, end);
    }
    if (final_error != ERBP_OK && end != final_error) {
        die("end is not the final error of feed", final_error, end);
    }
    st = erbp_net_load(&net2, arena2, sizeof arena2, file, n);
    if (st != end && !(whole != ERBP_OK && st == whole && end == ERBP_E_SIZE)) {
        die("erbp_net_load and the loader disagree", st, end);
    }
    if (end != ERBP_OK) {
        if (erbp_net_config(&net) != NULL) {
            die("a refused file left a usable network", end, 0);
        }
        return 0;
    }
    if (erbp_net_save(&net, saved, sizeof saved, &written) != ERBP_OK || written != n ||
        memcmp(saved, file, n) != 0) {
        die("the loaded network does not save back to the same bytes", (int)written, (int)n);
    }
    memset(saved, 0, n);
    for (off = 0, c = 0; off < n; c++) {
        size_t piece = any_cut ? cuts[c % k] : n;
        piece = piece == 0 ? 1u : piece;
        piece = piece > n - off ? n - off : piece;
        if (erbp_net_save_range(&net, off, saved + off, piece) != ERBP_OK) {
            die("erbp_net_save_range refused a range inside the file", (int)off, (int)piece);
        }
        off += piece;
    }
    if (memcmp(saved, file, n) != 0) {
        die("erbp_net_save_range in chunks differs from the file", 0, 0);
    }
    return 0;
}
