/* KTAP output for user test programs, the same format as the kernel's
 * tests:
 *     KTAP version 1
 *     1..N
 *     ok 1 name            / not ok 2 name   / ok 3 name # SKIP reason
 *     # <program>: P passed, F failed
 * Expectations (KTAP_EXPECT...) record a failure with a "# file:line: ..."
 * diagnostic and make the next ktap_result a "not ok". main returns
 * ktap_end(), whose value init adds up (MICA_TEST_PASSED/FAILED). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mica/syscall.h>

/* Print the header and the plan of n results. */
void ktap_begin(unsigned n);

/* Report the next result: "ok" if ok and no expectation failed since the
 * previous result, else "not ok". Returns that verdict. */
bool ktap_result(bool ok, const char *name);

/* Report the next result as skipped (counted as neither passed nor failed). */
void ktap_skip(const char *name, const char *reason);

/* Run fn as one test case and report its result under name (ok iff no
 * expectation failed inside it). */
void ktap_run(const char *name, void (*fn)(void));

/* One named test case for ktap_run_cases. */
struct ktap_case {
    const char *name;
    void (*fn)(void);
};

/* The whole program for a plain table of cases: ktap_begin(n), ktap_run
 * of each case in order, then ktap_end(), whose status it returns. */
int ktap_run_cases(const struct ktap_case *cases, size_t n);

/* Print the totals and return MICA_TEST_STATUS(passed, failed); results
 * missing from the plan count as failures, extra ones are a failure. */
int ktap_end(void);

/* Backends of the macros below: record a failed expectation (with a
 * diagnostic) if cond is false. Return cond. */
bool ktap_check(bool cond, const char *expr, const char *file, int line);
bool ktap_check_eq(int64_t a, int64_t b, const char *ea, const char *eb, const char *file,
                   int line);

/* Expect cond to hold; evaluates to cond. */
#define KTAP_EXPECT(cond) ktap_check(!!(cond), #cond, __FILE__, __LINE__)

/* Expect two integers to be equal; the diagnostic prints both values. */
#define KTAP_EXPECT_EQ(a, b) \
    ktap_check_eq((int64_t)(a), (int64_t)(b), #a, #b, __FILE__, __LINE__)

/* As KTAP_EXPECT, then return from the enclosing void function on failure
 * (for ktap_run cases). */
#define KTAP_REQUIRE(cond) \
    do { \
        if (!KTAP_EXPECT(cond)) \
            return; \
    } while (0)
