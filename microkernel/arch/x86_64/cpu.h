/* Thin wrappers over x86-64 privileged instructions and registers. */
#pragma once

#include "lib/types.h"

#define CR0_MP  (1ULL << 1)
#define CR0_EM  (1ULL << 2)
#define CR0_TS  (1ULL << 3)
#define CR0_WP  (1ULL << 16)
#define CR4_PGE (1ULL << 7)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_OSXSAVE    (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define MSR_EFER    0xc0000080u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define EFER_NXE (1ULL << 11)
#define RFLAGS_TF  (1ULL << 8)
#define RFLAGS_IF  (1ULL << 9)
#define RFLAGS_DF  (1ULL << 10)
#define RFLAGS_NT  (1ULL << 14)
#define RFLAGS_AC  (1ULL << 18)
#define RFLAGS_ALWAYS_ONE (1ULL << 1)
/* RFLAGS bits user code may own (CF PF AF ZF SF TF DF OF AC ID); the rest
 * (IOPL, NT, RF, VM, VIF, VIP) are cleared on the way out to ring 3, and IF
 * and the always-one bit are set (syscall_entry.asm, trap_entry.asm). */
#define RFLAGS_USER_MASK 0x240dd5ULL
#define RFLAGS_USER_SET  (RFLAGS_IF | RFLAGS_ALWAYS_ONE)
/* A new thread's first kernel instructions: only the always-one bit
 * (interrupts off, and nothing inherited from the switching thread). */
#define RFLAGS_KERNEL_INITIAL RFLAGS_ALWAYS_ONE

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}

/* Kernel C code runs with RFLAGS.AC clear outside the user-copy windows:
 * every entry clears it (arch/x86_64/kernel_flags.inc), since an AC left
 * set by ring 3 would switch SMAP off. `where` names the entry point. */
#define ASSERT_KERNEL_AC_CLEAR(where)                                                \
    KASSERT(!(read_rflags() & RFLAGS_AC), "%s: RFLAGS.AC set in the kernel (SMAP off)", \
            where)

static inline void invlpg(vaddr_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

/* Serialising timestamp read: under QEMU -icount shift=0 this counts guest
 * instructions exactly. */
static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
