/* Levelled logging (mica/log.h). The level is the program's own, read
 * from its `log=LEVEL` argument before main and changed by
 * MICA_LOG_LABEL. */
#include <mica/errno.h>
#include <mica/log.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>

#include "log_priv.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};
#define NLEVELS (sizeof level_names / sizeof level_names[0])

int mica_log_current = MICA_LOG_INFO;

int mica_log_level_parse(const char *name)
{
    for (unsigned i = 0; i < NLEVELS; i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *mica_log_level_name(long l)
{
    return l >= 0 && (unsigned long)l < NLEVELS ? level_names[l] : "?";
}

/* The value of the first `log=` token of the arguments, or -1 (none, or
 * bad: reported). */
static int level_from_args(void)
{
    const struct mica_start_info *si = mica_get_start_info();
    const char *a = si ? si->args : "";
    for (const char *p = a; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if (end - p > 4 && strncmp(p, "log=", 4) == 0) {
            char word[16];
            size_t n = (size_t)(end - p - 4) < sizeof word - 1 ? (size_t)(end - p - 4)
                                                               : sizeof word - 1;
            memcpy(word, p + 4, n);
            word[n] = '\0';
            int l = mica_log_level_parse(word);
            if (l < 0)
                printf("%s: log=%s is not a level (error, warn, info, debug); using info\n",
                       si->name, word);
            return l;
        }
        p = end;
    }
    return -1;
}

void log_init(void)
{
    int l = level_from_args();
    if (l >= 0)
        mica_log_current = l;
}

enum mica_log_level mica_log_level(void)
{
    return (enum mica_log_level)mica_log_current;
}

long mica_log_set_level(long l)
{
    long old = mica_log_level();
    if (l < 0 || (unsigned long)l >= NLEVELS)
        return -MICA_EINVAL;
    mica_log_current = (int)l;
    return old;
}

void mica_log(enum mica_log_level l, const char *fmt, ...)
{
    if (!mica_log_enabled(l))
        return;
    char line[MICA_STDIO_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const struct mica_start_info *si = mica_get_start_info();
    printf("%s: %s%s\n", si ? si->name : "?", l == MICA_LOG_DEBUG ? "debug: " : "", line);
}

void mica_log_answer(uint64_t w0, uint64_t *reply_w0)
{
    if (w0 == MICA_LOG_QUERY)
        *reply_w0 = (uint64_t)mica_log_level();
    else
        *reply_w0 = (uint64_t)mica_log_set_level((long)w0);
}
