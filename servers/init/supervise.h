/* Supervision (MINIX 3's reincarnation server, in init): every program
 * init starts is watched through a death note (MICA_SYS_TASK_NOTIFY) on
 * init's own endpoint, so init learns of each death by receiving, never by
 * polling. A server line marked restart (bootcfg.h) is started again after
 * its death with the same grants and badge: it receives on the same
 * boot.cfg endpoints (init holds their receive handles, so clients keep
 * their send handles and queued calls wait for the new instance), and it
 * may register its names again. The k-th restart waits backoff << (k-1)
 * timer ticks; after the limit init gives up and drops its receive rights
 * to the server's endpoints, so that waiting clients get -MICA_EDEAD
 * instead of hanging. Each restart and the giving up print one line with
 * the reason.
 *
 * Init also answers its servers' requests on that endpoint (mica/init.h):
 * memory kept across restarts and, for a restarted pager, its clients'
 * task handles. Init never blocks anywhere but on this endpoint: its calls
 * to other servers are non-blocking and poll here in between
 * (pager_link.c), so a dead server can always be restarted. */
#pragma once

#include <stdint.h>

#include "init.h"

/* Create init's endpoint (named "init" for send:init grants) and keep st
 * for the calls below. Returns 0 or -MICA_E*. */
long supervise_init(struct init_state *st);

/* Watch the program just started from line l as task handle `task`
 * (init's), whose send copies carry `badge` and whose pager is init's
 * endpoint handle pager_ep (-1: none). */
void supervise_program(const struct bootcfg_line *l, long task, uint64_t badge, long pager_ep);

/* Wait until the program with task handle `task` ends, serving deaths,
 * restarts and requests meanwhile. Returns its exit status and forgets it
 * (the caller closes the handle). */
int64_t supervise_wait(long task);

/* Take what is waiting on init's endpoint without blocking, and start
 * the restarts that are due. For init's loops around non-blocking calls. */
void supervise_poll(void);

/* Normal mode's end: serve deaths, restarts and requests for ever. */
__attribute__((noreturn)) void supervise_idle(void);
