/* Turning a CPU exception raised in ring 3 into the end of the task, with
 * a one-line reason a person can act on: which exception, which address and
 * access for a page fault, and where. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "task/sched.h"
#include "task/task.h"

/* Why a present page refused the access, from the task's own page tables. */
static const char *protection_cause(const struct task *t, uint64_t addr, uint64_t err)
{
    unsigned prot = 0;
    if (addr >= MICA_USER_END || vmm_translate(&t->as, addr, NULL, &prot) < 0 ||
        !(prot & VM_USER))
        return "protection violation, kernel-only page";
    if ((err & PF_ERR_W) && !(prot & VM_WRITE))
        return "protection violation, read-only page";
    if ((err & PF_ERR_I) && !(prot & VM_EXEC))
        return "protection violation, no-execute page";
    return "protection violation";
}

static void describe_pf(const struct trap_frame *tf, const struct task *t, char *buf,
                        size_t size)
{
    uint64_t addr = read_cr2();
    const char *access = (tf->error & PF_ERR_I) ? "instruction fetch from"
                         : (tf->error & PF_ERR_W) ? "write to"
                                                  : "read from";
    const char *cause;
    if (tf->error & PF_ERR_RSVD)
        cause = "reserved bit set in a page-table entry";
    else if (!(tf->error & PF_ERR_P))
        cause = "page not present";
    else
        cause = protection_cause(t, addr, tf->error);
    ksnprintf(buf, size, "#PF %s 0x%lx (%s) at rip 0x%lx", access, (unsigned long)addr, cause,
              (unsigned long)tf->rip);
}

void task_user_exception(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    KASSERT(trap_from_user(tf), "task_user_exception for a kernel-mode trap");
    KASSERT(cur && cur->task, "exception in ring 3 without a current task");
    char why[160];
    unsigned long rip = (unsigned long)tf->rip;

    switch (tf->vector) {
    case VEC_PF:
        describe_pf(tf, cur->task, why, sizeof why);
        break;
    case VEC_GP:
        if (tf->error)
            ksnprintf(why, sizeof why, "#GP general protection (selector error 0x%lx) at rip 0x%lx",
                      (unsigned long)tf->error, rip);
        else
            ksnprintf(why, sizeof why,
                      "#GP general protection at rip 0x%lx (privileged instruction or "
                      "non-canonical address)", rip);
        break;
    default:
        ksnprintf(why, sizeof why, "%s at rip 0x%lx", trap_vector_name((unsigned)tf->vector), rip);
        break;
    }
    task_kill(cur->task, "%s", why);
    panic("task_user_exception: killed task resumed");
}
