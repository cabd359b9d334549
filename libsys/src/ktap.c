/* KTAP output and expectation bookkeeping for user test programs. */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/stdio.h>

static struct {
    unsigned plan, reported, passed, failed, skipped;
    unsigned case_failures; /* expectations failed since the last result */
} kt;

void ktap_begin(unsigned n)
{
    kt.plan = n;
    printf("KTAP version 1\n1..%u\n", n);
}

bool ktap_result(bool ok, const char *name)
{
    ok = ok && kt.case_failures == 0;
    kt.case_failures = 0;
    kt.reported++;
    if (ok)
        kt.passed++;
    else
        kt.failed++;
    printf("%sok %u %s\n", ok ? "" : "not ", kt.reported, name);
    return ok;
}

void ktap_skip(const char *name, const char *reason)
{
    kt.case_failures = 0;
    kt.reported++;
    kt.skipped++;
    printf("ok %u %s # SKIP %s\n", kt.reported, name, reason);
}

void ktap_run(const char *name, void (*fn)(void))
{
    kt.case_failures = 0;
    fn();
    ktap_result(true, name);
}

int ktap_run_cases(const struct ktap_case *cases, size_t n)
{
    ktap_begin((unsigned)n);
    for (size_t i = 0; i < n; i++)
        ktap_run(cases[i].name, cases[i].fn);
    return ktap_end();
}

bool ktap_check(bool cond, const char *expr, const char *file, int line)
{
    if (!cond) {
        kt.case_failures++;
        printf("# %s:%d: expected %s\n", file, line, expr);
    }
    return cond;
}

bool ktap_check_eq(int64_t a, int64_t b, const char *ea, const char *eb, const char *file,
                   int line)
{
    if (a != b) {
        kt.case_failures++;
        printf("# %s:%d: expected %s == %s, got %lld (%#llx) and %lld (%#llx)\n", file, line,
               ea, eb, (long long)a, (unsigned long long)a, (long long)b,
               (unsigned long long)b);
    }
    return a == b;
}

int ktap_end(void)
{
    const struct mica_start_info *si = mica_get_start_info();
    const char *who = si ? si->name : "test";
    if (kt.case_failures) {
        printf("# %s: %u expectation(s) failed after the last result\n", who,
               kt.case_failures);
        kt.failed++;
    }
    if (kt.reported != kt.plan) {
        printf("# %s: planned %u results, reported %u\n", who, kt.plan, kt.reported);
        if (kt.reported < kt.plan)
            kt.failed += kt.plan - kt.reported;
        else
            kt.failed++;
    }
    printf("# %s: %u passed, %u failed, %u skipped\n", who, kt.passed, kt.failed, kt.skipped);
    return (int)MICA_TEST_STATUS(kt.passed, kt.failed);
}
