/* A minimal TAP producer for host unit tests. Each test binary prints
 *   TAP version 13 / 1..N / ok 1 name / not ok 2 name ...
 * and exits non-zero if any test failed. tools/test-all collects the lines.
 *
 *   static void test_reuse(void) { CHECK(x == y); }
 *   int main(void) { return tap_run((struct tap_test[]){TAP(test_reuse)}, 1); }
 */
#pragma once

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

struct tap_test {
    const char *name;
    void (*fn)(void);
};
#define TAP(fn) {#fn, fn}

extern int tap_failures;          /* failures in the current test */
extern jmp_buf *tap_panic_jmp;    /* set by EXPECT_PANIC */
extern char tap_last_panic[512];  /* message of the last panic() */

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            tap_failures++;                                                  \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
        if (a_ != b_) {                                                      \
            printf("# %s:%d: check failed: %s == %s (0x%llx != 0x%llx)\n",   \
                   __FILE__, __LINE__, #a, #b, a_, b_);                      \
            tap_failures++;                                                  \
        }                                                                    \
    } while (0)

/* Run `stmt` and check that it calls panic() (the host panic longjmps back
 * here instead of aborting). The panic message is left in tap_last_panic. */
#define EXPECT_PANIC(stmt)                                                   \
    do {                                                                     \
        jmp_buf jb_;                                                         \
        tap_panic_jmp = &jb_;                                                \
        if (setjmp(jb_) == 0) {                                              \
            stmt;                                                            \
            tap_panic_jmp = NULL;                                            \
            printf("# %s:%d: expected a panic from %s\n", __FILE__, __LINE__, #stmt); \
            tap_failures++;                                                  \
        }                                                                    \
        tap_panic_jmp = NULL;                                                \
    } while (0)

/* Run all tests, print TAP, return the process exit status. */
int tap_run(const struct tap_test *tests, int n);
