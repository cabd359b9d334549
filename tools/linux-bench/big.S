/* /big: the same exit(0) with 1 MiB of initialised data in the file. */
    .globl _start
    .text
_start:
    movl $60, %eax
    xorl %edi, %edi
    syscall
    .data
    .fill 1048576, 1, 1
