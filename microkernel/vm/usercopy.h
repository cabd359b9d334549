/* Checked access to user memory. Every pointer from ring 3 is untrusted:
 * a range must lie wholly in the user half (overflow-safe), and the copies
 * run under the exception-fixup table, so a fault during a copy returns
 * -MICA_EFAULT instead of panicking. With SMAP the copies open user access
 * (stac/clac) only for their own duration. */
#pragma once

#include "lib/types.h"

/* True if [uptr, uptr + len) lies in the user half without wrapping.
 * len 0 is valid for any uptr below the end of the user half. */
bool user_range_ok(uintptr_t uptr, size_t len);

/* Copy n bytes from user address `usrc` in the current address space.
 * Returns 0 or -MICA_EFAULT (bad range or a fault; dst may be partly
 * written). */
int copy_from_user(void *dst, uintptr_t usrc, size_t n);

/* Copy n bytes to user address `udst` in the current address space.
 * Returns 0 or -MICA_EFAULT. */
int copy_to_user(uintptr_t udst, const void *src, size_t n);

/* Copy a NUL-terminated string of at most max-1 characters from user space
 * into dst[max]. Returns its length, -MICA_EFAULT, or -MICA_E2BIG when no
 * NUL is found within max bytes. */
long copy_string_from_user(char *dst, uintptr_t usrc, size_t max);

/* Called by the trap handler for a fault in kernel mode: if rip is inside a
 * copy routine, redirect the frame to its fixup and return true. */
struct trap_frame;
bool usercopy_fixup(struct trap_frame *tf);
