/* Frame-pointer backtraces: walking the saved-RBP chain of the current
 * kernel stack, and printing it with symbol names.
 *
 * The kernel is built with -fno-omit-frame-pointer, so every function's
 * frame starts with the caller's RBP, then the return address:
 *   [rbp]     caller's rbp      [rbp + 8]  return address
 * The walk trusts nothing it reads: each frame pointer must be 8-aligned,
 * lie inside the current stack and be above the previous one. */
#pragma once

#include "lib/types.h"

#define BACKTRACE_MAX_FRAMES 32

/* Why a walk stopped. */
enum backtrace_end {
    BACKTRACE_END_CHAIN,      /* a zero frame pointer: the outermost frame */
    BACKTRACE_END_LIMIT,      /* BACKTRACE_MAX_FRAMES collected */
    BACKTRACE_END_RANGE,      /* frame pointer outside the stack */
    BACKTRACE_END_MISALIGNED, /* frame pointer not 8-aligned */
    BACKTRACE_END_ORDER,      /* frame pointer not above the previous one (a loop?) */
    BACKTRACE_END_NULL_PC,    /* zero return address */
};

struct backtrace {
    unsigned depth;                      /* return addresses in pc[] */
    uintptr_t pc[BACKTRACE_MAX_FRAMES];  /* innermost first */
    enum backtrace_end end;
    uintptr_t end_rbp;                   /* the frame pointer that ended the walk */
};

/* Declare [lo, hi) to be the current kernel stack, the only place frame
 * pointers may point to. Defaults to the boot stack; whoever switches
 * stacks (threads, later) calls this. Requires lo < hi. */
void backtrace_set_stack(uintptr_t lo, uintptr_t hi);

/* Walk the frame-pointer chain starting at `rbp` (the frame pointer of the
 * innermost frame to report) and fill `bt` with the return addresses found.
 * Never faults as long as the declared stack range is mapped. */
void backtrace_walk(uintptr_t rbp, struct backtrace *bt);

/* Print a backtrace to the console, one "  #N 0x<addr> <function>+0x<off>"
 * line per frame: `rip` first as #0 if it is nonzero (an exact address, such
 * as a trapped rip), then the return addresses found from `rbp`. Ends with
 * a note if the walk stopped for a reason other than the outermost frame.
 *
 * A function that makes no calls may keep no frame (GCC omits it even with
 * -fno-omit-frame-pointer), so when it faults `rbp` is its caller's frame
 * and the walk skips the caller. If `rsp` is nonzero (the trapped stack
 * pointer) and the word there is a code address, it is printed after #0 as
 * "#1 ? ...", a likely but unproven caller. */
void backtrace_print(uintptr_t rip, uintptr_t rsp, uintptr_t rbp);

/* One-line description of `end`, e.g. "frame pointer outside the stack". */
const char *backtrace_end_reason(enum backtrace_end end);
