; Exception and interrupt entry: one small stub per IDT vector, and the
; common path that saves the interrupted registers as a struct trap_frame
; (arch/x86_64/trap.h), calls trap_dispatch(frame) and resumes with iretq.
;
; Stack on entry to trap_common, from higher to lower addresses:
;   ss, rsp, rflags, cs, rip     pushed by the CPU, which first aligned rsp
;                                down to 16 bytes
;   error code                   by the CPU, or 0 by the stub
;   vector                       by the stub
; trap_common then pushes rax..r15, which completes the trap_frame at rsp
; (176 bytes, so rsp is 16-byte aligned again as the SysV ABI wants).

bits 64
default rel

; Offsets into struct trap_frame, checked by STATIC_ASSERTs in trap.h.
%define TF_RIP 136

extern trap_dispatch
global trap_stub_table

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
    ; swapgs goes here: when the saved CS (at [rsp + 24]) has RPL 3, the trap
    ; came from user mode and GS must be switched to the kernel's struct cpu
    ; before any C code runs (and back before the iretq below). Not needed
    ; while nothing runs in ring 3.
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld                     ; the ABI requires DF = 0 on function entry

    ; A fake call frame whose return address is the interrupted rip, so a
    ; frame-pointer backtrace taken inside a handler runs on through the
    ; interrupted code. (From user mode the saved rbp should become 0 here,
    ; ending the chain; the backtrace bounds check stops it meanwhile.)
    push qword [rsp + TF_RIP]
    push rbp
    mov rbp, rsp
    lea rdi, [rsp + 16]     ; struct trap_frame *
    call trap_dispatch
    add rsp, 16             ; drop the fake frame

    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16             ; vector and error code
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
