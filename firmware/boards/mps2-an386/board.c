/* ARM MPS2 AN386 (Cortex-M4 at 25 MHz), UART0: a CMSDK APB UART at FW_BOARD_UART_BASE, the first
 * `-serial` of QEMU's mps2-an386 (RX interrupt 0; TX polled). Clock, addresses and sizes come from
 * the board table (boards/boards.toml) as FW_BOARD_* macros. */
#define UART_RX_IRQ 0u

#include "../common/cmsdk_uart_board.h"
