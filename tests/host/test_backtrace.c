/* Host tests for the frame-pointer walker and backtrace printer
 * (lib/backtrace.c): hand-built chains on a fake stack (clean, too long,
 * and broken in each way the walker must catch), random chains with a
 * random defect checked against how they were built, a walk of this
 * process's real stack, and the printed format with symbol names from the
 * fixture symbol table (see ksyms.mk). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "stdout_capture.h"
#include "lib/backtrace.h"

#define STACK_WORDS 1024

static uintptr_t fake_stack[STACK_WORDS];

#include "rng.h"
static uint64_t rng_state = 0x8badf00ddeadbeefull;

static uintptr_t slot_addr(unsigned slot)
{
    return (uintptr_t)&fake_stack[slot];
}

static void use_fake_stack(void)
{
    memset(fake_stack, 0, sizeof fake_stack);
    backtrace_set_stack(slot_addr(0), slot_addr(0) + sizeof fake_stack);
}

/* Lay out frames at the given (ascending) slots, frame i returning to
 * pc_base + i; the outermost frame's saved rbp is `last_rbp`. Returns the
 * innermost frame pointer. */
static uintptr_t build_chain(const unsigned *slots, unsigned n, uintptr_t pc_base, uintptr_t last_rbp)
{
    for (unsigned i = 0; i < n; i++) {
        fake_stack[slots[i]] = i + 1 < n ? slot_addr(slots[i + 1]) : last_rbp;
        fake_stack[slots[i] + 1] = pc_base + i;
    }
    return slot_addr(slots[0]);
}

static void check_pcs(const struct backtrace *bt, unsigned n, uintptr_t pc_base)
{
    CHECK_EQ(bt->depth, n);
    for (unsigned i = 0; i < n && i < bt->depth; i++)
        CHECK_EQ(bt->pc[i], pc_base + i);
}

static void test_clean_chain(void)
{
    static const unsigned slots[] = {10, 14, 30, 32, 100};
    struct backtrace bt;

    use_fake_stack();
    backtrace_walk(build_chain(slots, 5, 0x1000, 0), &bt);
    check_pcs(&bt, 5, 0x1000);
    CHECK_EQ(bt.end, BACKTRACE_END_CHAIN);

    backtrace_walk(0, &bt);
    CHECK_EQ(bt.depth, 0);
    CHECK_EQ(bt.end, BACKTRACE_END_CHAIN);
}

static void test_frame_limit(void)
{
    unsigned slots[BACKTRACE_MAX_FRAMES + 8];
    struct backtrace bt;

    for (unsigned i = 0; i < BACKTRACE_MAX_FRAMES + 8; i++)
        slots[i] = 4 + 2 * i;

    use_fake_stack();
    backtrace_walk(build_chain(slots, BACKTRACE_MAX_FRAMES, 0x2000, 0), &bt);
    check_pcs(&bt, BACKTRACE_MAX_FRAMES, 0x2000);
    CHECK_EQ(bt.end, BACKTRACE_END_CHAIN); /* exactly the limit, complete */

    use_fake_stack();
    backtrace_walk(build_chain(slots, BACKTRACE_MAX_FRAMES + 8, 0x2000, 0), &bt);
    check_pcs(&bt, BACKTRACE_MAX_FRAMES, 0x2000);
    CHECK_EQ(bt.end, BACKTRACE_END_LIMIT);
}

static void test_stack_bounds(void)
{
    static const unsigned slots[] = {8, 20};
    uintptr_t lo = slot_addr(0), hi = lo + sizeof fake_stack;
    struct backtrace bt;

    use_fake_stack();
    /* The outermost frame points below, into and just past the stack. */
    const uintptr_t outside[] = {lo - 8, lo - 4096, hi, hi - 8, hi + 4096, UINTPTR_MAX - 7};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        backtrace_walk(build_chain(slots, 2, 0x3000, outside[i]), &bt);
        check_pcs(&bt, 2, 0x3000);
        CHECK_EQ(bt.end, BACKTRACE_END_RANGE);
        CHECK_EQ(bt.end_rbp, outside[i]);
    }
    /* The last frame record that fits ends exactly at the top. */
    unsigned top[] = {8, STACK_WORDS - 2};
    use_fake_stack();
    backtrace_walk(build_chain(top, 2, 0x3000, 0), &bt);
    check_pcs(&bt, 2, 0x3000);
    CHECK_EQ(bt.end, BACKTRACE_END_CHAIN);
    /* A frame at the very bottom is fine too. */
    unsigned bottom[] = {0, 2};
    use_fake_stack();
    backtrace_walk(build_chain(bottom, 2, 0x3000, 0), &bt);
    CHECK_EQ(bt.depth, 2);
    /* A walk that starts outside the stack reads nothing. */
    backtrace_walk(hi + 64, &bt);
    CHECK_EQ(bt.depth, 0);
    CHECK_EQ(bt.end, BACKTRACE_END_RANGE);
}

static void test_misaligned(void)
{
    static const unsigned slots[] = {8, 20, 40};
    struct backtrace bt;

    use_fake_stack();
    backtrace_walk(build_chain(slots, 3, 0x4000, slot_addr(60) + 4), &bt);
    check_pcs(&bt, 3, 0x4000);
    CHECK_EQ(bt.end, BACKTRACE_END_MISALIGNED);

    backtrace_walk(slot_addr(8) + 1, &bt);
    CHECK_EQ(bt.depth, 0);
    CHECK_EQ(bt.end, BACKTRACE_END_MISALIGNED);
}

static void test_loops(void)
{
    static const unsigned slots[] = {8, 20, 40};
    struct backtrace bt;

    use_fake_stack();
    backtrace_walk(build_chain(slots, 3, 0x5000, slot_addr(40)), &bt); /* points at itself */
    check_pcs(&bt, 3, 0x5000);
    CHECK_EQ(bt.end, BACKTRACE_END_ORDER);

    use_fake_stack();
    backtrace_walk(build_chain(slots, 3, 0x5000, slot_addr(8)), &bt); /* back to the start */
    check_pcs(&bt, 3, 0x5000);
    CHECK_EQ(bt.end, BACKTRACE_END_ORDER);
}

static void test_null_return_address(void)
{
    static const unsigned slots[] = {8, 20, 40};
    struct backtrace bt;

    use_fake_stack();
    uintptr_t rbp = build_chain(slots, 3, 0x6000, 0);
    fake_stack[20 + 1] = 0;
    backtrace_walk(rbp, &bt);
    check_pcs(&bt, 1, 0x6000);
    CHECK_EQ(bt.end, BACKTRACE_END_NULL_PC);
    CHECK_EQ(bt.end_rbp, slot_addr(20));
}

/* Random chains: random ascending frames, then a random ending, some of
 * them defects. The expected result follows from how the chain was built. */
static void test_random_chains(void)
{
    for (int iter = 0; iter < 20000 && tap_failures == 0; iter++) {
        /* At most 44 frames 9 slots apart: everything fits in the stack. */
        unsigned n = (unsigned)(rng() % 45), slots[64], slot = 0;
        for (unsigned i = 0; i < n; i++) {
            slot += 2 + (unsigned)(rng() % 8);
            slots[i] = slot;
        }
        use_fake_stack();
        uintptr_t pc_base = 0x10000 + (uintptr_t)(rng() % 0x10000);
        uintptr_t last, hi = slot_addr(STACK_WORDS);
        enum backtrace_end want;
        switch (rng() % 5) {
        case 0:  last = 0; want = BACKTRACE_END_CHAIN; break;
        case 1:  last = hi + 8 * (rng() % 64); want = BACKTRACE_END_RANGE; break;
        case 2:  last = slot_addr(slot + 4) + 1 + rng() % 7; want = BACKTRACE_END_MISALIGNED; break;
        case 3:  last = slot_addr((unsigned)(rng() % (slot + 1))); want = BACKTRACE_END_ORDER; break;
        default: last = slot_addr(slot + 4); want = BACKTRACE_END_NULL_PC; break;
        }
        if (n == 0) {
            struct backtrace bt;
            backtrace_walk(0, &bt);
            CHECK_EQ(bt.depth, 0);
            continue;
        }
        struct backtrace bt;
        backtrace_walk(build_chain(slots, n, pc_base, last), &bt);
        unsigned want_depth = n;
        if (n > BACKTRACE_MAX_FRAMES) {
            want_depth = BACKTRACE_MAX_FRAMES;
            want = BACKTRACE_END_LIMIT;
        }
        check_pcs(&bt, want_depth, pc_base);
        CHECK_EQ(bt.end, want);
    }
}

/* The real thing: this process is built with frame pointers too. */
static struct backtrace real_bt;
static uintptr_t real_top;

__attribute__((noinline)) static int real_level3(void)
{
    backtrace_set_stack((uintptr_t)__builtin_frame_address(0), real_top);
    backtrace_walk((uintptr_t)__builtin_frame_address(0), &real_bt);
    return (int)real_bt.depth;
}

__attribute__((noinline)) static int real_level2(void)
{
    return real_level3() + 1; /* not a tail call: the frame must stay */
}

__attribute__((noinline)) static int real_level1(void)
{
    return real_level2() + 1;
}

static bool pc_in(uintptr_t pc, void *fn)
{
    return pc > (uintptr_t)fn && pc < (uintptr_t)fn + 512;
}

static void test_real_stack(void)
{
    /* Our own frame record is the last one inside the declared stack. */
    real_top = (uintptr_t)__builtin_frame_address(0) + 2 * sizeof(uintptr_t);
    real_level1();
    CHECK_EQ(real_bt.depth, 4); /* into level2, level1, this test, tap_run */
    CHECK(pc_in(real_bt.pc[0], (void *)real_level2));
    CHECK(pc_in(real_bt.pc[1], (void *)real_level1));
    CHECK(pc_in(real_bt.pc[2], (void *)test_real_stack));
    CHECK_EQ(real_bt.end, BACKTRACE_END_RANGE);
}

static void test_print_format(void)
{
    static const unsigned slots[] = {8, 20, 40};
    struct stdout_capture cap;
    char out[2048];

    use_fake_stack();
    uintptr_t rbp = build_chain(slots, 3, 0, 0);
    fake_stack[8 + 1] = 0xffffffff80101100ull;  /* return to the start of ksyms_lookup:
                                                   the call was the end of kmain.cold */
    fake_stack[20 + 1] = 0xffffffff80100044ull; /* boot_long_mode+0x4 */
    fake_stack[40 + 1] = 0x1234;                /* below every symbol */
    capture_begin(&cap);
    backtrace_print(0xffffffff80101054ull, 0, rbp);
    capture_end(&cap, out, sizeof out);
    const char *want = "  #0 0xffffffff80101054 out_of_order_fn+0x4\n"
                       "  #1 0xffffffff80101100 kmain.cold+0x80\n"
                       "  #2 0xffffffff80100044 boot_long_mode+0x4\n"
                       "  #3 0x0000000000001234 ?\n";
    if (strcmp(out, want) != 0) {
        printf("# got:\n%s# want:\n%s", out, want);
        tap_failures++;
    }

    /* Without a rip the frames start at #0; a broken chain says why. */
    use_fake_stack();
    rbp = build_chain(slots, 1, 0xffffffff80101001ull, slot_addr(8) + 3);
    capture_begin(&cap);
    backtrace_print(0, 0, rbp);
    capture_end(&cap, out, sizeof out);
    char want2[256];
    snprintf(want2, sizeof want2,
             "  #0 0xffffffff80101001 kmain+0x1\n"
             "  (stopped: misaligned frame pointer, rbp 0x%016lx)\n",
             (unsigned long)(slot_addr(8) + 3));
    if (strcmp(out, want2) != 0) {
        printf("# got:\n%s# want:\n%s", out, want2);
        tap_failures++;
    }
}

/* A trapped rip in a function without a frame: the word at rsp is shown as
 * a possible caller, but only when it is a code address inside the stack. */
static void test_print_frameless_caller(void)
{
    static const unsigned slots[] = {8, 20};
    struct stdout_capture cap;
    char out[2048];

    use_fake_stack();
    uintptr_t rbp = build_chain(slots, 2, 0, 0);
    fake_stack[8 + 1] = 0xffffffff80101008ull;  /* kmain+0x8 */
    fake_stack[20 + 1] = 0xffffffff80100044ull; /* boot_long_mode+0x4 */
    fake_stack[4] = 0xffffffff80101190ull;      /* at rsp: helper.isra.0+0x10 */
    capture_begin(&cap);
    backtrace_print(0xffffffff80101180ull, slot_addr(4), rbp);
    capture_end(&cap, out, sizeof out);
    const char *want = "  #0 0xffffffff80101180 helper.isra.0+0x0\n"
                       "  #1 ? 0xffffffff80101190 helper.isra.0+0x10\n"
                       "  #2 0xffffffff80101008 kmain+0x8\n"
                       "  #3 0xffffffff80100044 boot_long_mode+0x4\n";
    if (strcmp(out, want) != 0) {
        printf("# got:\n%s# want:\n%s", out, want);
        tap_failures++;
    }

    /* Not shown: data or stack values at rsp, an rsp outside the stack or
     * misaligned, the same address the walk finds anyway, and no rip. */
    const uintptr_t not_code[] = {
        slot_addr(30),          /* a stack address (a saved rbp) */
        0x1234,                 /* below every symbol */
        0xffffffff80102101ull,  /* past the end-of-text marker */
        0xffffffff80200000ull,  /* rodata */
        0xffffffff80101008ull,  /* the same as the first walked frame */
    };
    for (size_t i = 0; i < sizeof not_code / sizeof not_code[0]; i++) {
        fake_stack[4] = not_code[i];
        capture_begin(&cap);
        backtrace_print(0xffffffff80101180ull, slot_addr(4), rbp);
        capture_end(&cap, out, sizeof out);
        if (strstr(out, "?")) {
            printf("# value %zu:\n%s", i, out);
            tap_failures++;
        }
    }
    fake_stack[4] = 0xffffffff80101190ull;
    const uintptr_t bad_rsp[] = {slot_addr(4) + 4, slot_addr(0) - 8, slot_addr(STACK_WORDS)};
    for (size_t i = 0; i < sizeof bad_rsp / sizeof bad_rsp[0]; i++) {
        capture_begin(&cap);
        backtrace_print(0xffffffff80101180ull, bad_rsp[i], rbp);
        capture_end(&cap, out, sizeof out);
        CHECK(strstr(out, "?") == NULL);
    }
    capture_begin(&cap);
    backtrace_print(0, slot_addr(4), rbp);
    capture_end(&cap, out, sizeof out);
    CHECK(strstr(out, "?") == NULL);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_clean_chain),
        TAP(test_frame_limit),
        TAP(test_stack_bounds),
        TAP(test_misaligned),
        TAP(test_loops),
        TAP(test_null_return_address),
        TAP(test_random_chains),
        TAP(test_real_stack),
        TAP(test_print_format),
        TAP(test_print_frameless_caller),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
