/* Frame-pointer backtraces (see backtrace.h for the frame layout and the
 * checks each frame must pass). */
#include "lib/backtrace.h"
#include "lib/console.h"
#include "lib/ksyms.h"

#ifdef MICA_HOST
static uintptr_t stack_lo, stack_hi; /* host tests declare their own stacks */
#else
/* The boot stack, defined by the boot code. */
extern char boot_stack_bottom[], boot_stack_top[];
static uintptr_t stack_lo = (uintptr_t)boot_stack_bottom;
static uintptr_t stack_hi = (uintptr_t)boot_stack_top;
#endif

void backtrace_set_stack(uintptr_t lo, uintptr_t hi)
{
    stack_lo = lo;
    stack_hi = hi;
}

/* A frame record (saved rbp, return address) must fit in the stack. */
static bool frame_in_stack(uintptr_t rbp)
{
    return rbp >= stack_lo && rbp < stack_hi && stack_hi - rbp >= 2 * sizeof(uintptr_t);
}

void backtrace_walk(uintptr_t rbp, struct backtrace *bt)
{
    uintptr_t prev = 0;

    bt->depth = 0;
    for (;;) {
        enum backtrace_end end;
        if (rbp == 0)
            end = BACKTRACE_END_CHAIN;
        else if (!IS_ALIGNED(rbp, sizeof(uintptr_t)))
            end = BACKTRACE_END_MISALIGNED;
        else if (!frame_in_stack(rbp))
            end = BACKTRACE_END_RANGE;
        else if (bt->depth > 0 && rbp <= prev)
            end = BACKTRACE_END_ORDER;
        else if (((const uintptr_t *)rbp)[1] == 0)
            end = BACKTRACE_END_NULL_PC;
        else if (bt->depth == BACKTRACE_MAX_FRAMES)
            end = BACKTRACE_END_LIMIT; /* only if there really is another frame */
        else {
            const uintptr_t *frame = (const uintptr_t *)rbp;
            bt->pc[bt->depth++] = frame[1];
            prev = rbp;
            rbp = frame[0];
            continue;
        }
        bt->end = end;
        bt->end_rbp = rbp;
        return;
    }
}

const char *backtrace_end_reason(enum backtrace_end end)
{
    switch (end) {
    case BACKTRACE_END_CHAIN:      return "outermost frame";
    case BACKTRACE_END_LIMIT:      return "frame limit reached";
    case BACKTRACE_END_RANGE:      return "frame pointer outside the stack";
    case BACKTRACE_END_MISALIGNED: return "misaligned frame pointer";
    case BACKTRACE_END_ORDER:      return "frame pointer not above the previous one";
    case BACKTRACE_END_NULL_PC:    return "zero return address";
    }
    return "?";
}

/* `exact` is false for return addresses: they point after the call, which
 * for a call to a noreturn function may already be the next function, so
 * the name is looked up for the call instruction's last byte. */
static void print_frame(unsigned n, const char *mark, uintptr_t pc, bool exact)
{
    uint64_t off = 0;
    const char *sym = ksyms_lookup(exact ? pc : pc - 1, &off);

    if (sym)
        kprintf("  #%u %s0x%016lx %s+0x%lx\n", n, mark, (unsigned long)pc, sym,
                (unsigned long)(exact ? off : off + 1));
    else
        kprintf("  #%u %s0x%016lx ?\n", n, mark, (unsigned long)pc);
}

/* A code address: one the symbol table places inside a function. The last
 * symbol marks the end of the kernel's text rather than a function. */
static bool is_code_address(uintptr_t pc)
{
    uint64_t count = ksyms_count;
    return count > 1 && pc > ksyms_addrs[0] && pc <= ksyms_addrs[count - 1] &&
           ksyms_lookup(pc - 1, NULL) != NULL;
}

/* The word at a trapped rsp, if it may be the return address into the
 * caller of a frameless function; 0 if not. */
static uintptr_t return_address_at(uintptr_t rsp, uintptr_t first_walked)
{
    if (rsp == 0 || !IS_ALIGNED(rsp, sizeof(uintptr_t)) || rsp < stack_lo ||
        rsp >= stack_hi || stack_hi - rsp < sizeof(uintptr_t))
        return 0;
    uintptr_t word = *(const uintptr_t *)rsp;
    return word != first_walked && is_code_address(word) ? word : 0;
}

void backtrace_print(uintptr_t rip, uintptr_t rsp, uintptr_t rbp)
{
    struct backtrace bt;
    unsigned n = 0;

    backtrace_walk(rbp, &bt);
    if (rip != 0) {
        print_frame(n++, "", rip, true);
        uintptr_t guess = return_address_at(rsp, bt.depth > 0 ? bt.pc[0] : 0);
        if (guess)
            print_frame(n++, "? ", guess, false);
    }
    for (unsigned i = 0; i < bt.depth; i++)
        print_frame(n++, "", bt.pc[i], false);
    if (bt.end != BACKTRACE_END_CHAIN)
        kprintf("  (stopped: %s, rbp 0x%016lx)\n", backtrace_end_reason(bt.end),
                (unsigned long)bt.end_rbp);
}
