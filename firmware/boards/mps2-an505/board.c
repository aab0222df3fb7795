/* ARM MPS2+ AN505 (Cortex-M33 with the DSP extension, Armv8-M Mainline, IoTKit; 20 MHz in QEMU's
 * mps2-an505). The firmware runs in the Secure state, where the core starts: code in SSRAM1
 * through its Secure alias (where the Secure vector table is at reset), data in SSRAM2/3, UART0 -
 * a CMSDK APB UART, the first `-serial` of QEMU - through the Secure alias of the APB
 * peripherals (RX interrupt 32). Clock, addresses and sizes come from the board table
 * (boards/boards.toml) as FW_BOARD_* macros. */
#define UART_RX_IRQ 32u

#include "../common/cmsdk_uart_board.h"
