/* The one table of texts for the MICA_FAULT_REASON_* codes (mica/syscall.h)
 * that a pager gives with a MICA_FAULT_KILL reply: the kernel's kill report
 * and the pager's decision lines both print them, so the two always say the
 * same thing. Header-only, freestanding: the kernel includes it too. */
#pragma once

#include <stdint.h>
#include <mica/syscall.h>

/* The text of reason `code`; "unknown reason" for a code not listed
 * (any pager may send any number). Never NULL. */
static inline const char *mica_fault_reason_text(uint64_t code)
{
    switch (code) {
    case MICA_FAULT_REASON_NO_REGION:
        return "no region at this address";
    case MICA_FAULT_REASON_ACCESS:
        return "the region forbids this access";
    case MICA_FAULT_REASON_NO_MEMORY:
        return "out of memory";
    case MICA_FAULT_REASON_UNKNOWN:
        return "the pager does not know this task";
    case MICA_FAULT_REASON_GUARD:
        return "stack guard page hit";
    case MICA_FAULT_REASON_STACK:
        return "the stack would grow past its limit";
    default:
        return "unknown reason";
    }
}
