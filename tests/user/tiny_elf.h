/* Minimal ELF64 executables built in memory, so that a test can start
 * children without a boot module of its own (a task has no access to its
 * own image, and only init sees the modules). The image has two PT_LOAD
 * segments:
 *   text  R-X at TINY_TEXT_VA: the given machine code, entry at its start
 *   data  RW- at TINY_DATA_VA: one zeroed page (no file bytes)
 * The code must be position-independent and must end the task itself
 * (MICA_SYS_EXIT); misbehaviours.h has such snippets. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <mica/elf64.h>
#include <mica/string.h>
#include <mica/sys.h>

#define TINY_TEXT_VA   0x400000ull
#define TINY_DATA_VA   0x600000ull
#define TINY_CODE_OFF  0x1000u  /* file offset of the code: page-congruent with TINY_TEXT_VA */
#define TINY_CODE_MAX  512u
#define TINY_IMAGE_MAX (TINY_CODE_OFF + TINY_CODE_MAX)

/* The image: ELF header, two program headers, padding, code. */
struct tiny_image {
    struct elf64_ehdr eh;
    struct elf64_phdr ph[2];
    uint8_t pad[TINY_CODE_OFF - sizeof(struct elf64_ehdr) - 2 * sizeof(struct elf64_phdr)];
    uint8_t code[TINY_CODE_MAX];
};

/* Fill *img with an executable running code[0..n) (n <= TINY_CODE_MAX,
 * else the code is truncated). Returns the image length to pass to spawn. */
static inline size_t tiny_elf_build(struct tiny_image *img, const void *code, size_t n)
{
    if (n > TINY_CODE_MAX)
        n = TINY_CODE_MAX;
    memset(img, 0, sizeof *img);
    static const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT};
    memcpy(img->eh.ident, ident, sizeof ident);
    img->eh.type = ET_EXEC;
    img->eh.machine = EM_X86_64;
    img->eh.version = EV_CURRENT;
    img->eh.entry = TINY_TEXT_VA;
    img->eh.phoff = offsetof(struct tiny_image, ph);
    img->eh.ehsize = sizeof img->eh;
    img->eh.phentsize = sizeof img->ph[0];
    img->eh.phnum = 2;
    img->ph[0] = (struct elf64_phdr){.type = PT_LOAD, .flags = PF_R | PF_X,
                                     .offset = TINY_CODE_OFF, .vaddr = TINY_TEXT_VA,
                                     .filesz = n, .memsz = n, .align = 0x1000};
    img->ph[1] = (struct elf64_phdr){.type = PT_LOAD, .flags = PF_R | PF_W,
                                     .offset = 0, .vaddr = TINY_DATA_VA,
                                     .filesz = 0, .memsz = 0x1000, .align = 0x1000};
    memcpy(img->code, code, n);
    return TINY_CODE_OFF + n;
}

/* Start a task from an image of len bytes, named `name`, with no handles.
 * Returns the task handle or the spawn error. */
static inline long tiny_spawn_image(const void *image, size_t len, const char *name)
{
    struct mica_spawn_args a = {.image = image, .image_len = len, .name = name, .args = ""};
    return mica_task_spawn(&a);
}

/* Start code[0..n) as a child task named `name` with the caller's handles
 * h[0..nh) and the pager endpoint `pager` (< 0: no pager, so a fault kills
 * it). The image is built in one static buffer, which the spawn has copied
 * when this returns. Returns the task handle or the spawn error. */
static inline long tiny_spawn(const void *code, size_t n, const char *name, const uint64_t *h,
                              unsigned nh, long pager)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, code, n);
    struct mica_spawn_args a = {.image = &img, .image_len = len, .name = name, .args = "",
                                .nhandles = nh,
                                .flags = pager >= 0 ? MICA_SPAWN_PAGER : MICA_SPAWN_NO_PAGER,
                                .pager = pager >= 0 ? (uint64_t)pager : 0};
    for (unsigned i = 0; i < nh && i < MICA_SPAWN_MAX_HANDLES; i++)
        a.handles[i] = h[i];
    return mica_task_spawn(&a);
}

/* Run code[0..n) as a child task named `name`, wait for it and close its
 * handle. Returns its exit status (MICA_EXIT_KILLED if the kernel killed
 * it), or the spawn or wait error (which a caller tells apart from a
 * status by *spawned). */
static inline int64_t tiny_run(const void *code, size_t n, const char *name, int *spawned)
{
    static struct tiny_image img;
    size_t len = tiny_elf_build(&img, code, n);
    long h = tiny_spawn_image(&img, len, name);
    if (spawned)
        *spawned = h >= 0;
    if (h < 0)
        return h;
    int64_t status = mica_task_wait((uint64_t)h);
    mica_handle_close((uint64_t)h);
    return status;
}
