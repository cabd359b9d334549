/* Host tests of the injection points' knobs (microkernel/inject/knobs.c):
 * the spec grammar and its errors, and the decision each knob makes over a
 * run of calls: nth, interval, times, after (calls and instructions),
 * probability with a fixed seed (the same sequence every run, close to the
 * asked rate), and per-point generators that differ by index and seed. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "inject/knobs.h"

/* Parse spec into *s (reset with run seed 1, point 0); 0 or -1. */
static int arm(struct inject_state *s, const char *spec, struct inject_bad *bad)
{
    size_t at, len;
    struct inject_bad ignored;
    *s = (struct inject_state){0};
    if (inject_spec_parse(spec, strlen(spec), &at, &len, &s->k, bad ? bad : &ignored) < 0)
        return -1;
    inject_state_reset(s, 1, 0);
    return 0;
}

/* Which of calls 1..n fire, as a bit string "0010..." into out. */
static void run(struct inject_state *s, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = inject_decide(s, 0) ? '1' : '0';
    out[n] = '\0';
}

static void test_defaults_fire_once(void)
{
    struct inject_state s;
    char out[8];
    CHECK(arm(&s, "kmalloc", NULL) == 0);
    CHECK_EQ(s.k.probability, INJECT_PPM);
    CHECK_EQ(s.k.times, 1);
    run(&s, 5, out);
    CHECK(strcmp(out, "10000") == 0);
    CHECK_EQ(s.fired, 1);
    CHECK_EQ(s.k.times, 0);
}

static void test_nth(void)
{
    struct inject_state s;
    char out[12];
    CHECK(arm(&s, "kmalloc:nth=4,times=-1", NULL) == 0);
    run(&s, 10, out);
    CHECK(strcmp(out, "0001000000") == 0);
    CHECK_EQ(s.calls, 10);
}

static void test_interval_and_times(void)
{
    struct inject_state s;
    char out[16];
    CHECK(arm(&s, "ipc_drop:interval=3,times=2", NULL) == 0);
    run(&s, 12, out);
    CHECK(strcmp(out, "001001000000") == 0);
    CHECK(arm(&s, "ipc_drop:interval=3,times=-1", NULL) == 0);
    run(&s, 12, out);
    CHECK(strcmp(out, "001001001001") == 0);
    CHECK_EQ(s.k.times, -1);
}

static void test_times_zero_never(void)
{
    struct inject_state s;
    char out[8];
    CHECK(arm(&s, "kmalloc:times=0", NULL) == 0);
    run(&s, 5, out);
    CHECK(strcmp(out, "00000") == 0);
}

static void test_after_calls(void)
{
    struct inject_state s;
    char out[12];
    CHECK(arm(&s, "slab_alloc:after=5,times=2", NULL) == 0);
    run(&s, 10, out);
    CHECK(strcmp(out, "0000011000") == 0);
    /* nth and interval count from the point where it armed. */
    CHECK(arm(&s, "slab_alloc:after=5,nth=2", NULL) == 0);
    run(&s, 10, out);
    CHECK(strcmp(out, "0000001000") == 0);
}

static void test_after_insn(void)
{
    struct inject_state s;
    CHECK(arm(&s, "timer_lose:after=insn:1000", NULL) == 0);
    CHECK_EQ(s.k.after_insn, 1000);
    CHECK(!inject_decide(&s, 10));
    CHECK(!inject_decide(&s, 999));
    CHECK_EQ(s.calls, 0); /* calls before the instant do not count */
    CHECK(inject_decide(&s, 1000));
    CHECK_EQ(s.calls, 1);
}

static void test_probability_fixed_seed(void)
{
    struct inject_state a, b;
    char oa[201], ob[201];
    CHECK(arm(&a, "pmm_alloc:probability=25,times=-1", NULL) == 0);
    CHECK(arm(&b, "pmm_alloc:probability=25,times=-1", NULL) == 0);
    run(&a, 200, oa);
    run(&b, 200, ob);
    CHECK(strcmp(oa, ob) == 0); /* same seed, same run */
    unsigned n = 0;
    struct inject_state c;
    CHECK(arm(&c, "pmm_alloc:probability=25,times=-1", NULL) == 0);
    for (unsigned i = 0; i < 100000; i++)
        n += inject_decide(&c, 0);
    CHECK(n > 24000 && n < 26000);
    /* A fraction of a percent, as Linux allows. */
    CHECK(arm(&c, "pmm_alloc:probability=0.5,times=-1", NULL) == 0);
    CHECK_EQ(c.k.probability, 5000);
    n = 0;
    for (unsigned i = 0; i < 200000; i++)
        n += inject_decide(&c, 0);
    CHECK(n > 800 && n < 1200);
    CHECK(arm(&c, "pmm_alloc:probability=0,times=-1", NULL) == 0);
    run(&c, 200, oa);
    CHECK(strchr(oa, '1') == NULL);
}

static void test_generators_differ(void)
{
    struct inject_state a = {0}, b = {0}, c = {0};
    inject_knobs_default(&a.k);
    b.k = c.k = a.k;
    inject_state_reset(&a, 7, 0);
    inject_state_reset(&b, 7, 1);
    inject_state_reset(&c, 8, 0);
    uint64_t x = inject_next(&a), y = inject_next(&b), z = inject_next(&c);
    CHECK(x != y && x != z && y != z);
    /* A seed knob overrides the run's seed. */
    struct inject_state d;
    CHECK(arm(&d, "reg_flip:seed=8", NULL) == 0);
    inject_state_reset(&d, 99, 0);
    CHECK_EQ(inject_next(&d), z);
}

static void test_knob_values(void)
{
    struct inject_state s;
    CHECK(arm(&s, "ipc_delay:ticks=7,verbose=2,task=kv,probability=100.0", NULL) == 0);
    CHECK_EQ(s.k.ticks, 7);
    CHECK_EQ(s.k.verbose, 2);
    CHECK(strcmp(s.k.task, "kv") == 0);
    CHECK_EQ(s.k.probability, INJECT_PPM);
    CHECK(arm(&s, "kmalloc:verbose=0", NULL) == 0); /* accepted; the line stays */
    CHECK_EQ(s.k.verbose, 0);
}

/* A bad spec names the offending part. */
static void expect_bad(const char *spec, const char *part, const char *why)
{
    struct inject_state s;
    struct inject_bad bad = {0};
    CHECK(arm(&s, spec, &bad) == -1);
    char got[64] = "";
    snprintf(got, sizeof got, "%.*s", (int)bad.len, spec + bad.at);
    if (strcmp(got, part) != 0 || !bad.why || !strstr(bad.why, why)) {
        printf("# spec '%s': bad part '%s' (%s), expected '%s' (%s)\n", spec, got,
               bad.why ? bad.why : "?", part, why);
        tap_failures++;
    }
}

static void test_malformed(void)
{
    expect_bad("", "", "no point name");
    expect_bad(":nth=1", ":nth=1", "no point name");
    expect_bad("kmalloc:", ":", "nothing after");
    expect_bad("kmalloc:nth", "nth", "name=value");
    expect_bad("kmalloc:=3", "=3", "name=value");
    expect_bad("kmalloc:nth=x", "nth=x", "decimal");
    expect_bad("kmalloc:nth=1,", ",", "trailing");
    expect_bad("kmalloc:colour=red", "colour=red", "unknown knob");
    expect_bad("kmalloc:probability=101", "probability=101", "percentage");
    expect_bad("kmalloc:probability=0.12345", "probability=0.12345", "percentage");
    expect_bad("kmalloc:probability=.5", "probability=.5", "percentage");
    expect_bad("kmalloc:times=-2", "times=-2", "times");
    expect_bad("kmalloc:verbose=3", "verbose=3", "out of range");
    expect_bad("kmalloc:ticks=0", "ticks=0", "out of range");
    expect_bad("kmalloc:after=insn:", "after=insn:", "after");
    expect_bad("kmalloc:task=", "task=", "task name");
    expect_bad("kmalloc:task=abcdefghijabcdefghijabcdefghijabc", "task=abcdefghijabcdefghijabcdefghijabc",
               "too long");
    expect_bad("kmalloc:nth=99999999999999999999", "nth=99999999999999999999", "decimal");
}

int main(void)
{
    return tap_run((struct tap_test[]){TAP(test_defaults_fire_once), TAP(test_nth),
                                       TAP(test_interval_and_times), TAP(test_times_zero_never),
                                       TAP(test_after_calls), TAP(test_after_insn),
                                       TAP(test_probability_fixed_seed),
                                       TAP(test_generators_differ), TAP(test_knob_values),
                                       TAP(test_malformed)},
                   10);
}
