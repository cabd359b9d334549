/* percpu_install(): pointing GS at a CPU's struct cpu, so this_cpu() works. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/percpu.h"
#include "lib/assert.h"

STATIC_ASSERT(offsetof(struct cpu, self) == 0, "this_cpu() reads the self pointer at %gs:0");

void percpu_install(struct cpu *c, unsigned id)
{
    KASSERT(c != NULL, "percpu_install: no struct cpu");
    KASSERT(id < MAX_CPUS, "percpu_install: cpu id %u beyond MAX_CPUS %u", id,
            (unsigned)MAX_CPUS);

    c->self = c;
    c->id = id;
    /* Load the null selector first: a selector load would otherwise be free
     * to replace the base written below. */
    __asm__ volatile("movw %w0, %%gs" : : "r"(0) : "memory");
    wrmsr(MSR_GS_BASE, (uintptr_t)c);
}
