/* Local APIC access (arch/x86_64/lapic.h). Register offsets and bits from
 * the Intel SDM vol. 3A, chapter 11. */
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/cpu.h"
#include "lib/assert.h"

#define MSR_APIC_BASE        0x1bu
#define APIC_BASE_ENABLE     (1ULL << 11)
#define APIC_BASE_X2APIC     (1ULL << 10)
#define APIC_BASE_ADDR_MASK  0x000ffffffffff000ULL
#define MSR_X2APIC_FIRST     0x800u /* x2APIC register = 0x800 + offset / 16 */

#define CPUID1_EDX_APIC      (1u << 9)

enum {
    LAPIC_TPR       = 0x080,
    LAPIC_EOI       = 0x0b0,
    LAPIC_SVR       = 0x0f0,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_TIMER_ICR = 0x380, /* initial count */
    LAPIC_TIMER_CCR = 0x390, /* current count */
    LAPIC_TIMER_DCR = 0x3e0, /* divide configuration */
};

#define SVR_ENABLE        (1u << 8)
#define LVT_MASKED        (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define DCR_DIVIDE_BY_16  0x3u

STATIC_ASSERT(LAPIC_TIMER_DIVIDE == 16, "DCR_DIVIDE_BY_16 must match LAPIC_TIMER_DIVIDE");

static bool x2apic_mode;
static uintptr_t mmio; /* kernel address of the xAPIC registers, 0 until set */

static uint32_t lapic_read(unsigned reg)
{
    if (x2apic_mode)
        return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
    return *(volatile uint32_t *)(mmio + reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
    if (x2apic_mode)
        wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
    else
        *(volatile uint32_t *)(mmio + reg) = v;
}

bool lapic_present(void)
{
    uint32_t a, b, c, d;
    cpuid(0, 0, &a, &b, &c, &d);
    if (a < 1)
        return false;
    cpuid(1, 0, &a, &b, &c, &d);
    return d & CPUID1_EDX_APIC;
}

paddr_t lapic_mmio_phys(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    return (base & APIC_BASE_X2APIC) ? 0 : (paddr_t)(base & APIC_BASE_ADDR_MASK);
}

void lapic_set_mmio(uintptr_t va)
{
    mmio = va;
}

paddr_t lapic_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    paddr_t pa = base & APIC_BASE_ADDR_MASK;

    x2apic_mode = base & APIC_BASE_X2APIC;
    if (!(base & APIC_BASE_ENABLE))
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    KASSERT(x2apic_mode || mmio != 0, "lapic: registers at phys %#lx are not mapped",
            (unsigned long)pa);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    return pa;
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

void lapic_timer_start_masked(uint32_t count)
{
    lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_ICR, count);
}

uint32_t lapic_timer_current(void)
{
    return lapic_read(LAPIC_TIMER_CCR);
}

void lapic_timer_periodic(unsigned vector, uint32_t count)
{
    KASSERT(vector >= 32 && vector < 256, "lapic: timer vector %u out of range", vector);
    KASSERT(count > 0, "lapic: periodic timer with count 0");
    lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, vector | LVT_TIMER_PERIODIC);
    lapic_write(LAPIC_TIMER_ICR, count);
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_ICR, 0);
}
