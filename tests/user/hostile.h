/* The costliest system calls with the largest arguments, shared by
 * bench_irq (which measures how long the timer waits meanwhile) and
 * test_preempt (which checks that the timer never waits long):
 *   - unmap of the whole user half of a child (UNMAP), and of a huge empty
 *     range of the caller's own (MEM_UNMAP);
 *   - map and unmap of `bytes` of the caller's own memory (MEM_MAP);
 *   - exit of a child that has `bytes` mapped (MAP_ANON, then teardown);
 *   - fork of the caller with `bytes / 4` mapped (vm_fork, needs a pager);
 *   - spawn of an image of up to HOSTILE_IMAGE_MB MiB.
 * Each returns 0 or the first error. Include in one file per program. */
#pragma once

#include <mica/string.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "tiny_elf.h"

#define HOSTILE_PAGE     4096ull
#define HOSTILE_VA       0x0000100000000000ull /* 16 TiB: far from image, heap and stack */
#define HOSTILE_IMAGE_MB 16u

/* A child that blocks receiving on its handle 0, then exits(0):
 * edi = 0 (handle), eax = MICA_SYS_IPC_RECV, syscall; then exit. */
__asm__(".pushsection .rodata.hostile, \"a\"\n"
        "hostile_waiter_start:\n"
        "xorl %edi, %edi\n movl $5, %eax\n syscall\n"
        "xorl %edi, %edi\n movl $2, %eax\n syscall\n ud2\n"
        "hostile_waiter_end:\n"
        ".popsection\n");
extern const uint8_t hostile_waiter_start[], hostile_waiter_end[];

/* Spawn the waiter with a receive handle on a new endpoint; *ep is the
 * endpoint (the caller's handle) to send it the "go". */
static inline long hostile_spawn_waiter(long *ep)
{
    static struct tiny_image img;
    *ep = mica_endpoint_create();
    if (*ep < 0)
        return *ep;
    size_t len = tiny_elf_build(&img, hostile_waiter_start,
                                (size_t)(hostile_waiter_end - hostile_waiter_start));
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = "hostile-waiter",
                                .args = "", .handles = {(uint64_t)*ep}, .nhandles = 1};
    return mica_task_spawn(&a);
}

/* Let the waiter exit (send `flags`: MICA_IPC_BLOCK, or MICA_IPC_NONBLOCK
 * for one that may already be dead), wait for it, close both handles. */
static inline long hostile_finish_waiter(long child, long ep, unsigned flags)
{
    struct mica_msg go = {.label = 1};
    long rc = mica_ipc_send((uint64_t)ep, &go, flags);
    int64_t status = mica_task_wait((uint64_t)child);
    mica_handle_close((uint64_t)child);
    mica_handle_close((uint64_t)ep);
    return rc < 0 ? rc : status < 0 ? status : 0;
}

/* UNMAP of every page of a child's user half (its image and stack go:
 * when its receive returns it faults and is killed). Then MEM_UNMAP of a
 * huge empty range of our own (16 TiB .. 96 TiB: holes only). */
static inline long hostile_unmap_user_half(void)
{
    long ep, child = hostile_spawn_waiter(&ep);
    if (child < 0)
        return child;
    long rc = mica_unmap((uint64_t)child, HOSTILE_PAGE, MICA_USER_END / HOSTILE_PAGE - 1);
    /* It faults and is killed on its first instruction or when its
     * receive returns, whichever comes: the "go" must not block. */
    hostile_finish_waiter(child, ep, MICA_IPC_NONBLOCK);
    if (rc < 0)
        return rc;
    return mica_mem_unmap((void *)HOSTILE_VA, 0x0000600000000000ull - HOSTILE_VA);
}

/* MEM_MAP of `bytes` (zeroed frames), then MEM_UNMAP of them. */
static inline long hostile_map_unmap(uint64_t bytes)
{
    long rc = mica_mem_map((void *)HOSTILE_VA, bytes, MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc < 0)
        return rc;
    return mica_mem_unmap((void *)HOSTILE_VA, bytes);
}

/* A child with `bytes` mapped into it (MAP_ANON, charged to us) exits: its
 * teardown releases them. */
static inline long hostile_exit_mapped(uint64_t bytes)
{
    long ep, child = hostile_spawn_waiter(&ep);
    if (child < 0)
        return child;
    long rc = mica_map_anon((uint64_t)child, HOSTILE_VA, bytes / HOSTILE_PAGE,
                            MICA_PROT_READ | MICA_PROT_WRITE);
    long fin = hostile_finish_waiter(child, ep, MICA_IPC_BLOCK);
    return rc < 0 ? rc : fin;
}

/* vm_fork of the caller with `bytes` more mapped; the child exits at once. */
static inline long hostile_fork_mapped(uint64_t bytes)
{
    long rc = mica_mem_map((void *)HOSTILE_VA, bytes, MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc < 0)
        return rc;
    long child = vm_fork();
    if (child == 0)
        mica_exit(0);
    if (child > 0) {
        mica_task_wait((uint64_t)child);
        vm_release((uint64_t)child);
        mica_handle_close((uint64_t)child);
    }
    rc = mica_mem_unmap((void *)HOSTILE_VA, bytes);
    return child < 0 ? child : rc;
}

/* Spawn of an image with one `mb` MiB text segment (exit(0) at its start,
 * zeros after), built in memory at HOSTILE_VA. */
static inline long hostile_spawn_big(unsigned mb)
{
    uint64_t seg = (uint64_t)mb << 20, len = TINY_CODE_OFF + seg;
    uint64_t mapped = (len + HOSTILE_PAGE - 1) & ~(HOSTILE_PAGE - 1);
    long rc = mica_mem_map((void *)HOSTILE_VA, mapped, MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc < 0)
        return rc;
    struct tiny_image *img = (struct tiny_image *)HOSTILE_VA;
    static const uint8_t exit0[] = {0x31, 0xff, 0xb8, 2, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b};
    tiny_elf_build(img, exit0, sizeof exit0);
    img->ph[0].filesz = img->ph[0].memsz = seg;
    img->eh.phnum = 1;
    struct mica_spawn_args a = {.image = img, .image_len = len, .name = "hostile-big",
                                .args = ""};
    long child = mica_task_spawn(&a);
    if (child >= 0) {
        mica_task_wait((uint64_t)child);
        mica_handle_close((uint64_t)child);
    }
    rc = mica_mem_unmap((void *)HOSTILE_VA, mapped);
    return child < 0 ? child : rc;
}
