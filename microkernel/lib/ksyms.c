/* Address-to-name lookup over the generated symbol table (see ksyms.h). */
#include "lib/ksyms.h"

/* Empty table for the first link pass; the generated ksyms.S of the second
 * pass defines the same names strongly and replaces these. Defined in
 * assembler rather than C so the compiler cannot see the one-element
 * defaults and conclude that any index but 0 is out of bounds. */
__asm__(".pushsection .rodata.ksyms, \"a\"\n"
        ".balign 8\n"
        ".weak ksyms_count, ksyms_addrs, ksyms_names, ksyms_strings\n"
        "ksyms_count:\n"
        ".quad 0\n"
        "ksyms_addrs:\n"
        "ksyms_names:\n"
        "ksyms_strings:\n"
        ".byte 0\n"
        ".popsection");

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
    uint64_t count = ksyms_count;

    if (offset)
        *offset = 0;
    if (count == 0 || addr < ksyms_addrs[0])
        return NULL;

    /* Invariant: ksyms_addrs[lo] <= addr, and addr < ksyms_addrs[hi] (hi ==
     * count stands for +infinity). */
    uint64_t lo = 0, hi = count;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ksyms_addrs[mid] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (addr - ksyms_addrs[lo] > KSYMS_MAX_OFFSET)
        return NULL;
    if (offset)
        *offset = addr - ksyms_addrs[lo];
    return &ksyms_strings[ksyms_names[lo]];
}
