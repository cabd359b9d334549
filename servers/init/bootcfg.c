/* Boot configuration parser (see bootcfg.h). */
#include "bootcfg.h"

#include <mica/string.h>

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Copy s[0..n) into dst[size] with a NUL; returns 0, or -1 if too long. */
static int copy_field(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static const char *word_end(const char *p, const char *end)
{
    while (p < end && !is_blank(*p))
        p++;
    return p;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return n == strlen(kw) && memcmp(w, kw, n) == 0;
}

static int has_prefix(const char *w, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(w, prefix, pl) == 0;
}

/* The grant kind for a word's "KIND:" part, with the prefix length in
 * *pl; -1 if the word is not a grant. */
static int grant_kind(const char *w, size_t n, size_t *pl)
{
    static const struct {
        const char *prefix;
        int kind;
    } kinds[] = {{"recv:", BOOTCFG_GRANT_RECV},   {"send:", BOOTCFG_GRANT_SEND},
                 {"pager:", BOOTCFG_GRANT_PAGER}, {"task:", BOOTCFG_GRANT_TASK},
                 {"inject:", BOOTCFG_GRANT_INJECT}, {"provides:", BOOTCFG_PROVIDES}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (has_prefix(w, n, kinds[i].prefix)) {
            *pl = strlen(kinds[i].prefix);
            return kinds[i].kind;
        }
    return -1;
}

/* A grant's name: letters, digits, '_' and '-' (it is what a program
 * asks mica_grant for, and travels in a comma-separated list). */
static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Record "provides:NAME" (w[0..n) past the prefix). Returns NULL or the
 * problem. */
static const char *add_provides(struct bootcfg_line *out, const char *w, size_t n)
{
    if (n == 0)
        return "missing name after provides:";
    if (!valid_name(w, n))
        return "bad name after provides: (letters, digits, _ and - only)";
    if (out->nprovides == BOOTCFG_PROVIDES_MAX)
        return "too many provides: (at most 8)";
    for (unsigned i = 0; i < out->nprovides; i++)
        if (strlen(out->provides[i]) == n && memcmp(out->provides[i], w, n) == 0)
            return "the same provides: twice";
    if (copy_field(out->provides[out->nprovides], MICA_NAME_MAX, w, n) < 0)
        return "name too long after provides:";
    out->nprovides++;
    return NULL;
}

/* Record one grant word [NAME=]KIND:TARGET. Returns NULL or the problem. */
static const char *add_grant(struct bootcfg_line *out, const char *w, size_t n)
{
    const char *name = w;
    size_t name_len = 0, pl = 0;
    const char *eq = memchr(w, '=', n), *colon = memchr(w, ':', n);
    int named = eq && (!colon || eq < colon);
    if (named) {
        name_len = (size_t)(eq - w);
        w = eq + 1;
        n -= name_len + 1;
    }
    int kind = grant_kind(w, n, &pl);
    if (kind == BOOTCFG_PROVIDES)
        return named ? "provides: takes no NAME=" : add_provides(out, w + pl, n - pl);
    if (out->ngrants == MICA_SPAWN_MAX_HANDLES)
        return "too many handles (at most 8)";
    if (n == pl)
        return "missing name after recv:, send:, pager:, task: or inject:";
    if (!valid_name(w + pl, n - pl))
        return "bad name after recv:, send:, pager:, task: or inject: (letters, digits, _ and - only)";
    if (!named) {
        name = w + pl; /* the grant is called after its target */
        name_len = n - pl;
    } else if (!valid_name(name, name_len)) {
        return "bad grant name before = (letters, digits, _ and - only)";
    }
    if (kind == BOOTCFG_GRANT_INJECT && !(n - pl == 3 && memcmp(w + pl, "all", 3) == 0))
        return "inject: takes the target all (inject:all, every point)";
    if (kind == BOOTCFG_GRANT_PAGER)
        for (unsigned i = 0; i < out->ngrants; i++)
            if (out->grants[i].kind == BOOTCFG_GRANT_PAGER)
                return "more than one pager: grant";
    for (unsigned i = 0; i < out->ngrants; i++)
        if (strlen(out->grants[i].name) == name_len &&
            memcmp(out->grants[i].name, name, name_len) == 0)
            return "two grants with the same name (name one of them: NAME=KIND:TARGET)";
    struct bootcfg_grant *g = &out->grants[out->ngrants];
    g->kind = (enum bootcfg_grant_kind)kind;
    if (copy_field(g->target, sizeof(g->target), w + pl, n - pl) < 0)
        return "name too long after recv:, send:, pager:, task: or inject:";
    if (copy_field(g->name, sizeof(g->name), name, name_len) < 0)
        return "grant name too long before =";
    out->ngrants++;
    return NULL;
}

/* A decimal number of at most `max` from s[0..n). Returns it or -1. */
static long number(const char *s, size_t n, long max)
{
    long v = 0;
    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* Record "restart[=N[,backoff=T]]" (w[0..n)). Returns NULL or the problem. */
static const char *add_restart(struct bootcfg_line *out, const char *w, size_t n)
{
    if (out->restart)
        return "restart given twice";
    out->restart = true;
    out->restart_max = BOOTCFG_RESTART_DEFAULT;
    out->restart_backoff = BOOTCFG_BACKOFF_DEFAULT;
    if (n == 7)
        return NULL;
    const char *v = w + 8, *end = w + n;
    const char *comma = memchr(v, ',', (size_t)(end - v));
    const char *ve = comma ? comma : end;
    long max = number(v, (size_t)(ve - v), BOOTCFG_RESTART_MAX);
    if (w[7] != '=' || max < 0)
        return "bad restart= (restart, restart=N or restart=N,backoff=T; N at most 1000, "
               "T ticks at most 10000)";
    out->restart_max = (unsigned)max;
    if (!comma)
        return NULL;
    long ticks = -1;
    if ((size_t)(end - comma) > 9 && memcmp(comma + 1, "backoff=", 8) == 0)
        ticks = number(comma + 9, (size_t)(end - comma - 9), BOOTCFG_BACKOFF_MAX);
    if (ticks < 0)
        return "bad restart= (restart, restart=N or restart=N,backoff=T; N at most 1000, "
               "T ticks at most 10000)";
    out->restart_backoff = (unsigned)ticks;
    return NULL;
}

/* Whether w[0..n) is the restart option (restart, or restart=...). */
static int is_restart(const char *w, size_t n)
{
    return n >= 7 && memcmp(w, "restart", 7) == 0 && (n == 7 || w[7] == '=');
}

/* Parse the grant words at *pp (advancing it past them). Returns NULL or
 * the problem. */
static const char *parse_grants(const char **pp, const char *end, struct bootcfg_line *out)
{
    for (;;) {
        const char *w = skip_blanks(*pp, end), *we = word_end(w, end);
        size_t n = (size_t)(we - w), pl;
        if (is_restart(w, n)) {
            const char *problem = add_restart(out, w, n);
            if (problem)
                return problem;
            *pp = we;
            continue;
        }
        const char *eq = memchr(w, '=', n), *colon = memchr(w, ':', n);
        const char *kw = eq && colon && eq < colon ? eq + 1 : w;
        if (!colon || grant_kind(kw, (size_t)(we - kw), &pl) < 0)
            return NULL; /* the arguments begin here */
        const char *problem = add_grant(out, w, n);
        if (problem)
            return problem;
        *pp = we;
    }
}

/* The part after the directive keyword: NAME [GRANTS] [ARGS]. Returns
 * NULL or the problem. */
static const char *parse_program(const char *p, const char *end, struct bootcfg_line *out)
{
    const char *name = skip_blanks(p, end);
    p = word_end(name, end);
    if (p == name)
        return "missing module name";
    if (copy_field(out->name, sizeof(out->name), name, (size_t)(p - name)) < 0)
        return "module name too long";
    const char *problem = parse_grants(&p, end, out);
    if (problem)
        return problem;
    const char *args = skip_blanks(p, end);
    while (end > args && is_blank(end[-1]))
        end--;
    if (copy_field(out->args, sizeof(out->args), args, (size_t)(end - args)) < 0)
        return "arguments too long";
    return NULL;
}

static const char *parse_endpoint(const char *p, const char *end, struct bootcfg_line *out)
{
    const char *name = skip_blanks(p, end);
    p = word_end(name, end);
    if (p == name)
        return "missing endpoint name";
    if (copy_field(out->name, sizeof(out->name), name, (size_t)(p - name)) < 0)
        return "endpoint name too long";
    if (skip_blanks(p, end) != end)
        return "unexpected words after the endpoint name";
    return NULL;
}

/* Parse one non-empty, non-comment line [p, end) into *out. */
static void parse_line(const char *p, const char *end, struct bootcfg_line *out)
{
    const char *kw = p;
    p = word_end(p, end);
    size_t n = (size_t)(p - kw);
    const char *problem;
    if (word_is(kw, n, "endpoint")) {
        out->kind = BOOTCFG_ENDPOINT;
        problem = parse_endpoint(p, end, out);
    } else if (word_is(kw, n, "server") || word_is(kw, n, "test") || word_is(kw, n, "bench") ||
               word_is(kw, n, "demo") || word_is(kw, n, "workload")) {
        out->kind = kw[0] == 's'   ? BOOTCFG_SERVER
                    : kw[0] == 't' ? BOOTCFG_TEST
                    : kw[0] == 'b' ? BOOTCFG_BENCH
                    : kw[0] == 'w' ? BOOTCFG_WORKLOAD
                                   : BOOTCFG_DEMO;
        problem = parse_program(p, end, out);
        if (!problem && out->restart && out->kind != BOOTCFG_SERVER)
            problem = "restart is for server lines only";
    } else {
        problem = "unknown directive (expected endpoint, server, test, bench, demo or workload)";
    }
    if (problem) {
        out->kind = BOOTCFG_ERROR;
        out->problem = problem;
    }
}

void bootcfg_open(struct bootcfg_cursor *c, const char *text, size_t len)
{
    c->text = text;
    c->len = len;
    c->pos = 0;
    c->lineno = 0;
}

int bootcfg_next(struct bootcfg_cursor *c, struct bootcfg_line *out)
{
    while (c->pos < c->len) {
        const char *start = c->text + c->pos, *limit = c->text + c->len;
        const char *nl = start;
        while (nl < limit && *nl != '\n')
            nl++;
        c->pos = (size_t)(nl - c->text) + (nl < limit);
        c->lineno++;
        const char *p = skip_blanks(start, nl);
        if (p == nl || *p == '#')
            continue;
        memset(out, 0, sizeof(*out));
        out->lineno = c->lineno;
        if (memchr(p, '\0', (size_t)(nl - p))) {
            out->kind = BOOTCFG_ERROR;
            out->problem = "NUL byte in line";
            return 1;
        }
        parse_line(p, nl, out);
        return 1;
    }
    return 0;
}
