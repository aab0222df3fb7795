/* Firmware entry: the board, the arena, the protocol loop. */
#include "board.h"
#include "proto.h"

#ifdef FW_ROM_MODEL
/* The model is in flash; the engine keeps its state (engine_cport.c). */
#define ARENA ((void *)0), 0u
#else
#ifndef FW_ARENA_BYTES
#error "the board's Makefile sets FW_ARENA_BYTES"
#endif
/* The network lives here: weights, feedback matrices and state (cport's arena). */
static uint32_t arena[FW_ARENA_BYTES / 4u];
#define ARENA arena, sizeof arena
#endif

#ifdef FW_HOST
int fw_host_main(int argc, char **argv);
int main(int argc, char **argv)
{
    int rc = fw_host_main(argc, argv);
    if (rc != 0) {
        return rc;
    }
#else
int main(void)
{
#endif
    board_init();
    fw_proto_init(ARENA);
    for (;;) {
        fw_proto_rx(board_getc());
        if (fw_proto_reset_requested()) {
            board_reset();
            fw_proto_init(ARENA);
        }
    }
}
