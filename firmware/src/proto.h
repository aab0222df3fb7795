/* The protocol engine: bytes in (fw_proto_rx), frames out (through board_write). Board-neutral;
 * the host build and the fuzzer drive it directly. */
#ifndef FW_PROTO_H
#define FW_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* A build with its model in flash (FW_ROM_MODEL: the header `erbp export --format c --name
 * fw_model` wrote) takes its sizes from the model: samples of n_in pixels, n_out counts. */
#ifdef FW_ROM_MODEL
#define FW_MODEL_SIZES_ONLY
#include FW_ROM_MODEL
#undef FW_MODEL_SIZES_ONLY
#define FW_MAX_PIXELS FW_MODEL_N_IN
#define FW_MAX_OUT FW_MODEL_N_OUT
#endif

#ifndef FW_MAX_PIXELS
#define FW_MAX_PIXELS 4096u
#endif
/* Most output neurons (the counts of a SAMPLE reply). */
#ifndef FW_MAX_OUT
#define FW_MAX_OUT 64u
#endif
/* Largest data chunk this board sends or takes (<= FW_MAX_CHUNK; small boards set less). */
#ifndef FW_BOARD_MAX_CHUNK
#define FW_BOARD_MAX_CHUNK FW_MAX_CHUNK
#endif
/* Largest frame payload accepted: a SAMPLE with FW_MAX_PIXELS pixels, or a 1 KiB chunk. */
#define FW_RX_MAX (8u + 12u + FW_MAX_PIXELS + 4u)

/* Initialise with the arena that will hold the network. */
void fw_proto_init(void *arena, size_t arena_bytes);
/* Feed one received byte; complete frames are handled and answered at once. */
void fw_proto_rx(uint8_t byte);
/* Set by a RESET request once its answer is sent; the main loop then resets the board. */
int fw_proto_reset_requested(void);

#endif
