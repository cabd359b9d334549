/* init's state while it works through boot.cfg, shared by main.c (the
 * boot) and control.c (requests after it). */
#pragma once

#include <mica/start.h>
#include <mica/sys.h>

#include "bootcfg.h"

#define ENDPOINTS_MAX 16
#define SERVERS_MAX   16 /* servers a later task: grant can name */

struct init_state {
    const struct mica_start_info *si;
    int test_mode, bench_mode;
    uint64_t passed, failed;
    uint64_t started;  /* programs started so far; badges their send copies */
    long pager_ep;     /* the last program's pager (init's handle), or -1 */
    uint64_t pager_badge; /* and the badge that names it there */
    unsigned nendpoints;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle;
    } endpoints[ENDPOINTS_MAX];
    unsigned nservers;
    struct {
        char name[MICA_NAME_MAX];
        uint64_t handle; /* init's task handle (all rights) */
    } servers[SERVERS_MAX];
};

/* Start module l->name with its args and handles (a boot.cfg line).
 * Returns the task handle (init keeps it) or < 0 after printing why not. */
long init_start(struct init_state *st, const struct bootcfg_line *l);

/* init's handle of the endpoint boot.cfg calls name, or -MICA_ENOENT. */
long find_endpoint(const struct init_state *st, const char *name);
