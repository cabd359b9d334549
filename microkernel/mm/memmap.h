/* The arithmetic over the physical memory map the firmware reported
 * (lib/memmap_table.h): printing, usable totals, and cutting out reserved
 * ranges to obtain the free ranges that feed the page-frame allocator.
 * Entries may be unsorted, overlapping, zero-length or above 4 GiB. */
#pragma once

#include "lib/memmap_table.h"
#include "lib/types.h"
#include "mm/pmm.h"

/* Print one line per entry, in firmware order:
 * "e820: [mem 0x%016llx-0x%016llx] usable|reserved|ACPI data|ACPI NVS|unusable"
 * (end inclusive; zero-length entries are skipped; unknown types print as
 * "reserved"), then "e820: usable total N KiB" (N = usable bytes / 1024). */
void memmap_print(const struct memmap *m);

/* Bytes of RAM that are usable: the union of usable entries, less any part
 * that a non-usable entry also claims (overlaps are counted once). An entry
 * whose base + len passes 2^64 is clipped there; the top byte of the address
 * space (0xffffffffffffffff) is never counted, as [base, end) cannot
 * express it. */
uint64_t memmap_usable_bytes(const struct memmap *m);

/* Compute the free ranges: usable memory (as in memmap_usable_bytes), page
 * aligned inward, minus each of the `nres` reserved ranges, sorted and
 * non-overlapping. Writes the first `max` ranges to `out` and returns how
 * many there are in all, so a result above `max` says that some did not
 * fit (as snprintf does). */
size_t memmap_free_ranges(const struct memmap *m, const struct pmm_range *reserved,
                          size_t nres, struct pmm_range *out, size_t max);

/* One past the highest usable byte (0 if none). */
uint64_t memmap_usable_end(const struct memmap *m);

/* Remove `bytes` (rounded up to whole pages) from the free ranges r[0..*n),
 * placed as high as possible: the block starts at a multiple of `align`
 * (a power of two, raised to at least PAGE_SIZE) and ends at or below
 * `below`, inside one range. That range shrinks, is removed when used up,
 * or is split in two: the array needs room for *n + 1 elements. The order
 * of the ranges is kept.
 * Returns 0 and sets *out to the block's base, or -MICA_ENOMEM if no range
 * has room. Panics if `align` is not a power of two or `bytes` is 0. */
int memmap_carve(struct pmm_range *r, size_t *n, uint64_t bytes, uint64_t align,
                 uint64_t below, paddr_t *out);
