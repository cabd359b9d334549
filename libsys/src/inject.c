/* The fault-injection control calls (mica/inject.h). */
#include <mica/inject.h>
#include <mica/errno.h>
#include <mica/string.h>

#define POINTS_MAX 32 /* more than the kernel has */

static long inject_ctl(uint64_t nr, long h, uint64_t op, uint64_t a, uint64_t b)
{
    register uint64_t rdi __asm__("rdi") = (uint64_t)h;
    register uint64_t rsi __asm__("rsi") = op;
    register uint64_t rdx __asm__("rdx") = a;
    register uint64_t r10 __asm__("r10") = b;
    long rax = (long)nr;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
                     :
                     : "rcx", "r11", "r8", "r9", "memory");
    return rax;
}

long mica_inject_open(void)
{
    return inject_ctl(MICA_SYS_INJECT_OPEN, 0, 0, 0, 0);
}

long mica_inject_arm(long h, const char *spec)
{
    return inject_ctl(MICA_SYS_INJECT_CTL, h, MICA_INJECT_ARM, (uint64_t)spec, strlen(spec));
}

long mica_inject_disarm(long h, uint64_t p)
{
    return inject_ctl(MICA_SYS_INJECT_CTL, h, MICA_INJECT_DISARM, p, 0);
}

long mica_inject_list(long h, struct mica_inject_point *out, uint64_t n)
{
    return inject_ctl(MICA_SYS_INJECT_CTL, h, MICA_INJECT_LIST, (uint64_t)out, n);
}

long mica_inject_seed(long h, uint64_t seed)
{
    return inject_ctl(MICA_SYS_INJECT_CTL, h, MICA_INJECT_SEED, seed, 0);
}

long mica_inject_get(long h, uint64_t p, struct mica_inject_point *out)
{
    struct mica_inject_point all[POINTS_MAX];
    long n = mica_inject_list(h, all, POINTS_MAX);
    if (n < 0)
        return n;
    if (p >= (uint64_t)n || p >= POINTS_MAX)
        return -MICA_EINVAL;
    *out = all[p];
    return 0;
}

long mica_inject_find(long h, const char *name)
{
    struct mica_inject_point all[POINTS_MAX];
    long n = mica_inject_list(h, all, POINTS_MAX);
    if (n < 0)
        return n;
    for (long i = 0; i < n && i < POINTS_MAX; i++)
        if (strncmp(all[i].name, name, MICA_INJECT_NAME_MAX) == 0)
            return i;
    return -MICA_ENOENT;
}
