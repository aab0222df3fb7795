/* erbp_test.c - standalone tests of the C engine: unit checks and golden-vector replay.
 *
 *   erbp_test unit                     integer rules, RNG vectors, CRC, error handling, the
 *                                      incremental loader, the streaming writer, state ranges
 *   erbp_test golden DIR/NAME ...      replay tests/golden/NAME.{erbp,json,bin}: load the model
 *                                      file, run its samples, compare the full state after every
 *                                      tick; the first mismatch names tick, key, index, values.
 *                                      Also: the file loaded in random chunks, written in slices
 *
 * Hosted C99 (stdio, malloc): this program tests the library, it is not part of it. The sanitizer
 * build (cport/Makefile `sanitize`) and the firmware's host build reuse it. Prints one
 * "N passed, N failed" line; exit status 0 iff nothing failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erbp.h"
#include "erbp_intmath.h"

static int passed, failed;

#define CHECK(cond) check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

static void check(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
}

/* ---- unit checks ----------------------------------------------------------------------------- */

/* A small valid configuration: n_in-h-n_out, explicit values. */
static void small_config(erbp_config_t *c, int32_t n_in, int32_t h, int32_t n_out)
{
    int32_t words[ERBP_CONFIG_WORDS];
    int l, n_layers = h > 0 ? 2 : 1;
    memset(words, 0, sizeof words);
    erbp_config_from_words(c, words, ERBP_CONFIG_WORDS);
    c->n_in = n_in;
    c->n_out = n_out;
    c->n_hidden = h > 0 ? 1 : 0;
    if (h > 0)
        c->hidden_size[0] = h;
    c->weight_bits = 8;
    c->state_bits = 16;
    c->ticks_train = 20;
    c->ticks_infer = 20;
    c->burn_in = 2;
    c->in_gain = 200;
    c->in_refractory = 1;
    c->label_period = 3;
    c->syn_shift = 2;
    c->mem_shift = 2;
    c->dend_shift = 3;
    c->i2v_shift = 1;
    c->threshold = 300;
    c->refractory = 2;
    c->noise_prob = 20000;
    c->noise_weight = 100;
    c->err_threshold = 200;
    c->err_label_w = 200;
    c->err_pred_w = 200;
    c->fb_out = 500;
    c->g_amp = 300;
    for (l = 0; l < n_layers; l++) {
        c->w_shift[l] = 4;
        c->gate_lo[l] = -3000;
        c->gate_hi[l] = 3000;
        c->lr_mult[l] = 3;
        c->lr_shift[l] = 5;
        c->init_amp[l] = 60;
        c->p_transmit[l] = l == 0 ? 200 : 256;
        c->p_infer[l] = c->p_transmit[l];
    }
}

/* The early exit: inference ends at the first tick whose lead reaches exit_margin (and reports
 * the ticks run everywhere), training never exits, a lead of 0 never ends a sample. */
static void test_early_exit(void)
{
    static uint32_t arena[4096];
    static uint8_t px[24];
    erbp_net_t net;
    erbp_config_t c;
    erbp_result_t r;
    int32_t pred[2], R[3];
    uint32_t ticks[2], i;
    uint64_t events[2];
    small_config(&c, 12, 6, 3);
    c.readout = 1;
    c.exit_margin = 1;
    for (i = 0; i < 24; i++)
        px[i] = 255;
    CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 7) == ERBP_OK);
    CHECK(erbp_run_sample(&net, px, 12, 0, ERBP_TRAIN, 1, &r) == ERBP_OK && r.ticks == 20);
    CHECK(erbp_run_sample(&net, px, 12, -1, ERBP_INFER, 1, &r) == ERBP_OK);
    CHECK(r.ticks >= 1 && r.ticks < 20 && r.ticks == erbp_tick_count(&net));
    CHECK(erbp_exit_reached(&net) == 1 && r.events == erbp_events(&net));
    CHECK(erbp_read_var(&net, ERBP_VAR_R, 0, R, 3) == ERBP_OK);
    CHECK(r.prediction == (R[0] >= R[1] && R[0] >= R[2] ? 0 : R[1] >= R[2] ? 1 : 2));
    CHECK(erbp_run_samples(&net, px, 2, 0 + 12, NULL, ERBP_INFER, 1, pred, NULL, events,
                           ticks) == ERBP_OK);
    CHECK(ticks[0] == r.ticks && ticks[1] == r.ticks && pred[0] == r.prediction &&
          events[0] == r.events);
    /* equal scores: no lead, no exit; writes of R are checked against its bound */
    R[0] = R[1] = R[2] = 2147450880;
    CHECK(erbp_write_var(&net, ERBP_VAR_R, 0, R, 3) == ERBP_OK && !erbp_exit_reached(&net));
    R[2] = 2147450881;
    CHECK(erbp_write_var(&net, ERBP_VAR_R, 0, R, 3) == ERBP_E_VALUE);
    R[0] = R[1] = -2147450880; /* a lead of 2 * 32768 * 65535 >= 2^31: exact in u32 */
    R[2] = 2147450880;
    CHECK(erbp_write_var(&net, ERBP_VAR_R, 0, R, 3) == ERBP_OK && erbp_exit_reached(&net));
    CHECK(erbp_prediction(&net) == 2);
    c.exit_margin = 2147483647;
    CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 7) == ERBP_OK);
    CHECK(erbp_run_sample(&net, px, 12, -1, ERBP_INFER, 1, &r) == ERBP_OK);
    CHECK(erbp_write_var(&net, ERBP_VAR_R, 0, R, 3) == ERBP_OK && erbp_exit_reached(&net));
}

static void test_intmath(void)
{
    CHECK(erbp_decay(5, 2) == 3 && erbp_decay(-5, 2) == -3 && erbp_decay(3, 2) == 2);
    CHECK(erbp_decay(1, 2) == 0 && erbp_decay(-1, 2) == 0 && erbp_decay(12345, 0) == 0);
    CHECK(erbp_decay(32767, 4) == 30719 && erbp_decay(-32768, 4) == -30720);
    CHECK(erbp_asr(-1, 1) == -1 && erbp_asr(-3, 1) == -2 && erbp_asr(3, 1) == 1);
    CHECK(erbp_asr(-2147483647 - 1, 31) == -1 && erbp_asr(2147483647, 31) == 0);
    CHECK(erbp_srs(-4, 2, 0u) == -1 && erbp_srs(-4, 2, 0xffffffffu) == -1);
    CHECK(erbp_srs(5, 2, 0u) == 2 && erbp_srs(5, 2, 1u) == 1);   /* 1 + [r&3 < 1] */
    CHECK(erbp_srs(-5, 2, 2u) == -1 && erbp_srs(-5, 2, 3u) == -2); /* -2 + [r&3 < 3] */
    CHECK(erbp_sat(40000, -32768, 32767) == 32767 && erbp_sat(-40000, -32768, 32767) == -32768);
    CHECK(erbp_uniform(0u, 16) == -16 && erbp_uniform(0xffffffffu, 16) == 16);
    CHECK(erbp_uniform(0x80000000u, 16) == 0);
}

static void test_rng_vectors(void)
{
    uint32_t k;
    CHECK(erbp_mix32(0u) == 0u && erbp_mix32(1u) == 0x86d2fa73u && erbp_mix32(2u) == 0x0da7f4e7u);
    CHECK(erbp_mix32(0xffffffffu) == 0x99b5e683u && erbp_mix32(0x12345678u) == 0x16e776bdu);
    CHECK(erbp_absorb(0x6a09e667u, 0u) == 0xf3955e50u);
    k = erbp_key(1u, 0x100u, 0u, 0u);
    CHECK(k == 0xd454544cu);
    CHECK(erbp_draw(k, 0) == 0x86487cd9u && erbp_draw(k, 1) == 0xd9ad60b0u);
    CHECK(erbp_draw(k, 2) == 0x36b02799u && erbp_draw(k, 3) == 0xabc0cdbeu);
    k = erbp_key(0xdeadbeefu, 0x301u, 12345u, 99u);
    CHECK(k == 0xf2e4b235u);
    CHECK(erbp_draw(k, 0) == 0x4da4f030u && erbp_draw(k, 1) == 0x77fa2d79u);
    CHECK(erbp_draw(k, 1000) == 0xae2825dfu);
}

static void test_crc_and_status(void)
{
    const uint8_t digits[] = "123456789";
    int i;
    CHECK(erbp_crc32(0, digits, 9) == 0xcbf43926u);
    CHECK(erbp_crc32(erbp_crc32(0, digits, 4), digits + 4, 5) == 0xcbf43926u);
    for (i = 0; i < ERBP_STATUS_COUNT; i++)
        CHECK(strncmp(erbp_status_str((erbp_status_t)-i), "ERBP_", 5) == 0);
    CHECK(strcmp(erbp_status_str((erbp_status_t)1), "unknown status") == 0);
    CHECK(strcmp(erbp_status_str((erbp_status_t)-ERBP_STATUS_COUNT), "unknown status") == 0);
}

static void test_config_errors(void)
{
    erbp_config_t c;
    int32_t where;
    small_config(&c, 12, 6, 3);
    CHECK(erbp_config_check(&c, &where) == ERBP_OK && where == -1);
    CHECK(erbp_config_check(NULL, &where) == ERBP_E_NULL);
    c.n_in = 0;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_RANGE && where == ERBP_OFF_N_IN);
    small_config(&c, 12, 6, 3);
    c.w_shift[3] = 1;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_SLOT && where == ERBP_OFF_W_SHIFT + 3);
    small_config(&c, 12, 6, 3);
    c.threshold = 32767;
    c.state_bits = 12;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_THRESHOLD);
    small_config(&c, 12, 6, 3);
    c.err_pred_w = 201;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_ERR_W && where == ERBP_OFF_ERR_PRED_W);
    small_config(&c, 12, 6, 3);
    c.burn_in = 21;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_BURN_IN);
    small_config(&c, 12, 6, 3);
    c.g_amp = 5462; /* 2 * 3 * 5462 = 32772 */
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_G_AMP);
    small_config(&c, 12, 6, 3);
    c.gate_lo[1] = c.gate_hi[1];
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_GATE && where == ERBP_OFF_GATE_LO + 1);
    small_config(&c, 12, 6, 3);
    c.init_amp[0] = 128;
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_INIT_AMP);
    small_config(&c, 4096, 6, 3);
    c.weight_bits = 16;
    c.init_amp[0] = 1;
    c.w_shift[0] = 4; /* 2^12 * 2^15 * 2^4 > 2^30 */
    CHECK(erbp_config_check(&c, &where) == ERBP_E_CONFIG_GAIN && where == ERBP_OFF_W_SHIFT);
    CHECK(erbp_net_required_bytes(&c) == 0 && erbp_model_bytes(&c) == 0);
    CHECK(erbp_net_required_bytes(NULL) == 0);
}

static void test_api_errors(void)
{
    static uint32_t arena[4096];
    static uint8_t file[8192], px[12];
    erbp_net_t net;
    erbp_config_t c, c2;
    erbp_result_t r;
    int32_t buf[200];
    uint32_t n, seed, seen, counts[3];
    size_t need, written;
    memset(&net, 0, sizeof net);
    small_config(&c, 12, 6, 3);
    need = erbp_net_required_bytes(&c);
    CHECK(need > 0 && need <= sizeof arena);
    /* before init every call refuses */
    CHECK(erbp_tick(&net) == ERBP_E_STATE && erbp_prediction(&net) == -1);
    CHECK(erbp_begin_sample(&net, px, 12, 0, ERBP_TRAIN, 0) == ERBP_E_STATE);
    CHECK(erbp_net_init(NULL, arena, sizeof arena, &c, 1) == ERBP_E_NULL);
    CHECK(erbp_net_init(&net, NULL, sizeof arena, &c, 1) == ERBP_E_NULL);
    CHECK(erbp_net_init(&net, (uint8_t *)arena + 1, sizeof arena - 1, &c, 1) == ERBP_E_ALIGN);
    CHECK(erbp_net_init(&net, arena, need - 1, &c, 1) == ERBP_E_SIZE);
    CHECK(erbp_net_init(&net, arena, need, &c, 7) == ERBP_OK);
    CHECK(erbp_tick(&net) == ERBP_E_STATE); /* no sample begun */
    CHECK(erbp_begin_sample(&net, NULL, 12, 0, ERBP_TRAIN, 0) == ERBP_E_NULL);
    CHECK(erbp_begin_sample(&net, px, 11, 0, ERBP_TRAIN, 0) == ERBP_E_SIZE);
    CHECK(erbp_begin_sample(&net, px, 12, 3, ERBP_TRAIN, 0) == ERBP_E_LABEL);
    CHECK(erbp_begin_sample(&net, px, 12, -1, ERBP_TRAIN, 0) == ERBP_E_LABEL);
    CHECK(erbp_begin_sample(&net, px, 12, 0, (erbp_mode_t)2, 0) == ERBP_E_ARG);
    CHECK(erbp_begin_sample(&net, px, 12, 99, ERBP_INFER, 0) == ERBP_OK); /* label ignored */
    CHECK(erbp_run_sample(&net, px, 12, 2, ERBP_TRAIN, 5, &r) == ERBP_OK);
    CHECK(erbp_net_samples_seen(&net) == 1 && r.prediction >= 0 && r.prediction < 3);
    CHECK(erbp_output_counts(&net, counts, 2) == ERBP_E_SIZE);
    CHECK(erbp_output_counts(&net, counts, 3) == ERBP_OK);
    CHECK(r.ticks == 20 && erbp_tick_count(&net) == 20 && !erbp_exit_reached(&net));
    CHECK(erbp_run_samples(&net, px, 1, 11, NULL, ERBP_INFER, 0, NULL, NULL, NULL, NULL) ==
          ERBP_E_SIZE);
    CHECK(erbp_run_samples(&net, px, 1, 12, NULL, ERBP_TRAIN, 0, NULL, NULL, NULL, NULL) ==
          ERBP_E_NULL);
    /* state access */
    CHECK(erbp_var_size(&net, ERBP_VAR_W, 2, &n) == ERBP_E_ARG);
    CHECK(erbp_var_size(&net, ERBP_VAR_G, 1, &n) == ERBP_E_ARG);
    CHECK(erbp_var_size(&net, (erbp_var_t)99, 0, &n) == ERBP_E_ARG);
    CHECK(erbp_var_size(&net, ERBP_VAR_W, 0, &n) == ERBP_OK && n == 72);
    CHECK(erbp_read_var(&net, ERBP_VAR_W, 0, buf, 71) == ERBP_E_SIZE);
    CHECK(erbp_read_var(&net, ERBP_VAR_W, 0, buf, 200) == ERBP_OK);
    buf[5] = 128;
    CHECK(erbp_write_var(&net, ERBP_VAR_W, 0, buf, 72) == ERBP_E_VALUE);
    buf[5] = -128;
    CHECK(erbp_write_var(&net, ERBP_VAR_W, 0, buf, 72) == ERBP_OK);
    CHECK(erbp_write_var(&net, ERBP_VAR_W, 0, buf, 71) == ERBP_E_SIZE);
    buf[0] = 200; /* err_threshold = 200: ep must stay below */
    CHECK(erbp_write_var(&net, ERBP_VAR_EP, 0, buf, 3) == ERBP_E_VALUE);
    /* model file round trip and refusals */
    CHECK(erbp_net_save(&net, file, 10, &written) == ERBP_E_SIZE);
    CHECK(erbp_net_save(&net, file, sizeof file, &written) == ERBP_OK);
    CHECK(written == erbp_model_bytes(&c));
    CHECK(erbp_model_check(file, written, &c2, &seed, &seen) == ERBP_OK && seed == 7 && seen == 1);
    CHECK(erbp_model_check(file, written - 1, &c2, &seed, &seen) == ERBP_E_FILE_TRUNCATED);
    CHECK(erbp_model_check(file, 20, &c2, &seed, &seen) == ERBP_E_FILE_TRUNCATED);
    CHECK(erbp_model_check(NULL, written, &c2, &seed, &seen) == ERBP_E_NULL);
    file[40] ^= 1;
    CHECK(erbp_model_check(file, written, &c2, &seed, &seen) == ERBP_E_FILE_CRC);
    file[40] ^= 1;
    file[0] = 'X';
    CHECK(erbp_model_check(file, written, &c2, &seed, &seen) == ERBP_E_FILE_MAGIC);
    file[0] = 'E';
    CHECK(erbp_net_load(&net, arena, sizeof arena, file, written) == ERBP_OK);
    CHECK(erbp_net_samples_seen(&net) == 1 && erbp_net_seed(&net) == 7);
}

static int save_range_agrees(const erbp_net_t *net);

/* A read-only network: its refusals, and the file read in place (W and G equal the RAM twin's). */
static void test_rom(void)
{
    static uint32_t arena[4096], file[2048], state[1024], file2[2048];
    static uint8_t px[12] = {0, 200, 13, 0, 255, 1, 0, 0, 90, 7, 0, 31};
    erbp_net_t net, rom;
    erbp_config_t c;
    erbp_result_t r1, r2;
    int32_t a[200], b[200];
    uint32_t n, k;
    size_t fb, sb, written;
    small_config(&c, 12, 5, 3); /* int8 W of 12*5 + 5*3 = 75 bytes: G (int16) at an odd offset */
    sb = erbp_net_state_required_bytes(&c);
    CHECK(sb > 0 && sb < erbp_net_required_bytes(&c) && erbp_net_state_required_bytes(NULL) == 0);
    CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 9) == ERBP_OK);
    CHECK(erbp_run_sample(&net, px, 12, 1, ERBP_TRAIN, 0, &r1) == ERBP_OK);
    fb = erbp_model_bytes(&c);
    CHECK(erbp_net_save(&net, (uint8_t *)file, sizeof file, &written) == ERBP_OK && written == fb);
    CHECK(erbp_net_init_rom(NULL, file, fb, state, sb) == ERBP_E_NULL);
    CHECK(erbp_net_init_rom(&rom, NULL, fb, state, sb) == ERBP_E_NULL);
    CHECK(erbp_net_init_rom(&rom, file, fb, NULL, sb) == ERBP_E_NULL);
    CHECK(erbp_net_init_rom(&rom, file, fb - 1, state, sb) == ERBP_E_FILE_TRUNCATED);
    CHECK(erbp_net_init_rom(&rom, file, fb, state, sb - 1) == ERBP_E_SIZE);
    CHECK(erbp_net_init_rom(&rom, file, fb, (uint8_t *)state + 2, sb) == ERBP_E_ALIGN);
    memcpy((uint8_t *)file2 + 1, file, fb);
    CHECK(erbp_net_init_rom(&rom, (uint8_t *)file2 + 1, fb, state, sb) == ERBP_E_ALIGN);
    ((uint8_t *)file)[300] ^= 4;
    CHECK(erbp_net_init_rom(&rom, file, fb, state, sb) == ERBP_E_FILE_CRC);
    CHECK(erbp_tick(&rom) == ERBP_E_STATE && !erbp_net_is_rom(&rom)); /* left unusable */
    ((uint8_t *)file)[300] ^= 4;
    CHECK(erbp_net_init_rom(&rom, file, fb, state, sb) == ERBP_OK);
    CHECK(erbp_net_is_rom(&rom) && !erbp_net_is_rom(&net) && !erbp_net_is_rom(NULL));
    CHECK(erbp_net_samples_seen(&rom) == 1 && erbp_net_seed(&rom) == 9);
    /* no learning, no weight writes; everything else as for any network */
    CHECK(erbp_begin_sample(&rom, px, 12, 0, ERBP_TRAIN, 0) == ERBP_E_ARG);
    CHECK(erbp_run_sample(&rom, px, 12, 7, ERBP_TRAIN, 0, &r2) == ERBP_E_ARG); /* before LABEL */
    CHECK(erbp_run_samples(&rom, px, 1, 12, a, ERBP_TRAIN, 0, NULL, NULL, NULL, NULL) ==
          ERBP_E_ARG);
    for (k = 0; k < 3; k++) { /* W_0, W_1, G_0 */
        erbp_var_t v = k < 2 ? ERBP_VAR_W : ERBP_VAR_G;
        uint32_t idx = k < 2 ? k : 0;
        CHECK(erbp_var_size(&rom, v, idx, &n) == ERBP_OK);
        CHECK(erbp_read_var(&rom, v, idx, a, 200) == ERBP_OK);
        CHECK(erbp_read_var(&net, v, idx, b, 200) == ERBP_OK && memcmp(a, b, 4 * n) == 0);
        CHECK(erbp_write_var(&rom, v, idx, a, n) == ERBP_E_ARG);
    }
    memset(file2, 0, sizeof file2);
    CHECK(erbp_net_save(&rom, (uint8_t *)file2, sizeof file2, &written) == ERBP_OK);
    CHECK(written == fb && memcmp(file, file2, fb) == 0);
    CHECK(save_range_agrees(&rom));
    for (k = 0; k < 3; k++) {
        uint32_t c1[3], c2[3];
        CHECK(erbp_run_sample(&net, px, 12, -1, ERBP_INFER, k, &r1) == ERBP_OK);
        CHECK(erbp_run_sample(&rom, px, 12, -1, ERBP_INFER, k, &r2) == ERBP_OK);
        CHECK(erbp_output_counts(&net, c1, 3) == ERBP_OK && erbp_output_counts(&rom, c2, 3) == 0);
        CHECK(r1.prediction == r2.prediction && r1.events == r2.events &&
              r1.ticks == r2.ticks && r1.input_spikes == r2.input_spikes &&
              r1.hidden_spikes == r2.hidden_spikes && memcmp(c1, c2, sizeof c1) == 0);
    }
    /* state writes work (the literal input rule is what a read-only network always runs) */
    for (k = 0; k < 12; k++)
        a[k] = (int32_t)(k % 3u);
    CHECK(erbp_write_var(&rom, ERBP_VAR_IN_REF, 0, a, 12) == ERBP_OK);
    CHECK(erbp_read_var(&rom, ERBP_VAR_IN_REF, 0, b, 12) == ERBP_OK && memcmp(a, b, 48) == 0);
}

/* ---- incremental loader, streaming writer, state ranges ---------------------------------------- */

static uint32_t rng_state = 12345u;

static uint32_t rnd(uint32_t n) /* 0 .. n-1 (an LCG: reproducible chunkings) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % n;
}

/* Load data through the incremental loader, cut as `how` says: 0 whole, 1 single bytes, 2 random
 * pieces of 1..64 bytes, 3 random pieces of 1..600 bytes with empty feeds between. Feeding stops
 * at the first error feed returns, as a caller would. Returns erbp_loader_end's status. */
static erbp_status_t load_chunked(erbp_net_t *net, void *arena, size_t arena_bytes,
                                  const uint8_t *data, size_t n, int how)
{
    erbp_loader_t ld;
    size_t off = 0;
    erbp_status_t st = erbp_loader_begin(&ld, net, arena, arena_bytes);
    while (st == ERBP_OK && off < n) {
        size_t m = how == 0 ? n : how == 1 ? 1 : 1 + rnd(how == 2 ? 64u : 600u);
        if (m > n - off)
            m = n - off;
        if (how == 3)
            CHECK(erbp_loader_feed(&ld, data + off, 0) == erbp_loader_status(&ld) ||
                  erbp_loader_status(&ld) != ERBP_OK);
        st = erbp_loader_feed(&ld, data + off, m);
        off += m;
    }
    return erbp_loader_end(&ld);
}

/* Every way of cutting data gives erbp_model_check's status; a good file loads the same network
 * as erbp_net_load, a refused one leaves the network unusable. */
static int loader_agrees(const uint8_t *data, size_t n, void *arena, size_t arena_bytes)
{
    static uint8_t again[1 << 16];
    erbp_net_t net;
    erbp_status_t want = erbp_model_check(data, n, NULL, NULL, NULL);
    int how, ok = 1;
    size_t written = 0;
    for (how = 0; how < 4; how++) {
        erbp_status_t got = load_chunked(&net, arena, arena_bytes, data, n, how);
        if (got != want) {
            printf("FAIL loader (cut %d, %u bytes): %s, erbp_model_check: %s\n", how,
                   (unsigned)n, erbp_status_str(got), erbp_status_str(want));
            ok = 0;
        } else if (got == ERBP_OK) {
            ok &= erbp_net_save(&net, again, sizeof again, &written) == ERBP_OK &&
                  written == n && memcmp(again, data, n) == 0;
        } else {
            ok &= erbp_tick(&net) == ERBP_E_STATE && erbp_net_config(&net) == NULL &&
                  erbp_net_save(&net, again, sizeof again, &written) == ERBP_E_STATE;
        }
    }
    CHECK(ok);
    return ok;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void fix_crc(uint8_t *f, size_t n)
{
    put32(f + n - 4, erbp_crc32(0, f, n - 4));
}

static void test_loader(void)
{
    static uint32_t arena[4096];
    static uint8_t file[8192], bad[8300];
    erbp_net_t net;
    erbp_loader_t ld;
    erbp_config_t c;
    static const int32_t widths[] = {3, 8, 16};
    size_t n = 0, i, need = 0, body = ERBP_FILE_HEADER_BYTES + 4u * ERBP_CONFIG_WORDS, k;
    int32_t wb;
    for (k = 0; k < 3; k++) {
        wb = widths[k];
        small_config(&c, 12, 6, 3);
        c.weight_bits = wb;
        c.init_amp[0] = c.init_amp[1] = wb == 3 ? 3 : 60;
        need = erbp_net_required_bytes(&c);
        CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 99) == ERBP_OK);
        erbp_net_set_samples_seen(&net, 4321);
        CHECK(erbp_net_save(&net, file, sizeof file, &n) == ERBP_OK);
        loader_agrees(file, n, arena, need);
        /* every truncation, bytes appended */
        for (i = 0; i < n; i += i > 40 ? 14u : 1u)
            loader_agrees(file, i, arena, need);
        memcpy(bad, file, n);
        bad[n] = 0;
        loader_agrees(bad, n + 1, arena, need);
        /* every byte flipped, CRC left as it is, then recomputed */
        for (i = 0; i < n; i++) {
            memcpy(bad, file, n);
            bad[i] ^= (uint8_t)(1u << (i % 8));
            loader_agrees(bad, n, arena, need);
            if (i < n - 4) {
                fix_crc(bad, n);
                loader_agrees(bad, n, arena, need);
            }
        }
        /* header words replaced (CRC fixed): size, number of words, config fields */
        for (i = 8; i < body; i += 4) {
            static const uint32_t vals[] = {0u, 1u, 27u, 28u, 0xffffffffu, 63u, 64u, 300u};
            size_t v;
            for (v = 0; v < sizeof vals / sizeof vals[0]; v++) {
                memcpy(bad, file, n);
                put32(bad + i, vals[v]);
                fix_crc(bad, n);
                loader_agrees(bad, n, arena, need);
            }
        }
        /* a weight outside weight_bits; nonzero padding */
        memcpy(bad, file, n);
        bad[body + 5] = wb == 3 ? 0x05 : 0x80;
        fix_crc(bad, n);
        CHECK(erbp_model_check(bad, n, NULL, NULL, NULL) ==
              (wb == 3 ? ERBP_E_FILE_WEIGHT : ERBP_OK));
        loader_agrees(bad, n, arena, need);
        if (wb == 8) { /* 12-6-3 with int8 weights: 126 bytes of arrays, 2 of padding */
            memcpy(bad, file, n);
            bad[n - 5] = 1;
            fix_crc(bad, n);
            CHECK(erbp_model_check(bad, n, NULL, NULL, NULL) == ERBP_E_FILE_PADDING);
            loader_agrees(bad, n, arena, need);
        }
        /* the arena: too small is found as soon as the configuration is in */
        CHECK(erbp_loader_begin(&ld, &net, arena, need - 4) == ERBP_OK);
        CHECK(erbp_loader_feed(&ld, file, body - 1) == ERBP_OK && erbp_loader_file_bytes(&ld) == n);
        CHECK(erbp_loader_feed(&ld, file + body - 1, 1) == ERBP_E_SIZE);
        CHECK(erbp_loader_feed(&ld, file + body, 1) == ERBP_E_SIZE);
        CHECK(erbp_loader_status(&ld) == ERBP_E_SIZE && erbp_loader_end(&ld) == ERBP_E_SIZE);
        CHECK(erbp_net_load(&net, arena, need - 4, file, n) == ERBP_E_SIZE);
        CHECK(erbp_net_config(&net) == NULL);
    }
    /* a rule checked after the CRC: reported by status at once, by end only if the CRC holds */
    memcpy(bad, file, n);
    put32(bad + ERBP_FILE_HEADER_BYTES + 4u * ERBP_OFF_THRESHOLD, 0);
    CHECK(erbp_loader_begin(&ld, &net, arena, sizeof arena) == ERBP_OK);
    CHECK(erbp_loader_feed(&ld, bad, body) == ERBP_OK);
    CHECK(erbp_loader_status(&ld) == ERBP_E_CONFIG_RANGE);
    CHECK(erbp_loader_feed(&ld, bad + body, n - body) == ERBP_OK);
    CHECK(erbp_loader_end(&ld) == ERBP_E_FILE_CRC && erbp_loader_status(&ld) == ERBP_E_FILE_CRC);
    fix_crc(bad, n);
    CHECK(load_chunked(&net, arena, sizeof arena, bad, n, 0) == ERBP_E_CONFIG_RANGE);
    /* argument and state errors; the network is dropped at begin */
    CHECK(erbp_net_load(&net, arena, sizeof arena, file, n) == ERBP_OK);
    CHECK(erbp_loader_begin(NULL, &net, arena, sizeof arena) == ERBP_E_NULL);
    CHECK(erbp_loader_begin(&ld, NULL, arena, sizeof arena) == ERBP_E_NULL);
    CHECK(erbp_loader_feed(&ld, file, n) == ERBP_E_NULL && erbp_loader_end(&ld) == ERBP_E_NULL);
    CHECK(erbp_loader_begin(&ld, &net, NULL, sizeof arena) == ERBP_E_NULL);
    CHECK(erbp_net_config(&net) == NULL); /* dropped */
    CHECK(erbp_loader_begin(&ld, &net, (uint8_t *)arena + 2, sizeof arena - 2) == ERBP_E_ALIGN);
    CHECK(erbp_loader_feed(&ld, file, n) == ERBP_E_ALIGN && erbp_loader_end(&ld) == ERBP_E_ALIGN);
    CHECK(erbp_loader_feed(&ld, file, 1) == ERBP_E_STATE && erbp_loader_end(&ld) == ERBP_E_STATE);
    CHECK(erbp_loader_begin(&ld, &net, arena, sizeof arena) == ERBP_OK);
    CHECK(erbp_loader_file_bytes(&ld) == 0 && erbp_loader_status(&ld) == ERBP_OK);
    CHECK(erbp_loader_feed(&ld, NULL, 1) == ERBP_E_NULL && erbp_loader_status(&ld) == ERBP_OK);
    CHECK(erbp_loader_feed(&ld, file, n) == ERBP_OK && erbp_net_config(&net) == NULL);
    CHECK(erbp_loader_feed(&ld, file, 1) == ERBP_E_FILE_TRAILING);
    CHECK(erbp_loader_end(&ld) == ERBP_E_FILE_TRAILING && erbp_net_config(&net) == NULL);
    CHECK(erbp_loader_begin(&ld, &net, arena, sizeof arena) == ERBP_OK);
    CHECK(erbp_loader_feed(&ld, file, n) == ERBP_OK && erbp_loader_end(&ld) == ERBP_OK);
    CHECK(erbp_loader_status(&ld) == ERBP_OK && erbp_loader_feed(&ld, file, 1) == ERBP_E_STATE);
    CHECK(erbp_net_samples_seen(&net) == 4321 && erbp_net_seed(&net) == 99);
    CHECK(erbp_loader_status(NULL) == ERBP_E_NULL && erbp_loader_file_bytes(NULL) == 0);
}

/* erbp_net_save_range: every slice equals the same bytes of erbp_net_save's file. */
static int save_range_agrees(const erbp_net_t *net)
{
    static uint8_t whole[1 << 17], part[1 << 17];
    size_t n = 0, off, len;
    int k, ok = erbp_net_save(net, whole, sizeof whole, &n) == ERBP_OK;
    for (k = 0; ok && k < 400; k++) {
        off = k < 8 ? (size_t)k : k < 16 ? n - (size_t)(k - 8) : rnd((uint32_t)n + 1u);
        len = k % 3 == 0 ? n - off : rnd((uint32_t)(n - off) + 1u);
        if (k % 5 == 0 && len > 70)
            len = rnd(70); /* short slices near anything */
        memset(part, 0xA5, len + 1);
        ok = erbp_net_save_range(net, off, part, len) == ERBP_OK &&
             memcmp(part, whole + off, len) == 0 && part[len] == 0xA5;
        if (!ok)
            printf("FAIL save_range(%u, %u)\n", (unsigned)off, (unsigned)len);
    }
    ok = ok && erbp_net_save_range(net, 0, part, n + 1) == ERBP_E_ARG &&
         erbp_net_save_range(net, n + 1, part, 0) == ERBP_E_ARG &&
         erbp_net_save_range(net, n, part, 0) == ERBP_OK &&
         erbp_net_save_range(net, 1, part, n) == ERBP_E_ARG &&
         erbp_net_save_range(net, 0, NULL, 1) == ERBP_E_NULL &&
         erbp_net_save_range(NULL, 0, part, 1) == ERBP_E_NULL;
    CHECK(ok);
    return ok;
}

static void test_save_range_and_var_ranges(void)
{
    static uint32_t arena[4096];
    static uint8_t px[12];
    erbp_net_t net;
    erbp_config_t c;
    int32_t all[100], part[100], vals[3] = {1, -2, 3};
    uint32_t i, n;
    int wb;
    for (wb = 4; wb <= 12; wb += 8) {
        small_config(&c, 12, 6, 3);
        c.weight_bits = wb;
        c.init_amp[0] = c.init_amp[1] = 7;
        CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 5) == ERBP_OK);
        erbp_net_set_samples_seen(&net, 0x01020304u);
        save_range_agrees(&net);
    }
    memset(&net, 0, sizeof net);
    CHECK(erbp_net_save_range(&net, 0, (uint8_t *)all, 1) == ERBP_E_STATE);
    /* state ranges */
    CHECK(erbp_net_init(&net, arena, sizeof arena, &c, 5) == ERBP_OK);
    for (i = 0; i < 12; i++)
        px[i] = (uint8_t)(20 * i);
    CHECK(erbp_run_sample(&net, px, 12, 1, ERBP_TRAIN, 0, NULL) == ERBP_OK);
    CHECK(erbp_var_size(&net, ERBP_VAR_W, 0, &n) == ERBP_OK && n == 72);
    CHECK(erbp_read_var(&net, ERBP_VAR_W, 0, all, 100) == ERBP_OK);
    for (i = 0; i <= n; i += 7) {
        uint32_t len = n - i < 9 ? n - i : 9;
        CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 0, i, part, len) == ERBP_OK &&
              memcmp(part, all + i, len * sizeof *part) == 0);
    }
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 0, 70, part, 3) == ERBP_E_SIZE);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 0, 73, part, 0) == ERBP_E_SIZE);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 0, 72, part, 0) == ERBP_OK);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 2, 0, part, 1) == ERBP_E_ARG);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_V, 0, 0, NULL, 1) == ERBP_E_NULL);
    CHECK(erbp_write_var_range(&net, ERBP_VAR_W, 1, 10, vals, 3) == ERBP_OK);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 1, 10, part, 3) == ERBP_OK &&
          part[0] == 1 && part[1] == -2 && part[2] == 3);
    vals[1] = 2048; /* outside weight_bits = 12 */
    CHECK(erbp_write_var_range(&net, ERBP_VAR_W, 1, 10, vals, 3) == ERBP_E_VALUE);
    CHECK(erbp_read_var_range(&net, ERBP_VAR_W, 1, 11, part, 1) == ERBP_OK && part[0] == -2);
    CHECK(erbp_write_var_range(&net, ERBP_VAR_W, 1, 17, vals, 2) == ERBP_E_SIZE);
    vals[0] = 1;
    CHECK(erbp_write_var_range(&net, ERBP_VAR_SPK, 0, 5, vals, 1) == ERBP_OK);
    CHECK(erbp_read_var(&net, ERBP_VAR_SPK, 0, part, 100) == ERBP_OK && part[5] == 1);
}

/* ---- golden replay --------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = (uint8_t *)malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = 0;
        *n = (size_t)len;
    }
    return buf;
}

/* The next occurrence of "key": after p (the manifest is json.dumps output: keys quoted). */
static const char *after_key(const char *p, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(p, pat);
    return p ? p + strlen(pat) : NULL;
}

static int parse_int(const char **p, long *out)
{
    char *end;
    while (**p == ' ' || **p == '\n' || **p == '[' || **p == ',')
        (*p)++;
    *out = strtol(*p, &end, 10);
    if (end == *p)
        return 0;
    *p = end;
    return 1;
}

/* Snapshot keys in the reference's order: W_l, G_h, per population I V U ref spk count, then
 * in_ref in_spk ep en ep_spk en_spk. Returns the number of keys. */
typedef struct key {
    char name[16];
    erbp_var_t var;
    uint32_t index, n;
} key_t_;

static int snapshot_keys(const erbp_net_t *net, key_t_ *keys)
{
    static const char *pv[] = {"I", "V", "U", "ref", "spk", "count"};
    static const erbp_var_t pvar[] = {ERBP_VAR_I, ERBP_VAR_V, ERBP_VAR_U, ERBP_VAR_REF,
                                      ERBP_VAR_SPK, ERBP_VAR_COUNT};
    static const char *iv[] = {"in_ref", "in_spk", "ep", "en", "ep_spk", "en_spk", "R"};
    static const erbp_var_t ivar[] = {ERBP_VAR_IN_REF, ERBP_VAR_IN_SPK, ERBP_VAR_EP,
                                      ERBP_VAR_EN, ERBP_VAR_EP_SPK, ERBP_VAR_EN_SPK, ERBP_VAR_R};
    const erbp_config_t *c = erbp_net_config(net);
    int nk = 0, i;
    uint32_t l, p;
    for (l = 0; l <= (uint32_t)c->n_hidden; l++, nk++) {
        snprintf(keys[nk].name, sizeof keys[nk].name, "W%u", (unsigned)l);
        keys[nk].var = ERBP_VAR_W;
        keys[nk].index = l;
    }
    for (l = 0; l < (uint32_t)c->n_hidden; l++, nk++) {
        snprintf(keys[nk].name, sizeof keys[nk].name, "G%u", (unsigned)l);
        keys[nk].var = ERBP_VAR_G;
        keys[nk].index = l;
    }
    for (p = 0; p <= (uint32_t)c->n_hidden; p++)
        for (i = 0; i < 6; i++, nk++) {
            snprintf(keys[nk].name, sizeof keys[nk].name, "%s%u", pv[i], (unsigned)p);
            keys[nk].var = pvar[i];
            keys[nk].index = p;
        }
    for (i = 0; i < 7; i++, nk++) {
        snprintf(keys[nk].name, sizeof keys[nk].name, "%s", iv[i]);
        keys[nk].var = ivar[i];
        keys[nk].index = 0;
    }
    for (i = 0; i < nk; i++)
        erbp_var_size(net, keys[i].var, keys[i].index, &keys[i].n);
    return nk;
}

static void golden(const char *base)
{
    char path[1024];
    size_t n_model = 0, n_json = 0, n_bin = 0, rec_words = 0, off = 0;
    uint8_t *model, *bin;
    char *json;
    const char *p;
    erbp_net_t net;
    erbp_config_t cfg;
    void *arena = NULL;
    key_t_ keys[64];
    int nk, i, sample = 0, ok = 1, rom_on = 0, rom_samples = 0;
    long tick_total = 0;
    int32_t *got = NULL, *rom_got = NULL;
    erbp_net_t rom;
    uint32_t *rom_file = NULL, *rom_state = NULL;
    snprintf(path, sizeof path, "%s.erbp", base);
    model = read_file(path, &n_model);
    snprintf(path, sizeof path, "%s.json", base);
    json = (char *)read_file(path, &n_json);
    snprintf(path, sizeof path, "%s.bin", base);
    bin = read_file(path, &n_bin);
    if (!model || !json || !bin) {
        printf("FAIL %s: cannot read .erbp/.json/.bin\n", base);
        failed++;
        goto done;
    }
    if (erbp_model_check(model, n_model, &cfg, NULL, NULL) != ERBP_OK) {
        printf("FAIL %s: model file refused\n", base);
        failed++;
        goto done;
    }
    arena = malloc(erbp_net_required_bytes(&cfg));
    if (!arena || erbp_net_load(&net, arena, erbp_net_required_bytes(&cfg), model, n_model)) {
        printf("FAIL %s: load\n", base);
        failed++;
        goto done;
    }
    /* the same file through the incremental loader in pieces, and written back in slices */
    if (!loader_agrees(model, n_model, arena, erbp_net_required_bytes(&cfg)) ||
        erbp_net_load(&net, arena, erbp_net_required_bytes(&cfg), model, n_model) != ERBP_OK ||
        !save_range_agrees(&net)) {
        printf("FAIL %s: incremental load or slices\n", base);
        goto done;
    }
    nk = snapshot_keys(&net, keys);
    for (i = 0; i < nk; i++)
        rec_words += keys[i].n;
    got = (int32_t *)malloc(rec_words * sizeof *got);
    rom_got = (int32_t *)malloc(rec_words * sizeof *rom_got);
    p = after_key(json, "samples");
    while (ok && p && (p = after_key(p, "mode")) != NULL) {
        long label, index, v;
        uint32_t j, n_in = (uint32_t)cfg.n_in, t, ticks;
        uint8_t *px = (uint8_t *)malloc(n_in);
        int train;
        while (*p == ' ')
            p++;
        train = strncmp(p, "\"train\"", 7) == 0;
        p = after_key(p, "label");
        parse_int(&p, &label);
        p = after_key(p, "index");
        parse_int(&p, &index);
        p = after_key(p, "pixels");
        for (j = 0; j < n_in; j++) {
            parse_int(&p, &v);
            px[j] = (uint8_t)v;
        }
        if (erbp_begin_sample(&net, px, n_in, (int32_t)label, train ? ERBP_TRAIN : ERBP_INFER,
                              (uint32_t)index) != ERBP_OK) {
            printf("FAIL %s: sample %d refused\n", base, sample);
            ok = 0;
        }
        /* an inference sample runs on a read-only twin too (the network's file read in place,
         * state in its own arena), in lockstep: its full state must equal the RAM network's */
        rom_on = 0;
        if (ok && !train) {
            size_t fb = erbp_model_bytes(&cfg), sb = erbp_net_state_required_bytes(&cfg);
            free(rom_file);
            free(rom_state);
            rom_file = (uint32_t *)malloc(fb + 4);
            rom_state = (uint32_t *)malloc(sb);
            rom_on = rom_file && rom_state &&
                     erbp_net_save(&net, (uint8_t *)rom_file, fb, NULL) == ERBP_OK &&
                     erbp_net_init_rom(&rom, rom_file, fb, rom_state, sb) == ERBP_OK &&
                     erbp_begin_sample(&rom, px, n_in, -1, ERBP_INFER, (uint32_t)index) == ERBP_OK;
            if (!rom_on) {
                printf("FAIL %s: read-only twin of sample %d\n", base, sample);
                ok = 0;
            }
            rom_samples++;
        }
        ticks = (uint32_t)(train ? cfg.ticks_train : cfg.ticks_infer);
        for (t = 0; ok && t < ticks; t++, tick_total++) {
            size_t w = 0;
            erbp_tick(&net);
            for (i = 0; i < nk; i++) {
                erbp_read_var(&net, keys[i].var, keys[i].index, got + w, keys[i].n);
                w += keys[i].n;
            }
            if (rom_on) {
                erbp_tick(&rom);
                for (i = 0, w = 0; ok && i < nk; w += keys[i].n, i++) {
                    uint32_t e;
                    erbp_read_var(&rom, keys[i].var, keys[i].index, rom_got, keys[i].n);
                    for (e = 0; e < keys[i].n; e++)
                        if (rom_got[e] != got[w + e]) {
                            printf("FAIL %s: read-only twin differs at tick %ld: %s[%u]\n",
                                   base, tick_total, keys[i].name, (unsigned)e);
                            ok = 0;
                            break;
                        }
                }
                if (ok && erbp_exit_reached(&rom) != erbp_exit_reached(&net)) {
                    printf("FAIL %s: read-only twin's early exit differs at tick %ld\n", base,
                           tick_total);
                    ok = 0;
                }
            }
            if ((off + rec_words) * 4 > n_bin) {
                printf("FAIL %s: %s.bin is shorter than the run\n", base, base);
                ok = 0;
                break;
            }
            for (i = 0, w = 0; ok && i < nk; w += keys[i].n, i++) {
                uint32_t e;
                for (e = 0; e < keys[i].n; e++) {
                    const uint8_t *b = bin + 4 * (off + w + e);
                    int32_t want = (int32_t)((uint32_t)b[0] | ((uint32_t)b[1] << 8) |
                                             ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24));
                    if (got[w + e] != want) {
                        printf("FAIL %s: first mismatch at tick %ld (sample %d, tick %u): "
                               "%s[%u] = %d, golden %d\n", base, tick_total, sample,
                               (unsigned)t, keys[i].name, (unsigned)e, (int)got[w + e],
                               (int)want);
                        ok = 0;
                        break;
                    }
                }
            }
            off += rec_words;
            if (erbp_exit_reached(&net)) { /* the early exit ends the sample */
                tick_total++;
                break;
            }
        }
        if (rom_on && (erbp_prediction(&rom) != erbp_prediction(&net) ||
                       erbp_events(&rom) != erbp_events(&net))) {
            printf("FAIL %s: read-only twin's result differs\n", base);
            ok = 0;
        }
        free(px);
        sample++;
    }
    if (ok && off * 4 != n_bin) {
        printf("FAIL %s: ran %ld ticks, %s.bin holds more\n", base, tick_total, base);
        ok = 0;
    }
    if (ok && sample == 0) {
        printf("FAIL %s: no samples found in the manifest\n", base);
        ok = 0;
    }
    CHECK(ok);
    if (ok && rom_samples == 0) {
        printf("FAIL %s: no inference sample for the read-only twin\n", base);
        ok = 0;
    }
    if (ok)
        printf("ok %s: %d samples, %ld ticks, full state equal (read-only twin: %d samples)\n",
               base, sample, tick_total, rom_samples);
done:
    free(model);
    free(json);
    free(bin);
    free(arena);
    free(got);
    free(rom_got);
    free(rom_file);
    free(rom_state);
}

int main(int argc, char **argv)
{
    int i;
    if (argc >= 2 && strcmp(argv[1], "unit") == 0) {
        test_intmath();
        test_rng_vectors();
        test_crc_and_status();
        test_config_errors();
        test_api_errors();
        test_early_exit();
        test_loader();
        test_save_range_and_var_ranges();
        test_rom();
    } else if (argc >= 3 && strcmp(argv[1], "golden") == 0) {
        for (i = 2; i < argc; i++)
            golden(argv[i]);
    } else {
        printf("usage: %s unit | golden DIR/NAME ...\n", argv[0]);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
