/* The Interrupt Descriptor Table: every vector enters trap_entry.asm, which
 * calls trap_dispatch(); C code claims a vector with idt_set_handler(). */
#pragma once

#include "arch/x86_64/trap.h"

#define IDT_VECTORS 256

/* Build the IDT (all 256 vectors: interrupt gates to the trap_entry.asm
 * stubs; double fault, NMI and machine check on their IST stacks) and load
 * it on this CPU. Needs the GDT loaded first (gdt_init), since the gates
 * name GDT_KERNEL_CS and the IST slots live in the TSS. */
void idt_init(void);

/* Route `vector` (< IDT_VECTORS) to `fn`, replacing any earlier handler;
 * NULL restores the default (an unhandled exception or interrupt panics).
 * Handlers run with interrupts disabled and may edit the frame. */
void idt_set_handler(unsigned vector, trap_handler_fn fn);

/* The handler registered for `vector`, or NULL. */
trap_handler_fn idt_get_handler(unsigned vector);
