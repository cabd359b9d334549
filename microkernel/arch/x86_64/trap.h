/* Traps: the register frame built by trap_entry.asm, the C dispatcher it
 * calls, and the pieces of the panic report that understand trap frames. */
#pragma once

#include "lib/types.h"

/* Saved state of an interrupted context, lowest address first. trap_entry.asm
 * pushes it in reverse order: the CPU pushes ss..rip (and for some vectors
 * the error code), the vector stub the error code (0 where the CPU has none)
 * and the vector, trap_common the general registers rax first. A handler may
 * change any field; trap_entry.asm restores from the frame. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error;   /* the CPU's error code, or 0 */
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* trap_entry.asm hardcodes these offsets. */
STATIC_ASSERT(offsetof(struct trap_frame, r15) == 0, "trap_frame.r15");
STATIC_ASSERT(offsetof(struct trap_frame, rbp) == 64, "trap_frame.rbp");
STATIC_ASSERT(offsetof(struct trap_frame, rax) == 112, "trap_frame.rax");
STATIC_ASSERT(offsetof(struct trap_frame, vector) == 120, "trap_frame.vector");
STATIC_ASSERT(offsetof(struct trap_frame, error) == 128, "trap_frame.error");
STATIC_ASSERT(offsetof(struct trap_frame, rip) == 136, "trap_frame.rip (TF_RIP)");
STATIC_ASSERT(offsetof(struct trap_frame, ss) == 168, "trap_frame.ss");
STATIC_ASSERT(sizeof(struct trap_frame) == 176, "trap_frame size (keeps rsp 16-aligned)");

typedef void (*trap_handler_fn)(struct trap_frame *tf);

/* Exception vectors the kernel names (Intel SDM vol. 3, table 6-1). */
enum {
    VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
    VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
    VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18,
    VEC_XM = 19, VEC_VE = 20, VEC_CP = 21, VEC_HV = 28, VEC_VC = 29,
    VEC_SX = 30,
    VEC_EXCEPTIONS = 32, /* vectors below this are CPU exceptions */
};

/* Page-fault error code bits. */
#define PF_ERR_P    (1u << 0) /* 1: protection violation, 0: page not present */
#define PF_ERR_W    (1u << 1) /* write access */
#define PF_ERR_U    (1u << 2) /* access from ring 3 */
#define PF_ERR_RSVD (1u << 3) /* reserved bit set in a paging structure */
#define PF_ERR_I    (1u << 4) /* instruction fetch */
#define PF_ERR_PK   (1u << 5) /* protection key */
#define PF_ERR_SS   (1u << 6) /* shadow-stack access */

/* True if `tf` interrupted ring 3. */
static inline bool trap_from_user(const struct trap_frame *tf)
{
    return (tf->cs & 3) != 0;
}

/* Called by trap_entry.asm with interrupts disabled: hands the frame to the
 * handler registered for its vector (idt_set_handler); an exception or
 * interrupt nobody handles produces the panic report. */
void trap_dispatch(struct trap_frame *tf);

/* The innermost trap frame being handled on this CPU, or NULL outside of
 * trap handlers. panic() shows its registers. */
const struct trap_frame *trap_current_frame(void);

/* "#PF page fault" style name of an exception vector; "reserved" for the
 * reserved exception vectors, "interrupt" for vectors 32 and up. */
const char *trap_vector_name(unsigned vector);

/* True if exception `vector` carries a selector error code (#TS, #NP, #SS,
 * #GP): external bit, table (GDT/IDT/LDT) and descriptor index. */
bool trap_has_selector_error(unsigned vector);

enum trap_selector_table { TRAP_SEL_GDT, TRAP_SEL_IDT, TRAP_SEL_LDT };

struct trap_selector_error {
    bool external;                   /* raised by an event outside the program */
    enum trap_selector_table table;
    unsigned index;                  /* descriptor index in that table */
};

/* Split a selector error code into its fields. */
struct trap_selector_error trap_decode_selector_error(uint64_t error);

/* Print the page-fault error code bits of `error` as words, comma-separated,
 * into `buf` (always NUL-terminated when size > 0), e.g.
 * "not-present page, write, kernel mode". Returns the length it needed. */
size_t trap_describe_pf_error(uint64_t error, char *buf, size_t size);

/* Print the register report of `tf` to the console: vector and name, the
 * decoded error code (and CR2 for #PF), all general registers, rip with its
 * symbol, rsp, rflags, cs, ss and CR0/CR2/CR3/CR4. */
void trap_print_frame(const struct trap_frame *tf);

/* Like panic(), but the report shows the registers of `tf` and the backtrace
 * starts at the trapped rip and frame pointer. Defined in lib/panic.c,
 * next to panic(). Never returns. */
__noreturn __printf(2, 3) void panic_trap(const struct trap_frame *tf, const char *fmt, ...);
