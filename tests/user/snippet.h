/* Machine-code snippets for child tasks built with tiny_elf.h: a snippet
 * is position-independent code in .rodata (data here, code only in the
 * child) that runs `body` and then exits with status 0, so a child that is
 * NOT stopped by the kernel reports 0 instead of MICA_EXIT_KILLED.
 * MB_SNIPPET(name, body) defines mb_<name>_start and mb_<name>_end. */
#pragma once

#include <stdint.h>

/* exit(0): eax = MICA_SYS_EXIT (2), edi = status. */
#define MB_EXIT0 "xorl %edi, %edi\n movl $2, %eax\n syscall\n ud2\n"

#define MB_SNIPPET(name, body)                                      \
    __asm__(".pushsection .rodata.misbehave, \"a\"\n"              \
            "mb_" #name "_start:\n" body MB_EXIT0                  \
            "mb_" #name "_end:\n"                                   \
            ".popsection\n");                                       \
    extern const uint8_t mb_##name##_start[], mb_##name##_end[]
