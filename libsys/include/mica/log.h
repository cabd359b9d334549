/* Logging with levels for servers and programs. Each line is written as
 *     PROGRAM: message            (error, warn, info)
 *     PROGRAM: debug: message     (debug)
 * where PROGRAM is the task's name, and only when its level is at or
 * below the program's current level (default MICA_LOG_INFO).
 *
 * The level is set per program in boot/boot.cfg with a `log=LEVEL` token
 * among the line's arguments (`server kv ... log=debug`; the token stays
 * in the arguments the program sees) and at run time with a
 * MICA_LOG_LABEL request, which every server loop of mica/server.h
 * answers by itself (the console's `log LEVEL [SERVER]` sends it). */
#pragma once

#include <stdint.h>

enum mica_log_level {
    MICA_LOG_ERROR = 0,
    MICA_LOG_WARN = 1,
    MICA_LOG_INFO = 2,
    MICA_LOG_DEBUG = 3,
};

/* Request label answered by mica_server_run (and the pager): w[0] = a
 * level to set, or MICA_LOG_QUERY to leave it; the reply has label 0 and
 * w[0] = the level before the request, or -MICA_EINVAL for a bad level. */
#define MICA_LOG_LABEL 0xffffffe0u
#define MICA_LOG_QUERY 0xffu

/* Print one line (a newline is added) at `level` if the program's level
 * lets it through. */
void mica_log(enum mica_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mica_log_error(...) mica_log(MICA_LOG_ERROR, __VA_ARGS__)
#define mica_log_warn(...)  mica_log(MICA_LOG_WARN, __VA_ARGS__)
#define mica_log_info(...)  mica_log(MICA_LOG_INFO, __VA_ARGS__)
#define mica_log_debug(...) mica_log(MICA_LOG_DEBUG, __VA_ARGS__)

/* The program's level now: read it, never write it (mica_log_set_level
 * does). libsys sets it from `log=LEVEL` in the program's arguments
 * before main (an unknown LEVEL is reported and info kept). */
extern int mica_log_current;

/* True if a line at `level` would be printed: one compare, for the
 * paths that must not pay for formatting (the pager's fault path). */
static inline int mica_log_enabled(enum mica_log_level level)
{
    return (int)level <= mica_log_current;
}

/* The program's level now. */
enum mica_log_level mica_log_level(void);

/* Set the level; returns the previous one, or -MICA_EINVAL if `level` is
 * not a level. */
long mica_log_set_level(long level);

/* The level called `name` ("error", "warn", "info", "debug"), or -1. */
int mica_log_level_parse(const char *name);

/* The name of a level, "?" for a bad one. Never NULL. */
const char *mica_log_level_name(long level);

/* Answer a MICA_LOG_LABEL request (req w[0]) into reply w[0]: for server
 * loops that are not mica_server_run. */
void mica_log_answer(uint64_t w0, uint64_t *reply_w0);
