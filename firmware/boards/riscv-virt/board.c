/* QEMU virt (riscv32, rv32imac, machine mode). Serial link: the NS16550A UART0 at FW_BOARD_UART_BASE
 * (RBR/THR +0, IER +1, FCR +2, LCR +3, LSR +5: bit 0 data ready, bit 5 THR empty), FIFOs on;
 * receive through its interrupt (source 10 of the PLIC at 0x0C000000, hart 0 machine context),
 * transmit polled.
 * Counter: minstret, the retired-instruction count (QEMU derives it from -icount, so with
 * `-icount shift=0` it is exactly the instructions executed). Reset: the sifive_test finisher at
 * 0x100000. Addresses and sizes come from the board table (boards/boards.toml) as FW_BOARD_* macros. */
#include "../../src/board.h"
#include "../common/rxring.h"

#define REG8(a) (*(volatile uint8_t *)(a))
#define UART0 FW_BOARD_UART_BASE
#define UART_RBR REG8(UART0 + 0u)
#define UART_THR REG8(UART0 + 0u)
#define UART_IER REG8(UART0 + 1u)
#define UART_FCR REG8(UART0 + 2u)
#define UART_LCR REG8(UART0 + 3u)
#define UART_LSR REG8(UART0 + 5u)
#define LSR_DR 0x01u
#define LSR_THRE 0x20u
#define REG32(a) (*(volatile uint32_t *)(a))
#define PLIC 0x0C000000u
#define UART0_IRQ 10u
#define PLIC_PRIORITY(irq) REG32(PLIC + 4u * (irq))
#define PLIC_ENABLE0 REG32(PLIC + 0x2000u)
#define PLIC_THRESHOLD0 REG32(PLIC + 0x200000u)
#define PLIC_CLAIM0 REG32(PLIC + 0x200004u)
#define MIE_MEIE (1u << 11)
#define TEST_FINISHER (*(volatile uint32_t *)0x00100000u)
#define FINISHER_RESET 0x7777u

int main(void);
void riscv_start(void);
void riscv_trap(uint32_t mcause);

/* A warm-reset counter in the last bytes of the RAM the image may use, outside every ELF segment
 * (QEMU re-loads, and zero-fills, the image's segments on a reset, RAM beyond them stays). */
#define BOOT_WORDS ((volatile uint32_t *)(FW_BOARD_RAM_ORIGIN + FW_BOARD_RAM_BYTES - 16u))
#define boot_magic BOOT_WORDS[0]
#define boot_count BOOT_WORDS[1]

void riscv_start(void)
{
    if (boot_magic != 0x45524250u) {
        boot_magic = 0x45524250u;
        boot_count = 0;
    }
    boot_count++;
    (void)main();
}

void board_init(void)
{
    UART_LCR = 0x03u; /* 8N1 */
    UART_FCR = 0x07u; /* FIFOs on and cleared, interrupt at 1 byte */
    UART_IER = 0x01u; /* received-data interrupt */
    PLIC_PRIORITY(UART0_IRQ) = 1u;
    PLIC_THRESHOLD0 = 0;
    PLIC_ENABLE0 |= 1u << UART0_IRQ;
    __asm__ volatile("csrs mie, %0" ::"r"(MIE_MEIE));
    __asm__ volatile("csrs mstatus, 8" ::: "memory"); /* MIE */
}

void riscv_trap(uint32_t mcause)
{
    uint32_t irq;
    if ((mcause & 0x80000000u) == 0 || (mcause & 0xFFu) != 11u) {
        board_reset(); /* an exception: a fault */
    }
    irq = PLIC_CLAIM0;
    while (UART_LSR & LSR_DR) {
        fw_rx_push(UART_RBR);
    }
    PLIC_CLAIM0 = irq; /* complete */
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        while ((UART_LSR & LSR_THRE) == 0) {
        }
        UART_THR = data[i];
    }
}

uint64_t board_cycles(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

uint32_t board_cycles_hz(void)
{
    return FW_BOARD_COUNTER_HZ; /* one count per instruction = 1 ns of -icount shift=0 time */
}

uint32_t board_boot_id(void)
{
    return boot_count;
}

void board_reset(void)
{
    TEST_FINISHER = FINISHER_RESET;
    for (;;) {
    }
}
