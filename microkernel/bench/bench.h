/* In-kernel benchmarks: guest instructions per operation, read with rdtsc
 * (exact under QEMU -icount shift=0). Printed as
 * "bench: <name> <value> insn/op". Not tests: nothing here can fail. */
#pragma once

#include "kernel/selftest.h"
#include "lib/types.h"

struct kbench {
    const char *name;
    const char *what;              /* what one operation includes */
    uint64_t (*fn)(uint64_t iters); /* returns total instructions for iters ops */
};

/* Register a benchmark (placed in the .kbench section, run in link order). */
#define KBENCH(bname, description)                                            \
    static uint64_t bname(uint64_t iters);                                    \
    static const struct kbench kbench_desc_##bname                            \
        __attribute__((section(".kbench"), used, aligned(8))) = {#bname, description, bname}; \
    static uint64_t bname(uint64_t iters)
