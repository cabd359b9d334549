/* What tools/mksyms must make of tests/host/ksyms_fixture.nm: its text
 * symbols (t/T only), sorted, one per address (a global name beats a local
 * one, otherwise the first listed wins). Shared by the host tests that link
 * the generated fixture table. */
#pragma once

#include <stdint.h>

struct fixture_sym {
    uint64_t addr;
    const char *name;
};

static const struct fixture_sym fixture_syms[] = {
    {0xffffffff80100000ull, "_start"},       /* beats the local boot_entry32 */
    {0xffffffff80100040ull, "boot_long_mode"},
    {0xffffffff80101000ull, "kmain"},        /* beats kmain_local_alias */
    {0xffffffff80101050ull, "out_of_order_fn"},
    {0xffffffff80101080ull, "kmain.cold"},
    {0xffffffff80101100ull, "ksyms_lookup"}, /* first of two globals */
    {0xffffffff80101180ull, "helper.isra.0"},
    {0xffffffff80102000ull, "trap_common"},
    {0xffffffff80102100ull, "__text_end"},
};

#define FIXTURE_COUNT (sizeof fixture_syms / sizeof fixture_syms[0])
