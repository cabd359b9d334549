/* Host test harness: TAP runner plus the kernel services that kernel code
 * expects (panic, kprintf, per-CPU data, the direct map base, simulated
 * physical memory). Kernel sources are compiled with -DMICA_HOST. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tap.h"
#include "sim.h"
#include "arch/x86_64/percpu.h"

int tap_failures;
jmp_buf *tap_panic_jmp;
char tap_last_panic[512];

uintptr_t host_direct_map_base;
struct cpu host_cpu0;

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tap_last_panic, sizeof tap_last_panic, fmt, ap);
    va_end(ap);
    if (tap_panic_jmp)
        longjmp(*tap_panic_jmp, 1);
    printf("# panic: %s\nBail out! unexpected panic\n", tap_last_panic);
    fflush(stdout);
    abort();
}

int kvprintf(const char *fmt, va_list ap)
{
    return vprintf(fmt, ap);
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void *sim_phys_create(uint64_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("sim_phys_create: mmap");
        exit(2);
    }
    host_direct_map_base = (uintptr_t)p;
    return p;
}

void sim_phys_destroy(void *p, uint64_t bytes)
{
    munmap(p, bytes);
    host_direct_map_base = 0;
}

int tap_run(const struct tap_test *tests, int n)
{
    int failed = 0;
    printf("TAP version 13\n1..%d\n", n);
    for (int i = 0; i < n; i++) {
        tap_failures = 0;
        tests[i].fn();
        printf("%sok %d %s\n", tap_failures ? "not " : "", i + 1, tests[i].name);
        fflush(stdout);
        if (tap_failures)
            failed++;
    }
    return failed ? 1 : 0;
}
