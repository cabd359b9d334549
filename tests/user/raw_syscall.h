/* Raw system calls with arbitrary numbers and untyped arguments, for tests
 * that hand the kernel deliberately bad values (the libsys stubs are typed
 * and cover only valid call numbers). */
#pragma once

#include <stdint.h>

/* Execute `syscall` with rax = nr and arguments a0..a5 in the ABI registers
 * (mica/syscall.h). Returns rax: a result >= 0 or -MICA_E*. */
static inline int64_t raw_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                  uint64_t a3, uint64_t a4, uint64_t a5)
{
    register uint64_t rdi __asm__("rdi") = a0;
    register uint64_t rsi __asm__("rsi") = a1;
    register uint64_t rdx __asm__("rdx") = a2;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    uint64_t rax = nr;
    /* IPC calls return a message in rdi..r9, so all six are outputs. */
    __asm__ volatile("syscall"
                     : "+a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    return (int64_t)rax;
}
