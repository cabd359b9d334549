/* Per-pager frame quotas (frame_quota.c): the frames a pager obtains for
 * other tasks are charged to it, up to its quota; the counting itself is
 * mm/frame_account.h. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

/* Check that `payer` (NULL: nobody, always fine) may be charged `n` more
 * frames under its quota. 0, or -MICA_ENOMEM (over the quota, or no charge
 * account left). Charges nothing: call before allocating. */
int task_frame_reserve(struct task *payer, uint64_t n);

/* Charge the freshly allocated frame pa (count 1, aux 0) to `payer`, which
 * passed task_frame_reserve; NULL: the frame stays uncharged. */
void task_frame_charge(struct task *payer, paddr_t pa);


/* Frames now charged to t as a pager. */
uint64_t task_frames_charged(const struct task *t);

/* Set t's quota of charged frames (0: no limit). A quota below the current
 * charge refuses new frames until enough are released. */
void task_set_frame_quota(struct task *t, uint64_t quota);
