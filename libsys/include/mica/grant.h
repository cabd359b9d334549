/* Handles by name. The grants of a boot/boot.cfg line ("send:echo",
 * "pager:pager", "quota=task:pager", servers/init/bootcfg.h) each carry a
 * name, and a program asks for its handles by those names instead of by
 * position:
 *
 *     long echo = mica_grant("echo");
 *     if (echo < 0)
 *         return 1;   (the error line is already printed)
 *
 * How the names travel: init puts them in front of the argument string,
 *     MICA_GRANTS_MARK "pager,echo" MICA_GRANTS_MARK "the arguments"
 * the I-th name naming handle I; libsys' crt0 takes them off before main
 * runs, so si->args holds only the arguments. A program started without
 * the mark (spawned by a test, say) has no named grants, but for "pager"
 * when its parent had a pager (mica_task_spawn adds it). Of two equal
 * names the later one counts. */
#pragma once

#include <stddef.h>

/* Opens and closes the list of grant names at the start of the args. */
#define MICA_GRANTS_MARK '\x1d'

/* The handle of the grant called name. Returns it (>= 0), or
 * -MICA_ENOENT after printing one line
 * `PROGRAM: no grant called "name" (boot.cfg line gives: a, b)`. */
long mica_grant(const char *name);

/* As mica_grant, but quiet: for a grant a program can do without.
 * Returns the handle or -MICA_ENOENT. */
long mica_grant_find(const char *name);

/* Write into dst[size] the argument string init passes for grants
 * names[0..n) and arguments args (see above). Returns its length, or -1
 * if it does not fit in size bytes with its NUL. */
long mica_grants_encode(char *dst, size_t size, const char *const *names, unsigned n,
                        const char *args);
