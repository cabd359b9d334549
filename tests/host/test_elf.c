/* Host tests for the ELF64 parser (vm/elf.c): well-formed executables
 * built here header by header (one segment; a typical text/rodata/data+bss
 * layout; every boundary value that must still be accepted), one test per
 * rejection with the message checked, and randomly mutated images parsed
 * from exactly-sized heap buffers (so ASan catches any read past the
 * header bytes) whose accepted results are checked against the rules
 * independently of the parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "lib/elf.h"
#include <mica/errno.h>
#include <mica/syscall.h>

#define PF_X 1u
#define PF_W 2u
#define PF_R 4u
#define PT_LOAD 1u
#define PT_INTERP 3u
#define PT_NOTE 4u
#define PT_GNU_STACK 0x6474e551u

#define EHDR_SIZE 64u
#define PHDR_SIZE 56u
#define IMG_MAX   (64 * 1024)

/* ---- image builder ---- */

struct img {
    uint8_t buf[IMG_MAX];
    uint64_t len;    /* image length */
    unsigned nph;    /* program headers written after the ELF header */
};

static struct img im;
static struct elf_image out;
static char err[256];

#include "rng.h"
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void put16(uint64_t off, uint16_t v) { memcpy(im.buf + off, &v, 2); }
static void put32(uint64_t off, uint32_t v) { memcpy(im.buf + off, &v, 4); }
static void put64(uint64_t off, uint64_t v) { memcpy(im.buf + off, &v, 8); }

/* An ELF header with the program header table right after it. */
static void img_begin(uint64_t entry, uint64_t len)
{
    memset(&im, 0, sizeof im);
    memcpy(im.buf, "\x7f" "ELF", 4);
    im.buf[4] = 2; /* ELFCLASS64 */
    im.buf[5] = 1; /* little-endian */
    im.buf[6] = 1; /* EV_CURRENT */
    put16(16, 2);  /* ET_EXEC */
    put16(18, 62); /* EM_X86_64 */
    put32(20, 1);
    put64(24, entry);
    put64(32, EHDR_SIZE);    /* phoff */
    put16(52, EHDR_SIZE);    /* ehsize */
    put16(54, PHDR_SIZE);    /* phentsize */
    im.len = len;
}

static uint64_t ph_off(unsigned i) { return EHDR_SIZE + (uint64_t)i * PHDR_SIZE; }

/* Append a program header; returns its index. */
static unsigned img_ph(uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr,
                       uint64_t filesz, uint64_t memsz)
{
    unsigned i = im.nph++;
    uint64_t o = ph_off(i);
    put32(o, type);
    put32(o + 4, flags);
    put64(o + 8, offset);
    put64(o + 16, vaddr);
    put64(o + 24, vaddr);
    put64(o + 32, filesz);
    put64(o + 40, memsz);
    put64(o + 48, 0x1000);
    put16(56, (uint16_t)im.nph);
    return i;
}

/* Field offsets inside a program header. */
enum { PH_TYPE = 0, PH_FLAGS = 4, PH_OFFSET = 8, PH_VADDR = 16, PH_FILESZ = 32, PH_MEMSZ = 40 };

/* The layout a static linker produces: text, rodata, data + bss, and a
 * PT_GNU_STACK entry that carries no memory. */
static void img_typical(void)
{
    img_begin(0x401000, 0x4000);
    img_ph(PT_LOAD, PF_R, 0, 0x400000, 0x1e8, 0x1e8);              /* headers */
    img_ph(PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x1234, 0x1234); /* text */
    img_ph(PT_LOAD, PF_R, 0x3000, 0x403000, 0x200, 0x200);          /* rodata */
    img_ph(PT_LOAD, PF_R | PF_W, 0x3f00, 0x404f00, 0x100, 0x3000);  /* data + bss */
    img_ph(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
}

/* Parse the whole image (header bytes = min(len, 4096), as the loader reads). */
static int parse(void)
{
    size_t hl = im.len < 4096 ? im.len : 4096;
    return elf_parse(im.buf, hl, im.len, &out, err, sizeof err);
}

static int expect_reject(const char *needle, int line)
{
    int rc = parse();
    if (rc != -MICA_ENOEXEC) {
        printf("# line %d: expected -MICA_ENOEXEC, got %d\n", line, rc);
        return 1;
    }
    if (!strstr(err, needle)) {
        printf("# line %d: message \"%s\" lacks \"%s\"\n", line, err, needle);
        return 1;
    }
    return 0;
}
#define REJECT(needle) (tap_failures += expect_reject((needle), __LINE__))

/* ---- accepted images ---- */

static void test_minimal(void)
{
    img_begin(0x400010, 0x1000);
    img_ph(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000);
    CHECK_EQ(parse(), 0);
    CHECK_EQ(err[0], 0);
    CHECK_EQ(out.entry, 0x400010);
    CHECK_EQ(out.nseg, 1);
    CHECK_EQ(out.seg[0].vaddr, 0x400000);
    CHECK_EQ(out.seg[0].offset, 0);
    CHECK_EQ(out.seg[0].filesz, 0x1000);
    CHECK_EQ(out.seg[0].memsz, 0x1000);
    CHECK_EQ(out.seg[0].prot, MICA_PROT_READ | MICA_PROT_EXEC);
}

static void test_typical_layout(void)
{
    img_typical();
    CHECK_EQ(parse(), 0);
    CHECK_EQ(out.nseg, 4);
    CHECK_EQ(out.entry, 0x401000);
    CHECK_EQ(out.seg[0].prot, MICA_PROT_READ);
    CHECK_EQ(out.seg[1].prot, MICA_PROT_READ | MICA_PROT_EXEC);
    CHECK_EQ(out.seg[2].prot, MICA_PROT_READ);
    CHECK_EQ(out.seg[3].prot, MICA_PROT_READ | MICA_PROT_WRITE);
    CHECK_EQ(out.seg[3].vaddr, 0x404f00);
    CHECK_EQ(out.seg[3].offset, 0x3f00);
    CHECK_EQ(out.seg[3].filesz, 0x100);
    CHECK_EQ(out.seg[3].memsz, 0x3000);
}

static void test_boundaries_accepted(void)
{
    /* The last user page, a file range ending at the image end, and the
     * entry at the last byte of its segment. */
    img_begin(MICA_USER_END - 1, 0x2000);
    img_ph(PT_LOAD, PF_R | PF_X, 0x1000, MICA_USER_END - 0x1000, 0x1000, 0x1000);
    CHECK_EQ(parse(), 0);
    CHECK_EQ(out.seg[0].vaddr + out.seg[0].memsz, MICA_USER_END);

    /* The lowest page allowed, segments on adjacent pages, no file bytes. */
    img_begin(0x1000, 0x1000);
    img_ph(PT_LOAD, PF_X, 0, 0x1000, 0, 0x1000);
    img_ph(PT_LOAD, PF_W, 0, 0x2000, 0, 1);
    CHECK_EQ(parse(), 0);
    CHECK_EQ(out.nseg, 2);
    CHECK_EQ(out.seg[0].prot, MICA_PROT_EXEC);
    CHECK_EQ(out.seg[1].prot, MICA_PROT_WRITE);

    /* Exactly 16 segments, and a table ending at the last header byte read. */
    img_begin(0x10000, 4096);
    for (unsigned i = 0; i < ELF_MAX_SEGMENTS; i++)
        img_ph(PT_LOAD, PF_R | PF_X, 0, 0x10000 + i * 0x1000ull, 0x10, 0x10);
    put64(32, 4096 - ELF_MAX_SEGMENTS * PHDR_SIZE);
    memmove(im.buf + 4096 - ELF_MAX_SEGMENTS * PHDR_SIZE, im.buf + EHDR_SIZE,
            ELF_MAX_SEGMENTS * PHDR_SIZE);
    CHECK_EQ(parse(), 0);
    CHECK_EQ(out.nseg, ELF_MAX_SEGMENTS);

    /* Empty PT_LOAD entries are dropped, other types ignored. */
    img_begin(0x400000, 0x1000);
    img_ph(PT_NOTE, PF_R, 0x800, 0, 0x20, 0x20);
    img_ph(PT_LOAD, PF_R | PF_W | PF_X, 0, 0, 0, 0);
    img_ph(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x100, 0x100);
    img_ph(PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0);
    CHECK_EQ(parse(), -MICA_ENOEXEC); /* W+X is refused even when empty */
    put32(ph_off(1) + PH_FLAGS, PF_R);
    CHECK_EQ(parse(), 0);
    CHECK_EQ(out.nseg, 1);
    CHECK_EQ(out.seg[0].vaddr, 0x400000);
}

/* ---- rejections: the ELF header ---- */

static void test_reject_header(void)
{
    img_typical();
    im.len = 63;
    REJECT("image of 63 bytes is shorter than an ELF64 header (64)");

    img_typical();
    im.buf[1] = 'X';
    REJECT("bad magic 7f 58 4c 46");
    img_typical();
    im.buf[4] = 1;
    REJECT("class 1 is not ELFCLASS64");
    img_typical();
    im.buf[5] = 2;
    REJECT("data encoding 2 is not little-endian");
    img_typical();
    im.buf[6] = 0;
    REJECT("version 0/1 is not 1");
    img_typical();
    put32(20, 2);
    REJECT("version 1/2 is not 1");
    img_typical();
    put16(16, 3);
    REJECT("type 3 is not ET_EXEC (2): position-independent");
    img_typical();
    put16(16, 1);
    REJECT("type 1 is not ET_EXEC (2)");
    img_typical();
    put16(18, 3);
    REJECT("machine 3 is not x86-64 (62)");
    img_typical();
    put16(56, 0);
    REJECT("no program headers (phnum 0)");
    img_typical();
    put16(54, 64);
    REJECT("program header size 64 is not 56");
}

static void test_reject_phdr_table(void)
{
    /* The table lies in the image but beyond the bytes read. */
    img_typical();
    im.len = 0x3000;
    put64(32, 0x2000);
    REJECT("program header table 0x2000+0x118 (5 entries) runs past the 0x1000 header bytes");

    img_typical();
    put64(32, UINT64_MAX - 8);
    REJECT("program header table 0xfffffffffffffff7+0x118");

    img_typical();
    put16(56, 0xffff);
    REJECT("(65535 entries) runs past");

    img_typical();
    im.len = 64 + 4 * PHDR_SIZE + 10; /* the fifth entry is cut short */
    REJECT("program header table 0x40+0x118 (5 entries) runs past the 0x12a header bytes");
}

/* ---- rejections: segments ---- */

static void test_reject_file_range(void)
{
    img_begin(0x401000, 0x3000);
    img_ph(PT_LOAD, PF_R, 0, 0x400000, 0x100, 0x100);
    img_ph(PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100);
    img_ph(PT_LOAD, PF_R | PF_W, 0x1000, 0x501000, 0x5000, 0x5000);
    REJECT("program header 2: file range 0x1000+0x5000 runs past the image end 0x3000");

    put64(ph_off(2) + PH_OFFSET, UINT64_MAX - 0xfff);
    put64(ph_off(2) + PH_VADDR, 0x501000);
    put64(ph_off(2) + PH_FILESZ, 0x2000);
    REJECT("program header 2: file range 0xfffffffffffff000+0x2000 runs past");

    put64(ph_off(2) + PH_OFFSET, 0x1000);
    put64(ph_off(2) + PH_FILESZ, 0x6000);
    REJECT("program header 2: filesz 0x6000 exceeds memsz 0x5000");
}

static void test_reject_addresses(void)
{
    img_begin(0x401000, 0x2000);
    img_ph(PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100);
    img_ph(PT_LOAD, PF_R | PF_W, 0, MICA_USER_END - 0x1000, 0, 0x1001);
    REJECT("program header 1: address range 0x7ffffffff000+0x1001 leaves the user half");

    put64(ph_off(1) + PH_VADDR, 0xffffffff80000000ull);
    put64(ph_off(1) + PH_MEMSZ, 0x10);
    REJECT("program header 1: address range 0xffffffff80000000+0x10 leaves the user half");

    put64(ph_off(1) + PH_VADDR, 0x1000);
    put64(ph_off(1) + PH_MEMSZ, UINT64_MAX);
    REJECT("program header 1: address range 0x1000+0xffffffffffffffff leaves");

    put64(ph_off(1) + PH_VADDR, 0xff0);
    put64(ph_off(1) + PH_MEMSZ, 0x20);
    REJECT("program header 1: offset 0x0 and vaddr 0xff0 differ modulo 4096");

    put64(ph_off(1) + PH_OFFSET, 0xff0);
    REJECT("program header 1: vaddr 0xff0 maps page 0");

    put64(ph_off(1) + PH_OFFSET, 0x123);
    put64(ph_off(1) + PH_VADDR, 0x600000);
    REJECT("program header 1: offset 0x123 and vaddr 0x600000 differ modulo 4096");
}

static void test_reject_wx_and_interp(void)
{
    img_typical();
    put32(ph_off(3) + PH_FLAGS, PF_R | PF_W | PF_X);
    REJECT("program header 3: flags 0x7 make it writable and executable");

    img_typical();
    put32(ph_off(1) + PH_FLAGS, PF_W | PF_X);
    REJECT("program header 1: flags 0x3 make it writable and executable");

    img_typical();
    put32(ph_off(4) + PH_TYPE, PT_INTERP);
    REJECT("program header 4: PT_INTERP: dynamically linked");
}

static void test_reject_overlap(void)
{
    /* Sharing a page is an overlap: pages are mapped whole, one protection. */
    img_typical();
    put64(ph_off(3) + PH_VADDR, 0x403f00);
    REJECT("program header 3: pages 0x403000-0x407000 overlap an earlier segment at "
           "0x403000-0x404000");

    img_typical();
    put64(ph_off(0) + PH_MEMSZ, 0x10000);
    put64(ph_off(0) + PH_FILESZ, 0x1000);
    REJECT("program header 1: pages 0x401000-0x403000 overlap an earlier segment at "
           "0x400000-0x410000");
}

static void test_reject_counts_and_entry(void)
{
    img_begin(0x10000, 4096);
    for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++)
        img_ph(PT_LOAD, PF_R | PF_X, 0, 0x10000 + i * 0x1000ull, 0x10, 0x10);
    REJECT("program header 16: more than 16 PT_LOAD segments");

    img_begin(0x400000, 0x1000);
    img_ph(PT_NOTE, PF_R, 0, 0, 0x10, 0x10);
    img_ph(PT_LOAD, PF_R, 0, 0, 0, 0);
    REJECT("no PT_LOAD segment with memsz > 0 among 2 program headers");

    img_typical();
    put64(24, 0x402234);
    REJECT("entry point 0x402234 lies in no PT_LOAD segment");
    img_typical();
    put64(24, 0x403000);
    REJECT("entry point 0x403000 lies in a segment that is not executable");
    img_typical();
    put64(24, 0);
    REJECT("entry point 0x0 lies in no PT_LOAD segment");
}

static void test_error_buffer(void)
{
    img_typical();
    im.buf[0] = 0;
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK_EQ(elf_parse(im.buf, 4096, im.len, &out, small, sizeof small), -MICA_ENOEXEC);
    CHECK_EQ(strlen(small), 7);
    CHECK(memcmp(small, "bad mag", 7) == 0);
    CHECK_EQ(elf_parse(im.buf, 4096, im.len, &out, NULL, 0), -MICA_ENOEXEC);

    /* A successful parse leaves an empty message. */
    img_typical();
    strcpy(err, "stale");
    CHECK_EQ(parse(), 0);
    CHECK_EQ(err[0], 0);

    /* Header bytes claimed beyond the image's end are never looked at. */
    CHECK_EQ(elf_parse(im.buf, 100, 99, &out, err, sizeof err), -MICA_ENOEXEC);
    CHECK(strstr(err, "runs past the 0x63 header bytes read") != NULL);
}

/* ---- randomised mutations checked against the rules ---- */

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Independent statement of what an accepted image guarantees. */
static void check_accepted(const uint8_t *hdr, uint64_t image_len)
{
    CHECK(out.nseg >= 1 && out.nseg <= ELF_MAX_SEGMENTS);
    CHECK(memcmp(hdr, "\x7f" "ELF\x02\x01\x01", 7) == 0);
    CHECK_EQ(out.entry, rd64(hdr + 24));
    bool entry_ok = false;
    for (unsigned i = 0; i < out.nseg; i++) {
        const struct elf_segment *s = &out.seg[i];
        CHECK(s->memsz > 0 && s->filesz <= s->memsz);
        CHECK(s->offset <= image_len && s->filesz <= image_len - s->offset);
        CHECK(s->vaddr >= PAGE_SIZE && s->vaddr < MICA_USER_END);
        CHECK(s->memsz <= MICA_USER_END - s->vaddr);
        CHECK((s->prot & (MICA_PROT_WRITE | MICA_PROT_EXEC)) !=
              (MICA_PROT_WRITE | MICA_PROT_EXEC));
        CHECK((s->prot & ~7u) == 0);
        CHECK((s->offset & 0xfff) == (s->vaddr & 0xfff));
        if ((s->prot & MICA_PROT_EXEC) && out.entry >= s->vaddr &&
            out.entry - s->vaddr < s->memsz)
            entry_ok = true;
        for (unsigned k = 0; k < i; k++) {
            const struct elf_segment *o = &out.seg[k];
            uint64_t a0 = s->vaddr & ~0xfffull, a1 = (s->vaddr + s->memsz + 0xfff) & ~0xfffull;
            uint64_t b0 = o->vaddr & ~0xfffull, b1 = (o->vaddr + o->memsz + 0xfff) & ~0xfffull;
            CHECK(a1 <= b0 || b1 <= a0);
        }
    }
    CHECK(entry_ok);
}

static const uint64_t interesting[] = {
    0, 1, 0xfff, 0x1000, 0x1001, 0x3000, 0x400000, 0x401000, 0x7fffffffe000ull,
    0x7ffffffff000ull, 0x800000000000ull, 0xffffffff80000000ull, UINT64_MAX,
    UINT64_MAX - 0xfff, 0x7fffffff,
};

static void mutate(void)
{
    unsigned kind = rng() % 4;
    if (kind == 0) { /* a random byte anywhere in the headers */
        im.buf[rng() % (EHDR_SIZE + im.nph * PHDR_SIZE)] = (uint8_t)rng();
    } else if (kind == 1) { /* a program header field set to an edge value */
        static const unsigned fields[] = {PH_OFFSET, PH_VADDR, PH_FILESZ, PH_MEMSZ};
        put64(ph_off(rng() % im.nph) + fields[rng() % 4],
              interesting[rng() % ARRAY_SIZE(interesting)] + (rng() % 3) - 1);
    } else if (kind == 2) { /* flags or type */
        uint64_t o = ph_off(rng() % im.nph);
        if (rng() & 1)
            put32(o + PH_FLAGS, rng() % 8);
        else
            put32(o + PH_TYPE, (uint32_t[]){0, 1, 2, 3, 4, PT_GNU_STACK}[rng() % 6]);
    } else { /* entry, phoff, phnum, or the image length */
        switch (rng() % 4) {
        case 0: put64(24, 0x400000 + rng() % 0x8000); break;
        case 1: put64(32, interesting[rng() % ARRAY_SIZE(interesting)]); break;
        case 2: put16(56, (uint16_t)(rng() % 8)); break;
        default: im.len = rng() % 0x8000; break;
        }
    }
}

static void test_random_mutations(void)
{
    unsigned accepted = 0, rejected = 0;
    for (unsigned round = 0; round < 60000; round++) {
        img_typical();
        unsigned n = 1 + rng() % 4;
        for (unsigned k = 0; k < n; k++)
            mutate();
        /* Exactly the header bytes the loader would read, so ASan sees overreads. */
        size_t hl = im.len < 4096 ? im.len : 4096;
        if (hl && (rng() & 3) == 0)
            hl = rng() % (hl + 1);
        uint8_t *copy = malloc(hl ? hl : 1);
        memcpy(copy, im.buf, hl);
        memset(err, 'x', sizeof err);
        int rc = elf_parse(copy, hl, im.len, &out, err, sizeof err);
        if (rc == 0) {
            accepted++;
            CHECK_EQ(err[0], 0);
            check_accepted(copy, im.len);
        } else {
            rejected++;
            CHECK_EQ(rc, -MICA_ENOEXEC);
            CHECK(err[0] != '\0' && strlen(err) < sizeof err);
        }
        free(copy);
        if (tap_failures)
            break;
    }
    printf("# %u accepted, %u rejected\n", accepted, rejected);
    CHECK(accepted > 1000 && rejected > 1000);
}

/* Bytes outside the headers (segment contents) never change the outcome. */
static void test_contents_ignored(void)
{
    for (unsigned round = 0; round < 200; round++) {
        img_typical();
        int rc0 = parse();
        struct elf_image ref = out;
        for (uint64_t i = EHDR_SIZE + im.nph * PHDR_SIZE; i < im.len; i++)
            im.buf[i] = (uint8_t)rng();
        CHECK_EQ(parse(), rc0);
        CHECK(memcmp(&ref, &out, sizeof out) == 0);
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_minimal),
        TAP(test_typical_layout),
        TAP(test_boundaries_accepted),
        TAP(test_reject_header),
        TAP(test_reject_phdr_table),
        TAP(test_reject_file_range),
        TAP(test_reject_addresses),
        TAP(test_reject_wx_and_interp),
        TAP(test_reject_overlap),
        TAP(test_reject_counts_and_entry),
        TAP(test_error_buffer),
        TAP(test_random_mutations),
        TAP(test_contents_ignored),
    };
    return tap_run(tests, (int)ARRAY_SIZE(tests));
}
