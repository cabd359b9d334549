/* In-kernel tests of the kernel's own ELF loader, which builds init only
 * (ring 3 builds the rest: tests/user/test_task_build.c): the init module
 * parses; a tiny hand-assembled executable becomes a task whose segments,
 * stack and start-info page are mapped with the right protections and
 * contents; bad images and bad handles fail without leaking a frame or a
 * heap byte. Tasks are built but never run (task_spawn_prepare), so these
 * tests need the task, thread and handle subsystems but not the scheduler. */
#include <mica/elf64.h>
#include <mica/errno.h>
#include <mica/syscall.h>

#include "arch/x86_64/cpu_features.h"
#include "object/endpoint.h"
#include "object/handle.h"
#include "kernel/boot_state.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/kheap.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "lib/elf.h"
#include "vm/elf_load.h"
#include "vm/init_task.h"
#include "object/task.h"
#include "test/ktest.h"

/* ---- a tiny static executable: exit(0), plus data and bss ---- */

struct tiny_elf {
    struct elf64_ehdr eh;
    struct elf64_phdr ph[2];
    uint8_t pad[0x100 - sizeof(struct elf64_ehdr) - 2 * sizeof(struct elf64_phdr)];
    uint8_t code[0x80]; /* file offset 0x100, vaddr 0x400100 */
    uint64_t data;      /* file offset 0x180, vaddr 0x401180 */
};
STATIC_ASSERT(offsetof(struct tiny_elf, code) == 0x100, "tiny ELF code offset");
STATIC_ASSERT(offsetof(struct tiny_elf, data) == 0x180, "tiny ELF data offset");

#define TINY_TEXT 0x400000ull
#define TINY_DATA 0x401180ull
#define TINY_BSS_END (TINY_DATA + 0x2000)
#define TINY_DATA_WORD 0x1122334455667788ull

static const struct tiny_elf tiny = {
    .eh = {
        .ident = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
        .type = ET_EXEC, .machine = EM_X86_64, .version = EV_CURRENT,
        .entry = TINY_TEXT + 0x100, .phoff = 64,
        .ehsize = 64, .phentsize = sizeof(struct elf64_phdr), .phnum = 2,
    },
    .ph = {
        {.type = PT_LOAD, .flags = PF_R | PF_X, .offset = 0, .vaddr = TINY_TEXT,
         .filesz = 0x180, .memsz = 0x180, .align = 0x1000},
        {.type = PT_LOAD, .flags = PF_R | PF_W, .offset = 0x180, .vaddr = TINY_DATA,
         .filesz = 8, .memsz = 0x2000, .align = 0x1000},
    },
    /* mov edi, 0; mov eax, MICA_SYS_EXIT; syscall; jmp $ */
    .code = {0xbf, 0, 0, 0, 0, 0xb8, MICA_SYS_EXIT, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe},
    .data = TINY_DATA_WORD,
};

struct mem_image {
    const uint8_t *p;
    uint64_t fail_at; /* reads starting at or beyond this offset fail */
};

static int mem_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    const struct mem_image *m = ctx;
    if (n && off >= m->fail_at)
        return -MICA_EFAULT;
    memcpy(dst, m->p + off, n);
    return 0;
}

static struct spawn_request tiny_request(struct mem_image *m, const void *image, uint64_t len)
{
    m->p = image;
    m->fail_at = UINT64_MAX;
    return (struct spawn_request){
        .src = {.read = mem_read, .ctx = m, .len = len},
        .name = "tiny", .args = "alpha beta", .flags = MICA_START_TEST_MODE,
    };
}

/* ---- leak accounting ---- */

struct usage {
    uint64_t free_frames, heap_bytes;
    unsigned tasks;
};

static struct usage usage_now(void)
{
    struct pmm_stats ps;
    struct kheap_stats hs;
    pmm_get_stats(&ps);
    kheap_get_stats(&hs);
    return (struct usage){ps.free, hs.bytes_in_use, task_count()};
}

static void expect_usage(struct ktest_ctx *t, const struct usage *before)
{
    struct usage now = usage_now();
    KEXPECT_EQ(t, now.free_frames, before->free_frames);
    KEXPECT_EQ(t, now.heap_bytes, before->heap_bytes);
    KEXPECT_EQ(t, now.tasks, before->tasks);
}

/* Caches (slabs, heap arena) keep memory after the first use: warm them. */
static void warm_up(void)
{
    struct mem_image m;
    struct spawn_request req = tiny_request(&m, &tiny, sizeof tiny);
    struct task *task;
    uint64_t entry;
    if (task_spawn_prepare(&req, &task, &entry) == 0)
        task_spawn_abort(task);
}

/* ---- tests ---- */

KTEST(spawn_init_module_parses)
{
    const struct boot_info *bi = &boot_state.info;
    for (size_t i = 0; i < bi->nmodules; i++) {
        const struct boot_module *m = &bi->modules[i];
        const char *c = m->cmdline;
        while (*c == ' ')
            c++;
        if (strncmp(c, "init", 4) != 0 || (c[4] != '\0' && c[4] != ' '))
            continue;
        struct elf_image img;
        char err[128];
        uint64_t len = m->end - m->start;
        int rc = elf_parse(phys_to_virt(m->start), (size_t)MIN(len, 4096ull), len, &img, err,
                           sizeof err);
        if (rc)
            ktest_fail(t, __FILE__, __LINE__, "init module: %s", err);
        KEXPECT(t, img.nseg >= 1);
        return;
    }
    KSKIP(t, "no init module");
}

KTEST(spawn_builds_address_space)
{
    const unsigned nx = cpu_features.nx ? 0 : VM_EXEC;
    struct mem_image m;
    struct spawn_request req = tiny_request(&m, &tiny, sizeof tiny);
    struct task *task;
    uint64_t entry;
    paddr_t pa;
    unsigned prot;

    warm_up();
    struct usage before = usage_now();
    KREQUIRE(t, task_spawn_prepare(&req, &task, &entry) == 0);
    KEXPECT_EQ(t, entry, TINY_TEXT + 0x100);
    KEXPECT_EQ(t, task->nthreads, 0);
    KEXPECT_EQ(t, task->start_flags, MICA_START_TEST_MODE);

    /* Text: read-execute, holding the code. */
    KREQUIRE(t, vmm_translate(&task->as, entry, &pa, &prot) == 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE | VM_EXEC), VM_USER | VM_EXEC);
    KEXPECT(t, memcmp(phys_to_virt(pa), tiny.code, sizeof tiny.code) == 0);

    /* Data: read-write, no-execute, the initialised word, then zeroed bss. */
    KREQUIRE(t, vmm_translate(&task->as, TINY_DATA, &pa, &prot) == 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE | VM_EXEC), VM_USER | VM_WRITE | nx);
    KEXPECT_EQ(t, *(uint64_t *)phys_to_virt(pa), TINY_DATA_WORD);
    KREQUIRE(t, vmm_translate(&task->as, TINY_BSS_END - 8, &pa, NULL) == 0);
    KEXPECT_EQ(t, *(uint64_t *)phys_to_virt(pa), 0);
    KEXPECT_EQ(t, vmm_translate(&task->as, ALIGN_UP(TINY_BSS_END, PAGE_SIZE), NULL, NULL),
               -MICA_ENOENT);

    /* Stack: both ends of the part mapped at spawn are read-write; the rest
     * of the reservation and the page below it are not mapped. */
    uint64_t bottom = MICA_USER_STACK_TOP - MICA_USER_STACK_MAPPED;
    KREQUIRE(t, vmm_translate(&task->as, bottom, NULL, &prot) == 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE | VM_EXEC), VM_USER | VM_WRITE | nx);
    KEXPECT_EQ(t, vmm_translate(&task->as, MICA_USER_STACK_TOP - 8, NULL, NULL), 0);
    KEXPECT_EQ(t, vmm_translate(&task->as, bottom - PAGE_SIZE, NULL, NULL), -MICA_ENOENT);
    KEXPECT_EQ(t, vmm_translate(&task->as, MICA_USER_STACK_TOP - MICA_USER_STACK_SIZE - PAGE_SIZE,
                                NULL, NULL), -MICA_ENOENT);

    /* Start info: read-only for ring 3, filled in. */
    KREQUIRE(t, vmm_translate(&task->as, MICA_USER_START_INFO, &pa, &prot) == 0);
    KEXPECT_EQ(t, prot & (VM_USER | VM_WRITE | VM_EXEC), VM_USER | nx);
    const struct mica_start_info *si = phys_to_virt(pa);
    KEXPECT_EQ(t, si->flags, MICA_START_TEST_MODE);
    KEXPECT_EQ(t, si->task_id, task->id);
    KEXPECT(t, strcmp(si->name, "tiny") == 0);
    KEXPECT(t, strcmp(si->args, "alpha beta") == 0);
    KEXPECT_EQ(t, si->nhandles, 0);
    KEXPECT_EQ(t, si->nmodules, 0);

    task_spawn_abort(task);
    expect_usage(t, &before);
}

/* Copy n bytes at user address va of the task into dst, page by page
 * through the direct map; false if some page is not mapped. */
static bool task_read(struct task *task, uint64_t va, void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n) {
        paddr_t pa;
        size_t chunk = MIN(n, PAGE_SIZE - (va & PAGE_MASK));
        if (vmm_translate(&task->as, va & ~(uint64_t)PAGE_MASK, &pa, NULL) != 0)
            return false;
        memcpy(d, (const uint8_t *)phys_to_virt(pa) + (va & PAGE_MASK), chunk);
        d += chunk;
        va += chunk;
        n -= chunk;
    }
    return true;
}

/* More modules than ever fitted the start info (once 16, the 17th and later
 * dropped, bootcfg last among them): all are listed, in order, each with
 * its contents. */
KTEST(spawn_gives_init_every_module)
{
    enum { N = 100 };
    static struct boot_info bi;
    static char names[N][8];
    paddr_t data;
    KREQUIRE(t, pmm_alloc_pages(0, &data) == 0);
    uint8_t *bytes = phys_to_virt(data);
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        bytes[i] = (uint8_t)(i * 7);
    memset(&bi, 0, sizeof bi);
    for (unsigned i = 0; i < N; i++) {
        if (i == N - 1)
            ksnprintf(names[i], sizeof names[i], "bootcfg");
        else
            ksnprintf(names[i], sizeof names[i], "m%u", i);
        bi.modules[i] = (struct boot_module){data + i, data + i + 1 + i % 5, names[i]};
    }
    bi.nmodules = N;

    warm_up();
    struct usage before = usage_now();
    struct mem_image m;
    struct spawn_request req = tiny_request(&m, &tiny, sizeof tiny);
    struct task *task;
    uint64_t entry;
    char why[160];
    KREQUIRE(t, task_spawn_prepare(&req, &task, &entry) == 0);
    KREQUIRE(t, init_map_modules(task, &bi, why, sizeof why) == 0);

    static struct mica_start_info si;
    KREQUIRE(t, task_read(task, MICA_USER_START_INFO, &si, sizeof si));
    KEXPECT_EQ(t, si.nmodules, N);
    KEXPECT_EQ(t, (uint64_t)(uintptr_t)si.modules, MICA_USER_MODULES);
    unsigned bad = 0;
    for (unsigned i = 0; i < N; i++) {
        struct mica_module mm;
        uint8_t content[8];
        if (!task_read(task, MICA_USER_MODULES + i * sizeof mm, &mm, sizeof mm) ||
            strcmp(mm.name, names[i]) != 0 || mm.len != 1 + i % 5 ||
            !task_read(task, mm.addr, content, mm.len) || memcmp(content, bytes + i, mm.len) != 0)
            bad++;
    }
    KEXPECT_EQ(t, bad, 0);

    task_spawn_abort(task);
    expect_usage(t, &before);
    pmm_free_pages(data, 0);
}

KTEST(spawn_rejects_bad_images)
{
    static struct tiny_elf bad;
    struct mem_image m;
    struct task *task = NULL;
    uint64_t entry;

    warm_up();
    struct usage before = usage_now();

    bad = tiny; /* writable and executable text */
    bad.ph[0].flags = 7;
    struct spawn_request req = tiny_request(&m, &bad, sizeof bad);
    KEXPECT_EQ(t, task_spawn_prepare(&req, &task, &entry), -MICA_ENOEXEC);

    req = tiny_request(&m, &tiny, 100); /* truncated inside the program headers */
    KEXPECT_EQ(t, task_spawn_prepare(&req, &task, &entry), -MICA_ENOEXEC);

    bad = tiny; /* data placed where the modules and the stack live */
    bad.ph[1].vaddr = MICA_USER_STACK_TOP - 0x1000 + 0x180;
    req = tiny_request(&m, &bad, sizeof bad);
    KEXPECT_EQ(t, task_spawn_prepare(&req, &task, &entry), -MICA_ENOEXEC);

    /* A read failing in the middle of loading, after the task exists. */
    req = tiny_request(&m, &tiny, sizeof tiny);
    m.fail_at = 0x180; /* the data segment's bytes */
    KEXPECT_EQ(t, task_spawn_prepare(&req, &task, &entry), -MICA_EFAULT);

    KEXPECT(t, task == NULL);
    expect_usage(t, &before);
}

KTEST(spawn_passes_handles)
{
    struct mem_image m;
    struct task *child;
    uint64_t entry;

    warm_up();
    struct usage before = usage_now();
    struct task *parent = task_create("parent");
    KREQUIRE(t, parent != NULL);
    struct endpoint *ep = endpoint_create();
    KREQUIRE(t, ep != NULL);
    long granted = handle_install(&parent->handles, HANDLE_ENDPOINT, ep,
                                  MICA_RIGHT_SEND | MICA_RIGHT_GRANT, 0x5eed);
    long kept = handle_install(&parent->handles, HANDLE_ENDPOINT, ep, MICA_RIGHT_SEND, 0);
    endpoint_put(ep); /* the handles hold it now */
    KREQUIRE(t, granted >= 0 && kept >= 0);
    uint32_t refs = ep->refs;

    struct spawn_request req = tiny_request(&m, &tiny, sizeof tiny);
    uint64_t bad_handles[] = {(uint64_t)granted, 200};
    req.parent = parent;
    req.handles = bad_handles;
    req.nhandles = 2;
    KEXPECT_EQ(t, task_spawn_prepare(&req, &child, &entry), -MICA_EBADH); /* no handle 200 */
    bad_handles[1] = (uint64_t)kept;
    KEXPECT_EQ(t, task_spawn_prepare(&req, &child, &entry), -MICA_EBADH); /* no grant right */
    KEXPECT_EQ(t, ep->refs, refs);

    uint64_t good[] = {(uint64_t)granted, (uint64_t)granted};
    req.handles = good;
    KREQUIRE(t, task_spawn_prepare(&req, &child, &entry) == 0);
    KEXPECT_EQ(t, ep->refs, refs + 2);
    for (uint64_t h = 0; h < 2; h++) {
        int err;
        struct handle *e = handle_lookup(&child->handles, h, HANDLE_ENDPOINT,
                                         MICA_RIGHT_SEND | MICA_RIGHT_GRANT, &err);
        KREQUIRE(t, e != NULL);
        KEXPECT(t, e->object == ep);
        KEXPECT_EQ(t, e->badge, 0x5eed);
    }
    task_spawn_abort(child);
    KEXPECT_EQ(t, ep->refs, refs);
    task_exit(parent, 0);
    expect_usage(t, &before);
}
