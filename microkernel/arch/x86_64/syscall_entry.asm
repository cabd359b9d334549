; The syscall entry (LSTAR) and its exit.
;
; The CPU arrives here from ring 3 with rcx = user rip, r11 = user rflags,
; CS/SS already the kernel's, IF, DF, TF, AC and NT cleared by FMASK, and
; everything else (rsp, GS) still the user's. The entry switches to the
; thread's kernel stack (this_cpu()->kernel_rsp), builds a struct
; trap_frame there exactly as an interrupt from ring 3 would (vector
; TRAP_VECTOR_SYSCALL), and calls syscall_dispatch(frame).
;
; The handler may change any field, and the thread may have been switched
; out and back in between, so the exit reloads every register from the
; frame. It uses sysret only when that is safe: Intel CPUs raise the #GP of
; a non-canonical rcx in ring 0 with the user's rsp already loaded, so a rip
; at or above the last user page, or selectors that are not the user's,
; leave through iretq (trap_exit) instead, where a bad rip faults with the
; kernel stack still in place.

bits 64
default rel

; PERCPU_*, GDT_USER_*, TRAP_VECTOR_SYSCALL and the two IPC call numbers
; are generated from C (asm_offsets.c), like the TF_* offsets.
%include "trap_frame.inc"

; Lowest rip sysret must not return to: the last user page is excluded as
; well, as other kernels do, so that a syscall instruction at its very end
; cannot produce a non-canonical return address.
%define SYSRET_RIP_LIMIT 0x00007ffffffff000

%include "kernel_flags.inc"

extern syscall_dispatch
extern sys_ipc_call
extern sys_ipc_reply_recv_bare
extern trap_exit
extern task_exit_if_killed
; The checks before sysret may leave (otherwise iretq leaves, from %1),
; then rcx and r11 as sysret takes them: the same for both exits.
%macro SYSRET_PREPARE 1
    mov rcx, [rsp + TF_RIP]
    mov r11, SYSRET_RIP_LIMIT
    cmp rcx, r11
    jae %1                          ; unsigned: also every non-canonical rip
    cmp qword [rsp + TF_CS], GDT_USER_CS
    jne %1
    cmp qword [rsp + TF_SS], GDT_USER_DS
    jne %1
    mov r11, [rsp + TF_RFLAGS]
    and r11, USER_RFLAGS_MASK
    or r11, USER_RFLAGS_SET
%endmacro

; The callee-saved registers from the trap_frame at rsp.
%macro RESTORE_CALLEE_SAVED 0
    mov r15, [rsp + TF_R15]
    mov r14, [rsp + TF_R14]
    mov r13, [rsp + TF_R13]
    mov r12, [rsp + TF_R12]
    mov rbp, [rsp + TF_RBP]
    mov rbx, [rsp + TF_RBX]
%endmacro

global syscall_entry
global syscall_exit
global arch_ipc_fast_exit

section .text

align 16
syscall_entry:
    swapgs
    mov [gs:PERCPU_USER_RSP], rsp
    mov rsp, [gs:PERCPU_KERNEL_RSP]
    push qword GDT_USER_DS          ; ss
    push qword [gs:PERCPU_USER_RSP] ; rsp
    push r11                        ; rflags
    push qword GDT_USER_CS          ; cs
    push rcx                        ; rip
    push qword 0                    ; error
    push qword TRAP_VECTOR_SYSCALL  ; vector
    TF_PUSH_GPRS
    xor ebp, ebp                    ; backtraces end here
    mov rdi, rsp
    ; The two IPC calls of a round trip go straight to their handlers,
    ; whose fast paths leave through switch.asm; rax is still the user's,
    ; and a value with flag bits in it takes syscall_dispatch, which checks
    ; them.
    cmp rax, MICA_SYS_IPC_CALL
    je syscall_ipc_call
    cmp rax, MICA_SYS_IPC_REPLY_RECV
    je syscall_ipc_reply_recv
    call syscall_dispatch

; Leave through the trap_frame at rsp (also reached by a thread that
; entered by syscall and was switched back in: its frame is at rsp here).
syscall_exit:
    SYSRET_PREPARE .iret
    RESTORE_CALLEE_SAVED
    mov r10, [rsp + TF_R10]
    mov r9,  [rsp + TF_R9]
    mov r8,  [rsp + TF_R8]
    mov rdi, [rsp + TF_RDI]
    mov rsi, [rsp + TF_RSI]
    mov rdx, [rsp + TF_RDX]
    mov rax, [rsp + TF_RAX]
    mov rsp, [rsp + TF_RSP]
    swapgs
    o64 sysret

.iret:
    jmp trap_exit

;__noreturn void arch_ipc_fast_exit(uint64_t badge, uint64_t label, uint64_t w0,
;                                   uint64_t w1, uint64_t w2, uint64_t w3)
; The IPC fast path's exit (context.h): the current thread was saved at the
; end of a system call, so its trap_frame sits at the top of the kernel
; stack that the syscall entry uses (PERCPU_KERNEL_RSP, set by the switch).
; The message arrives in the argument registers and leaves in the ones of
; the IPC ABI (rdi, rsi, rdx, r10, r8, r9; only w1 moves), rax is 0, and
; the callee-saved registers, rip, rflags and rsp come from the frame: the
; same exit as syscall_exit without storing and reloading the message.
align 16
arch_ipc_fast_exit:
    mov rsp, [gs:PERCPU_KERNEL_RSP]
    sub rsp, TF_SIZE
    mov r10, rcx
    SYSRET_PREPARE .iret
    RESTORE_CALLEE_SAVED
    xor eax, eax
    mov rsp, [rsp + TF_RSP]
    swapgs
    o64 sysret
.iret:                              ; the frame takes the message: trap_exit reloads it
    mov [rsp + TF_RDI], rdi
    mov [rsp + TF_RSI], rsi
    mov [rsp + TF_RDX], rdx
    mov [rsp + TF_R10], r10
    mov [rsp + TF_R8], r8
    mov [rsp + TF_R9], r9
    mov qword [rsp + TF_RAX], 0
    jmp trap_exit

; Their fast paths never come back here; the slow paths and errors do, and
; a task killed while the call was blocked ends before ring 3, as after
; syscall_dispatch.
syscall_ipc_call:
    call sys_ipc_call
    mov [rsp + TF_RAX], rax
    call task_exit_if_killed
    jmp syscall_exit

syscall_ipc_reply_recv:
    call sys_ipc_reply_recv_bare    ; rax had no flag bits
    mov [rsp + TF_RAX], rax
    call task_exit_if_killed
    jmp syscall_exit

section .note.GNU-stack noalloc noexec nowrite progbits
