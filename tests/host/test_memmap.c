/* Host tests for the physical memory map arithmetic (mm/memmap.c): fixed
 * layouts with known answers, edge cases (overlap, unsorted, zero length,
 * wraparound at 2^64), the printed format, and randomised maps checked
 * against a bitmap model of a small address space. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "mm/memmap.h"
#include <mica/errno.h>

static struct memmap map;

#include "rng.h"
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_below(uint64_t n)
{
    return n ? rng() % n : 0;
}

static void reset(void)
{
    memset(&map, 0, sizeof map);
}

/* QEMU's e820 map for -m 8G (q35/pc with 3 GiB below the PCI hole). */
static void add_qemu_8g(void)
{
    memmap_add(&map, 0x0, 0x9fc00, MEMMAP_USABLE);
    memmap_add(&map, 0x9fc00, 0x400, MEMMAP_RESERVED);
    memmap_add(&map, 0xf0000, 0x10000, MEMMAP_RESERVED);
    memmap_add(&map, 0x100000, 0xbffe0000 - 0x100000, MEMMAP_USABLE);
    memmap_add(&map, 0xbffe0000, 0x20000, MEMMAP_RESERVED);
    memmap_add(&map, 0xfeffc000, 0x4000, MEMMAP_RESERVED);
    memmap_add(&map, 0xfffc0000, 0x40000, MEMMAP_RESERVED);
    memmap_add(&map, 0x100000000, 0x140000000, MEMMAP_USABLE);
}

static void test_add_keeps_order_and_refuses_overflow(void)
{
    reset();
    for (int i = 0; i < MEMMAP_MAX; i++)
        CHECK_EQ(memmap_add(&map, (uint64_t)i * 0x1000, 0x1000, MEMMAP_USABLE), 0);
    for (int i = MEMMAP_MAX; i < MEMMAP_MAX + 5; i++)
        CHECK_EQ(memmap_add(&map, (uint64_t)i * 0x1000, 0x1000, MEMMAP_USABLE), -MICA_ENOSPC);
    CHECK_EQ(map.n, MEMMAP_MAX);
    CHECK_EQ(map.e[0].base, 0);
    CHECK_EQ(map.e[MEMMAP_MAX - 1].base, (uint64_t)(MEMMAP_MAX - 1) * 0x1000);
    CHECK_EQ(memmap_usable_bytes(&map), (uint64_t)MEMMAP_MAX * 0x1000);
}

static void test_empty_map(void)
{
    struct pmm_range out[4];
    reset();
    CHECK_EQ(memmap_usable_bytes(&map), 0);
    CHECK_EQ(memmap_usable_end(&map), 0);
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 4), 0);
    memmap_add(&map, 0x1000, 0x1000, MEMMAP_RESERVED);
    CHECK_EQ(memmap_usable_bytes(&map), 0);
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 4), 0);
}

static void test_qemu_8g_totals(void)
{
    struct pmm_range out[8];
    reset();
    add_qemu_8g();
    uint64_t want = 0x9fc00 + (0xbffe0000 - 0x100000) + 0x140000000ull;
    CHECK_EQ(memmap_usable_bytes(&map), want);
    CHECK_EQ(memmap_usable_end(&map), 0x240000000ull);

    /* Free ranges with the first MiB and a kernel at 2 MiB reserved. */
    struct pmm_range res[] = {{0, 0x100000}, {0x200000, 0x345678}};
    size_t n = memmap_free_ranges(&map, res, 2, out, 8);
    CHECK_EQ(n, 3);
    CHECK_EQ(out[0].base, 0x100000);
    CHECK_EQ(out[0].end, 0x200000);
    CHECK_EQ(out[1].base, 0x346000);
    CHECK_EQ(out[1].end, 0xbffe0000);
    CHECK_EQ(out[2].base, 0x100000000ull);
    CHECK_EQ(out[2].end, 0x240000000ull);

    /* Without reservations the partial page below 0x9fc00 is dropped. */
    n = memmap_free_ranges(&map, NULL, 0, out, 8);
    CHECK_EQ(n, 3);
    CHECK_EQ(out[0].base, 0);
    CHECK_EQ(out[0].end, 0x9f000);
}

static void test_overlapping_usable_counted_once(void)
{
    reset();
    memmap_add(&map, 0x1000, 0x3000, MEMMAP_USABLE);
    memmap_add(&map, 0x2000, 0x3000, MEMMAP_USABLE);
    memmap_add(&map, 0x1000, 0x3000, MEMMAP_USABLE); /* exact duplicate */
    CHECK_EQ(memmap_usable_bytes(&map), 0x4000);
    CHECK_EQ(memmap_usable_end(&map), 0x5000);

    struct pmm_range out[4];
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 4), 1);
    CHECK_EQ(out[0].base, 0x1000);
    CHECK_EQ(out[0].end, 0x5000);
}

static void test_reserved_wins_in_any_order(void)
{
    for (int order = 0; order < 2; order++) {
        reset();
        if (order)
            memmap_add(&map, 0x3000, 0x1000, MEMMAP_ACPI_NVS);
        memmap_add(&map, 0x0, 0x10000, MEMMAP_USABLE);
        if (!order)
            memmap_add(&map, 0x3000, 0x1000, MEMMAP_ACPI_NVS);
        memmap_add(&map, 0xf000, 0x2000, 99); /* unknown type: reserved */
        CHECK_EQ(memmap_usable_bytes(&map), 0x10000 - 0x1000 - 0x1000);
        CHECK_EQ(memmap_usable_end(&map), 0xf000);

        struct pmm_range out[4];
        CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 4), 2);
        CHECK_EQ(out[0].base, 0);
        CHECK_EQ(out[0].end, 0x3000);
        CHECK_EQ(out[1].base, 0x4000);
        CHECK_EQ(out[1].end, 0xf000);
    }
}

static void test_unsorted_entries(void)
{
    reset();
    memmap_add(&map, 0x100000000ull, 0x100000, MEMMAP_USABLE);
    memmap_add(&map, 0x100000, 0x100000, MEMMAP_USABLE);
    memmap_add(&map, 0x0, 0x80000, MEMMAP_USABLE);
    memmap_add(&map, 0x180000, 0x1000, MEMMAP_RESERVED);

    struct pmm_range out[8];
    size_t n = memmap_free_ranges(&map, NULL, 0, out, 8);
    CHECK_EQ(n, 4);
    CHECK_EQ(out[0].base, 0);
    CHECK_EQ(out[0].end, 0x80000);
    CHECK_EQ(out[1].base, 0x100000);
    CHECK_EQ(out[1].end, 0x180000);
    CHECK_EQ(out[2].base, 0x181000);
    CHECK_EQ(out[2].end, 0x200000);
    CHECK_EQ(out[3].base, 0x100000000ull);
    CHECK_EQ(memmap_usable_bytes(&map), 0x80000 + 0x100000 - 0x1000 + 0x100000);
}

static void test_zero_length_entries_ignored(void)
{
    reset();
    memmap_add(&map, 0x5000, 0, MEMMAP_RESERVED); /* would split the usable range */
    memmap_add(&map, 0x0, 0x10000, MEMMAP_USABLE);
    memmap_add(&map, 0x20000, 0, MEMMAP_USABLE);
    memmap_add(&map, 0x10000, 0, MEMMAP_USABLE);
    CHECK_EQ(memmap_usable_bytes(&map), 0x10000);
    CHECK_EQ(memmap_usable_end(&map), 0x10000);

    struct pmm_range out[4];
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 4), 1);
    CHECK_EQ(out[0].end, 0x10000);
}

static void test_wraparound_is_clipped(void)
{
    reset();
    /* base + len passes 2^64: counted up to (not including) the top byte. */
    memmap_add(&map, 0xfffffffffff00000ull, 0x200000, MEMMAP_USABLE);
    CHECK_EQ(memmap_usable_bytes(&map), 0xfffff);
    CHECK_EQ(memmap_usable_end(&map), UINT64_MAX);

    struct pmm_range out[2];
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 2), 1);
    CHECK_EQ(out[0].base, 0xfffffffffff00000ull);
    CHECK_EQ(out[0].end, 0xfffffffffffff000ull);

    /* A reserved entry that wraps hides everything from its base up. */
    memmap_add(&map, 0xfffffffffff80000ull, UINT64_MAX, MEMMAP_RESERVED);
    CHECK_EQ(memmap_usable_bytes(&map), 0x80000);
    CHECK_EQ(memmap_usable_end(&map), 0xfffffffffff80000ull);

    /* An entry at the very top byte is empty after clipping. */
    reset();
    memmap_add(&map, UINT64_MAX, 1, MEMMAP_USABLE);
    memmap_add(&map, UINT64_MAX, UINT64_MAX, MEMMAP_USABLE);
    CHECK_EQ(memmap_usable_bytes(&map), 0);
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 2), 0);

    /* A whole-address-space usable entry. */
    reset();
    memmap_add(&map, 0, UINT64_MAX, MEMMAP_USABLE);
    CHECK_EQ(memmap_usable_bytes(&map), UINT64_MAX);
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 2), 1);
    CHECK_EQ(out[0].end, 0xfffffffffffff000ull);
}

static void test_free_ranges_honours_max(void)
{
    reset();
    for (int i = 0; i < 10; i++)
        memmap_add(&map, (uint64_t)i * 0x2000, 0x1000, MEMMAP_USABLE);
    struct pmm_range out[10];
    memset(out, 0xaa, sizeof out);
    /* The count is of all ranges, so the caller can tell some did not fit. */
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 3), 10);
    CHECK_EQ(out[2].base, 0x4000);
    CHECK_EQ(out[3].base, 0xaaaaaaaaaaaaaaaaull); /* untouched */
    CHECK_EQ(memmap_free_ranges(&map, NULL, 0, out, 0), 10);
}

static void test_reserved_ranges_overlapping_and_empty(void)
{
    reset();
    memmap_add(&map, 0, 0x20000, MEMMAP_USABLE);
    struct pmm_range res[] = {
        {0x3000, 0x6000}, {0x5000, 0x8000}, {0x9000, 0x9000}, /* empty */
        {0xc000, 0xb000}, /* inverted: ignored */ {0x1f800, 0x30000},
        {0x2000, 0x3000}, /* chained with the first */
    };
    struct pmm_range out[8];
    size_t n = memmap_free_ranges(&map, res, ARRAY_SIZE(res), out, 8);
    CHECK_EQ(n, 2);
    CHECK_EQ(out[0].base, 0);
    CHECK_EQ(out[0].end, 0x2000);
    CHECK_EQ(out[1].base, 0x8000);
    CHECK_EQ(out[1].end, 0x1f000);
}

/* Run `fn` with stdout redirected to a buffer. */
static size_t capture(void (*fn)(void), char *buf, size_t len)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    fn();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, len - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return n;
}

static void print_map(void)
{
    memmap_print(&map);
}

static void test_print_format(void)
{
    static char buf[65536];
    reset();
    memmap_add(&map, 0x0, 0x9fc00, MEMMAP_USABLE);
    memmap_add(&map, 0x9fc00, 0x400, MEMMAP_RESERVED);
    memmap_add(&map, 0x7000, 0, MEMMAP_USABLE); /* skipped */
    memmap_add(&map, 0xbffe0000, 0x10000, MEMMAP_ACPI_DATA);
    memmap_add(&map, 0xbfff0000, 0x10000, MEMMAP_ACPI_NVS);
    memmap_add(&map, 0xc0000000, 0x1000, MEMMAP_UNUSABLE);
    memmap_add(&map, 0xd0000000, 0x1000, 42);
    memmap_add(&map, 0xfffffffffffff000ull, 0x2000, MEMMAP_RESERVED);
    memmap_add(&map, 0x100000000ull, 0x40000000, MEMMAP_USABLE);
    capture(print_map, buf, sizeof buf);
    const char *want =
        "e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
        "e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved\n"
        "e820: [mem 0x00000000bffe0000-0x00000000bffeffff] ACPI data\n"
        "e820: [mem 0x00000000bfff0000-0x00000000bfffffff] ACPI NVS\n"
        "e820: [mem 0x00000000c0000000-0x00000000c0000fff] unusable\n"
        "e820: [mem 0x00000000d0000000-0x00000000d0000fff] reserved\n"
        "e820: [mem 0xfffffffffffff000-0xffffffffffffffff] reserved\n"
        "e820: [mem 0x0000000100000000-0x000000013fffffff] usable\n"
        "e820: usable total 1049215 KiB\n";
    CHECK(strcmp(buf, want) == 0);
    if (strcmp(buf, want) != 0)
        printf("# got:\n%s", buf);
}

/* ---- randomised maps against a bitmap model ---- */

#define UNIT     16u                     /* model granularity in bytes */
#define SPACE    (16 * PAGE_SIZE)        /* modelled address space */
#define NUNITS   (SPACE / UNIT)
#define NPAGES   (SPACE / PAGE_SIZE)

static uint8_t m_usable[NUNITS], m_other[NUNITS], m_res[NUNITS];

static uint64_t rand_unit_addr(void)
{
    /* Favour page boundaries so exact alignment cases come up often. */
    if (rng() % 2)
        return rng_below(NPAGES + 1) * PAGE_SIZE;
    return rng_below(NUNITS + 1) * UNIT;
}

static void mark(uint8_t *bm, uint64_t b, uint64_t e)
{
    for (uint64_t u = b / UNIT; u < e / UNIT && u < NUNITS; u++)
        bm[u] = 1;
}

static void random_case(uint64_t offset)
{
    struct pmm_range res[4], out[64];
    size_t nres = rng_below(5);

    reset();
    memset(m_usable, 0, sizeof m_usable);
    memset(m_other, 0, sizeof m_other);
    memset(m_res, 0, sizeof m_res);
    int n = 1 + (int)rng_below(12);
    for (int i = 0; i < n; i++) {
        uint64_t b = rand_unit_addr(), e = rand_unit_addr();
        if (b > e) {
            uint64_t t = b; b = e; e = t;
        }
        uint32_t type = rng() % 3 ? MEMMAP_USABLE : (uint32_t)(2 + rng_below(6));
        memmap_add(&map, offset + b, e - b, type);
        mark(type == MEMMAP_USABLE ? m_usable : m_other, b, e);
    }
    for (size_t i = 0; i < nres; i++) {
        uint64_t b = rand_unit_addr(), e = rand_unit_addr();
        res[i].base = offset + b;
        res[i].end = offset + e; /* may be empty or inverted: ignored */
        if (b < e)
            mark(m_res, b, e);
    }

    uint64_t want_bytes = 0, want_end = 0;
    for (uint64_t u = 0; u < NUNITS; u++) {
        if (m_usable[u] && !m_other[u]) {
            want_bytes += UNIT;
            want_end = offset + (u + 1) * UNIT;
        }
    }
    CHECK_EQ(memmap_usable_bytes(&map), want_bytes);
    CHECK_EQ(memmap_usable_end(&map), want_end);

    /* Model free ranges: maximal runs of pages whose every unit is usable,
     * claimed by no other entry and not reserved. */
    struct pmm_range want[NPAGES];
    size_t nwant = 0;
    for (uint64_t pg = 0; pg < NPAGES; pg++) {
        bool free_page = true;
        for (uint64_t u = pg * (PAGE_SIZE / UNIT); u < (pg + 1) * (PAGE_SIZE / UNIT); u++)
            if (!m_usable[u] || m_other[u] || m_res[u])
                free_page = false;
        if (!free_page)
            continue;
        uint64_t b = offset + pg * PAGE_SIZE;
        if (nwant && want[nwant - 1].end == b)
            want[nwant - 1].end += PAGE_SIZE;
        else
            want[nwant++] = (struct pmm_range){b, b + PAGE_SIZE};
    }
    size_t got = memmap_free_ranges(&map, res, nres, out, ARRAY_SIZE(out));
    CHECK_EQ(got, nwant);
    for (size_t i = 0; i < got && i < nwant; i++) {
        CHECK_EQ(out[i].base, want[i].base);
        CHECK_EQ(out[i].end, want[i].end);
    }
}

static void test_random_maps_against_model(void)
{
    for (int i = 0; i < 20000 && !tap_failures; i++)
        random_case(0);
    /* The same above 4 GiB and just below the top of the address space. */
    for (int i = 0; i < 3000 && !tap_failures; i++)
        random_case(0x23f000000ull);
    for (int i = 0; i < 3000 && !tap_failures; i++)
        random_case(0xffffffffffff0000ull - SPACE);
}

/* ---- memmap_carve ---- */

static void test_carve_takes_highest_fit(void)
{
    struct pmm_range r[5] = {{0x100000, 0x200000}, {0x400000, 0x800000},
                             {0x1000000, 0x1004000}};
    size_t n = 3;
    paddr_t pa;

    /* Highest range below 16 MiB that fits 64 KiB: [0x400000, 0x800000). */
    CHECK_EQ(memmap_carve(r, &n, 0x10000, PAGE_SIZE, 0x1000000, &pa), 0);
    CHECK_EQ(pa, 0x7f0000);
    CHECK_EQ(n, 3);
    CHECK_EQ(r[1].end, 0x7f0000);

    /* With no limit, a small block comes from the top range, used up. */
    CHECK_EQ(memmap_carve(r, &n, 0x4000, PAGE_SIZE, UINT64_MAX, &pa), 0);
    CHECK_EQ(pa, 0x1000000);
    CHECK_EQ(n, 2);
    CHECK_EQ(r[1].base, 0x400000);

    /* `below` in the middle of a range splits it. */
    CHECK_EQ(memmap_carve(r, &n, 0x1000, PAGE_SIZE, 0x500000, &pa), 0);
    CHECK_EQ(pa, 0x4ff000);
    CHECK_EQ(n, 3);
    CHECK_EQ(r[1].base, 0x400000);
    CHECK_EQ(r[1].end, 0x4ff000);
    CHECK_EQ(r[2].base, 0x500000);
    CHECK_EQ(r[2].end, 0x7f0000);

    /* Alignment: a 1 MiB aligned MiB below 8 MiB splits [0x500000, 0x7f0000). */
    CHECK_EQ(memmap_carve(r, &n, 0x100000, 0x100000, 0x800000, &pa), 0);
    CHECK_EQ(pa, 0x600000);
    CHECK_EQ(n, 4);
    CHECK_EQ(r[2].base, 0x500000);
    CHECK_EQ(r[2].end, 0x600000);
    CHECK_EQ(r[3].base, 0x700000);
    CHECK_EQ(r[3].end, 0x7f0000);

    /* 2 MiB aligned 2 MiB below 8 MiB no longer fits anywhere. */
    CHECK_EQ(memmap_carve(r, &n, 0x200000, 0x200000, 0x800000, &pa), -MICA_ENOMEM);
    CHECK_EQ(n, 4);
}

static void test_carve_rounds_and_fails_cleanly(void)
{
    struct pmm_range r[3] = {{0x1000, 0x3000}, {0x10000, 0x12000}};
    size_t n = 2;
    paddr_t pa = 0x1234;

    CHECK_EQ(memmap_carve(r, &n, 0x3000, 1, UINT64_MAX, &pa), -MICA_ENOMEM);
    CHECK_EQ(pa, 0x1234);
    CHECK_EQ(memmap_carve(r, &n, 0x1000, PAGE_SIZE, 0x1000, &pa), -MICA_ENOMEM);
    CHECK_EQ(memmap_carve(r, &n, UINT64_MAX, PAGE_SIZE, UINT64_MAX, &pa), -MICA_ENOMEM);
    CHECK_EQ(n, 2);
    CHECK_EQ(r[0].base, 0x1000);
    CHECK_EQ(r[1].end, 0x12000);

    /* One byte takes a whole page; a small align is raised to a page. */
    CHECK_EQ(memmap_carve(r, &n, 1, 8, 0x11800, &pa), 0);
    CHECK_EQ(pa, 0x10000);
    CHECK_EQ(r[1].base, 0x11000);
    CHECK_EQ(memmap_carve(r, &n, 0x2000, PAGE_SIZE, UINT64_MAX, &pa), 0);
    CHECK_EQ(pa, 0x1000);
    CHECK_EQ(n, 1);
    CHECK_EQ(r[0].base, 0x11000);

    EXPECT_PANIC(memmap_carve(r, &n, 0x1000, 0x3000, UINT64_MAX, &pa));
    CHECK(strstr(tap_last_panic, "power of two") != NULL);
    EXPECT_PANIC(memmap_carve(r, &n, 0, PAGE_SIZE, UINT64_MAX, &pa));
}

/* Carve random blocks until the ranges run out and check every block is
 * aligned, below its limit, inside the original free memory, disjoint from
 * the others, and that the ranges shrink by exactly what was taken. */
static void test_carve_random_against_model(void)
{
    enum { PAGES = 256 };
    for (int iter = 0; iter < 2000 && !tap_failures; iter++) {
        uint8_t orig[PAGES] = {0}, taken[PAGES] = {0};
        struct pmm_range r[PAGES];
        size_t n = 0;
        uint64_t pg = rng_below(4);
        while (pg < PAGES && n < 20) {
            uint64_t len = 1 + rng_below(24);
            if (pg + len > PAGES)
                len = PAGES - pg;
            r[n++] = (struct pmm_range){pg * PAGE_SIZE, (pg + len) * PAGE_SIZE};
            for (uint64_t i = pg; i < pg + len; i++)
                orig[i] = 1;
            pg += len + 1 + rng_below(6);
        }
        for (int k = 0; k < 200; k++) {
            uint64_t bytes = 1 + rng_below(6 * PAGE_SIZE);
            uint64_t align = PAGE_SIZE << rng_below(4);
            uint64_t below = rng() % 4 ? rng_below(PAGES + 1) * PAGE_SIZE : UINT64_MAX;
            paddr_t pa;
            size_t before = n;
            if (memmap_carve(r, &n, bytes, align, below, &pa) != 0) {
                CHECK_EQ(n, before);
                continue;
            }
            uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
            CHECK(IS_ALIGNED(pa, align));
            CHECK(pa + pages * PAGE_SIZE <= below);
            for (uint64_t i = pa / PAGE_SIZE; i < pa / PAGE_SIZE + pages && i < PAGES; i++) {
                CHECK(orig[i] && !taken[i]);
                taken[i] = 1;
            }
            /* The ranges must be exactly orig minus taken, in order. */
            uint64_t expect_free = 0, got_free = 0;
            for (int i = 0; i < PAGES; i++)
                expect_free += orig[i] && !taken[i];
            for (size_t i = 0; i < n; i++) {
                CHECK(r[i].base < r[i].end);
                CHECK(i == 0 || r[i - 1].end < r[i].base);
                for (uint64_t a = r[i].base; a < r[i].end; a += PAGE_SIZE)
                    CHECK(orig[a / PAGE_SIZE] && !taken[a / PAGE_SIZE]);
                got_free += (r[i].end - r[i].base) / PAGE_SIZE;
            }
            CHECK_EQ(got_free, expect_free);
            if (tap_failures)
                return;
        }
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_add_keeps_order_and_refuses_overflow),
        TAP(test_empty_map),
        TAP(test_qemu_8g_totals),
        TAP(test_overlapping_usable_counted_once),
        TAP(test_reserved_wins_in_any_order),
        TAP(test_unsorted_entries),
        TAP(test_zero_length_entries_ignored),
        TAP(test_wraparound_is_clipped),
        TAP(test_free_ranges_honours_max),
        TAP(test_reserved_ranges_overlapping_and_empty),
        TAP(test_print_format),
        TAP(test_random_maps_against_model),
        TAP(test_carve_takes_highest_fit),
        TAP(test_carve_rounds_and_fails_cleanly),
        TAP(test_carve_random_against_model),
    };
    return tap_run(tests, ARRAY_SIZE(tests));
}
