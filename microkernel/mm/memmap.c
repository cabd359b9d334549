/* The physical memory map: storing firmware entries and the interval
 * arithmetic over them. The firmware's list may be unsorted, overlapping
 * and contain zero-length entries, so nothing here trusts its order.
 *
 * All questions are answered by an elementary interval sweep that needs no
 * memory of its own: the entry boundaries split the address space into
 * intervals that every entry either covers whole or misses, and an interval
 * is usable iff some usable entry covers it and no other entry does. Each
 * step finds the next boundary by scanning all entries, O(n^2) overall,
 * which is fine for MEMMAP_MAX entries at boot. */
#include "mm/memmap.h"

#include <mica/errno.h>
#include "lib/console.h"
#include "lib/assert.h"

/* Exclusive end of an entry. A range running past 2^64 is clipped to
 * UINT64_MAX, the largest end a uint64_t can hold. */
static uint64_t entry_end(const struct memmap_entry *e)
{
    if (e->len > UINT64_MAX - e->base)
        return UINT64_MAX;
    return e->base + e->len;
}

/* Smallest entry boundary strictly above `x`; false when there is none. */
static bool next_boundary(const struct memmap *m, uint64_t x, uint64_t *out)
{
    bool found = false;
    uint64_t best = 0;

    for (size_t i = 0; i < m->n; i++) {
        uint64_t b = m->e[i].base, e = entry_end(&m->e[i]);
        if (b >= e)
            continue; /* empty, or clipped to nothing at the top */
        if (b > x && (!found || b < best)) {
            best = b;
            found = true;
        }
        if (e > x && (!found || e < best)) {
            best = e;
            found = true;
        }
    }
    *out = best;
    return found;
}

/* Whether the elementary interval starting at `x` is usable. Entries either
 * cover such an interval whole or miss it, so testing its first byte is
 * enough. */
static bool point_usable(const struct memmap *m, uint64_t x)
{
    bool usable = false;

    for (size_t i = 0; i < m->n; i++) {
        const struct memmap_entry *e = &m->e[i];
        if (e->base > x || x >= entry_end(e))
            continue;
        if (e->type != MEMMAP_USABLE)
            return false; /* any non-usable claim wins */
        usable = true;
    }
    return usable;
}

/* Find the first maximal usable run [*rb, *re) at or above *pos and advance
 * *pos past it. Returns false when no usable memory remains. */
static bool next_usable_run(const struct memmap *m, uint64_t *pos, uint64_t *rb,
                            uint64_t *re)
{
    uint64_t x = *pos, nx;
    bool in_run = false;

    while (next_boundary(m, x, &nx)) {
        bool u = point_usable(m, x);
        if (u && !in_run) {
            *rb = x;
            in_run = true;
        } else if (!u && in_run) {
            break;
        }
        x = nx;
    }
    if (!in_run)
        return false;
    *re = x;
    *pos = x;
    return true;
}

uint64_t memmap_usable_bytes(const struct memmap *m)
{
    uint64_t pos = 0, b, e, total = 0;

    while (next_usable_run(m, &pos, &b, &e))
        total += e - b;
    return total;
}

uint64_t memmap_usable_end(const struct memmap *m)
{
    uint64_t pos = 0, b, e, end = 0;

    while (next_usable_run(m, &pos, &b, &e))
        end = e;
    return end;
}

/* Shrink [b, e) to the whole pages inside it; false if none remain. */
static bool page_inward(uint64_t b, uint64_t e, uint64_t *ab, uint64_t *ae)
{
    if (b > UINT64_MAX - PAGE_MASK)
        return false; /* rounding up would wrap */
    *ab = ALIGN_UP(b, PAGE_SIZE);
    *ae = ALIGN_DOWN(e, PAGE_SIZE);
    return *ab < *ae;
}

/* End of the reserved range containing `x`, or x itself if none does.
 * Following the result repeatedly walks through chained reservations. */
static uint64_t skip_reserved(const struct pmm_range *res, size_t nres, uint64_t x)
{
    for (size_t i = 0; i < nres; i++)
        if (res[i].base <= x && x < res[i].end)
            return res[i].end;
    return x;
}

/* Lowest reserved base strictly above `x`, capped at `limit`. */
static uint64_t next_reserved(const struct pmm_range *res, size_t nres, uint64_t x,
                              uint64_t limit)
{
    for (size_t i = 0; i < nres; i++)
        if (res[i].base < res[i].end && res[i].base > x && res[i].base < limit)
            limit = res[i].base;
    return limit;
}

size_t memmap_free_ranges(const struct memmap *m, const struct pmm_range *reserved,
                          size_t nres, struct pmm_range *out, size_t max)
{
    uint64_t pos = 0, rb, re;
    size_t count = 0;

    while (next_usable_run(m, &pos, &rb, &re)) {
        uint64_t x = rb;
        while (x < re) {
            uint64_t y = skip_reserved(reserved, nres, x);
            if (y != x) {
                x = y;
                continue;
            }
            y = next_reserved(reserved, nres, x, re);
            uint64_t ab, ae;
            if (page_inward(x, y, &ab, &ae)) {
                if (count < max) {
                    out[count].base = ab;
                    out[count].end = ae;
                }
                count++;
            }
            x = y;
        }
    }
    return count;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case MEMMAP_USABLE: return "usable";
    case MEMMAP_ACPI_DATA: return "ACPI data";
    case MEMMAP_ACPI_NVS: return "ACPI NVS";
    case MEMMAP_UNUSABLE: return "unusable";
    default: return "reserved";
    }
}

void memmap_print(const struct memmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct memmap_entry *e = &m->e[i];
        if (e->len == 0)
            continue;
        /* Inclusive end; an entry past 2^64 ends at the last byte. */
        uint64_t last = e->len - 1 > UINT64_MAX - e->base ? UINT64_MAX
                                                           : e->base + e->len - 1;
        kprintf("e820: [mem 0x%016llx-0x%016llx] %s\n", (unsigned long long)e->base,
                (unsigned long long)last, type_name(e->type));
    }
    kprintf("e820: usable total %llu KiB\n",
            (unsigned long long)(memmap_usable_bytes(m) / KiB));
}

/* Highest aligned base for `bytes` inside r, ending at or below `below`;
 * false if it does not fit. */
static bool carve_fit(const struct pmm_range *r, uint64_t bytes, uint64_t align,
                      uint64_t below, uint64_t *base)
{
    uint64_t top = MIN(r->end, below);
    if (r->base >= top || top - r->base < bytes)
        return false;
    uint64_t b = ALIGN_DOWN(top - bytes, align);
    if (b < r->base)
        return false;
    *base = b;
    return true;
}

int memmap_carve(struct pmm_range *r, size_t *n, uint64_t bytes, uint64_t align,
                 uint64_t below, paddr_t *out)
{
    KASSERT(bytes != 0, "memmap_carve of 0 bytes");
    KASSERT(align != 0 && (align & (align - 1)) == 0,
            "memmap_carve alignment 0x%llx is not a power of two",
            (unsigned long long)align);
    if (bytes > UINT64_MAX - PAGE_MASK)
        return -MICA_ENOMEM;
    bytes = ALIGN_UP(bytes, PAGE_SIZE);
    align = MAX(align, PAGE_SIZE);

    size_t best = *n;
    uint64_t best_base = 0;
    for (size_t i = 0; i < *n; i++) {
        uint64_t b;
        if (carve_fit(&r[i], bytes, align, below, &b) && (best == *n || b > best_base)) {
            best = i;
            best_base = b;
        }
    }
    if (best == *n)
        return -MICA_ENOMEM;

    uint64_t end = best_base + bytes;
    if (best_base == r[best].base && end == r[best].end) {
        for (size_t i = best; i + 1 < *n; i++)
            r[i] = r[i + 1];
        (*n)--;
    } else if (best_base == r[best].base) {
        r[best].base = end;
    } else if (end == r[best].end) {
        r[best].end = best_base;
    } else {
        for (size_t i = *n; i > best + 1; i--)
            r[i] = r[i - 1];
        r[best + 1].base = end;
        r[best + 1].end = r[best].end;
        r[best].end = best_base;
        (*n)++;
    }
    *out = best_base;
    return 0;
}
