/* In-kernel tests of the memory map arithmetic over synthetic maps: they
 * check that the code behaves the same built for the kernel (freestanding,
 * kernel code model) as on the host. The firmware's real map is tested
 * elsewhere. */
#include <mica/errno.h>
#include "mm/memmap.h"
#include "test/ktest.h"

/* Static: a struct memmap is several KiB, too much for a kernel stack. */
static struct memmap test_map;

static void build_map(void)
{
    test_map.n = 0;
    /* Unsorted and overlapping on purpose, like real firmware tables. */
    memmap_add(&test_map, 0x100000, 0x7ee0000, MEMMAP_USABLE);
    memmap_add(&test_map, 0x0, 0x9fc00, MEMMAP_USABLE);
    memmap_add(&test_map, 0x9fc00, 0x400, MEMMAP_RESERVED);
    memmap_add(&test_map, 0x400000, 0x1000, MEMMAP_ACPI_NVS);
    memmap_add(&test_map, 0x500000, 0, MEMMAP_RESERVED);
    memmap_add(&test_map, 0x100000000ULL, 0x40000000, MEMMAP_USABLE);
}

KTEST(memmap_free_ranges_exclude_reserved)
{
    struct pmm_range res[] = {{0, 0x100000}, {0x200000, 0x280800}};
    struct pmm_range out[8];

    build_map();
    KEXPECT_EQ(t, memmap_usable_bytes(&test_map), 0x9fc00 + 0x7ee0000 - 0x1000 + 0x40000000);
    KEXPECT_EQ(t, memmap_usable_end(&test_map), 0x140000000ULL);

    size_t n = memmap_free_ranges(&test_map, res, 2, out, 8);
    KREQUIRE(t, n == 4);
    KEXPECT_EQ(t, out[0].base, 0x100000);
    KEXPECT_EQ(t, out[0].end, 0x200000);
    KEXPECT_EQ(t, out[1].base, 0x281000); /* reservation end rounded up */
    KEXPECT_EQ(t, out[1].end, 0x400000);
    KEXPECT_EQ(t, out[2].base, 0x401000);
    KEXPECT_EQ(t, out[2].end, 0x7fe0000);
    KEXPECT_EQ(t, out[3].base, 0x100000000ULL);
    KEXPECT_EQ(t, out[3].end, 0x140000000ULL);
}

KTEST(memmap_carve_takes_highest_below_limit)
{
    struct pmm_range r[4] = {{0x100000, 0x400000}, {0x401000, 0x800000},
                             {0x100000000ULL, 0x140000000ULL}};
    size_t n = 3;
    paddr_t pa;

    /* Below 4 GiB the block comes from the top of the second range. */
    KEXPECT_EQ(t, memmap_carve(r, &n, 0x10000, 0x10000, 0x100000000ULL, &pa), 0);
    KEXPECT_EQ(t, pa, 0x7f0000);
    KEXPECT_EQ(t, n, 3);
    KEXPECT_EQ(t, r[1].end, 0x7f0000);

    KEXPECT_EQ(t, memmap_carve(r, &n, 0x1000000, PAGE_SIZE, 0x100000000ULL, &pa),
               -MICA_ENOMEM);
    KEXPECT_EQ(t, n, 3);
}
