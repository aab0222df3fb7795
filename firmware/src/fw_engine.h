/* The engine behind the protocol: a thin adapter over cport's public API (engine_cport.c). The
 * protocol and the model upload code call only these functions. */
#ifndef FW_ENGINE_H
#define FW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t prediction;
    uint64_t events;       /* synaptic events of the ticks run */
    uint32_t ticks;        /* ticks run (fewer than ticks_infer after an early exit) */
    uint32_t samples_seen; /* after the sample */
} FwResult;

/* Why the engine refuses a model. */
#define FW_ENGINE_REFUSED 1u   /* the file breaks a rule (or is damaged) */
#define FW_ENGINE_NO_MEMORY 2u /* its network needs more memory than the arena */

typedef struct {
    uint32_t kind;   /* FW_ENGINE_REFUSED or FW_ENGINE_NO_MEMORY */
    uint32_t detail; /* the engine's own code of the reason (cport: -erbp_status_t) */
    const char *why; /* message */
} FwRefusal;

/* The model the firmware was built with (FW_ROM_MODEL: in flash, read-only), made live at boot:
 * 0 if there is one and it is valid, nonzero otherwise (always, without FW_ROM_MODEL). */
int fw_engine_boot(void);
/* Nonzero if the live model is read-only (in flash): no uploads, inference only. */
int fw_engine_read_only(void);

/* Semantics version implemented by the engine. */
uint32_t fw_engine_semantics(void);
/* The largest model file whose network can fit an arena of this size. */
uint32_t fw_engine_max_model_bytes(size_t arena_bytes);

/* Model upload, in pieces of any size, straight into the network in the arena (no copy of the
 * file is ever held). size_check (no side effect) refuses a file of `total` bytes that cannot be
 * a model (too short) or cannot fit the arena; begin drops the live network. begin, feed and end
 * return 0 or nonzero with *r filled: begin if the arena is unusable, feed as soon as the file is
 * certain to be refused, end when the whole file fails. Only an end that returns 0 makes the
 * network live. */
int fw_engine_load_size_check(size_t arena_bytes, uint32_t total, FwRefusal *r);
int fw_engine_load_begin(void *arena, size_t arena_bytes, FwRefusal *r);
int fw_engine_load_feed(const uint8_t *data, uint32_t n, FwRefusal *r);
/* The file size declared in the upload's header, once known (0 before). */
uint32_t fw_engine_load_declared_bytes(void);
int fw_engine_load_end(FwRefusal *r);

/* The live network (0 if there is none). */
uint32_t fw_engine_n_in(void);
uint32_t fw_engine_n_out(void);
uint32_t fw_engine_arena_used(void);
uint32_t fw_engine_samples_seen(void);
/* Its model file: size, and bytes [offset, offset + n) (caller checks the range). */
uint32_t fw_engine_model_bytes(void);
void fw_engine_model_read(uint32_t offset, uint8_t *out, uint32_t n);
/* Run one sample; counts (room for n_counts) receives n_out output spike counts. 0 or nonzero +
 * why. */
int fw_engine_run(const uint8_t *pixels, uint32_t index, uint32_t train, uint32_t label,
                  FwResult *r, uint32_t *counts, uint32_t n_counts, const char **why);
/* The dynamic state as int32 words, little-endian (docs/protocol.md, "State image"): its size
 * in bytes, and bytes [offset, offset + n) (caller checks the range). */
uint32_t fw_engine_state_bytes(void);
void fw_engine_state_read(uint32_t offset, uint8_t *out, uint32_t n);

#endif
