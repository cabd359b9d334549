/* libFuzzer target for the ELF64 parser. The input is a whole executable
 * image; like the loader, the parser sees only its first min(size, 4096)
 * bytes, handed over in a heap buffer of exactly that size so that ASan
 * flags any read past them. An accepted image is checked against the
 * parser's guarantees, stated here independently: segments in the user
 * half above page 0, file ranges inside the image, no shared pages, no
 * writable and executable segment, the entry point in an executable one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/elf.h"
#include <mica/errno.h>
#include <mica/syscall.h>
#include "fuzz_check.h"

static struct elf_image img;

static uint64_t page_lo(const struct elf_segment *s) { return s->vaddr & ~0xfffull; }
static uint64_t page_hi(const struct elf_segment *s)
{
    return (s->vaddr + s->memsz + 0xfff) & ~0xfffull;
}

static void check_image(const uint8_t *hdr, uint64_t image_len)
{
    uint64_t entry;
    bool entry_ok = false;

    memcpy(&entry, hdr + 24, 8);
    FUZZ_CHECK(img.entry == entry);
    FUZZ_CHECK(img.nseg >= 1 && img.nseg <= ELF_MAX_SEGMENTS);
    for (unsigned i = 0; i < img.nseg; i++) {
        const struct elf_segment *s = &img.seg[i];
        FUZZ_CHECK(s->memsz > 0 && s->filesz <= s->memsz);
        FUZZ_CHECK(s->offset <= image_len && s->filesz <= image_len - s->offset);
        FUZZ_CHECK(s->vaddr >= 0x1000 && s->vaddr < MICA_USER_END);
        FUZZ_CHECK(s->memsz <= MICA_USER_END - s->vaddr);
        FUZZ_CHECK((s->prot & ~7u) == 0);
        FUZZ_CHECK((s->prot & (MICA_PROT_WRITE | MICA_PROT_EXEC)) !=
                   (MICA_PROT_WRITE | MICA_PROT_EXEC));
        FUZZ_CHECK((s->offset & 0xfff) == (s->vaddr & 0xfff));
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(page_hi(s) <= page_lo(&img.seg[k]) || page_hi(&img.seg[k]) <= page_lo(s));
        if ((s->prot & MICA_PROT_EXEC) && entry >= s->vaddr && entry - s->vaddr < s->memsz)
            entry_ok = true;
    }
    FUZZ_CHECK(entry_ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    size_t hl = size < 4096 ? size : 4096;
    uint8_t *hdr = malloc(hl ? hl : 1);

    if (!hdr)
        return 0;
    memcpy(hdr, data, hl);
    memset(err, 'x', sizeof err);
    int rc = elf_parse(hdr, hl, size, &img, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(err[0] == '\0');
        check_image(hdr, size);
    } else {
        FUZZ_CHECK(rc == -MICA_ENOEXEC);
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof err);
    }
    free(hdr);
    return 0;
}
