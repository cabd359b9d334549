/* Per-CPU data: the one place where state private to a CPU lives.
 * Hot paths reach their CPU's state through this_cpu(), never through a
 * hidden global, so that a second CPU only needs its own struct cpu. */
#pragma once

#include "lib/types.h"
#include "mm/pmm_cache.h"

struct cpu {
    struct cpu *self;           /* must stay first: %gs:0 reads it */
    unsigned id;                /* 0 for the boot CPU */
    struct pmm_cpu_cache pmm;   /* small stack of free frames, see pmm.c */
};

#ifdef MICA_HOST
extern struct cpu host_cpu0;
static inline struct cpu *this_cpu(void) { return &host_cpu0; }
#else
/* The CPU running this code (GS base points at its struct cpu). */
static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__("mov %%gs:0, %0" : "=r"(c));
    return c;
}
#endif

/* Make `c` the current CPU's data block (writes the GS base MSR). */
void percpu_install(struct cpu *c, unsigned id);
