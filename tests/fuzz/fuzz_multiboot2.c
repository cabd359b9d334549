/* libFuzzer target for the Multiboot2 parser and the memory map arithmetic
 * behind it. The input is the information block itself, handed over in a
 * heap buffer of exactly its size so that ASan flags any read past it. On
 * a successful parse the free ranges are computed (with the modules and the
 * first MiB reserved, as the kernel does) and checked independently against
 * the map's entries; then a block is carved out of them and checked too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot2.h"
#include "mm/memmap.h"
#include "fuzz_check.h"

#define MAX_FREE (2 * MEMMAP_MAX + BOOT_MAX_MODULES + 8)

static struct boot_info bi;

static uint64_t entry_end(const struct memmap_entry *e)
{
    return e->len > UINT64_MAX - e->base ? UINT64_MAX : e->base + e->len;
}

/* [b, e) lies inside the union of usable entries. */
static bool covered_by_usable(const struct memmap *m, uint64_t b, uint64_t e)
{
    while (b < e) {
        uint64_t next = b;
        for (size_t i = 0; i < m->n; i++) {
            const struct memmap_entry *x = &m->e[i];
            if (x->type == MEMMAP_USABLE && x->base <= b && b < entry_end(x) &&
                entry_end(x) > next)
                next = entry_end(x);
        }
        if (next == b)
            return false;
        b = next;
    }
    return true;
}

/* [b, e) meets no non-usable entry and no reserved range. */
static bool clear_of_claims(const struct memmap *m, const struct pmm_range *res,
                            size_t nres, uint64_t b, uint64_t e)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct memmap_entry *x = &m->e[i];
        if (x->type != MEMMAP_USABLE && x->base < entry_end(x) && x->base < e &&
            b < entry_end(x))
            return false;
    }
    for (size_t i = 0; i < nres; i++)
        if (res[i].base < res[i].end && res[i].base < e && b < res[i].end)
            return false;
    return true;
}

static void check_ranges(const struct pmm_range *r, size_t n, uint64_t usable,
                         uint64_t usable_end)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(r[i].base < r[i].end);
        FUZZ_CHECK(IS_ALIGNED(r[i].base, PAGE_SIZE) && IS_ALIGNED(r[i].end, PAGE_SIZE));
        FUZZ_CHECK(i == 0 || r[i - 1].end <= r[i].base);
        FUZZ_CHECK(r[i].end <= usable_end);
        total += r[i].end - r[i].base;
    }
    FUZZ_CHECK(total <= usable);
}

static void check_boot_info(const uint8_t *buf, size_t len)
{
    FUZZ_CHECK(bi.nmodules <= BOOT_MAX_MODULES);
    FUZZ_CHECK(bi.memmap.n <= MEMMAP_MAX);
    for (size_t i = 0; i < bi.nmodules; i++) {
        FUZZ_CHECK(bi.modules[i].start <= bi.modules[i].end);
        FUZZ_CHECK(strlen(bi.modules[i].cmdline) < len); /* ASan checks the bytes */
    }
    FUZZ_CHECK(strlen(bi.cmdline) <= len && strlen(bi.loader_name) <= len);
    if (bi.acpi_rsdp_ptr) {
        const uint8_t *p = bi.acpi_rsdp_ptr;
        FUZZ_CHECK(p >= buf && p + bi.acpi_rsdp_len <= buf + len);
        FUZZ_CHECK(bi.acpi_rsdp_len >= 20);
    }
}

static void check_memmap(const uint8_t *data, size_t size)
{
    static struct pmm_range res[BOOT_MAX_MODULES + 1], out[MAX_FREE + 1];
    size_t nres = 0;

    res[nres++] = (struct pmm_range){0, MiB};
    for (size_t i = 0; i < bi.nmodules; i++)
        res[nres++] = (struct pmm_range){bi.modules[i].start, bi.modules[i].end};

    uint64_t usable = memmap_usable_bytes(&bi.memmap);
    uint64_t usable_end = memmap_usable_end(&bi.memmap);
    FUZZ_CHECK(usable <= usable_end);

    size_t n = memmap_free_ranges(&bi.memmap, res, nres, out, MAX_FREE);
    FUZZ_CHECK(n <= MAX_FREE);
    check_ranges(out, n, usable, usable_end);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(covered_by_usable(&bi.memmap, out[i].base, out[i].end));
        FUZZ_CHECK(clear_of_claims(&bi.memmap, res, nres, out[i].base, out[i].end));
    }

    /* Carve parameters come from the input's last bytes. */
    uint8_t k = size ? data[size - 1] : 0;
    uint64_t bytes = ((uint64_t)(k & 0x1f) + 1) * PAGE_SIZE * (k & 0x80 ? 512 : 1);
    uint64_t align = PAGE_SIZE << (((k >> 5) & 3) * 3);
    uint64_t below = k & 0x40 ? 4 * GiB : UINT64_MAX;
    uint64_t before = 0, after = 0;
    for (size_t i = 0; i < n; i++)
        before += out[i].end - out[i].base;
    paddr_t pa;
    size_t n2 = n;
    if (memmap_carve(out, &n2, bytes, align, below, &pa) == 0) {
        FUZZ_CHECK(IS_ALIGNED(pa, align) && pa + bytes <= below);
        FUZZ_CHECK(covered_by_usable(&bi.memmap, pa, pa + bytes));
        FUZZ_CHECK(clear_of_claims(&bi.memmap, res, nres, pa, pa + bytes));
        FUZZ_CHECK(n2 + 1 >= n && n2 <= n + 1);
        for (size_t i = 0; i < n2; i++) {
            after += out[i].end - out[i].base;
            FUZZ_CHECK(out[i].end <= pa || pa + bytes <= out[i].base);
        }
        FUZZ_CHECK(after + bytes == before);
        check_ranges(out, n2, usable, usable_end);
    } else {
        FUZZ_CHECK(n2 == n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    uint8_t *buf = malloc(size ? size : 1); /* malloc is 8-aligned or better */

    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    if (multiboot2_parse(buf, size, &bi, err, sizeof err) == 0) {
        check_boot_info(buf, size);
        check_memmap(data, size);
    } else {
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof err);
    }
    free(buf);
    return 0;
}
