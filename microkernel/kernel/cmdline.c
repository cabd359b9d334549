/* Kernel command-line parsing. The string comes from the boot loader, so it
 * is bounded and every unknown word is reported rather than trusted. */
#include "kernel/cmdline.h"
#include "lib/console.h"
#include "lib/string.h"
#include "inject/inject.h"

#define CMDLINE_MAX 4096

struct option_def {
    const char *name;
    size_t offset; /* of the bool in struct kernel_options */
};

static const struct option_def options[] = {
    {"test", offsetof(struct kernel_options, test)},
    {"bench", offsetof(struct kernel_options, bench)},
    {"workload", offsetof(struct kernel_options, workload)},
};

static bool apply_option(const char *word, size_t len, struct kernel_options *opts)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (strlen(options[i].name) == len && strncmp(options[i].name, word, len) == 0) {
            *(bool *)((char *)opts + options[i].offset) = true;
            return true;
        }
    }
    return false;
}

/* "inject=SPEC" (repeatable) arms a point; "inject-seed=N" sets the run's
 * seed (docs/fault-injection.md). A bad spec or seed is one warning line;
 * the boot goes on. */
static bool apply_inject_option(const char *word, size_t len)
{
    static const char inject[] = "inject=", seed[] = "inject-seed=";
    size_t n = sizeof inject - 1, m = sizeof seed - 1;
    if (len > n && strncmp(word, inject, n) == 0) {
        inject_arm(word + n, len - n, "cmdline");
        return true;
    }
    if (len >= m && strncmp(word, seed, m) == 0) {
        uint64_t v = 0;
        bool ok = len > m && len - m <= 19;
        for (size_t i = m; ok && i < len; i++) {
            ok = word[i] >= '0' && word[i] <= '9';
            v = v * 10 + (uint64_t)(word[i] - '0');
        }
        if (ok)
            inject_set_seed(v);
        else
            kprintf("cmdline: warning: '%.*s': the seed must be a decimal number; ignored\n",
                    (int)len, word);
        return true;
    }
    return false;
}

/* "name=value" options; the value is copied into a fixed buffer. */
static bool apply_value_option(const char *word, size_t len, struct kernel_options *opts)
{
    if (apply_inject_option(word, len))
        return true;
    static const char crash[] = "crash=";
    size_t n = sizeof crash - 1;
    if (len <= n || strncmp(word, crash, n) != 0)
        return false;
    if (len - n >= sizeof opts->crash) {
        kprintf("cmdline: warning: value of '%.*s' too long, ignored\n", (int)len, word);
        return true;
    }
    memcpy(opts->crash, word + n, len - n);
    opts->crash[len - n] = '\0';
    return true;
}

void cmdline_parse(const char *cmdline, struct kernel_options *opts)
{
    *opts = (struct kernel_options){0};
    if (!cmdline)
        return;
    size_t n = strnlen(cmdline, CMDLINE_MAX);
    if (n == CMDLINE_MAX)
        kprintf("cmdline: warning: longer than %d bytes, rest ignored\n", CMDLINE_MAX);
    for (size_t i = 0; i < n;) {
        while (i < n && cmdline[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && cmdline[i] != ' ')
            i++;
        if (i == start)
            break;
        if (!apply_option(cmdline + start, i - start, opts) &&
            !apply_value_option(cmdline + start, i - start, opts))
            kprintf("cmdline: warning: unknown option '%.*s' ignored\n", (int)(i - start),
                    cmdline + start);
    }
}
