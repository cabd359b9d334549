/* Memory managed by a pager (servers/pager): regions of demand-zero pages
 * reserved with vm_alloc and filled in on first touch, protections,
 * copy-on-write sharing and fork; and the system calls a pager uses on its
 * clients' address spaces.
 *
 * A program that uses vm_* is started with a pager: init's boot.cfg grant
 * "pager:EP" gives it a badged send handle to the pager's endpoint as a
 * handle like any other and registers that endpoint as the task's pager
 * before its first instruction. vm_* talk to the pager through the grant
 * called MICA_VM_PAGER_GRANT ("pager", mica/grant.h: "pager:pager" on the
 * boot.cfg line, anywhere among the grants) unless vm_use_pager names
 * another handle.
 *
 * What the pager gives every client: its regions from vm_alloc, the
 * regions of its program image (text, data and bss, from its loader:
 * PAGER_ADD_CLIENT), and its stack,
 * [MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE, MICA_USER_STACK_TOP),
 * grown on demand below the part mapped at spawn, with a guard page below
 * it. Violations kill the task (exit status MICA_EXIT_KILLED) with the
 * kernel's report and one line from the pager naming the client (badge),
 * address, access and region: a write to a read-only region or an exec in
 * a no-exec one (MICA_FAULT_REASON_ACCESS), an access outside every region
 * (NO_REGION), the stack's guard page (GUARD) or up to 64 KiB below it
 * (STACK), no frame left (NO_MEMORY). A system call handed an untouched
 * page of a region (a buffer to fill, say) is served the same way. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mica/syscall.h>

struct mica_msg; /* mica/sys.h */

/* The name of the grant vm_* use as the pager (mica/grant.h). */
#define MICA_VM_PAGER_GRANT "pager"

/* The pager's protocol (labels on the pager endpoint). The badge names the
 * client; badge 0 (init's own handle) is the control channel. Every reply
 * has label 0 and a status (0 or -MICA_E*) in w0; a client the pager does
 * not know yet is answered -MICA_EAGAIN. Addresses and lengths are in
 * bytes; lengths are rounded up to pages. */
#define PAGER_VM_ALLOC     1 /* w0 = len, w1 = prot -> w0 = va or -MICA_E* */
#define PAGER_VM_FREE      2 /* w0 = va, w1 = len -> w0 */
#define PAGER_VM_PROTECT   3 /* w0 = va, w1 = len, w2 = prot -> w0 */
#define PAGER_VM_SHARE_COW 4 /* w0 = va, w1 = len, w2 = badge of a child of the caller
                              * -> w0, w1 = pages shared */
#define PAGER_VM_FORK_PREP 5 /* () -> w0, w1 = the child's badge, and a send handle
                              * (SEND|GRANT) with that badge transferred */
#define PAGER_VM_FORK      6 /* w0 = va of the caller's IPC buffer, w1 = the prepared
                              * badge -> w0, w1 = child's badge, its task handle
                              * (WAIT|GRANT|KILL) transferred; the child's call returns
                              * label MICA_LABEL_FORK_CHILD. Without a prepared fork (a
                              * restarted pager): the answer for the caller's child
                              * with badge w1, or -MICA_EINVAL */
#define PAGER_VM_RELEASE   7 /* w0 = badge of a child of the caller -> w0 */
#define PAGER_VM_VERBOSE   8 /* w0 = 1: print a line per fault decision, 0: only kills */
#define PAGER_VM_FAULTS    9 /* w0 = i -> w0 = 0, w1 = decisions since boot, data = the
                              * report line of the i-th most recent (0: newest) of the
                              * last 16; -MICA_ENOENT past them. From any sender */
#define PAGER_VM_SPAWN    10 /* w0 = the badge PAGER_VM_FORK_PREP gave, a task handle
                              * (MAP, WAIT) of a child not started yet transferred,
                              * data = its regions (struct mica_region[], from its
                              * loader) -> w0, w1 = the child's badge: the child
                              * becomes a client of its own, its pager set to the
                              * prepared handle (see vm_spawn_introduce) */
#define PAGER_ADD_CLIENT  16 /* control: w0 = client badge, a task handle with
                              * MICA_RIGHT_MAP transferred, data = the client's
                              * regions (struct mica_region[], from its loader)
                              * -> w0 = 0 or -MICA_E*, w1 = the badge recorded */
#define PAGER_DROP_CLIENT 17 /* control: w0 = client badge -> w0 = 0 or -MICA_E* */

/* One region of a new client's address space, as its loader laid it out
 * (mica/spawn.h): the pager judges every fault of the client against its
 * regions. Kinds: */
#define MICA_REGION_ANON  1 /* demand-zero memory (bss beyond the file's bytes) */
#define MICA_REGION_STACK 2 /* the stack: demand-zero, grows down, a guard below */
#define MICA_REGION_IMAGE 3 /* pages of a program segment the loader filled; never
                             * demand-zeroed */
struct mica_region {
    uint64_t va, len;        /* page-aligned */
    uint32_t prot;           /* MICA_PROT_* */
    uint32_t kind;           /* MICA_REGION_* */
};

/* Talk to the pager through handle h from now on (default: the grant
 * called MICA_VM_PAGER_GRANT). */
void vm_use_pager(uint64_t h);

/* Tell vm_* that the calling program registered buf as its thread's IPC
 * buffer (mica_set_ipc_buffer), so that vm_fork and its receipt of
 * handles use it instead of registering a buffer of their own (which would
 * replace the program's registration). */
void vm_use_ipc_buffer(struct mica_ipc_buffer *buf);

/* Reserve len bytes (rounded up to pages) of demand-zero memory with
 * MICA_PROT_* prot (not write and exec together). Nothing is mapped until
 * touched; sequential first touches upward are served 8 pages per fault.
 * Returns the address, or NULL (no pager, bad arguments, the pager's
 * region table (32 per client) or address range is full). Retries while
 * the pager has not yet been told about this task (see init). */
void *vm_alloc(size_t len, unsigned prot);

/* Release [va, va+len) (page-aligned va, len rounded up to pages), which
 * must lie wholly in regions from vm_alloc (part of a region is fine: the
 * region is split). Its pages are unmapped and later accesses kill.
 * Returns 0, or -MICA_ENOENT (not wholly in regions), -MICA_ENOSPC (a split
 * found the region table full; the pages are unmapped but stay reserved),
 * -MICA_EINVAL (len 0), or an IPC error. */
long vm_free(void *va, size_t len);

/* Change the protection of [va, va+len) (as vm_free's range) to prot (as
 * vm_alloc's), for present pages and those touched later; regions are
 * split as needed. Pages still shared copy-on-write stay read-only in the
 * page tables: a write to them (if prot allows it) takes a private copy.
 * Returns 0, or
 * -MICA_EINVAL (prot), -MICA_ENOENT, -MICA_ENOSPC (nothing changed), or
 * an IPC error. */
long vm_protect(void *va, size_t len, unsigned prot);

/* Share [va, va+len) (page-aligned, within one vm_alloc region) copy-on-
 * write with `child`, a task handle vm_fork returned and not yet released:
 * the child sees the present pages at the same address, read-only, and a
 * write by either side copies the page for the writer; pages not present
 * are demand-zero in each. Returns the number of pages shared, or
 * -MICA_ENOENT (child unknown, or range not in one region), -MICA_EEXIST
 * (the child has a region there), -MICA_ENOSPC, -MICA_EINVAL, a kernel
 * error of MICA_SYS_MAP_SHARE (-MICA_ENOSYS on a kernel without it), or an
 * IPC error. */
long vm_share_cow(void *va, size_t len, uint64_t child);

/* Fork: a child task whose address space is a copy-on-write clone of the
 * caller's (writable pages are shared until either side writes), with a
 * copy of the handle table and the same pager, running from this call.
 * Returns in the parent the child's task handle (MICA_RIGHT_WAIT and _KILL, for
 * mica_task_wait; pass it to vm_release after the wait), 0 in the child,
 * or -MICA_E* in the parent (-MICA_ENOSPC: the pager's client table (64)
 * or a handle table is full; -MICA_ENOSYS: a kernel without
 * MICA_SYS_TASK_FORK; IPC errors). Only the calling thread is copied. The
 * child's vm_* calls use a pager handle of its own (another badge); its
 * copy of the parent's pager handle stays in its table. Both sides' vm
 * IPC buffers are made private again before vm_fork returns; another
 * buffer the program registered must be written to once before it
 * receives data or a handle (receiving needs a writable page). */
long vm_fork(void);

/* Introducing a child built with mica_task_build (flags 0) to the pager
 * as a client of its own, which mica_task_spawn does for a caller with a
 * pager. First vm_spawn_prep: a send handle on the pager with a fresh
 * badge, stored in *handle, to pass to the child (it names the child to
 * the pager; the caller closes its copy once the child holds one). Returns
 * the badge, or -MICA_E* (-MICA_ENOENT: no pager handle; IPC errors). */
long vm_spawn_prep(uint64_t *handle);

/* Then, before the child's first instruction: give the pager the child's
 * task handle (MICA_RIGHT_MAP and WAIT; a copy is transferred) and its
 * layout (n regions, the loader's: image, bss, stack). The pager checks
 * the regions (page-aligned, below MICA_USER_MODULES but for the stack at
 * its fixed place, not overlapping, at most 32), records the child under
 * `badge` and registers itself as the child's pager with that badge. The
 * pager forgets the child when its task ends. Returns 0, or -MICA_EINVAL
 * (no badge prepared, a bad or overlapping region, a task that started),
 * -MICA_EEXIST (a task the pager serves already), -MICA_ENOSPC (client or
 * region table full), -MICA_E2BIG, handle errors of the transfer and
 * MICA_SYS_TASK_NOTIFY, IPC errors. */
long vm_spawn_introduce(uint64_t task, uint64_t badge, const struct mica_region *r,
                        unsigned n);

/* Tell the pager to forget the child introduced under `badge` (one that
 * could not be started). Returns 0, -MICA_ENOENT or an IPC error. */
long vm_spawn_forget(uint64_t badge);

/* Whether vm_* have a pager to talk to (a grant "pager" or vm_use_pager). */
bool vm_has_pager(void);

/* Tell the pager to forget `child` (a handle vm_fork returned, after its
 * mica_task_wait) and close the handle. Returns 0, or -MICA_ENOENT (not a
 * child from vm_fork, or one the pager already forgot at its death note),
 * or an IPC error. The pager forgets a forked child when it ends (its
 * death note), and clients whose task it finds dead (a map call answered
 * -MICA_EDEAD, or a sweep when its table is full), so a forgotten release
 * holds nothing. */
long vm_release(uint64_t child);

/* Ask the pager to print a line per fault decision of this task (on) or
 * only kills (off, the default). Returns 0 or an error. */
long vm_verbose(bool on);

/* Register the endpoint behind handle ep (SEND) as the pager of the task
 * behind handle task (MICA_RIGHT_MAP; MICA_HANDLE_SELF: the caller). */
long mica_task_set_pager(uint64_t task, uint64_t ep);

/* Limit the frames the task behind handle task (MICA_RIGHT_MAP; not the
 * caller itself) may hold charged as a pager (MAP_ANON and MAP_COW copies
 * charge their caller); 0 means no limit. Returns 0, -MICA_EINVAL (the
 * caller's own task), -MICA_EBADH, -MICA_EPERM. */
long mica_set_frame_quota(uint64_t task, uint64_t frames);

/* Map npages fresh zeroed pages at va in the task behind handle task
 * (MICA_RIGHT_MAP, or MICA_HANDLE_SELF). Returns 0, or -MICA_EINVAL
 * (unaligned, kernel half, bad prot), -MICA_EEXIST (already mapped; nothing
 * left mapped), -MICA_ENOMEM, -MICA_EBADH, -MICA_EPERM, -MICA_EDEAD. */
long mica_map_anon(uint64_t task, uint64_t va, uint64_t npages, unsigned prot);

/* Unmap npages at va in that task (holes skipped). Same handle errors. */
long mica_unmap(uint64_t task, uint64_t va, uint64_t npages);

/* Change the protection of npages mapped pages at va in that task.
 * Returns 0, or -MICA_ENOENT (a page is not mapped; nothing changed). */
long mica_protect(uint64_t task, uint64_t va, uint64_t npages, unsigned prot);

/* MICA_SYS_MAP_SHARE: map src's frames at [src_va, +npages) into dst at
 * dst_va (both handles MICA_RIGHT_MAP or MICA_HANDLE_SELF); see
 * mica/syscall.h. Returns the number of pages shared or -MICA_E*. */
long mica_map_share(uint64_t dst, uint64_t dst_va, uint64_t src, uint64_t src_va,
                    uint64_t npages, unsigned prot);

/* MICA_SYS_MAP_ALIAS: map the frames of src's npages pages at src_va
 * (present, unmarked, writable if prot is) also in dst at dst_va with
 * prot, shared: both see every write, and the frames live while either
 * maps them. Both handles need MICA_RIGHT_MAP (or MICA_HANDLE_SELF);
 * at most MICA_ALIAS_MAX_PAGES pages. Returns 0, -MICA_EINVAL, -MICA_EEXIST
 * (a destination page is mapped), -MICA_ENOMEM, handle errors; nothing
 * changes on error. */
long mica_map_alias(uint64_t dst, uint64_t dst_va, uint64_t src, uint64_t src_va,
                    uint64_t npages, unsigned prot);

/* MICA_SYS_MAP_COW: give the task a private writable page at va (a copy,
 * or the shared frame itself when no other mapping is left). Returns 1
 * (copied), 0 (taken over) or -MICA_E*. */
long mica_map_cow(uint64_t task, uint64_t va, unsigned prot);

/* MICA_SYS_MAP_REPLY_RECV, a pager's answer to a fault in one kernel entry:
 * mica_map_anon(task, va, npages, prot) (op MICA_MAP_REPLY_ANON) or
 * mica_map_cow(task, va, prot) (op MICA_MAP_REPLY_COW, npages 1), then
 * mica_ipc_reply_recv(ep) with an empty reply (label 0: resume). Returns 0
 * with the next message in *out; the map's error with nothing replied (the
 * call stays held); the receive's errors as mica_ipc_reply_recv;
 * -MICA_EBADH/-MICA_EPERM for ep before anything is done; -MICA_EINVAL for
 * a bad op. */
long mica_map_reply_recv(uint64_t ep, uint64_t task, uint64_t va, uint64_t npages,
                         unsigned prot, unsigned op, struct mica_msg *out);

/* MICA_SYS_TASK_FORK: clone the task behind handle task (MICA_RIGHT_MAP)
 * with pager endpoint handle pager (SEND); see mica/syscall.h. Returns the
 * child's task handle or -MICA_E*. */
long mica_task_fork(uint64_t task, uint64_t pager);
