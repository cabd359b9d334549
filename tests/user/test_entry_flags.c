/* RFLAGS.AC across every way into the kernel. Ring 3 may set AC at will;
 * with SMAP, an AC that reached kernel code would let it touch user memory
 * unchecked. Each case below sets AC and then enters the kernel one way (a
 * system call, a yield that switches threads, a page fault the pager
 * resolves, a timer interrupt), and the kernel asserts on each entry that
 * AC is clear (arch/x86_64/cpu.h, ASSERT_KERNEL_AC_CLEAR): if an entry let
 * AC through, the guest panics. The cases also check that ring 3 gets its
 * own AC back. Then NT, which no entry may let into the kernel either
 * (an iretq with NT set faults). Needs a pager (boot.cfg: pager:pager). */
#include <mica/ktap.h>
#include <mica/start.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "snippet.h"
#include "tiny_elf.h"

#define PAGE 4096

/* -mno-red-zone (Makefile): pushes inside asm clobber nothing of ours. */
static inline void ac_set(void)
{
    __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
}

/* Clears AC and returns RFLAGS as they were just before. */
static inline uint64_t ac_clear(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; movq (%%rsp), %0; andq $~0x40000, (%%rsp); popfq"
                     : "=r"(f)
                     :
                     : "memory", "cc");
    return f;
}

#define AC (1ull << 18)

/* A system call made with AC set: it succeeds and AC comes back set. */
static void ac_kept_across_call(long (*call)(void))
{
    ac_set();
    long rc = call();
    uint64_t f = ac_clear();
    KTAP_EXPECT_EQ(rc, 0);
    KTAP_EXPECT(f & AC);
}

static void ac_kept_across_syscall(void)
{
    ac_kept_across_call(mica_null);
}

/* Through the scheduler: another thread may run before this one resumes. */
static void ac_kept_across_yield(void)
{
    ac_kept_across_call(mica_yield);
}

/* The fault goes through trap_dispatch, to the pager and back. */
static void ac_kept_across_pager_fault(void)
{
    volatile uint64_t *p = vm_alloc(PAGE, MICA_PROT_READ | MICA_PROT_WRITE);
    KTAP_REQUIRE(p != NULL);
    int64_t free_before = mica_info(MICA_INFO_FREE_FRAMES);
    ac_set();
    *p = 42;
    uint64_t f = ac_clear();
    KTAP_EXPECT(f & AC);
    KTAP_EXPECT_EQ(*p, 42);
    KTAP_EXPECT(mica_info(MICA_INFO_FREE_FRAMES) < free_before); /* really faulted */
    KTAP_EXPECT_EQ(vm_free((void *)p, PAGE), 0);
}

/* Spin with AC set until two timer ticks have passed. The kernel runs with
 * interrupts off, so every tick is taken in ring 3, here, with AC set;
 * the bound on the loop only keeps a dead timer from hanging the run. */
static void ac_kept_across_timer_interrupt(void)
{
    int64_t start = mica_info(MICA_INFO_TICKS);
    KTAP_REQUIRE(start >= 0);
    int64_t now = start;
    ac_set();
    for (unsigned long i = 0; i < 2000000000ul && now < start + 2; i++) {
        for (volatile unsigned spin = 0; spin < 10000; spin++)
            ;
        now = mica_info(MICA_INFO_TICKS);
    }
    uint64_t f = ac_clear();
    KTAP_EXPECT(now >= start + 2);
    KTAP_EXPECT(f & AC);
}

/* RFLAGS.NT, which ring 3 may also set with popfq. The kernel must not
 * run with it: an iretq executed with NT set raises #GP in 64-bit mode,
 * and every thread switch passes the running flags on. A ring-3 spinner
 * is preempted by the timer (its resume point is the interrupt's iretq);
 * this program yields to it again and again with NT set. If a system
 * call's entry let NT through, the spinner's iretq would fault and the
 * kernel would kill it (or, in a preemption window, panic); it must run
 * to its end and exit 0. Ring 3 gets NT back clear, as documented. */
#define NT (1ull << 14)
MB_SNIPPET(nt_spinner, "movl $0x2000000, %ecx\n 1: decl %ecx\n jnz 1b\n");

static inline void nt_set(void)
{
    __asm__ volatile("pushfq; orq $0x4000, (%%rsp); popfq" ::: "memory", "cc");
}

static inline uint64_t flags_now(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f) :: "memory");
    return f;
}

/* The same with a child that maps and unmaps 1,024 pages of its own again
 * and again: the timer finds it in a preemption point of the kernel, so
 * it resumes through an iretq back into kernel code (with NT let in, a
 * kernel #GP at trap_iretq: a panic). */
MB_SNIPPET(nt_mapper, "movl $80, %r12d\n"
                      "1: movq $-1, %rdi\n movl $0x10000000, %esi\n movl $1024, %edx\n"
                      "movl $1, %r10d\n movl $20, %eax\n syscall\n"
                      "movq $-1, %rdi\n movl $0x10000000, %esi\n movl $1024, %edx\n"
                      "movl $21, %eax\n syscall\n decl %r12d\n jnz 1b\n");

/* Run code as a child without a pager and yield to it with NT set until
 * it has ended; returns its status. */
static int64_t yield_with_nt_to(const uint8_t *code, size_t n, const char *name)
{
    int64_t tasks = mica_info(MICA_INFO_TASKS);
    long child = tiny_spawn(code, n, name, NULL, 0, -1);
    if (!KTAP_EXPECT(child >= 0))
        return child;
    uint64_t nt_back = 0;
    for (unsigned i = 0; i < 200000 && mica_info(MICA_INFO_TASKS) > tasks; i++) {
        nt_set();
        mica_yield();
        nt_back |= flags_now() & NT;
    }
    KTAP_EXPECT_EQ(nt_back, 0);
    int64_t status = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    return status;
}

static void nt_stays_out_of_the_kernel(void)
{
    KTAP_EXPECT_EQ(yield_with_nt_to(mb_nt_spinner_start,
                                    (size_t)(mb_nt_spinner_end - mb_nt_spinner_start), "ntspin"),
                   0);
    KTAP_EXPECT_EQ(yield_with_nt_to(mb_nt_mapper_start,
                                    (size_t)(mb_nt_mapper_end - mb_nt_mapper_start), "ntmapper"),
                   0);
}

static const struct ktap_case tests[] = {
    {"ac_kept_across_syscall", ac_kept_across_syscall},
    {"ac_kept_across_yield", ac_kept_across_yield},
    {"ac_kept_across_pager_fault", ac_kept_across_pager_fault},
    {"ac_kept_across_timer_interrupt", ac_kept_across_timer_interrupt},
    {"nt_stays_out_of_the_kernel", nt_stays_out_of_the_kernel},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}
