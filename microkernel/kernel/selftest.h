/* The runs kmain starts from the kernel command line ("test", "bench",
 * "crash=KIND") and the test totals the shutdown call reports. The test/
 * and bench/ layers, above the kernel and always linked in, implement
 * them; they are declared here so that kernel/ includes none of those
 * layers' headers (each comment names the implementing file). */
#pragma once

#include "lib/types.h"

/* test/ktest.c */
/* Run every registered test; prints KTAP and a "# kernel tests: ..."
 * summary (the final "N passed, M failed" line is printed at shutdown,
 * after the user-space tests). Returns the number of failures. */
unsigned ktest_run_all(void);

/* Tests passed and failed in the last ktest_run_all (0, 0 before). */
void ktest_totals(unsigned *passed, unsigned *failed);

/* test/crash.c */
/* Fault in the way `kind` names: "pf" (write to an unmapped address), "gp"
 * (non-canonical access), "ud" (invalid opcode), "de" (divide by zero),
 * "assert" (a failed KASSERT). Returns only for an unknown kind, after a
 * warning line. */
void crash_on_purpose(const char *kind);

/* bench/bench.c */
/* Run every benchmark and print one line each. */
void bench_run_all(void);
