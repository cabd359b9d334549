/* init's state and the calls its parts share: main.c reads boot.cfg and
 * starts programs; supervise.c watches them and restarts the servers
 * marked restart; control.c answers the console's requests; pager_link.c
 * talks to the pager and the name service. */
#pragma once

#include <mica/start.h>
#include <mica/sys.h>

#include "bootcfg.h"

#define ENDPOINTS_MAX 16
#define SERVERS_MAX   16 /* servers a later task: grant can name */

struct init_state {
    const struct mica_start_info *si;
    int test_mode, bench_mode, workload_mode;
    uint64_t passed, failed;
    uint64_t started;  /* programs started so far; badges their send copies */
    long inject;       /* the fault-injection control (opened at the first inject:
                        * grant), or < 0 */
    unsigned nendpoints;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle;
    } endpoints[ENDPOINTS_MAX];
    unsigned nservers;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle; /* init's task handle (all rights) of its latest instance */
    } servers[SERVERS_MAX];
};

/* How often init tries a call again that the kernel refused for memory
 * (an allocation failure is often momentary, and an injected one is). */
#define INIT_ENOMEM_TRIES 16

/* mica_endpoint_create, tried again after a yield while it returns
 * -MICA_ENOMEM, at most INIT_ENOMEM_TRIES times. Returns the handle or
 * the last error. */
long init_endpoint_create(void);

/* A configuration problem on line l: one line, and a failure in test mode. */
void init_problem(struct init_state *st, const struct bootcfg_line *l, const char *what,
                  const char *name);

/* init's handle of the endpoint called name, or -MICA_ENOENT. */
long init_find_endpoint(const struct init_state *st, const char *name);

/* Replace init's handle of endpoint name (after its receive right was
 * given up). */
void init_set_endpoint(struct init_state *st, const char *name, uint64_t handle);

/* Start the program of line l with `badge` on its send copies (a restart
 * reuses its first badge, so its names and pager client keep it; a first
 * start takes the next badge). Returns init's task handle, or < 0 after a
 * line saying why. A restart prints no "started" line (the caller does)
 * and asks the pager to forget the dead instance before introducing the
 * new one. */
long init_start(struct init_state *st, const struct bootcfg_line *l, uint64_t badge,
                bool restart);

/* Start line l for the first time (the next badge) and watch it, as a
 * boot.cfg line; for INIT_RUN. Returns init's task handle or < 0 after a
 * line saying why. */
long init_start_new(struct init_state *st, const struct bootcfg_line *l);

/* init's handle of the endpoint line l has a pager: grant on, or -1. */
long init_line_pager(const struct init_state *st, const struct bootcfg_line *l);

/* Point the name of server l at task handle h (its new instance). */
void init_record_server(struct init_state *st, const struct bootcfg_line *l, long h);
