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

/* Parse the grant words at *pp (advancing it past them). Returns NULL or
 * the problem. */
static const char *parse_grants(const char **pp, const char *end, struct bootcfg_line *out)
{
    for (;;) {
        const char *w = skip_blanks(*pp, end), *we = word_end(w, end);
        size_t n = (size_t)(we - w);
        enum bootcfg_grant_kind kind;
        size_t pl = 5; /* prefix length */
        if (has_prefix(w, n, "recv:"))
            kind = BOOTCFG_GRANT_RECV;
        else if (has_prefix(w, n, "send:"))
            kind = BOOTCFG_GRANT_SEND;
        else if (has_prefix(w, n, "pager:"))
            kind = BOOTCFG_GRANT_PAGER, pl = 6;
        else if (has_prefix(w, n, "task:"))
            kind = BOOTCFG_GRANT_TASK;
        else
            return NULL;
        if (out->ngrants == MICA_SPAWN_MAX_HANDLES)
            return "too many handles (at most 8)";
        if (n == pl)
            return "missing name after recv:, send:, pager: or task:";
        if (kind == BOOTCFG_GRANT_PAGER)
            for (unsigned i = 0; i < out->ngrants; i++)
                if (out->grants[i].kind == BOOTCFG_GRANT_PAGER)
                    return "more than one pager: grant";
        struct bootcfg_grant *g = &out->grants[out->ngrants++];
        g->kind = kind;
        if (copy_field(g->target, sizeof(g->target), w + pl, n - pl) < 0)
            return "name too long after recv:, send:, pager: or task:";
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
    } else if (word_is(kw, n, "server") || word_is(kw, n, "test") || word_is(kw, n, "bench")) {
        out->kind = kw[0] == 's' ? BOOTCFG_SERVER : kw[0] == 't' ? BOOTCFG_TEST : BOOTCFG_BENCH;
        problem = parse_program(p, end, out);
    } else {
        problem = "unknown directive (expected endpoint, server, test or bench)";
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
