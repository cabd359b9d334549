/* System-call dispatch and the small system calls that belong to no
 * subsystem: null, debug output, exit, yield, information and shutdown. */
#include "kernel/syscall.h"
#include "kernel/introspect.h"
#include "ipc/syscalls.h"
#include "object/syscalls.h"
#include "vm/syscalls.h"
#include "mm/mm_usage.h"

#include <mica/errno.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/timer.h"
#include "kernel/boot_state.h"
#include "lib/console.h"
#include "arch/x86_64/machine.h"
#include "vm/usercopy.h"
#include "lib/assert.h"
#include "mm/kheap.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "object/sched.h"
#include "object/task.h"
#include "vm/frame_quota.h"
#include "vm/remote_paging.h"
#include "kernel/selftest.h"
#include "object/preempt.h"
#include "inject/inject.h"
#include "kernel/self_check.h"

#define DEBUG_WRITE_MAX   (64 * KiB) /* longer writes are cut to this */
#define DEBUG_WRITE_CHUNK 256        /* bytes copied per step, on the kernel stack */

static const syscall_fn syscall_table[MICA_SYS_COUNT] = {
    [MICA_SYS_NULL] = sys_null,
    [MICA_SYS_DEBUG_WRITE] = sys_debug_write,
    [MICA_SYS_EXIT] = sys_exit,
    [MICA_SYS_YIELD] = sys_yield,
    [MICA_SYS_IPC_SEND] = sys_ipc_send,
    [MICA_SYS_IPC_RECV] = sys_ipc_recv,
    [MICA_SYS_IPC_CALL] = sys_ipc_call,
    [MICA_SYS_IPC_REPLY] = sys_ipc_reply,
    [MICA_SYS_IPC_REPLY_RECV] = sys_ipc_reply_recv,
    [MICA_SYS_ENDPOINT_CREATE] = sys_endpoint_create,
    [MICA_SYS_HANDLE_MINT] = sys_handle_mint,
    [MICA_SYS_HANDLE_CLOSE] = sys_handle_close,
    [MICA_SYS_MEM_MAP] = sys_mem_map,
    [MICA_SYS_MEM_UNMAP] = sys_mem_unmap,
    [MICA_SYS_TASK_WAIT] = sys_task_wait,
    [MICA_SYS_SET_IPC_BUFFER] = sys_set_ipc_buffer,
    [MICA_SYS_SHUTDOWN] = sys_shutdown,
    [MICA_SYS_INFO] = sys_info,
    [MICA_SYS_TASK_SET_PAGER] = sys_task_set_pager,
    [MICA_SYS_MAP_ANON] = sys_map_anon,
    [MICA_SYS_UNMAP] = sys_unmap,
    [MICA_SYS_PROTECT] = sys_protect,
    [MICA_SYS_MAP_SHARE] = sys_map_share,
    [MICA_SYS_MAP_COW] = sys_map_cow,
    [MICA_SYS_TASK_FORK] = sys_task_fork,
    [MICA_SYS_SET_FRAME_QUOTA] = sys_set_frame_quota,
    [MICA_SYS_TASK_KILL] = sys_task_kill,
    [MICA_SYS_TASK_CREATE] = sys_task_create,
    [MICA_SYS_TASK_WRITE] = sys_task_write,
    [MICA_SYS_TASK_START] = sys_task_start,
    [MICA_SYS_INJECT_OPEN] = sys_inject_open,
    [MICA_SYS_INJECT_CTL] = sys_inject_ctl,
    [MICA_SYS_TASK_NOTIFY] = sys_task_notify,
    [MICA_SYS_MAP_ALIAS] = sys_map_alias,
    [MICA_SYS_CONSOLE_READ] = sys_console_read,
    [MICA_SYS_TASK_LIST] = sys_task_list,
    [MICA_SYS_TASK_INFO] = sys_task_info,
    [MICA_SYS_ENDPOINT_SERVER] = sys_endpoint_server,
    [MICA_SYS_MAP_REPLY_RECV] = sys_map_reply_recv,
    [MICA_SYS_TASK_LOAD] = sys_task_load,
};

void syscall_dispatch(struct trap_frame *tf)
{
    /* IPC writes a blocked partner's registers through thread.utf, so the
     * frame the entry built must be that one (the kernel stack top is
     * always the running thread's: sched.c sets it at every switch). */
    KASSERT(tf == sched_current()->utf, "syscall frame %p is not the thread's frame %p",
            (void *)tf, (void *)sched_current()->utf);
    ASSERT_KERNEL_AC_CLEAR("syscall_dispatch"); /* FMASK clears it */

    /* A dead thread parked by the scheduler is freed when the next thread
     * resumes (sched.c, switch.asm), not here: system calls pay nothing.
     * A bare number (no flag bits), the common case, takes one compare. */
    uint64_t rax = tf->rax;
    this_cpu()->syscalls++; /* for fuzzers and campaigns: one add */
    syscall_fn fn;
    int64_t rc;
    if (likely(rax < MICA_SYS_COUNT) && likely((fn = syscall_table[rax]) != NULL)) {
        rc = fn(tf);
    } else {
        uint64_t nr = rax & MICA_SYS_NUMBER_MASK;
        if (rax & ~(uint64_t)(MICA_SYS_NUMBER_MASK | MICA_SYS_FLAG_NONBLOCK))
            rc = -MICA_EINVAL; /* unknown flag bits */
        else if (nr >= MICA_SYS_COUNT || (fn = syscall_table[nr]) == NULL)
            rc = -MICA_ENOSYS;
        else
            rc = fn(tf);
    }
    tf->rax = (uint64_t)rc;
    /* A kill during the call (a pager's answer to a copy fault, another
     * task's MICA_SYS_TASK_KILL) let the call unwind; the task ends now.
     * The test is inline: every system call pays three loads and a branch. */
    if (unlikely(task_killed(sched_current()->task)))
        task_exit_if_killed();
}

int64_t sys_null(struct trap_frame *tf)
{
    (void)tf;
    return 0;
}

/* (buf, len) -> bytes written (len, cut to DEBUG_WRITE_MAX). */
int64_t sys_debug_write(struct trap_frame *tf)
{
    uintptr_t buf = tf->rdi;
    /* Check the whole range as given: clamping first would turn a length
     * that wraps around into a valid-looking one. */
    if (!user_range_ok(buf, tf->rsi))
        return -MICA_EFAULT;
    size_t len = MIN(tf->rsi, (uint64_t)DEBUG_WRITE_MAX);
    char chunk[DEBUG_WRITE_CHUNK];
    for (size_t done = 0; done < len;) {
        size_t n = MIN(len - done, sizeof chunk);
        if (copy_from_user(chunk, buf + done, n) < 0)
            return -MICA_EFAULT;
        console_write(chunk, n);
        done += n;
    }
    return (int64_t)len;
}

int64_t sys_exit(struct trap_frame *tf)
{
    struct task *t = sched_current()->task;
    task_exit(t, t->killed ? MICA_EXIT_KILLED : (int64_t)tf->rdi);
    panic("sys_exit: the exited task is still running");
}

int64_t sys_yield(struct trap_frame *tf)
{
    (void)tf;
    sched_yield();
    return 0;
}

struct slab_totals {
    uint64_t frames, caches;
};

static void add_slab_cache(const struct slab_cache *c, void *arg)
{
    struct slab_totals *t = arg;
    struct slab_stats s;
    slab_get_stats(c, &s);
    t->frames += s.slabs;
    t->caches++;
}

/* (MICA_INFO_*) -> value; -MICA_EINVAL for an unknown query. */
int64_t sys_info(struct trap_frame *tf)
{
    switch (tf->rdi) {
    case MICA_INFO_FREE_FRAMES: {
        struct pmm_stats s;
        pmm_get_stats(&s);
        return (int64_t)s.free;
    }
    case MICA_INFO_SLAB_OBJECTS:
        return (int64_t)slab_objects_in_use();
    case MICA_INFO_HEAP_BYTES: {
        struct kheap_stats s;
        kheap_get_stats(&s);
        return (int64_t)s.bytes_in_use;
    }
    case MICA_INFO_TASKS:
        return task_count();
    case MICA_INFO_CPU_FEATURES:
        return (cpu_features.smep ? 1 : 0) | (cpu_features.smap ? 2 : 0) |
               (cpu_features.nx ? 4 : 0);
    case MICA_INFO_BOOT_TSC:
        return (int64_t)boot_state.entry_tsc;
    case MICA_INFO_SELFTEST:
        return (int64_t)boot_state.selftest_insns;
    case MICA_INFO_FREE_FRAMES_DRAINED: {
        mm_reclaim();
        struct pmm_stats s;
        pmm_get_stats(&s);
        return (int64_t)s.free;
    }
    case MICA_INFO_FRAMES_CHARGED:
        return (int64_t)task_frames_charged(sched_current()->task);
    case MICA_INFO_TICKS:
        return (int64_t)timer_ticks();
    case MICA_INFO_IRQ_LATENCY_MAX:
        return (int64_t)timer_latency().max_ns;
    case MICA_INFO_IRQ_LATENCY_MEAN: {
        struct timer_latency l = timer_latency();
        return l.count ? (int64_t)(l.sum_ns / l.count) : 0;
    }
    case MICA_INFO_IRQ_LATENCY_RESET:
        timer_latency_reset();
        return 0;
    case MICA_INFO_PREEMPT_POINTS:
        return (int64_t)preempt_points();
    case MICA_INFO_TASK_ID: {
        int err = 0;
        struct task *t = task_lookup_handle(tf->rsi, 0, &err);
        return t ? (int64_t)t->id : err;
    }
    case MICA_INFO_TASK_THREADS: {
        int err = 0;
        struct task *t = task_lookup_handle(tf->rsi, 0, &err);
        return t ? (int64_t)t->nthreads : err;
    }
    case MICA_INFO_INJECTED:
        return (int64_t)inject_total();
    case MICA_INFO_TOTAL_FRAMES: {
        struct pmm_stats s;
        pmm_get_stats(&s);
        return (int64_t)s.total;
    }
    case MICA_INFO_SLAB_FRAMES:
    case MICA_INFO_SLAB_CACHES: {
        struct slab_totals t = {0};
        slab_for_each_cache(add_slab_cache, &t);
        return (int64_t)(tf->rdi == MICA_INFO_SLAB_FRAMES ? t.frames : t.caches);
    }
    case MICA_INFO_SYSCALLS:
        return (int64_t)this_cpu()->syscalls; /* one CPU runs tasks today */
    case MICA_INFO_SELF_CHECK:
        return (int64_t)kernel_self_check();
    default:
        return -MICA_EINVAL;
    }
}

/* (status, passed, failed): print the run's final tally, the kernel's own
 * tests included, and stop the machine. Init only (MICA_START_MACHINE). */
int64_t sys_shutdown(struct trap_frame *tf)
{
    struct task *t = sched_current()->task;
    if (!(t->start_flags & MICA_START_MACHINE))
        return -MICA_EPERM;
    unsigned kpassed, kfailed;
    ktest_totals(&kpassed, &kfailed);
    kprintf("%llu passed, %llu failed\n", (unsigned long long)(kpassed + tf->rsi),
            (unsigned long long)(kfailed + tf->rdx));
    machine_stop((int)tf->rdi);
}
