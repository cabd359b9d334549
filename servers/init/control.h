/* init's control endpoint: after the boot, init serves requests on the
 * endpoint boot.cfg calls "init" (`endpoint init`), if there is one. A
 * program with `send:init` on its line (the console) may ask init to start
 * a program from the boot modules or to kill a task init holds a handle
 * to: a privilege given in boot.cfg, as every grant is. The protocol is
 * libsys mica/init.h. */
#pragma once

#include <stdint.h>
#include <mica/start.h>

#include "bootcfg.h"

/* The endpoint's name in boot.cfg. */
#define INIT_CONTROL_ENDPOINT "init"

/* What the requests need from the rest of init (main.c). */
struct control_ops {
    const struct mica_start_info *si; /* init's: the boot modules, its own id */
    void *ctx;                        /* passed to the two functions */
    /* Start a boot.cfg line as the boot does; the task handle (init
     * keeps it) or < 0 after printing why not. */
    long (*start)(void *ctx, const struct bootcfg_line *l);
    /* Whether boot.cfg created an endpoint called name. */
    int (*has_endpoint)(void *ctx, const char *name);
};

/* Serve INIT_RUN and INIT_KILL on ep for ever. */
__attribute__((noreturn)) void control_serve(const struct control_ops *ops, uint64_t ep);
