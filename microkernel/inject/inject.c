/* The injection-point table (inject.h): arming from the command line or the
 * control object, the task filter, and the one report line per fault. */
#include "inject/inject.h"

#include <stdarg.h>

#include <mica/syscall.h>

#include "lib/backtrace.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"

uint32_t inject_armed;
uint64_t inject_ipc_fast_handles = MICA_HANDLE_MAX;
static uint64_t epoch; /* rdtsc at the kernel's first instruction (inject_set_epoch) */

/* Change the armed set, and with it the IPC fast paths' bound. */
static void set_armed(uint32_t armed)
{
    inject_armed = armed;
    inject_ipc_fast_handles =
        (armed & (INJECT_IPC_POINTS | INJECT_SWIFI_POINTS)) ? 0 : MICA_HANDLE_MAX;
}

struct point {
    const char *name;
    uint32_t ticks; /* default of the ticks knob, where the point uses one */
};

static const struct point table[INJECT_COUNT] = {
    [INJECT_PMM_ALLOC] = {"pmm_alloc", 0},
    [INJECT_KMALLOC] = {"kmalloc", 0},
    [INJECT_SLAB_ALLOC] = {"slab_alloc", 0},
    [INJECT_IPC_DROP] = {"ipc_drop", 0},
    [INJECT_IPC_DELAY] = {"ipc_delay", 5},
    [INJECT_IPC_DUP] = {"ipc_dup", 0},
    [INJECT_IPC_FLIP] = {"ipc_flip", 0},
    [INJECT_FAULT_MSG] = {"fault_msg", 0},
    [INJECT_PAGER_MAP] = {"pager_map", 0},
    [INJECT_FAULT_SPURIOUS] = {"fault_spurious", 0},
    [INJECT_KILL_NTH] = {"kill_nth", 0},
    [INJECT_KILL_RANDOM] = {"kill_random", 0},
    [INJECT_REPLY_WITHHOLD] = {"reply_withhold", 0},
    [INJECT_REG_FLIP] = {"reg_flip", 0},
    [INJECT_MEM_FLIP] = {"mem_flip", 0},
    [INJECT_CODE_FLIP] = {"code_flip", 0},
    [INJECT_TIMER_LOSE] = {"timer_lose", 0},
    [INJECT_TIMER_LATE] = {"timer_late", 3},
};

static struct inject_state state[INJECT_COUNT];
static uint64_t run_seed;
static uint64_t last_id;

/* The fault just fired at each point, for inject_report. */
static struct {
    const char *name;
    uint32_t id;
    uint64_t fault_id;
} hit[INJECT_COUNT];

const char *inject_name(unsigned p)
{
    return p < INJECT_COUNT ? table[p].name : NULL;
}

static bool name_matches(const char *filter, const char *name)
{
    return strncmp(filter, name, INJECT_TASK_MAX) == 0;
}

bool inject_fire(enum inject_point p, const void *task)
{
    struct inject_state *s = &state[p];
    const char *name, *cur_name;
    uint32_t id, cur_id;
    bool have_target = inject_task_name(task, &name, &id);
    bool have_cur = task ? inject_task_name(NULL, &cur_name, &cur_id) : false;
    if (!have_target && !have_cur)
        return false; /* boot or idle: only tasks are injected into */
    if (s->k.task[0]) {
        /* The filter names the current or the target task: report that one. */
        if (have_target && name_matches(s->k.task, name)) {
        } else if (have_cur && name_matches(s->k.task, cur_name)) {
            name = cur_name;
            id = cur_id;
        } else {
            return false;
        }
    } else if (!have_target) {
        name = cur_name;
        id = cur_id;
    }
    uint64_t now = s->k.after_insn ? __builtin_ia32_rdtsc() - epoch : 0;
    bool fire = inject_decide(s, now);
    if (s->k.times == 0)
        set_armed(inject_armed & ~INJECT_BIT(p)); /* used up: its sites are free again */
    if (!fire)
        return false;
    hit[p].name = name;
    hit[p].id = id;
    hit[p].fault_id = ++last_id;
    return true;
}

void inject_report(enum inject_point p, const char *fmt, ...)
{
    char detail[128];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    kprintf("inject: #%lu %s target=%s(%u) %s\n", (unsigned long)hit[p].fault_id,
            table[p].name, hit[p].name, hit[p].id, detail);
    if (state[p].k.verbose >= 2)
        backtrace_print(0, 0, (uintptr_t)__builtin_frame_address(0));
}

uint64_t inject_rand(enum inject_point p)
{
    return inject_next(&state[p]);
}

uint32_t inject_ticks(enum inject_point p)
{
    return state[p].k.ticks ? state[p].k.ticks : table[p].ticks;
}

static int lookup(const char *s, size_t n)
{
    for (unsigned i = 0; i < INJECT_COUNT; i++)
        if (strlen(table[i].name) == n && strncmp(table[i].name, s, n) == 0)
            return (int)i;
    return -1;
}

int inject_arm(const char *s, size_t n, const char *who)
{
    size_t at, len;
    struct inject_knobs k;
    struct inject_bad bad;
    if (inject_spec_parse(s, n, &at, &len, &k, &bad) < 0) {
        kprintf("%s: warning: inject spec '%.*s': '%.*s': %s; not armed\n", who, (int)n, s,
                (int)bad.len, s + bad.at, bad.why);
        return -1;
    }
    int p = lookup(s + at, len);
    if (p < 0) {
        kprintf("%s: warning: inject spec '%.*s': no point named '%.*s'; not armed\n", who,
                (int)n, s, (int)len, s + at);
        return -1;
    }
    set_armed(inject_armed & ~INJECT_BIT(p));
    state[p].k = k;
    inject_state_reset(&state[p], run_seed, (unsigned)p);
    if (k.times != 0)
        set_armed(inject_armed | INJECT_BIT(p));
    return p;
}

void inject_disarm(enum inject_point p)
{
    set_armed(inject_armed & ~INJECT_BIT(p));
}

void inject_set_epoch(uint64_t tsc)
{
    epoch = tsc;
}

void inject_set_seed(uint64_t seed)
{
    run_seed = seed;
    for (unsigned p = 0; p < INJECT_COUNT; p++)
        if (!state[p].k.has_seed)
            inject_state_reset(&state[p], seed, p);
}

void inject_get_info(enum inject_point p, struct inject_info *out)
{
    uint64_t last = 0;
    if (state[p].fired)
        last = hit[p].fault_id;
    *out = (struct inject_info){.armed = (inject_armed & INJECT_BIT(p)) != 0,
                                .calls = state[p].calls,
                                .fired = state[p].fired,
                                .times_left = state[p].k.times,
                                .last_id = last};
}

uint64_t inject_total(void)
{
    return last_id;
}
