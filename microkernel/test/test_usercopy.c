/* In-kernel tests of the ring-3 boundary that need no user task: the user
 * range check, the fault-tolerant copies (faults on unmapped and read-only
 * user pages come back as -MICA_EFAULT through the exception-fixup table),
 * the initial thread stacks and arch_switch, the GS handling of NMIs, and
 * the timer's ticks. The user pages these tests copy to and from are
 * mapped in the kernel's own address space, whose user half is otherwise
 * empty; the tests run before the scheduler starts, with that space
 * loaded. */
#include <mica/errno.h>
#include <mica/syscall.h>

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"
#include "vm/usercopy.h"
#include "lib/string.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "test/ktest.h"

#define UPAGE      0x400000ULL        /* a user page mapped by the tests */
#define UNMAPPED   0x1000ULL          /* nothing is mapped in the kernel's user half */
#define UPAGE_TOP  (MICA_USER_END - PAGE_SIZE) /* the last user page */

static char kernel_buffer[64] = "kernel data";

/* The copies work on the current address space; these tests map their
 * pages in the kernel's. */
static bool kernel_space_loaded(void)
{
    return (read_cr3() & ~(uint64_t)(PAGE_SIZE - 1)) == vmm_kernel_space()->pml4;
}

/* Map a fresh frame at user address `va` in the kernel space; 0 on failure. */
static paddr_t map_user_page(vaddr_t va, unsigned prot)
{
    paddr_t pa;
    if (!kernel_space_loaded())
        return 0;
    if (pmm_alloc_frame(&pa) < 0)
        return 0;
    memset(phys_to_virt(pa), 0, PAGE_SIZE);
    if (vmm_map(vmm_kernel_space(), va, pa, VM_USER | prot) < 0) {
        pmm_free_frame(pa);
        return 0;
    }
    return pa;
}

static void unmap_user_page(vaddr_t va, paddr_t pa)
{
    vmm_unmap(vmm_kernel_space(), va, NULL);
    pmm_free_frame(pa);
}

KTEST(usercopy_range_edges)
{
    const uintptr_t end = MICA_USER_END;

    KEXPECT(t, user_range_ok(0, 0));
    KEXPECT(t, user_range_ok(0, 1));
    KEXPECT(t, user_range_ok(0, end));
    KEXPECT(t, !user_range_ok(0, end + 1));
    KEXPECT(t, !user_range_ok(1, end));
    KEXPECT(t, user_range_ok(end - 1, 0));
    KEXPECT(t, user_range_ok(end - 1, 1));
    KEXPECT(t, !user_range_ok(end - 1, 2));
    KEXPECT(t, user_range_ok(end - PAGE_SIZE, PAGE_SIZE));
    KEXPECT(t, !user_range_ok(end, 0));
    KEXPECT(t, !user_range_ok(end, 1));
    /* Ranges whose end wraps around zero. */
    KEXPECT(t, !user_range_ok(0x1000, SIZE_MAX));
    KEXPECT(t, !user_range_ok(0x1000, SIZE_MAX - 0xfff));
    KEXPECT(t, !user_range_ok(UINTPTR_MAX, 2));
    KEXPECT(t, !user_range_ok(UINTPTR_MAX, 0));
    /* Non-canonical and kernel addresses. */
    KEXPECT(t, !user_range_ok(0x0000800000000000ULL, 8));
    KEXPECT(t, !user_range_ok(0x8000000000000000ULL, 8));
    KEXPECT(t, !user_range_ok(0xffff800000000000ULL, 8));
    KEXPECT(t, !user_range_ok((uintptr_t)kernel_buffer, sizeof kernel_buffer));
    KEXPECT(t, !user_range_ok((uintptr_t)kernel_buffer, 0));
}

KTEST(usercopy_rejects_kernel_addresses)
{
    char dst[16];
    memset(dst, 0x5a, sizeof dst);

    KEXPECT_EQ(t, copy_from_user(dst, (uintptr_t)kernel_buffer, 8), -MICA_EFAULT);
    KEXPECT_EQ(t, (uint8_t)dst[0], 0x5a); /* refused before copying anything */
    KEXPECT_EQ(t, copy_to_user((uintptr_t)kernel_buffer, "x", 1), -MICA_EFAULT);
    KEXPECT(t, strcmp(kernel_buffer, "kernel data") == 0);
    KEXPECT_EQ(t, copy_string_from_user(dst, (uintptr_t)kernel_buffer, sizeof dst), -MICA_EFAULT);
    /* A range that starts in the user half and runs out of it. */
    KEXPECT_EQ(t, copy_from_user(dst, MICA_USER_END - 4, 8), -MICA_EFAULT);
    KEXPECT_EQ(t, copy_from_user(dst, 0, 0), 0);
}

KTEST(usercopy_unmapped_faults_are_fixed_up)
{
    char buf[32];
    if (!kernel_space_loaded())
        KSKIP(t, "the kernel address space is not loaded");
    KREQUIRE(t, vmm_translate(vmm_kernel_space(), UNMAPPED, NULL, NULL) == -MICA_ENOENT);

    /* In range, so only the fixup table can turn the #PF into -MICA_EFAULT. */
    KEXPECT_EQ(t, copy_from_user(buf, UNMAPPED, sizeof buf), -MICA_EFAULT);
    KEXPECT_EQ(t, copy_to_user(UNMAPPED, buf, sizeof buf), -MICA_EFAULT);
    KEXPECT_EQ(t, copy_string_from_user(buf, UNMAPPED, sizeof buf), -MICA_EFAULT);
    /* The copies close the user-access window (SMAP) on the fault path too. */
    uint64_t rflags;
    __asm__ volatile("pushfq; popq %0" : "=r"(rflags));
    KEXPECT_EQ(t, rflags & (1u << 18), 0);
}

KTEST(usercopy_fixup_only_for_copy_routines)
{
    struct trap_frame tf = {0};
    tf.vector = VEC_GP;
    tf.cs = GDT_KERNEL_CS;
    tf.rip = (uintptr_t)user_range_ok;
    KEXPECT(t, !usercopy_fixup(&tf));
    KEXPECT_EQ(t, tf.rip, (uintptr_t)user_range_ok);

    extern const char usercopy_bytes_copy[], usercopy_bytes_fault[];
    tf.rip = (uintptr_t)usercopy_bytes_copy;
    tf.vector = VEC_UD;
    KEXPECT(t, !usercopy_fixup(&tf)); /* only #PF and #GP */
    tf.vector = VEC_GP;
    tf.cs = GDT_USER_CS;
    KEXPECT(t, !usercopy_fixup(&tf)); /* ring 3 faults are not the kernel's */
    tf.cs = GDT_KERNEL_CS;
    KEXPECT(t, usercopy_fixup(&tf));
    KEXPECT_EQ(t, tf.rip, (uintptr_t)usercopy_bytes_fault);
}

KTEST(usercopy_roundtrip_through_user_page)
{
    paddr_t pa = map_user_page(UPAGE, VM_WRITE);
    KREQUIRE(t, pa != 0);
    uint8_t *page = phys_to_virt(pa); /* the same bytes through the direct map */
    uint8_t src[200], dst[200];
    for (unsigned i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + 1);

    KEXPECT_EQ(t, copy_to_user(UPAGE + 100, src, sizeof src), 0);
    KEXPECT(t, memcmp(page + 100, src, sizeof src) == 0);
    KEXPECT_EQ(t, page[99], 0);
    KEXPECT_EQ(t, page[300], 0);

    page[PAGE_SIZE - 1] = 0xee;
    KEXPECT_EQ(t, copy_from_user(dst, UPAGE + 100, sizeof dst), 0);
    KEXPECT(t, memcmp(dst, src, sizeof dst) == 0);
    KEXPECT_EQ(t, copy_from_user(dst, UPAGE + PAGE_SIZE - 1, 1), 0);
    KEXPECT_EQ(t, dst[0], 0xee);

    /* Running off the end of the page into the unmapped next one: the
     * bytes before the hole are copied, then the fault is reported. */
    memset(dst, 0, sizeof dst);
    memset(page + PAGE_SIZE - 16, 0xab, 16);
    KEXPECT_EQ(t, copy_from_user(dst, UPAGE + PAGE_SIZE - 16, 32), -MICA_EFAULT);
    KEXPECT_EQ(t, dst[0], 0xab);
    KEXPECT_EQ(t, dst[15], 0xab);
    KEXPECT_EQ(t, copy_to_user(UPAGE + PAGE_SIZE - 8, src, 16), -MICA_EFAULT);
    KEXPECT(t, memcmp(page + PAGE_SIZE - 8, src, 8) == 0);

    unmap_user_page(UPAGE, pa);
    KEXPECT_EQ(t, copy_from_user(dst, UPAGE, 8), -MICA_EFAULT); /* TLB entry gone too */
}

KTEST(usercopy_read_only_page_refuses_writes)
{
    paddr_t pa = map_user_page(UPAGE, 0);
    KREQUIRE(t, pa != 0);
    uint8_t *page = phys_to_virt(pa);
    page[0] = 0x11;
    uint8_t b = 0;

    KEXPECT_EQ(t, copy_from_user(&b, UPAGE, 1), 0);
    KEXPECT_EQ(t, b, 0x11);
    KEXPECT_EQ(t, copy_to_user(UPAGE, "x", 1), -MICA_EFAULT); /* CR0.WP */
    KEXPECT_EQ(t, page[0], 0x11);
    unmap_user_page(UPAGE, pa);
}

KTEST(usercopy_strings)
{
    paddr_t pa = map_user_page(UPAGE, VM_WRITE);
    KREQUIRE(t, pa != 0);
    char *page = phys_to_virt(pa);
    char buf[16];

    memcpy(page, "hello", 6);
    memset(buf, 'z', sizeof buf);
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE, sizeof buf), 5);
    KEXPECT(t, strcmp(buf, "hello") == 0);
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE, 6), 5);      /* NUL is the last byte */
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE, 5), -MICA_E2BIG);
    KEXPECT_EQ(t, buf[4], '\0');                                 /* still terminated */
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE, 0), -MICA_E2BIG);
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE + 5, sizeof buf), 0); /* empty string */
    KEXPECT_EQ(t, buf[0], '\0');

    /* No NUL before the page ends, and nothing mapped after it. */
    memset(page + PAGE_SIZE - 4, 'a', 4);
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE + PAGE_SIZE - 4, sizeof buf), -MICA_EFAULT);
    /* ... but a NUL in time makes the unmapped page irrelevant. */
    page[PAGE_SIZE - 1] = '\0';
    KEXPECT_EQ(t, copy_string_from_user(buf, UPAGE + PAGE_SIZE - 4, sizeof buf), 3);
    KEXPECT(t, strcmp(buf, "aaa") == 0);
    unmap_user_page(UPAGE, pa);
}

KTEST(usercopy_string_at_end_of_user_half)
{
    paddr_t pa = map_user_page(UPAGE_TOP, VM_WRITE);
    KREQUIRE(t, pa != 0);
    char *page = phys_to_virt(pa);
    char buf[32];

    memset(page, 'q', PAGE_SIZE);
    page[PAGE_SIZE - 1] = '\0';
    KEXPECT_EQ(t, copy_string_from_user(buf, MICA_USER_END - 8, sizeof buf), 7);
    /* Without a NUL the string would run past the user half: a bad
     * pointer, not a long string, even though max is larger. */
    page[PAGE_SIZE - 1] = 'q';
    KEXPECT_EQ(t, copy_string_from_user(buf, MICA_USER_END - 8, sizeof buf), -MICA_EFAULT);
    KEXPECT_EQ(t, copy_string_from_user(buf, MICA_USER_END - 8, 8), -MICA_E2BIG);
    unmap_user_page(UPAGE_TOP, pa);
}

KTEST(context_user_thread_frame)
{
    static uint64_t stack[64] __attribute__((aligned(16)));
    uintptr_t top = (uintptr_t)&stack[64];
    struct arch_context ctx = {0};
    extern const char arch_user_thread_start[];

    struct trap_frame *tf = arch_thread_setup_user(&ctx, top);
    KEXPECT_EQ(t, (uintptr_t)tf, top - sizeof *tf);
    KEXPECT_EQ(t, tf->cs, GDT_USER_CS);
    KEXPECT_EQ(t, tf->ss, GDT_USER_DS);
    KEXPECT_EQ(t, tf->rflags, 0x202);
    KEXPECT_EQ(t, tf->rip, 0);
    KEXPECT_EQ(t, tf->rax | tf->rdi | tf->r15 | tf->rsp, 0);
    /* Six callee-saved registers, then the return address into the stub
     * that leaves through the frame. */
    KEXPECT_EQ(t, ctx.rsp, (uintptr_t)tf - 7 * 8);
    KEXPECT_EQ(t, ((uint64_t *)ctx.rsp)[6], (uintptr_t)arch_user_thread_start);
}

static struct arch_context test_boot_ctx, test_kthread_ctx;
static volatile uintptr_t kthread_arg;
static volatile unsigned kthread_runs;
static volatile uint64_t kthread_start_rflags;

static void test_kthread(void *arg)
{
    kthread_start_rflags = read_rflags();
    for (;;) {
        kthread_arg = (uintptr_t)arg;
        kthread_runs++;
        arch_switch(&test_kthread_ctx, &test_boot_ctx);
    }
}

KTEST(context_switch_to_kernel_thread)
{
    paddr_t pa;
    KREQUIRE(t, pmm_alloc_pages(1, &pa) == 0);
    uintptr_t top = (uintptr_t)phys_to_virt(pa) + 2 * PAGE_SIZE;
    kthread_runs = 0;

    arch_thread_setup_kernel(&test_kthread_ctx, top, test_kthread, (void *)0x1234);
    KEXPECT(t, test_kthread_ctx.rsp < top && test_kthread_ctx.rsp >= top - 128);
    arch_switch(&test_boot_ctx, &test_kthread_ctx);
    KEXPECT_EQ(t, kthread_runs, 1);
    KEXPECT_EQ(t, kthread_arg, 0x1234);
    /* Back into the middle of its loop, and back again. */
    arch_switch(&test_boot_ctx, &test_kthread_ctx);
    KEXPECT_EQ(t, kthread_runs, 2);
    KEXPECT(t, test_boot_ctx.rsp < (uintptr_t)&pa); /* saved below this frame */
    pmm_free_pages(pa, 1);
}

/* A new kernel thread starts with known flags, not its switcher's: AC set
 * there (SMAP off) must not carry over. */
KTEST(kernel_thread_starts_with_ac_clear)
{
    paddr_t pa;
    KREQUIRE(t, pmm_alloc_pages(1, &pa) == 0);
    uintptr_t top = (uintptr_t)phys_to_virt(pa) + 2 * PAGE_SIZE;
    kthread_start_rflags = RFLAGS_AC;

    arch_thread_setup_kernel(&test_kthread_ctx, top, test_kthread, NULL);
    __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
    arch_switch(&test_boot_ctx, &test_kthread_ctx);
    __asm__ volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
    KEXPECT(t, !(kthread_start_rflags & RFLAGS_AC));
    pmm_free_pages(pa, 1);
}

/* test/user_probe.asm: read a user byte without opening the user-access
 * window; 0 if it could, 1 if the read faulted. */
extern int user_probe_read(const void *p);

static volatile int probe_in_handler = -1;

static void probe_bp_handler(struct trap_frame *tf)
{
    (void)tf;
    probe_in_handler = user_probe_read((const void *)UPAGE);
}

/* With SMAP, an entry made with AC set (as ring 3 may leave it) must not
 * let the kernel read user memory unchecked: inside the handler an
 * unguarded read of a user page faults. The control: with AC set and no
 * entry in between, the same read succeeds, so the fault is SMAP's. */
KTEST(smap_holds_after_entry_with_ac_set)
{
    if (!cpu_features.smap)
        KSKIP(t, "the CPU has no SMAP");
    paddr_t pa = map_user_page(UPAGE, VM_WRITE);
    KREQUIRE(t, pa != 0);

    trap_handler_fn saved = idt_get_handler(VEC_BP);
    idt_set_handler(VEC_BP, probe_bp_handler);
    probe_in_handler = -1;
    int with_ac, without_ac;
    __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
    with_ac = user_probe_read((const void *)UPAGE);
    __asm__ volatile("int3" ::: "memory");
    __asm__ volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
    without_ac = user_probe_read((const void *)UPAGE);
    idt_set_handler(VEC_BP, saved);

    KEXPECT_EQ(t, with_ac, 0);
    KEXPECT_EQ(t, probe_in_handler, 1);
    KEXPECT_EQ(t, without_ac, 1);
    unmap_user_page(UPAGE, pa);
}

static volatile unsigned nmi_calls;
static volatile uintptr_t nmi_cpu;

static void test_nmi_handler(struct trap_frame *tf)
{
    (void)tf;
    nmi_calls++;
    nmi_cpu = (uintptr_t)this_cpu();
}

/* An NMI can arrive between syscall and swapgs, in ring 0 with the user's
 * GS. Its entry must find the kernel's struct cpu anyway and give the
 * user's GS back on return. */
KTEST(trap_nmi_with_user_gs)
{
    trap_handler_fn saved = idt_get_handler(VEC_NMI);
    uintptr_t me = (uintptr_t)this_cpu();
    uint64_t user_gs = rdmsr(MSR_KERNEL_GS_BASE);

    idt_set_handler(VEC_NMI, test_nmi_handler);
    nmi_calls = 0;
    __asm__ volatile("int $2" ::: "memory");
    KEXPECT_EQ(t, nmi_calls, 1);
    KEXPECT_EQ(t, nmi_cpu, me);

    nmi_cpu = 0;
    __asm__ volatile("swapgs\n\tint $2\n\tswapgs" ::: "memory");
    KEXPECT_EQ(t, nmi_calls, 2);
    KEXPECT_EQ(t, nmi_cpu, me);
    KEXPECT_EQ(t, (uintptr_t)this_cpu(), me);
    KEXPECT_EQ(t, rdmsr(MSR_KERNEL_GS_BASE), user_gs);
    idt_set_handler(VEC_NMI, saved);
}

KTEST(timer_ticks_advance)
{
    timer_init(); /* no-op if the kernel has started it already */
    uint64_t start = timer_ticks();
    uint64_t tsc0 = rdtsc_ordered();

    /* Three ticks at TIMER_HZ take 30 ms; the bound (in TSC units, which
     * are guest instructions under -icount) only stops a dead timer from
     * hanging the test run. */
    __asm__ volatile("sti" ::: "memory");
    while (timer_ticks() < start + 3 && rdtsc_ordered() - tsc0 < 2000000000ULL)
        __asm__ volatile("pause" ::: "memory");
    __asm__ volatile("cli" ::: "memory");

    KEXPECT(t, timer_ticks() >= start + 3);
}
