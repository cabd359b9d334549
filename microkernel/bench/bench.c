/* Benchmark runner: warm-up, then one timed run per benchmark. */
#include "bench/bench.h"
#include "kernel/boot_state.h"
#include "lib/console.h"
#include "arch/x86_64/cpu.h"

#define BENCH_WARMUP 256
#define BENCH_ITERS  10000

extern const struct kbench __kbench_start[], __kbench_end[];

/* The cost of the benchmark loop itself (counter, compare, branch), which
 * is subtracted from every figure. */
static uint64_t empty_loop(uint64_t iters)
{
    uint64_t t0 = rdtsc_ordered();
    for (uint64_t i = 0; i < iters; i++)
        __asm__ volatile("");
    return rdtsc_ordered() - t0;
}

void bench_run_all(void)
{
    kprintf("bench: %zu benchmarks, %d iterations each, guest instructions per operation\n",
            (size_t)(__kbench_end - __kbench_start), BENCH_ITERS);
    kprintf("bench: boot_to_main %llu insn/op   # first kernel instruction to the end of memory-core init\n",
            (unsigned long long)boot_state.boot_to_main_insns);
    empty_loop(BENCH_WARMUP);
    uint64_t overhead = empty_loop(BENCH_ITERS);
    kprintf("bench: loop overhead %llu instructions per iteration, subtracted below\n",
            (unsigned long long)(overhead / BENCH_ITERS));
    for (const struct kbench *b = __kbench_start; b < __kbench_end; b++) {
        b->fn(BENCH_WARMUP);
        uint64_t total = b->fn(BENCH_ITERS);
        total = total > overhead ? total - overhead : 0;
        /* One decimal place without floating point. */
        uint64_t tenths = (total * 10 + BENCH_ITERS / 2) / BENCH_ITERS;
        kprintf("bench: %s %llu.%llu insn/op   # %s\n", b->name,
                (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10), b->what);
    }
    kprintf("bench: done\n");
}
