/* Benchmark of demand paging through servers/pager, run by init in bench
 * mode (not a test) with "pager:pager" (the grant "pager" is the pager, also this
 * task's registered pager). Method as in bench_ipc.c: under tools/bench
 * rdtsc counts guest instructions. fault_demand_zero is the first write to
 * each page of a fresh region (fault, kernel-made call to the pager,
 * MICA_SYS_MAP_ANON with the zeroing of a frame, reply, retry of the
 * store), less the same loop over the pages once mapped. fault_cow is the
 * first write to each page of a region shared copy-on-write with a forked
 * child that is still alive (fault marked MICA_FAULT_COW, call to the
 * pager, MICA_SYS_MAP_COW copying the frame, reply, store retried), less
 * the same loop once the pages are private. */
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#define RW (MICA_PROT_READ | MICA_PROT_WRITE)

#define PAGE   4096u
#define NPAGES 2048u /* 8 MiB */
#define COW_PAGES 1024u /* 4 MiB shared, 4 MiB more once copied */

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n rdtsc\n lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* One store per page; returns the instructions it took. */
static uint64_t touch(volatile uint8_t *p, unsigned n)
{
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++)
        p[(uint64_t)i * PAGE] = 1;
    return tsc() - t0;
}

static void report(const char *name, uint64_t first, uint64_t again, unsigned n,
                   const char *what)
{
    uint64_t net = first > again ? first - again : 0;
    uint64_t tenths = (net * 10 + n / 2) / n;
    printf("bench: %s %llu.%llu insn/op # %s\n", name, (unsigned long long)(tenths / 10),
           (unsigned long long)(tenths % 10), what);
}

/* The forked child: holds its copy-on-write mappings until told to go. */
static uint64_t hold_ep;
static void hold_until_told(void)
{
    struct mica_msg m;
    mica_ipc_recv(hold_ep, &m, MICA_IPC_BLOCK);
    mica_exit(0);
}

static void bench_fault_cow(void)
{
    volatile uint8_t *w = vm_alloc(16 * PAGE, RW);
    volatile uint8_t *p = vm_alloc((uint64_t)COW_PAGES * PAGE, RW);
    long ep = mica_endpoint_create();
    if (!w || !p || ep < 0) {
        printf("# bench_pager: no region or endpoint: fault_cow not measured\n");
        return;
    }
    hold_ep = (uint64_t)ep;
    touch(w, 16); /* every page present, then shared by the fork */
    touch(p, COW_PAGES);
    stdio_flush();
    long child = vm_fork();
    if (child == 0)
        hold_until_told();
    if (child < 0) {
        printf("# bench_pager: vm_fork failed (%s): fault_cow not measured\n",
               mica_error_name(child));
    } else {
        touch(w, 16); /* warm the copy-on-write path */
        uint64_t first = touch(p, COW_PAGES);
        uint64_t again = touch(p, COW_PAGES);
        report("fault_cow", first, again, COW_PAGES,
               "first write to a page shared copy-on-write with a live child: #PF, "
               "kernel-made call to servers/pager, MICA_SYS_MAP_COW (frame copied), reply, "
               "store retried");
        struct mica_msg go = {.label = 1};
        mica_ipc_send(hold_ep, &go, MICA_IPC_BLOCK);
        mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
    }
    mica_handle_close(hold_ep);
    vm_free((void *)w, 16 * PAGE);
    vm_free((void *)p, (uint64_t)COW_PAGES * PAGE);
}

int main(const struct mica_start_info *si)
{
    (void)si;
    /* Warm the fault path (pager code, kernel caches, page tables). */
    volatile uint8_t *w = vm_alloc(16 * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    volatile uint8_t *p = vm_alloc((uint64_t)NPAGES * PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    if (!w || !p) {
        printf("# bench_pager: vm_alloc failed (no pager?): fault_demand_zero not measured\n");
        return 0;
    }
    touch(w, 16);
    uint64_t first = touch(p, NPAGES);
    uint64_t again = touch(p, NPAGES);
    report("fault_demand_zero", first, again, NPAGES,
           "first write to an untouched page of a vm_alloc region: #PF, kernel-made call to "
           "servers/pager, MICA_SYS_MAP_ANON (frame zeroed), reply, store retried");
    vm_free((void *)w, 16 * PAGE);
    vm_free((void *)p, (uint64_t)NPAGES * PAGE);
    bench_fault_cow();
    return 0;
}
