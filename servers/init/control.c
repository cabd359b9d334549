/* init's control endpoint (control.h): starting a program on request, as
 * a boot.cfg line would, and killing a task through init's handle. */
#include "control.h"

#include <mica/init.h>
#include <mica/server.h>
#include <mica/stdio.h>
#include <mica/string.h>

static const struct control_ops *init;
static struct mica_ipc_buffer *ipcbuf; /* init's, mica_ipc_buffer() */

static int status(struct mica_msg *reply, long rc)
{
    reply->w[0] = (uint64_t)rc;
    return MICA_SERVER_REPLY;
}

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

static int on_run(const struct mica_msg *req, struct mica_msg *reply)
{
    static char text[MICA_ARGS_MAX + 64];
    static struct bootcfg_line line;
    size_t n = MICA_MSG_LEN(req->label);
    if (n == 0 || n >= MICA_ARGS_MAX)
        return status(reply, n ? -MICA_E2BIG : -MICA_EINVAL);
    char request[MICA_ARGS_MAX];
    memcpy(request, ipcbuf->data, n); /* starting it reuses the buffer */
    request[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (request[i] == '\n' || request[i] == '\r' || request[i] == '#')
            return status(reply, -MICA_EINVAL); /* one line, no comment */
    /* The program name first, then the default grants, then the rest. */
    char *rest = strchr(request, ' ');
    if (rest)
        *rest++ = '\0';
    int pager = !mentions(rest ? rest : "", "pager:") && init->has_endpoint(init->ctx, "pager");
    int names = !mentions(rest ? rest : "", "send:names") && init->has_endpoint(init->ctx, "names");
    snprintf(text, sizeof text, "demo %s%s%s %s", request, pager ? " pager:pager" : "",
             names ? " send:names" : "", rest ? rest : "");
    struct bootcfg_cursor c;
    bootcfg_open(&c, text, strlen(text));
    if (!bootcfg_next(&c, &line))
        return status(reply, -MICA_EINVAL);
    if (line.kind == BOOTCFG_ERROR) {
        printf("init: run %s: %s\n", request, line.problem);
        return status(reply, -MICA_EINVAL);
    }
    if (!mica_find_module(init->si, line.name))
        return status(reply, -MICA_ENOENT);
    long h = init->start(init->ctx, &line); /* init keeps the handle: the task lives */
    if (h < 0)
        return status(reply, h);
    struct mica_task_info info;
    long rc = mica_task_info((uint64_t)h, &info);
    return status(reply, rc < 0 ? rc : (long)info.id);
}

static int on_kill(const struct mica_msg *req, struct mica_msg *reply)
{
    uint64_t id = req->w[0];
    if (id == init->si->task_id)
        return status(reply, -MICA_EPERM);
    for (uint64_t h = 0; h < MICA_HANDLE_MAX; h++) {
        struct mica_task_info info;
        if (mica_task_info(h, &info) == 0 && info.id == id)
            return status(reply, info.state == MICA_TASK_LIVE ? mica_task_kill(h) : -MICA_EDEAD);
    }
    return status(reply, -MICA_ENOENT);
}

static const struct mica_server_op requests[] = {
    {INIT_RUN, on_run},
    {INIT_KILL, on_kill},
};

void control_serve(const struct control_ops *ops, uint64_t ep)
{
    init = ops;
    /* Requests bring data into the buffer init's own calls use too
     * (pager_link.c); on_run copies it out first. */
    ipcbuf = mica_ipc_buffer();
    long rc = ipcbuf ? mica_server_run(ep, requests, sizeof requests / sizeof requests[0]) : -MICA_EFAULT;
    printf("init: control endpoint: %s\n", mica_error_name(rc));
    for (;;)
        mica_yield();
}
