/* /tiny: a 4 KiB static program that only exits (exit(0)), for the Linux
 * guest's task_spawn_exit. */
    .globl _start
    .text
_start:
    movl $60, %eax
    xorl %edi, %edi
    syscall
