/* Machine-code snippets for child tasks (see tiny_elf.h): two that exit
 * cleanly and one per kind of ring-3 misbehaviour the kernel must survive
 * by killing the task. Every misbehaviour is followed by exit(0), so a
 * child that is NOT stopped reports status 0 instead of MICA_EXIT_KILLED.
 * The snippets are position-independent and live in .rodata: they are
 * data here and code only in the child. Include in one file per program. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snippet.h"

MB_SNIPPET(exit0, "");
MB_SNIPPET(exit42, "movl $42, %edi\n movl $2, %eax\n syscall\n");
MB_SNIPPET(read_direct_map, "movabsq $0xffff800000000000, %rax\n movq (%rax), %rax\n");
MB_SNIPPET(read_kernel_text, "movabsq $0xffffffff80200000, %rax\n movq (%rax), %rax\n");
MB_SNIPPET(write_kernel_data, "movabsq $0xffffffff80200000, %rax\n movq $0, (%rax)\n");
MB_SNIPPET(read_noncanonical, "movabsq $0x0000800000000000, %rax\n movq (%rax), %rax\n");
MB_SNIPPET(read_null, "xorl %eax, %eax\n movq (%rax), %rax\n");
MB_SNIPPET(write_own_text, "leaq 0(%rip), %rax\n movb $0x90, (%rax)\n");
MB_SNIPPET(write_start_info, "movabsq $0x00007fffffe00000, %rax\n movq $0, (%rax)\n");
/* Store a `ret` in the RW data page and call it: NX must stop the fetch. */
MB_SNIPPET(exec_data_page, "movl $0x600000, %eax\n movb $0xc3, (%rax)\n call *%rax\n");
MB_SNIPPET(jump_to_kernel, "movabsq $0xffffffff80200000, %rax\n jmp *%rax\n");
MB_SNIPPET(cli, "cli\n");
MB_SNIPPET(hlt, "hlt\n");
MB_SNIPPET(load_cr3, "xorl %eax, %eax\n movq %rax, %cr3\n");
/* Port 0x80 is the harmless POST port: an unprotected access does nothing. */
MB_SNIPPET(port_in, "movl $0x80, %edx\n inb %dx, %al\n");
MB_SNIPPET(port_out, "movl $0x80, %edx\n xorl %eax, %eax\n outb %al, %dx\n");
MB_SNIPPET(lgdt, "subq $16, %rsp\n lgdt (%rsp)\n");
MB_SNIPPET(invalid_opcode, "ud2\n");
MB_SNIPPET(divide_by_zero, "xorl %ecx, %ecx\n movl $1, %eax\n cltd\n idivl %ecx\n");
MB_SNIPPET(breakpoint, "int3\n");
MB_SNIPPET(int_kernel_vector, "int $0x80\n");
/* The FPU and vector units are off (no state of theirs is kept across
 * switches): x87 (#NM), MMX, SSE, SSE state save and AVX (#UD). */
MB_SNIPPET(x87_fldz, "fldz\n");
MB_SNIPPET(mmx_pxor, "pxor %mm0, %mm0\n");
MB_SNIPPET(sse_xorps, "xorps %xmm0, %xmm0\n");
MB_SNIPPET(sse_fxsave, "subq $1024, %rsp\n andq $-16, %rsp\n fxsave (%rsp)\n");
MB_SNIPPET(avx_vxorps, "vxorps %ymm0, %ymm0, %ymm0\n");
/* rsp at the bottom of the 256 KiB stack: the push lands below it. */
MB_SNIPPET(stack_overflow, "movabsq $0x00007fffffdc0000, %rsp\n pushq $0\n pushq $0\n");

struct misbehaviour {
    const char *name;   /* the subtest name: what the kernel must refuse */
    const uint8_t *start, *end;
    bool needs_nx;      /* meaningful only when the CPU has NX */
};

#define MB(test, snippet, nx) {test, mb_##snippet##_start, mb_##snippet##_end, nx}

/* Every misbehaviour; each child must end with MICA_EXIT_KILLED. */
static const struct misbehaviour misbehaviours[] = {
    MB("user_cannot_read_direct_map", read_direct_map, false),
    MB("user_cannot_read_kernel_text", read_kernel_text, false),
    MB("user_cannot_write_kernel_image", write_kernel_data, false),
    MB("user_cannot_touch_noncanonical_address", read_noncanonical, false),
    MB("user_cannot_read_page_zero", read_null, false),
    MB("user_cannot_write_own_text", write_own_text, false),
    MB("user_cannot_write_start_info", write_start_info, false),
    MB("user_cannot_execute_data_page", exec_data_page, true),
    MB("user_cannot_jump_into_kernel", jump_to_kernel, false),
    MB("user_cannot_cli", cli, false),
    MB("user_cannot_hlt", hlt, false),
    MB("user_cannot_load_cr3", load_cr3, false),
    MB("user_cannot_read_io_port", port_in, false),
    MB("user_cannot_write_io_port", port_out, false),
    MB("user_cannot_lgdt", lgdt, false),
    MB("invalid_opcode_kills_task", invalid_opcode, false),
    MB("divide_error_kills_task", divide_by_zero, false),
    MB("breakpoint_kills_task", breakpoint, false),
    MB("int_to_kernel_vector_kills_task", int_kernel_vector, false),
    MB("stack_overflow_kills_task", stack_overflow, false),
    MB("user_cannot_use_x87", x87_fldz, false),
    MB("user_cannot_use_mmx", mmx_pxor, false),
    MB("user_cannot_use_sse", sse_xorps, false),
    MB("user_cannot_save_fpu_state", sse_fxsave, false),
    MB("user_cannot_use_avx", avx_vxorps, false),
};

#define MISBEHAVIOURS (sizeof misbehaviours / sizeof misbehaviours[0])

static inline size_t mb_len(const struct misbehaviour *m)
{
    return (size_t)(m->end - m->start);
}
