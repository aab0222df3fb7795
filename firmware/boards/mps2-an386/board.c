/* ARM MPS2 AN386 (Cortex-M4 at 25 MHz), UART0: a CMSDK APB UART at FW_BOARD_UART_BASE, the first
 * `-serial` of QEMU's mps2-an386 (RX interrupt 0; TX polled). Clock, addresses and sizes come from
 * the board table (boards/boards.toml) as FW_BOARD_* macros. */
#include "../../src/board.h"
#include "../common/rxring.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define UART0 FW_BOARD_UART_BASE
#define UART_DATA REG(UART0 + 0x00u)
#define UART_STATE REG(UART0 + 0x04u) /* bit0 TX full, bit1 RX full */
#define UART_CTRL REG(UART0 + 0x08u)  /* bit0 TX enable, bit1 RX enable */
#define UART_INTSTATUS REG(UART0 + 0x0Cu) /* write 1 to clear; bit1 RX */
#define UART_BAUDDIV REG(UART0 + 0x10u)
#define NVIC_ISER0 REG(0xE000E100u)
#define UART0_RX_IRQ 0u

#define CPU_HZ FW_BOARD_COUNTER_HZ /* SysTick counts the core clock */

void cortexm_cycles_start(void);
void board_irq(void);

void board_init(void)
{
    UART_BAUDDIV = CPU_HZ / 115200u; /* >= 16, as the CMSDK UART requires */
    UART_CTRL = 3u | 8u; /* TX, RX, RX interrupt */
    NVIC_ISER0 = 1u << UART0_RX_IRQ;
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
