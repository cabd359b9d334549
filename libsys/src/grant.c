/* Handles by name (see mica/grant.h). crt0 calls grant_take to split the
 * names off the argument string before main runs. */
#include <mica/grant.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "grant_priv.h"

static char names[MICA_SPAWN_MAX_HANDLES][MICA_NAME_MAX];
static unsigned nnames;
static char program[MICA_NAME_MAX];

const char *grant_take(const char *args, const char *task_name)
{
    size_t pn = strnlen(task_name, sizeof program - 1);
    memcpy(program, task_name, pn);
    program[pn] = '\0';
    nnames = 0;
    if (args[0] != MICA_GRANTS_MARK)
        return args;
    const char *p = args + 1;
    while (*p && *p != MICA_GRANTS_MARK) {
        const char *end = p;
        while (*end && *end != ',' && *end != MICA_GRANTS_MARK)
            end++;
        size_t n = (size_t)(end - p);
        if (nnames < MICA_SPAWN_MAX_HANDLES) {
            /* A name init would never send stays empty (never found) but
             * keeps its place: the I-th name is handle I. */
            size_t keep = n < MICA_NAME_MAX ? n : 0;
            memcpy(names[nnames], p, keep);
            names[nnames++][keep] = '\0';
        }
        p = *end == ',' ? end + 1 : end;
    }
    return *p ? p + 1 : p;
}

long mica_grant_find(const char *name)
{
    /* The last of equal names wins: libsys's loader appends the child's
     * own "pager" after any the caller passed (mica/spawn.h). */
    for (unsigned i = nnames; i-- > 0;)
        if (names[i][0] && strcmp(names[i], name) == 0)
            return (long)i; /* init passes the handles in the order of the names */
    return -MICA_ENOENT;
}

long mica_grant(const char *name)
{
    long h = mica_grant_find(name);
    if (h >= 0)
        return h;
    printf("%s: no grant called \"%s\" (boot.cfg line gives: ", program, name);
    for (unsigned i = 0; i < nnames; i++)
        printf("%s%s", i ? ", " : "", names[i]);
    printf("%s)\n", nnames ? "" : "none");
    return -MICA_ENOENT;
}

long mica_grants_encode(char *dst, size_t size, const char *const *list, unsigned n,
                        const char *args)
{
    size_t len = 0, al = strlen(args);
    if (n == 0) {
        if (al + 1 > size)
            return -1;
        memcpy(dst, args, al + 1);
        return (long)al;
    }
    if (size < 2)
        return -1;
    dst[len++] = MICA_GRANTS_MARK;
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(list[i]);
        if (len + l + 2 > size)
            return -1;
        if (i)
            dst[len++] = ',';
        memcpy(dst + len, list[i], l);
        len += l;
    }
    dst[len++] = MICA_GRANTS_MARK;
    if (len + al + 1 > size)
        return -1;
    memcpy(dst + len, args, al + 1);
    return (long)(len + al);
}
