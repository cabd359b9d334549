; The copy loops behind vm/usercopy.c (declared in user_access.h). Every
; instruction here that touches user memory is listed in the
; exception-fixup table (arch/x86_64/extable.h): if it faults,
; trap_dispatch resumes at the routine's fault label, which reports the
; failure instead of panicking.
; The callers check the ranges; these loops only survive bad pages.
;
; With SMAP on (usercopy_smap != 0) the kernel may touch user pages only
; while RFLAGS.AC is set, so each routine opens that window with stac and
; closes it with clac on every way out. stac and clac are #UD on CPUs
; without SMAP, hence the flag.

bits 64
default rel

extern usercopy_smap
global usercopy_bytes
global usercopy_string
global usercopy_bytes_copy
global usercopy_bytes_fault

; The jumps skip the 3-byte stac/clac without a label, so that backtraces
; name the routine rather than a macro-local label.
%macro USER_ACCESS_BEGIN 0
    cmp byte [usercopy_smap], 0
    je short $ + 5
    stac
%endmacro

%macro USER_ACCESS_END 0
    cmp byte [usercopy_smap], 0
    je short $ + 5
    clac
%endmacro

section .text

; int usercopy_bytes(void *dst, const void *src, size_t n)
; Copies n bytes, 8 at a time and then the 0..7 left (under QEMU -icount a
; rep iteration is one instruction, so words cost an eighth of bytes);
; returns 0, or 1 if an access faulted (dst partly written: the caller
; finds from the page tables where the copy stopped, never from rcx).
align 16
usercopy_bytes:
    USER_ACCESS_BEGIN
    mov rcx, rdx
    shr rcx, 3
usercopy_bytes_copy:
    rep movsq
    mov ecx, edx
    and ecx, 7
usercopy_bytes_tail:
    rep movsb
    USER_ACCESS_END
    xor eax, eax
    ret
usercopy_bytes_fault:
    USER_ACCESS_END
    mov eax, 1
    ret

; int64_t usercopy_string(char *dst, const char *src, size_t max)
; Copies bytes up to and including the first NUL, at most max of them.
; Returns the string's length (< max) when a NUL was copied, max when
; there was none in max bytes, or -1 if a read faulted.
align 16
usercopy_string:
    USER_ACCESS_BEGIN
    xor eax, eax
usercopy_string_next:
    cmp rax, rdx
    jae usercopy_string_done
usercopy_string_load:
    movzx ecx, byte [rsi + rax]
    mov [rdi + rax], cl
    test cl, cl
    jz usercopy_string_done
    inc rax
    jmp usercopy_string_next
usercopy_string_done:
    USER_ACCESS_END
    ret
usercopy_string_fault:
    USER_ACCESS_END
    mov rax, -1
    ret

section __extable progbits alloc noexec nowrite align=8
    dq usercopy_bytes_copy, usercopy_bytes_fault
    dq usercopy_bytes_tail, usercopy_bytes_fault
    dq usercopy_string_load, usercopy_string_fault

section .note.GNU-stack noalloc noexec nowrite progbits
