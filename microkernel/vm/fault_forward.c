/* Turning a CPU exception raised in ring 3 into the end of the task, with
 * a one-line reason a person can act on: which exception, which address and
 * access for a page fault, and where.
 *
 * A page fault in a task with a pager is first offered to the pager: the
 * faulting thread makes a kernel-made call (ipc_kernel.h) with the fault
 * message of mica/syscall.h and stays blocked until the reply. "Resume"
 * returns to ring 3, where the instruction runs again; "kill", a malformed
 * reply or a dead pager ends the task with the usual report plus what the
 * pager said. A write to a present page with the COW mark carries
 * MICA_FAULT_COW, so the pager knows a copy (MICA_SYS_MAP_COW) is wanted.
 *
 * A system call's copy of user memory that faults (vm/usercopy.c) is
 * offered to the pager the same way (task_copy_fault, MICA_FAULT_KERNEL),
 * from the system call's own context after the copy routine has returned,
 * never from inside the trap handler. */
#include <mica/errno.h>
#include <mica/fault_reason.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/user_access.h"
#include "object/endpoint.h"
#include "object/handle.h"
#include "ipc/ipc_kernel.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/fault_forward.h"
#include "inject/inject.h"
#include "vm/user_backtrace.h"

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

static void describe_pf(const struct trap_frame *tf, const struct task *t, uint64_t addr,
                        char *buf, size_t size)
{
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

uint64_t fault_access(const struct task *t, uint64_t addr, uint64_t err)
{
    uint64_t a = pf_fault_access(err);
    if ((err & PF_ERR_P) && (err & PF_ERR_W) && addr < MICA_USER_END &&
        vmm_is_cow(&t->as, ALIGN_DOWN(addr, PAGE_SIZE)))
        a |= MICA_FAULT_COW;
    return a;
}

/* Times one fault is sent again after its pager died holding it: enough for
 * a supervisor's restarts, finite for a pager that drops faults on purpose. */
#define FAULT_SEND_MAX 16

/* Longest chain of callers followed when looking for a pager loop. */
#define PAGER_CHAIN_MAX 32

/* A fault of cur sent to ep could never be answered: every handle that may
 * receive on ep belongs to cur's task or to a task whose thread waits,
 * through a chain of calls, for cur (a task that is its own pager, or two
 * pagers paging each other). Only looked at when no thread is waiting on
 * ep already, so the common case costs one test. */
static bool pager_chain_loops(const struct thread *cur, const struct endpoint *ep)
{
    if (ep->receivers || ep->dead || ep->recv_refs == 0)
        return false; /* answered now, or refused as dead by the call */
    unsigned held = handle_count(&cur->task->handles, ep, MICA_RIGHT_RECV);
    const struct thread *c = cur->caller;
    for (unsigned i = 0; c && i < PAGER_CHAIN_MAX; i++, c = c->caller)
        if (c->task && c->task != cur->task)
            held += handle_count(&c->task->handles, ep, MICA_RIGHT_RECV);
    return held >= ep->recv_refs;
}

/* The fault_msg point: the pager is told a wrong address (one bit of the
 * page number flipped) or a wrong access (one MICA_FAULT_* bit flipped). */
static void corrupt_fault_msg(struct ipc_msg *m)
{
    uint64_t r = inject_rand(INJECT_FAULT_MSG);
    if (r & 1) {
        unsigned bit = PAGE_SHIFT + (unsigned)((r >> 1) % (47 - PAGE_SHIFT));
        inject_report(INJECT_FAULT_MSG, "address 0x%lx sent as 0x%lx (bit %u)",
                      (unsigned long)m->w[0], (unsigned long)(m->w[0] ^ (1ull << bit)), bit);
        m->w[0] ^= 1ull << bit;
    } else {
        unsigned bit = (unsigned)((r >> 1) % 5); /* READ, WRITE, EXEC, PRESENT, COW */
        inject_report(INJECT_FAULT_MSG, "access 0x%lx sent as 0x%lx (bit %u)",
                      (unsigned long)m->w[1], (unsigned long)(m->w[1] ^ (1ull << bit)), bit);
        m->w[1] ^= 1ull << bit;
    }
}

#define FAULT_POINTS (INJECT_BIT(INJECT_FAULT_MSG) | INJECT_BIT(INJECT_FAULT_SPURIOUS))

/* The pager's call with the fault points armed: fault_msg corrupts the
 * message; fault_spurious sends it again once the page is mapped (the
 * pager sees the same fault twice). */
static __attribute__((noinline)) int64_t call_pager_injected(struct thread *cur,
                                                             struct ipc_msg *m,
                                                             struct ipc_msg *reply)
{
    if (INJECT(INJECT_FAULT_MSG, NULL))
        corrupt_fault_msg(m);
    int64_t rc = ipc_kernel_call(cur, cur->task->pager, m, reply);
    if (rc == 0 && MICA_MSG_LABEL(reply->label) == 0 && INJECT(INJECT_FAULT_SPURIOUS, NULL)) {
        inject_report(INJECT_FAULT_SPURIOUS, "fault at 0x%lx sent again after it was resolved",
                      (unsigned long)m->w[0]);
        rc = ipc_kernel_call(cur, cur->task->pager, m, reply);
    }
    return rc;
}

/* Offer the fault at `addr` (MICA_FAULT_* `access`, at `rip`) to the
 * task's pager. Returns true when the thread may resume; otherwise writes
 * what went wrong to buf. */
static bool pager_resolves(struct thread *cur, uint64_t addr, uint64_t access, uint64_t rip,
                           char *buf, size_t size)
{
    struct task *t = cur->task;
    if (task_killed(t)) {
        /* Killed while unwinding: a pager must not keep it in the kernel. */
        ksnprintf(buf, size, "the task was killed");
        return false;
    }
    if (pager_chain_loops(cur, t->pager)) {
        ksnprintf(buf, size, "its pager chain leads back to it (the fault could never be "
                  "answered)");
        return false;
    }
    struct ipc_msg m = {.badge = t->pager_badge, .label = MICA_LABEL_FAULT,
                        .w = {addr, access, rip, cur->id}};
    struct ipc_msg reply;
    int64_t rc;
    for (unsigned sent = 1;; sent++) {
        rc = INJECT_ANY(FAULT_POINTS) ? call_pager_injected(cur, &m, &reply)
                                      : ipc_kernel_call(cur, t->pager, &m, &reply);
        /* The pager died holding the fault (or took another call first),
         * but its endpoint can still be received on: whoever receives there
         * next (a restarted pager) gets the fault again, so the task is not
         * killed for its pager's crash. */
        if (rc != -MICA_EDEAD || task_killed(t) || sent >= FAULT_SEND_MAX || !t->pager ||
            !endpoint_may_receive(t->pager))
            break;
    }
    if (rc == 0 && MICA_MSG_LABEL(reply.label) == 0)
        return true;
    if (task_killed(t))
        ksnprintf(buf, size, "the task was killed while its pager handled the fault");
    else if (rc == -MICA_EDEAD)
        ksnprintf(buf, size, "pager is dead");
    else if (rc < 0)
        ksnprintf(buf, size, "pager sent a malformed reply (%ld)", (long)rc);
    else if (MICA_MSG_LABEL(reply.label) == MICA_FAULT_KILL)
        ksnprintf(buf, size, "pager: %s (%lu)", mica_fault_reason_text(reply.w[0]),
                  (unsigned long)reply.w[0]);
    else
        ksnprintf(buf, size, "pager replied with unknown label 0x%lx",
                  (unsigned long)MICA_MSG_LABEL(reply.label));
    return false;
}

void task_user_exception(struct trap_frame *tf)
{
    struct thread *cur = sched_current();
    KASSERT(trap_from_user(tf), "task_user_exception for a kernel-mode trap");
    KASSERT(cur && cur->task, "exception in ring 3 without a current task");
    char why[160];
    unsigned long rip = (unsigned long)tf->rip;

    switch (tf->vector) {
    case VEC_PF: {
        uint64_t addr = read_cr2(); /* before anything else can fault */
        cur->task->faults++;
        if (cur->task->pager && !(tf->error & PF_ERR_RSVD)) {
            char pager[80];
            KASSERT(tf == cur->utf, "page-fault frame %p is not thread %u's frame %p",
                    (void *)tf, cur->id, (void *)cur->utf);
            if (pager_resolves(cur, addr, fault_access(cur->task, addr, tf->error), tf->rip,
                               pager, sizeof pager))
                return;
            describe_pf(tf, cur->task, addr, why, sizeof why);
            bool first = !task_killed(cur->task);
            task_kill_cause(cur->task, MICA_DEATH_FAULT, 0);
            task_kill(cur->task, "%s; %s", why, pager);
            if (first)
                user_backtrace_print(cur->task, tf->rip, tf->rsp, tf->rbp);
            task_exit_if_killed();
            panic("task_user_exception: killed task resumed");
        }
        describe_pf(tf, cur->task, addr, why, sizeof why);
        break;
    }
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
    bool first = !task_killed(cur->task);
    task_kill_cause(cur->task, MICA_DEATH_FAULT, 0);
    task_kill(cur->task, "%s", why);
    if (first)
        user_backtrace_print(cur->task, tf->rip, tf->rsp, tf->rbp);
    task_exit_if_killed();
    panic("task_user_exception: killed task resumed");
}

int task_copy_fault(uintptr_t addr, uint64_t access)
{
    struct thread *cur = sched_current();
    if (!cur || !cur->task || !cur->task->pager || !cur->utf)
        return -MICA_EFAULT;
    char pager[80];
    if (pager_resolves(cur, addr, access | MICA_FAULT_KERNEL, cur->utf->rip, pager,
                       sizeof pager))
        return 0;
    const char *what = (access & MICA_FAULT_WRITE) ? "write to" : "read from";
    bool first = !task_killed(cur->task);
    task_kill_cause(cur->task, MICA_DEATH_FAULT, 0);
    task_kill(cur->task, "system call's %s user address 0x%lx faulted; %s", what,
              (unsigned long)addr, pager);
    if (first) /* where the program made the call */
        user_backtrace_print(cur->task, cur->utf->rip, cur->utf->rsp, cur->utf->rbp);
    /* The call unwinds through its error path and releases what it holds;
     * the task ends on its way out of the kernel (task_exit_if_killed). */
    return -MICA_EFAULT;
}
