/* Fault injection: a table of named points, one INJECT() test at each site
 * (docs/fault-injection.md). A disarmed point costs its site one load, a
 * bit test and a branch predicted not taken; an armed one asks its knobs
 * (knobs.h) whether this call, of this task, gets the fault.
 *
 * A site looks like
 *     if (INJECT(INJECT_KMALLOC, NULL)) {
 *         inject_report(INJECT_KMALLOC, "%zu bytes refused", size);
 *         return NULL;
 *     }
 * and must call inject_report exactly once for each true INJECT(), which
 * prints the run's one line per fault:
 *     inject: #ID POINT target=NAME(id) detail
 *
 * This folder is the layer right above lib/ so that every layer with a
 * point (arch's timer, mm's allocators, ipc, vm) may include this header.
 * What it needs from above, the name of a task, comes through the one
 * upcall declared at the end, which object/ implements. */
#pragma once

#include "inject/knobs.h"
#include "lib/types.h"

/* The points, in the order of their bits (names in inject.c). */
enum inject_point {
    INJECT_PMM_ALLOC, INJECT_KMALLOC, INJECT_SLAB_ALLOC,
    INJECT_IPC_DROP, INJECT_IPC_DELAY, INJECT_IPC_DUP, INJECT_IPC_FLIP,
    INJECT_FAULT_MSG, INJECT_PAGER_MAP, INJECT_FAULT_SPURIOUS,
    INJECT_KILL_NTH, INJECT_KILL_RANDOM, INJECT_REPLY_WITHHOLD,
    INJECT_REG_FLIP, INJECT_MEM_FLIP, INJECT_CODE_FLIP,
    INJECT_TIMER_LOSE, INJECT_TIMER_LATE,
    INJECT_COUNT
};
STATIC_ASSERT(INJECT_COUNT <= 32, "inject_armed has one bit per point");

#define INJECT_BIT(p) (1u << (p))
/* The points the IPC fast paths hand over to the slow path when armed. */
#define INJECT_IPC_POINTS                                                            \
    (INJECT_BIT(INJECT_IPC_DROP) | INJECT_BIT(INJECT_IPC_DELAY) |                    \
     INJECT_BIT(INJECT_IPC_DUP) | INJECT_BIT(INJECT_IPC_FLIP) |                      \
     INJECT_BIT(INJECT_KILL_NTH) | INJECT_BIT(INJECT_REPLY_WITHHOLD))

/* The transient faults of object/swifi.c: at a timer tick that finds the
 * task in ring 3, and when it receives a message (the IPC slow path, so
 * they too send every call there while armed). */
#define INJECT_SWIFI_POINTS                                                          \
    (INJECT_BIT(INJECT_REG_FLIP) | INJECT_BIT(INJECT_MEM_FLIP) |                     \
     INJECT_BIT(INJECT_CODE_FLIP) | INJECT_BIT(INJECT_KILL_RANDOM))

/* One bit per armed point. Machine-wide policy rather than per-CPU state:
 * every CPU injects by the same table; written only when a point is armed,
 * disarmed or used up, read at every site. (One CPU runs the kernel
 * today; a second one would need the point states under a lock.) */
extern uint32_t inject_armed;

/* Handle numbers the IPC fast paths accept: MICA_HANDLE_MAX while no point
 * of INJECT_IPC_POINTS is armed, 0 while one is. The fast paths already
 * compare the handle number with a bound; comparing it with this word
 * instead sends every call to the slow path, where the IPC points are,
 * without a single added instruction on the fast path. */
extern uint64_t inject_ipc_fast_handles;

/* True when point p is armed and its knobs say that this call, made by the
 * current task or aimed at `task` (a struct task *, or NULL for the
 * current one), gets the fault. The caller then injects it and calls
 * inject_report once. */
#define INJECT(p, task) (unlikely(inject_armed & INJECT_BIT(p)) && inject_fire((p), (task)))

/* True when any point of `mask` is armed (fast paths leave those calls to
 * their slow path). */
#define INJECT_ANY(mask) unlikely(inject_armed & (mask))

#ifdef MICA_HOST
/* The host tests of the allocators run their code without the table. */
#undef INJECT
#undef INJECT_ANY
#define INJECT(p, task)  ((void)(task), false)
#define INJECT_ANY(mask) false
#endif

/* INJECT's slow half: the task filter and the knobs. Only in the context
 * of a user task (never at boot or in the idle thread). */
bool inject_fire(enum inject_point p, const void *task);

/* Print "inject: #ID POINT target=NAME(id) DETAIL" for the fault point p
 * just fired (ID counts from 1 over the run), plus a backtrace with
 * verbose=2. */
void inject_report(enum inject_point p, const char *fmt, ...) __printf(2, 3);

/* A number from point p's generator, for the site's choices (which bit,
 * which word): deterministic for a given seed. */
uint64_t inject_rand(enum inject_point p);

/* The point's tick knob (ipc_delay, timer_late), or its default. */
uint32_t inject_ticks(enum inject_point p);

/* Arm a point from a spec "POINT[:knob=value,...]" (s[0..n), untrusted),
 * replacing any knobs it had. Returns the point's index, or -1 with one
 * console line "WHO: warning: ..." naming the bad part of the spec. */
int inject_arm(const char *s, size_t n, const char *who);

/* Disarm point p (its counts are kept for inject_info). */
void inject_disarm(enum inject_point p);

/* Set the run's seed (inject-seed=N) and reseed every point that has no
 * seed knob of its own. */
void inject_set_seed(uint64_t seed);

/* Count the guest instructions of after=insn:N from rdtsc value `tsc` (the
 * kernel's first instruction) instead of from reset: what the firmware and
 * GRUB execute varies with the image (its timestamps), the kernel's run
 * does not. Called once by kmain before any point is armed. */
void inject_set_epoch(uint64_t tsc);

/* A point's name ("pmm_alloc"), or NULL past INJECT_COUNT. */
const char *inject_name(unsigned p);

/* A point's state, as the control object lists it. */
struct inject_info {
    bool armed;
    uint64_t calls, fired; /* since it was last armed */
    int64_t times_left;
    uint64_t last_id; /* ID of its latest fault, 0 if none */
};

/* Fill *out with point p's state (p < INJECT_COUNT). */
void inject_get_info(enum inject_point p, struct inject_info *out);

/* Faults injected since boot: the last ID printed. */
uint64_t inject_total(void);

/* ---- the upcall (implemented in object/inject_target.c) ---- */

/* Name and id of `task` (a struct task *), or of the current task when
 * NULL. False when there is none (boot, the idle thread). */
bool inject_task_name(const void *task, const char **name, uint32_t *id);
