/* The board layer: everything the firmware needs from a board (one board.c per board). */
#ifndef FW_BOARD_H
#define FW_BOARD_H

#include <stddef.h>
#include <stdint.h>

void board_init(void);
/* Block until the serial link delivers a byte. */
uint8_t board_getc(void);
/* Send bytes over the serial link (blocking). */
void board_write(const uint8_t *data, size_t n);
/* A free-running 64-bit cycle counter (SysTick-based on Cortex-M) and its frequency in Hz
 * (0: no counter). Under QEMU with -icount shift=0 one counter tick is 1e9 / hz instructions. */
uint64_t board_cycles(void);
uint32_t board_cycles_hz(void);
/* Reset the board (does not return on hardware; the host build re-initialises). */
void board_reset(void);
/* Boards name themselves, and say how much RAM they have in total. */
extern const char board_name[];
extern const uint32_t board_ram_bytes;
/* A counter that survives a warm reset (0 on the first cold boot that we can detect). */
uint32_t board_boot_id(void);

#endif
