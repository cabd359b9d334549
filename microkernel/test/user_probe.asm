; A probe for the in-kernel tests: one read of a user byte with no
; user-access window (no stac), listed in the exception-fixup table
; (arch/x86_64/extable.h) so that a fault comes back as a result instead
; of a panic. With SMAP on and RFLAGS.AC clear the read must fault; that
; is what the tests of the kernel entries check.

bits 64
default rel

global user_probe_read

section .text

; int user_probe_read(const void *p): 0 if the byte at p could be read,
; 1 if the read faulted.
align 16
user_probe_read:
user_probe_read_load:
    movzx eax, byte [rdi]
    xor eax, eax
    ret
user_probe_read_fault:
    mov eax, 1
    ret

section __extable progbits alloc noexec nowrite align=8
    dq user_probe_read_load, user_probe_read_fault

section .note.GNU-stack noalloc noexec nowrite progbits
