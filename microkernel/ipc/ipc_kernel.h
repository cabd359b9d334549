/* Calls the kernel makes on a thread's behalf: a message composed by the
 * kernel (a page-fault report) sent as a call from a thread that is not in
 * a system call, answered by an ordinary reply. */
#pragma once

#include "lib/types.h"
#include "object/thread.h"

struct endpoint;

/* Send `msg` (badge included, no data or handle) as a call from the
 * current thread t to `ep` and block t until the reply. The reply's badge,
 * label and words go to *reply; t's user registers are left as they were.
 * Returns 0, -MICA_EDEAD (nobody can receive on ep, or the receiver died
 * before replying), -MICA_EFAULT (the reply carried data or a handle,
 * which a kernel-made call cannot take). */
int64_t ipc_kernel_call(struct thread *t, struct endpoint *ep, const struct ipc_msg *msg,
                        struct ipc_msg *reply);
