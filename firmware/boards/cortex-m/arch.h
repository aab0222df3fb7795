/* Interrupt masking and waiting on Cortex-M (for ../common/rxring.c). */
#ifndef FW_ARCH_H
#define FW_ARCH_H

static inline void irq_off(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void irq_on(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

/* WFI wakes on a pending interrupt even while PRIMASK masks it. */
static inline void wait_irq(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

#endif
