/* init's control requests, served on init's own endpoint (supervise.c,
 * named "init" for send:init grants) beside the supervision requests. A
 * program with `send:init` on its line (the console) may ask init to start
 * a program from the boot modules or to kill a task init holds a handle
 * to: a privilege given in boot.cfg, as every grant is. The protocol is
 * libsys mica/init.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "init.h"

/* Answer req if it is INIT_RUN or INIT_KILL (mica/init.h): fills reply
 * (label 0, status in w[0]) and returns true; false for any other label. */
bool control_request(struct init_state *st, const struct mica_msg *req, struct mica_msg *reply);
