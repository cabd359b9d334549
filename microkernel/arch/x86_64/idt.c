/* Building and loading the IDT, and the table of C handlers per vector. */
#include "arch/x86_64/idt.h"
#include "arch/x86_64/gdt.h"
#include "lib/assert.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;        /* bits 0-2: IST slot, 0 = stay on the current stack */
    uint8_t type_attr;  /* P, DPL, gate type */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

STATIC_ASSERT(sizeof(struct idt_gate) == 16, "64-bit IDT gate layout");

/* P=1, DPL=0, type 0xe: interrupt gate. Interrupt rather than trap gates so
 * every handler starts with interrupts off and decides itself when it is
 * safe to take another one. */
#define GATE_INTERRUPT_DPL0 0x8e

/* Entry stubs, one per vector (trap_entry.asm). */
extern const uint64_t trap_stub_table[IDT_VECTORS];

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static trap_handler_fn handlers[IDT_VECTORS];

static struct idt_gate idt_gate_make(uint64_t entry, unsigned ist)
{
    return (struct idt_gate){
        .offset_low = entry & 0xffff,
        .selector = GDT_KERNEL_CS,
        .ist = (uint8_t)ist,
        .type_attr = GATE_INTERRUPT_DPL0,
        .offset_mid = (entry >> 16) & 0xffff,
        .offset_high = (uint32_t)(entry >> 32),
        .reserved = 0,
    };
}

/* Exceptions that must not run on the interrupted stack: a double fault is
 * often a kernel stack overflow, and NMI and machine check can arrive at any
 * instruction, including ones where the stack is not yet usable. */
static unsigned idt_ist_for(unsigned vector)
{
    switch (vector) {
    case VEC_DF:  return IST_DOUBLE_FAULT;
    case VEC_NMI: return IST_NMI;
    case VEC_MC:  return IST_MACHINE_CHECK;
    default:      return 0;
    }
}

void idt_init(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++)
        idt[v] = idt_gate_make(trap_stub_table[v], idt_ist_for(v));

    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void idt_set_handler(unsigned vector, trap_handler_fn fn)
{
    KASSERT(vector < IDT_VECTORS, "idt_set_handler: vector %u out of range", vector);
    __atomic_store_n(&handlers[vector], fn, __ATOMIC_RELEASE);
}

trap_handler_fn idt_get_handler(unsigned vector)
{
    KASSERT(vector < IDT_VECTORS, "idt_get_handler: vector %u out of range", vector);
    return __atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE);
}
