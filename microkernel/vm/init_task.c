/* Starting the first ring-3 task, init, from the boot module named
 * "init": the kernel's loader (elf_load.c) builds it, then every boot
 * module is copied into it read-only and listed in its start info, and it
 * gets MICA_START_MACHINE. It is the only program the kernel loads; init
 * starts every other one through libsys's loader. */
#include "vm/init_task.h"

#include <stdarg.h>
#include <mica/errno.h>

#include "lib/assert.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/vmm.h"
#include "object/task.h"
#include "vm/elf_load.h"
#include "vm/task_load.h"
#include "vm/user_layout.h"
#include "vm/user_mem.h"

/* Copy the first word of `s` into dst[max] (truncated); returns the rest
 * of `s` after the word and the blanks following it. */
static const char *first_word(const char *s, char *dst, size_t max)
{
    size_t n = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; *s && *s != ' ' && *s != '\t'; s++)
        if (n + 1 < max)
            dst[n++] = *s;
    dst[n] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

struct phys_image {
    paddr_t base;
};

static int phys_image_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    const struct phys_image *pi = ctx;
    memcpy(dst, phys_to_virt(pi->base + off), n);
    return 0;
}

static int mem_image_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    memcpy(dst, (const uint8_t *)ctx + off, n);
    return 0;
}

struct modules {
    struct task *task;
    char *why;
    size_t whylen;
};

static int modules_fail(struct modules *ms, int rc, const char *fmt, ...) __printf(3, 4);

static int modules_fail(struct modules *ms, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(ms->why, ms->whylen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Boot module i (boot_module m, listed as mm) copied to mm->addr in init. */
static int map_module(struct modules *sp, size_t i, const struct boot_module *m,
                      const struct mica_module *mm)
{
    uint64_t size = ALIGN_UP(mm->len, PAGE_SIZE);
    if (size > USER_STACK_BOTTOM - PAGE_SIZE - mm->addr)
        return modules_fail(sp, -MICA_ENOMEM, "module %zu '%s' (0x%llx bytes) does not fit "
                          "below the stack", i, mm->name, (unsigned long long)mm->len);
    if (size == 0)
        return 0;
    struct phys_image pi = {.base = m->start};
    struct image_src src = {.read = phys_image_read, .ctx = &pi, .len = mm->len};
    /* Filled as mapped: only the last page's tail is zeroed. */
    int rc = task_load_pages(sp->task, mm->addr, size / PAGE_SIZE, MICA_PROT_READ, 0, &src, 0,
                             mm->len);
    if (rc)
        return modules_fail(sp, rc, "loading module %zu '%s' (0x%llx bytes) failed (error %d)",
                          i, mm->name, (unsigned long long)mm->len, rc);
    return 0;
}

/* Every boot module, copied into fresh read-only frames (modules sit in
 * reserved memory the frame allocator must never free). The table that
 * lists them (struct mica_module[nmodules], read-only) comes first, at
 * MICA_USER_MODULES, sized to their number: there is no bound here, only
 * the parser's BOOT_MAX_MODULES. */
int init_map_modules(struct task *t, const struct boot_info *bi, char *why, size_t whylen)
{
    struct modules ms = {.task = t, .why = why, .whylen = whylen};
    struct modules *sp = &ms;
    size_t n = bi->nmodules;
    size_t table_len = n * sizeof(struct mica_module);
    uint64_t va = MICA_USER_MODULES + ALIGN_UP(table_len, PAGE_SIZE);

    if (n == 0)
        return 0;
    struct mica_module *table = kmalloc(table_len);
    if (!table)
        return modules_fail(sp, -MICA_ENOMEM, "no memory for the table of %zu modules", n);
    memset(table, 0, table_len);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct boot_module *m = &bi->modules[i];
        struct mica_module *mm = &table[i];
        first_word(m->cmdline, mm->name, sizeof mm->name);
        mm->addr = va;
        mm->len = m->end - m->start;
        rc = map_module(sp, i, m, mm);
        va += ALIGN_UP(mm->len, PAGE_SIZE);
    }
    if (rc == 0) {
        struct image_src src = {.read = mem_image_read, .ctx = table, .len = table_len};
        rc = task_map_anon(sp->task, MICA_USER_MODULES, ALIGN_UP(table_len, PAGE_SIZE),
                           MICA_PROT_READ);
        if (rc)
            rc = modules_fail(sp, rc, "mapping the table of %zu modules failed (error %d)", n,
                            rc);
        else if ((rc = image_copy_into_task(sp->task, MICA_USER_MODULES, &src, 0, table_len)) != 0)
            rc = modules_fail(sp, rc, "copying the table of %zu modules failed (error %d)", n,
                            rc);
    }
    kfree(table);
    if (rc == 0) {
        paddr_t pa;
        rc = vmm_translate(&t->as, MICA_USER_START_INFO, &pa, NULL);
        KASSERT(rc == 0, "start-info page of task %u not mapped", t->id);
        struct mica_start_info *si = phys_to_virt(pa);
        si->nmodules = n;
        si->modules = (const struct mica_module *)MICA_USER_MODULES;
    }
    return rc;
}

int boot_start_init(const struct boot_info *bi, uint64_t flags)
{
    for (size_t i = 0; i < bi->nmodules; i++) {
        const struct boot_module *m = &bi->modules[i];
        char word[MICA_NAME_MAX];
        const char *args = first_word(m->cmdline, word, sizeof word);
        if (strcmp(word, "init") != 0)
            continue;

        struct phys_image pi = {.base = m->start};
        struct spawn_request req = {
            .src = {.read = phys_image_read, .ctx = &pi, .len = m->end - m->start},
            .name = "init",
            .args = strnlen(args, MICA_ARGS_MAX) < MICA_ARGS_MAX ? args : "",
            .flags = flags | MICA_START_MACHINE,
        };
        struct task *t;
        uint64_t entry;
        char why[160];
        int rc = task_spawn_prepare(&req, &t, &entry);
        if (rc)
            return rc;
        if ((rc = init_map_modules(t, bi, why, sizeof why)) != 0)
            kprintf("spawn: task 'init' not started: %s\n", why);
        else
            rc = task_spawn_start(t, entry);
        if (rc)
            task_spawn_abort(t);
        return rc;
    }
    kprintf("boot: no module named 'init'; nothing to run\n");
    return -MICA_ENOENT;
}
