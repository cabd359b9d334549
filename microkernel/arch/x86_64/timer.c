/* The scheduler's clock (arch/x86_64/timer.h): the local APIC timer in
 * periodic mode, its rate measured against PIT channel 2; or, on a CPU
 * without a local APIC, PIT channel 0 through the legacy 8259 PIC.
 *
 * Either way the two 8259s are first remapped to vectors 0x20-0x2f (out of
 * the exception range, where the BIOS leaves them) and masked, so that no
 * legacy interrupt arrives unasked. */
#include "inject/inject.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/lapic.h"
#include "lib/console.h"
#include "lib/assert.h"
#include "arch/x86_64/upcalls.h"

/* 8259 PIC ports and initialisation words. */
#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_ICW1_INIT_ICW4 0x11 /* edge triggered, cascade, ICW4 follows */
#define PIC_ICW4_8086      0x01
#define PIC_EOI            0x20
#define PIC1_VECTOR 0x20
#define PIC2_VECTOR 0x28
#define PIC_SPURIOUS_IRQ 7       /* what a 8259 reports for a vanished request */

/* 8254 PIT ports. */
#define PIT_HZ         1193182u
#define PIT_CH0        0x40
#define PIT_CH2        0x42
#define PIT_CMD        0x43
#define PIT_PORT_B     0x61      /* bit 0: channel 2 gate, 1: speaker, 5: channel 2 out */
#define PIT_CMD_CH0_RATE    0x34 /* channel 0, lo/hi byte, mode 2 (rate generator) */
#define PIT_CMD_CH2_ONESHOT 0xb0 /* channel 2, lo/hi byte, mode 0 (count down once) */
#define PIT_CMD_CH2_LATCH   0x80 /* channel 2, latch the count for reading */
#define PORT_B_GATE2   0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2    0x20

/* Calibration: let PIT channel 2 count 298 ticks (250 us) while the APIC
 * timer runs, and scale by PIT_HZ / 298. One PIT tick is 0.34 % of the
 * window, so the rates are known to about 0.3 %: a 100 Hz tick may be
 * 10.03 ms instead of 10, and a latency figure off by as much, which
 * nothing here needs closer. Each millisecond of window costs a million
 * instructions of boot under QEMU (10 ms was four fifths of the boot to
 * init, 1 ms still two fifths). */
#define CALIB_PIT_COUNT 298u
#define CALIB_MAX_POLLS 100000000u /* gives up on a PIT that never finishes */
/* Used when calibration fails: QEMU's APIC timer runs at 1 GHz. */
#define LAPIC_FALLBACK_HZ (1000000000u / LAPIC_TIMER_DIVIDE)

STATIC_ASSERT(PIT_HZ / TIMER_HZ <= 0xffff, "TIMER_HZ too low for the PIT's 16-bit divisor");
STATIC_ASSERT(TIMER_VECTOR == PIC1_VECTOR, "without an APIC the PIT ticks on IRQ0 of the 8259");

static volatile uint64_t ticks;
static bool started;
static bool using_pic;

/* Interrupt latency (timer_latency): the APIC timer's rate and count per
 * tick, the TSC's rate (both measured against the PIT), and when the last
 * tick became pending, in TSC counts. */
static uint64_t lapic_hz, tsc_hz;
static uint32_t lapic_period;
static uint64_t last_pending_tsc;
static struct timer_latency latency;

static void io_wait(void)
{
    outb(0x80, 0); /* an unused port: gives an old 8259 time to settle */
}

/* Remap both 8259s to PIC1_VECTOR/PIC2_VECTOR and apply the masks. */
static void pic_remap(uint8_t mask1, uint8_t mask2)
{
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4); io_wait();
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4); io_wait();
    outb(PIC1_DATA, PIC1_VECTOR); io_wait();
    outb(PIC2_DATA, PIC2_VECTOR); io_wait();
    outb(PIC1_DATA, 1u << 2); io_wait(); /* slave on IRQ2 */
    outb(PIC2_DATA, 2); io_wait();       /* cascade identity */
    outb(PIC1_DATA, PIC_ICW4_8086); io_wait();
    outb(PIC2_DATA, PIC_ICW4_8086); io_wait();
    outb(PIC1_DATA, mask1);
    outb(PIC2_DATA, mask2);
}

/* How long this tick waited with its interrupt pending: the APIC timer
 * reloads its count when it fires, so the count consumed since then is the
 * wait, unless whole periods went by unhandled (their interrupts merge
 * into one): the TSC since the last tick became pending counts those. */
static void record_latency(void)
{
    uint32_t count = lapic_timer_current();
    uint64_t now = rdtsc_ordered();
    uint64_t ns = (uint64_t)(lapic_period - MIN(count, lapic_period)) * 1000000000u / lapic_hz;
    uint64_t pending = now - ns * (tsc_hz / 1000u) / 1000000u;
    uint64_t period_tsc = tsc_hz / TIMER_HZ;
    if (last_pending_tsc && period_tsc) {
        uint64_t periods = (pending - last_pending_tsc + period_tsc / 2) / period_tsc;
        if (periods > 1)
            ns += (periods - 1) * (1000000000u / TIMER_HZ);
    }
    last_pending_tsc = pending;
    latency.max_ns = MAX(latency.max_ns, ns);
    latency.sum_ns += ns;
    latency.count++;
}

/* Interrupts until a tick held back by timer_late is delivered; 0: none. */
static uint32_t late_due;

/* The timer points (inject/inject.h): true when this tick is lost or held
 * back (its handler does nothing but acknowledge it). */
static __attribute__((noinline)) bool tick_injected(void)
{
    if (late_due && --late_due == 0)
        ticks++; /* the held-back tick arrives, with this one */
    if (INJECT(INJECT_TIMER_LOSE, NULL)) {
        inject_report(INJECT_TIMER_LOSE, "tick %lu lost", (unsigned long)ticks + 1);
        return true;
    }
    if (!late_due && INJECT(INJECT_TIMER_LATE, NULL)) {
        late_due = inject_ticks(INJECT_TIMER_LATE);
        inject_report(INJECT_TIMER_LATE, "tick %lu held back %u ticks", (unsigned long)ticks + 1,
                      late_due);
        return true;
    }
    return false;
}

static void timer_tick(struct trap_frame *tf)
{
    if (lapic_hz && tsc_hz)
        record_latency();
    if ((INJECT_ANY(INJECT_BIT(INJECT_TIMER_LOSE) | INJECT_BIT(INJECT_TIMER_LATE)) || late_due) &&
        tick_injected()) {
        if (using_pic)
            outb(PIC1_CMD, PIC_EOI);
        else
            lapic_eoi();
        return;
    }
    ticks++;
    /* Acknowledge first: sched_tick may switch to another thread, and this
     * one may not come back to finish the handler for a while. */
    if (using_pic)
        outb(PIC1_CMD, PIC_EOI);
    else
        lapic_eoi();
    sched_tick(tf);
}

/* Spurious interrupts (the APIC's, or a 8259's IRQ7/IRQ15 ghost) must not
 * be acknowledged. */
static void spurious_interrupt(struct trap_frame *tf)
{
    (void)tf;
}

/* The count of PIT channel 2, latched. */
static uint16_t pit_ch2_count(void)
{
    outb(PIT_CMD, PIT_CMD_CH2_LATCH);
    uint8_t lo = inb(PIT_CH2);
    return (uint16_t)(lo | inb(PIT_CH2) << 8);
}

/* APIC timer counts per CALIB_PIT_COUNT PIT ticks, measured with PIT
 * channel 2; 0 if the PIT never signalled the end of the interval.
 *
 * The window ends when the poll sees the PIT's output go high, which may be
 * late: under QEMU without -icount the virtual CPU can be descheduled for
 * milliseconds while both clocks run on. So the APIC count and the PIT's
 * own count are read back to back at the end (in mode 0 the PIT counts on
 * below zero), and the rate is the ratio of the two elapsed counts: a late
 * poll lengthens both alike. */
static uint32_t lapic_calibrate(void)
{
    uint8_t port_b = inb(PIT_PORT_B);
    outb(PIT_PORT_B, (uint8_t)((port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2));
    outb(PIT_CMD, PIT_CMD_CH2_ONESHOT);
    outb(PIT_CH2, CALIB_PIT_COUNT & 0xff);
    lapic_timer_start_masked(UINT32_MAX);
    outb(PIT_CH2, CALIB_PIT_COUNT >> 8); /* counting starts with the high byte */

    uint64_t tsc0 = rdtsc_ordered();
    uint32_t polls = 0;
    while (!(inb(PIT_PORT_B) & PORT_B_OUT2) && ++polls < CALIB_MAX_POLLS)
        __asm__ volatile("pause");
    uint32_t now = lapic_timer_current();
    uint16_t pit_elapsed = (uint16_t)(CALIB_PIT_COUNT - pit_ch2_count());
    uint64_t tsc_elapsed = rdtsc_ordered() - tsc0;
    lapic_timer_stop();
    outb(PIT_PORT_B, port_b);

    if (polls >= CALIB_MAX_POLLS || now == 0 || pit_elapsed < CALIB_PIT_COUNT)
        return 0; /* no PIT, or the APIC timer ran out first */
    tsc_hz = tsc_elapsed * PIT_HZ / pit_elapsed;
    /* Scaled to CALIB_PIT_COUNT PIT ticks, as the callers expect. */
    return (uint32_t)((uint64_t)(UINT32_MAX - now) * CALIB_PIT_COUNT / pit_elapsed);
}

static void timer_start_lapic(void)
{
    pic_remap(0xff, 0xff);
    idt_set_handler(LAPIC_SPURIOUS_VECTOR, spurious_interrupt);
    paddr_t pa = lapic_init();

    uint32_t per_calib = lapic_calibrate();
    uint64_t hz = per_calib ? (uint64_t)per_calib * PIT_HZ / CALIB_PIT_COUNT : LAPIC_FALLBACK_HZ;
    uint64_t count = hz / TIMER_HZ;
    KASSERT(count > 0 && count <= UINT32_MAX, "timer: APIC timer count %lu per tick out of range",
            (unsigned long)count);

    idt_set_handler(TIMER_VECTOR, timer_tick);
    lapic_period = (uint32_t)count;
    lapic_hz = per_calib ? hz : 0; /* no latency figures on a guessed rate */
    lapic_timer_periodic(TIMER_VECTOR, (uint32_t)count);
    kprintf("timer: local APIC at %#lx, timer %lu kHz (%s), %u Hz ticks on vector %u\n",
            (unsigned long)pa, (unsigned long)(hz / 1000),
            per_calib ? "measured against the PIT" : "PIT calibration failed, assumed",
            TIMER_HZ, TIMER_VECTOR);
}

static void timer_start_pit(void)
{
    uint16_t divisor = (uint16_t)(PIT_HZ / TIMER_HZ);

    using_pic = true;
    idt_set_handler(TIMER_VECTOR, timer_tick);
    outb(PIT_CMD, PIT_CMD_CH0_RATE);
    outb(PIT_CH0, divisor & 0xff);
    outb(PIT_CH0, divisor >> 8);
    pic_remap((uint8_t)~1u, 0xff); /* IRQ0 only */
    kprintf("timer: no local APIC; PIT channel 0 through the 8259, %u Hz ticks on vector %u\n",
            TIMER_HZ, TIMER_VECTOR);
}

void timer_init(void)
{
    if (started)
        return;
    started = true;
    /* A 8259 reports a request that vanished before it was acknowledged
     * as IRQ7 (or IRQ15 on the slave), whatever the masks say. */
    idt_set_handler(PIC1_VECTOR + PIC_SPURIOUS_IRQ, spurious_interrupt);
    idt_set_handler(PIC2_VECTOR + PIC_SPURIOUS_IRQ, spurious_interrupt);
    if (lapic_present())
        timer_start_lapic();
    else
        timer_start_pit();
}

uint64_t timer_ticks(void)
{
    return ticks;
}

struct timer_latency timer_latency(void)
{
    return latency;
}

void timer_latency_reset(void)
{
    latency = (struct timer_latency){0};
}
