/* Program start (crt0): `_start` is the ELF entry point. The kernel enters
 * with rdi = start info and rsp = MICA_USER_STACK_TOP; the stack is
 * realigned anyway so that main sees the SysV alignment whatever rsp was. */
#include <mica/start.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "grant_priv.h"
#include "log_priv.h"

__attribute__((noreturn, used)) void libsys_start(const struct mica_start_info *si);

uint64_t mica_start_tsc;

/* rdtsc first (it leaves rdi, the start info, alone): under QEMU -icount
 * this is the guest instruction count at the program's first instruction. */
__asm__(".section .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    rdtsc\n"
        "    shlq $32, %rdx\n"
        "    orq %rdx, %rax\n"
        "    movq %rax, mica_start_tsc(%rip)\n"
        "    xorl %ebp, %ebp\n"      /* outermost frame for backtraces */
        "    andq $-16, %rsp\n"
        "    call libsys_start\n"
        "    ud2\n"
        ".size _start, . - _start\n"
        ".text\n");

static const struct mica_start_info *start_info;

/* main's start info: the kernel's, with the grant names (mica/grant.h)
 * taken off the front of the arguments. The kernel's page is read-only,
 * hence the copy. */
static struct mica_start_info own_copy;

void libsys_start(const struct mica_start_info *si)
{
    own_copy = *si;
    const char *args = grant_take(si->args, si->name);
    memmove(own_copy.args, args, strlen(args) + 1);
    start_info = &own_copy;
    log_init();
    mica_exit(main(start_info));
}

const struct mica_start_info *mica_get_start_info(void)
{
    return start_info;
}

const struct mica_module *mica_find_module(const struct mica_start_info *si, const char *name)
{
    for (uint64_t i = 0; i < si->nmodules; i++)
        if (strncmp(si->modules[i].name, name, MICA_NAME_MAX) == 0)
            return &si->modules[i];
    return NULL;
}
