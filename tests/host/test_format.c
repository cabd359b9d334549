/* Host tests of the kernel's printf (lib/format.c), checked against the C
 * library's snprintf for every conversion, flag and length the kernel uses. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "lib/format.h"

#define SAME(...)                                                             \
    do {                                                                      \
        char want_[256], got_[256];                                           \
        int nw_ = snprintf(want_, sizeof want_, __VA_ARGS__);                 \
        int ng_ = ksnprintf(got_, sizeof got_, __VA_ARGS__);                  \
        if (nw_ != ng_ || strcmp(want_, got_) != 0) {                         \
            printf("# %s:%d: %s: want \"%s\" (%d) got \"%s\" (%d)\n", __FILE__, \
                   __LINE__, #__VA_ARGS__, want_, nw_, got_, ng_);            \
            tap_failures++;                                                   \
        }                                                                     \
    } while (0)

static void test_integers(void)
{
    SAME("%d %i %u", 0, -1, 42u);
    SAME("%d", -2147483647 - 1);
    SAME("%lld %llu", -9223372036854775807LL - 1, 18446744073709551615ULL);
    SAME("%ld %lu %lx", -5L, 5UL, 0xdeadbeefUL);
    SAME("%zu %zx", (size_t)123456789, (size_t)0xabc);
    SAME("%hhu %hd %hhx", 300, 70000, 0x1ff);
    SAME("%x %X %o", 0xabcdefu, 0xabcdefu, 0777u);
    SAME("%016llx|%-8d|%8d|%08d", 0x1234ULL, 7, -7, -7);
    SAME("%+d % d %+d", 5, 5, -5);
    SAME("%#x %#o %#x", 255u, 8u, 0u);
    SAME("%.5d|%.0d|%8.3d|%-8.3x", 42, 0, -4, 0xau);
    SAME("%*d|%-*d|%.*d", 6, 1, 6, 2, 4, 3);
}

static void test_strings_and_chars(void)
{
    SAME("%s|%10s|%-10s|%.3s|%5.2s", "abc", "abc", "abc", "abcdef", "xyz");
    SAME("%c%c%3c%-3c|", 'a', 'b', 'c', 'd');
    SAME("100%% sure %s", "yes");
    SAME("%.*s", 4, "abcdefgh");
}

static void test_pointers(void)
{
    SAME("%p", (void *)0x1234);
    SAME("%p", (void *)0xffffffff80200000ULL);
}

static void test_truncation(void)
{
    char buf[8];
    int n = ksnprintf(buf, sizeof buf, "%s", "0123456789");
    CHECK_EQ(n, 10);
    CHECK(strcmp(buf, "0123456") == 0);
    n = ksnprintf(buf, 1, "abc");
    CHECK_EQ(n, 3);
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(ksnprintf(NULL, 0, "%d", 12345), 5);
}

static void test_unknown_conversion_is_visible(void)
{
    char buf[32];
    const char *fmt = "a%yb"; /* not a literal: the compiler would reject it */
    ksnprintf(buf, sizeof buf, fmt);
    CHECK(strcmp(buf, "a%?b") == 0);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_integers), TAP(test_strings_and_chars), TAP(test_pointers),
        TAP(test_truncation), TAP(test_unknown_conversion_is_visible),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
