/* Benchmarks of paging through servers/pager, run by init in bench mode
 * (not a test) with the pager as this task's pager. Under tools/bench
 * rdtsc counts guest instructions (QEMU -icount), so every figure is exact
 * and the same on every run.
 *
 * Two ways of measuring, each named in its row:
 * - per operation: rdtsc around one store (or one call), minus the cost of
 *   an empty rdtsc pair; the median and the mean over many operations are
 *   reported, because one operation can take a slow path (a page-table page
 *   to allocate, a cache refill) that a mean alone hides;
 * - per page of a walk: the whole loop minus the same loop once every page
 *   is mapped, divided by the pages (fault_demand_zero_seq: the pager maps
 *   8 pages per fault on a sequential walk, so this is the favourable case).
 * Each row says what one operation includes. */
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#define RW (MICA_PROT_READ | MICA_PROT_WRITE)

#define PAGE      4096ull
#define NPAGES    2048u /* 8 MiB, sequential walk */
#define COW_PAGES 1024u /* 4 MiB shared, 4 MiB more once copied */
#define SINGLES   512u  /* faults measured one by one */
#define STRIDE    (16 * PAGE)       /* 64 KiB: never a sequential neighbour */
#define PT_STRIDE (2ull * 1024 * 1024) /* 2 MiB: every fault needs a new page table */
#define FORKS     64u

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n rdtsc\n lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* One store per page; returns the instructions it took. */
static uint64_t touch(volatile uint8_t *p, unsigned n, uint64_t stride)
{
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++)
        p[(uint64_t)i * stride] = 1;
    return tsc() - t0;
}

static void print_row(const char *name, uint64_t tenths, const char *what)
{
    printf("bench: %s %llu.%llu insn/op # %s\n", name, (unsigned long long)(tenths / 10),
           (unsigned long long)(tenths % 10), what);
}

static void report_walk(const char *name, uint64_t first, uint64_t again, unsigned n,
                        const char *what)
{
    uint64_t net = first > again ? first - again : 0;
    print_row(name, (net * 10 + n / 2) / n, what);
}

/* Per-operation samples: median and mean rows. */
static uint64_t samples[SINGLES];

static uint64_t empty_pair(void)
{
    uint64_t t0 = tsc();
    return tsc() - t0;
}

static void sort(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static void report_samples(const char *name, unsigned n, const char *what)
{
    char mean_name[64], mean_what[200];
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += samples[i];
    sort(samples, n);
    print_row(name, samples[n / 2] * 10, what);
    snprintf(mean_name, sizeof mean_name, "%s_mean", name);
    snprintf(mean_what, sizeof mean_what, "mean of the same %u operations (median above)", n);
    print_row(mean_name, (sum * 10 + n / 2) / n, mean_what);
}

/* n single stores `stride` apart from p, each timed alone into samples[]
 * (the cost of an empty rdtsc pair subtracted). */
static void time_stores(volatile uint8_t *p, unsigned n, uint64_t stride)
{
    uint64_t empty = empty_pair();
    for (unsigned i = 0; i < n; i++) {
        volatile uint8_t *q = p + (uint64_t)i * stride;
        uint64_t t0 = tsc();
        *q = 2;
        uint64_t t = tsc() - t0;
        samples[i] = t > empty ? t - empty : 0;
    }
}

/* time_stores into a fresh region. */
static int single_faults(unsigned n, uint64_t stride)
{
    volatile uint8_t *p = vm_alloc((uint64_t)n * stride, RW);
    if (!p)
        return -1;
    time_stores(p, n, stride);
    vm_free((void *)p, (uint64_t)n * stride);
    return 0;
}

static void bench_single_faults(const char *suffix, unsigned mapped_mb)
{
    char name[64], what[320];
    snprintf(name, sizeof name, "fault_demand_zero_single%s", suffix);
    if (mapped_mb)
        snprintf(what, sizeof what, "as fault_demand_zero_single with %u MiB already mapped in "
                 "the task", mapped_mb);
    else
        snprintf(what, sizeof what, "one write fault on an untouched page, pages 64 KiB apart "
                 "so the pager maps one page per fault: #PF, kernel-made call to "
                 "servers/pager, MICA_SYS_MAP_ANON (one frame zeroed), reply, store retried");
    if (single_faults(SINGLES, STRIDE) == 0)
        report_samples(name, SINGLES, what);
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
    touch(w, 16, PAGE); /* every page present, then shared by the fork */
    touch(p, COW_PAGES, PAGE);
    stdio_flush();
    long child = vm_fork();
    if (child == 0)
        hold_until_told();
    if (child < 0) {
        printf("# bench_pager: vm_fork failed (%s): fault_cow not measured\n",
               mica_error_name(child));
    } else {
        touch(w, 16, PAGE); /* warm the copy-on-write path */
        /* Half the pages one by one (median, mean), the other half after the
         * child is gone: the pager then takes each frame over, no copy. */
        unsigned half = COW_PAGES / 2 < SINGLES ? COW_PAGES / 2 : SINGLES;
        time_stores(p, half, PAGE);
        report_samples("fault_cow", half,
                       "first write to a page shared copy-on-write with a live child: #PF "
                       "marked MICA_FAULT_COW, kernel-made call to servers/pager, "
                       "MICA_SYS_MAP_COW (4 KiB frame copied), reply, store retried");
        struct mica_msg go = {.label = 1};
        mica_ipc_send(hold_ep, &go, MICA_IPC_BLOCK);
        mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
        time_stores(p + (uint64_t)half * PAGE, half, PAGE);
        report_samples("fault_cow_takeover", half,
                       "as fault_cow once the child has exited: the page is still marked, "
                       "but no other mapping is left, so MICA_SYS_MAP_COW takes the frame "
                       "over (no copy)");
    }
    mica_handle_close(hold_ep);
    vm_free((void *)w, 16 * PAGE);
    vm_free((void *)p, (uint64_t)COW_PAGES * PAGE);
}

static void bench_vm_alloc_free(void)
{
    unsigned n = 200;
    for (unsigned i = 0; i < 16; i++)
        vm_free(vm_alloc(PAGE, RW), PAGE);
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++)
        vm_free(vm_alloc(PAGE, RW), PAGE);
    uint64_t t = tsc() - t0;
    print_row("vm_alloc_free", (t * 10 + n / 2) / n,
              "vm_alloc of one page and vm_free of it, untouched: two calls to servers/pager "
              "(a region made and dropped; MICA_SYS_UNMAP of the empty range)");
}

static int64_t child_exit(void)
{
    return 0;
}

static void bench_fork_exit_wait(void)
{
    stdio_flush();
    uint64_t t0 = tsc();
    unsigned done = 0;
    for (unsigned i = 0; i < FORKS; i++) {
        long child = vm_fork();
        if (child == 0)
            mica_exit(child_exit());
        if (child < 0)
            break;
        mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
        done++;
    }
    uint64_t t = tsc() - t0;
    if (done == FORKS)
        print_row("fork_exit_wait", (t * 10 + FORKS / 2) / FORKS,
                  "vm_fork of this program (every mapped page shared copy-on-write) through "
                  "servers/pager, the child's exit (and the pager's handling of its death "
                  "note), mica_task_wait, vm_release");
    else
        printf("# bench_pager: vm_fork failed: fork_exit_wait not measured\n");
}

/* Single faults with `mb` MiB already mapped in this task (MEM_MAP of our
 * own space, not through the pager): does the fault path scale? */
static void bench_single_faults_mapped(unsigned mb, const char *suffix)
{
    uint64_t len = (uint64_t)mb * 1024 * 1024;
    void *big = (void *)0x0000400000000000ull;
    if (mica_mem_map(big, len, RW) != 0) {
        printf("# bench_pager: cannot map %u MiB: fault_demand_zero_single%s not measured\n",
               mb, suffix);
        return;
    }
    bench_single_faults(suffix, mb);
    mica_mem_unmap(big, len);
}

int main(const struct mica_start_info *si)
{
    (void)si;
    /* Warm the fault path (pager code, kernel caches, page tables). */
    volatile uint8_t *w = vm_alloc(16 * PAGE, RW);
    volatile uint8_t *p = vm_alloc((uint64_t)NPAGES * PAGE, RW);
    if (!w || !p) {
        printf("# bench_pager: vm_alloc failed (no pager?): nothing measured\n");
        return 0;
    }
    touch(w, 16, PAGE);
    uint64_t first = touch(p, NPAGES, PAGE);
    uint64_t again = touch(p, NPAGES, PAGE);
    report_walk("fault_demand_zero_seq", first, again, NPAGES,
                "per page of a sequential walk over an untouched vm_alloc region, where the "
                "pager maps 8 pages per fault (the favourable case): #PF, kernel-made call "
                "to servers/pager, MICA_SYS_MAP_ANON (8 frames zeroed), reply, store retried");
    vm_free((void *)w, 16 * PAGE);
    vm_free((void *)p, (uint64_t)NPAGES * PAGE);

    bench_single_faults("", 0);
    if (single_faults(SINGLES / 4, PT_STRIDE) == 0)
        report_samples("fault_demand_zero_pt", SINGLES / 4,
                       "as fault_demand_zero_single with pages 2 MiB apart: each fault also "
                       "allocates and zeroes a page-table page");
    bench_fault_cow();
    bench_vm_alloc_free();
    bench_fork_exit_wait();

    /* Scaling: the same single faults with more already mapped. */
    uint64_t free_mb = (uint64_t)mica_info(MICA_INFO_FREE_FRAMES) * PAGE / (1024 * 1024);
    bench_single_faults_mapped(1, "_1m");
    if (free_mb > 64 + 32)
        bench_single_faults_mapped(64, "_64m");
    if (free_mb > 1024 + 64)
        bench_single_faults_mapped(1024, "_1g");
    return 0;
}
