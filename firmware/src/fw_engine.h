/* The engine behind the protocol: a thin adapter over cport (engine_cport.c). The protocol
 * and the model streaming code call only these functions. */
#ifndef FW_ENGINE_H
#define FW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define FW_MAX_LAYERS 5u

typedef struct {
    uint32_t n_layers;                  /* weight layers = hidden layers + 1 */
    uint32_t sizes[FW_MAX_LAYERS + 1u]; /* input, hidden..., output */
    uint32_t weight_bytes;              /* bytes per stored weight: 1 or 2 */
    int32_t wmin, wmax;                 /* weight range */
} FwShape;

typedef struct {
    uint32_t prediction;
    uint64_t events;
    uint32_t samples_seen; /* after the sample */
} FwResult;

/* Number of configuration words of a model file (the engine's FIELDS table). */
uint32_t fw_engine_config_words(void);
/* Semantics version implemented by the engine. */
uint32_t fw_engine_semantics(void);
/* Validate configuration words; fill *shape and the arena bytes the network needs.
 * Returns 0, or nonzero with *why set to a message. */
int fw_engine_check(const int32_t *words, FwShape *shape, size_t *required, const char **why);
/* Create the network in the arena (weights then overwritten by the loader). 0 or nonzero + why. */
int fw_engine_create(void *arena, size_t arena_bytes, const int32_t *words, uint32_t seed,
                     uint32_t samples_seen, const char **why);
/* Storage of weight layer l (n_pre * n_post, row-major, weight_bytes each, little-endian) and
 * of feedback matrix h (n_out * h_h int16): the model-file layout. */
uint8_t *fw_engine_weights(uint32_t layer);
uint8_t *fw_engine_feedback(uint32_t hidden);
uint32_t fw_engine_samples_seen(void);
/* Run one sample; counts receives n_out output spike counts. 0 or nonzero + why. */
int fw_engine_run(const uint8_t *pixels, uint32_t index, uint32_t train, uint32_t label,
                  FwResult *r, uint32_t *counts, const char **why);
/* The dynamic state as int32 words (docs/protocol.md, "State image"). */
uint32_t fw_engine_state_words(void);
int32_t fw_engine_state_word(uint32_t i);

#endif
