/* The kernel's own ELF loader, which builds exactly one program: init,
 * from its boot module (init_task.c); every other program is built by
 * libsys's loader in ring 3 through the task-building calls
 * (task_build.c). The kernel tests use it with images in kernel memory.
 * It maps the program's segments, then the stack and the start-info page
 * (user_layout.c), copies the handles passed by the parent, and gives the
 * task one thread at the entry point. The new space is not the current
 * one, so every byte is written through the direct map after translating
 * the page in the new space. Every failure prints one line naming the
 * task and the reason. */
#include "vm/elf_load.h"

#include <stdarg.h>
#include <mica/errno.h>

#include "lib/console.h"
#include "lib/assert.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/vmm.h"
#include "lib/elf.h"
#include "vm/task_build.h"
#include "vm/task_load.h"
#include "vm/user_layout.h"
#include "object/sched.h"
#include "object/task.h"
#include "object/thread.h"
#include "vm/user_mem.h"
#include "object/preempt.h"

#define HDR_READ_MAX 4096 /* bytes handed to elf_parse */

/* One spawn in progress. */
struct spawn {
    const struct spawn_request *req;
    struct elf_image elf;
    struct task *task;
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

int image_copy_into_task(struct task *t, uint64_t va, const struct image_src *src,
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

/* Map each segment's whole pages holding its file bytes and zeros (bss
 * needs no work), each frame filled once (task_load.h). elf_parse
 * guarantees the page ranges do not overlap. */
static int load_segments(struct spawn *sp)
{
    for (unsigned i = 0; i < sp->elf.nseg; i++) {
        const struct elf_segment *s = &sp->elf.seg[i];
        uint64_t lo = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
        uint64_t hi = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
        int rc = task_load_pages(sp->task, lo, (hi - lo) / PAGE_SIZE, s->prot, s->vaddr - lo,
                                 &sp->req->src, s->offset, s->filesz);
        if (rc)
            return spawn_fail(sp, rc, "loading segment 0x%llx-0x%llx (0x%llx bytes at offset "
                              "0x%llx) failed (error %d)", (unsigned long long)lo,
                              (unsigned long long)hi, (unsigned long long)s->filesz,
                              (unsigned long long)s->offset, rc);
    }
    return 0;
}

/* The stack and the start-info page, filled from the request. */
static int map_stack_and_info(struct spawn *sp)
{
    const struct spawn_request *req = sp->req;
    struct task *t = sp->task;
    struct mica_start_info *si;
    int rc = user_layout_map(t, &si);
    if (rc)
        return spawn_fail(sp, rc, "mapping the stack or the start-info page failed (error %d)",
                          rc);
    si->flags = req->flags;
    si->task_id = t->id;
    memcpy(si->name, t->name, sizeof si->name);
    si->name[MICA_NAME_MAX - 1] = '\0';
    memcpy(si->args, req->args, strlen(req->args) + 1); /* length checked by the caller */
    si->nhandles = req->nhandles;
    return 0;
}

static int copy_handles(struct spawn *sp)
{
    const struct spawn_request *req = sp->req;
    size_t bad;
    int rc = task_give_handles(sp->task, &req->parent->handles, req->handles, req->nhandles,
                               &bad);
    if (rc == -MICA_EBADH || rc == -MICA_EPERM)
        return spawn_fail(sp, -MICA_EBADH, "handle %llu to pass (#%zu) %s",
                          (unsigned long long)req->handles[bad], bad,
                          rc == -MICA_EPERM ? "lacks the grant right" : "is not a handle");
    if (rc)
        return spawn_fail(sp, rc, "installing handle #%zu failed (error %d)", bad, rc);
    return 0;
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
        sp->req->nhandles)
        rc = copy_handles(sp);
    if (rc) {
        task_spawn_abort(sp->task);
        sp->task = NULL;
    }
    return rc;
}

int task_spawn_prepare(const struct spawn_request *req, struct task **out, uint64_t *entry)
{
    struct spawn sp = {.req = req};
    int rc = spawn_build(&sp);
    if (rc) {
        kprintf("spawn: task '%s' not started: %s\n", req->name, sp.why);
        return rc;
    }
    *out = sp.task;
    *entry = sp.elf.entry;
    return 0;
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
