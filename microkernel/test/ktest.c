/* The in-kernel test runner: KTAP version 1 over the console. */
#include <stdarg.h>

#include "test/ktest.h"
#include "lib/console.h"

extern const struct ktest __ktests_start[], __ktests_end[];

static unsigned total_passed, total_failed;

void ktest_totals(unsigned *passed, unsigned *failed)
{
    *passed = total_passed;
    *failed = total_failed;
}

void ktest_fail(struct ktest_ctx *t, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    t->failures++;
    kprintf("    # %s: %s:%d: ", t->name, file, line);
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
}

unsigned ktest_run_all(void)
{
    size_t n = (size_t)(__ktests_end - __ktests_start);
    unsigned passed = 0, failed = 0, skipped = 0;

    kprintf("KTAP version 1\n1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const struct ktest *k = &__ktests_start[i];
        struct ktest_ctx t = {.name = k->name};
        k->fn(&t);
        if (t.failures) {
            failed++;
            kprintf("not ok %zu %s\n", i + 1, k->name);
        } else if (t.skip_reason) {
            skipped++;
            kprintf("ok %zu %s # SKIP %s\n", i + 1, k->name, t.skip_reason);
        } else {
            passed++;
            kprintf("ok %zu %s\n", i + 1, k->name);
        }
    }
    kprintf("# kernel tests: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
    total_passed = passed;
    total_failed = failed;
    return failed;
}
