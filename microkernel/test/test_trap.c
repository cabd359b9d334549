/* In-kernel tests of the trap path (IDT, trap_entry.asm, trap_dispatch)
 * and of the kernel symbol table. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/trap.h"
#include "lib/ksyms.h"
#include "lib/string.h"
#include "test/ktest.h"

#define RAX_MARK 0x0123456789abcdefULL /* set before int3, must reach the frame */
#define RDX_MARK 0x5a5a5a5a00c0ffeeULL /* written by the handler, must come back */

static volatile unsigned bp_calls;
static volatile uint64_t bp_vector, bp_rip, bp_cs, bp_rax, bp_error;
static const struct trap_frame *volatile bp_current;

static void bp_handler(struct trap_frame *tf)
{
    bp_calls++;
    bp_vector = tf->vector;
    bp_rip = tf->rip;
    bp_cs = tf->cs;
    bp_rax = tf->rax;
    bp_error = tf->error;
    bp_current = trap_current_frame();
    tf->rdx = RDX_MARK; /* the return path must restore registers from the frame */
}

KTEST(trap_breakpoint_handler)
{
    trap_handler_fn saved = idt_get_handler(VEC_BP);
    uint64_t rax = RAX_MARK, rdx = 0, after_int3;

    bp_calls = 0;
    idt_set_handler(VEC_BP, bp_handler);
    /* int3 is a trap: the saved rip is that of the next instruction. */
    __asm__ volatile("leaq 1f(%%rip), %2\n\t"
                     "int3\n"
                     "1:"
                     : "+a"(rax), "+d"(rdx), "=&r"(after_int3)
                     :
                     : "memory");
    idt_set_handler(VEC_BP, saved);

    KEXPECT_EQ(t, bp_calls, 1);
    KEXPECT_EQ(t, bp_vector, VEC_BP);
    KEXPECT_EQ(t, bp_rip, after_int3);
    KEXPECT_EQ(t, bp_cs, GDT_KERNEL_CS);
    KEXPECT_EQ(t, bp_error, 0);
    KEXPECT_EQ(t, bp_rax, RAX_MARK);
    KEXPECT(t, bp_current != NULL);
    KEXPECT(t, trap_current_frame() == NULL);
    KEXPECT_EQ(t, rax, RAX_MARK);
    KEXPECT_EQ(t, rdx, RDX_MARK);
    KEXPECT(t, idt_get_handler(VEC_BP) == saved);
}

static volatile uint64_t ac_handler_rflags, ac_frame_rflags;

static void ac_bp_handler(struct trap_frame *tf)
{
    ac_handler_rflags = read_rflags();
    ac_frame_rflags = tf->rflags;
}

/* An entry with AC set (as ring 3 may leave it, or as a user-copy window
 * has it) must run its handler with AC clear, i.e. with SMAP in force, and
 * give the interrupted code its AC back. */
KTEST(trap_entry_clears_ac)
{
    trap_handler_fn saved = idt_get_handler(VEC_BP);
    uint64_t after;

    ac_handler_rflags = ac_frame_rflags = 0;
    idt_set_handler(VEC_BP, ac_bp_handler);
    __asm__ volatile("pushfq\n\t"
                     "orq $0x40000, (%%rsp)\n\t"
                     "popfq\n\t"
                     "int3\n\t"
                     "pushfq\n\t"
                     "popq %0\n\t"
                     "pushfq\n\t"
                     "andq $~0x40000, (%%rsp)\n\t"
                     "popfq"
                     : "=r"(after)
                     :
                     : "memory", "cc");
    idt_set_handler(VEC_BP, saved);

    KEXPECT(t, ac_frame_rflags & RFLAGS_AC);    /* the entry saw it set */
    KEXPECT(t, !(ac_handler_rflags & RFLAGS_AC)); /* the handler runs without */
    KEXPECT(t, after & RFLAGS_AC);              /* iretq restored it */
    KEXPECT(t, !(read_rflags() & RFLAGS_AC));
}

KTEST(ksyms_lookup_finds_functions)
{
    if (ksyms_count == 0)
        KSKIP(t, "no symbol table linked");

    uint64_t off = 0;
    const char *name = ksyms_lookup((uint64_t)(uintptr_t)ksyms_lookup + 3, &off);
    KREQUIRE(t, name != NULL);
    KEXPECT(t, strcmp(name, "ksyms_lookup") == 0);
    KEXPECT_EQ(t, off, 3);

    name = ksyms_lookup((uint64_t)(uintptr_t)trap_dispatch, &off);
    KREQUIRE(t, name != NULL);
    KEXPECT(t, strcmp(name, "trap_dispatch") == 0);
    KEXPECT_EQ(t, off, 0);

    /* Below every symbol there is no name. */
    KEXPECT(t, ksyms_lookup(0, &off) == NULL);
    KEXPECT_EQ(t, off, 0);
}
