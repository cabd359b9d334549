/* ELF64 executable parser, shared by the kernel (which loads init from a
 * boot module) and libsys (whose loader builds every other program, see
 * libsys/src/spawn.c). The image is untrusted: every field is range-checked before it is used,
 * all arithmetic on it is overflow-checked, and headers are loaded with
 * memcpy so that a misaligned image cannot cause an unaligned access. The
 * first problem ends the parse with a message naming the field and value.
 *
 * Beyond the checks listed in elf.h, the page-rounded ranges
 * [ALIGN_DOWN(vaddr), ALIGN_UP(vaddr + memsz)) of the segments returned
 * never overlap and never include page 0, so a loader may map each one
 * whole with its own protection. PT_LOAD entries with memsz 0 are checked
 * and then dropped; PT_INTERP (a dynamic loader request) is refused; other
 * program header types are ignored. */
#include "lib/elf.h"

#include <stdarg.h>
#include <mica/elf64.h>
#include <mica/errno.h>
#include <mica/syscall.h>

#include "lib/format.h"
#include "lib/string.h"


struct parse {
    uint64_t image_len;
    struct elf_image *out;
    char *err;
    size_t errlen;
};

static int fail(struct parse *p, const char *fmt, ...) __printf(2, 3);

static int fail(struct parse *p, const char *fmt, ...)
{
    if (p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        kvsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return -MICA_ENOEXEC;
}

static int check_ehdr(struct parse *p, const struct elf64_ehdr *eh, size_t hdr_len)
{
    const uint8_t *id = eh->ident;

    if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
        return fail(p, "bad magic %02x %02x %02x %02x (expected 7f 45 4c 46)", id[0], id[1],
                    id[2], id[3]);
    if (id[EI_CLASS] != ELFCLASS64)
        return fail(p, "class %u is not ELFCLASS64 (2)", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return fail(p, "data encoding %u is not little-endian (1)", id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
        return fail(p, "version %u/%u is not 1", id[EI_VERSION], eh->version);
    if (eh->type != ET_EXEC)
        return fail(p, "type %u is not ET_EXEC (2)%s", eh->type,
                    eh->type == 3 ? ": position-independent executables are not supported" : "");
    if (eh->machine != EM_X86_64)
        return fail(p, "machine %u is not x86-64 (62)", eh->machine);
    if (eh->phnum == 0)
        return fail(p, "no program headers (phnum 0)");
    if (eh->phentsize != sizeof(struct elf64_phdr))
        return fail(p, "program header size %u is not 56", eh->phentsize);
    /* phnum * 56 < 2^22, so only phoff can overflow the sum. */
    uint64_t table = (uint64_t)eh->phnum * sizeof(struct elf64_phdr);
    if (eh->phoff > hdr_len || table > hdr_len - eh->phoff)
        return fail(p, "program header table 0x%llx+0x%llx (%u entries) runs past the 0x%zx "
                    "header bytes read", (unsigned long long)eh->phoff,
                    (unsigned long long)table, eh->phnum, hdr_len);
    return 0;
}

static unsigned prot_of(uint32_t flags)
{
    return (flags & PF_R ? MICA_PROT_READ : 0) | (flags & PF_W ? MICA_PROT_WRITE : 0) |
           (flags & PF_X ? MICA_PROT_EXEC : 0);
}

/* Check one PT_LOAD entry (number i) and append it unless it is empty. */
static int add_load(struct parse *p, unsigned i, const struct elf64_phdr *ph)
{
    if (ph->filesz > ph->memsz)
        return fail(p, "program header %u: filesz 0x%llx exceeds memsz 0x%llx", i,
                    (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
    if (ph->offset > p->image_len || ph->filesz > p->image_len - ph->offset)
        return fail(p, "program header %u: file range 0x%llx+0x%llx runs past the image end "
                    "0x%llx", i, (unsigned long long)ph->offset,
                    (unsigned long long)ph->filesz, (unsigned long long)p->image_len);
    if (ph->vaddr >= MICA_USER_END || ph->memsz > MICA_USER_END - ph->vaddr)
        return fail(p, "program header %u: address range 0x%llx+0x%llx leaves the user half", i,
                    (unsigned long long)ph->vaddr, (unsigned long long)ph->memsz);
    if ((ph->flags & (PF_W | PF_X)) == (PF_W | PF_X))
        return fail(p, "program header %u: flags 0x%x make it writable and executable", i,
                    ph->flags);
    if ((ph->offset & PAGE_MASK) != (ph->vaddr & PAGE_MASK))
        return fail(p, "program header %u: offset 0x%llx and vaddr 0x%llx differ modulo 4096",
                    i, (unsigned long long)ph->offset, (unsigned long long)ph->vaddr);
    if (ph->memsz == 0)
        return 0;
    if (ph->vaddr < PAGE_SIZE)
        return fail(p, "program header %u: vaddr 0x%llx maps page 0", i,
                    (unsigned long long)ph->vaddr);
    if (p->out->nseg == ELF_MAX_SEGMENTS)
        return fail(p, "program header %u: more than %u PT_LOAD segments", i, ELF_MAX_SEGMENTS);

    uint64_t lo = ALIGN_DOWN(ph->vaddr, PAGE_SIZE);
    uint64_t hi = ALIGN_UP(ph->vaddr + ph->memsz, PAGE_SIZE); /* <= MICA_USER_END */
    for (unsigned k = 0; k < p->out->nseg; k++) {
        const struct elf_segment *s = &p->out->seg[k];
        uint64_t slo = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
        uint64_t shi = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
        if (lo < shi && slo < hi)
            return fail(p, "program header %u: pages 0x%llx-0x%llx overlap an earlier segment "
                        "at 0x%llx-0x%llx", i, (unsigned long long)lo, (unsigned long long)hi,
                        (unsigned long long)slo, (unsigned long long)shi);
    }
    p->out->seg[p->out->nseg++] = (struct elf_segment){
        .vaddr = ph->vaddr, .memsz = ph->memsz, .filesz = ph->filesz,
        .offset = ph->offset, .prot = prot_of(ph->flags),
    };
    return 0;
}

static int check_entry(struct parse *p, uint64_t entry)
{
    for (unsigned k = 0; k < p->out->nseg; k++) {
        const struct elf_segment *s = &p->out->seg[k];
        if (entry >= s->vaddr && entry - s->vaddr < s->memsz) {
            if (!(s->prot & MICA_PROT_EXEC))
                return fail(p, "entry point 0x%llx lies in a segment that is not executable",
                            (unsigned long long)entry);
            return 0;
        }
    }
    return fail(p, "entry point 0x%llx lies in no PT_LOAD segment", (unsigned long long)entry);
}

uint64_t elf_headers_len(const void *hdr, size_t hdr_len)
{
    struct elf64_ehdr eh;
    if (hdr_len < sizeof eh)
        return 0;
    memcpy(&eh, hdr, sizeof eh);
    if (eh.phentsize != sizeof(struct elf64_phdr) || eh.phoff > UINT32_MAX)
        return 0;
    /* Both terms are below 2^32, so the sum cannot overflow. */
    return MAX(eh.phoff + (uint64_t)eh.phnum * sizeof(struct elf64_phdr), (uint64_t)sizeof eh);
}

int elf_parse(const void *hdr, size_t hdr_len, uint64_t image_len, struct elf_image *out,
              char *err, size_t errlen)
{
    struct parse p = {.image_len = image_len, .out = out, .err = err, .errlen = errlen};
    struct elf64_ehdr eh;
    int rc;

    if (hdr_len > image_len) /* a caller's mistake: never look past the image */
        hdr_len = (size_t)image_len;
    if (errlen)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    if (hdr_len < sizeof eh)
        return fail(&p, "image of %llu bytes is shorter than an ELF64 header (64)",
                    (unsigned long long)image_len);
    memcpy(&eh, hdr, sizeof eh);
    if ((rc = check_ehdr(&p, &eh, hdr_len)) != 0)
        return rc;

    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf64_phdr ph;
        memcpy(&ph, (const uint8_t *)hdr + eh.phoff + (uint64_t)i * sizeof ph, sizeof ph);
        if (ph.type == PT_INTERP)
            return fail(&p, "program header %u: PT_INTERP: dynamically linked executables are "
                        "not supported", i);
        if (ph.type == PT_LOAD && (rc = add_load(&p, i, &ph)) != 0)
            return rc;
    }
    if (out->nseg == 0)
        return fail(&p, "no PT_LOAD segment with memsz > 0 among %u program headers", eh.phnum);
    if ((rc = check_entry(&p, eh.entry)) != 0)
        return rc;
    out->entry = eh.entry;
    return 0;
}
