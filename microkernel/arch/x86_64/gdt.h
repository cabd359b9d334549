/* The Global Descriptor Table and Task State Segment of each CPU.
 *
 * Long mode ignores segment bases and limits, so the GDT only tells the CPU
 * which privilege level and mode code runs in, and where the TSS is. The TSS
 * supplies the stack pointers the CPU switches to on an interrupt: RSP0 when
 * coming from ring 3, and the IST stacks for the exceptions that must not
 * trust the current stack (double fault, NMI, machine check).
 *
 * Selector layout (index * 8 | RPL). The order is the one SYSCALL/SYSRET
 * dictate: STAR[47:32] = GDT_KERNEL_CS, and SYSCALL loads SS = that + 8;
 * STAR[63:48] = GDT_USER_CS32, and SYSRET (64-bit) loads SS = that + 8 and
 * CS = that + 16.
 *
 *   0x00  null
 *   0x08  GDT_KERNEL_CS   64-bit code, DPL 0
 *   0x10  GDT_KERNEL_DS   data, DPL 0 (also the kernel SS)
 *   0x18  GDT_USER_CS32   placeholder for SYSRET's base; a null descriptor
 *   0x23  GDT_USER_DS     data, DPL 3 (user SS), selector 0x20 | 3
 *   0x2b  GDT_USER_CS     64-bit code, DPL 3, selector 0x28 | 3
 *   0x30  GDT_TSS         64-bit TSS (occupies two slots, 0x30 and 0x38)
 */
#pragma once

#include "lib/types.h"

struct cpu;

/* CPUs the descriptor tables (and other static per-CPU arrays) have room for. */
#define MAX_CPUS 1

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_USER_CS32 0x18
#define GDT_USER_DS   0x23
#define GDT_USER_CS   0x2b
#define GDT_TSS       0x30

/* Interrupt Stack Table slots (1-based, as the IDT gate's IST field wants). */
#define IST_DOUBLE_FAULT  1
#define IST_MACHINE_CHECK 2
#define IST_NMI           3
#define IST_STACK_SIZE    (16 * KiB)

/* Build and load the GDT and TSS of CPU `c` (indexed by c->id, which must be
 * below MAX_CPUS; zero for the boot CPU). Reloads CS, DS, ES and SS; leaves
 * FS and GS alone so that the GS base set by percpu_install() survives.
 * Safe to call again on the same CPU. */
void gdt_init(struct cpu *c);

/* Set the stack the CPU switches to when an interrupt arrives in ring 3
 * (TSS.RSP0) on CPU `cpu_id`. `top` must be 16-byte aligned. */
void gdt_set_kernel_stack(unsigned cpu_id, uintptr_t top);

/* TSS.RSP0 of CPU `cpu_id`, for the scheduler's switch path, which stores
 * into it directly on every switch (same contract as gdt_set_kernel_stack).
 * Only 4-byte aligned: the TSS is packed. */
typedef uint64_t __attribute__((aligned(4))) gdt_rsp0_t;
gdt_rsp0_t *gdt_kernel_stack_slot(unsigned cpu_id);
