/* mica/spawn.h: the ELF loader of every program but init. The image lies
 * in the caller's memory and is untrusted: the kernel's parser (compiled
 * into libsys from microkernel/lib/elf.c) checks its headers, and the
 * kernel copies its bytes with fault-safe copies (MICA_SYS_TASK_LOAD), so
 * a bad image costs the caller an error, never the kernel anything.
 *
 * The layout is the one the kernel gives init (docs/syscalls.md §7): each
 * segment's pages mapped with its protection, holding its file bytes and
 * zeros (MICA_SYS_TASK_LOAD fills each fresh frame once); the top
 * MICA_USER_STACK_MAPPED bytes of the stack; the read-only start-info
 * page. A task built for a pager that is told its layout leaves the bss
 * pages beyond the file bytes to that pager (demand-zero). A failure
 * after MICA_SYS_TASK_CREATE closes the task handle, which discards the
 * half-built task (it never ran) with everything mapped in it. */
#include <mica/spawn.h>

#include <stdarg.h>
#include <mica/errno.h>
#include <mica/grant.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "lib/elf.h"

#define HDR_READ_MAX 4096 /* header bytes handed to elf_parse, as the kernel does */
#define STACK_MAPPED_BOTTOM (MICA_USER_STACK_TOP - MICA_USER_STACK_MAPPED)

_Static_assert(MICA_LAYOUT_MAX >= 2 * ELF_MAX_SEGMENTS + 1, "a layout holds every region");

/* Print the one line that says why `name` was not started; returns rc. */
static long fail(const char *name, long rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static long fail(const char *name, long rc, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    printf("spawn: task '%s' not started: %s\n", name, why);
    return rc;
}

static bool user_range(const void *p, uint64_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    return a < MICA_USER_END && len <= MICA_USER_END - a;
}

/* Parse the image's headers. The ELF header says where the program
 * headers end, so a small image is parsed from a few hundred bytes. */
static long parse(const struct mica_spawn_args *a, struct elf_image *elf)
{
    char err[128];
    size_t hl = (size_t)MIN(a->image_len, (uint64_t)HDR_READ_MAX);
    uint64_t need = elf_headers_len(a->image, MIN(hl, (size_t)64));
    if (need && need <= hl)
        hl = (size_t)need;
    if (elf_parse(a->image, hl, a->image_len, elf, err, sizeof err) != 0)
        return fail(a->name, -MICA_ENOEXEC, "not an ELF64 x86-64 executable: %s", err);
    for (unsigned i = 0; i < elf->nseg; i++) {
        const struct elf_segment *s = &elf->seg[i];
        if (ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE) > MICA_USER_MODULES)
            return fail(a->name, -MICA_ENOEXEC, "segment at 0x%llx+0x%llx reaches above "
                        "0x%llx, where modules, stack and start info live",
                        (unsigned long long)s->vaddr, (unsigned long long)s->memsz,
                        (unsigned long long)MICA_USER_MODULES);
    }
    return 0;
}

static void add_region(struct mica_task_layout *l, uint64_t lo, uint64_t hi, unsigned prot,
                       unsigned kind)
{
    if (hi > lo)
        l->region[l->nregions++] = (struct mica_region){lo, hi - lo, prot, kind};
}

/* Map and fill every segment, one pass over each page; record its filled
 * pages and its bss. With bss_on_demand the bss pages beyond those that
 * hold file bytes stay unmapped: the pager, told of them as anon, maps
 * zeroed frames where they are first touched. */
static long load_segments(uint64_t h, const struct mica_spawn_args *a,
                          const struct elf_image *elf, struct mica_task_layout *l,
                          bool bss_on_demand)
{
    for (unsigned i = 0; i < elf->nseg; i++) {
        const struct elf_segment *s = &elf->seg[i];
        uint64_t lo = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
        uint64_t hi = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
        uint64_t filled = s->filesz ? ALIGN_UP(s->vaddr + s->filesz, PAGE_SIZE) : lo;
        uint64_t top = bss_on_demand ? filled : hi;
        long rc = top > lo ? mica_task_load(h, s->vaddr, (top - lo) / PAGE_SIZE, s->prot,
                                            (const uint8_t *)a->image + s->offset, s->filesz)
                           : 0;
        if (rc == -MICA_EFAULT)
            return rc; /* the caller's own image is unreadable: its error */
        if (rc < 0)
            return fail(a->name, rc, "loading segment 0x%llx-0x%llx failed (%s)",
                        (unsigned long long)lo, (unsigned long long)top, mica_error_name(rc));
        add_region(l, lo, filled, s->prot, MICA_REGION_IMAGE);
        add_region(l, filled, hi, s->prot, MICA_REGION_ANON);
    }
    return 0;
}

/* The top of the stack, and the start-info page (read-only for the task;
 * the kernel writes it regardless). */
static long map_stack_and_info(uint64_t h, const struct mica_spawn_args *a, uint64_t id,
                               struct mica_task_layout *l)
{
    static struct mica_start_info si; /* 1 KiB: kept off the caller's stack */
    long rc = mica_map_anon(h, STACK_MAPPED_BOTTOM, MICA_USER_STACK_MAPPED / PAGE_SIZE,
                            MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc < 0)
        return fail(a->name, rc, "mapping the stack failed (%s)", mica_error_name(rc));
    add_region(l, MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE, MICA_USER_STACK_TOP,
               MICA_PROT_READ | MICA_PROT_WRITE, MICA_REGION_STACK);

    const struct mica_start_info *mine = mica_get_start_info();
    size_t args_len = a->args ? strlen(a->args) : 0;
    memset(&si, 0, offsetof(struct mica_start_info, args));
    si.flags = mine ? mine->flags & MICA_START_TEST_MODE : 0; /* what the kernel gives it */
    si.task_id = id;
    strlcpy(si.name, a->name, sizeof si.name);
    memcpy(si.args, a->args ? a->args : "", args_len + 1);
    memset(si.args + args_len + 1, 0, sizeof si.args - args_len - 1);
    si.nhandles = a->nhandles;
    si.nmodules = 0;
    si.modules = NULL;
    rc = mica_task_load(h, MICA_USER_START_INFO, 1, MICA_PROT_READ, &si, sizeof si);
    if (rc < 0)
        return fail(a->name, rc, "mapping the start info failed (%s)", mica_error_name(rc));
    return 0;
}

/* mica_task_build, with the bss beyond the file bytes left to the pager
 * when bss_on_demand. */
static long build(const struct mica_spawn_args *a, struct mica_task_layout *out,
                  bool bss_on_demand)
{
    static struct elf_image elf;
    struct mica_task_args ta = {.name = a->name, .nhandles = a->nhandles, .flags = a->flags,
                                .pager = a->pager};
    long rc;

    if (a->nhandles > MICA_SPAWN_MAX_HANDLES)
        return -MICA_EINVAL;
    if (!a->name || !user_range(a->image, a->image_len) || !user_range(a->name, 1))
        return -MICA_EFAULT;
    if (a->args && strnlen(a->args, MICA_ARGS_MAX) == MICA_ARGS_MAX)
        return -MICA_E2BIG;
    if (strnlen(a->name, MICA_NAME_MAX) == MICA_NAME_MAX)
        return -MICA_E2BIG;
    if ((rc = parse(a, &elf)) != 0)
        return rc;
    memcpy(ta.handles, a->handles, sizeof ta.handles);
    long h = mica_task_create(&ta);
    if (h < 0)
        return h == -MICA_EBADH || h == -MICA_ENOMEM || h == -MICA_ENOSPC
                   ? fail(a->name, h, "creating the task failed (%s)", mica_error_name(h))
                   : h;
    out->entry = elf.entry;
    out->nregions = 0;
    if ((rc = load_segments((uint64_t)h, a, &elf, out, bss_on_demand)) == 0)
        rc = map_stack_and_info((uint64_t)h, a, (uint64_t)mica_task_id((uint64_t)h), out);
    if (rc < 0) {
        mica_handle_close((uint64_t)h); /* discards the task, which never ran */
        return rc;
    }
    return h;
}

long mica_task_build(const struct mica_spawn_args *a, struct mica_task_layout *out)
{
    /* A task given a pager of its own is introduced to it with the layout
     * before it starts (mica/spawn.h), so the pager knows its bss. */
    return build(a, out, (a->flags & MICA_SPAWN_PAGER) != 0);
}

long mica_task_launch(uint64_t h, const struct mica_task_layout *l)
{
    return mica_task_start(h, l->entry, MICA_USER_STACK_TOP, MICA_USER_START_INFO);
}

/* The child's argument string: the caller's, with the grant name "pager"
 * for handle n, the child's own pager handle (mica/grant.h: the I-th name
 * is handle I; a later name hides an earlier one). Returns 0 or
 * -MICA_E2BIG, -MICA_EINVAL (the caller named more handles than it
 * passes). */
static long pager_args(char *dst, const char *args, unsigned n)
{
    size_t len = 0, size = MICA_ARGS_MAX;
    const char *rest = args ? args : "";
    unsigned named = 0;
    dst[len++] = MICA_GRANTS_MARK;
    if (rest[0] == MICA_GRANTS_MARK) { /* names of the caller's: keep them */
        const char *end = strchr(rest + 1, MICA_GRANTS_MARK);
        size_t l = end ? (size_t)(end - rest - 1) : strlen(rest + 1);
        if (l + 2 > size)
            return -MICA_E2BIG;
        memcpy(dst + len, rest + 1, l);
        len += l;
        named = 1;
        for (size_t i = 0; i < l; i++)
            named += rest[1 + i] == ',';
        rest = end ? end + 1 : rest + 1 + l;
    }
    if (named > n)
        return -MICA_EINVAL;
    for (; named <= n; named++) { /* unnamed handles keep their places */
        if (len + 8 > size)
            return -MICA_E2BIG;
        if (named || len > 1)
            dst[len++] = ',';
    }
    size_t rl = strlen(rest);
    if (len + 6 + rl + 1 > size)
        return -MICA_E2BIG;
    memcpy(dst + len, "pager", 5);
    len += 5;
    dst[len++] = MICA_GRANTS_MARK;
    memcpy(dst + len, rest, rl + 1);
    return 0;
}

/* mica_task_spawn for a caller with a pager: the child becomes a client of
 * its own (mica/vm.h, vm_spawn_prep and vm_spawn_introduce), with a pager
 * handle of its own as its last grant, called "pager"; its bss beyond the
 * file bytes is the pager's demand-zero memory. */
static long spawn_paged(const struct mica_spawn_args *a, struct mica_task_layout *l)
{
    static struct mica_spawn_args b;
    static char args[MICA_ARGS_MAX];
    if (a->nhandles > MICA_SPAWN_MAX_HANDLES)
        return -MICA_EINVAL;
    if (a->nhandles == MICA_SPAWN_MAX_HANDLES)
        return fail(a->name, -MICA_ENOSPC, "no handle left for its pager handle (%u passed; "
                    "MICA_SPAWN_NO_PAGER spawns it without a pager)", MICA_SPAWN_MAX_HANDLES);
    if (a->args && strnlen(a->args, MICA_ARGS_MAX) == MICA_ARGS_MAX)
        return -MICA_E2BIG;
    long rc = pager_args(args, a->args, (unsigned)a->nhandles);
    if (rc < 0)
        return rc;
    uint64_t ph;
    long badge = vm_spawn_prep(&ph);
    if (badge < 0)
        return fail(a->name, badge, "no badge from the pager (%s)", mica_error_name(badge));
    b = *a;
    b.args = args;
    b.handles[b.nhandles++] = ph;
    long h = build(&b, l, true);
    mica_handle_close(ph); /* the child holds its copy */
    if (h < 0)
        return h;
    rc = vm_spawn_introduce((uint64_t)h, (uint64_t)badge, l->region, l->nregions);
    if (rc < 0) {
        mica_handle_close((uint64_t)h);
        return fail(a->name, rc, "its pager refused it (%s)", mica_error_name(rc));
    }
    if ((rc = mica_task_launch((uint64_t)h, l)) < 0) {
        vm_spawn_forget((uint64_t)badge); /* the pager's handle would keep it */
        mica_handle_close((uint64_t)h);
        return rc;
    }
    return h;
}

long mica_task_spawn(const struct mica_spawn_args *a)
{
    static struct mica_task_layout layout;
    if (a->flags == 0 && vm_has_pager())
        return spawn_paged(a, &layout);
    long h = build(a, &layout, false); /* nobody tells a pager of its bss */
    if (h < 0)
        return h;
    long rc = mica_task_launch((uint64_t)h, &layout);
    if (rc < 0) {
        mica_handle_close((uint64_t)h);
        return rc;
    }
    return h;
}
