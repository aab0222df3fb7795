/* erbp.h - the portable eRBP engine: public API.
 *
 * Freestanding C99: no malloc, no stdio, no libm, no global mutable state. The caller owns all
 * memory: an erbp_net_t (the instance, fixed size) and one arena of erbp_net_required_bytes()
 * bytes that holds the weights, feedback matrices and every neuron state. Every function returns
 * an erbp_status_t (ERBP_OK = 0, errors negative) or documents its result; no function asserts or
 * aborts on bad input. Results are bit-exact with the reference engine (docs/semantics.md).
 *
 * Integer formats (docs/semantics.md section 1.6):
 *   weights    weight_bits-bit signed, stored int8 if weight_bits <= 8 else int16
 *   I, V, U    state_bits-bit signed, stored int16
 *   G          int16;  ref counters 0..255;  spike flags 0/1;  spike counts 0..65535
 *   ep, en     0 .. err_threshold-1
 *   R          int32 readout sums of the outputs, |R| <= 32768 * 65535
 * The read/write functions below exchange every one of them as int32_t.
 *
 * Typical use:
 *     erbp_config_t cfg = ...;                        // or erbp_model_check() on a model file
 *     static erbp_net_t net;  static uint32_t arena[N];   // N*4 >= erbp_net_required_bytes(&cfg)
 *     erbp_net_init(&net, arena, sizeof arena, &cfg, seed);
 *     erbp_run_sample(&net, pixels, n_in, label, ERBP_TRAIN, index, &result);
 */
#ifndef ERBP_H
#define ERBP_H

#include <stddef.h>
#include <stdint.h>

#include "erbp_params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ---------------------------------------------------------------------------- */
typedef enum erbp_status {
    ERBP_OK = 0,
    ERBP_E_NULL = -1,            /* a required pointer argument is NULL */
    ERBP_E_SIZE = -2,            /* a buffer is too small, or a length does not match the network */
    ERBP_E_ALIGN = -3,           /* the arena is not 4-byte aligned */
    ERBP_E_ARG = -4,             /* an argument is out of range (mode, variable id, index, seed) */
    ERBP_E_STATE = -5,           /* no sample in progress, or its tick counter reached 65535 */
    ERBP_E_LABEL = -6,           /* training label outside [0, n_out) */
    ERBP_E_VALUE = -7,           /* a written state or weight value lies outside its width */
    ERBP_E_CONFIG_RANGE = -8,    /* a configuration field lies outside its range (params.FIELDS) */
    ERBP_E_CONFIG_SLOT = -9,     /* an unused slot of a per-layer or per-hidden field is not 0 */
    ERBP_E_CONFIG_THRESHOLD = -10, /* threshold > smax */
    ERBP_E_CONFIG_ERR_W = -11,   /* err_label_w or err_pred_w > err_threshold */
    ERBP_E_CONFIG_BURN_IN = -12, /* burn_in > ticks_train */
    ERBP_E_CONFIG_G_AMP = -13,   /* 2 * n_out * g_amp > 32767 */
    ERBP_E_CONFIG_GATE = -14,    /* gate_lo[l] >= gate_hi[l] */
    ERBP_E_CONFIG_INIT_AMP = -15, /* init_amp[l] > wmax */
    ERBP_E_CONFIG_GAIN = -16,    /* n_pre(l) * 2^(weight_bits-1) * 2^w_shift[l] > 2^30 */
    ERBP_E_FILE_TRUNCATED = -17, /* model file shorter than its header or its declared size */
    ERBP_E_FILE_MAGIC = -18,     /* not a model file (magic is not "ERBP") */
    ERBP_E_FILE_FORMAT = -19,    /* another model-file format version */
    ERBP_E_FILE_SEMANTICS = -20, /* made for another semantics version */
    ERBP_E_FILE_TRAILING = -21,  /* bytes after the declared end */
    ERBP_E_FILE_CRC = -22,       /* CRC-32 mismatch: the file is corrupt */
    ERBP_E_FILE_WORDS = -23,     /* another number of configuration words */
    ERBP_E_FILE_SIZE = -24,      /* the declared size does not match the configuration's arrays */
    ERBP_E_FILE_WEIGHT = -25,    /* a weight lies outside the weight_bits range */
    ERBP_E_FILE_PADDING = -26    /* nonzero padding before the CRC */
} erbp_status_t;

#define ERBP_STATUS_COUNT 27 /* number of status codes: 0 .. -(ERBP_STATUS_COUNT - 1) */

/* A constant, human-readable name of a status ("ERBP_E_FILE_CRC: ..."); never NULL (unknown codes
 * give "unknown status"). */
const char *erbp_status_str(erbp_status_t s);

/* ---- configuration --------------------------------------------------------------------------- */

/* Check a configuration against every rule of docs/semantics.md section 3, in the same order as
 * the reference (NetConfig.from_words then NetConfig.validate): n_hidden's range, unused slots,
 * each field's range in field order, then the cross-field rules. Returns ERBP_OK or the
 * ERBP_E_CONFIG_* code of the first rule broken; *where (if not NULL) receives the word offset
 * (ERBP_OFF_*, plus the slot) of the value that broke it, or -1 on success. */
erbp_status_t erbp_config_check(const erbp_config_t *cfg, int32_t *where);

/* Copy n = ERBP_CONFIG_WORDS int32 words (model-file order) into *cfg (not checked). Errors:
 * ERBP_E_NULL, ERBP_E_SIZE (n != ERBP_CONFIG_WORDS). */
erbp_status_t erbp_config_from_words(erbp_config_t *cfg, const int32_t *words, size_t n);

/* The inverse: write ERBP_CONFIG_WORDS words. Errors: ERBP_E_NULL, ERBP_E_SIZE (n too small). */
erbp_status_t erbp_config_to_words(const erbp_config_t *cfg, int32_t *words, size_t n);

/* ---- memory ---------------------------------------------------------------------------------- */

/* Alignment (bytes) of every array inside the arena, relative to the arena's start. The arena
 * itself must be at least 4-byte aligned; 16-byte alignment helps SIMD code. */
#define ERBP_ARENA_ALIGN 16u

/* Bytes of arena a network of this configuration needs (weights, G, every state and scratch
 * array); 0 if cfg is NULL or invalid. The same arithmetic is mirrored in Python
 * (erbp.engines.c.required_bytes) and tested equal. Does not include sizeof(erbp_net_t). */
size_t erbp_net_required_bytes(const erbp_config_t *cfg);

/* ---- the network instance -------------------------------------------------------------------- */

typedef enum erbp_mode { ERBP_INFER = 0, ERBP_TRAIN = 1 } erbp_mode_t;

/* One population of two-compartment neurons (private: use the functions below). */
typedef struct erbp_pop {
    int16_t *I, *V, *U;   /* state_bits values */
    int16_t *dw;          /* phase-1 update factor of each neuron (scratch) */
    int32_t *acc;         /* phase-3 synaptic sum (scratch; also the feedback sum of phase 5) */
    uint16_t *count;      /* spikes in this sample */
    uint16_t *list;       /* indices of the neurons that spiked in the last tick */
    uint8_t *ref, *spk;
    uint32_t n, n_spk;
} erbp_pop_t;

/* The network instance. Its size is fixed (sizeof(erbp_net_t), also erbp_net_struct_bytes());
 * its members are private and hold pointers into the caller's arena, which must outlive it and
 * must not move. */
typedef struct erbp_net {
    erbp_config_t cfg;
    uint32_t seed, samples_seen;
    uint32_t n_layers, n_pops;             /* n_hidden + 1 each */
    uint32_t size[ERBP_MAX_LAYERS + 1];   /* population sizes: input, hidden..., output */
    void *w[ERBP_MAX_LAYERS];             /* int8_t or int16_t, [n_pre][n_post] */
    int16_t *g[ERBP_MAX_HIDDEN];          /* [n_out][h_h] */
    erbp_pop_t pop[ERBP_MAX_LAYERS];
    uint8_t *pixels, *in_ref, *in_spk;
    uint16_t *in_nz, *in_list;            /* nonzero pixels; inputs that spiked this tick */
    uint16_t *in_thr;                     /* pixel * in_gain of each nonzero pixel */
    uint8_t *in_hit;                      /* phase-2 draw outcome of each nonzero pixel (scratch) */
    uint32_t n_nz, n_in_spk;
    int16_t *ep, *en;
    uint8_t *ep_spk, *en_spk;
    int32_t *R;                           /* readout sums of the output neurons */
    int16_t *mask;                        /* blank-out mask of one row (scratch) */
    /* the sample in progress */
    uint32_t key_input, key_noise[ERBP_MAX_LAYERS], key_round[ERBP_MAX_LAYERS],
        key_blank[ERBP_MAX_LAYERS];       /* per-sample stream keys */
    uint32_t sample, tick, ticks, label_phase;
    int32_t label, mode;
    uint64_t events;
    uint32_t input_spikes, hidden_spikes;
    uint32_t begun, in_dirty, ready;
    const uint8_t *px;                    /* the pixels of the sample: net->pixels, or (read-only
                                           * networks) the caller's, which are not copied */
    const uint8_t *rom;                   /* read-only network: its model file (NULL: in the arena) */
} erbp_net_t;

/* ---- read-only networks: inference from flash ----------------------------------------------- */

/* A network can also run inference straight from a model file held in read-only memory (a
 * microcontroller's flash: the `erbp export --format c` header puts the file there as const
 * data): its configuration, weights and G are read in place and never copied, and RAM holds only
 * the neuron and input state, in a state arena of erbp_net_state_required_bytes() bytes. It is an
 * ordinary erbp_net_t, run by the same sample and tick code as a network in RAM, and computes
 * exactly the same predictions, spike counts, events and state. What differs:
 *   - training is refused (erbp_begin_sample, erbp_run_sample, erbp_run_samples with ERBP_TRAIN:
 *     ERBP_E_ARG), and so are writes of W and G (erbp_write_var*: ERBP_E_ARG);
 *   - the pixels of a sample are not copied: after erbp_begin_sample they must stay unchanged
 *     until the sample's last erbp_tick (erbp_run_sample and erbp_run_samples need nothing);
 *   - the model file must stay in place, unchanged, as long as the network is used.
 * Reading every variable, erbp_net_save and erbp_net_save_range work as for any network. */

/* Bytes of state arena a read-only network of this configuration needs (the arena of
 * erbp_net_required_bytes without W, G and what only training or a copy of the pixels uses); 0
 * if cfg is NULL or invalid. Mirrored in Python (erbp.cengine.state_required_bytes), tested
 * equal. For 784-100-10: 5,312 bytes (erbp_net_required_bytes: 91,888). */
size_t erbp_net_state_required_bytes(const erbp_config_t *cfg);

/* Make *net a read-only network over the model file model[0..model_bytes) (validated whole
 * first, exactly as erbp_model_check), with its state in state[0..state_bytes); seed and
 * samples_seen come from the file, the state is reset. The file is read in place: it must be
 * 4-byte aligned, and on a big-endian core its weights must be 8-bit (the file is little-endian).
 * Errors: ERBP_E_NULL; those of erbp_model_check; ERBP_E_ALIGN (model or state not 4-byte
 * aligned, or 16-bit weights on a big-endian core); ERBP_E_SIZE (state_bytes <
 * erbp_net_state_required_bytes). On error *net is left unusable. */
erbp_status_t erbp_net_init_rom(erbp_net_t *net, const void *model, size_t model_bytes,
                                void *state, size_t state_bytes);

/* Nonzero if net is an initialised read-only network (erbp_net_init_rom), 0 otherwise. */
int erbp_net_is_rom(const erbp_net_t *net);

/* sizeof(erbp_net_t), for bindings that cannot see the struct. */
size_t erbp_net_struct_bytes(void);

/* Lay a network out in the caller's arena and generate its weights and G from the seed exactly as
 * docs/semantics.md section 6; samples_seen = 0, state reset. Errors: ERBP_E_NULL, ERBP_E_ALIGN,
 * ERBP_E_CONFIG_* (cfg invalid), ERBP_E_SIZE (arena_bytes < erbp_net_required_bytes(cfg)). On
 * error *net is left unusable (every later call returns ERBP_E_STATE). */
erbp_status_t erbp_net_init(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const erbp_config_t *cfg, uint32_t seed);

/* Reset every dynamic state to 0 (docs/semantics.md section 4); weights, G, samples_seen kept.
 * A sample in progress restarts at tick 0 with the same pixels, label, mode and index (as the
 * reference's reset_state). Errors: ERBP_E_NULL, ERBP_E_STATE (not initialised). */
erbp_status_t erbp_net_reset_state(erbp_net_t *net);

/* Read-only views of the instance (net must be initialised; NULL gives NULL/0). */
const erbp_config_t *erbp_net_config(const erbp_net_t *net);
uint32_t erbp_net_seed(const erbp_net_t *net);
uint32_t erbp_net_samples_seen(const erbp_net_t *net);
/* Set samples_seen (e.g. after resuming). Errors: ERBP_E_NULL, ERBP_E_STATE. */
erbp_status_t erbp_net_set_samples_seen(erbp_net_t *net, uint32_t samples_seen);

/* ---- model files (docs/semantics.md section 9) ----------------------------------------------- */

/* Exact size in bytes of the model file of a configuration; 0 if cfg is NULL or invalid. */
size_t erbp_model_bytes(const erbp_config_t *cfg);

/* Fully validate model-file bytes without loading them: sizes, magic, versions, CRC-32, the
 * configuration, every weight's range and the padding, in the reference's order. On ERBP_OK the
 * configuration, seed and samples_seen are written to the non-NULL out pointers (so the caller can
 * size the arena). Errors: ERBP_E_NULL (data), ERBP_E_FILE_*, ERBP_E_CONFIG_*. */
erbp_status_t erbp_model_check(const uint8_t *data, size_t n, erbp_config_t *cfg,
                               uint32_t *seed, uint32_t *samples_seen);

/* Validate (as erbp_model_check) and load a model file into a network laid out in the arena; the
 * state is reset. Errors: those of erbp_model_check, ERBP_E_ALIGN, ERBP_E_SIZE (arena). */
erbp_status_t erbp_net_load(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const uint8_t *data, size_t n);

/* Write the network (config, seed, samples_seen, W, G) as a model file into out[0..cap). *written
 * (if not NULL) receives erbp_model_bytes(). Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_SIZE. */
erbp_status_t erbp_net_save(const erbp_net_t *net, uint8_t *out, size_t cap, size_t *written);

/* Write bytes [offset, offset + n) of the model file erbp_net_save would write into out[0..n),
 * without the rest of the file: a model goes out in chunks with no buffer for the whole file (a
 * board answering reads of its model). Slices of any offsets and lengths put together equal
 * erbp_net_save's file. A slice that reaches the CRC (the last 4 bytes) costs one pass over the
 * whole file. Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_ARG (offset + n > erbp_model_bytes()). */
erbp_status_t erbp_net_save_range(const erbp_net_t *net, size_t offset, uint8_t *out, size_t n);

/* CRC-32 (IEEE 802.3, as zlib.crc32) of n bytes, continuing from crc (0 to start). */
uint32_t erbp_crc32(uint32_t crc, const uint8_t *data, size_t n);

/* ---- incremental model loading --------------------------------------------------------------- */

/* The loader of a model file that arrives in pieces of any size (down to single bytes), written
 * straight into the network: the file is never held whole, so a board whose memory holds the
 * network but not the network and its file can still load one. Fixed size, no allocation; the
 * members are private. Use:
 *
 *     erbp_loader_t ld;
 *     erbp_status_t st = erbp_loader_begin(&ld, &net, arena, sizeof arena);  // net now unusable
 *     while (st == ERBP_OK && (len = receive(chunk)) > 0)
 *         st = erbp_loader_feed(&ld, chunk, len);
 *     st = erbp_loader_end(&ld);                  // ERBP_OK: net holds the model, state reset
 *
 * The loader checks what erbp_model_check checks, and erbp_loader_end returns exactly
 * erbp_model_check's status for the bytes fed, however they were cut into chunks (then, as in
 * erbp_net_load, ERBP_E_SIZE if the network does not fit the arena). The checks run as soon as
 * their bytes are in: with the first ERBP_FILE_HEADER_BYTES + 4 bytes the magic, the versions and
 * the declared size; at the end of the configuration the number of its words, the configuration
 * (erbp_config_check), the file size it implies and the arena (the network is laid out then);
 * each weight's range as it arrives (weights and G are written into the arena, nothing else is
 * stored); the padding; the CRC-32 at the end.
 *
 * A refused or incomplete file never makes the network usable: erbp_loader_begin drops what it
 * held (every call on it returns ERBP_E_STATE, as after a failed erbp_net_init) and only an
 * erbp_loader_end that returns ERBP_OK makes it usable again. */
typedef struct erbp_loader {
    erbp_net_t *net;        /* the network loaded into; NULL: check only */
    erbp_config_t *cfg;     /* where the configuration words go (net's own, or the checker's) */
    void *arena;
    size_t arena_bytes;
    uint32_t state;         /* a load in progress (a magic number) or not */
    int32_t status;         /* ERBP_OK or the error feed returned (sticky) */
    int32_t held;           /* a rule broken that erbp_model_check reports only after the CRC */
    uint32_t pos;           /* bytes fed */
    uint32_t size;          /* the declared file size (0 until known) */
    uint32_t crc, file_crc; /* running CRC-32 of the bytes before the last 4; those 4 bytes */
    uint32_t word;          /* the configuration word being assembled */
    uint32_t array, at;     /* the body array (W_0.., G_0.., then padding) and its byte */
    uint8_t head[ERBP_FILE_HEADER_BYTES + 4]; /* the first bytes: magic .. number of words */
    uint8_t low;            /* the first byte of an int16 split across chunks */
} erbp_loader_t;

/* Start loading a model file into net, laid out in arena[0..arena_bytes) (4-byte aligned, at
 * least erbp_net_required_bytes() of the file's configuration; the arena is checked once that is
 * known). net is unusable from here until erbp_loader_end returns ERBP_OK. Errors: ERBP_E_NULL,
 * ERBP_E_ALIGN; after such an error feed and end return it too. */
erbp_status_t erbp_loader_begin(erbp_loader_t *ld, erbp_net_t *net, void *arena,
                                size_t arena_bytes);

/* Feed the next n bytes of the file (n may be 0). Returns ERBP_OK while the file may still be
 * valid, or as soon as it certainly is not, for one of the errors erbp_model_check reports before
 * the CRC: ERBP_E_FILE_MAGIC, _FORMAT, _SEMANTICS, ERBP_E_FILE_TRAILING (a byte past the declared
 * size), and ERBP_E_SIZE (the network is larger than the arena). Such an error is final: every
 * later feed and end return it. The rules erbp_model_check checks only once the CRC matched (the
 * number of configuration words, the configuration, the size it implies, weight ranges, padding)
 * are found as their bytes arrive but are not returned here, since a damaged file is refused for
 * its CRC instead: from the first one broken on, nothing more is written, the rest is only
 * counted and its CRC computed, and erbp_loader_status() reports it at once (a caller that need
 * not tell a damaged file from a wrong one may stop there). Errors also: ERBP_E_NULL (ld or data;
 * not sticky), ERBP_E_STATE (no load in progress: no begin, or after end). */
erbp_status_t erbp_loader_feed(erbp_loader_t *ld, const uint8_t *data, size_t n);

/* Finish the load: ERBP_OK if the bytes fed form a valid model file (the network is usable, its
 * state reset, seed and samples_seen those of the file); otherwise erbp_model_check's status for
 * those bytes (ERBP_E_FILE_TRUNCATED when fewer than the header or the declared size arrived,
 * ERBP_E_FILE_CRC, then the rules checked after it) or the error feed returned, and the network
 * stays unusable. The load is over either way: feed and end return ERBP_E_STATE until the next
 * begin. Errors also: ERBP_E_NULL, ERBP_E_STATE. */
erbp_status_t erbp_loader_end(erbp_loader_t *ld);

/* ERBP_OK while the bytes fed so far can still start a valid model file (and after an end that
 * returned ERBP_OK); otherwise why it is refused: the error feed or end returned, or the first
 * rule broken among those erbp_model_check checks after the CRC (end will return it, or
 * ERBP_E_FILE_CRC if the CRC fails too). ERBP_E_NULL if ld is NULL. */
erbp_status_t erbp_loader_status(const erbp_loader_t *ld);

/* The file size declared in the header, once the first ERBP_FILE_HEADER_BYTES + 4 bytes passed
 * the magic and version checks; 0 before (or if ld is NULL). */
uint32_t erbp_loader_file_bytes(const erbp_loader_t *ld);

/* ---- samples (docs/semantics.md section 7) --------------------------------------------------- */

/* Start a sample: reset the state and remember the pixels (n_pixels must equal n_in; values
 * 0..255), the label (used in training only, must be in [0, n_out) then; ignored in inference),
 * the mode and the sample index (the u32 that keys the randomness). The pixels are copied.
 * Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_SIZE, ERBP_E_ARG (mode), ERBP_E_LABEL. */
erbp_status_t erbp_begin_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                                int32_t label, erbp_mode_t mode, uint32_t sample);

/* Advance the sample by one tick (phases 1-5). A sample has ticks_train (train) or ticks_infer
 * (infer) ticks, fewer in inference when the early exit fires (erbp_exit_reached); ticking beyond
 * is allowed (as in the reference) up to 65535 ticks.
 * Errors: ERBP_E_NULL, ERBP_E_STATE (no sample begun, or 65535 ticks reached). */
erbp_status_t erbp_tick(erbp_net_t *net);

/* The early exit (docs/semantics.md section 7.2) after the last tick: 1 in infer mode with
 * exit_margin > 0 when the highest output score leads the second highest (two equal leaders: a
 * lead of 0) by exit_margin or more, else 0 (also if net is NULL or no tick ran). A caller that
 * drives ticks itself stops there; erbp_run_sample and erbp_run_samples do. */
int32_t erbp_exit_reached(const erbp_net_t *net);

/* What a sample produced. */
typedef struct erbp_result {
    int32_t prediction;       /* output with the highest score (readout), lowest index on ties */
    uint32_t input_spikes;    /* input spikes over the sample */
    uint32_t hidden_spikes;   /* spikes of every hidden layer over the sample */
    uint64_t events;          /* synaptic events of the ticks run: pre spikes x fan-out */
    uint32_t ticks;           /* ticks run: ticks_train, ticks_infer or fewer (early exit) */
} erbp_result_t;

/* Run one whole sample: begin, then ticks_train (train) or ticks_infer (infer) ticks, in
 * inference fewer when the early exit fires; result into *res (may be NULL). In training
 * samples_seen is incremented afterwards (mod 2^32). Errors: as erbp_begin_sample. */
erbp_status_t erbp_run_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                              int32_t label, erbp_mode_t mode, uint32_t sample,
                              erbp_result_t *res);

/* Run n_samples samples in order, sample s with pixels + s * stride (n_in bytes), label
 * labels[s] (training: required, each in [0, n_out); inference: may be NULL) and index
 * first_index + s (mod 2^32), each as erbp_run_sample. Outputs (each may be NULL):
 * predictions[s], counts[s * n_out + k] (output spike counts), events[s], ticks[s] (ticks run).
 * All labels are checked before the first sample runs.
 * Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_SIZE (stride < n_in), ERBP_E_ARG, ERBP_E_LABEL. */
erbp_status_t erbp_run_samples(erbp_net_t *net, const uint8_t *pixels, uint32_t n_samples,
                               size_t stride, const int32_t *labels, erbp_mode_t mode,
                               uint32_t first_index, int32_t *predictions, uint32_t *counts,
                               uint64_t *events, uint32_t *ticks);

/* The prediction of the current (or last) sample: the output with the highest score (readout 0:
 * its spike count, 1: its readout sum R), lowest index on ties; -1 if net is NULL or not
 * initialised. */
int32_t erbp_prediction(const erbp_net_t *net);

/* Synaptic events of the current (or last) sample (0 if net is NULL). */
uint64_t erbp_events(const erbp_net_t *net);

/* Ticks run in the current sample (0 if net is NULL). */
uint32_t erbp_tick_count(const erbp_net_t *net);

/* Output spike counts of the current sample into out[0..n_out). Errors: ERBP_E_NULL,
 * ERBP_E_STATE, ERBP_E_SIZE (n < n_out). */
erbp_status_t erbp_output_counts(const erbp_net_t *net, uint32_t *out, size_t n);

/* ---- full state, for verification (the keys of the reference's Network.snapshot) ------------- */

typedef enum erbp_var {
    ERBP_VAR_W = 0,       /* index = layer 0..n_hidden: n_pre * n_post weights, row = pre neuron */
    ERBP_VAR_G = 1,       /* index = hidden layer: n_out * h_h entries, row = class */
    ERBP_VAR_I = 2,       /* index = population 0..n_hidden (the last is the output): per neuron */
    ERBP_VAR_V = 3,
    ERBP_VAR_U = 4,
    ERBP_VAR_REF = 5,
    ERBP_VAR_SPK = 6,
    ERBP_VAR_COUNT = 7,
    ERBP_VAR_IN_REF = 8,  /* index = 0: per input neuron */
    ERBP_VAR_IN_SPK = 9,
    ERBP_VAR_EP = 10,     /* index = 0: per class */
    ERBP_VAR_EN = 11,
    ERBP_VAR_EP_SPK = 12,
    ERBP_VAR_EN_SPK = 13,
    ERBP_VAR_R = 14       /* index = 0: readout sum of each output neuron */
} erbp_var_t;

#define ERBP_VAR_KINDS 15

/* Number of values of a variable into *n. Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_ARG. */
erbp_status_t erbp_var_size(const erbp_net_t *net, erbp_var_t var, uint32_t index, uint32_t *n);

/* Copy a variable into out[0..n) as int32 (n must be at least its size). Errors: ERBP_E_NULL,
 * ERBP_E_STATE, ERBP_E_ARG, ERBP_E_SIZE. */
erbp_status_t erbp_read_var(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                            int32_t *out, size_t n);

/* Copy values [first, first + n) of a variable into out[0..n) as int32: a part of a large
 * variable (a weight matrix, a state image sent in pieces) without a buffer for all of it.
 * Errors: ERBP_E_NULL, ERBP_E_STATE, ERBP_E_ARG, ERBP_E_SIZE (first + n > its size). */
erbp_status_t erbp_read_var_range(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                                  uint32_t first, int32_t *out, size_t n);

/* Overwrite a variable from in[0..n) (n must equal its size). Every value is checked against its
 * width first (W: [wmin, wmax]; G: int16; I, V, U: [smin, smax]; ref, in_ref: 0..255; spikes: 0/1;
 * count: 0..65535; ep, en: [0, err_threshold); R: |R| <= 32768 * 65535); nothing is written on error. Errors: ERBP_E_NULL,
 * ERBP_E_STATE, ERBP_E_ARG, ERBP_E_SIZE, ERBP_E_VALUE. */
erbp_status_t erbp_write_var(erbp_net_t *net, erbp_var_t var, uint32_t index,
                             const int32_t *in, size_t n);

/* Overwrite values [first, first + n) of a variable from in[0..n), checked as erbp_write_var
 * (nothing is written if one value lies outside the width). Errors: ERBP_E_NULL, ERBP_E_STATE,
 * ERBP_E_ARG, ERBP_E_SIZE (first + n > its size), ERBP_E_VALUE. */
erbp_status_t erbp_write_var_range(erbp_net_t *net, erbp_var_t var, uint32_t index,
                                   uint32_t first, const int32_t *in, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* ERBP_H */
