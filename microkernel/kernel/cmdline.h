/* The kernel command line: space-separated options from GRUB. */
#pragma once

#include "lib/types.h"

struct kernel_options {
    bool test;   /* "test": run the in-kernel tests, then power off */
    bool bench;  /* "bench": run the benchmarks, then power off */
    bool workload; /* "workload": init runs the workload lines of boot.cfg, then
                    * powers off (fault-injection campaigns) */
    char crash[16]; /* "crash=KIND": fault on purpose after boot (tests the
                     * panic report); "" when absent */
};

/* Parse `cmdline` (untrusted, may be NULL) into *opts. Unknown options and
 * bad values get a warning line and are ignored; boot goes on.
 * "inject=SPEC" and "inject-seed=N" are applied at once to the injection
 * points (inject/inject.h), not stored in *opts. */
void cmdline_parse(const char *cmdline, struct kernel_options *opts);
