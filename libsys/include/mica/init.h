/* What a server may ask init for on init's own endpoint, reached through
 * the grant "init" (boot.cfg: `server pager recv:pager init=send:init
 * restart`). Init answers only programs it started, named by their badge;
 * the protocol lives beside init's supervision (servers/init/supervise.c,
 * docs/design.md §19.1).
 *
 *   INIT_KEEP          w0 = va, w1 = npages (1 .. INIT_KEEP_MAX_PAGES)
 *                      -> w0 = 0 or -MICA_E*, w1 = 1 if the memory was
 *                      kept from an earlier instance of the same boot.cfg
 *                      line, 0 if it is fresh (zeroed).
 *                      Init maps npages of its own memory at va in the
 *                      caller, shared and writable (MICA_SYS_MAP_ALIAS):
 *                      what the server writes there outlives it, and a
 *                      restarted instance asking again gets the same frames
 *                      back. -MICA_EINVAL for another npages than the first
 *                      request's, or a bad va.
 *   INIT_CLIENT_TASK   w0 = a client's badge
 *                      -> w0 = 0 and a task handle (MAP | GRANT) to the
 *                      live program init started with that badge and a
 *                      pager: grant on an endpoint the caller receives on;
 *                      -MICA_ENOENT otherwise. A restarted pager takes its
 *                      clients back this way; it also finds the
 *                      handles deposited below (MAP | GRANT | WAIT |
 *                      KILL for those, as the fork gave them).
 *   INIT_DEPOSIT       w0 = a client's badge, a task handle (MAP) of that
 *                      client transferred -> w0 = 0, -MICA_EINVAL (no
 *                      handle), -MICA_ENOSPC (INIT_DEPOSITS_MAX held).
 *                      Init keeps it for the server's later instances:
 *                      the pager deposits each child it forks, whose task
 *                      handle init never had. A deposit under a badge
 *                      already held replaces it.
 *   INIT_WITHDRAW      w0 = badge -> w0 = 0 or -MICA_ENOENT: the deposit
 *                      is closed (the pager forgot that client).
 *
 *   INIT_RUN           data = "PROGRAM [GRANTS] [ARGS]" as after `demo` on
 *                      a boot.cfg line; the program also gets pager:pager
 *                      and send:names when the line names no pager and no
 *                      names grant and those endpoints exist -> w0 = the
 *                      new task's id, or -MICA_ENOENT (no such module),
 *                      -MICA_EINVAL (a malformed line; init prints the
 *                      problem), -MICA_E2BIG, or the loader's error. The
 *                      console's `run` (servers/init/control.c).
 *   INIT_KILL          w0 = task id -> w0 = 0, or -MICA_ENOENT (init holds
 *                      no handle to it: a forked child, or no such task),
 *                      -MICA_EPERM (init itself), -MICA_EDEAD (it has
 *                      exited already). The console's `kill`.
 *
 * Holding send:init is the privilege: boot.cfg gives it to the pager (for
 * its recovery) and to the console.
 *
 * Messages with other badges are init's death notes (MICA_LABEL_DEATH,
 * mica/syscall.h); a program cannot forge them. */
#pragma once

#define INIT_GRANT          "init"
#define INIT_KEEP           1
#define INIT_CLIENT_TASK    2
#define INIT_DEPOSIT        3
#define INIT_WITHDRAW       4
#define INIT_KEEP_MAX_PAGES 64
#define INIT_DEPOSITS_MAX   64
#define INIT_RUN            5
#define INIT_KILL           6
