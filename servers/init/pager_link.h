/* Telling the pager (servers/pager) about the programs init starts with a
 * pager:EP grant: which badge is theirs and, through a transferred task
 * handle with MICA_RIGHT_MAP, the address space its faults are resolved
 * in. Protocol in mica/vm.h. */
#pragma once

#include <stdint.h>

/* Introduce task handle `task` (needs GRANT and MAP) to the pager behind
 * pager_ep (init's own, badge 0: the control channel) as the client with
 * `badge`. Returns 0 or a negative error (IPC's or the pager's). */
long pager_link_add(uint64_t pager_ep, uint64_t badge, uint64_t task);

/* Tell the pager that the client with `badge` is gone (it closes its task
 * handle and forgets the regions). Returns 0 or a negative error. */
long pager_link_drop(uint64_t pager_ep, uint64_t badge);
