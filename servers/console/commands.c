/* The console's commands (commands.h): each asks the kernel or a server
 * and prints what it learns. The console holds no privilege of its own
 * beyond its boot.cfg grants: "init" (run, kill), "names" (servers, log),
 * "pager" (faults, log) and "inject" (inject: the kernel's fault-injection
 * control, docs/fault-injection.md). */
#include <mica/grant.h>
#include <mica/init.h>
#include <mica/inject.h>
#include <mica/log.h>
#include <mica/names.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "commands.h"

#define WORDS_MAX 16
#define TASKS_MAX 64

static struct mica_task_info tasks[TASKS_MAX];

/* Call endpoint h with m, the reply going into m; returns the reply's
 * status word (w[0]) or the IPC error. */
static long call(uint64_t h, struct mica_msg *m)
{
    long rc = mica_ipc_call(h, m, m, MICA_IPC_BLOCK);
    return rc < 0 ? rc : (long)m->w[0];
}

/* The console's handle for a grant of its boot.cfg line, or < 0. */
static long grant(const char *name)
{
    return mica_grant_find(name);
}

/* The live tasks into tasks[]; returns how many were filled. */
static unsigned list_tasks(void)
{
    long n = mica_task_list(tasks, TASKS_MAX);
    if (n < 0) {
        printf("console: cannot list the tasks: %s\n", mica_error_name(n));
        return 0;
    }
    return n > TASKS_MAX ? TASKS_MAX : (unsigned)n;
}

static const char *task_name(unsigned n, uint32_t id)
{
    for (unsigned i = 0; i < n; i++)
        if (tasks[i].id == id)
            return tasks[i].name;
    return "?";
}

static void cmd_ps(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned n = list_tasks();
    printf("  %4s %-16s %-6s %-16s %7s %7s %7s %7s\n", "ID", "NAME", "STATE", "PAGER", "THREADS",
           "PAGES", "CHARGED", "FAULTS");
    for (unsigned i = n; i-- > 0;) { /* oldest first */
        const struct mica_task_info *t = &tasks[i];
        char pager[24] = "-";
        if (t->pager_id)
            snprintf(pager, sizeof pager, "%s (%u)", task_name(n, t->pager_id),
                     (unsigned)t->pager_id);
        printf("  %4u %-16s %-6s %-16s %7u %7llu %7llu %7llu\n", (unsigned)t->id, t->name,
               t->state == MICA_TASK_LIVE ? "live" : t->state == MICA_TASK_DYING ? "dying" : "zombie",
               pager, (unsigned)t->nthreads, (unsigned long long)t->pages_mapped,
               (unsigned long long)t->frames_charged, (unsigned long long)t->faults);
    }
    printf("  %u tasks; PAGES: user pages mapped, CHARGED: frames charged to it as a pager\n", n);
}

static void cmd_mem(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int64_t total = mica_info(MICA_INFO_TOTAL_FRAMES), free = mica_info(MICA_INFO_FREE_FRAMES);
    printf("  frames: %lld total, %lld free, %lld used (%lld KiB free)\n", (long long)total,
           (long long)free, (long long)(total - free), (long long)free * 4);
    printf("  slab: %lld caches, %lld frames, %lld objects in use\n",
           (long long)mica_info(MICA_INFO_SLAB_CACHES), (long long)mica_info(MICA_INFO_SLAB_FRAMES),
           (long long)mica_info(MICA_INFO_SLAB_OBJECTS));
    printf("  kernel heap: %lld bytes in use; %lld tasks\n",
           (long long)mica_info(MICA_INFO_HEAP_BYTES), (long long)mica_info(MICA_INFO_TASKS));
}

static void cmd_servers(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long h = grant(MICA_NAMES_GRANT);
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (h < 0 || !buf) {
        printf("console: servers: no name service (boot.cfg: send:names)\n");
        return;
    }
    unsigned n = list_tasks(), shown = 0;
    for (uint64_t slot = 0;; shown++) {
        struct mica_msg m = {.label = NAMES_LIST, .w = {slot}};
        long rc = call((uint64_t)h, &m);
        if (rc < 0) {
            if (rc != -MICA_ENOENT)
                printf("console: servers: %s\n", mica_error_name(rc));
            break;
        }
        size_t len = MICA_MSG_LEN(m.label);
        char name[MICA_NAME_MAX];
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, buf->data, len);
        name[len] = '\0';
        uint32_t id = (uint32_t)m.w[2];
        if (id)
            printf("  %-16s served by %s (id %u)\n", name, task_name(n, id), (unsigned)id);
        else
            printf("  %-16s served by a task busy now (not waiting for requests)\n", name);
        slot = m.w[1] + 1;
    }
    printf("  %u names registered\n", shown);
}

static void cmd_run(int argc, char **argv)
{
    if (argc < 2) {
        printf("console: usage: run PROGRAM [ARGS]\n");
        return;
    }
    long h = grant("init");
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (h < 0 || !buf) {
        printf("console: run: no way to reach init (boot.cfg: send:init)\n");
        return;
    }
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        size_t w = strlen(argv[i]);
        if (n + w + 1 >= MICA_ARGS_MAX) {
            printf("console: run: arguments too long\n");
            return;
        }
        if (i > 1)
            buf->data[n++] = ' ';
        memcpy(buf->data + n, argv[i], w);
        n += w;
    }
    struct mica_msg m = {.label = MICA_MSG_MAKE(INIT_RUN, n)};
    long rc = call((uint64_t)h, &m);
    if (rc < 0)
        printf("console: run %s: %s%s\n", argv[1], mica_error_name(rc),
               rc == -MICA_ENOENT ? " (no boot module of that name)" : "");
    else
        printf("console: started %s (id %ld)\n", argv[1], rc);
}

/* The id of the task the word names: a number, or a name that exactly one
 * live task has. 0 after printing why not. */
static uint32_t resolve_task(const char *word)
{
    if (*word >= '0' && *word <= '9') {
        uint32_t id = 0;
        for (const char *p = word; *p; p++) {
            if (*p < '0' || *p > '9') {
                printf("console: '%s' is neither a task id nor a name\n", word);
                return 0;
            }
            id = id * 10 + (uint32_t)(*p - '0');
        }
        return id;
    }
    unsigned n = list_tasks(), found = 0;
    uint32_t id = 0;
    for (unsigned i = 0; i < n; i++)
        if (tasks[i].state == MICA_TASK_LIVE && strcmp(tasks[i].name, word) == 0) {
            id = tasks[i].id;
            found++;
        }
    if (found == 0)
        printf("console: no task called '%s' (see ps)\n", word);
    else if (found > 1)
        printf("console: %u tasks are called '%s': give the id (see ps)\n", found, word);
    return found == 1 ? id : 0;
}

static void cmd_kill(int argc, char **argv)
{
    if (argc != 2) {
        printf("console: usage: kill TASK (an id or a name, see ps)\n");
        return;
    }
    uint32_t id = resolve_task(argv[1]);
    if (!id)
        return;
    long h = grant("init");
    if (h < 0) {
        printf("console: kill: no way to reach init (boot.cfg: send:init)\n");
        return;
    }
    struct mica_msg m = {.label = INIT_KILL, .w = {id}};
    long rc = call((uint64_t)h, &m);
    if (rc < 0)
        printf("console: kill %s: %s%s\n", argv[1], mica_error_name(rc),
               rc == -MICA_ENOENT ? " (init holds no handle to it)"
               : rc == -MICA_EPERM ? " (init itself)" : "");
    else
        printf("console: killed task %u\n", (unsigned)id);
}

static void cmd_faults(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long h = grant(MICA_VM_PAGER_GRANT);
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    if (h < 0 || !buf) {
        printf("console: faults: no pager (boot.cfg: pager:pager)\n");
        return;
    }
    static char lines[16][256];
    unsigned n = 0;
    uint64_t total = 0;
    for (; n < 16; n++) {
        struct mica_msg m = {.label = PAGER_VM_FAULTS, .w = {n}};
        long rc = call((uint64_t)h, &m);
        total = m.w[1];
        if (rc < 0)
            break;
        size_t len = MICA_MSG_LEN(m.label);
        if (len >= sizeof lines[n])
            len = sizeof lines[n] - 1;
        memcpy(lines[n], buf->data, len);
        lines[n][len] = '\0';
    }
    while (n-- > 0) /* oldest first */
        printf("  %s\n", lines[n]);
    printf("  %llu fault decisions since boot (the last 16 are kept)\n", (unsigned long long)total);
}

/* Set the log level of one server: through the console's own grants for
 * the pager and the name service, else by looking the name up. */
static void set_level(const char *server, int level)
{
    long prev;
    if (strcmp(server, "console") == 0) {
        prev = mica_log_set_level(level);
    } else {
        long h = -MICA_ENOENT, own = 0;
        if (strcmp(server, "pager") == 0 || strcmp(server, "names") == 0 ||
            strcmp(server, "init") == 0)
            h = grant(server);
        else if ((h = mica_name_lookup(server, 0)) >= 0)
            own = 1;
        if (h < 0) {
            printf("console: log: no server called '%s' (see servers)\n", server);
            return;
        }
        struct mica_msg m = {.label = MICA_LOG_LABEL, .w = {(uint64_t)level}};
        prev = call((uint64_t)h, &m);
        if (own)
            mica_handle_close((uint64_t)h);
    }
    if (prev < 0)
        printf("console: log: %s: %s\n", server, mica_error_name(prev));
    else
        printf("  %s: log level %s -> %s\n", server, mica_log_level_name(prev),
               mica_log_level_name(level));
}

static void cmd_log(int argc, char **argv)
{
    int level = argc >= 2 ? mica_log_level_parse(argv[1]) : -1;
    if (argc < 2 || argc > 3 || level < 0) {
        printf("console: usage: log error|warn|info|debug [SERVER]\n");
        return;
    }
    if (argc == 3) {
        set_level(argv[2], level);
        return;
    }
    /* Every server: the pager, the name service and each registered name. */
    set_level("pager", level);
    set_level("names", level);
    long h = grant(MICA_NAMES_GRANT);
    struct mica_ipc_buffer *buf = mica_ipc_buffer();
    for (uint64_t slot = 0; h >= 0 && buf;) {
        struct mica_msg m = {.label = NAMES_LIST, .w = {slot}};
        if (call((uint64_t)h, &m) < 0)
            break;
        char name[MICA_NAME_MAX];
        size_t len = MICA_MSG_LEN(m.label);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, buf->data, len);
        name[len] = '\0';
        slot = m.w[1] + 1;
        set_level(name, level);
    }
}

/* inject list | inject arm SPEC | inject disarm POINT|all | inject seed N:
 * the kernel's injection points through the control object's handle. */
static void cmd_inject(int argc, char **argv)
{
    long h = grant("inject");
    if (h < 0) {
        printf("console: inject: no fault-injection control (boot.cfg: inject=inject:all)\n");
        return;
    }
    const char *op = argc >= 2 ? argv[1] : "list";
    long rc = 0;
    if (strcmp(op, "list") == 0 && argc <= 2) {
        static struct mica_inject_point pts[32];
        long n = mica_inject_list(h, pts, 32);
        if (n < 0) {
            printf("console: inject: %s\n", mica_error_name(n));
            return;
        }
        printf("  %-16s %-6s %8s %6s %6s %8s\n", "POINT", "ARMED", "CALLS", "FIRED", "TIMES",
               "LAST ID");
        for (long i = 0; i < n && i < 32; i++)
            printf("  %-16s %-6s %8llu %6llu %6lld %8llu\n", pts[i].name,
                   pts[i].armed ? "yes" : "no", (unsigned long long)pts[i].calls,
                   (unsigned long long)pts[i].fired, (long long)pts[i].times_left,
                   (unsigned long long)pts[i].last_id);
        printf("  %lld faults injected since boot\n", (long long)mica_info(MICA_INFO_INJECTED));
        return;
    } else if (strcmp(op, "arm") == 0 && argc == 3) {
        rc = mica_inject_arm(h, argv[2]);
        if (rc >= 0)
            printf("  armed %s\n", argv[2]);
    } else if (strcmp(op, "disarm") == 0 && argc == 3) {
        if (strcmp(argv[2], "all") == 0)
            rc = mica_inject_disarm(h, MICA_INJECT_ALL);
        else if ((rc = mica_inject_find(h, argv[2])) >= 0)
            rc = mica_inject_disarm(h, (uint64_t)rc);
        if (rc >= 0)
            printf("  disarmed %s\n", argv[2]);
    } else if (strcmp(op, "seed") == 0 && argc == 3) {
        uint64_t seed = 0;
        for (const char *p = argv[2]; *p >= '0' && *p <= '9'; p++)
            seed = seed * 10 + (uint64_t)(*p - '0');
        rc = mica_inject_seed(h, seed);
        if (rc >= 0)
            printf("  seed %llu\n", (unsigned long long)seed);
    } else {
        printf("console: usage: inject [list] | arm POINT[:knob=value,...] | disarm POINT|all | "
               "seed N\n");
        return;
    }
    if (rc < 0)
        printf("console: inject %s: %s\n", op, mica_error_name(rc));
}

static void cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    command_help();
}

static const struct {
    const char *name;
    void (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"help", cmd_help, "this list"},
    {"ps", cmd_ps, "tasks: id, name, state, pager, threads, pages, frames charged, faults"},
    {"mem", cmd_mem, "frame allocator, slab caches and kernel heap"},
    {"servers", cmd_servers, "the names registered with the name service and their servers"},
    {"run", cmd_run, "run PROGRAM [ARGS]: start a boot module (e.g. run crashme)"},
    {"kill", cmd_kill, "kill TASK: end a task started by init, by id or name"},
    {"faults", cmd_faults, "the pager's recent fault decisions"},
    {"log", cmd_log, "log LEVEL [SERVER]: error, warn, info or debug, for one or every server"},
    {"inject", cmd_inject, "inject [list] | arm SPEC | disarm POINT|all | seed N: fault injection"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void command_help(void)
{
    for (unsigned i = 0; i < NCOMMANDS; i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].help);
    printf("  Keys: backspace, ^U (erase line), ^C (drop line), up/down (history); "
           "quit QEMU: Ctrl-A then X\n");
}

void command_run(char *line)
{
    char *argv[WORDS_MAX];
    int argc = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (argc == WORDS_MAX) {
            printf("console: too many words (at most %d)\n", WORDS_MAX);
            return;
        }
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    if (argc == 0)
        return;
    for (unsigned i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[0], commands[i].name) == 0) {
            commands[i].fn(argc, argv);
            return;
        }
    printf("console: no command '%s' (try help)\n", argv[0]);
}
