/* Host tests of grants by name (libsys/src/grant.c): what init encodes
 * (mica_grants_encode) crt0 decodes (grant_take) into the same names, in
 * the same order, and the same arguments; lists that do not fit are
 * refused; a program started without names has none; random strings are
 * decoded without reading past their end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../libsys/include/mica/errno.h"
#include "../../libsys/include/mica/grant.h"
#include "../../libsys/include/mica/syscall.h"
#include "../../libsys/src/grant_priv.h"

static char buf[MICA_ARGS_MAX];

static void test_round_trip(void)
{
    const char *names[] = {"pager", "names", "pager_task"};
    long n = mica_grants_encode(buf, sizeof buf, names, 3, "seed=5 -v");
    CHECK(n > 0 && (size_t)n == strlen(buf));
    CHECK_EQ(buf[0], MICA_GRANTS_MARK);
    const char *args = grant_take(buf, "prog");
    CHECK(strcmp(args, "seed=5 -v") == 0);
    CHECK_EQ(mica_grant_find("pager"), 0);
    CHECK_EQ(mica_grant_find("names"), 1);
    CHECK_EQ(mica_grant_find("pager_task"), 2);
    CHECK_EQ(mica_grant_find("page"), -MICA_ENOENT);
    CHECK_EQ(mica_grant_find(""), -MICA_ENOENT);
}

static void test_no_names(void)
{
    CHECK_EQ(mica_grants_encode(buf, sizeof buf, NULL, 0, "plain args"), 10);
    CHECK(strcmp(grant_take(buf, "prog"), "plain args") == 0);
    CHECK_EQ(mica_grant_find("pager"), -MICA_ENOENT);
    const char *one[] = {"echo"};
    CHECK(mica_grants_encode(buf, sizeof buf, one, 1, "") > 0);
    CHECK(strcmp(grant_take(buf, "prog"), "") == 0);
    CHECK_EQ(mica_grant_find("echo"), 0);
    /* An empty or over-long name keeps its place: later names still map
     * to their own handles. */
    static char text[128];
    snprintf(text, sizeof text, "%c,%s,echo%cx", MICA_GRANTS_MARK,
             "a_name_of_forty_characters_is_too_long__", MICA_GRANTS_MARK);
    CHECK(strcmp(grant_take(text, "prog"), "x") == 0);
    CHECK_EQ(mica_grant_find("echo"), 2);
    CHECK_EQ(mica_grant_find(""), -MICA_ENOENT);
}

static void test_too_long(void)
{
    static char args[MICA_ARGS_MAX];
    memset(args, 'a', sizeof args - 1);
    args[sizeof args - 1] = '\0';
    const char *one[] = {"echo"};
    CHECK_EQ(mica_grants_encode(buf, sizeof buf, NULL, 0, args), MICA_ARGS_MAX - 1);
    CHECK_EQ(mica_grants_encode(buf, sizeof buf, one, 1, args), -1);
    args[sizeof args - 7] = '\0'; /* leaves 6 bytes: mark, "echo", mark */
    CHECK_EQ(mica_grants_encode(buf, sizeof buf, one, 1, args), MICA_ARGS_MAX - 1);
    CHECK_EQ(mica_grants_encode(buf, 1, one, 1, ""), -1);
    CHECK_EQ(mica_grants_encode(buf, 6, one, 1, ""), -1);
    CHECK_EQ(mica_grants_encode(buf, 7, one, 1, ""), 6);
}

#include "rng.h"
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

/* Arbitrary strings, in heap buffers of their exact size so that ASan
 * sees any overread: decoding stays inside, finds at most 8 names. */
static void test_random_strings(void)
{
    static const char alphabet[] = "\x1d,ab_";
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rng() % 80;
        char *s = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = alphabet[rng() % (sizeof alphabet - 1)];
        s[len] = '\0';
        const char *args = grant_take(s, "p");
        CHECK(args >= s && args <= s + len);
        CHECK(mica_grant_find("a") < MICA_SPAWN_MAX_HANDLES);
        CHECK(mica_grant_find("ab_") < MICA_SPAWN_MAX_HANDLES);
        free(s);
        if (tap_failures)
            break;
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_round_trip), TAP(test_no_names), TAP(test_too_long), TAP(test_random_strings),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
