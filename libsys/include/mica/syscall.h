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
#define MICA_SYS_TASK_SPAWN      14 /* (const struct mica_spawn_args *) -> task handle */
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
#define MICA_SYS_COUNT           28

/* Flags or'ed into rax with the number. */
#define MICA_SYS_NUMBER_MASK   0xffffu
#define MICA_SYS_FLAG_NONBLOCK (1u << 16) /* IPC: -MICA_EAGAIN instead of blocking */

/* ---- handles and rights ---- */
#define MICA_HANDLE_MAX     256  /* handles per task: 0 .. MICA_HANDLE_MAX-1 */
#define MICA_RIGHT_SEND     0x1u /* send / call on an endpoint */
#define MICA_RIGHT_RECV     0x2u /* receive on an endpoint */
#define MICA_RIGHT_GRANT    0x4u /* may be passed in a message or minted */
#define MICA_RIGHT_WAIT     0x8u /* task handle: wait for its exit */
#define MICA_RIGHT_MAP      0x10u /* task handle: map, unmap, protect its memory */
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

struct mica_spawn_args {
    const void *image;       /* an ELF64 executable in the caller's memory */
    uint64_t image_len;
    const char *name;        /* task name (for reports), NUL-terminated */
    const char *args;        /* argument string, NUL-terminated, may be NULL */
    uint64_t handles[MICA_SPAWN_MAX_HANDLES]; /* caller's handles to copy */
    uint64_t nhandles;       /* the child gets them as handles 0..nhandles-1 */
    uint64_t flags;          /* MICA_SPAWN_*; 0: the child inherits the caller's pager */
    uint64_t pager;          /* with MICA_SPAWN_PAGER: endpoint handle (SEND) of its pager */
};
#define MICA_SPAWN_PAGER    (1u << 0) /* register `pager` as the child's pager */
#define MICA_SPAWN_NO_PAGER (1u << 1) /* the child has no pager (faults kill it) */

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
/* Queries 13-20 are reserved. */
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
