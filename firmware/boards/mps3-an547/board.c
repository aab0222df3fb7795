/* ARM MPS3 AN547 (Cortex-M55 with the DSP extension, Armv8.1-M Mainline, SSE-300; 32 MHz in QEMU's
 * mps3-an547). The firmware runs in the Secure state, where the core starts: code in the ITCM
 * through its Secure alias (the vector table is read at reset through its other alias, at 0: the
 * SSE-300's initial Secure VTOR), data in the SSE-300's internal SRAM, UART0 - a CMSDK APB UART,
 * the first `-serial` of QEMU - through the Secure alias of the APB peripherals (RX interrupt 33).
 * Clock, addresses and sizes come from the board table (boards/boards.toml) as FW_BOARD_* macros. */
#define UART_RX_IRQ 33u

#include "../common/cmsdk_uart_board.h"
