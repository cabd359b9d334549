/* The architecture half of the panic report: exception names, error code
 * decoding and the register dump of a trap frame. lib/panic.c prints the
 * message and the backtrace around it. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "lib/console.h"
#include "lib/ksyms.h"

/* Intel SDM vol. 3, table 6-1; NULL marks a reserved vector. */
static const char *const vector_names[VEC_EXCEPTIONS] = {
    [VEC_DE] = "#DE divide error",
    [VEC_DB] = "#DB debug",
    [VEC_NMI] = "NMI non-maskable interrupt",
    [VEC_BP] = "#BP breakpoint",
    [VEC_OF] = "#OF overflow",
    [VEC_BR] = "#BR bound range exceeded",
    [VEC_UD] = "#UD invalid opcode",
    [VEC_NM] = "#NM device not available",
    [VEC_DF] = "#DF double fault",
    [VEC_TS] = "#TS invalid TSS",
    [VEC_NP] = "#NP segment not present",
    [VEC_SS] = "#SS stack-segment fault",
    [VEC_GP] = "#GP general protection",
    [VEC_PF] = "#PF page fault",
    [VEC_MF] = "#MF x87 floating-point error",
    [VEC_AC] = "#AC alignment check",
    [VEC_MC] = "#MC machine check",
    [VEC_XM] = "#XM SIMD floating-point exception",
    [VEC_VE] = "#VE virtualization exception",
    [VEC_CP] = "#CP control protection",
    [VEC_HV] = "#HV hypervisor injection",
    [VEC_VC] = "#VC VMM communication",
    [VEC_SX] = "#SX security exception",
};

const char *trap_vector_name(unsigned vector)
{
    if (vector >= VEC_EXCEPTIONS)
        return "interrupt";
    return vector_names[vector] ? vector_names[vector] : "reserved";
}

bool trap_has_selector_error(unsigned vector)
{
    return vector == VEC_TS || vector == VEC_NP || vector == VEC_SS || vector == VEC_GP;
}

struct trap_selector_error trap_decode_selector_error(uint64_t error)
{
    struct trap_selector_error e;

    e.external = error & 1;
    if (error & 2)
        e.table = TRAP_SEL_IDT;     /* bit 1 set: bit 2 is meaningless */
    else
        e.table = (error & 4) ? TRAP_SEL_LDT : TRAP_SEL_GDT;
    e.index = (unsigned)((error >> 3) & 0x1fff);
    return e;
}

/* Bounded string building in the style of snprintf: `len` counts what the
 * full text needs even when it does not fit. */
struct text {
    char *buf;
    size_t size;
    size_t len;
};

static void text_add(struct text *t, const char *s)
{
    for (; *s; s++, t->len++)
        if (t->len + 1 < t->size)
            t->buf[t->len] = *s;
    if (t->size > 0)
        t->buf[MIN(t->len, t->size - 1)] = '\0';
}

static void text_word(struct text *t, const char *word)
{
    if (t->len > 0)
        text_add(t, ", ");
    text_add(t, word);
}

size_t trap_describe_pf_error(uint64_t error, char *buf, size_t size)
{
    struct text t = {buf, size, 0};

    if (size > 0)
        buf[0] = '\0';
    text_word(&t, (error & PF_ERR_P) ? "protection violation" : "not-present page");
    if (error & PF_ERR_I)
        text_word(&t, "instruction fetch");
    else
        text_word(&t, (error & PF_ERR_W) ? "write" : "read");
    text_word(&t, (error & PF_ERR_U) ? "user mode" : "kernel mode");
    if (error & PF_ERR_RSVD)
        text_word(&t, "reserved bit set in a paging structure");
    if (error & PF_ERR_PK)
        text_word(&t, "protection key");
    if (error & PF_ERR_SS)
        text_word(&t, "shadow stack");
    return t.len;
}

static const char *selector_table_name(enum trap_selector_table table)
{
    switch (table) {
    case TRAP_SEL_GDT: return "GDT";
    case TRAP_SEL_IDT: return "IDT";
    case TRAP_SEL_LDT: return "LDT";
    }
    return "?";
}

/* The control registers, or zeros where they cannot be read (host tests run
 * in ring 3, where reading them faults). */
struct control_regs {
    uint64_t cr0, cr2, cr3, cr4;
};

static struct control_regs read_control_regs(void)
{
#ifdef MICA_HOST
    return (struct control_regs){0, 0, 0, 0};
#else
    return (struct control_regs){read_cr0(), read_cr2(), read_cr3(), read_cr4()};
#endif
}

static void print_error_code(const struct trap_frame *tf, const struct control_regs *cr)
{
    unsigned vector = (unsigned)tf->vector;

    kprintf("  vector %u (%s), error code 0x%lx\n", vector, trap_vector_name(vector), tf->error);
    if (vector == VEC_PF) {
        char why[128];
        trap_describe_pf_error(tf->error, why, sizeof why);
        kprintf("  page fault at address (cr2) 0x%016lx: %s\n", cr->cr2, why);
    } else if (trap_has_selector_error(vector) && tf->error != 0) {
        struct trap_selector_error e = trap_decode_selector_error(tf->error);
        const char *origin = e.external ? "external event" : "internal";
        if (e.table == TRAP_SEL_IDT)
            kprintf("  selector error: %s, IDT vector %u\n", origin, e.index);
        else
            kprintf("  selector error: %s, %s index %u (selector 0x%x)\n", origin,
                    selector_table_name(e.table), e.index, (unsigned)(tf->error & 0xfffc));
    } else if (trap_has_selector_error(vector)) {
        kprintf("  selector error: none (error code 0)\n");
    }
}

void trap_print_frame(const struct trap_frame *tf)
{
    struct control_regs cr = read_control_regs();
    print_error_code(tf, &cr);

    const struct {
        const char *name;
        uint64_t value;
    } regs[] = {
        {"rax", tf->rax}, {"rbx", tf->rbx}, {"rcx", tf->rcx},
        {"rdx", tf->rdx}, {"rsi", tf->rsi}, {"rdi", tf->rdi},
        {"rbp", tf->rbp}, {"rsp", tf->rsp}, {"r8", tf->r8},
        {"r9", tf->r9}, {"r10", tf->r10}, {"r11", tf->r11},
        {"r12", tf->r12}, {"r13", tf->r13}, {"r14", tf->r14},
        {"r15", tf->r15}, {"rip", tf->rip}, {"rflags", tf->rflags},
        {"cs", tf->cs}, {"ss", tf->ss}, {"cr0", cr.cr0},
        {"cr2", cr.cr2}, {"cr3", cr.cr3}, {"cr4", cr.cr4},
    };
    for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
        kprintf("  %-6s 0x%016lx%s", regs[i].name, regs[i].value,
                i % 3 == 2 || i + 1 == ARRAY_SIZE(regs) ? "\n" : "");

    uint64_t off = 0;
    const char *sym = ksyms_lookup(tf->rip, &off);
    if (sym)
        kprintf("  rip is at %s+0x%lx\n", sym, off);
    else
        kprintf("  rip is outside every known function\n");
}
