/* The transient-fault points (swifi.h), modelled on FAIL* and GemFI: a bit
 * flipped in a saved register, in a word of data or stack, or in the code
 * of the task a timer tick interrupted; and MINIX 3's kill of a server at
 * a random instant. The instant is a tick that finds the task in ring 3,
 * or the task's receipt of a message; the knobs (probability,
 * after=insn:N, task=) choose which one. */
#include "object/swifi.h"

#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/prot.h"
#include "mm/vmm.h"
#include "object/task.h"
#include "object/thread.h"

/* The saved registers reg_flip may change. RFLAGS, CS and SS are left out:
 * a bad value there faults in the kernel's own return to ring 3, which is
 * not the task's fault. */
static const struct {
    const char *name;
    size_t off;
} regs[] = {
#define R(n) {#n, offsetof(struct trap_frame, n)}
    R(rax), R(rbx), R(rcx), R(rdx), R(rsi), R(rdi), R(rbp), R(rsp), R(r8), R(r9),
    R(r10), R(r11), R(r12), R(r13), R(r14), R(r15), R(rip),
#undef R
};

static void reg_flip(struct trap_frame *tf)
{
    unsigned i = (unsigned)(inject_rand(INJECT_REG_FLIP) % ARRAY_SIZE(regs));
    uint64_t *r = (uint64_t *)((char *)tf + regs[i].off);
    /* rip and rsp stay canonical user addresses (bits 0..46): a
     * non-canonical one would fault in the kernel's iretq. */
    bool addr = regs[i].off == offsetof(struct trap_frame, rip) ||
                regs[i].off == offsetof(struct trap_frame, rsp);
    unsigned bit = (unsigned)(inject_rand(INJECT_REG_FLIP) % (addr ? 47 : 64));
    uint64_t was = *r;
    *r ^= 1ull << bit;
    inject_report(INJECT_REG_FLIP, "bit %u of %s flipped: 0x%lx -> 0x%lx (rip 0x%lx)", bit,
                  regs[i].name, (unsigned long)was, (unsigned long)*r, (unsigned long)tf->rip);
}

/* The kernel's view of user address va of t, if mapped with all of `need`. */
static uint8_t *user_byte(const struct task *t, uint64_t va, unsigned need, paddr_t *pa)
{
    unsigned prot;
    if (va >= MICA_USER_END || vmm_translate(&t->as, va, pa, &prot) < 0 ||
        (prot & need) != need)
        return NULL;
    return phys_to_virt(*pa);
}

static void mem_flip(struct task *t, const struct trap_frame *tf)
{
    /* Candidate places: the live stack, and the data that registers point
     * into (a random register first, then the others in turn). */
    const uint64_t bases[] = {tf->rsp, tf->rdi, tf->rsi, tf->rbx, tf->rbp, tf->rdx};
    uint64_t r = inject_rand(INJECT_MEM_FLIP);
    unsigned first = (unsigned)(r % ARRAY_SIZE(bases));
    unsigned word = (unsigned)((r >> 8) % 64), bit = (unsigned)((r >> 16) % 64);
    for (unsigned k = 0; k < ARRAY_SIZE(bases); k++) {
        unsigned i = (first + k) % ARRAY_SIZE(bases);
        uint64_t va = ALIGN_DOWN(bases[i], 8) + 8 * word;
        paddr_t pa;
        /* Writable user pages are private to the task (shares are read-only). */
        uint64_t *w = (uint64_t *)user_byte(t, va, VM_USER | VM_WRITE, &pa);
        if (!w)
            continue;
        *w ^= 1ull << bit;
        inject_report(INJECT_MEM_FLIP, "bit %u of the word at 0x%lx flipped (%s)", bit,
                      (unsigned long)va, i == 0 ? "stack" : "data");
        return;
    }
    inject_report(INJECT_MEM_FLIP, "nothing flipped: no writable word near sp or registers");
}

static void code_flip(struct task *t, const struct trap_frame *tf)
{
    uint64_t r = inject_rand(INJECT_CODE_FLIP);
    uint64_t va = tf->rip + r % 64;
    unsigned bit = (unsigned)((r >> 8) % 8);
    paddr_t pa;
    uint8_t *b = user_byte(t, va, VM_USER | VM_EXEC, &pa);
    if (!b) {
        inject_report(INJECT_CODE_FLIP, "nothing flipped: 0x%lx is not mapped code",
                      (unsigned long)va);
        return;
    }
    uint32_t maps = pmm_refcount(ALIGN_DOWN(pa, PAGE_SIZE));
    if (maps != 1) {
        /* Another task maps this frame (a fork): the fault would not be
         * this task's alone. */
        inject_report(INJECT_CODE_FLIP, "nothing flipped: code at 0x%lx is shared (%u maps)",
                      (unsigned long)va, maps);
        return;
    }
    *b ^= (uint8_t)(1u << bit);
    inject_report(INJECT_CODE_FLIP, "bit %u of the code byte at 0x%lx flipped (rip 0x%lx)", bit,
                  (unsigned long)va, (unsigned long)tf->rip);
}

void swifi_tick(struct thread *cur, struct trap_frame *tf)
{
    struct task *t = cur->task;
    if (!t || task_killed(t))
        return;
    if (INJECT(INJECT_REG_FLIP, t))
        reg_flip(tf);
    if (INJECT(INJECT_MEM_FLIP, t))
        mem_flip(t, tf);
    if (INJECT(INJECT_CODE_FLIP, t))
        code_flip(t, tf);
    if (INJECT(INJECT_KILL_RANDOM, t)) {
        inject_report(INJECT_KILL_RANDOM, "killed at rip 0x%lx", (unsigned long)tf->rip);
        /* It is running: it exits on its way back to ring 3. */
        task_kill(t, "fault injection (kill_random)");
    }
}

void swifi_received(struct thread *cur)
{
    swifi_tick(cur, cur->utf);
}
