/* In-kernel tests, reported in KTAP over the serial console.
 *
 *   KTEST(seed_pmm_alloc_free_reuse) {
 *       paddr_t a;
 *       KEXPECT_EQ(t, pmm_alloc_frame(&a), 0);
 *   }
 *
 * Each KTEST is placed in the .ktests section; ktest_run_all() runs them in
 * link order. A failed expectation prints a "# file:line: ..." diagnostic
 * and marks the test failed; KASSERT-style fatal checks use KREQUIRE, which
 * returns from the test on failure. */
#pragma once

#include "kernel/selftest.h"
#include "lib/types.h"

struct ktest_ctx {
    const char *name;
    unsigned failures;
    const char *skip_reason; /* set by KSKIP */
};

struct ktest {
    const char *name;
    void (*fn)(struct ktest_ctx *t);
};

#define KTEST(tname)                                                          \
    static void tname(struct ktest_ctx *t);                                   \
    static const struct ktest ktest_desc_##tname                              \
        __attribute__((section(".ktests"), used, aligned(8))) = {#tname, tname}; \
    static void tname(struct ktest_ctx *t)

/* Record a failure with a diagnostic line. */
void ktest_fail(struct ktest_ctx *t, const char *file, int line, const char *fmt, ...)
    __printf(4, 5);

#define KEXPECT(t, cond)                                                      \
    ((cond) ? (void)0 : ktest_fail((t), __FILE__, __LINE__, "expected %s", #cond))

#define KEXPECT_EQ(t, a, b)                                                   \
    do {                                                                      \
        unsigned long long ka_ = (unsigned long long)(a);                     \
        unsigned long long kb_ = (unsigned long long)(b);                     \
        if (ka_ != kb_)                                                       \
            ktest_fail((t), __FILE__, __LINE__, "expected %s == %s (0x%llx != 0x%llx)", \
                       #a, #b, ka_, kb_);                                     \
    } while (0)

#define KREQUIRE(t, cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            ktest_fail((t), __FILE__, __LINE__, "required %s", #cond);        \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Mark the running test skipped (reported as "ok N name # SKIP reason"). */
#define KSKIP(t, reason) do { (t)->skip_reason = (reason); return; } while (0)
