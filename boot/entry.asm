; Mica boot entry: the Multiboot2 header and the 32-bit to 64-bit trampoline.
;
; GRUB loads the kernel ELF at physical 0x200000 and jumps to _start32 in
; 32-bit protected mode, paging off, with EAX = Multiboot2 magic and
; EBX = physical address of the boot information block. This file lives in
; the low ".boot" sections, linked at their physical addresses, and does only
; what C cannot: check for long mode, build the early page tables, enable
; PAE + long mode + paging, and jump to the higher-half kernel.
;
; Early page tables (2 MiB pages, replaced by kernel_space_init later):
;   identity    [0, 1 GiB)  -> phys [0, 1 GiB)   (needed for the jump only)
;   direct map  0xffff800000000000 + [0, 4 GiB) -> phys [0, 4 GiB)
;   kernel      0xffffffff80000000 + [0, 1 GiB) -> phys [0, 1 GiB)

%define KERNEL_VMA       0xffffffff80000000
%define MB2_MAGIC        0xe85250d6
%define MB2_ARCH_I386    0
%define PTE_P            1
%define PTE_W            2
%define PTE_PS           0x80
%define COM1             0x3f8
%define DEBUG_EXIT_PORT  0xf4      ; QEMU isa-debug-exit (arch/x86_64/machine.c)

extern kmain
global _start32
global boot_entry_tsc
global boot_stack_bottom
global boot_stack_top

section .multiboot2 alloc noexec nowrite align=8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; entry address tag: the ELF entry is a higher-half address, so name the
    ; physical entry point explicitly.
    align 8
    dw 3, 0
    dd 12
    dd _start32
    ; end tag
    align 8
    dw 0, 0
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite align=16
bits 32
_start32:
    cli
    mov esi, eax                ; Multiboot2 magic (checked in C)
    mov edi, ebx                ; boot information block
    rdtsc                       ; first timestamp: boot_to_main starts here
    mov [boot_entry_tsc], eax
    mov [boot_entry_tsc + 4], edx
    mov esp, boot32_stack_top

    ; Long mode needs CPUID leaf 0x80000001 with EDX.LM (bit 29).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode
    mov ebp, edx                ; keep EDX.NX (bit 20) for EFER below

    ; PD entries: 4 tables x 512 entries x 2 MiB = phys [0, 4 GiB).
    xor ecx, ecx
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    mov [boot_pd + ecx * 8], eax
    mov eax, ecx
    shr eax, 11                 ; high dword of ecx << 21
    mov [boot_pd + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 4 * 512
    jne .fill_pd

    ; PDPTs: low (identity) and kernel share the first PD; the direct map
    ; uses all four.
    mov dword [boot_pdpt_low], boot_pd + PTE_P + PTE_W
    mov dword [boot_pdpt_kernel + 510 * 8], boot_pd + PTE_P + PTE_W
    mov dword [boot_pdpt_direct + 0 * 8], boot_pd + 0 * 4096 + PTE_P + PTE_W
    mov dword [boot_pdpt_direct + 1 * 8], boot_pd + 1 * 4096 + PTE_P + PTE_W
    mov dword [boot_pdpt_direct + 2 * 8], boot_pd + 2 * 4096 + PTE_P + PTE_W
    mov dword [boot_pdpt_direct + 3 * 8], boot_pd + 3 * 4096 + PTE_P + PTE_W
    mov dword [boot_pml4 + 0 * 8], boot_pdpt_low + PTE_P + PTE_W
    mov dword [boot_pml4 + 256 * 8], boot_pdpt_direct + PTE_P + PTE_W
    mov dword [boot_pml4 + 511 * 8], boot_pdpt_kernel + PTE_P + PTE_W

    mov eax, cr4
    or eax, 1 << 5              ; PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax

    mov ecx, 0xc0000080         ; EFER
    rdmsr
    or eax, 1 << 8              ; LME
    test ebp, 1 << 20
    jz .no_nx
    or eax, 1 << 11             ; NXE
.no_nx:
    wrmsr

    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG, WP, PE
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    jmp 0x08:.long_mode

; No 64-bit kernel can run: say so on COM1 and power off with status 1
; through QEMU's isa-debug-exit device, as a panic in test mode does
; (machine_stop). The command line, which says whether this is a test run,
; is not read yet, so the write is unconditional; on a machine without the
; device nothing listens at the port and the CPU halts.
.no_long_mode:
    mov esi, no_long_mode_msg
.puts:
    lodsb
    test al, al
    jz .power_off
    mov dx, COM1
    out dx, al
    jmp .puts
.power_off:
    mov dx, DEBUG_EXIT_PORT
    mov eax, 1
    out dx, eax
.halt:
    cli
    hlt
    jmp .halt

bits 64
.long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rax, .higher_half
    jmp rax

section .text
.higher_half:
    mov rsp, boot_stack_top
    xor ebp, ebp
    ; kmain(magic, info_phys): edi/esi were loaded above in the other order.
    xchg edi, esi
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .bss nobits alloc noexec write align=16
boot_stack_bottom:  resb 16384  ; the boot CPU's kernel stack
boot_stack_top:

section .boot.data progbits alloc noexec write align=4096
boot_pml4:          times 4096 db 0
boot_pdpt_low:      times 4096 db 0
boot_pdpt_direct:   times 4096 db 0
boot_pdpt_kernel:   times 4096 db 0
boot_pd:            times 4 * 4096 db 0
boot32_stack:       times 1024 db 0
boot32_stack_top:

align 8
boot_entry_tsc:     dq 0    ; guest instructions at the first kernel instruction

align 16
boot_gdt:
    dq 0
    dq 0x00af9a000000ffff       ; 0x08: 64-bit code
    dq 0x00cf92000000ffff       ; 0x10: data
boot_gdt_ptr:
    dw boot_gdt_ptr - boot_gdt - 1
    dd boot_gdt

no_long_mode_msg: db "Mica: this CPU has no 64-bit long mode; stopping.", 13, 10, 0
