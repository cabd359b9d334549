/* demo: what `make run` shows of the ring-3 pager, step by step, for a
 * person reading the console. It touches untouched pages of a fresh region
 * (each first touch is a page fault the kernel sends to servers/pager,
 * which maps a zeroed page: the free-frame count drops by one per page),
 * forks a copy-on-write clone whose writes stay private, and lets a child
 * write to a read-only page, which the pager refuses (the kernel prints
 * the kill report). Started by init from a `demo demo pager:pager` line
 * (normal mode only; vm_* use the grant "pager"); should it run in test or
 * bench mode anyway, it does nothing and prints nothing (the logs there
 * are parsed). */
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>
#include <mica/vm.h>

#define PAGE 4096u
#define RW   (MICA_PROT_READ | MICA_PROT_WRITE)

static int64_t frames(void)
{
    return mica_info(MICA_INFO_FREE_FRAMES);
}

/* Step 1: demand-zero pages. */
static void touch_fresh_pages(void)
{
    volatile uint64_t *p = vm_alloc(4 * PAGE, RW);
    if (!p) {
        printf("demo: vm_alloc failed (is servers/pager running?)\n");
        return;
    }
    vm_verbose(true); /* the pager prints each decision it takes for us from now on */
    printf("demo: touching 4 untouched pages of a fresh region at %p...\n", (void *)p);
    printf("demo:   (each first touch faults; the pager maps zeroed frames, a few pages\n"
           "demo:   ahead when touches go upward, and the kernel adds page tables)\n");
    for (unsigned i = 0; i < 4; i++) {
        int64_t before = frames();
        volatile uint64_t *pg = p + i * (PAGE / sizeof *p);
        uint64_t seen = pg[0];
        pg[1] = i + 1;
        printf("demo:   page %u: read %llu, wrote %u; %lld fewer free frames\n", i,
               (unsigned long long)seen, i + 1, (long long)(before - frames()));
    }
    vm_free((void *)p, 4 * PAGE);
}

/* Step 2: a copy-on-write clone. The child writes first: its page is
 * shared with the parent, so the pager copies it. When the parent writes
 * after the child is gone, the frame has no other mapping left and the
 * pager takes it over without a copy. */
static void fork_and_write(void)
{
    volatile uint64_t *shared = vm_alloc(PAGE, RW);
    if (!shared)
        return;
    shared[0] = 1000;
    printf("demo: forking; child writes, parent reads its own data (copy-on-write)...\n");
    stdio_flush(); /* or the child would print this line again */
    long child = vm_fork();
    if (child == 0) {
        int64_t before = frames();
        shared[0] = 2222;
        printf("demo:   child: wrote 2222 over 1000; %lld frame(s) used: the page was shared, "
               "the pager copied it\n", (long long)(before - frames()));
        mica_exit(0);
    }
    if (child < 0) {
        printf("demo:   vm_fork failed: %s\n", mica_error_name(child));
    } else {
        mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
        printf("demo:   parent: reads %llu: the child's write went to its own copy\n",
               (unsigned long long)shared[0]);
        int64_t before = frames();
        shared[0] = 1111;
        printf("demo:   parent: wrote 1111; %lld frame(s) used: the child is gone, so the "
               "pager took the frame over instead of copying\n",
               (long long)(before - frames()));
    }
    vm_free((void *)shared, PAGE);
}

/* Step 3: a violation. */
static void write_read_only(void)
{
    volatile uint64_t *ro = vm_alloc(PAGE, MICA_PROT_READ);
    if (!ro)
        return;
    printf("demo: child writes to a read-only page at %p...\n", (void *)ro);
    stdio_flush();
    long child = vm_fork();
    if (child == 0) {
        ro[0] = 1;
        mica_exit(0);
    }
    if (child < 0) {
        printf("demo:   vm_fork failed: %s\n", mica_error_name(child));
    } else {
        int64_t status = mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
        printf("demo: child writes to a read-only page -> %s (see the report above)\n",
               status == MICA_EXIT_KILLED ? "killed" : "NOT killed");
    }
    vm_free((void *)ro, PAGE);
}

int main(const struct mica_start_info *si)
{
    if (si->flags & (MICA_START_TEST_MODE | MICA_START_BENCH_MODE))
        return 0;
    touch_fresh_pages();
    fork_and_write();
    write_read_only();
    printf("demo: done\n");
    return 0;
}
