/* BBC micro:bit v1 (nRF51822: Cortex-M0 at 16 MHz, 256 KiB flash, 16 KiB RAM). Serial link:
 * UART0 at FW_BOARD_UART_BASE (the micro:bit routes it to the USB interface chip: P0.24 TX,
 * P0.25 RX), 115200 8N1: STARTRX +0x000, STARTTX +0x008, EVENTS_RXDRDY +0x108, EVENTS_TXDRDY
 * +0x11C, INTENSET +0x304 (RXDRDY bit 2), ENABLE +0x500 (4), PSELTXD +0x50C, PSELRXD +0x514,
 * RXD +0x518, TXD +0x51C, BAUDRATE +0x524; interrupt 2. QEMU 7.2's microbit wires its first
 * `-serial` to it (nrf51_uart: a 6-byte receive FIFO; reading RXD pops one byte and raises
 * RXDRDY again while bytes remain, and holds back what it cannot take: with a small receive ring
 * the interrupt stops reading when the ring is full and is masked until board_getc takes a byte
 * (FW_RX_FLOW)). The Cortex-M0 of the nRF51 has no SysTick: the cycle counter is TIMER0
 * (0x40008000) in 32-bit mode at 16 MHz (FW_BOARD_COUNTER_HZ), its wraps counted by a COMPARE[0]
 * interrupt (interrupt 8) at CC[0] = 0 and read by TASKS_CAPTURE[1] into CC[1]. Addresses, sizes
 * and the counter's rate come from the board table (boards/boards.toml) as FW_BOARD_* macros. */
#include "../../src/board.h"
#include "../common/rxring.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define UART0 FW_BOARD_UART_BASE
#define UART_STARTRX REG(UART0 + 0x000u)
#define UART_STARTTX REG(UART0 + 0x008u)
#define UART_RXDRDY REG(UART0 + 0x108u)
#define UART_TXDRDY REG(UART0 + 0x11Cu)
#define UART_INTENSET REG(UART0 + 0x304u)
#define UART_INTENCLR REG(UART0 + 0x308u)
#define INT_RXDRDY (1u << 2)
#define UART_ENABLE REG(UART0 + 0x500u)
#define UART_PSELTXD REG(UART0 + 0x50Cu)
#define UART_PSELRXD REG(UART0 + 0x514u)
#define UART_RXD REG(UART0 + 0x518u)
#define UART_TXD REG(UART0 + 0x51Cu)
#define UART_BAUDRATE REG(UART0 + 0x524u)
#define UART0_IRQ 2u
#define BAUD_115200 0x01D7E000u

#define TIMER0 0x40008000u
#define TIMER_START REG(TIMER0 + 0x000u)
#define TIMER_CLEAR REG(TIMER0 + 0x00Cu)
#define TIMER_CAPTURE1 REG(TIMER0 + 0x044u)
#define TIMER_COMPARE0 REG(TIMER0 + 0x140u)
#define TIMER_INTENSET REG(TIMER0 + 0x304u)
#define TIMER_MODE REG(TIMER0 + 0x504u)
#define TIMER_BITMODE REG(TIMER0 + 0x508u)
#define TIMER_PRESCALER REG(TIMER0 + 0x510u)
#define TIMER_CC0 REG(TIMER0 + 0x540u)
#define TIMER_CC1 REG(TIMER0 + 0x544u)
#define TIMER0_IRQ 8u
#define TIMER_HZ FW_BOARD_COUNTER_HZ /* prescaler 0: the 16 MHz clock */

#define NVIC_ISER0 REG(0xE000E100u)

void board_irq(void);

static volatile uint32_t timer_wraps;

void board_init(void)
{
    UART_PSELTXD = 24u;
    UART_PSELRXD = 25u;
    UART_BAUDRATE = BAUD_115200;
    UART_ENABLE = 4u;
    UART_INTENSET = INT_RXDRDY;
    UART_STARTTX = 1u;
    UART_STARTRX = 1u;
    TIMER_MODE = 0u;      /* timer */
    TIMER_BITMODE = 3u;   /* 32 bits */
    TIMER_PRESCALER = 0u; /* 16 MHz */
    TIMER_CC0 = 0u;       /* COMPARE[0] at every wrap */
    TIMER_INTENSET = 1u << 16;
    TIMER_CLEAR = 1u;
    TIMER_START = 1u;
    NVIC_ISER0 = (1u << UART0_IRQ) | (1u << TIMER0_IRQ);
}

void board_irq(void)
{
    if (TIMER_COMPARE0) {
        TIMER_COMPARE0 = 0u;
        timer_wraps++;
    }
    while (UART_RXDRDY) {
        if (!fw_rx_room()) { /* flow control: the UART holds the rest (QEMU: its chardev) */
            UART_INTENCLR = INT_RXDRDY;
            break;
        }
        UART_RXDRDY = 0u; /* clear first: reading RXD raises it again while bytes remain */
        fw_rx_push((uint8_t)UART_RXD);
    }
}

void board_rx_resume(void)
{
    UART_INTENSET = INT_RXDRDY; /* a pending RXDRDY interrupts again at once */
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        UART_TXD = data[i];
        while (UART_TXDRDY == 0u) {
        }
        UART_TXDRDY = 0u;
    }
}

uint64_t board_cycles(void)
{
    for (;;) {
        uint32_t wraps = timer_wraps, v;
        TIMER_CAPTURE1 = 1u;
        v = TIMER_CC1;
        if (wraps == timer_wraps) {
            return ((uint64_t)wraps << 32) + v;
        }
    }
}

uint32_t board_cycles_hz(void)
{
    return TIMER_HZ;
}
