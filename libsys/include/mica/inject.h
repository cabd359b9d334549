/* Fault injection at run time, for a program holding the control object's
 * handle (a boot/boot.cfg grant "inject=inject:all"; docs/fault-injection.md):
 *
 *     long h = mica_grant("inject");
 *     int p = mica_inject_arm(h, "kmalloc:task=victim,nth=3");
 *     ... run the victim ...
 *     struct mica_inject_point pt;
 *     mica_inject_get(h, p, &pt);   (pt.fired, pt.last_id)
 *     mica_inject_disarm(h, p);
 *
 * Any other handle gets -MICA_EPERM. */
#pragma once

#include <stdint.h>
#include <mica/syscall.h>

/* A handle to the control object. init only (MICA_START_MACHINE): others
 * get -MICA_EPERM and receive theirs through a boot.cfg grant. */
long mica_inject_open(void);

/* Arm a point from "POINT[:knob=value,...]" (NUL-terminated), replacing its
 * knobs. Returns the point's index, -MICA_EINVAL (malformed or unknown:
 * the kernel's console line names the bad part), -MICA_E2BIG, -MICA_EPERM. */
long mica_inject_arm(long h, const char *spec);

/* Disarm point p (MICA_INJECT_ALL: every point). Returns 0, -MICA_EINVAL,
 * -MICA_EPERM. */
long mica_inject_disarm(long h, uint64_t p);

/* Copy the state of up to n points into out[]. Returns the number of
 * points, or -MICA_EPERM / -MICA_EFAULT. */
long mica_inject_list(long h, struct mica_inject_point *out, uint64_t n);

/* The state of point p into *out. Returns 0, -MICA_EINVAL (no such point),
 * -MICA_EPERM. */
long mica_inject_get(long h, uint64_t p, struct mica_inject_point *out);

/* The index of the point called name, or -MICA_ENOENT / -MICA_EPERM. */
long mica_inject_find(long h, const char *name);

/* Set the run's seed (as inject-seed=N on the kernel command line).
 * Returns 0 or -MICA_EPERM. */
long mica_inject_seed(long h, uint64_t seed);
