/* init's control endpoint (control.h): starting a program on request, as
 * a boot.cfg line would, and killing a task through init's handle. */
#include "control.h"

#include <mica/init.h>
#include <mica/stdio.h>
#include <mica/string.h>

static struct init_state *state;
static struct mica_ipc_buffer *ipcbuf; /* init's, mica_ipc_buffer() */

/* Whether the words of text name a grant of kind ("pager:") or one named
 * name ("names", as in send:names or names=...). */
static int mentions(const char *text, const char *what)
{
    size_t n = strlen(what);
    for (const char *p = text; *p; p++)
        if ((p == text || p[-1] == ' ') && strncmp(p, what, n) == 0)
            return 1;
    return 0;
}

/* INIT_RUN: the new task's id, or -MICA_E*. */
static long on_run(const struct mica_msg *req)
{
    static char text[MICA_ARGS_MAX + 64];
    static struct bootcfg_line line;
    size_t n = MICA_MSG_LEN(req->label);
    if (n == 0 || n >= MICA_ARGS_MAX)
        return n ? -MICA_E2BIG : -MICA_EINVAL;
    char request[MICA_ARGS_MAX];
    memcpy(request, ipcbuf->data, n); /* init_start's calls reuse the buffer */
    request[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (request[i] == '\n' || request[i] == '\r' || request[i] == '#')
            return -MICA_EINVAL; /* one line, no comment */
    /* The program name first, then the default grants, then the rest. */
    char *rest = strchr(request, ' ');
    if (rest)
        *rest++ = '\0';
    int pager = !mentions(rest ? rest : "", "pager:") && init_find_endpoint(state, "pager") >= 0;
    int names = !mentions(rest ? rest : "", "send:names") && init_find_endpoint(state, "names") >= 0;
    snprintf(text, sizeof text, "demo %s%s%s %s", request, pager ? " pager:pager" : "",
             names ? " send:names" : "", rest ? rest : "");
    struct bootcfg_cursor c;
    bootcfg_open(&c, text, strlen(text));
    if (!bootcfg_next(&c, &line))
        return -MICA_EINVAL;
    if (line.kind == BOOTCFG_ERROR) {
        printf("init: run %s: %s\n", request, line.problem);
        return -MICA_EINVAL;
    }
    if (!mica_find_module(state->si, line.name))
        return -MICA_ENOENT;
    long h = init_start_new(state, &line); /* init keeps the handle: the task lives */
    if (h < 0)
        return h;
    struct mica_task_info info;
    long rc = mica_task_info((uint64_t)h, &info);
    return rc < 0 ? rc : (long)info.id;
}

/* INIT_KILL: 0 or -MICA_E*. */
static long on_kill(const struct mica_msg *req)
{
    uint64_t id = req->w[0];
    if (id == state->si->task_id)
        return -MICA_EPERM;
    for (uint64_t h = 0; h < MICA_HANDLE_MAX; h++) {
        struct mica_task_info info;
        if (mica_task_info(h, &info) == 0 && info.id == id)
            return info.state == MICA_TASK_LIVE ? mica_task_kill(h) : -MICA_EDEAD;
    }
    return -MICA_ENOENT;
}

bool control_request(struct init_state *st, const struct mica_msg *req, struct mica_msg *reply)
{
    state = st;
    ipcbuf = mica_ipc_buffer(); /* registered by init's first call */
    switch (MICA_MSG_LABEL(req->label)) {
    case INIT_RUN:
        reply->w[0] = (uint64_t)on_run(req);
        return true;
    case INIT_KILL:
        reply->w[0] = (uint64_t)on_kill(req);
        return true;
    default:
        return false;
    }
}
