/* Parser for the boot configuration (module "bootcfg"): one directive per
 * line,
 *     endpoint EP                    create an endpoint called EP
 *     server NAME [GRANTS] [ARGS]    start module NAME, do not wait
 *     test NAME [GRANTS] [ARGS]      test mode only: run it, wait, add up
 *     bench NAME [GRANTS] [ARGS]     bench mode only: run it, wait
 *     demo NAME [GRANTS] [ARGS]      normal mode only (make run): start it, do
 *                                    not wait (a client showing a server at work)
 *     workload NAME [GRANTS] [ARGS]  workload mode only (kernel command line
 *                                    "workload", fault-injection campaigns):
 *                                    run it, wait, add up like a test
 *     # comment                      (also after leading blanks); blank lines
 * GRANTS are the words right after NAME of the form [GNAME=]KIND:TARGET:
 *     recv:EP    the endpoint EP with all rights (the serving side)
 *     send:EP    a copy of EP with SEND and GRANT rights, badged per program
 *     pager:EP   a send copy like send:, and EP, served by servers/pager,
 *                becomes the program's pager (at most one per line)
 *     task:NAME  the task of an earlier `server NAME` line (its instance
 *                of the moment), with the MAP, GRANT, KILL and WAIT rights:
 *                its memory, its frame quota, its end (for tests that limit
 *                or kill a server)
 *     inject:all the kernel's fault-injection control object (every point;
 *                docs/fault-injection.md), usually named: inject=inject:all
 * Each grant has a name, GNAME, or TARGET when "GNAME=" is left out; the
 * program asks for its handle by that name (mica_grant("echo"), libsys
 * mica/grant.h), so the order of the words does not matter to it. Names
 * are letters, digits, '_' and '-', unique on the line. init passes the
 * names in front of the arguments (MICA_GRANTS_MARK, mica/grant.h) and the
 * handles, in the order of the words, as handles 0, 1, ... Among the
 * grants may also stand
 *     provides:NAME  the program may register an endpoint under NAME with
 *                    the name service (servers/names, mica/names.h); no
 *                    handle, at most 8 per line.
 * and, on a server line only, the supervision option
 *     restart[=N[,backoff=T]]
 *                    when the server dies, init starts it again with the
 *                    same grants (servers/init/supervise.h), at most N
 *                    times (default 5, at most 1000); the k-th restart
 *                    waits T << (k-1) timer ticks (T default 10, at most
 *                    10000; 0: at once; the wait is capped at 1000 ticks).
 * ARGS is the rest of the line with outer blanks removed (it begins at the
 * first word that is not a grant). Words are separated by spaces or tabs.
 * The text need not be NUL-terminated and may end without a newline. Pure logic, tested on the host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mica/syscall.h>

enum bootcfg_kind { BOOTCFG_ENDPOINT, BOOTCFG_SERVER, BOOTCFG_TEST, BOOTCFG_BENCH,
                    BOOTCFG_DEMO, BOOTCFG_WORKLOAD, BOOTCFG_ERROR };

enum bootcfg_grant_kind { BOOTCFG_GRANT_RECV, BOOTCFG_GRANT_SEND, BOOTCFG_GRANT_PAGER,
                          BOOTCFG_GRANT_TASK, BOOTCFG_GRANT_INJECT,
                          BOOTCFG_PROVIDES /* parser only: no handle */ };

#define BOOTCFG_PROVIDES_MAX 8
#define BOOTCFG_RESTART_DEFAULT 5     /* restart alone: this many restarts */
#define BOOTCFG_BACKOFF_DEFAULT 10    /* and this back-off, in timer ticks */
#define BOOTCFG_RESTART_MAX     1000
#define BOOTCFG_BACKOFF_MAX     10000

struct bootcfg_grant {
    enum bootcfg_grant_kind kind;
    char name[MICA_NAME_MAX];   /* what the program asks mica_grant for */
    char target[MICA_NAME_MAX]; /* the endpoint's name, or the server's (TASK) */
};

struct bootcfg_line {
    enum bootcfg_kind kind;
    unsigned lineno;           /* 1-based */
    char name[MICA_NAME_MAX];  /* module and task name, or the endpoint's */
    char args[MICA_ARGS_MAX];  /* "" when none */
    unsigned ngrants;
    struct bootcfg_grant grants[MICA_SPAWN_MAX_HANDLES];
    unsigned nprovides;        /* provides:NAME words */
    char provides[BOOTCFG_PROVIDES_MAX][MICA_NAME_MAX];
    bool restart;              /* restart[=N[,backoff=T]] was given (server lines) */
    unsigned restart_max;      /* N: restarts allowed */
    unsigned restart_backoff;  /* T: ticks before the first restart, doubled each time */
    const char *problem;       /* BOOTCFG_ERROR: what is wrong */
};

struct bootcfg_cursor {
    const char *text;
    size_t len, pos;
    unsigned lineno;
};

/* Start reading text[0..len). */
void bootcfg_open(struct bootcfg_cursor *c, const char *text, size_t len);

/* Read the next directive (skipping comments and blank lines) into *out.
 * Returns 1 with *out filled (kind BOOTCFG_ERROR for a malformed line,
 * with the line number and problem; reading goes on after it), or 0 at
 * the end of the text. */
int bootcfg_next(struct bootcfg_cursor *c, struct bootcfg_line *out);
