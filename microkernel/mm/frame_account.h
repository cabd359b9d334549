/* Frame accounting: which account a user frame is charged to, and how many
 * frames each account holds. The vm layer gives each paying task an account
 * slot and enforces its quota (vm/frame_quota.c); this layer only counts.
 *
 * A charged frame names its account in the allocator's 16-bit aux word
 * (user data frames do not use it otherwise; page tables keep their entry
 * count there). A slot is opened for a payer, closed when the payer ends,
 * and reused only once it is closed and no frame is charged to it any more,
 * so a slot is never reused while a frame names it, which keeps every
 * charge exact. Slot 0 means "uncharged". */
#pragma once

#include "lib/types.h"

/* Slots, slot 0 included; bounds the payers holding charges at once. */
#define FRAME_ACCOUNTS_MAX 1024

/* Open a free account slot (no charge). Returns it, or 0 when every slot
 * is open or still holds charges. */
uint16_t frame_account_open(void);

/* The payer of open account a (nonzero) ended: the slot is reused once the
 * frames charged to it are released (they may still be mapped elsewhere). */
void frame_account_close(uint16_t a);

/* Frames now charged to account a (0 for slot 0). */
uint64_t frame_account_charged(uint16_t a);

/* Charge the freshly allocated frame pa (count 1, aux 0) to open account
 * a (nonzero). */
void frame_account_charge(uint16_t a, paddr_t pa);

/* Drop one mapping's reference to the user frame pa. The last reference
 * gives the frame's charge back to its account and frees it; reserved
 * frames (count 0, boot modules) are left alone. */
void frame_release(paddr_t pa);
