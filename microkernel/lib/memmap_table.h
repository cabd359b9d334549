/* The physical memory map as the firmware reported it (E820 types): a
 * bounded table of (base, length, type) entries, in firmware order. Plain
 * data, filled by the boot information parser (boot/) and read by the
 * memory core (mm/memmap.h), so that neither includes the other. Entries
 * may be unsorted, overlapping, zero-length or above 4 GiB. */
#pragma once

#include <mica/errno.h>

#include "lib/types.h"

/* Entries a map holds. Firmware maps have tens of entries; one with more
 * than this fails the boot with a message naming the limit (a dropped
 * entry could be lost RAM, or a reserved range then used as RAM). */
#define MEMMAP_MAX 512

enum memmap_type {
    MEMMAP_USABLE = 1,
    MEMMAP_RESERVED = 2,
    MEMMAP_ACPI_DATA = 3,
    MEMMAP_ACPI_NVS = 4,
    MEMMAP_UNUSABLE = 5,
};

struct memmap_entry {
    uint64_t base;
    uint64_t len;
    uint32_t type; /* enum memmap_type; unknown values are treated as reserved */
};

struct memmap {
    size_t n;
    struct memmap_entry e[MEMMAP_MAX];
};

/* Append an entry (kept as given, in firmware order). Returns 0, or
 * -MICA_ENOSPC when the map already holds MEMMAP_MAX entries (nothing added). */
static inline int memmap_add(struct memmap *m, uint64_t base, uint64_t len, uint32_t type)
{
    if (m->n >= MEMMAP_MAX)
        return -MICA_ENOSPC;
    m->e[m->n].base = base;
    m->e[m->n].len = len;
    m->e[m->n].type = type;
    m->n++;
    return 0;
}
