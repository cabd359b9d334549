/* Inside libsys: crt0's half of mica/grant.h. */
#pragma once

/* Record the grant names at the start of args (if any) for mica_grant,
 * and task_name for its error lines. Returns where the arguments proper
 * begin (args itself when there are no names). */
const char *grant_take(const char *args, const char *task_name);
