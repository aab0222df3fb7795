/* Cortex-M startup shared by the Arm boards: vector table, reset handler (copy .data, zero .bss,
 * run main), the SysTick-based 64-bit cycle counter, system reset. (The receive ring is in
 * ../common/rxring.c, the C library routines in ../common/libc_min.c.) */
#include <stddef.h>
#include <stdint.h>

#include "../../src/board.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];
int main(void);

#define REG(a) (*(volatile uint32_t *)(a))
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_AIRCR REG(0xE000ED0Cu)
#define SCB_CPACR REG(0xE000ED88u)

#ifndef FW_BOARD_CYCLES
static volatile uint32_t systick_wraps;
#endif

/* A warm-reset counter in RAM that the startup code does not clear. */
__attribute__((section(".noinit"))) static uint32_t boot_magic, boot_count;

void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void Irq_Handler(void);
/* The board's interrupt handler (its UART receiver); every external interrupt lands there. */
void board_irq(void);

/* What the stack is painted with at reset (up to 64 bytes below the reset handler's frame), so
 * that its deepest use can be read afterwards: the lowest word that no longer holds it. */
#define STACK_PAINT 0x5AC35AC3u

/* A core whose code may use the FPU registers (__ARM_FP: -mfloat-abi=softfp or hard; Helium's
 * vectors live there, __ARM_FEATURE_MVE) gets CP10 and CP11 enabled before any C loop runs (the
 * compiler may vectorise the ones below); the barriers keep every FPU instruction after it. */
static void fpu_enable(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
}

void Reset_Handler(void)
{
    uint32_t *src = __data_load, *dst = __data_start, *sp;
    fpu_enable();
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = __stack_bottom; dst + 16 < sp; dst++) {
        *dst = STACK_PAINT;
    }
    for (dst = __data_start; dst < __data_end; dst++) {
        *dst = *src++;
    }
    for (dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0;
    }
    if (boot_magic != 0x45524250u) {
        boot_magic = 0x45524250u;
        boot_count = 0;
    }
    boot_count++;
    (void)main();
    for (;;) {
    }
}

void Default_Handler(void)
{
    /* A fault: reset the board so the host sees a fresh boot, never a hang. */
    board_reset();
}

void SysTick_Handler(void)
{
#ifndef FW_BOARD_CYCLES
    systick_wraps++;
#endif
}

void Irq_Handler(void)
{
    board_irq();
}

#define IRQ16 Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, \
    Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, Irq_Handler, \
    Irq_Handler, Irq_Handler, Irq_Handler

__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 64])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    IRQ16, IRQ16, IRQ16, IRQ16, /* external interrupts 0..63 */
};

#ifndef FW_BOARD_CYCLES /* the board has no SysTick and counts itself (the nRF51's Cortex-M0) */
void cortexm_cycles_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt, processor clock */
}

uint64_t board_cycles(void)
{
    for (;;) {
        uint32_t wraps = systick_wraps, v = SYST_CVR;
        if (wraps == systick_wraps) {
            return ((uint64_t)wraps << 24) + (0x00FFFFFFu - v);
        }
    }
}
#endif

uint32_t board_boot_id(void)
{
    return boot_count;
}

void board_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}
