/* The arch part of access to user memory. Every pointer from ring 3 is
 * untrusted: a range must lie wholly in the user half (overflow-safe), and
 * the copy loops (usercopy.asm) run under the exception-fixup table, so a
 * fault during a copy returns an error instead of panicking. With SMAP the
 * loops open user access (stac/clac) only for their own duration. Callers
 * normally use the copies of vm/usercopy.h, which add the pager retry. */
#pragma once

#include <mica/syscall.h>

#include "arch/x86_64/trap.h"
#include "lib/types.h"

/* True if [uptr, uptr + len) lies in the user half without wrapping.
 * len 0 is valid for any uptr below the end of the user half. */
bool user_range_ok(uintptr_t uptr, size_t len);

/* Copy n bytes between kernel and user memory in the current address space
 * (usercopy.asm; no range check). Returns 0, or nonzero if an access
 * faulted (the bytes before the fault were copied). */
int usercopy_bytes(void *dst, const void *src, size_t n);

/* Copy a NUL-terminated string of at most max bytes from user memory
 * (usercopy.asm; no range check). Returns its length without the NUL (max
 * if none was found), or a negative value if an access faulted. */
int64_t usercopy_string(char *dst, const char *src, size_t max);

/* Called by the trap handler for a fault in kernel mode: if rip is inside a
 * copy routine, redirect the frame to its fixup and return true. */
bool usercopy_fixup(struct trap_frame *tf);

/* The MICA_FAULT_* access bits (EXEC, WRITE or READ, and PRESENT) of a
 * page fault with #PF error code `err`; MICA_FAULT_COW is for the caller
 * to add, since only the page tables know it. */
static inline uint64_t pf_fault_access(uint64_t err)
{
    uint64_t a = (err & PF_ERR_I) ? MICA_FAULT_EXEC
                 : (err & PF_ERR_W) ? MICA_FAULT_WRITE
                                    : MICA_FAULT_READ;
    if (err & PF_ERR_P)
        a |= MICA_FAULT_PRESENT;
    return a;
}
