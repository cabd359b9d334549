/* Memory-core benchmarks: allocator fast paths and a 4 KiB map/unmap. */
#include "bench/bench.h"
#include "arch/x86_64/cpu.h"
#include "lib/assert.h"
#include "mm/kheap.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "mm/vmm.h"

/* Keep the compiler from optimising a pointer away. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

KBENCH(pmm_alloc_free, "pmm_alloc_frame + pmm_free_frame (per-CPU cache hit)")
{
    paddr_t pa;
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t i = 0; i < iters; i++) {
        if (pmm_alloc_frame(&pa) < 0)
            panic("bench: pmm_alloc_frame failed");
        pmm_free_frame(pa);
    }
    return rdtsc_ordered() - t0;
}

static uint64_t kmalloc_free_loop(uint64_t iters, size_t size)
{
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = kmalloc(size);
        OPAQUE(p);
        kfree(p);
    }
    return rdtsc_ordered() - t0;
}

KBENCH(kmalloc_free_32, "kmalloc(32) + kfree")
{
    return kmalloc_free_loop(iters, 32);
}

KBENCH(kmalloc_free_1k, "kmalloc(1024) + kfree")
{
    return kmalloc_free_loop(iters, 1024);
}

KBENCH(slab_alloc_free, "slab_alloc + slab_free on a named 64-byte cache")
{
    static struct slab_cache *c;
    if (!c)
        c = slab_cache_create("bench-64", 64, 0);
    KASSERT(c != NULL, "bench: cannot create slab cache");
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = slab_alloc(c);
        OPAQUE(p);
        slab_free(c, p);
    }
    return rdtsc_ordered() - t0;
}

KBENCH(map_unmap_4k, "vmm_map + vmm_unmap of one 4 KiB page in the kernel space, invlpg included")
{
    const vaddr_t va = 0xffffc00000000000ULL; /* unused kernel-half region */
    paddr_t pa, old;
    if (pmm_alloc_frame(&pa) < 0)
        panic("bench: no frame");
    struct vm_space *ks = vmm_kernel_space();
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t i = 0; i < iters; i++) {
        if (vmm_map(ks, va, pa, VM_WRITE) < 0)
            panic("bench: vmm_map failed");
        vmm_unmap(ks, va, &old);
    }
    uint64_t t = rdtsc_ordered() - t0;
    pmm_free_frame(pa);
    return t;
}
