/* panic() and assertions: invariants are checked loudly, naming what broke. */
#pragma once

#include "lib/types.h"

/* Print "panic: <message>", a register dump and backtrace where available,
 * then stop the machine (in test mode: power QEMU off with a failure status).
 * Never returns. Host test builds provide their own implementation. */
__noreturn __printf(1, 2) void panic(const char *fmt, ...);

/* Check an invariant; on failure panic with the condition, file, line and a
 * formatted reason, e.g. KASSERT(n < max, "pfn %lu beyond %lu", n, max). */
#define KASSERT(cond, fmt, ...)                                              \
    do {                                                                     \
        if (unlikely(!(cond)))                                               \
            panic("assertion '%s' failed at %s:%d: " fmt, #cond, __FILE__,   \
                  __LINE__, ##__VA_ARGS__);                                  \
    } while (0)
