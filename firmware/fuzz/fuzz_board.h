/* The board layer of the fuzz targets (src/board.h): no clock, no reset hardware, a fixed boot id;
 * board_write is the target's own (it checks every frame the board sends). Included by exactly one
 * source file of each target. */
#ifndef FW_FUZZ_BOARD_H
#define FW_FUZZ_BOARD_H

#include "../src/board.h"

const char board_name[] = "fuzz";
const uint32_t board_ram_bytes = 0;

void board_init(void) {}
uint8_t board_getc(void) { return 0; }
uint64_t board_cycles(void) { return 0; }
uint32_t board_cycles_hz(void) { return 0; }
uint32_t board_boot_id(void) { return 1; }
void board_reset(void) {}

#endif
