/* Host tests for the kernel symbol table: tools/mksyms turns
 * tests/host/ksyms_fixture.nm into the table linked here (see ksyms.mk), and
 * lib/ksyms.c looks addresses up in it. Checks the generated table
 * against the expected selection (ksyms_fixture.h), fixed lookups at and
 * around every symbol, and random addresses against a linear-scan model. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "ksyms_fixture.h"
#include "lib/ksyms.h"

#include "rng.h"
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

/* The model: the last fixture symbol at or below addr, by linear scan,
 * unless addr is too far past it to be inside its function. */
static const struct fixture_sym *model_lookup(uint64_t addr)
{
    const struct fixture_sym *best = NULL;
    for (size_t i = 0; i < FIXTURE_COUNT; i++)
        if (fixture_syms[i].addr <= addr)
            best = &fixture_syms[i];
    return best && addr - best->addr <= KSYMS_MAX_OFFSET ? best : NULL;
}

static void test_table_matches_selection(void)
{
    CHECK_EQ(ksyms_count, FIXTURE_COUNT);
    for (size_t i = 0; i < FIXTURE_COUNT && i < ksyms_count; i++) {
        CHECK_EQ(ksyms_addrs[i], fixture_syms[i].addr);
        if (strcmp(&ksyms_strings[ksyms_names[i]], fixture_syms[i].name) != 0) {
            printf("# entry %zu: got %s, want %s\n", i, &ksyms_strings[ksyms_names[i]],
                   fixture_syms[i].name);
            tap_failures++;
        }
    }
}

static void test_table_sorted_and_unique(void)
{
    for (uint64_t i = 1; i < ksyms_count; i++)
        CHECK(ksyms_addrs[i - 1] < ksyms_addrs[i]);
    /* Name offsets point at consecutive strings. */
    for (uint64_t i = 1; i < ksyms_count; i++)
        CHECK_EQ(ksyms_names[i], ksyms_names[i - 1] + strlen(&ksyms_strings[ksyms_names[i - 1]]) + 1);
}

static void check_lookup(uint64_t addr, const char *want, uint64_t want_off)
{
    uint64_t off = 12345;
    const char *got = ksyms_lookup(addr, &off);
    if (want == NULL) {
        CHECK(got == NULL);
        CHECK_EQ(off, 0);
        return;
    }
    if (got == NULL || strcmp(got, want) != 0) {
        printf("# lookup 0x%llx: got %s, want %s\n", (unsigned long long)addr,
               got ? got : "NULL", want);
        tap_failures++;
    }
    CHECK_EQ(off, want_off);
}

static void test_lookup_at_and_around_each_symbol(void)
{
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        uint64_t a = fixture_syms[i].addr;
        check_lookup(a, fixture_syms[i].name, 0);
        check_lookup(a + 1, fixture_syms[i].name, 1);
        if (i > 0)
            check_lookup(a - 1, fixture_syms[i - 1].name, a - 1 - fixture_syms[i - 1].addr);
    }
}

static void test_lookup_edges(void)
{
    check_lookup(0, NULL, 0);
    check_lookup(fixture_syms[0].addr - 1, NULL, 0);
    /* Without sizes the table cannot tell where a function ends, so up to
     * KSYMS_MAX_OFFSET past a symbol still counts as inside it. */
    uint64_t last = fixture_syms[FIXTURE_COUNT - 1].addr;
    check_lookup(last + KSYMS_MAX_OFFSET, "__text_end", KSYMS_MAX_OFFSET);
    check_lookup(last + KSYMS_MAX_OFFSET + 1, NULL, 0);
    check_lookup(UINT64_MAX, NULL, 0);
    /* The offset pointer is optional. */
    CHECK(ksyms_lookup(0xffffffff80101003ull, NULL) != NULL);
    CHECK(ksyms_lookup(0, NULL) == NULL);
}

static void test_lookup_random_against_model(void)
{
    uint64_t lo = fixture_syms[0].addr - 0x100;
    uint64_t span = fixture_syms[FIXTURE_COUNT - 1].addr + 2 * KSYMS_MAX_OFFSET - lo;

    for (int i = 0; i < 200000 && tap_failures == 0; i++) {
        /* Mostly near the symbols (where the answers differ), some anywhere. */
        uint64_t addr = (i % 4) ? lo + rng() % span : rng();
        const struct fixture_sym *want = model_lookup(addr);
        check_lookup(addr, want ? want->name : NULL, want ? addr - want->addr : 0);
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_table_matches_selection),
        TAP(test_table_sorted_and_unique),
        TAP(test_lookup_at_and_around_each_symbol),
        TAP(test_lookup_edges),
        TAP(test_lookup_random_against_model),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
