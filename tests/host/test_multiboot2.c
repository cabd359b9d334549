/* Host tests for the Multiboot2 information parser (boot/multiboot2.c):
 * well-formed blocks built here tag by tag (BIOS-style with an e820 map,
 * UEFI-style with only an EFI map), one test per kind of corruption with
 * the error message checked, and randomly mutated blocks parsed from
 * exactly-sized heap buffers so that ASan catches any read past `avail`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "boot/multiboot2.h"
#include "mm/memmap.h"
#include <mica/errno.h>

/* ---- block builder ---- */

struct mb {
    _Alignas(8) uint8_t buf[65536];
    uint32_t len;
};

static struct mb blk;
static struct boot_info bi;
static char err[256];

#include "rng.h"
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static void put32(uint32_t off, uint32_t v)
{
    memcpy(blk.buf + off, &v, 4);
}

static void mb_begin(void)
{
    memset(&blk, 0, sizeof blk);
    blk.len = 8;
}

/* Append a tag with `plen` payload bytes; returns its offset. */
static uint32_t mb_tag(uint32_t type, const void *payload, uint32_t plen)
{
    uint32_t off = blk.len;
    put32(off, type);
    put32(off + 4, 8 + plen);
    if (plen)
        memcpy(blk.buf + off + 8, payload, plen);
    blk.len = (off + 8 + plen + 7) & ~7u;
    return off;
}

static uint32_t mb_string(uint32_t type, const char *s)
{
    return mb_tag(type, s, (uint32_t)strlen(s) + 1);
}

static uint32_t mb_module(uint32_t start, uint32_t end, const char *s)
{
    uint8_t p[256];
    memcpy(p, &start, 4);
    memcpy(p + 4, &end, 4);
    size_t n = strlen(s) + 1;
    memcpy(p + 8, s, n);
    return mb_tag(3, p, 8 + (uint32_t)n);
}

static uint32_t mb_meminfo(uint32_t lower, uint32_t upper)
{
    uint32_t p[2] = {lower, upper};
    return mb_tag(4, p, 8);
}

struct e820 {
    uint64_t base, len;
    uint32_t type;
};

/* An e820 map tag with `esz`-byte entries (extra bytes filled with 0xee). */
static uint32_t mb_mmap(uint32_t esz, const struct e820 *e, size_t n)
{
    static uint8_t p[32768];
    uint32_t hdr[2] = {esz, 0};
    memcpy(p, hdr, 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + 8 + i * esz;
        memset(q, 0xee, esz);
        memcpy(q, &e[i].base, 8);
        memcpy(q + 8, &e[i].len, 8);
        memcpy(q + 16, &e[i].type, 4);
        memset(q + 20, 0, 4);
    }
    return mb_tag(6, p, 8 + (uint32_t)(n * esz));
}

struct efi_desc {
    uint32_t type;
    uint64_t phys, pages;
};

static uint32_t mb_efi_mmap(uint32_t dsz, const struct efi_desc *d, size_t n)
{
    static uint8_t p[32768];
    uint32_t hdr[2] = {dsz, 1};
    memcpy(p, hdr, 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + 8 + i * dsz;
        uint64_t virt = 0, attr = 0xf;
        memset(q, 0xdd, dsz);
        memcpy(q, &d[i].type, 4);
        memset(q + 4, 0, 4);
        memcpy(q + 8, &d[i].phys, 8);
        memcpy(q + 16, &virt, 8);
        memcpy(q + 24, &d[i].pages, 8);
        memcpy(q + 32, &attr, 8);
    }
    return mb_tag(17, p, 8 + (uint32_t)(n * dsz));
}

static uint32_t mb_rsdp(uint32_t type, uint32_t len, uint8_t fill)
{
    uint8_t p[64];
    memset(p, fill, sizeof p);
    return mb_tag(type, p, len);
}

static void mb_end(void)
{
    mb_tag(0, NULL, 0);
    put32(0, blk.len);
}

static int parse(void)
{
    return multiboot2_parse(blk.buf, blk.len, &bi, err, sizeof err);
}

/* Parse and expect failure with `needle` in the message. */
static void expect_error(const char *needle, int line)
{
    int rc = parse();
    if (rc != -MICA_EINVAL || !strstr(err, needle)) {
        printf("# line %d: rc %d, error \"%s\", wanted \"%s\"\n", line, rc, err, needle);
        tap_failures++;
    }
}
#define EXPECT_ERROR(needle) expect_error(needle, __LINE__)

/* QEMU's e820 map for -m 128M. */
static const struct e820 qemu_128m[] = {
    {0x0, 0x9fc00, 1},          {0x9fc00, 0x400, 2},     {0xf0000, 0x10000, 2},
    {0x100000, 0x7ee0000, 1},   {0x7fe0000, 0x20000, 2}, {0xfffc0000, 0x40000, 2},
};

static uint32_t off_mmap, off_rsdp, off_cmdline, off_mod1;

/* A block shaped like the one GRUB passes when booted from BIOS. */
static void build_grub_bios(void)
{
    mb_begin();
    off_cmdline = mb_string(1, "console=ttyS0 ktest");
    mb_string(2, "GRUB 2.06-13+deb12u1");
    off_mod1 = mb_module(0x400000, 0x412345, "init");
    mb_module(0x413000, 0x413000, ""); /* empty module, empty string */
    mb_meminfo(639, 130944);
    uint32_t bootdev[3] = {0x80, ~0u, ~0u};
    mb_tag(5, bootdev, 12);
    off_mmap = mb_mmap(24, qemu_128m, ARRAY_SIZE(qemu_128m));
    uint8_t fb[24] = {0};
    mb_tag(8, fb, sizeof fb);
    off_rsdp = mb_rsdp(14, 20, 0x52);
    mb_tag(0x7777, "junk", 4); /* unknown tag: skipped */
    mb_end();
}

static void test_parse_grub_bios_block(void)
{
    build_grub_bios();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(err[0], '\0');
    CHECK(strcmp(bi.cmdline, "console=ttyS0 ktest") == 0);
    CHECK((const uint8_t *)bi.cmdline == blk.buf + off_cmdline + 8);
    CHECK(strcmp(bi.loader_name, "GRUB 2.06-13+deb12u1") == 0);
    CHECK_EQ(bi.nmodules, 2);
    CHECK_EQ(bi.modules[0].start, 0x400000);
    CHECK_EQ(bi.modules[0].end, 0x412345);
    CHECK(strcmp(bi.modules[0].cmdline, "init") == 0);
    CHECK_EQ(bi.modules[1].start, 0x413000);
    CHECK(strcmp(bi.modules[1].cmdline, "") == 0);
    CHECK_EQ(bi.mem_lower_kib, 639);
    CHECK_EQ(bi.mem_upper_kib, 130944);
    CHECK(!bi.memmap_from_efi);
    CHECK_EQ(bi.memmap.n, ARRAY_SIZE(qemu_128m));
    for (size_t i = 0; i < ARRAY_SIZE(qemu_128m) && i < bi.memmap.n; i++) {
        CHECK_EQ(bi.memmap.e[i].base, qemu_128m[i].base);
        CHECK_EQ(bi.memmap.e[i].len, qemu_128m[i].len);
        CHECK_EQ(bi.memmap.e[i].type, qemu_128m[i].type);
    }
    CHECK_EQ(memmap_usable_bytes(&bi.memmap), 0x9fc00 + 0x7ee0000);
    CHECK(bi.acpi_rsdp_ptr == blk.buf + off_rsdp + 8);
    CHECK_EQ(bi.acpi_rsdp_len, 20);
}

static void test_parse_minimal_defaults(void)
{
    static const struct e820 one = {0x100000, 0x100000, 1};
    mb_begin();
    mb_mmap(24, &one, 1);
    mb_end();
    memset(&bi, 0xab, sizeof bi); /* everything must be reset */
    CHECK_EQ(parse(), 0);
    CHECK(strcmp(bi.cmdline, "") == 0);
    CHECK(strcmp(bi.loader_name, "") == 0);
    CHECK_EQ(bi.nmodules, 0);
    CHECK_EQ(bi.mem_lower_kib, 0);
    CHECK_EQ(bi.mem_upper_kib, 0);
    CHECK(bi.acpi_rsdp_ptr == NULL);
    CHECK_EQ(bi.acpi_rsdp_len, 0);
    CHECK_EQ(bi.memmap.n, 1);
    CHECK(!bi.memmap_from_efi);

    /* A block in a misaligned buffer parses the same (memcpy loads). */
    uint8_t *mis = malloc(blk.len + 1);
    memcpy(mis + 1, blk.buf, blk.len);
    CHECK_EQ(multiboot2_parse(mis + 1, blk.len, &bi, err, sizeof err), 0);
    CHECK_EQ(bi.memmap.e[0].base, 0x100000);
    free(mis);
}

static void test_mmap_larger_entry_size_honoured(void)
{
    mb_begin();
    mb_mmap(40, qemu_128m, ARRAY_SIZE(qemu_128m));
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(bi.memmap.n, ARRAY_SIZE(qemu_128m));
    CHECK_EQ(bi.memmap.e[3].base, 0x100000);
    CHECK_EQ(bi.memmap.e[5].base, 0xfffc0000);
    CHECK_EQ(bi.memmap.e[5].type, 2);
}

/* MEMMAP_MAX entries are kept; one more fails the parse with a message
 * naming the limit instead of losing an entry (RAM, or a reserved range). */
static void test_mmap_more_entries_than_kept_refused(void)
{
    static struct e820 many[MEMMAP_MAX + 1];
    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = (struct e820){i * 0x2000, 0x1000, 1};
    mb_begin();
    mb_mmap(24, many, MEMMAP_MAX);
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(bi.memmap.n, MEMMAP_MAX);

    mb_begin();
    mb_mmap(24, many, ARRAY_SIZE(many));
    mb_end();
    EXPECT_ERROR("has more than 512 entries (MEMMAP_MAX");
}

/* The same for an EFI map, counted after merging: alternating types
 * cannot merge. */
static void test_efi_mmap_more_runs_than_kept_refused(void)
{
    static struct efi_desc many[MEMMAP_MAX + 1];
    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = (struct efi_desc){i % 2 ? 0 : 7, i * 0x1000, 1};
    mb_begin();
    mb_efi_mmap(48, many, MEMMAP_MAX);
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(bi.memmap.n, MEMMAP_MAX);

    mb_begin();
    mb_efi_mmap(48, many, ARRAY_SIZE(many));
    mb_end();
    EXPECT_ERROR("(MEMMAP_MAX");
}

/* A UEFI-like map: RAM split into many descriptors of different EFI types. */
static const struct efi_desc efi_map[] = {
    {7, 0x0, 0xa0},           /* conventional */
    {0, 0xa0000, 0x60},       /* EfiReservedMemoryType */
    {7, 0x100000, 0x700},
    {10, 0x800000, 0x8},      /* ACPI NVS */
    {7, 0x808000, 0x8},
    {4, 0x810000, 0xf0},      /* boot services data: usable, merged */
    {1, 0x900000, 0x700},     /* loader code: usable, merged */
    {9, 0x1000000, 0x100},    /* ACPI reclaim */
    {8, 0x1100000, 0x100},    /* unusable */
    {5, 0x1200000, 0x100},    /* runtime services code: reserved */
    {6, 0x1300000, 0x100},    /* runtime services data: reserved, merged */
    {7, 0x2000000, 0x1000},
    {7, 0x3000000, 0},        /* empty: skipped */
    {3, 0x3000000, 0x1000},   /* boot services code: merged across the empty one */
    {7, 0x5000000, 0x100},    /* same type after a hole: not merged */
    {11, 0xffc00000, 0x400},  /* MMIO: reserved */
    {2, 0x100000000, 0x40000},/* loader data above 4 GiB */
    {14, 0x140000000, 0x10},  /* a future type: reserved */
};

static const struct memmap_entry efi_expect[] = {
    {0x0, 0xa0000, MEMMAP_USABLE},
    {0xa0000, 0x60000, MEMMAP_RESERVED},
    {0x100000, 0x700000, MEMMAP_USABLE},
    {0x800000, 0x8000, MEMMAP_ACPI_NVS},
    {0x808000, 0x7f8000, MEMMAP_USABLE},
    {0x1000000, 0x100000, MEMMAP_ACPI_DATA},
    {0x1100000, 0x100000, MEMMAP_UNUSABLE},
    {0x1200000, 0x200000, MEMMAP_RESERVED},
    {0x2000000, 0x2000000, MEMMAP_USABLE},
    {0x5000000, 0x100000, MEMMAP_USABLE},
    {0xffc00000, 0x400000, MEMMAP_RESERVED},
    {0x100000000, 0x40000000, MEMMAP_USABLE},
    {0x140000000, 0x10000, MEMMAP_RESERVED},
};

static void check_efi_conversion(void)
{
    CHECK(bi.memmap_from_efi);
    CHECK_EQ(bi.memmap.n, ARRAY_SIZE(efi_expect));
    for (size_t i = 0; i < ARRAY_SIZE(efi_expect) && i < bi.memmap.n; i++) {
        CHECK_EQ(bi.memmap.e[i].base, efi_expect[i].base);
        CHECK_EQ(bi.memmap.e[i].len, efi_expect[i].len);
        CHECK_EQ(bi.memmap.e[i].type, efi_expect[i].type);
    }
}

static void test_efi_only_map_converted(void)
{
    static const uint32_t sizes[] = {40, 48, 56};
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
        mb_begin();
        mb_string(1, "");
        mb_string(2, "GRUB 2.06");
        uint64_t st = 0x7fe8f018;
        mb_tag(12, &st, 8); /* EFI64 system table */
        mb_efi_mmap(sizes[s], efi_map, ARRAY_SIZE(efi_map));
        off_rsdp = mb_rsdp(15, 36, 0x58);
        mb_end();
        CHECK_EQ(parse(), 0);
        check_efi_conversion();
        CHECK(bi.acpi_rsdp_ptr == blk.buf + off_rsdp + 8);
        CHECK_EQ(bi.acpi_rsdp_len, 36);
    }
}

static void test_efi_page_count_overflow_clipped(void)
{
    static const struct efi_desc d[] = {
        {7, 0x100000, 0x10},
        {7, 0x110000, UINT64_MAX}, /* pages * 4096 overflows: clipped, not merged */
    };
    mb_begin();
    mb_efi_mmap(48, d, 2);
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(bi.memmap.n, 2);
    CHECK_EQ(bi.memmap.e[0].len, 0x10000);
    CHECK_EQ(bi.memmap.e[1].len, UINT64_MAX);
    CHECK_EQ(memmap_usable_bytes(&bi.memmap), UINT64_MAX - 0x100000);
}

static void test_e820_preferred_over_efi(void)
{
    mb_begin();
    mb_efi_mmap(48, efi_map, ARRAY_SIZE(efi_map));
    mb_mmap(24, qemu_128m, ARRAY_SIZE(qemu_128m));
    mb_mmap(24, qemu_128m, 2); /* a second e820 tag is checked, not used */
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK(!bi.memmap_from_efi);
    CHECK_EQ(bi.memmap.n, ARRAY_SIZE(qemu_128m));
}

/* Every module up to BOOT_MAX_MODULES is kept, in order: the last one
 * (bootcfg in a real image) included. Once the limit was 16 and the 17th
 * and later were dropped with a console line. */
static void test_many_modules_all_kept(void)
{
    char name[16];
    mb_begin();
    for (uint32_t i = 0; i < BOOT_MAX_MODULES; i++) {
        snprintf(name, sizeof name, "m%u", i);
        mb_module(i * 0x1000, i * 0x1000 + 0x800, i == BOOT_MAX_MODULES - 1 ? "bootcfg" : name);
    }
    mb_mmap(24, qemu_128m, ARRAY_SIZE(qemu_128m));
    mb_end();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(bi.nmodules, BOOT_MAX_MODULES);
    CHECK(strcmp(bi.modules[16].cmdline, "m16") == 0);
    CHECK(strcmp(bi.modules[40].cmdline, "m40") == 0);
    CHECK_EQ(bi.modules[BOOT_MAX_MODULES - 1].start, (BOOT_MAX_MODULES - 1) * 0x1000);
    CHECK(strcmp(bi.modules[BOOT_MAX_MODULES - 1].cmdline, "bootcfg") == 0);
}

/* One module more than the kernel holds fails the parse, naming the limit. */
static void test_modules_beyond_max_refused(void)
{
    mb_begin();
    for (uint32_t i = 0; i < BOOT_MAX_MODULES + 1; i++)
        mb_module(i * 0x1000, i * 0x1000 + 0x800, "m");
    mb_mmap(24, qemu_128m, ARRAY_SIZE(qemu_128m));
    mb_end();
    EXPECT_ERROR("is module 257, beyond the kernel's limit of 256 (BOOT_MAX_MODULES");
}

static void test_rsdp_new_preferred_over_old(void)
{
    for (int order = 0; order < 2; order++) {
        uint32_t off_new;
        mb_begin();
        mb_mmap(24, qemu_128m, 1);
        if (order) {
            off_new = mb_rsdp(15, 36, 2);
            mb_rsdp(14, 20, 1);
        } else {
            mb_rsdp(14, 20, 1);
            off_new = mb_rsdp(15, 36, 2);
        }
        mb_end();
        CHECK_EQ(parse(), 0);
        CHECK(bi.acpi_rsdp_ptr == blk.buf + off_new + 8);
        CHECK_EQ(bi.acpi_rsdp_len, 36);
    }
}

/* ---- corrupt blocks ---- */

static void test_reject_header_problems(void)
{
    uint8_t small[8] = {0};
    CHECK_EQ(multiboot2_parse(NULL, 100, &bi, err, sizeof err), -MICA_EINVAL);
    CHECK(strstr(err, "NULL") != NULL);
    for (size_t avail = 0; avail < 8; avail++) {
        uint8_t *p = malloc(avail ? avail : 1);
        memcpy(p, small, avail);
        CHECK_EQ(multiboot2_parse(p, avail, &bi, err, sizeof err), -MICA_EINVAL);
        CHECK(strstr(err, "too few for the header") != NULL);
        free(p);
    }

    build_grub_bios();
    put32(0, 15);
    EXPECT_ERROR("information block: total_size 15 is below the minimum of 16");
    put32(0, 0);
    EXPECT_ERROR("total_size 0 is below");
    put32(0, blk.len + 8);
    EXPECT_ERROR("exceeds the"); /* parse() passes avail = blk.len */
    put32(0, MULTIBOOT2_MAX_INFO_SIZE + 8);
    EXPECT_ERROR("exceeds the limit");
    put32(0, UINT32_MAX);
    EXPECT_ERROR("exceeds the limit");
}

static void test_reject_oversized_block_even_if_readable(void)
{
    size_t big = MULTIBOOT2_MAX_INFO_SIZE + 64;
    uint8_t *p = calloc(1, big);
    uint32_t total = (uint32_t)big;
    memcpy(p, &total, 4);
    CHECK_EQ(multiboot2_parse(p, big, &bi, err, sizeof err), -MICA_EINVAL);
    CHECK(strstr(err, "exceeds the limit") != NULL);
    free(p);
}

/* Every truncation of a good block is rejected without reading past it. */
static void test_reject_truncated_block(void)
{
    build_grub_bios();
    for (uint32_t avail = 0; avail < blk.len; avail++) {
        uint8_t *p = malloc(avail ? avail : 1);
        memcpy(p, blk.buf, avail);
        CHECK_EQ(multiboot2_parse(p, avail, &bi, err, sizeof err), -MICA_EINVAL);
        free(p);
    }
    /* total_size itself cut short: the end tag (and more) falls outside. */
    for (uint32_t total = 16; total < blk.len; total += 4) {
        put32(0, total);
        CHECK_EQ(parse(), -MICA_EINVAL);
    }
}

static void test_reject_tag_size_below_8(void)
{
    build_grub_bios();
    put32(off_cmdline + 4, 4);
    EXPECT_ERROR("tag 1 (command line) at offset 0x8 has size 4 (< 8)");
    build_grub_bios();
    put32(off_mmap + 4, 0);
    EXPECT_ERROR("(memory map) at offset 0x");
}

static void test_reject_tag_past_end(void)
{
    char want[128];
    build_grub_bios();
    put32(off_mmap + 4, blk.len);
    snprintf(want, sizeof want, "tag 6 (memory map) at offset 0x%x runs past the end of the block",
             off_mmap);
    EXPECT_ERROR(want);
    build_grub_bios();
    put32(off_mmap + 4, UINT32_MAX);
    EXPECT_ERROR("runs past the end");
}

static void test_reject_unterminated_strings(void)
{
    build_grub_bios();
    /* Shrink the command line tag so its NUL falls outside it. */
    put32(off_cmdline + 4, 8 + (uint32_t)strlen("console=ttyS0 ktest"));
    EXPECT_ERROR("tag 1 (command line) at offset 0x8 has a string that is not NUL-terminated");

    mb_begin();
    mb_tag(2, "GRUB", 4);
    mb_mmap(24, qemu_128m, 1);
    mb_end();
    EXPECT_ERROR("tag 2 (boot loader name)");

    mb_begin();
    mb_tag(1, NULL, 0); /* no room for even the NUL */
    mb_end();
    EXPECT_ERROR("too small to hold its string");

    build_grub_bios();
    put32(off_mod1 + 4, 16 + 4); /* "init" without its NUL */
    EXPECT_ERROR("tag 3 (module)");
    put32(off_mod1 + 4, 16);
    EXPECT_ERROR("too small to hold its string");
}

static void test_reject_bad_module(void)
{
    build_grub_bios();
    put32(off_mod1 + 8, 0x500000); /* start above end 0x412345 */
    EXPECT_ERROR("has module start 0x500000 above its end 0x412345");
    build_grub_bios();
    put32(off_mod1 + 4, 12);
    EXPECT_ERROR("tag 3 (module) at offset");
}

static void test_reject_bad_mmap_entry_size(void)
{
    mb_begin();
    mb_mmap(16, qemu_128m, 3);
    mb_end();
    EXPECT_ERROR("tag 6 (memory map) at offset 0x8 has entry size 16 (< 24)");

    build_grub_bios();
    put32(off_mmap + 8, 0);
    EXPECT_ERROR("has entry size 0 (< 24)");

    /* 6 entries of 24 bytes read as entries of 32: 144 % 32 != 0. */
    build_grub_bios();
    put32(off_mmap + 8, 32);
    EXPECT_ERROR("not a multiple of entry size 32");

    /* A tag too small for its own header fields. */
    build_grub_bios();
    put32(off_mmap + 4, 12);
    EXPECT_ERROR("has size 12 (< 16)");

    mb_begin();
    mb_efi_mmap(32, efi_map, 2);
    mb_end();
    EXPECT_ERROR("tag 17 (EFI memory map) at offset 0x8 has entry size 32 (< 40)");
}

static void test_reject_short_fixed_tags(void)
{
    mb_begin();
    mb_tag(4, "\1\2\3\4", 4);
    mb_mmap(24, qemu_128m, 1);
    mb_end();
    EXPECT_ERROR("tag 4 (basic memory info) at offset 0x8 has size 12 (< 16)");

    mb_begin();
    mb_mmap(24, qemu_128m, 1);
    mb_rsdp(15, 20, 0); /* a v1-sized copy in a v2 tag */
    mb_end();
    EXPECT_ERROR("(ACPI new RSDP) at offset 0x30 has size 28, too small for a 36-byte RSDP");
}

static void test_reject_missing_end_tag(void)
{
    mb_begin();
    mb_mmap(24, qemu_128m, ARRAY_SIZE(qemu_128m));
    put32(0, blk.len); /* no end tag appended */
    EXPECT_ERROR("no end tag before the end of the block");

    /* A last tag whose padded size leaves less than a tag header. */
    mb_begin();
    mb_mmap(24, qemu_128m, 1);
    mb_tag(0x99, "abcd", 4);
    put32(0, blk.len - 3);
    put32(blk.len - 16 + 4, 9);
    EXPECT_ERROR("no end tag");
}

static void test_reject_no_memory_map(void)
{
    mb_begin();
    mb_string(1, "quiet");
    mb_meminfo(639, 1000);
    mb_end();
    EXPECT_ERROR("no memory map tag");
}

static void test_error_buffer_bounds(void)
{
    char small[12];
    mb_begin();
    mb_end();
    memset(small, 'x', sizeof small);
    CHECK_EQ(multiboot2_parse(blk.buf, blk.len, &bi, small, sizeof small), -MICA_EINVAL);
    CHECK_EQ(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, "information", 11) == 0);
    small[0] = 'x';
    CHECK_EQ(multiboot2_parse(blk.buf, blk.len, &bi, small, 1), -MICA_EINVAL);
    CHECK_EQ(small[0], '\0');
    CHECK_EQ(multiboot2_parse(blk.buf, blk.len, &bi, NULL, 0), -MICA_EINVAL);
}

/* ---- random mutations ---- */

static bool inside(const void *p, const uint8_t *buf, size_t len)
{
    return (const uint8_t *)p >= buf && (const uint8_t *)p < buf + len;
}

/* What a successful parse promises about the block at buf[0..len). */
static void check_result(const uint8_t *buf, size_t len)
{
    CHECK(bi.cmdline[0] == '\0' || inside(bi.cmdline, buf, len));
    CHECK(bi.loader_name[0] == '\0' || inside(bi.loader_name, buf, len));
    CHECK(bi.nmodules <= BOOT_MAX_MODULES);
    for (size_t i = 0; i < bi.nmodules; i++) {
        CHECK(bi.modules[i].start <= bi.modules[i].end);
        CHECK(bi.modules[i].cmdline[0] == '\0' || inside(bi.modules[i].cmdline, buf, len));
        CHECK(strlen(bi.modules[i].cmdline) < len); /* ASan checks the bytes */
    }
    CHECK(strlen(bi.cmdline) < len + 1);
    CHECK(strlen(bi.loader_name) < len + 1);
    if (bi.acpi_rsdp_ptr) {
        CHECK(inside(bi.acpi_rsdp_ptr, buf, len));
        CHECK((const uint8_t *)bi.acpi_rsdp_ptr + bi.acpi_rsdp_len <= buf + len);
        CHECK(bi.acpi_rsdp_len >= 20);
    }
    CHECK(bi.memmap.n <= MEMMAP_MAX);
    CHECK(memmap_usable_bytes(&bi.memmap) <= memmap_usable_end(&bi.memmap));
}

static unsigned mutated_ok, mutated_total;

static void mutate_and_parse(void)
{
    uint32_t len = blk.len;
    uint8_t *p = malloc(len);
    memcpy(p, blk.buf, len);
    int flips = 1 + (int)(rng() % 4);
    for (int i = 0; i < flips; i++) {
        uint32_t at = (uint32_t)(rng() % len);
        switch (rng() % 4) {
        case 0: p[at] ^= (uint8_t)(1u << (rng() % 8)); break;
        case 1: p[at] = (uint8_t)rng(); break;
        case 2: /* a size or count field: small values are the interesting ones */
            at &= ~3u;
            if (at + 4 <= len) {
                uint32_t v = (uint32_t)(rng() % 64);
                memcpy(p + at, &v, 4);
            }
            break;
        default: p[at] = 0; break;
        }
    }
    size_t avail = rng() % 8 ? len : rng() % (len + 1);
    uint8_t *q = malloc(avail ? avail : 1);
    memcpy(q, p, avail);
    mutated_total++;
    if (multiboot2_parse(q, avail, &bi, err, sizeof err) == 0) {
        mutated_ok++;
        check_result(q, avail);
    } else {
        CHECK(err[0] != '\0');
    }
    free(q);
    free(p);
}

static void test_random_mutations_are_safe(void)
{
    for (int i = 0; i < 20000 && !tap_failures; i++) {
        build_grub_bios();
        mutate_and_parse();
        mb_begin();
        mb_string(2, "GRUB");
        mb_efi_mmap(48, efi_map, ARRAY_SIZE(efi_map));
        mb_rsdp(15, 36, 1);
        mb_end();
        mutate_and_parse();
    }
    printf("# %u of %u mutated blocks parsed\n", mutated_ok, mutated_total);
    /* Both outcomes must be exercised for the test to mean anything. */
    CHECK(mutated_ok > mutated_total / 10);
    CHECK(mutated_ok < mutated_total);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_parse_grub_bios_block),
        TAP(test_parse_minimal_defaults),
        TAP(test_mmap_larger_entry_size_honoured),
        TAP(test_mmap_more_entries_than_kept_refused),
        TAP(test_efi_mmap_more_runs_than_kept_refused),
        TAP(test_efi_only_map_converted),
        TAP(test_efi_page_count_overflow_clipped),
        TAP(test_e820_preferred_over_efi),
        TAP(test_many_modules_all_kept),
        TAP(test_modules_beyond_max_refused),
        TAP(test_rsdp_new_preferred_over_old),
        TAP(test_reject_header_problems),
        TAP(test_reject_oversized_block_even_if_readable),
        TAP(test_reject_truncated_block),
        TAP(test_reject_tag_size_below_8),
        TAP(test_reject_tag_past_end),
        TAP(test_reject_unterminated_strings),
        TAP(test_reject_bad_module),
        TAP(test_reject_bad_mmap_entry_size),
        TAP(test_reject_short_fixed_tags),
        TAP(test_reject_missing_end_tag),
        TAP(test_reject_no_memory_map),
        TAP(test_error_buffer_bounds),
        TAP(test_random_mutations_are_safe),
    };
    return tap_run(tests, ARRAY_SIZE(tests));
}
