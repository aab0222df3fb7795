/* The board layer of a board whose serial link is a CMSDK APB UART (Arm MPS2/MPS2+/MPS3 FPGA
 * images: AN386, AN505, AN547): the UART's registers, its receive interrupt and the SysTick cycle counter on the
 * core clock. A board's board.c defines UART_RX_IRQ (its external interrupt number), then includes
 * this file once; the UART's address (FW_BOARD_UART_BASE) and the core clock
 * (FW_BOARD_COUNTER_HZ) come from the board table (boards/boards.toml). Registers: DATA +0x00,
 * STATE +0x04 (bit 0 TX full, bit 1 RX full), CTRL +0x08 (bit 0 TX, bit 1 RX, bit 3 RX
 * interrupt), INTSTATUS +0x0C (write 1 to clear; bit 1 RX), BAUDDIV +0x10 (>= 16). */
#ifndef FW_CMSDK_UART_BOARD_H
#define FW_CMSDK_UART_BOARD_H

#include "../../src/board.h"
#include "rxring.h"

#ifndef UART_RX_IRQ
#error "board.c defines UART_RX_IRQ before including cmsdk_uart_board.h"
#endif

#define REG(a) (*(volatile uint32_t *)(a))
#define UART_DATA REG(FW_BOARD_UART_BASE + 0x00u)
#define UART_STATE REG(FW_BOARD_UART_BASE + 0x04u)
#define UART_CTRL REG(FW_BOARD_UART_BASE + 0x08u)
#define UART_INTSTATUS REG(FW_BOARD_UART_BASE + 0x0Cu)
#define UART_BAUDDIV REG(FW_BOARD_UART_BASE + 0x10u)
#define NVIC_ISER(n) REG(0xE000E100u + 4u * (n))

#define CPU_HZ FW_BOARD_COUNTER_HZ /* SysTick counts the core clock */

void cortexm_cycles_start(void);
void board_irq(void);

void board_init(void)
{
    UART_BAUDDIV = CPU_HZ / 115200u; /* >= 16, as the CMSDK UART requires */
    UART_CTRL = 3u | 8u;             /* TX, RX, RX interrupt */
    NVIC_ISER(UART_RX_IRQ / 32u) = 1u << (UART_RX_IRQ % 32u);
    cortexm_cycles_start();
}

void board_irq(void)
{
    UART_INTSTATUS = 2u; /* clear first: a byte arriving after the drain raises it again */
    while (UART_STATE & 2u) {
        fw_rx_push((uint8_t)UART_DATA);
    }
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        while (UART_STATE & 1u) {
        }
        UART_DATA = data[i];
    }
}

uint32_t board_cycles_hz(void)
{
    return CPU_HZ;
}

#endif
