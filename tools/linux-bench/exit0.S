/* A static program that only exits (exit(0)), for the Linux guest's spawn
 * rows: built as is it is /tiny (4 KiB); built with -DBIG it also carries
 * 1 MiB of initialised data in the file, /big. */
    .globl _start
    .text
_start:
    movl $60, %eax
    xorl %edi, %edi
    syscall
#ifdef BIG
    .data
    .fill 1048576, 1, 1
#endif
