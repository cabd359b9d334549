/* Per-CPU GDT and TSS: building the descriptors and loading them (see gdt.h
 * for the selector layout and why it is in that order). */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/percpu.h"
#include "lib/assert.h"

enum {
    GDT_SLOT_KERNEL_CS = GDT_KERNEL_CS >> 3,
    GDT_SLOT_KERNEL_DS = GDT_KERNEL_DS >> 3,
    GDT_SLOT_USER_CS32 = GDT_USER_CS32 >> 3,
    GDT_SLOT_USER_DS   = GDT_USER_DS >> 3,
    GDT_SLOT_USER_CS   = GDT_USER_CS >> 3,
    GDT_SLOT_TSS       = GDT_TSS >> 3,
    GDT_ENTRIES        = GDT_SLOT_TSS + 2, /* a 64-bit TSS descriptor is 16 bytes */
};

/* Code/data descriptors: limit 0xfffff, G=1, P=1, accessed bit preset so the
 * CPU never needs to write the table. Code has L=1 (64-bit), data has D/B=1. */
#define DESC_KERNEL_CODE 0x00af9b000000ffffULL /* DPL 0, execute/read */
#define DESC_KERNEL_DATA 0x00cf93000000ffffULL /* DPL 0, read/write */
#define DESC_USER_DATA   0x00cff3000000ffffULL /* DPL 3, read/write */
#define DESC_USER_CODE   0x00affb000000ffffULL /* DPL 3, execute/read */
#define DESC_TSS_AVAILABLE 0x89ULL             /* P=1, type 9: available 64-bit TSS */

STATIC_ASSERT(GDT_KERNEL_DS == GDT_KERNEL_CS + 8, "SYSCALL loads SS = CS + 8");
STATIC_ASSERT((GDT_USER_DS & ~3) == GDT_USER_CS32 + 8, "SYSRET loads SS = base + 8");
STATIC_ASSERT((GDT_USER_CS & ~3) == GDT_USER_CS32 + 16, "SYSRET loads CS = base + 16");

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];     /* stack for interrupts arriving in ring 0..2; rsp[0] is RSP0 */
    uint64_t reserved1;
    uint64_t ist[7];     /* IST1..IST7 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base; /* >= limit: no I/O permission bitmap */
} __attribute__((packed));

STATIC_ASSERT(sizeof(struct tss) == 104, "64-bit TSS layout");

#define IST_STACKS 3

static uint64_t gdts[MAX_CPUS][GDT_ENTRIES] __attribute__((aligned(16)));
static struct tss tsss[MAX_CPUS] __attribute__((aligned(16)));
static uint8_t ist_stacks[MAX_CPUS][IST_STACKS][IST_STACK_SIZE] __attribute__((aligned(16)));

/* The only kernel stack until threads exist (defined by the boot code). */
extern char boot_stack_top[];

static uint64_t tss_descriptor_low(const struct tss *t)
{
    uint64_t base = (uintptr_t)t;
    uint64_t limit = sizeof(*t) - 1;

    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (DESC_TSS_AVAILABLE << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

static void tss_fill(struct tss *t, unsigned id)
{
    *t = (struct tss){0};
    t->rsp[0] = (uintptr_t)boot_stack_top;
    t->ist[IST_DOUBLE_FAULT - 1] = (uintptr_t)&ist_stacks[id][0][IST_STACK_SIZE];
    t->ist[IST_MACHINE_CHECK - 1] = (uintptr_t)&ist_stacks[id][1][IST_STACK_SIZE];
    t->ist[IST_NMI - 1] = (uintptr_t)&ist_stacks[id][2][IST_STACK_SIZE];
    t->iomap_base = sizeof(*t);
}

static void gdt_fill(uint64_t *gdt, const struct tss *t)
{
    gdt[0] = 0;
    gdt[GDT_SLOT_KERNEL_CS] = DESC_KERNEL_CODE;
    gdt[GDT_SLOT_KERNEL_DS] = DESC_KERNEL_DATA;
    gdt[GDT_SLOT_USER_CS32] = 0; /* only SYSRET's base; never loaded */
    gdt[GDT_SLOT_USER_DS] = DESC_USER_DATA;
    gdt[GDT_SLOT_USER_CS] = DESC_USER_CODE;
    /* Rewritten on every call: LTR marks the descriptor busy, and loading a
     * busy TSS again would fault. */
    gdt[GDT_SLOT_TSS] = tss_descriptor_low(t);
    gdt[GDT_SLOT_TSS + 1] = (uintptr_t)t >> 32;
}

static void gdt_load(const uint64_t *gdt)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = {GDT_ENTRIES * 8 - 1, (uintptr_t)gdt};

    __asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
    /* CS can only be reloaded by a far transfer; LRETQ pops RIP then CS. */
    __asm__ volatile("pushq %[cs]\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw %[ds], %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss"
                     :
                     : [cs] "i"(GDT_KERNEL_CS), [ds] "i"(GDT_KERNEL_DS)
                     : "rax", "memory");
    __asm__ volatile("ltr %0" : : "r"((uint16_t)GDT_TSS) : "memory");
    /* No LDT: the firmware may have left one loaded, and a selector with the
     * TI bit set must fault rather than index whatever it describes. */
    __asm__ volatile("lldt %w0" : : "r"(0) : "memory");
}

void gdt_init(struct cpu *c)
{
    KASSERT(c != NULL, "gdt_init: no struct cpu");
    KASSERT(c->id < MAX_CPUS, "gdt_init: cpu id %u beyond MAX_CPUS %u", c->id,
            (unsigned)MAX_CPUS);

    struct tss *t = &tsss[c->id];
    tss_fill(t, c->id);
    gdt_fill(gdts[c->id], t);
    gdt_load(gdts[c->id]);
}

void gdt_set_kernel_stack(unsigned cpu_id, uintptr_t top)
{
    KASSERT(cpu_id < MAX_CPUS, "gdt_set_kernel_stack: cpu id %u beyond MAX_CPUS", cpu_id);
    KASSERT(IS_ALIGNED(top, 16), "gdt_set_kernel_stack: stack top %#lx not 16-aligned",
            (unsigned long)top);
    tsss[cpu_id].rsp[0] = top;
}

gdt_rsp0_t *gdt_kernel_stack_slot(unsigned cpu_id)
{
    KASSERT(cpu_id < MAX_CPUS, "gdt_kernel_stack_slot: cpu id %u beyond MAX_CPUS", cpu_id);
    return (gdt_rsp0_t *)((char *)&tsss[cpu_id] + offsetof(struct tss, rsp));
}
