/* RISC-V (rv32imac, machine mode) entry for QEMU's virt board: global and stack pointers, a trap
 * vector that resets the board, zeroed .bss, then the C start-up. QEMU loads the ELF into RAM, so
 * .data needs no copy. */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la t0, trap_entry
    csrw mtvec, t0
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call riscv_start
3:  j 3b

    .align 4
trap_entry:
    /* Any trap is a fault here (no interrupts are enabled): reset, never hang. */
    la sp, __stack_top
    call board_reset
4:  j 4b
