/* The Mica system-call ABI, shared by the kernel and libsys. This header is
 * the single definition of numbers, registers, flags and layouts; the
 * kernel checks its own structures against it at compile time.
 *
 * Calling convention (the `syscall` instruction):
 *   in:  rax = number | flags, rdi, rsi, rdx, r10, r8, r9 = arguments 0..5
 *   out: rax = result (>= 0) or -MICA_E* (see mica/errno.h);
 *        rcx and r11 are clobbered (the CPU uses them); every other register
 *        is preserved, except that IPC calls return a message in
 *        rdi (badge), rsi (label), rdx, r10, r8, r9 (words 0..3).
 * Every pointer argument must lie wholly in the user half; the kernel reads
 * and writes user memory only through fault-safe copies, so a bad pointer
 * gives -MICA_EFAULT, never a crash. */
#pragma once

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

/* ---- system-call numbers ---- */
#define MICA_SYS_NULL            0  /* () -> 0; the cheapest round trip */
#define MICA_SYS_DEBUG_WRITE     1  /* (const char *buf, size_t len) -> len; console */
#define MICA_SYS_EXIT            2  /* (int64 status): the task exits; never returns */
#define MICA_SYS_YIELD           3  /* () -> 0 */
#define MICA_SYS_IPC_SEND        4  /* (h, label, w0, w1, w2, w3) -> 0 */
#define MICA_SYS_IPC_RECV        5  /* (h) -> 0 + message in registers */
#define MICA_SYS_IPC_CALL        6  /* (h, label, w0..w3) -> 0 + reply in registers */
#define MICA_SYS_IPC_REPLY       7  /* (label, w0..w3): answer the last caller; never blocks;
                                     * -MICA_ENOENT when no caller waits */
#define MICA_SYS_IPC_REPLY_RECV  8  /* (h, label, w0..w3): reply, then receive on h */
#define MICA_SYS_ENDPOINT_CREATE 9  /* () -> handle with all rights */
#define MICA_SYS_HANDLE_MINT     10 /* (h, rights, badge) -> new handle, rights a subset */
#define MICA_SYS_HANDLE_CLOSE    11 /* (h) -> 0 */
#define MICA_SYS_MEM_MAP         12 /* (va, len, prot) -> 0: fresh zeroed pages, own space */
#define MICA_SYS_MEM_UNMAP       13 /* (va, len) -> 0 */
/* 14 was TASK_SPAWN: programs are now built by libsys (mica_task_spawn);
 * the number gives -MICA_ENOSYS. */
#define MICA_SYS_TASK_WAIT       15 /* (task h) -> exit status (blocks until it exits) */
#define MICA_SYS_SET_IPC_BUFFER  16 /* (va of a struct mica_ipc_buffer, or 0) -> 0 */
#define MICA_SYS_SHUTDOWN        17 /* (status, passed, failed): needs MICA_START_MACHINE */
#define MICA_SYS_INFO            18 /* (MICA_INFO_*) -> value, for tests and tools */
#define MICA_SYS_TASK_SET_PAGER  19 /* (task h or MICA_HANDLE_SELF, endpoint h with SEND) -> 0 */
#define MICA_SYS_MAP_ANON        20 /* (task h with MAP, va, npages, prot) -> 0: fresh zeroed pages */
#define MICA_SYS_UNMAP           21 /* (task h with MAP, va, npages) -> 0 */
#define MICA_SYS_PROTECT         22 /* (task h with MAP, va, npages, prot) -> 0 */
#define MICA_SYS_MAP_SHARE       23 /* (dst task h MAP, dst va, src task h MAP, src va, npages,
                                     *  prot) -> pages shared: dst maps src's frames */
#define MICA_SYS_MAP_COW         24 /* (task h MAP, va, prot) -> 1 copied, 0 taken over */
#define MICA_SYS_TASK_FORK       25 /* (task h MAP, pager endpoint h SEND) -> child task h */
#define MICA_SYS_SET_FRAME_QUOTA 26 /* (task h with MAP, frames; 0 = no limit) -> 0: the most
                                     *  frames that task may hold charged as a pager */
#define MICA_SYS_TASK_KILL       27 /* (task h with KILL, or MICA_HANDLE_SELF) -> 0: the task
                                     *  ends, whatever it is blocked on */
#define MICA_SYS_TASK_CREATE     28 /* (struct mica_task_args *) -> task handle with every task
                                     *  right: an empty task, not running */
#define MICA_SYS_TASK_WRITE      29 /* (task h MAP, va, const void *src, len) -> 0: copy into
                                     *  its mapped pages */
#define MICA_SYS_TASK_START      30 /* (task h MAP, rip, rsp, rdi) -> 0: its first thread */
/* 31..33 unassigned (-MICA_ENOSYS) */
#define MICA_SYS_INJECT_OPEN     34 /* () -> a handle to the fault-injection control object;
                                     *  needs MICA_START_MACHINE (init), else -MICA_EPERM */
#define MICA_SYS_INJECT_CTL      35 /* (inject h, MICA_INJECT_* op, a, b) -> see below;
                                     *  any other handle: -MICA_EPERM */
/* 36..37 unassigned (-MICA_ENOSYS) */
#define MICA_SYS_TASK_NOTIFY     38 /* (task h with WAIT, endpoint h with SEND, badge) -> 0:
                                     * a MICA_LABEL_DEATH message on the endpoint when the
                                     * task ends */
#define MICA_SYS_MAP_ALIAS       39 /* (dst task h MAP, dst va, src task h MAP, src va, npages,
                                     * prot) -> 0: src's frames also at dst, shared writable */
/* 40: unassigned (-MICA_ENOSYS). Calls for tools and the console (docs/syscalls.md): */
#define MICA_SYS_CONSOLE_READ    41 /* (buf, len) -> bytes read from COM1 (>= 1); blocks until
                                     *  input arrives; -MICA_EAGAIN if another thread waits */
#define MICA_SYS_TASK_LIST       42 /* (struct mica_task_info *buf, n) -> live tasks; fills the
                                     *  first min(n, count) entries, newest first */
#define MICA_SYS_TASK_INFO       43 /* (task h, struct mica_task_info *out) -> 0 */
#define MICA_SYS_ENDPOINT_SERVER 44 /* (endpoint h) -> id of the task of a thread waiting to
                                     *  receive on it now, or -MICA_ENOENT */
#define MICA_SYS_MAP_REPLY_RECV  45 /* (endpoint h RECV, task h MAP, va, npages, prot, op):
                                     *  MAP_ANON or MAP_COW (op) into the task, then an empty
                                     *  reply to the held call and a receive on h, in one entry
                                     *  -> 0 + next message in registers */
/* 46..47 unassigned (-MICA_ENOSYS). Building a task in one pass: */
#define MICA_SYS_TASK_LOAD       48 /* (task h MAP, va, npages, prot, const void *src, len) -> 0:
                                     *  fresh frames filled from src, the rest zeroed */
#define MICA_SYS_COUNT           49

/* MICA_SYS_MAP_REPLY_RECV's op (r9). */
#define MICA_MAP_REPLY_ANON 0 /* MAP_ANON of npages fresh zeroed pages */
#define MICA_MAP_REPLY_COW  1 /* MAP_COW of the one page at va (npages must be 1) */

/* Flags or'ed into rax with the number. */
#define MICA_SYS_NUMBER_MASK   0xffffu
#define MICA_SYS_FLAG_NONBLOCK (1u << 16) /* IPC: -MICA_EAGAIN instead of blocking */

/* ---- handles and rights ---- */
#define MICA_HANDLE_MAX     256  /* handles per task: 0 .. MICA_HANDLE_MAX-1 */
#define MICA_RIGHT_SEND     0x1u /* send / call on an endpoint */
#define MICA_RIGHT_RECV     0x2u /* receive on an endpoint */
#define MICA_RIGHT_GRANT    0x4u /* may be passed in a message or minted */
#define MICA_RIGHT_WAIT     0x8u /* task handle: wait for its exit */
#define MICA_RIGHT_MAP      0x10u /* task handle: map, unmap, protect, write its memory;
                                  * start a task being built */
#define MICA_RIGHT_KILL     0x20u /* task handle: end the task (MICA_SYS_TASK_KILL) */
#define MICA_RIGHTS_ALL     0x3fu
/* A task handle naming the caller's own task (never a table slot). */
#define MICA_HANDLE_SELF    (~0ull)

/* ---- IPC messages ----
 * A message is a label and four words in registers. The label's low 32
 * bits are the sender's; bits 32..43 give the length of an optional data
 * buffer and bit 48 asks to transfer a handle. Both travel through the
 * sender's and receiver's registered IPC buffers (MICA_SYS_SET_IPC_BUFFER). */
#define MICA_MSG_LABEL_MASK   0xffffffffull
#define MICA_MSG_LEN_SHIFT    32
#define MICA_MSG_LEN_MASK     0xfffull
#define MICA_MSG_XFER_HANDLE  (1ull << 48)
#define MICA_IPC_BUF_MAX      2048 /* bytes of data per message */

#define MICA_MSG_LABEL(l)     ((uint64_t)(l) & MICA_MSG_LABEL_MASK)
#define MICA_MSG_LEN(l)       (((uint64_t)(l) >> MICA_MSG_LEN_SHIFT) & MICA_MSG_LEN_MASK)
#define MICA_MSG_MAKE(label, len) \
    (((uint64_t)(label) & MICA_MSG_LABEL_MASK) | ((uint64_t)(len) << MICA_MSG_LEN_SHIFT))

/* Reply labels the kernel uses when it answers for a dead partner. */
#define MICA_LABEL_ERROR 0xffffffffu

/* ---- page faults forwarded to a pager ----
 * A ring-3 page fault in a task with a pager (MICA_SYS_TASK_SET_PAGER) is
 * sent by the kernel as a call from the faulting thread to the pager's
 * endpoint: badge = the badge of the registered pager handle, label =
 * MICA_LABEL_FAULT, w0 = faulting address, w1 = MICA_FAULT_* access bits,
 * w2 = rip, w3 = thread id. The pager replies label 0 (resume: the
 * instruction is retried, so the pager must have mapped the page) or
 * MICA_FAULT_KILL with w0 = a MICA_FAULT_REASON_* code (the task is killed
 * and the kernel prints the reason). A reply carrying data or a handle is
 * malformed and kills the task too. Senders may forge this label; a pager
 * trusts only the badge. */
#define MICA_LABEL_FAULT   0xfffffff0u
#define MICA_FAULT_KILL    0xfffffff1u /* reply label: terminate the task */
#define MICA_FAULT_READ    0x1u
#define MICA_FAULT_WRITE   0x2u
#define MICA_FAULT_EXEC    0x4u
#define MICA_FAULT_PRESENT 0x8u /* the page was present: a protection fault */
#define MICA_FAULT_COW     0x10u /* the page is a copy-on-write share (see below) */
#define MICA_FAULT_KERNEL  0x20u /* raised by the kernel copying user memory in a
                                  * system call; resume retries the copy */
/* Kill reasons a pager gives in w0 of a MICA_FAULT_KILL reply. */
#define MICA_FAULT_REASON_NO_REGION 1 /* no region at the address */
#define MICA_FAULT_REASON_ACCESS    2 /* the region forbids this access */
#define MICA_FAULT_REASON_NO_MEMORY 3 /* the pager could not get a frame */
#define MICA_FAULT_REASON_UNKNOWN   4 /* the badge names no client */
#define MICA_FAULT_REASON_GUARD     5 /* a stack guard page was hit */
#define MICA_FAULT_REASON_STACK     6 /* the stack would grow past its limit */

/* ---- copy-on-write ----
 * MICA_SYS_MAP_SHARE and MICA_SYS_TASK_FORK map one frame in several places
 * (its reference count counts the mappings). A share made writable-shared
 * is refused: sharing is read-only, and pages that were writable carry the
 * kernel's COW mark, reported as MICA_FAULT_COW on a write fault. The pager
 * decides: MICA_SYS_MAP_COW gives the faulting task a private writable page
 * (a copy, or the same frame when no other mapping is left) or it kills.
 * MICA_SYS_TASK_FORK: the child gets a copy of every user mapping of the
 * task (writable pages become COW shares in both), a copy of its handle
 * table, the given pager endpoint, and one thread whose registers are those
 * the task's thread had when it entered the kernel, except that the child's
 * IPC call returns 0 with label MICA_LABEL_FORK_CHILD. The parent's call
 * is answered by its pager as usual. */
#define MICA_LABEL_FORK_CHILD 0xfffffff2u

/* ---- death notification ----
 * MICA_SYS_TASK_NOTIFY binds a task to an endpoint: when the task ends
 * (exit or kill) the kernel sends one message there, badge = the badge
 * given at the bind (or the endpoint handle's own), label =
 * MICA_LABEL_DEATH, w0 = the task's id, w1 = its exit status, w2 = a
 * MICA_DEATH_* cause, w3 = the killer's task id (MICA_DEATH_KILLED) or 0.
 * The message is never lost and never blocks the kernel: it goes to a
 * waiting receiver, or waits in the endpoint (memory reserved at the bind)
 * until one comes. A message with this label and another badge is a
 * forgery: a receiver trusts the badge. */
#define MICA_LABEL_DEATH 0xfffffff3u
#define MICA_DEATH_EXITED   0 /* it called MICA_SYS_EXIT (w1: its status) */
#define MICA_DEATH_FAULT    1 /* a fault its pager or the kernel did not resolve */
#define MICA_DEATH_KILLED   2 /* MICA_SYS_TASK_KILL by the task in w3 */
#define MICA_DEATH_ORPHANED 3 /* its last task handle was closed */
#define MICA_DEATH_KERNEL   4 /* another kill by the kernel */
#define MICA_NOTIFY_MAX     8 /* bindings per task */
#define MICA_ALIAS_MAX_PAGES 256 /* pages per MICA_SYS_MAP_ALIAS */

#ifndef __ASSEMBLER__
struct mica_ipc_buffer {
    uint64_t handle;   /* send: handle to transfer (with MICA_MSG_XFER_HANDLE);
                        * receive: the handle installed for the receiver */
    uint64_t reserved;
    uint8_t data[MICA_IPC_BUF_MAX];
};

/* ---- memory ---- */
#define MICA_PROT_READ  0x1u
#define MICA_PROT_WRITE 0x2u
#define MICA_PROT_EXEC  0x4u
#define MICA_USER_END   0x0000800000000000ull /* first address above the user half */

/* ---- tasks ---- */
#define MICA_SPAWN_MAX_HANDLES 8
#define MICA_NAME_MAX          32  /* task names, including the NUL */
#define MICA_ARGS_MAX          1024

/* mica_task_spawn's arguments (libsys's loader, mica/sys.h). */
struct mica_spawn_args {
    const void *image;       /* an ELF64 executable in the caller's memory */
    uint64_t image_len;
    const char *name;        /* task name (for reports), NUL-terminated */
    const char *args;        /* argument string, NUL-terminated, may be NULL */
    uint64_t handles[MICA_SPAWN_MAX_HANDLES]; /* caller's handles to copy */
    uint64_t nhandles;       /* the child gets them as handles 0..nhandles-1 */
    uint64_t flags;          /* MICA_SPAWN_*; 0: the child becomes a client of its own of
                              * the caller's pager, if it has one (mica/spawn.h) */
    uint64_t pager;          /* with MICA_SPAWN_PAGER: endpoint handle (SEND) of its pager */
};
#define MICA_SPAWN_PAGER    (1u << 0) /* register `pager` as the child's pager */
#define MICA_SPAWN_NO_PAGER (1u << 1) /* the child has no pager (faults kill it) */
/* A child never inherits its parent's pager: the pager names clients by
 * the badge the kernel sends with each fault, and a child sending its
 * parent's badge would be served in the parent's address space. */

/* MICA_SYS_TASK_CREATE's argument block. */
struct mica_task_args {
    const char *name;        /* task name (for reports), NUL-terminated */
    uint64_t handles[MICA_SPAWN_MAX_HANDLES]; /* caller's handles to copy */
    uint64_t nhandles;       /* the task gets them as handles 0..nhandles-1 */
    uint64_t flags;          /* MICA_SPAWN_*; 0 or NO_PAGER: no pager until one is set
                              * with MICA_SYS_TASK_SET_PAGER (before TASK_START) */
    uint64_t pager;          /* with MICA_SPAWN_PAGER: endpoint handle (SEND) of its pager */
};

/* The new task's entry point is called as entry(const struct mica_start_info *). */
#define MICA_START_TEST_MODE (1u << 0) /* kernel command line has "test" */
#define MICA_START_MACHINE   (1u << 1) /* may call MICA_SYS_SHUTDOWN (init only) */
#define MICA_START_BENCH_MODE (1u << 2) /* kernel command line has "bench" */
#define MICA_START_WORKLOAD_MODE (1u << 3) /* kernel command line has "workload" */

struct mica_module {
    char name[MICA_NAME_MAX]; /* the module's GRUB command line, first word */
    uint64_t addr, len;       /* mapped read-only in init's space */
};

struct mica_start_info {
    uint64_t flags;           /* MICA_START_* */
    uint64_t task_id;
    char name[MICA_NAME_MAX];
    char args[MICA_ARGS_MAX]; /* NUL-terminated */
    uint64_t nhandles;        /* handles 0..nhandles-1 were given by the parent */
    uint64_t nmodules;        /* init only: the boot modules, every one of them */
    const struct mica_module *modules; /* init only: nmodules entries at MICA_USER_MODULES,
                                        * read-only; NULL for every other task */
};

/* MICA_SYS_INFO queries. */
#define MICA_INFO_FREE_FRAMES   0 /* page-frame allocator's free count */
#define MICA_INFO_SLAB_OBJECTS  1 /* objects in use over all slab caches */
#define MICA_INFO_HEAP_BYTES    2 /* kmalloc bytes in use */
#define MICA_INFO_TASKS         3 /* live tasks */
#define MICA_INFO_CPU_FEATURES  4 /* bit 0 SMEP, bit 1 SMAP, bit 2 NX */
#define MICA_INFO_BOOT_TSC      5 /* rdtsc at the kernel's first instruction (under QEMU
                                   * -icount: guest instructions since reset) */
#define MICA_INFO_FRAMES_CHARGED 6 /* frames charged to the caller as a pager (MAP_ANON/COW) */
#define MICA_INFO_TICKS         7 /* timer ticks since boot (100 per second) */
#define MICA_INFO_FREE_FRAMES_DRAINED 8 /* free count after the kernel gave back the frames it
                                         * keeps cached but unused (empty slabs, the spare heap
                                         * arena): the exact figure for leak checks */
/* Timer interrupt latency, in ns of the guest clock (guest instructions
 * under -icount shift=0), over the ticks since boot or the last reset: */
#define MICA_INFO_IRQ_LATENCY_MAX   9 /* the longest wait from pending to handler */
#define MICA_INFO_IRQ_LATENCY_MEAN 10 /* the mean wait */
#define MICA_INFO_IRQ_LATENCY_RESET 11 /* start a new window; returns 0 */
#define MICA_INFO_PREEMPT_POINTS   12 /* preemption points passed by long calls since boot */
#define MICA_INFO_TASK_ID          23 /* rsi = a task handle (any rights) or MICA_HANDLE_SELF:
                                       * the task's id (a loader writes it in the start info) */
#define MICA_INFO_TASK_THREADS     28 /* rsi = a task handle (any rights) or MICA_HANDLE_SELF:
                                       * its threads, 0 for a task built and not started
                                       * yet; -MICA_EBADH, -MICA_EDEAD (ended) */
#define MICA_INFO_SELFTEST         25 /* rdtsc ticks the kernel spent in its own test and
                                       * benchmark runs before starting init (0 without the
                                       * test and bench options) */
#define MICA_INFO_INJECTED         13 /* faults injected since boot: the last "inject: #ID" */

/* ---- fault injection (docs/fault-injection.md) ----
 * MICA_SYS_INJECT_CTL operations on the control object's handle: */
#define MICA_INJECT_ARM    0 /* (const char *spec, len) -> point index: arm a point from
                              *  "POINT[:knob=value,...]" (the inject= grammar); -MICA_EINVAL
                              *  (malformed spec or no such point: one console line names the
                              *  bad part), -MICA_E2BIG (len > MICA_INJECT_SPEC_MAX), -MICA_EFAULT */
#define MICA_INJECT_DISARM 1 /* (point index, or MICA_INJECT_ALL) -> 0; -MICA_EINVAL */
#define MICA_INJECT_LIST   2 /* (struct mica_inject_point *buf, n) -> number of points; fills
                              *  the first min(n, that number) entries; -MICA_EFAULT */
#define MICA_INJECT_SEED   3 /* (seed) -> 0: the run's seed (as inject-seed=N); every point
                              *  without a seed knob restarts its generator and counts */
#define MICA_INJECT_ALL    (~0ull)
#define MICA_INJECT_SPEC_MAX 256
#define MICA_INJECT_NAME_MAX 16

struct mica_inject_point {
    char name[MICA_INJECT_NAME_MAX]; /* "pmm_alloc", ... (index = position in the list) */
    uint64_t armed;                  /* 1 while armed */
    uint64_t calls;                  /* eligible calls counted since it was armed */
    uint64_t fired;                  /* faults injected since it was armed */
    int64_t times_left;              /* the times knob now (-1: no cap) */
    uint64_t last_id;                /* ID of its latest fault (the "inject: #ID" line), or 0 */
};

#define MICA_INFO_TOTAL_FRAMES     18 /* frames the page-frame allocator manages */
#define MICA_INFO_SLAB_FRAMES      19 /* frames held by the slab caches (in use or spare) */
#define MICA_INFO_SLAB_CACHES      20 /* number of slab caches */

/* One task as MICA_SYS_TASK_LIST and MICA_SYS_TASK_INFO report it. */
struct mica_task_info {
    uint32_t id;
    uint32_t state;          /* MICA_TASK_LIVE, _DYING or _ZOMBIE */
    char name[MICA_NAME_MAX];
    uint32_t pager_id;       /* the task waiting on its pager endpoint, 0: none or busy */
    uint32_t nthreads;
    uint64_t pages_mapped;   /* user pages mapped in its address space */
    uint64_t frames_charged; /* frames charged to it as a pager */
    uint64_t faults;         /* page faults it took in ring 3 (sent to a pager or fatal) */
};
#define MICA_TASK_LIVE   0
#define MICA_TASK_DYING  1
#define MICA_TASK_ZOMBIE 2

#define MICA_INFO_SELF_CHECK       21 /* run the kernel's consistency checks; -> failures found */
#define MICA_INFO_SYSCALLS         22 /* system calls entered since boot, by every task */
#endif

#ifndef __ASSEMBLER__
/* ---- user address-space layout set up by the kernel at spawn ----
 * The stack reserves MICA_USER_STACK_SIZE below its top, and the page below
 * that reservation is never mapped, so running off the stack faults. Only the
 * top MICA_USER_STACK_MAPPED bytes are mapped at spawn: below them the
 * reservation is unmapped until something maps it (a program may map it
 * with MICA_SYS_MEM_MAP; a pager may grow stacks on demand). */
#define MICA_USER_STACK_TOP    0x00007fffffe00000ull /* initial rsp (16-aligned) */
#define MICA_USER_STACK_SIZE   (256ull * 1024)        /* reserved below the top */
#define MICA_USER_STACK_MAPPED (16ull * 1024)         /* mapped at spawn, below the top */
#define MICA_USER_START_INFO  0x00007fffffe00000ull /* struct mica_start_info, read-only */
#define MICA_USER_MODULES     0x0000100000000000ull /* init: boot modules, read-only */

/* Exit status of a task the kernel killed (fault, violation, bad call). */
#define MICA_EXIT_KILLED      (-1000)

/* Test programs exit with MICA_TEST_STATUS(passed, failed); init adds them up. */
#define MICA_TEST_STATUS(passed, failed) ((int64_t)(((uint64_t)(passed) << 16) | ((failed) & 0xffffu)))
#define MICA_TEST_PASSED(status)         (((uint64_t)(status) >> 16) & 0xffffffffu)
#define MICA_TEST_FAILED(status)         ((uint64_t)(status) & 0xffffu)
#endif
