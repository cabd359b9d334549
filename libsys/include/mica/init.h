/* Requests to init after the boot (servers/init/control.c), on the
 * endpoint boot.cfg calls "init"; a program reaches it through the grant
 * "init" (boot.cfg: send:init). Every reply has label 0 and a status in
 * w[0]. The console's `run` and `kill` use them. */
#pragma once

/* data = "PROGRAM [GRANTS] [ARGS]" as after `demo` on a boot.cfg line; the
 * program also gets pager:pager and send:names when the line names no
 * pager and no names grant and those endpoints exist -> w[0] = the new
 * task's id, or -MICA_ENOENT (no such module), -MICA_EINVAL (a malformed
 * line; init prints the problem), -MICA_E2BIG, or the spawn's error. */
#define INIT_RUN  1
/* w[0] = task id -> 0, or -MICA_ENOENT (init holds no handle to it: a
 * forked child, or no such task), -MICA_EPERM (init itself), -MICA_EDEAD
 * (it has exited already). */
#define INIT_KILL 2
