/* crashme: a program that crashes on purpose, to show what a crash looks
 * like (docs/writing-a-server.md, "Debugging a crash"): the pager's
 * decision, the kernel's kill report and the symbolized backtrace that
 * tools/run-qemu adds. Not a test (no boot.cfg test line): the console
 * runs it (`run crashme`), and the console test checks the report. Three
 * calls deep, it writes through a pointer into no region of its pager. */
#include <mica/start.h>
#include <mica/stdio.h>

#define NOWHERE 0x0000500000000000ull /* below the pager's regions, above the program */

static __attribute__((noinline)) void store(volatile unsigned *p, unsigned v)
{
    *p = v;
}

static __attribute__((noinline)) void fill_table(volatile unsigned *table, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        store(table + i, i);
    __asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
}

static __attribute__((noinline)) void setup(void)
{
    fill_table((volatile unsigned *)NOWHERE, 4);
    __asm__ volatile("" ::: "memory");
}

int main(const struct mica_start_info *si)
{
    printf("%s: writing to 0x%llx, where no region is\n", si->name,
           (unsigned long long)NOWHERE);
    setup();
    printf("%s: still alive?\n", si->name);
    return 1;
}
