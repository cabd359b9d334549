/* init's control endpoint: after the boot, init serves requests on the
 * endpoint boot.cfg calls "init" (`endpoint init`), if there is one. A
 * program with `send:init` on its line (the console) may ask init to start
 * a program from the boot modules or to kill a task init holds a handle
 * to: a privilege given in boot.cfg, as every grant is. The protocol is
 * libsys mica/init.h. */
#pragma once

#include <stdint.h>

#include "init.h"

/* The endpoint's name in boot.cfg. */
#define INIT_CONTROL_ENDPOINT "init"

/* Serve INIT_RUN and INIT_KILL on ep for ever. */
__attribute__((noreturn)) void control_serve(struct init_state *st, uint64_t ep);
