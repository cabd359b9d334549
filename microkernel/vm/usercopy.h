/* Checked copies to and from user memory. Every pointer from ring 3 is
 * untrusted: the range check and the fault-tolerant copy loops are arch's
 * (arch/x86_64/user_access.h); these copies add the retry through the
 * task's pager when a copy faults on a page the pager can provide. */
#pragma once

#include "arch/x86_64/user_access.h"
#include "lib/types.h"

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
