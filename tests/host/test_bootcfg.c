/* Host tests of init's boot-configuration parser (servers/init/bootcfg.c):
 * directives, handle grants, comments and blank lines, line endings, every
 * malformed-line report with its line number, length limits, and random
 * input checked for memory safety and output invariants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../servers/init/bootcfg.h"

static struct bootcfg_line out[64];

/* Parse text (exactly len bytes, in a heap buffer of that size so ASan
 * sees any overread); returns the number of directives. */
static int parse(const char *text, size_t len)
{
    char *buf = malloc(len ? len : 1);
    memcpy(buf, text, len);
    struct bootcfg_cursor c;
    bootcfg_open(&c, buf, len);
    int n = 0;
    while (n < 64 && bootcfg_next(&c, &out[n]))
        n++;
    free(buf);
    return n;
}

#define PARSE(s) parse(s, sizeof(s) - 1)

static void test_directives(void)
{
    int n = PARSE("# comment\n\nserver pager\n  test  t_ipc  a b\t c  \n\t# indented comment\n"
                  "test t_mem\r\nserver vfs --root /\n");
    CHECK_EQ(n, 4);
    CHECK_EQ(out[0].kind, BOOTCFG_SERVER);
    CHECK(strcmp(out[0].name, "pager") == 0 && out[0].args[0] == 0);
    CHECK_EQ(out[0].lineno, 3);
    CHECK_EQ(out[1].kind, BOOTCFG_TEST);
    CHECK(strcmp(out[1].name, "t_ipc") == 0);
    CHECK(strcmp(out[1].args, "a b\t c") == 0);
    CHECK_EQ(out[1].lineno, 4);
    CHECK(strcmp(out[2].name, "t_mem") == 0 && out[2].args[0] == 0); /* CR stripped */
    CHECK_EQ(out[2].lineno, 6);
    CHECK(strcmp(out[3].args, "--root /") == 0);
    CHECK_EQ(out[3].lineno, 7);
    CHECK_EQ(PARSE("demo test_hello send:names -v\n"), 1);
    CHECK_EQ(out[0].kind, BOOTCFG_DEMO);
    CHECK(strcmp(out[0].name, "test_hello") == 0 && out[0].ngrants == 1);
    CHECK(strcmp(out[0].args, "-v") == 0);
    CHECK_EQ(PARSE("workload workload pager:pager seed=3\n"), 1);
    CHECK_EQ(out[0].kind, BOOTCFG_WORKLOAD);
    CHECK(strcmp(out[0].name, "workload") == 0 && out[0].ngrants == 1);
    CHECK(strcmp(out[0].args, "seed=3") == 0);
}

static void test_no_trailing_newline_and_empty(void)
{
    CHECK_EQ(PARSE(""), 0);
    CHECK_EQ(PARSE("\n\n# x"), 0);
    CHECK_EQ(PARSE("test last"), 1);
    CHECK(strcmp(out[0].name, "last") == 0);
    CHECK_EQ(PARSE("server a\nserver b"), 2);
    CHECK(strcmp(out[1].name, "b") == 0);
    CHECK_EQ(out[1].lineno, 2);
}

static void test_malformed_lines(void)
{
    int n = PARSE("serve pager\nserver\ntest   \n#ok\nrun x\nserver good\nTEST x\n");
    CHECK_EQ(n, 6);
    CHECK_EQ(out[0].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[0].problem, "unknown directive") != NULL);
    CHECK_EQ(out[0].lineno, 1);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "missing module name") != NULL);
    CHECK_EQ(out[1].lineno, 2);
    CHECK(strstr(out[2].problem, "missing module name") != NULL);
    CHECK_EQ(out[2].lineno, 3);
    CHECK_EQ(out[3].kind, BOOTCFG_ERROR);
    CHECK_EQ(out[3].lineno, 5);
    CHECK_EQ(out[4].kind, BOOTCFG_SERVER); /* reading goes on after errors */
    CHECK_EQ(out[4].lineno, 6);
    CHECK_EQ(out[5].kind, BOOTCFG_ERROR); /* keywords are case-sensitive */
    static const char nul[] = "server a\0b\nserver c\n";
    CHECK_EQ(parse(nul, sizeof nul - 1), 2);
    CHECK_EQ(out[0].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[0].problem, "NUL") != NULL);
    CHECK_EQ(out[1].kind, BOOTCFG_SERVER);
}

static void test_endpoints_and_grants(void)
{
    int n = PARSE("endpoint echo\nserver ipc_echo recv:echo\n"
                  "test t send:echo send:log  -v recv:x\nbench b send:echo\n"
                  "endpoint\nendpoint a b\ntest t send:\n"
                  "test t send:a b=send:a c=send:a d=send:a e=send:a f=send:a g=send:a h=send:a i=send:a\n");
    CHECK_EQ(n, 8);
    CHECK_EQ(out[0].kind, BOOTCFG_ENDPOINT);
    CHECK(strcmp(out[0].name, "echo") == 0);
    CHECK_EQ(out[1].kind, BOOTCFG_SERVER);
    CHECK_EQ(out[1].ngrants, 1);
    CHECK_EQ(out[1].grants[0].kind, BOOTCFG_GRANT_RECV);
    CHECK(strcmp(out[1].grants[0].target, "echo") == 0);
    CHECK(out[1].args[0] == 0);
    CHECK_EQ(out[2].kind, BOOTCFG_TEST);
    CHECK_EQ(out[2].ngrants, 2); /* grants stop at the first other word */
    CHECK_EQ(out[2].grants[1].kind, BOOTCFG_GRANT_SEND);
    CHECK(strcmp(out[2].grants[1].target, "log") == 0);
    CHECK(strcmp(out[2].args, "-v recv:x") == 0);
    CHECK_EQ(out[3].kind, BOOTCFG_BENCH);
    CHECK_EQ(out[3].ngrants, 1);
    CHECK_EQ(out[4].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[4].problem, "missing endpoint name") != NULL);
    CHECK_EQ(out[5].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[5].problem, "unexpected words") != NULL);
    CHECK_EQ(out[6].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[6].problem, "missing name after") != NULL);
    CHECK_EQ(out[7].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[7].problem, "too many handles") != NULL);
    CHECK_EQ(out[7].lineno, 8);

    static char text[256];
    char ep[64];
    memset(ep, 'e', sizeof ep);
    int len = snprintf(text, sizeof text, "test t send:%.*s\ntest t send:%.*s\nendpoint %.*s\n",
                       MICA_NAME_MAX - 1, ep, MICA_NAME_MAX, ep, MICA_NAME_MAX, ep);
    CHECK_EQ(parse(text, (size_t)len), 3);
    CHECK_EQ(out[0].kind, BOOTCFG_TEST);
    CHECK_EQ(strlen(out[0].grants[0].target), MICA_NAME_MAX - 1);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "name too long after recv:, send:") != NULL);
    CHECK_EQ(out[2].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[2].problem, "endpoint name too long") != NULL);
}

/* pager:EP: a grant of its own kind, at most one per line. */
static void test_pager_grant(void)
{
    int n = PARSE("test t pager:pg send:echo -x\ntest t pager:\ntest t pager:a pager:b\n");
    CHECK_EQ(n, 3);
    CHECK_EQ(out[0].kind, BOOTCFG_TEST);
    CHECK_EQ(out[0].ngrants, 2);
    CHECK_EQ(out[0].grants[0].kind, BOOTCFG_GRANT_PAGER);
    CHECK(strcmp(out[0].grants[0].target, "pg") == 0);
    CHECK_EQ(out[0].grants[1].kind, BOOTCFG_GRANT_SEND);
    CHECK(strcmp(out[0].args, "-x") == 0);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "missing name after") != NULL);
    CHECK_EQ(out[2].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[2].problem, "more than one pager") != NULL);
}

/* task:NAME: a grant of its own kind, any number per line. */
static void test_task_grant(void)
{
    int n = PARSE("test t pager:pg task:pager task:echo -q\ntest t task:\n");
    CHECK_EQ(n, 2);
    CHECK(strcmp(out[0].grants[1].name, "pager") == 0);
    CHECK_EQ(out[0].kind, BOOTCFG_TEST);
    CHECK_EQ(out[0].ngrants, 3);
    CHECK_EQ(out[0].grants[1].kind, BOOTCFG_GRANT_TASK);
    CHECK(strcmp(out[0].grants[1].target, "pager") == 0);
    CHECK_EQ(out[0].grants[2].kind, BOOTCFG_GRANT_TASK);
    CHECK(strcmp(out[0].grants[2].target, "echo") == 0);
    CHECK(strcmp(out[0].args, "-q") == 0);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "missing name after") != NULL);
}

/* inject:all: the fault-injection control, usually named; no other target. */
static void test_inject_grant(void)
{
    int n = PARSE("test t inject=inject:all pager:pager x\ntest t inject:some\n"
                  "test t inject:\n");
    CHECK_EQ(n, 3);
    CHECK_EQ(out[0].ngrants, 2);
    CHECK_EQ(out[0].grants[0].kind, BOOTCFG_GRANT_INJECT);
    CHECK(strcmp(out[0].grants[0].name, "inject") == 0);
    CHECK(strcmp(out[0].grants[0].target, "all") == 0);
    CHECK(strcmp(out[0].args, "x") == 0);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(out[1].problem && strstr(out[1].problem, "inject:all") != NULL);
    CHECK_EQ(out[2].kind, BOOTCFG_ERROR);
}

/* out[i] is a malformed line whose problem mentions text. */
static void check_problem(int i, const char *text)
{
    CHECK_EQ(out[i].kind, BOOTCFG_ERROR);
    CHECK(out[i].problem && strstr(out[i].problem, text) != NULL);
}

/* Every grant has a name: its target, or NAME= before the kind; names
 * are unique on a line and made of letters, digits, _ and -. */
static void test_grant_names(void)
{
    int n = PARSE("test t pager:pager pager_task=task:pager send:echo x=y a:b\n"
                  "test t pager:pager task:pager\n"
                  "test t send:echo echo=recv:other\n"
                  "test t bad.name=send:echo\n"
                  "test t send:e.cho\n"
                  "test t =send:echo\n");
    CHECK_EQ(n, 6);
    CHECK_EQ(out[0].kind, BOOTCFG_TEST);
    CHECK_EQ(out[0].ngrants, 3);
    CHECK(strcmp(out[0].grants[0].name, "pager") == 0);
    CHECK(strcmp(out[0].grants[1].name, "pager_task") == 0);
    CHECK(strcmp(out[0].grants[1].target, "pager") == 0);
    CHECK_EQ(out[0].grants[1].kind, BOOTCFG_GRANT_TASK);
    CHECK(strcmp(out[0].grants[2].name, "echo") == 0);
    CHECK(strcmp(out[0].args, "x=y a:b") == 0); /* not grants: the arguments */
    check_problem(1, "two grants with the same name");
    check_problem(2, "two grants with the same name");
    check_problem(3, "bad grant name before =");
    check_problem(4, "bad name after");
    check_problem(5, "bad grant name before =");
}

/* provides:NAME: registration rights for the name service, no handle. */
static void test_provides(void)
{
    int n = PARSE("server kv send:names provides:kv provides:kv2 -v\n"
                  "server kv provides:\nserver kv provides:a provides:a\n"
                  "server kv x=provides:a\nserver kv provides:a/b\n"
                  "server kv provides:a provides:b provides:c provides:d provides:e "
                  "provides:f provides:g provides:h provides:i\n");
    CHECK_EQ(n, 6);
    CHECK_EQ(out[0].kind, BOOTCFG_SERVER);
    CHECK_EQ(out[0].ngrants, 1);
    CHECK_EQ(out[0].nprovides, 2);
    CHECK(strcmp(out[0].provides[0], "kv") == 0 && strcmp(out[0].provides[1], "kv2") == 0);
    CHECK(strcmp(out[0].args, "-v") == 0);
    check_problem(1, "missing name after provides:");
    check_problem(2, "the same provides: twice");
    check_problem(3, "provides: takes no NAME=");
    check_problem(4, "bad name after provides:");
    check_problem(5, "too many provides:");
}

/* restart[=N[,backoff=T]]: supervision of a server line. */
static void test_restart(void)
{
    int n = PARSE("server a recv:a restart -v\n"
                  "server b restart=3,backoff=0 recv:b\n"
                  "server c restart=7\n"
                  "test t restart\n"
                  "server d restart=x\nserver d restart=2,backof=1\n"
                  "server d restart=1001\nserver d restart=1,backoff=10001\n"
                  "server d restart restart\n"
                  "server e restarts\n");
    CHECK_EQ(n, 10);
    CHECK_EQ(out[0].kind, BOOTCFG_SERVER);
    CHECK(out[0].restart);
    CHECK_EQ(out[0].restart_max, BOOTCFG_RESTART_DEFAULT);
    CHECK_EQ(out[0].restart_backoff, BOOTCFG_BACKOFF_DEFAULT);
    CHECK_EQ(out[0].ngrants, 1);
    CHECK(strcmp(out[0].args, "-v") == 0);
    CHECK(out[1].restart && out[1].restart_max == 3 && out[1].restart_backoff == 0);
    CHECK_EQ(out[1].ngrants, 1);
    CHECK(out[2].restart && out[2].restart_max == 7 &&
          out[2].restart_backoff == BOOTCFG_BACKOFF_DEFAULT);
    check_problem(3, "restart is for server lines only");
    check_problem(4, "bad restart=");
    check_problem(5, "bad restart=");
    check_problem(6, "bad restart=");
    check_problem(7, "bad restart=");
    check_problem(8, "restart given twice");
    CHECK(!out[9].restart); /* not the option: an argument */
    CHECK(strcmp(out[9].args, "restarts") == 0);
}

static void test_length_limits(void)
{
    static char text[4096];
    char name[64];
    memset(name, 'n', sizeof name);
    int len = snprintf(text, sizeof text, "test %.*s\ntest %.*s\n", MICA_NAME_MAX - 1, name,
                       MICA_NAME_MAX, name);
    CHECK_EQ(parse(text, (size_t)len), 2);
    CHECK_EQ(out[0].kind, BOOTCFG_TEST);
    CHECK_EQ(strlen(out[0].name), MICA_NAME_MAX - 1);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "name too long") != NULL);

    static char args[MICA_ARGS_MAX + 1];
    memset(args, 'a', sizeof args);
    len = snprintf(text, sizeof text, "server s %.*s\nserver s %.*s\n", MICA_ARGS_MAX - 1,
                   args, MICA_ARGS_MAX, args);
    CHECK_EQ(parse(text, (size_t)len), 2);
    CHECK_EQ(out[0].kind, BOOTCFG_SERVER);
    CHECK_EQ(strlen(out[0].args), MICA_ARGS_MAX - 1);
    CHECK_EQ(out[1].kind, BOOTCFG_ERROR);
    CHECK(strstr(out[1].problem, "arguments too long") != NULL);
}

#include "rng.h"
static uint64_t rng_state = 0x853c49e6748fea9bULL;

/* Random texts over an alphabet rich in separators and keywords; every
 * result must satisfy the output contract. */
static void test_random_texts(void)
{
    static const char *pieces[] = { "server", "test", "bench", "endpoint", "demo", " ", "\t", "\n",
                                    "\r", "#", "x", "send:", "recv:", "pager", "\0", "ab", "=", "provides:",
                                    "task:", ".",
                                    "                                " };
    static char text[3000];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0, want = rng() % sizeof text;
        while (len < want) {
            const char *p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
            size_t pl = *p ? strlen(p) : 1;
            if (len + pl > want)
                break;
            memcpy(text + len, p, pl);
            len += pl;
        }
        int n = parse(text, len);
        unsigned last = 0;
        for (int i = 0; i < n; i++) {
            CHECK(out[i].lineno > last);
            last = out[i].lineno;
            if (out[i].kind == BOOTCFG_ERROR) {
                CHECK(out[i].problem != NULL);
                continue;
            }
            CHECK(out[i].ngrants <= MICA_SPAWN_MAX_HANDLES);
            for (unsigned g = 0; g < out[i].ngrants; g++) {
                size_t el = strlen(out[i].grants[g].target);
                CHECK(el > 0 && el < MICA_NAME_MAX);
                CHECK(strpbrk(out[i].grants[g].target, " \t\r\n") == NULL);
                size_t gl = strlen(out[i].grants[g].name);
                CHECK(gl > 0 && gl < MICA_NAME_MAX);
                CHECK(strspn(out[i].grants[g].name, "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == gl);
                for (unsigned h = 0; h < g; h++)
                    CHECK(strcmp(out[i].grants[h].name, out[i].grants[g].name) != 0);
            }
            CHECK(out[i].nprovides <= BOOTCFG_PROVIDES_MAX);
            for (unsigned p = 0; p < out[i].nprovides; p++) {
                size_t pl = strlen(out[i].provides[p]);
                CHECK(pl > 0 && pl < MICA_NAME_MAX);
            }
            size_t nl = strlen(out[i].name);
            CHECK(nl > 0 && nl < MICA_NAME_MAX);
            CHECK(strpbrk(out[i].name, " \t\r\n") == NULL);
            size_t al = strlen(out[i].args);
            CHECK(al < MICA_ARGS_MAX);
            CHECK(al == 0 || (out[i].args[0] != ' ' && out[i].args[al - 1] != ' '));
            CHECK(strchr(out[i].args, '\n') == NULL);
        }
        if (tap_failures)
            break;
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_directives),      TAP(test_no_trailing_newline_and_empty),
        TAP(test_malformed_lines), TAP(test_endpoints_and_grants),
        TAP(test_length_limits),  TAP(test_pager_grant), TAP(test_task_grant), TAP(test_inject_grant),
        TAP(test_grant_names),     TAP(test_provides),        TAP(test_restart),
        TAP(test_random_texts),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
