/* The constants the assembly stubs share with C, generated at build time
 * (the asm-offsets technique): the Makefile compiles this file to assembly
 * only, never links it, and turns each marked line into a NASM %define in
 * $(BUILD)/k/gen/asm_offsets.inc. So structure offsets, selectors, vector
 * and call numbers and RFLAGS masks have one definition, in C; the push
 * order of the general registers (trap_frame.inc) is checked against the
 * generated offsets by the STATIC_ASSERTs in trap.h. */
#include <mica/syscall.h>

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"

/* One "%define NAME value" line, as an assembler comment the build finds. */
#define DEFINE(name, value) \
    __asm__ volatile("\n#ASMDEF %%define " #name " %0" : : "i"((long)(value)))

#define TF(name, field) DEFINE(TF_##name, offsetof(struct trap_frame, field))

void asm_offsets(void);

void asm_offsets(void)
{
    TF(R15, r15);
    TF(R14, r14);
    TF(R13, r13);
    TF(R12, r12);
    TF(R11, r11);
    TF(R10, r10);
    TF(R9, r9);
    TF(R8, r8);
    TF(RBP, rbp);
    TF(RDI, rdi);
    TF(RSI, rsi);
    TF(RDX, rdx);
    TF(RCX, rcx);
    TF(RBX, rbx);
    TF(RAX, rax);
    TF(VECTOR, vector);
    TF(ERROR, error);
    TF(RIP, rip);
    TF(CS, cs);
    TF(RFLAGS, rflags);
    TF(RSP, rsp);
    TF(SS, ss);
    DEFINE(TF_SIZE, sizeof(struct trap_frame));

    DEFINE(SWITCH_FRAME, sizeof(struct switch_frame));
    DEFINE(SF_RIP, offsetof(struct switch_frame, rip));

    DEFINE(PERCPU_KERNEL_RSP, offsetof(struct cpu, kernel_rsp));
    DEFINE(PERCPU_USER_RSP, offsetof(struct cpu, user_rsp));

    DEFINE(GDT_USER_DS, GDT_USER_DS);
    DEFINE(GDT_USER_CS, GDT_USER_CS);
    DEFINE(TRAP_VECTOR_SYSCALL, TRAP_VECTOR_SYSCALL);
    DEFINE(VEC_NMI, VEC_NMI);
    DEFINE(VEC_DF, VEC_DF);
    DEFINE(VEC_MC, VEC_MC);
    DEFINE(MSR_GS_BASE, MSR_GS_BASE);
    DEFINE(MICA_SYS_IPC_CALL, MICA_SYS_IPC_CALL);
    DEFINE(MICA_SYS_IPC_REPLY_RECV, MICA_SYS_IPC_REPLY_RECV);

    DEFINE(RFLAGS_AC, RFLAGS_AC);
    DEFINE(USER_RFLAGS_MASK, RFLAGS_USER_MASK);
    DEFINE(USER_RFLAGS_SET, RFLAGS_USER_SET);
    DEFINE(KERNEL_RFLAGS_INITIAL, RFLAGS_KERNEL_INITIAL);
}
