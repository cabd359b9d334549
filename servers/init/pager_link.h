/* Telling the pager (servers/pager) about the programs init starts with a
 * pager:EP grant: which badge is theirs and, through a transferred task
 * handle with MICA_RIGHT_MAP, the address space its faults are resolved
 * in (protocol in mica/vm.h); and telling the name service (servers/names)
 * which names a program may register (provides:NAME; protocol in
 * mica/names.h). */
#pragma once

#include <stdint.h>
#include <mica/vm.h>

/* How many times pager_link_add asks the pager before it gives up. */
#define PAGER_LINK_TRIES 3

/* Introduce task handle `task` (needs GRANT and MAP) to the pager behind
 * pager_ep (init's own, badge 0: the control channel) as the client with
 * `badge`, whose address space holds regions[0..nregions) (its loader's
 * layout); a refusal, or a reply naming another badge, is tried again
 * (PAGER_LINK_TRIES in all). Returns 0 or a negative error (IPC's or the
 * pager's); then the program must not run, for the pager would never
 * serve it. */
long pager_link_add(uint64_t pager_ep, uint64_t badge, uint64_t task,
                    const struct mica_region *regions, unsigned nregions);

/* Tell the pager that the client with `badge` is gone (it closes its task
 * handle and forgets the regions). Returns 0 or a negative error. */
long pager_link_drop(uint64_t pager_ep, uint64_t badge);

/* Tell the name service (init's handle names_ep) that the program whose
 * send handles carry badge may register name (boot.cfg provides:NAME).
 * Returns 0 or -MICA_E*. */
long names_link_allow(uint64_t names_ep, uint64_t badge, const char *name);

/* Drop every permission of badge (its program has ended or never
 * started). Returns 0 or -MICA_E*. */
long names_link_forget(uint64_t names_ep, uint64_t badge);
