; Exception and interrupt entry: one small stub per IDT vector, and the
; common path that saves the interrupted registers as a struct trap_frame
; (arch/x86_64/trap.h), calls trap_dispatch(frame) and resumes with iretq.
; trap_exit, the second half, is also how the syscall entry leaves when it
; cannot use sysret and how a new user thread first enters ring 3.
;
; Stack on entry to trap_common, from higher to lower addresses:
;   ss, rsp, rflags, cs, rip     pushed by the CPU, which first aligned rsp
;                                down to 16 bytes
;   error code                   by the CPU, or 0 by the stub
;   vector                       by the stub
; trap_common then pushes rax..r15, which completes the trap_frame at rsp
; (176 bytes, so rsp is 16-byte aligned again as the SysV ABI wants).
;
; GS: in ring 3 the GS base is the user's; the kernel's (struct cpu) waits
; in KERNEL_GS_BASE. Every way into the kernel swaps them before C code
; runs, and every way out swaps them back:
;   - from ring 3 (saved CS has RPL 3): swapgs on entry and before iretq;
;   - a fault on the iretq to ring 3 itself (bad user rip or selectors):
;     the CPU is in ring 0 but GS is already the user's, so swap; trap.c
;     then rewrites the frame into a fault from ring 3;
;   - NMI, double fault and machine check can interrupt the few kernel
;     instructions between syscall and swapgs (or swapgs and sysret), so
;     they read the GS base MSR instead of trusting CS, and restore what
;     they found before returning.

bits 64
default rel

%include "trap_frame.inc"
%include "kernel_flags.inc"

; VEC_NMI, VEC_DF, VEC_MC and MSR_GS_BASE come from C (asm_offsets.c).

extern trap_dispatch
global trap_stub_table
global trap_exit
global trap_iretq

section .text

; One stub: push a dummy error code where the CPU pushes none (so the frame
; layout is the same for every vector), push the vector, join trap_common.
%macro TRAP_STUB 1
align 16
trap_stub_%1:
%if !(%1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30)
    push qword 0
%endif
    push qword %1
    jmp trap_common
%endmacro

%assign vec 0
%rep 256
    TRAP_STUB %[vec]
%assign vec vec + 1
%endrep

; Shared by all vectors. Interrupts are off (every gate is an interrupt gate).
align 16
trap_common:
    TF_PUSH_GPRS
    cld                     ; the ABI requires DF = 0 on function entry
    ; AC as ring 3 left it (or as a user-copy window had it) would switch
    ; SMAP off for the handler and for every thread switched to from it;
    ; iretq restores the interrupted value.
    KERNEL_CLEAR_AC .ac_via_popf
    xor ebx, ebx            ; 1 = GS swapped for a kernel-mode trap (callee-saved)

    test byte [rsp + TF_CS], 3
    jnz .from_user

    mov rax, [rsp + TF_VECTOR]
    cmp rax, VEC_NMI
    je .paranoid
    cmp rax, VEC_DF
    je .paranoid
    cmp rax, VEC_MC
    je .paranoid
    lea rax, [trap_iretq]
    cmp [rsp + TF_RIP], rax
    jne .kernel
    mov rax, [rsp + TF_RSP] ; the iretq's own frame: rip, cs, ...
    test byte [rax + 8], 3
    jz .kernel
    swapgs                  ; faulted on the way to ring 3, with the user's GS
    jmp .kernel

.paranoid:
    mov ecx, MSR_GS_BASE
    rdmsr
    test edx, edx           ; kernel GS bases are negative (higher half)
    js .kernel
    swapgs
    mov ebx, 1

.kernel:
    ; A fake call frame whose return address is the interrupted rip, so a
    ; frame-pointer backtrace taken inside a handler runs on through the
    ; interrupted code.
    push qword [rsp + TF_RIP]
    push rbp
    mov rbp, rsp
    jmp .call

.from_user:
    swapgs
    push qword 0            ; same stack layout as above, but the chain ends
    push qword 0            ; here: user rbp and rip mean nothing to the kernel
    xor ebp, ebp

.call:
    lea rdi, [rsp + 16]     ; struct trap_frame *
    call trap_dispatch
    add rsp, 16             ; drop the fake frame
    test ebx, ebx
    jz trap_exit
    swapgs                  ; give back the user GS the paranoid entry found
    jmp trap_exit.restore

; Leave through the trap_frame at rsp: restore every register from it and
; iretq. From here on nothing reads GS.
trap_exit:
    test byte [rsp + TF_CS], 3
    jz .restore
    mov rax, [rsp + TF_RFLAGS]
    and rax, USER_RFLAGS_MASK
    or rax, USER_RFLAGS_SET
    mov [rsp + TF_RFLAGS], rax
    swapgs
.restore:
    TF_POP_GPRS
    add rsp, 16             ; vector and error code
trap_iretq:                 ; trap.c recognises faults of this instruction
    iretq

section .rodata
align 8
; Entry point of each vector's stub, for idt_init().
trap_stub_table:
%assign vec 0
%rep 256
    dq trap_stub_%[vec]
%assign vec vec + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
