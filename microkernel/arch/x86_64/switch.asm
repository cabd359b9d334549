; Kernel context switch and the first instructions of a new thread
; (arch/x86_64/context.h, context.c).
;
; A thread that is not running has its callee-saved registers on its own
; kernel stack, in this order from struct arch_context.rsp upwards:
;   r15, r14, r13, r12, rbp, rbx, return address
; context.c builds the same layout for a new thread, with the return
; address pointing at one of the start stubs below.

bits 64
default rel

extern trap_exit
global arch_switch
global arch_user_thread_start
global arch_kernel_thread_start

section .text

; void arch_switch(struct arch_context *from, const struct arch_context *to)
; The caller-saved registers are dead across a call, and RFLAGS (IF) is left
; alone, so saving six registers and rsp is the whole switch.
align 16
arch_switch:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, [rsi]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; First return of a new user thread: rsp points at its trap_frame.
align 16
arch_user_thread_start:
    jmp trap_exit

; First return of a new kernel thread: r12 = fn, r13 = arg, rsp 16-aligned.
align 16
arch_kernel_thread_start:
    mov rdi, r13
    call r12
    ud2                     ; fn must not return

section .note.GNU-stack noalloc noexec nowrite progbits
