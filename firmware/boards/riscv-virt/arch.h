/* Interrupt masking and waiting on RISC-V machine mode (for ../common/rxring.c). */
#ifndef FW_ARCH_H
#define FW_ARCH_H

static inline void irq_off(void)
{
    __asm__ volatile("csrc mstatus, 8" ::: "memory"); /* MIE */
}

static inline void irq_on(void)
{
    __asm__ volatile("csrs mstatus, 8" ::: "memory");
}

/* WFI wakes when an interrupt enabled in mie is pending, whatever mstatus.MIE says. */
static inline void wait_irq(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

#endif
