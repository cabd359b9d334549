/* The /init of the Linux guest that `make bench` boots beside Mica: the
 * same operations measured the Linux way, in the same metric (QEMU
 * -icount: rdtsc counts guest instructions), printed as
 *     bench: NAME VALUE insn/op # what one operation includes
 * with the names of the Mica rows they compare with. Ends the machine
 * through QEMU's isa-debug-exit port. Built static by tools/bench-linux;
 * a host program, not part of Mica. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096ull
#define SINGLES 512u
#define STRIDE (16 * PAGE)
#define PT_STRIDE (2ull * 1024 * 1024)

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n rdtsc\n lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void row(const char *name, uint64_t tenths, const char *what)
{
    printf("bench: %s %llu.%llu insn/op # %s\n", name, (unsigned long long)(tenths / 10),
           (unsigned long long)(tenths % 10), what);
    fflush(stdout);
}

static void per_op(const char *name, uint64_t total, uint64_t empty, unsigned n, const char *what)
{
    uint64_t net = total > empty ? total - empty : 0;
    row(name, (net * 10 + n / 2) / n, what);
}

static uint64_t samples[SINGLES];

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void median_mean(const char *name, unsigned n, const char *what)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += samples[i];
    qsort(samples, n, sizeof samples[0], cmp);
    row(name, samples[n / 2] * 10, what);
    char mean[64];
    snprintf(mean, sizeof mean, "%s_mean", name);
    row(mean, (sum * 10 + n / 2) / n, "mean of the same operations (median above)");
}

static uint64_t empty_pair(void)
{
    uint64_t t0 = tsc();
    return tsc() - t0;
}

static void single_writes(volatile uint8_t *p, unsigned n, uint64_t stride)
{
    uint64_t empty = empty_pair();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = tsc();
        p[i * stride] = 1;
        uint64_t t = tsc() - t0;
        samples[i] = t > empty ? t - empty : 0;
    }
}

static volatile uint8_t *anon(uint64_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    madvise(p, len, MADV_NOHUGEPAGE); /* one 4 KiB page per fault, as Mica */
    return p;
}

static void bench_getppid(void)
{
    unsigned n = 10000;
    for (unsigned i = 0; i < 256; i++)
        syscall(SYS_getppid);
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++)
        __asm__ volatile("" ::: "memory");
    uint64_t empty = tsc() - t0;
    t0 = tsc();
    for (unsigned i = 0; i < n; i++)
        syscall(SYS_getppid);
    per_op("syscall_null", tsc() - t0, empty, n, "getppid() through syscall(2): entry, the call, exit");
}

static void bench_pipe(const char *name, size_t len)
{
    int a[2], b[2];
    static char buf[4096];
    if (pipe(a) || pipe(b))
        exit(1);
    pid_t child = fork();
    if (child == 0) {
        close(a[1]); /* so that the parent's close ends the loop */
        close(b[0]);
        for (;;) {
            if (read(a[0], buf, len) != (ssize_t)len)
                _exit(0);
            write(b[1], buf, len);
        }
    }
    close(a[0]);
    close(b[1]);
    unsigned n = 2000;
    for (unsigned i = 0; i < 64; i++) {
        write(a[1], buf, len);
        read(b[0], buf, len);
    }
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++) {
        write(a[1], buf, len);
        read(b[0], buf, len);
    }
    uint64_t t = tsc() - t0;
    char what[160];
    snprintf(what, sizeof what, "pipe ping-pong between two processes, %zu byte%s each way: "
             "write + read on each side, two address-space switches", len, len == 1 ? "" : "s");
    per_op(name, t, 0, n, what);
    close(a[1]);
    waitpid(child, NULL, 0);
    close(b[0]);
}

static void bench_faults(void)
{
    volatile uint8_t *p = anon(SINGLES * STRIDE);
    single_writes(p, SINGLES, STRIDE);
    median_mean("fault_demand_zero_single", SINGLES,
                "first write to an untouched anonymous page (64 KiB apart): #PF, VMA lookup, "
                "page allocated and zeroed, PTE installed, store retried");
    munmap((void *)p, SINGLES * STRIDE);
    p = anon((SINGLES / 4) * PT_STRIDE);
    single_writes(p, SINGLES / 4, PT_STRIDE);
    median_mean("fault_demand_zero_pt", SINGLES / 4,
                "as fault_demand_zero_single with pages 2 MiB apart (a page table per fault)");
    munmap((void *)p, (SINGLES / 4) * PT_STRIDE);
}

static void bench_cow(void)
{
    unsigned n = SINGLES;
    volatile uint8_t *p = anon(2 * n * PAGE);
    for (unsigned i = 0; i < 2 * n; i++)
        p[i * PAGE] = 1;
    int go[2];
    if (pipe(go))
        exit(1);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    single_writes(p, n, PAGE);
    median_mean("fault_cow", n, "first write to a page shared copy-on-write with a live forked "
                "child: #PF, new page, 4 KiB copied, PTE updated, TLB flushed");
    write(go[1], "x", 1);
    waitpid(child, NULL, 0);
    single_writes(p + n * PAGE, n, PAGE);
    median_mean("fault_cow_takeover", n, "as fault_cow once the child has exited: the page is "
                "reused, no copy");
    munmap((void *)p, 2 * n * PAGE);
}

static void bench_mmap_munmap(void)
{
    unsigned n = 1000;
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++) {
        void *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(q, PAGE);
    }
    per_op("vm_alloc_free", tsc() - t0, 0, n, "mmap + munmap of one untouched anonymous page");
}

static void bench_fork(void)
{
    unsigned n = 64;
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0)
            _exit(0);
        waitpid(c, NULL, 0);
    }
    per_op("fork_exit_wait", tsc() - t0, 0, n, "fork of this static program, the child's _exit, "
           "waitpid");
}

static void bench_spawn(const char *name, const char *path, const char *what)
{
    unsigned n = 32;
    char *argv[] = {(char *)path, NULL}, *envp[] = {NULL};
    uint64_t t0 = 0;
    for (unsigned i = 0; i < n + 4; i++) {
        if (i == 4)
            t0 = tsc();
        pid_t c = fork();
        if (c == 0) {
            execve(path, argv, envp);
            _exit(127);
        }
        waitpid(c, NULL, 0);
    }
    per_op(name, tsc() - t0, 0, n, what);
}

int main(void)
{
    uint64_t start = tsc();
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    row("boot_to_init", start * 10, "guest reset to /init's first C statement: SeaBIOS, the "
        "linuxboot option ROM, the Linux kernel's whole boot (the kernel's part dominates)");
    bench_getppid();
    bench_pipe("ipc_call_reply", 1);
    bench_pipe("ipc_call_reply_64", 64);
    bench_pipe("ipc_call_reply_512", 512);
    bench_pipe("ipc_call_reply_2048", 2048);
    bench_faults();
    bench_cow();
    bench_mmap_munmap();
    bench_fork();
    bench_spawn("task_spawn_exit", "/tiny", "fork + execve of a 4 KiB static program that "
                "exits at once + waitpid");
    bench_spawn("task_spawn_exit_1m", "/big", "fork + execve of a static program with 1 MiB "
                "of data (mapped from the file, not copied) + waitpid");
    printf("bench: done\n");
    fflush(stdout);
    if (ioperm(0xf4, 1, 1) == 0)
        outb(0, 0xf4); /* QEMU isa-debug-exit: status (0 << 1) | 1 */
    return 0;
}
