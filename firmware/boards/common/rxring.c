/* Received bytes, from the UART interrupt to board_getc, which sleeps while the ring is empty.
 * arch.h (boards/cortex-m or boards/riscv-virt) supplies irq_off, irq_on and wait_irq. */
#include "rxring.h"

#include "../../src/board.h"
#include "arch.h"

/* Bytes the interrupt may queue before the main loop takes them (a small board sets less). */
#ifndef FW_RX_RING
#define FW_RX_RING 1024u
#endif

static uint8_t rx_ring[FW_RX_RING];
static volatile uint32_t rx_head, rx_tail;

void fw_rx_push(uint8_t byte)
{
    uint32_t next = (rx_head + 1u) % sizeof rx_ring;
    if (next != rx_tail) {
        rx_ring[rx_head] = byte;
        rx_head = next;
    }
}

int fw_rx_room(void)
{
    return (rx_head + 1u) % sizeof rx_ring != rx_tail;
}

uint8_t board_getc(void)
{
    uint8_t byte;
    /* Interrupts are masked between the check and the wait (which still wakes on a pending
     * interrupt), so no wake-up is lost. Sleeping instead of polling also lets an emulator's I/O
     * thread run: it doubles the UART rate under QEMU. */
    for (;;) {
        irq_off();
        if (rx_head != rx_tail) {
            irq_on();
            break;
        }
        wait_irq();
        irq_on();
    }
    byte = rx_ring[rx_tail];
    rx_tail = (rx_tail + 1u) % sizeof rx_ring;
#ifdef FW_RX_FLOW
    board_rx_resume();
#endif
    return byte;
}
