/* Error codes shared by the kernel and user space. Functions return 0 or a
 * positive result on success and the negated code on failure (-MICA_ENOMEM). */
#pragma once

#define MICA_OK       0
#define MICA_ENOMEM   1  /* out of memory (frames, heap or page tables) */
#define MICA_EINVAL   2  /* invalid argument (misaligned, out of range, bad flags) */
#define MICA_EEXIST   3  /* already exists (e.g. a mapping at that address) */
#define MICA_ENOENT   4  /* not found (e.g. no mapping at that address) */
#define MICA_EFAULT   5  /* bad user pointer */
#define MICA_EPERM    6  /* operation not permitted */
#define MICA_EBADH    7  /* bad handle */
#define MICA_ERANGE   8  /* value out of range */
#define MICA_EAGAIN   9  /* would block (non-blocking IPC found no partner) */
#define MICA_EDEAD    10 /* the partner, endpoint or task died */
#define MICA_ENOSYS   11 /* no such system call */
#define MICA_ENOEXEC  12 /* not a valid ELF64 executable */
#define MICA_E2BIG    13 /* too long (message buffer, argument string) */
#define MICA_ENOSPC   14 /* a table is full (handles, tasks) */
