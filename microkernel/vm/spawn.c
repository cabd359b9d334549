/* Building tasks from ELF64 executables: the program's segments, a stack,
 * the read-only start-info page and the handles passed by the parent,
 * then one thread at the entry point. Two sources feed it: a boot module
 * in physical memory (init, which also receives every module) and an image
 * in the calling task's memory (MICA_SYS_TASK_SPAWN), read with fault-safe
 * user copies. The new space is not the current one, so every byte is
 * written through the direct map after translating the page in the new
 * space. Every failure prints one line naming the task and the reason.
 *
 * User layout of a new task (see mica/syscall.h):
 *   program segments        below MICA_USER_MODULES
 *   boot modules (init)     MICA_USER_MODULES: their table (struct mica_module[n]),
 *                           then each module at a page-aligned offset, read-only
 *   stack                   [MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE, TOP) reserved,
 *                           its top MICA_USER_STACK_MAPPED bytes mapped RW
 *   start info              one read-only page at MICA_USER_START_INFO (= TOP)
 * Only the top of the stack is mapped eagerly: each page mapped at spawn is
 * a frame to allocate, zero, map and free again, the bulk of a small task's
 * cost. Nothing else is placed in the reservation, and the page below it
 * stays unmapped, so an overflow faults. */
#include "vm/spawn.h"

#include <stdarg.h>
#include <mica/errno.h>

#include "object/handle.h"
#include "lib/console.h"
#include "vm/syscalls.h"
#include "vm/usercopy.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/vmm.h"
#include "vm/elf.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"
#include "vm/user_mem.h"
#include "object/preempt.h"

#define HDR_READ_MAX 4096 /* bytes handed to elf_parse */
#define STACK_BOTTOM (MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE)
#define STACK_MAPPED_BOTTOM (MICA_USER_STACK_TOP - MICA_USER_STACK_MAPPED)

STATIC_ASSERT(sizeof(struct mica_start_info) <= PAGE_SIZE, "start info fits one page");
STATIC_ASSERT(MICA_USER_START_INFO == MICA_USER_STACK_TOP, "start info sits on the stack top");
STATIC_ASSERT(MICA_USER_STACK_TOP % 16 == 0, "initial rsp is 16-aligned");
STATIC_ASSERT(MICA_USER_STACK_MAPPED % PAGE_SIZE == 0 && MICA_USER_STACK_MAPPED > 0 &&
              MICA_USER_STACK_MAPPED <= MICA_USER_STACK_SIZE,
              "the stack mapped at spawn is whole pages inside the reserved stack");

/* One spawn in progress. */
struct spawn {
    const struct spawn_request *req;
    struct elf_image elf;
    struct task *task;
    struct mica_start_info *si;    /* the start-info page, via the direct map */
    char why[160];                 /* reason for the failure line */
};

static int spawn_fail(struct spawn *sp, int rc, const char *fmt, ...) __printf(3, 4);

static int spawn_fail(struct spawn *sp, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(sp->why, sizeof sp->why, fmt, ap);
    va_end(ap);
    return rc;
}

static int src_read(const struct image_src *src, uint64_t off, void *dst, size_t n)
{
    if (off > src->len || n > src->len - off)
        return -MICA_EINVAL;
    return src->read(src->ctx, off, dst, n);
}

/* Copy n bytes at `off` of `src` to `va` in t's space, whose pages are
 * mapped. A large image stops at preemption points (t is not visible to
 * anyone yet, so only the caller's own kill ends the copy: -MICA_EDEAD). */
static int copy_into_task(struct task *t, uint64_t va, const struct image_src *src,
                          uint64_t off, uint64_t n)
{
    unsigned budget = PREEMPT_BUDGET;
    while (n) {
        if (preempt_due(&budget, PREEMPT_COST_COPY)) {
            int rc = preempt_point(NULL);
            if (rc < 0)
                return rc;
        }
        paddr_t pa;
        size_t chunk = MIN(n, PAGE_SIZE - (va & PAGE_MASK));
        int rc = vmm_translate(&t->as, va, &pa, NULL);
        KASSERT(rc == 0, "page at 0x%llx of task %u not mapped after mapping it",
                (unsigned long long)va, t->id);
        if ((rc = src_read(src, off, phys_to_virt(pa), chunk)) != 0)
            return rc;
        va += chunk;
        off += chunk;
        n -= chunk;
    }
    return 0;
}

/* Read the image's headers into hdr[HDR_READ_MAX]; returns their length or
 * an error. The ELF header says where the program headers end, so a small
 * image costs a few hundred bytes of copying rather than HDR_READ_MAX. When
 * it is short or describes something odd, up to HDR_READ_MAX bytes are
 * read and elf_parse names the problem. */
static long read_headers(const struct image_src *src, uint8_t *hdr)
{
    size_t hl = (size_t)MIN(src->len, (uint64_t)HDR_READ_MAX);
    size_t first = MIN(hl, (size_t)64);
    int rc = src_read(src, 0, hdr, first);
    if (rc)
        return rc;
    uint64_t need = elf_headers_len(hdr, first);
    if (need && need <= hl)
        hl = (size_t)need;
    if (hl > first && (rc = src_read(src, first, hdr + first, hl - first)) != 0)
        return rc;
    return (long)hl;
}

static int parse_image(struct spawn *sp)
{
    const struct image_src *src = &sp->req->src;
    char err[128];
    uint8_t *hdr = kmalloc(HDR_READ_MAX);
    int rc;

    if (!hdr)
        return spawn_fail(sp, -MICA_ENOMEM, "no memory to read the ELF header");
    long hl = read_headers(src, hdr);
    rc = hl < 0 ? (int)hl : elf_parse(hdr, (size_t)hl, src->len, &sp->elf, err, sizeof err);
    kfree(hdr);
    if (rc == -MICA_ENOEXEC)
        return spawn_fail(sp, rc, "not an ELF64 x86-64 executable: %s", err);
    if (rc)
        return spawn_fail(sp, rc, "reading the image failed (error %d)", rc);
    for (unsigned i = 0; i < sp->elf.nseg; i++) {
        const struct elf_segment *s = &sp->elf.seg[i];
        if (ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE) > MICA_USER_MODULES)
            return spawn_fail(sp, -MICA_ENOEXEC, "segment at 0x%llx+0x%llx reaches above "
                              "0x%llx, where modules, stack and start info live",
                              (unsigned long long)s->vaddr, (unsigned long long)s->memsz,
                              (unsigned long long)MICA_USER_MODULES);
    }
    return 0;
}

/* Map each segment's whole pages (zeroed, so bss needs no work) and copy
 * its file bytes. elf_parse guarantees the page ranges do not overlap. */
static int load_segments(struct spawn *sp)
{
    for (unsigned i = 0; i < sp->elf.nseg; i++) {
        const struct elf_segment *s = &sp->elf.seg[i];
        uint64_t lo = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
        uint64_t hi = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
        int rc = task_map_anon(sp->task, lo, hi - lo, s->prot);
        if (rc)
            return spawn_fail(sp, rc, "mapping segment 0x%llx-0x%llx failed (error %d)",
                              (unsigned long long)lo, (unsigned long long)hi, rc);
        rc = copy_into_task(sp->task, s->vaddr, &sp->req->src, s->offset, s->filesz);
        if (rc)
            return spawn_fail(sp, rc, "reading segment 0x%llx (0x%llx bytes at offset 0x%llx) "
                              "failed (error %d)", (unsigned long long)s->vaddr,
                              (unsigned long long)s->filesz, (unsigned long long)s->offset, rc);
    }
    return 0;
}

/* The stack, and the start-info page: mapped read-only for ring 3 and
 * filled through the direct map, which stays writable for the kernel. */
static int map_stack_and_info(struct spawn *sp)
{
    const struct spawn_request *req = sp->req;
    struct task *t = sp->task;
    paddr_t pa;
    int rc;

    rc = task_map_anon(t, STACK_MAPPED_BOTTOM, MICA_USER_STACK_MAPPED,
                       MICA_PROT_READ | MICA_PROT_WRITE);
    if (rc)
        return spawn_fail(sp, rc, "mapping the stack failed (error %d)", rc);
    rc = task_map_anon(t, MICA_USER_START_INFO, PAGE_SIZE, MICA_PROT_READ);
    if (rc)
        return spawn_fail(sp, rc, "mapping the start-info page failed (error %d)", rc);
    rc = vmm_translate(&t->as, MICA_USER_START_INFO, &pa, NULL);
    KASSERT(rc == 0, "start-info page of task %u not mapped after mapping it", t->id);

    struct mica_start_info *si = phys_to_virt(pa);
    si->flags = req->flags;
    si->task_id = t->id;
    memcpy(si->name, t->name, sizeof si->name);
    si->name[MICA_NAME_MAX - 1] = '\0';
    memcpy(si->args, req->args, strlen(req->args) + 1); /* length checked by the caller */
    si->nhandles = req->nhandles;
    sp->si = si;
    return 0;
}

/* A handle of any type holding MICA_RIGHT_GRANT, or NULL with *err. */
static struct handle *lookup_grantable(struct handle_table *ht, uint64_t h, int *err)
{
    struct handle *e = handle_lookup(ht, h, HANDLE_ENDPOINT, MICA_RIGHT_GRANT, err);
    if (!e && *err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_TASK, MICA_RIGHT_GRANT, err);
    if (!e && *err == -MICA_EBADH)
        e = handle_lookup(ht, h, HANDLE_INJECT, MICA_RIGHT_GRANT, err);
    return e;
}

/* The parent's handles become the child's handles 0..n-1, same rights and
 * badge; each install takes its own reference on the object. */
static int copy_handles(struct spawn *sp)
{
    const struct spawn_request *req = sp->req;

    for (size_t i = 0; i < req->nhandles; i++) {
        int err = 0;
        struct handle *e = lookup_grantable(&req->parent->handles, req->handles[i], &err);
        if (!e)
            return spawn_fail(sp, -MICA_EBADH, "handle %llu to pass (#%zu) %s",
                              (unsigned long long)req->handles[i], i,
                              err == -MICA_EPERM ? "lacks the grant right" : "is not a handle");
        long h = handle_install(&sp->task->handles, e->type, e->object, e->rights, e->badge);
        if (h < 0)
            return spawn_fail(sp, (int)h, "installing handle #%zu failed (error %ld)", i, h);
        KASSERT((size_t)h == i, "child handle %ld installed, expected %zu in an empty table",
                h, i);
    }
    return 0;
}

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

/* Boot module i (boot_module m, listed as mm) copied to mm->addr in init. */
static int map_module(struct spawn *sp, size_t i, const struct boot_module *m,
                      const struct mica_module *mm)
{
    uint64_t size = ALIGN_UP(mm->len, PAGE_SIZE);
    if (size > STACK_BOTTOM - PAGE_SIZE - mm->addr)
        return spawn_fail(sp, -MICA_ENOMEM, "module %zu '%s' (0x%llx bytes) does not fit "
                          "below the stack", i, mm->name, (unsigned long long)mm->len);
    if (size == 0)
        return 0;
    struct phys_image pi = {.base = m->start};
    struct image_src src = {.read = phys_image_read, .ctx = &pi, .len = mm->len};
    int rc = task_map_anon(sp->task, mm->addr, size, MICA_PROT_READ);
    if (rc)
        return spawn_fail(sp, rc, "mapping module %zu '%s' (0x%llx bytes) failed (error %d)",
                          i, mm->name, (unsigned long long)mm->len, rc);
    if ((rc = copy_into_task(sp->task, mm->addr, &src, 0, mm->len)) != 0)
        return spawn_fail(sp, rc, "copying module %zu failed (error %d)", i, rc);
    return 0;
}

/* init: every boot module, copied into fresh read-only frames (modules sit
 * in reserved memory the frame allocator must never free). The table that
 * lists them (struct mica_module[nmodules], read-only) comes first, at
 * MICA_USER_MODULES, sized to their number: there is no bound here, only
 * the parser's BOOT_MAX_MODULES. */
static int map_modules(struct spawn *sp)
{
    const struct boot_info *bi = sp->req->bi;
    size_t n = bi->nmodules;
    size_t table_len = n * sizeof(struct mica_module);
    uint64_t va = MICA_USER_MODULES + ALIGN_UP(table_len, PAGE_SIZE);

    if (n == 0)
        return 0;
    struct mica_module *table = kmalloc(table_len);
    if (!table)
        return spawn_fail(sp, -MICA_ENOMEM, "no memory for the table of %zu modules", n);
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
            rc = spawn_fail(sp, rc, "mapping the table of %zu modules failed (error %d)", n,
                            rc);
        else if ((rc = copy_into_task(sp->task, MICA_USER_MODULES, &src, 0, table_len)) != 0)
            rc = spawn_fail(sp, rc, "copying the table of %zu modules failed (error %d)", n,
                            rc);
    }
    kfree(table);
    if (rc == 0) {
        sp->si->nmodules = n;
        sp->si->modules = (const struct mica_module *)MICA_USER_MODULES;
    }
    return rc;
}

static int check_request(struct spawn *sp)
{
    const struct spawn_request *req = sp->req;

    if (req->nhandles > MICA_SPAWN_MAX_HANDLES)
        return spawn_fail(sp, -MICA_EINVAL, "%zu handles to pass, at most %d",
                          req->nhandles, MICA_SPAWN_MAX_HANDLES);
    if (req->nhandles && !req->parent)
        return spawn_fail(sp, -MICA_EINVAL, "handles to pass but no parent to take them from");
    if (strnlen(req->args, MICA_ARGS_MAX) == MICA_ARGS_MAX)
        return spawn_fail(sp, -MICA_E2BIG, "argument string longer than %d bytes",
                          MICA_ARGS_MAX - 1);
    return 0;
}

/* Everything but the thread. On failure nothing is left behind and sp->why
 * says what went wrong. */
static int spawn_build(struct spawn *sp)
{
    int rc;

    if ((rc = check_request(sp)) != 0 || (rc = parse_image(sp)) != 0)
        return rc;
    sp->task = task_create(sp->req->name);
    if (!sp->task)
        return spawn_fail(sp, -MICA_ENOMEM, "no memory for the task");
    sp->task->start_flags = sp->req->flags;
    if ((rc = load_segments(sp)) == 0 && (rc = map_stack_and_info(sp)) == 0 &&
        (!sp->req->bi || (rc = map_modules(sp)) == 0))
        rc = copy_handles(sp);
    if (rc) {
        task_spawn_abort(sp->task);
        sp->task = NULL;
    }
    return rc;
}

static int spawn_prepare_report(struct spawn *sp, struct task **out, uint64_t *entry)
{
    int rc = spawn_build(sp);
    if (rc) {
        kprintf("spawn: task '%s' not started: %s\n", sp->req->name, sp->why);
        return rc;
    }
    *out = sp->task;
    *entry = sp->elf.entry;
    return 0;
}

int task_spawn_prepare(const struct spawn_request *req, struct task **out, uint64_t *entry)
{
    struct spawn sp = {.req = req};
    return spawn_prepare_report(&sp, out, entry);
}

int task_spawn_start(struct task *t, uint64_t entry)
{
    struct thread *th = thread_create_user(t, entry, MICA_USER_STACK_TOP, MICA_USER_START_INFO);
    if (!th) {
        kprintf("spawn: task '%s' not started: no memory for its thread\n", t->name);
        return -MICA_ENOMEM;
    }
    sched_ready(th);
    return 0;
}

/* A task that never ran has no threads and is not current: task_exit tears
 * it down and returns; it is freed once no handle names it. */
void task_spawn_abort(struct task *t)
{
    KASSERT(t->nthreads == 0, "aborting spawned task %u that has %u threads", t->id,
            t->nthreads);
    task_exit(t, MICA_EXIT_KILLED);
}

int task_spawn(const struct spawn_request *req, struct task **out)
{
    uint64_t entry;
    int rc = task_spawn_prepare(req, out, &entry);
    if (rc)
        return rc;
    if ((rc = task_spawn_start(*out, entry)) != 0) {
        task_spawn_abort(*out);
        *out = NULL;
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
            .bi = bi,
        };
        struct spawn sp = {.req = &req};
        struct task *t;
        uint64_t entry;
        int rc = spawn_prepare_report(&sp, &t, &entry);
        if (rc == 0 && (rc = task_spawn_start(t, entry)) != 0)
            task_spawn_abort(t);
        return rc;
    }
    kprintf("boot: no module named 'init'; nothing to run\n");
    return -MICA_ENOENT;
}

/* ---- system calls ---- */

struct user_image {
    uintptr_t base; /* validated with user_range_ok for the whole length */
};

static int user_image_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    const struct user_image *ui = ctx;
    return copy_from_user(dst, ui->base + off, n);
}

struct spawn_strings {
    char name[MICA_NAME_MAX];
    char args[MICA_ARGS_MAX];
};

/* Copy the name and argument strings in (args may be NULL: ""). */
static int copy_spawn_strings(struct spawn_strings *s, const struct mica_spawn_args *a)
{
    long n = copy_string_from_user(s->name, (uintptr_t)a->name, sizeof s->name);
    if (n < 0)
        return (int)n;
    s->args[0] = '\0';
    if (a->args && (n = copy_string_from_user(s->args, (uintptr_t)a->args, sizeof s->args)) < 0)
        return (int)n;
    return 0;
}

/* The child's pager from the spawn flags: the caller's own (flags 0), the
 * endpoint handle a->pager (MICA_SPAWN_PAGER, needs SEND) or none. */
static int spawn_pager(struct task *self, const struct mica_spawn_args *a,
                       struct endpoint **ep, uint64_t *badge)
{
    *ep = self->pager;
    *badge = self->pager_badge;
    if (a->flags & ~(uint64_t)(MICA_SPAWN_PAGER | MICA_SPAWN_NO_PAGER) ||
        (a->flags & MICA_SPAWN_PAGER && a->flags & MICA_SPAWN_NO_PAGER))
        return -MICA_EINVAL;
    if (a->flags & MICA_SPAWN_NO_PAGER)
        *ep = NULL;
    if (a->flags & MICA_SPAWN_PAGER) {
        int err = 0;
        struct handle *e = handle_lookup(&self->handles, a->pager, HANDLE_ENDPOINT,
                                         MICA_RIGHT_SEND, &err);
        if (!e)
            return err;
        *ep = e->object;
        *badge = e->badge;
    }
    return 0;
}

int64_t sys_task_spawn(struct trap_frame *tf)
{
    struct task *self = sched_current()->task;
    struct mica_spawn_args a;
    struct task *child;
    uint64_t entry;
    int rc;

    if (copy_from_user(&a, tf->rdi, sizeof a) != 0)
        return -MICA_EFAULT;
    if (a.nhandles > MICA_SPAWN_MAX_HANDLES)
        return -MICA_EINVAL;
    if (!user_range_ok((uintptr_t)a.image, a.image_len))
        return -MICA_EFAULT;
    struct endpoint *pager;
    uint64_t pager_badge;
    if ((rc = spawn_pager(self, &a, &pager, &pager_badge)) != 0)
        return rc;
    struct spawn_strings *s = kmalloc(sizeof *s);
    if (!s)
        return -MICA_ENOMEM;
    if ((rc = copy_spawn_strings(s, &a)) != 0) {
        kfree(s);
        return rc;
    }

    struct user_image ui = {.base = (uintptr_t)a.image};
    struct spawn_request req = {
        .src = {.read = user_image_read, .ctx = &ui, .len = a.image_len},
        .name = s->name, .args = s->args,
        .flags = self->start_flags & MICA_START_TEST_MODE, /* never MACHINE */
        .parent = self, .handles = a.handles, .nhandles = a.nhandles,
    };
    rc = task_spawn_prepare(&req, &child, &entry);
    kfree(s);
    if (rc)
        return rc;

    /* The handle first: once the child is runnable it cannot be undone. */
    long h = handle_install(&self->handles, HANDLE_TASK, child,
                            MICA_RIGHT_WAIT | MICA_RIGHT_GRANT | MICA_RIGHT_MAP |
                                MICA_RIGHT_KILL, 0);
    if (h < 0) {
        kprintf("spawn: task '%s' not started: the caller's handle table is full\n",
                child->name);
        task_spawn_abort(child);
        return h;
    }
    if (pager) /* before the first instruction, so no fault can miss it */
        task_set_pager(child, pager, pager_badge);
    if ((rc = task_spawn_start(child, entry)) != 0) {
        task_spawn_abort(child); /* drops the pager reference too */
        handle_close(&self->handles, (uint64_t)h);
        return rc;
    }
    return h;
}
