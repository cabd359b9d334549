; Kernel context switch and the first instructions of a new thread
; (arch/x86_64/context.h, context.c).
;
; A thread that is not running has its callee-saved registers on its own
; kernel stack, in this order from struct arch_context.rsp upwards:
;   r15, r14, r13, r12, rbp, rbx, return address
; context.c builds the same layout for a new thread, with the return
; address pointing at one of the start stubs below.
;
; A thread that blocks at the very end of a system call (the IPC fast path)
; has nothing live on its kernel stack but its trap_frame, so it is saved
; with arch_switch_from_syscall: a switch frame just below the trap_frame
; whose return address is arch_syscall_resume, which finishes the system
; call (result = the thread's wake_result) without unwinding any C frames.

bits 64
default rel

%include "trap_frame.inc"

; RFLAGS of a new thread's first kernel instructions: only the always-one
; bit. Interrupts are off at every switch, and whatever else the switching
; thread had (AC above all, kernel_flags.inc) is not inherited.
%define KERNEL_RFLAGS_INITIAL 0x2

extern trap_exit
extern syscall_exit
extern sched_reap
extern sched_syscall_resume
extern task_exit_if_killed
global arch_switch
global arch_switch_from_syscall
global arch_syscall_resume
global arch_user_thread_start
global arch_kernel_thread_start

section .text

; void arch_switch(struct arch_context *from, const struct arch_context *to)
; The caller-saved registers are dead across a call, and RFLAGS is the same
; at every switch (IF and AC clear: every entry clears AC, sched.c asserts
; it), so saving six registers and rsp is the whole switch.
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

;void arch_switch_from_syscall(struct arch_context *from, const struct arch_context *to,
;                              struct trap_frame *from_frame, int64_t to_result)
; Abandons the caller's kernel call chain (the words just below from_frame
; are overwritten: the switch frame goes there) and resumes `to`. When
; `from` is switched back to, its system call returns through
; arch_syscall_resume.
;
; If `to` was saved the same way (the return address in its switch frame is
; arch_syscall_resume), nothing on its stack is live either: its system
; call is finished right here with rax = to_result, without popping six
; meaningless registers and calling back into C. No dead thread can be
; parked at this point (every resume point frees it), so skipping
; sched_syscall_resume loses nothing.
%define SWITCH_FRAME 56             ; six registers and a return address
%define SF_RIP 48
align 16
arch_switch_from_syscall:
    lea rax, [rel arch_syscall_resume]
    mov [rdx - 8], rax
    sub rdx, SWITCH_FRAME
    mov [rdi], rdx
    mov rsp, [rsi]
    cmp [rsp + SF_RIP], rax
    jne .restore
    add rsp, SWITCH_FRAME           ; to's trap_frame
    mov [rsp + TF_RAX], rcx
    jmp syscall_exit
.restore:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; Resume point of a thread saved by arch_switch_from_syscall: rsp is at its
; trap_frame (16-aligned). sched_syscall_resume frees a parked dead thread
; and returns the result the waker left; that is the system call's rax.
align 16
arch_syscall_resume:
    xor ebp, ebp                    ; backtraces end here, as at the entry
    call sched_syscall_resume
    mov [rsp + TF_RAX], rax
    jmp syscall_exit

; First return of a new user thread: rsp points at its trap_frame (16-aligned,
; context.c). A thread that exited just before may still be parked on this
; CPU: free it first, as every other resume point does after arch_switch.
; A task killed before its thread first ran ends here, never in ring 3.
align 16
arch_user_thread_start:
    push qword KERNEL_RFLAGS_INITIAL
    popfq
    call sched_reap
    call task_exit_if_killed
    jmp trap_exit

; First return of a new kernel thread: r12 = fn, r13 = arg, rsp 16-aligned.
align 16
arch_kernel_thread_start:
    push qword KERNEL_RFLAGS_INITIAL
    popfq
    call sched_reap
    mov rdi, r13
    call r12
    ud2                     ; fn must not return

section .note.GNU-stack noalloc noexec nowrite progbits
