/* The knobs of one injection point and the decision they make at each
 * call: pure logic over a small state, no kernel services, so that the
 * host tests (tests/host/test_inject_knobs.c) run it under ASan/UBSan.
 * The point table, the console line and the run-time control are in
 * inject.c; docs/fault-injection.md gives the grammar and the semantics. */
#pragma once

#include "lib/types.h"

#define INJECT_TASK_MAX 32      /* a task name filter, with its NUL (MICA_NAME_MAX) */
#define INJECT_PPM      1000000u /* probability unit: one millionth of a call */

/* What an `inject=POINT:knobs` option or an arm request sets. */
struct inject_knobs {
    uint32_t probability; /* in millionths: INJECT_PPM fires at every eligible call */
    uint32_t interval;    /* fire only at every interval-th eligible call (0 and 1: each) */
    int64_t times;        /* injections left; -1: no cap; at 0 the point disarms */
    uint64_t nth;         /* 0, or fire exactly at the nth eligible call (and never again) */
    uint64_t after_calls; /* eligible calls let through before the point may fire */
    uint64_t after_insn;  /* guest instructions (rdtsc under -icount) before which calls
                           * do not count at all */
    uint32_t verbose;     /* 0, 1: the one report line (always printed: the log is the
                           * run's record of what was injected); 2: plus a backtrace */
    uint32_t ticks;       /* ipc_delay, timer_late: ticks of delay; 0: the point's default */
    uint64_t seed;        /* with has_seed: this point's own seed instead of the run's */
    bool has_seed;
    char task[INJECT_TASK_MAX]; /* fire only for this task name; "" any task */
};

/* A point's run-time state: its knobs, generator and counts. */
struct inject_state {
    struct inject_knobs k;
    uint64_t rng;   /* xorshift64* state, never 0 */
    uint64_t calls; /* eligible calls counted (task filter passed, after the after_insn instant) */
    uint64_t fired; /* faults injected */
};

/* Where a spec went wrong: the offending part of the text and why. */
struct inject_bad {
    size_t at, len;  /* offset and length in the spec */
    const char *why; /* a short phrase */
};

/* The knobs a point has when its spec gives none: fire at the first
 * eligible call, once (probability 100, interval 1, times 1). */
void inject_knobs_default(struct inject_knobs *k);

/* Parse "POINT[:knob=value[,knob=value]...]" (s[0..n), not NUL-terminated;
 * untrusted). On success returns 0, with the point's name span in
 * *name_at / *name_len and *k filled from the defaults and the knobs. On a
 * malformed spec returns -1 with *bad naming the part at fault; *k is then
 * unspecified. The point name is not looked up here. */
int inject_spec_parse(const char *s, size_t n, size_t *name_at, size_t *name_len,
                      struct inject_knobs *k, struct inject_bad *bad);

/* Seed the point's generator from the run seed and the point's index (or
 * the point's own seed knob) and reset its counts. Deterministic. */
void inject_state_reset(struct inject_state *s, uint64_t run_seed, unsigned index);

/* One eligible call (the task filter already passed) at guest instruction
 * count `now` (only compared with after_insn): true when the fault must be
 * injected now; updates the counts, times and generator. Once times
 * reaches 0 it returns false for ever (the caller disarms the point). */
bool inject_decide(struct inject_state *s, uint64_t now);

/* The next number of the point's generator (bit choices of the sites). */
uint64_t inject_next(struct inject_state *s);
