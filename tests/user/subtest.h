/* Nested KTAP subtests: a test made of many cases prints them as an
 * indented KTAP document ("    ok 3 name") before its own result line.
 * Only the top-level result counts in the totals; the nested lines show
 * which case failed. */
#pragma once

#include <stdbool.h>
#include <mica/stdio.h>

struct subtests {
    unsigned plan, reported, failed;
};

/* Print the nested header and plan of n cases. */
static inline void subtest_begin(struct subtests *s, unsigned n)
{
    *s = (struct subtests){.plan = n};
    printf("    KTAP version 1\n    1..%u\n", n);
}

/* Report the next case. Returns ok. */
static inline bool subtest_result(struct subtests *s, bool ok, const char *name)
{
    s->reported++;
    s->failed += !ok;
    printf("    %sok %u %s\n", ok ? "" : "not ", s->reported, name);
    return ok;
}

/* Report the next case as skipped. */
static inline void subtest_skip(struct subtests *s, const char *name, const char *reason)
{
    s->reported++;
    printf("    ok %u %s # SKIP %s\n", s->reported, name, reason);
}

/* True when every planned case was reported and none failed. */
static inline bool subtest_all_ok(const struct subtests *s)
{
    return s->failed == 0 && s->reported == s->plan;
}
