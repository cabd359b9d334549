/* Checked access to user memory (kernel/usercopy.h): range checks, the
 * wrappers around the fault-tolerant copy loops of
 * arch/x86_64/usercopy.asm, the fixup hook trap_dispatch calls for kernel
 * faults, and turning on SMEP/SMAP, which is what makes the copy loops the
 * only way into user memory. */
#include "kernel/usercopy.h"

#include <mica/errno.h>
#include <mica/syscall.h>

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/extable.h"
#include "arch/x86_64/trap.h"
#include "kernel/console.h"
#include "lib/assert.h"
#include "mm/vmm.h"

/* usercopy.asm */
int usercopy_bytes(void *dst, const void *src, size_t n);
int64_t usercopy_string(char *dst, const char *src, size_t max);

/* Nonzero once CR4.SMAP is on: the copy loops then bracket their user
 * accesses with stac/clac (read by usercopy.asm, hence not static). */
uint8_t usercopy_smap;

STATIC_ASSERT(MICA_USER_END == USER_SPACE_END, "the ABI and the page tables disagree on the user half");

bool user_range_ok(uintptr_t uptr, size_t len)
{
    /* Written so that nothing can overflow: the first test bounds uptr,
     * the second compares len with the room left above it. */
    return uptr < MICA_USER_END && len <= MICA_USER_END - uptr;
}

int copy_from_user(void *dst, uintptr_t usrc, size_t n)
{
    if (!user_range_ok(usrc, n))
        return -MICA_EFAULT;
    if (n == 0)
        return 0;
    return usercopy_bytes(dst, (const void *)usrc, n) ? -MICA_EFAULT : 0;
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
    if (!user_range_ok(udst, n))
        return -MICA_EFAULT;
    if (n == 0)
        return 0;
    return usercopy_bytes((void *)udst, src, n) ? -MICA_EFAULT : 0;
}

long copy_string_from_user(char *dst, uintptr_t usrc, size_t max)
{
    if (max == 0)
        return -MICA_E2BIG;
    if (usrc >= MICA_USER_END)
        return -MICA_EFAULT;

    /* The string may end well before max bytes, so only the bytes up to the
     * end of the user half are off limits, not the whole [usrc, usrc+max). */
    size_t room = MICA_USER_END - usrc;
    size_t limit = max < room ? max : room;
    int64_t len = usercopy_string(dst, (const char *)usrc, limit);
    if (len < 0)
        return -MICA_EFAULT;
    if ((size_t)len < limit)
        return (long)len;
    if (limit < max)
        return -MICA_EFAULT; /* ran into the end of the user half */
    dst[max - 1] = '\0';     /* callers may print what they got */
    return -MICA_E2BIG;
}

bool usercopy_fixup(struct trap_frame *tf)
{
    if (trap_from_user(tf) || (tf->vector != VEC_PF && tf->vector != VEC_GP))
        return false;
    uint64_t fixup = extable_lookup(tf->rip);
    if (fixup == 0)
        return false;
    /* A copy routine also touches the kernel buffer it was given. A fault
     * there is a bug in the caller, not a bad user pointer: let it panic. */
    if (tf->vector == VEC_PF && read_cr2() >= MICA_USER_END)
        return false;
    tf->rip = fixup;
    return true;
}

void arch_user_protection_init(void)
{
    uint64_t cr4 = read_cr4();

    if (cpu_features.smep)
        cr4 |= CR4_SMEP;
    if (cpu_features.smap)
        cr4 |= CR4_SMAP;
    write_cr4(cr4);
    usercopy_smap = cpu_features.smap;
    kprintf("cpu: SMEP %s, SMAP %s\n", cpu_features.smep ? "on" : "off (not supported)",
            cpu_features.smap ? "on" : "off (not supported)");
}
