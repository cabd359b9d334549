/* The fault-injection control object: one kernel object, reached through
 * handles of type HANDLE_INJECT, through which a ring-3 tool arms, disarms
 * and lists the injection points (inject/inject.h) at run time. Only init
 * can open it (MICA_START_MACHINE, as for shutdown); init hands copies to
 * the programs boot/boot.cfg names with an inject: grant. Any other handle
 * gets -MICA_EPERM, so a task cannot tell a missing handle from a
 * forbidden one. */
#include <mica/errno.h>

#include "inject/inject.h"
#include "kernel/syscall.h"
#include "lib/string.h"
#include "object/handle.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/usercopy.h"

/* The object itself: its identity is all a handle needs. */
static char inject_control;

/* () -> handle (MICA_RIGHT_GRANT, so init may pass it on). */
int64_t sys_inject_open(struct trap_frame *tf)
{
    (void)tf;
    struct task *t = sched_current()->task;
    if (!(t->start_flags & MICA_START_MACHINE))
        return -MICA_EPERM;
    return handle_install(&t->handles, HANDLE_INJECT, &inject_control, MICA_RIGHT_GRANT, 0);
}

static int64_t ctl_arm(uintptr_t spec, uint64_t len)
{
    char buf[MICA_INJECT_SPEC_MAX];
    if (len > sizeof buf)
        return -MICA_E2BIG;
    if (copy_from_user(buf, spec, len) < 0)
        return -MICA_EFAULT;
    int p = inject_arm(buf, len, "inject");
    return p < 0 ? -MICA_EINVAL : p;
}

static int64_t ctl_disarm(uint64_t p)
{
    if (p == MICA_INJECT_ALL) {
        for (unsigned i = 0; i < INJECT_COUNT; i++)
            inject_disarm((enum inject_point)i);
        return 0;
    }
    if (p >= INJECT_COUNT)
        return -MICA_EINVAL;
    inject_disarm((enum inject_point)p);
    return 0;
}

static int64_t ctl_list(uintptr_t buf, uint64_t n)
{
    for (unsigned i = 0; i < INJECT_COUNT && i < n; i++) {
        struct inject_info in;
        inject_get_info((enum inject_point)i, &in);
        struct mica_inject_point e = {.armed = in.armed, .calls = in.calls, .fired = in.fired,
                                      .times_left = in.times_left, .last_id = in.last_id};
        const char *name = inject_name(i);
        memcpy(e.name, name, MIN(strlen(name), sizeof e.name - 1));
        if (copy_to_user(buf + i * sizeof e, &e, sizeof e) < 0)
            return -MICA_EFAULT;
    }
    return INJECT_COUNT;
}

/* (h, op, a, b): the MICA_INJECT_* operations of mica/syscall.h. */
int64_t sys_inject_ctl(struct trap_frame *tf)
{
    int err;
    if (!handle_lookup(&sched_current()->task->handles, tf->rdi, HANDLE_INJECT, 0, &err))
        return -MICA_EPERM;
    switch (tf->rsi) {
    case MICA_INJECT_ARM:
        return ctl_arm(tf->rdx, tf->r10);
    case MICA_INJECT_DISARM:
        return ctl_disarm(tf->rdx);
    case MICA_INJECT_LIST:
        return ctl_list(tf->rdx, tf->r10);
    case MICA_INJECT_SEED:
        inject_set_seed(tf->rdx);
        return 0;
    default:
        return -MICA_EINVAL;
    }
}
