/* The arch part of checked access to user memory (user_access.h): the range
 * check, the fixup hook trap_dispatch calls for kernel faults, and turning
 * on SMEP/SMAP, which is what makes the copy loops of usercopy.asm the only
 * way into user memory. The retry through a pager is above, in
 * vm/usercopy.c. */
#include "arch/x86_64/user_access.h"

#include <mica/syscall.h>

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/extable.h"
#include "arch/x86_64/trap.h"
#include "lib/console.h"

/* Nonzero once CR4.SMAP is on: the copy loops then bracket their user
 * accesses with stac/clac (read by usercopy.asm, hence not static). */
uint8_t usercopy_smap;

bool user_range_ok(uintptr_t uptr, size_t len)
{
    /* Written so that nothing can overflow: the first test bounds uptr,
     * the second compares len with the room left above it. */
    return uptr < MICA_USER_END && len <= MICA_USER_END - uptr;
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
    /* No task may use x87, MMX, SSE or AVX: the kernel keeps no FPU or
     * vector state across switches, so their registers would pass from
     * one task to the next (a channel between tasks, and each other's
     * values clobbered). Firmware leaves them as it likes (OVMF turns SSE
     * on, BIOS boots leave x87 on), so the kernel sets the policy itself:
     * CR0.EM makes x87 instructions #NM and MMX and SSE ones #UD, and
     * without OSFXSR, OSXMMEXCPT and OSXSAVE, SSE, XSAVE and VEX-encoded
     * instructions are #UD too. Either kills the task with a report. The
     * kernel and libsys are built without them (-mgeneral-regs-only). */
    cr4 &= ~(CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE);
    write_cr4(cr4);
    write_cr0((read_cr0() | CR0_EM) & ~(CR0_MP | CR0_TS));
    usercopy_smap = cpu_features.smap;
    kprintf("cpu: SMEP %s, SMAP %s; x87, SSE and AVX off (no FPU state is kept)\n",
            cpu_features.smep ? "on" : "off (not supported)",
            cpu_features.smap ? "on" : "off (not supported)");
}
