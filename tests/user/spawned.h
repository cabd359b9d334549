/* Children for the tests of spawned clients (test_spawn_pager,
 * test_pager_restart): snippets that talk to the pager through the last
 * handle they were given, which mica_task_spawn makes their own pager
 * handle when the caller has a pager (mica/spawn.h), and the spawn. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <mica/start.h>
#include <mica/sys.h>

#include "snippet.h"
#include "tiny_elf.h"

/* offsetof(struct mica_start_info, nhandles), which the snippets read. */
#define SI_NHANDLES 1072
_Static_assert(__builtin_offsetof(struct mica_start_info, nhandles) == SI_NHANDLES,
               "the snippets read nhandles at this offset");

/* PAGER_VM_ALLOC of 2 pages (RW) through the last handle (rdi: start info),
 * a write of 42 to each (r12: the start info; the address stays in rbx). */
#define ALLOC_TOUCH                                                              \
    "movq 1072(%r12), %rdi\n decq %rdi\n movl $1, %esi\n movl $0x2000, %edx\n" \
    "movl $3, %r10d\n xorl %r8d, %r8d\n xorl %r9d, %r9d\n movl $6, %eax\n"       \
    "syscall\n testq %rax, %rax\n jnz 1f\n testq %rdx, %rdx\n js 1f\n"          \
    "movq %rdx, %rbx\n movq $42, (%rbx)\n movq $42, 0x1000(%rbx)\n"             \
    "cmpq $42, (%rbx)\n jne 1f\n"
/* ALLOC_TOUCH, then exit(va); exit(1) when the call fails. */
MB_SNIPPET(alloc_touch, "movq %rdi, %r12\n" ALLOC_TOUCH
                        "movq %rbx, %rdi\n movl $2, %eax\n syscall\n"
                        "1: movl $1, %edi\n movl $2, %eax\n syscall\n");
/* Receive a call on handle 0, then as alloc_touch, and reply with the word
 * read back (1 when the allocation failed); exit(0). */
MB_SNIPPET(recv_alloc_touch, "movq %rdi, %r12\n xorl %edi, %edi\n movl $5, %eax\n syscall\n"
                             ALLOC_TOUCH "movq (%rbx), %rsi\n jmp 2f\n"
                             "1: movl $1, %esi\n"
                             "2: xorl %edi, %edi\n xorl %edx, %edx\n xorl %r10d, %r10d\n"
                             "xorl %r8d, %r8d\n movl $7, %eax\n syscall\n");
MB_SNIPPET(spin, "3: pause\n jmp 3b\n");

/* mica_task_spawn (flags 0: the caller's pager, if any) of a snippet with
 * handles h[0..n). */
static inline long spawned_start(const uint8_t *s, const uint8_t *e, const char *name,
                                 const uint64_t *h, unsigned n)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, s, (size_t)(e - s));
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = name, .args = "",
                                .nhandles = n};
    for (unsigned i = 0; i < n; i++)
        a.handles[i] = h[i];
    return mica_task_spawn(&a);
}

