/* Benchmark of interrupt latency under hostile system calls, run by init
 * in bench mode with "pager:pager" (the grant "pager": the pager, also this task's
 * pager, which vm_fork needs). The kernel records how long each timer
 * interrupt waited pending before its handler ran (MICA_INFO_IRQ_LATENCY_*,
 * in ns of the guest clock: guest instructions under tools/bench's
 * -icount shift=0). The window is reset, the costliest calls of
 * hostile.h run with the largest arguments this guest allows (1 GiB maps,
 * a 256 MiB fork, a 16 MiB image), and the worst and mean waits are
 * reported. The target (docs/design.md, "Preemption points") is 50,000. */
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "hostile.h"

#define GiB (1ull << 30)

static void run(const char *what, long rc)
{
    if (rc < 0)
        printf("# bench_irq: %s failed (%s)\n", what, mica_error_name(rc));
}

int main(const struct mica_start_info *si)
{
    (void)si;
    /* Leave a quarter of the free memory for page tables and the rest. */
    uint64_t free_bytes = (uint64_t)mica_info(MICA_INFO_FREE_FRAMES) * HOSTILE_PAGE;
    uint64_t bytes = GiB;
    while (bytes > free_bytes * 3 / 4)
        bytes /= 2;
    if (bytes < GiB)
        printf("# bench_irq: %llu MiB of memory only: maps of %llu MiB instead of 1 GiB\n",
               (unsigned long long)(free_bytes >> 20), (unsigned long long)(bytes >> 20));
    mica_info(MICA_INFO_IRQ_LATENCY_RESET);
    run("unmap of the user half", hostile_unmap_user_half());
    run("map and unmap", hostile_map_unmap(bytes));
    run("exit with memory mapped", hostile_exit_mapped(bytes));
    run("fork", hostile_fork_mapped(bytes / 4));
    run("spawn of a 16 MiB image", hostile_spawn_big(HOSTILE_IMAGE_MB));
    int64_t max = mica_info(MICA_INFO_IRQ_LATENCY_MAX);
    int64_t mean = mica_info(MICA_INFO_IRQ_LATENCY_MEAN);
    printf("bench: irq_latency_max %lld insn/op # longest wait of a timer interrupt from "
           "pending to its handler while tasks unmap the user half, map/unmap %llu MiB, exit "
           "with it mapped, fork with a quarter of it, spawn a 16 MiB image\n",
           (long long)max, (unsigned long long)(bytes >> 20));
    printf("bench: irq_latency_mean %lld insn/op # mean wait of the timer interrupts over the "
           "same run\n", (long long)mean);
    return 0;
}
