/* System-call stubs for user programs: one C function per call of the Mica
 * ABI (mica/syscall.h). Each returns what the kernel returned: a value
 * >= 0 on success or -MICA_E* (mica/errno.h) on failure, unless noted. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <mica/errno.h>
#include <mica/syscall.h>

/* A message as it travels in registers: the sender's badge (set by the
 * kernel from the handle used to send; ignored when sending), the label
 * (MICA_MSG_MAKE(label, data length) plus MICA_MSG_XFER_HANDLE) and four
 * data words. */
struct mica_msg {
    uint64_t badge, label, w[4];
};

/* Flags for the IPC calls: MICA_IPC_NONBLOCK returns -MICA_EAGAIN instead
 * of blocking when no partner is waiting. */
#define MICA_IPC_BLOCK    0u
#define MICA_IPC_NONBLOCK MICA_SYS_FLAG_NONBLOCK

/* The cheapest round trip into the kernel. Returns 0. */
long mica_null(void);

/* Write len bytes of buf to the console. Returns len, or -MICA_EFAULT. */
long mica_debug_write(const char *buf, size_t len);

/* Flush buffered printf output, then end the calling task with `status`
 * (reported to mica_task_wait). Never returns. */
__attribute__((noreturn)) void mica_exit(int64_t status);

/* Give up the CPU to another ready thread. Returns 0. */
long mica_yield(void);

/* Send m (label and words; badge ignored) on endpoint handle h, blocking
 * until a receiver takes it unless flags has MICA_IPC_NONBLOCK. Returns 0,
 * or -MICA_EBADH, -MICA_EPERM (no SEND right), -MICA_EAGAIN (nonblocking,
 * no receiver), -MICA_EDEAD (the endpoint died), -MICA_E2BIG. */
long mica_ipc_send(uint64_t h, const struct mica_msg *m, unsigned flags);

/* Receive one message on endpoint handle h into *out (badge of the
 * sender's handle, label, words); *out is written only on success.
 * Returns 0, or -MICA_EBADH, -MICA_EPERM (no RECV right), -MICA_EAGAIN
 * (nonblocking, no sender), -MICA_EDEAD. */
long mica_ipc_recv(uint64_t h, struct mica_msg *out, unsigned flags);

/* Send m on h and wait for the receiver's reply, stored in *reply (which
 * may be m itself) on success. Returns 0, or the errors of mica_ipc_send;
 * -MICA_EDEAD if the server died before replying. */
long mica_ipc_call(uint64_t h, const struct mica_msg *m, struct mica_msg *reply,
                   unsigned flags);

/* Answer the caller of the last message received by this thread with m
 * (badge ignored). Never blocks. Returns 0, or -MICA_ENOENT (no caller
 * waits for a reply), -MICA_EDEAD (the caller died). */
long mica_ipc_reply(const struct mica_msg *m);

/* mica_ipc_reply(reply) then mica_ipc_recv(h, out, flags) in one kernel
 * entry; *out is written only on success. Returns 0 or the errors of
 * either half (a failed reply returns its error without receiving). */
long mica_ipc_reply_recv(uint64_t h, const struct mica_msg *reply, struct mica_msg *out,
                         unsigned flags);

/* Create an endpoint. Returns a handle with MICA_RIGHTS_ALL, or
 * -MICA_ENOMEM, -MICA_ENOSPC (handle table full). */
long mica_endpoint_create(void);

/* Derive a new handle from h with `rights` (a subset of h's) and `badge`.
 * Returns the new handle, or -MICA_EBADH, -MICA_EPERM (rights not a subset
 * or h lacks MICA_RIGHT_GRANT), -MICA_ENOSPC. */
long mica_handle_mint(uint64_t h, unsigned rights, uint64_t badge);

/* Close handle h. Returns 0 or -MICA_EBADH. */
long mica_handle_close(uint64_t h);

/* Map fresh zeroed pages at [va, va+len) in the caller's space with prot
 * (MICA_PROT_*; write and exec together are refused). va and len must be
 * page-aligned. Returns 0, or -MICA_EINVAL, -MICA_EEXIST (already mapped),
 * -MICA_ENOMEM. */
long mica_mem_map(void *va, size_t len, unsigned prot);

/* Unmap [va, va+len), page-aligned; pages not mapped are skipped.
 * Returns 0, or -MICA_EINVAL (unaligned, empty, page 0, outside the user
 * half). */
long mica_mem_unmap(void *va, size_t len);

/* Start a task from the ELF image described by *a: libsys's loader
 * (mica/spawn.h) checks the image, builds the task with the calls below
 * and starts it. Returns a task handle (WAIT, GRANT, MAP, KILL), or
 * -MICA_EFAULT (the image leaves the user half, or the kernel could not
 * read the name, handles or bytes), -MICA_EINVAL (nhandles > 8, bad
 * flags), -MICA_ENOEXEC (a bad image: one line "spawn: task 'NAME' not
 * started: REASON" says why), -MICA_ENOMEM, -MICA_EBADH (a handle to pass
 * is bad), -MICA_E2BIG (name or args too long), -MICA_ENOSPC. */
long mica_task_spawn(const struct mica_spawn_args *a);

/* The id of the task behind task handle h (any rights; MICA_HANDLE_SELF:
 * the caller), MICA_INFO_TASK_ID. Returns it, or -MICA_EBADH, -MICA_EDEAD
 * (the task has ended). */
int64_t mica_task_id(uint64_t h);

/* The number of threads of the task behind task handle h (any rights;
 * MICA_HANDLE_SELF: the caller), MICA_INFO_TASK_THREADS: 0 for a task
 * built and not started. Returns it, or -MICA_EBADH, -MICA_EDEAD. */
int64_t mica_task_threads(uint64_t h);

/* MICA_SYS_TASK_CREATE: an empty task, not running, with the handles, name
 * and pager of *a. Returns a task handle with
 * every task right, or -MICA_EFAULT, -MICA_EINVAL, -MICA_E2BIG (name),
 * -MICA_EBADH / -MICA_EPERM (a handle to pass or the pager), -MICA_ENOMEM,
 * -MICA_ENOSPC. */
long mica_task_create(const struct mica_task_args *a);

/* MICA_SYS_TASK_WRITE: copy len bytes from src into task h's mapped pages
 * at va, whatever their protection (h needs MICA_RIGHT_MAP; not the
 * caller). Returns 0, or -MICA_EINVAL (bad range, the caller's own task,
 * a page shared with another mapping), -MICA_ENOENT (a page not mapped),
 * -MICA_EFAULT (src unreadable), handle errors. */
long mica_task_write(uint64_t h, uint64_t va, const void *src, uint64_t len);

/* MICA_SYS_TASK_LOAD: map npages fresh frames in task h (MICA_RIGHT_MAP;
 * created, not started, not the caller) from va rounded down to a page,
 * with prot, holding the len bytes at src from va on and zeros elsewhere
 * (no frame is zeroed and then overwritten). The bytes must end inside
 * the pages. Returns 0, or -MICA_EINVAL (range, prot, bytes past the
 * pages, a started task or the caller's own), -MICA_EEXIST (a page is
 * mapped), -MICA_EFAULT (src unreadable), -MICA_ENOMEM, -MICA_EDEAD, handle
 * errors; nothing is left mapped on failure. */
long mica_task_load(uint64_t h, uint64_t va, uint64_t npages, unsigned prot, const void *src,
                    uint64_t len);

/* MICA_SYS_TASK_START: give task h (MICA_RIGHT_MAP), built with
 * mica_task_create, its one thread at rip with rsp and rdi. Returns 0, or
 * -MICA_EINVAL (running already, or rip/rsp outside the user half),
 * -MICA_ENOMEM, handle errors. */
long mica_task_start(uint64_t h, uint64_t rip, uint64_t rsp, uint64_t rdi);

/* Block until the task behind handle h exits; returns its exit status
 * (MICA_EXIT_KILLED if the kernel killed it), or -MICA_EBADH / -MICA_EPERM.
 * A status in -1..-MICA_ENOSPC cannot be told from an error, so programs
 * exit with a status >= 0. */
int64_t mica_task_wait(uint64_t h);

/* End the task behind handle h (MICA_RIGHT_KILL; MICA_HANDLE_SELF: the
 * caller, which does not return), whatever it is blocked on: IPC, a page
 * fault its pager never answers, a wait. Everything it holds is returned.
 * The kernel prints one report line; mica_task_wait then gives
 * MICA_EXIT_KILLED. Returns 0 (also when it was already killed), or
 * -MICA_EBADH / -MICA_EPERM / -MICA_EDEAD (it has already exited). */
long mica_task_kill(uint64_t h);

/* Ask for one message on endpoint ep (SEND) when the task behind h (WAIT)
 * ends: label MICA_LABEL_DEATH, the badge given here (0: ep's own), w0 =
 * task id, w1 = exit status, w2 = MICA_DEATH_* cause, w3 = killer's task
 * id (mica/syscall.h). Sent at once if it has ended already; never lost.
 * Returns 0, -MICA_EBADH, -MICA_EPERM (a right missing, or a badge through
 * a badged handle), -MICA_EDEAD (nobody can receive on ep), -MICA_ENOSPC
 * (MICA_NOTIFY_MAX bindings on that task), -MICA_ENOMEM. */
long mica_task_notify(uint64_t h, uint64_t ep, uint64_t badge);

/* Register buf (or NULL to unregister) as this thread's IPC buffer for
 * data and handle transfer. Returns 0, or -MICA_EFAULT, -MICA_EINVAL
 * (misaligned). */
long mica_set_ipc_buffer(struct mica_ipc_buffer *buf);

/* The IPC buffer registered for this thread through mica_set_ipc_buffer;
 * if none is, libsys registers a buffer of its own first. For library
 * code that moves handles (mica/names.h) without replacing the program's
 * registration. Returns it, or NULL if registering failed. */
struct mica_ipc_buffer *mica_ipc_buffer(void);

/* Power the machine off reporting status and test totals. Needs
 * MICA_START_MACHINE (init); otherwise returns -MICA_EPERM. */
long mica_shutdown(int64_t status, uint64_t passed, uint64_t failed);

/* Query a kernel statistic (MICA_INFO_*). Returns its value, or
 * -MICA_EINVAL for an unknown query. */
int64_t mica_info(unsigned what);

/* Read what a person typed on the serial console: blocks until at least
 * one byte has arrived, then returns up to len bytes (raw: no echo, no
 * line editing). Returns the count, or -MICA_EINVAL (len 0), -MICA_EFAULT,
 * -MICA_EAGAIN (another thread is reading). For the console server. */
long mica_console_read(char *buf, size_t len);

/* Fill buf[0..n) with the live tasks, newest first. Returns how many
 * there are (more than n: the rest did not fit), or -MICA_EFAULT. */
long mica_task_list(struct mica_task_info *buf, size_t n);

/* Describe the task behind task handle h (any rights, any state) in *out.
 * Returns 0, or -MICA_EBADH, -MICA_EFAULT. */
long mica_task_info(uint64_t h, struct mica_task_info *out);

/* The id of the task whose thread waits to receive on endpoint handle h
 * now: its server, when the server is idle. Returns it, or -MICA_ENOENT
 * (no thread waits: the server is busy, or there is none), -MICA_EBADH. */
long mica_endpoint_server(uint64_t h);

/* The name of an error code, e.g. "EBADH" for -MICA_EBADH or MICA_EBADH;
 * "E?" for an unknown code, "OK" for 0. Never NULL. */
const char *mica_error_name(long err);
