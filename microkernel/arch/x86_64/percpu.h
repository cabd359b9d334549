/* Per-CPU data: the one place where state private to a CPU lives.
 * Hot paths reach their CPU's state through this_cpu(), never through a
 * hidden global, so that a second CPU only needs its own struct cpu.
 * The assembly entry paths use the first fields at fixed offsets. */
#pragma once

#include "lib/types.h"
#include "lib/frame_stack.h"

struct thread;
struct runqueue;

struct cpu {
    struct cpu *self;           /* 0: must stay first: %gs:0 reads it */
    unsigned id;                /* 8: 0 for the boot CPU */
    uint32_t reserved;
    uint64_t kernel_rsp;        /* 16: top of the current thread's kernel stack */
    uint64_t user_rsp;          /* 24: scratch for the syscall entry */
    struct thread *current;     /* 32: the thread running on this CPU */
    struct thread *idle;        /* 40: this CPU's idle thread */
    struct runqueue *rq;        /* its run queue (object/sched.c), from its first switch on */
    struct frame_stack pmm;     /* the pmm's cache of free frames, see mm/pmm.c */
    uint64_t syscalls;          /* system calls entered on this CPU (MICA_INFO_SYSCALLS) */
};

#define PERCPU_KERNEL_RSP 16
#define PERCPU_USER_RSP   24
#define PERCPU_CURRENT    32
STATIC_ASSERT(offsetof(struct cpu, kernel_rsp) == PERCPU_KERNEL_RSP, "cpu.kernel_rsp");
STATIC_ASSERT(offsetof(struct cpu, user_rsp) == PERCPU_USER_RSP, "cpu.user_rsp");
STATIC_ASSERT(offsetof(struct cpu, current) == PERCPU_CURRENT, "cpu.current");

#ifdef MICA_HOST
extern struct cpu host_cpu0;
static inline struct cpu *this_cpu(void) { return &host_cpu0; }
static inline struct thread *percpu_current(void) { return host_cpu0.current; }
#else
/* The CPU running this code (GS base points at its struct cpu). */
static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__("mov %%gs:0, %0" : "=r"(c));
    return c;
}

/* this_cpu()->current in one %gs-relative load. Volatile: the field
 * changes at every switch, so no two reads may be merged. */
static inline struct thread *percpu_current(void)
{
    struct thread *t;
    __asm__ volatile("mov %%gs:%c1, %0" : "=r"(t) : "i"(PERCPU_CURRENT));
    return t;
}
#endif

/* Make `c` the current CPU's data block (writes the GS base MSR). */
void percpu_install(struct cpu *c, unsigned id);
