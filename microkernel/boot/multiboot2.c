/* Multiboot2 information block parser. The block is untrusted input: every
 * read is preceded by a check that it lies inside [info, info + total_size),
 * and total_size itself is checked against what the caller may read.
 * Fields are loaded with memcpy so that a misaligned block cannot cause an
 * unaligned access. The first bad field ends the parse with a message that
 * names the tag, its offset and what is wrong. */
#include "boot/multiboot2.h"
#include "lib/format.h"

#include <stdarg.h>
#include <mica/errno.h>
#include "lib/string.h"

enum {
    TAG_END = 0,
    TAG_CMDLINE = 1,
    TAG_LOADER_NAME = 2,
    TAG_MODULE = 3,
    TAG_MEMINFO = 4,
    TAG_MMAP = 6,
    TAG_ACPI_OLD = 14,
    TAG_ACPI_NEW = 15,
    TAG_EFI32_ST = 11,
    TAG_EFI64_ST = 12,
    TAG_EFI_MMAP = 17,
};

#define INFO_HEADER_SIZE 8u
#define TAG_HEADER_SIZE  8u
#define MIN_INFO_SIZE    (INFO_HEADER_SIZE + TAG_HEADER_SIZE) /* header + end tag */
#define MMAP_HEADER_SIZE 16u /* tag header, entry_size, entry_version */
#define MMAP_ENTRY_MIN   24u
#define EFI_DESC_MIN     40u
#define RSDP_V1_SIZE     20u
#define RSDP_V2_SIZE     36u

struct parser {
    const uint8_t *base;
    uint32_t total;
    struct boot_info *out;
    char *err;
    size_t errlen;
    uint32_t efi_off;  /* offset of the first EFI memory map tag, 0 if none */
    bool have_mmap;    /* an e820 memory map tag was taken */
    bool have_rsdp_v2;
};

static const char *tag_name(uint32_t type)
{
    static const char *const names[] = {
        "end", "command line", "boot loader name", "module", "basic memory info",
        "BIOS boot device", "memory map", "VBE info", "framebuffer info",
        "ELF sections", "APM table", "EFI32 system table", "EFI64 system table",
        "SMBIOS tables", "ACPI old RSDP", "ACPI new RSDP", "network info",
        "EFI memory map", "EFI boot services not terminated", "EFI32 image handle",
        "EFI64 image handle", "image load base address",
    };
    return type < ARRAY_SIZE(names) ? names[type] : "unknown";
}

/* Report a problem with the block as a whole. Always returns -MICA_EINVAL. */
static __printf(2, 3) int block_error(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n = ksnprintf(p->err, p->errlen, "information block: ");

    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        kvsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -MICA_EINVAL;
}

/* Report a problem with the tag at `off`: "tag T (name) at offset 0xO ...". */
static __printf(3, 4) int tag_error(struct parser *p, uint32_t off, const char *fmt, ...)
{
    uint32_t type;
    va_list ap;

    __builtin_memcpy(&type, p->base + off, sizeof type);
    int n = ksnprintf(p->err, p->errlen, "tag %u (%s) at offset 0x%x ", type, tag_name(type),
                      off);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        kvsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -MICA_EINVAL;
}

/* ---- field access; callers have checked the bounds ---- */

static uint32_t rd32(const struct parser *p, uint32_t off)
{
    uint32_t v;
    __builtin_memcpy(&v, p->base + off, sizeof v);
    return v;
}

static uint64_t rd64(const struct parser *p, uint32_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, p->base + off, sizeof v);
    return v;
}

/* The NUL-terminated string filling the tag at `off` from byte `start` on. */
static int tag_string(struct parser *p, uint32_t off, uint32_t size, uint32_t start,
                      const char **s)
{
    if (size <= start)
        return tag_error(p, off, "has size %u, too small to hold its string", size);
    const char *str = (const char *)p->base + off + start;
    if (strnlen(str, size - start) == size - start)
        return tag_error(p, off, "has a string that is not NUL-terminated");
    *s = str;
    return 0;
}

static int parse_module(struct parser *p, uint32_t off, uint32_t size)
{
    const char *cmdline;

    if (size < 16)
        return tag_error(p, off, "has size %u (< 16)", size);
    uint32_t start = rd32(p, off + 8), end = rd32(p, off + 12);
    if (start > end)
        return tag_error(p, off, "has module start 0x%x above its end 0x%x", start, end);
    int rc = tag_string(p, off, size, 16, &cmdline);
    if (rc)
        return rc;
    struct boot_info *bi = p->out;
    if (bi->nmodules >= BOOT_MAX_MODULES)
        return tag_error(p, off, "is module %u, beyond the kernel's limit of %d "
                         "(BOOT_MAX_MODULES, boot/multiboot2.h)", BOOT_MAX_MODULES + 1,
                         BOOT_MAX_MODULES);
    bi->modules[bi->nmodules].start = start;
    bi->modules[bi->nmodules].end = end;
    bi->modules[bi->nmodules].cmdline = cmdline;
    bi->nmodules++;
    return 0;
}

/* Check the {entry_size, version} header shared by the e820 and EFI maps and
 * that the entries exactly fill the tag. Returns the entry size via *esz. */
static int check_map_header(struct parser *p, uint32_t off, uint32_t size,
                            uint32_t min_entry, uint32_t *esz)
{
    if (size < MMAP_HEADER_SIZE)
        return tag_error(p, off, "has size %u (< %u)", size, MMAP_HEADER_SIZE);
    *esz = rd32(p, off + 8);
    if (*esz < min_entry)
        return tag_error(p, off, "has entry size %u (< %u)", *esz, min_entry);
    if ((size - MMAP_HEADER_SIZE) % *esz != 0)
        return tag_error(p, off, "has %u bytes of entries, not a multiple of entry size %u",
                         size - MMAP_HEADER_SIZE, *esz);
    return 0;
}

static int parse_mmap(struct parser *p, uint32_t off, uint32_t size)
{
    uint32_t esz;
    int rc = check_map_header(p, off, size, MMAP_ENTRY_MIN, &esz);
    if (rc || p->have_mmap)
        return rc; /* the first map tag wins; later ones are only checked */
    p->have_mmap = true;
    for (uint32_t e = off + MMAP_HEADER_SIZE; e < off + size; e += esz)
        if (memmap_add(&p->out->memmap, rd64(p, e), rd64(p, e + 8), rd32(p, e + 16)) < 0)
            return tag_error(p, off, "has more than %d entries (MEMMAP_MAX, lib/memmap_table.h)",
                             MEMMAP_MAX);
    return 0;
}

static int parse_efi_mmap(struct parser *p, uint32_t off, uint32_t size)
{
    uint32_t esz;
    int rc = check_map_header(p, off, size, EFI_DESC_MIN, &esz);
    if (rc == 0 && p->efi_off == 0)
        p->efi_off = off; /* converted at the end, if no e820 map turns up */
    return rc;
}

static uint32_t efi_to_memmap_type(uint32_t efi_type)
{
    switch (efi_type) {
    case 1: case 2: /* EfiLoaderCode/Data: free once the kernel reserves itself */
    case 3: case 4: /* EfiBootServicesCode/Data: boot services have exited */
    case 7:         /* EfiConventionalMemory */
        return MEMMAP_USABLE;
    case 8: return MEMMAP_UNUSABLE;
    case 9: return MEMMAP_ACPI_DATA;
    case 10: return MEMMAP_ACPI_NVS;
    default: return MEMMAP_RESERVED;
    }
}

/* Convert the EFI memory map at p->efi_off (already validated), merging a
 * descriptor into the previous entry when it continues it with the same
 * type: firmware splits RAM into many descriptors of different EFI types. */
static int convert_efi_mmap(struct parser *p)
{
    uint32_t off = p->efi_off, size = rd32(p, off + 4), esz = rd32(p, off + 8);
    struct memmap *m = &p->out->memmap;

    for (uint32_t d = off + MMAP_HEADER_SIZE; d < off + size; d += esz) {
        uint32_t type = efi_to_memmap_type(rd32(p, d));
        uint64_t base = rd64(p, d + 8), pages = rd64(p, d + 24);
        if (pages == 0)
            continue;
        uint64_t len = pages > (UINT64_MAX >> PAGE_SHIFT) ? UINT64_MAX : pages << PAGE_SHIFT;
        struct memmap_entry *last = m->n ? &m->e[m->n - 1] : NULL;
        if (last && last->type == type && last->len <= UINT64_MAX - last->base &&
            last->base + last->len == base && len <= UINT64_MAX - last->len) {
            last->len += len;
            continue;
        }
        if (memmap_add(m, base, len, type) < 0)
            return tag_error(p, off, "has more than %d runs of one type (MEMMAP_MAX, "
                             "lib/memmap_table.h)", MEMMAP_MAX);
    }
    p->out->memmap_from_efi = true;
    return 0;
}

static int parse_rsdp(struct parser *p, uint32_t off, uint32_t size, uint32_t type)
{
    uint32_t need = type == TAG_ACPI_NEW ? RSDP_V2_SIZE : RSDP_V1_SIZE;

    if (size < TAG_HEADER_SIZE + need)
        return tag_error(p, off, "has size %u, too small for a %u-byte RSDP", size, need);
    bool v2 = type == TAG_ACPI_NEW;
    if (p->out->acpi_rsdp_ptr && (p->have_rsdp_v2 || !v2))
        return 0; /* keep the first copy, but let a v2 copy replace a v1 one */
    p->out->acpi_rsdp_ptr = p->base + off + TAG_HEADER_SIZE;
    p->out->acpi_rsdp_len = size - TAG_HEADER_SIZE;
    p->have_rsdp_v2 = v2;
    return 0;
}

static int parse_tag(struct parser *p, uint32_t off, uint32_t type, uint32_t size)
{
    struct boot_info *bi = p->out;

    switch (type) {
    case TAG_CMDLINE:
    case TAG_LOADER_NAME: {
        const char *s;
        int rc = tag_string(p, off, size, TAG_HEADER_SIZE, &s);
        const char **dst = type == TAG_CMDLINE ? &bi->cmdline : &bi->loader_name;
        if (rc == 0 && **dst == '\0')
            *dst = s; /* the first non-empty string wins */
        return rc;
    }
    case TAG_MODULE:
        return parse_module(p, off, size);
    case TAG_MEMINFO:
        if (size < 16)
            return tag_error(p, off, "has size %u (< 16)", size);
        bi->mem_lower_kib = rd32(p, off + 8);
        bi->mem_upper_kib = rd32(p, off + 12);
        return 0;
    case TAG_MMAP:
        return parse_mmap(p, off, size);
    case TAG_EFI_MMAP:
        return parse_efi_mmap(p, off, size);
    case TAG_ACPI_OLD:
    case TAG_ACPI_NEW:
        return parse_rsdp(p, off, size, type);
    case TAG_EFI32_ST:
    case TAG_EFI64_ST:
        bi->booted_by_efi = true; /* only the tag's presence matters */
        return 0;
    default:
        return 0; /* tags this kernel does not use */
    }
}

/* Check the block header; on success p->total is the block's size. */
static int check_header(struct parser *p, size_t avail)
{
    if (!p->base)
        return block_error(p, "no block (NULL pointer)");
    if (avail < INFO_HEADER_SIZE)
        return block_error(p, "only %zu bytes readable, too few for the header", avail);
    uint32_t total = rd32(p, 0);
    if (total < MIN_INFO_SIZE)
        return block_error(p, "total_size %u is below the minimum of %u", total,
                           MIN_INFO_SIZE);
    if (total > MULTIBOOT2_MAX_INFO_SIZE)
        return block_error(p, "total_size %u exceeds the limit of %u", total,
                           MULTIBOOT2_MAX_INFO_SIZE);
    if (total > avail)
        return block_error(p, "total_size %u exceeds the %zu bytes readable", total, avail);
    p->total = total;
    return 0;
}

int multiboot2_parse(const void *info, size_t avail, struct boot_info *out,
                     char *err, size_t errlen)
{
    struct parser p = {.base = info, .out = out, .err = err, .errlen = errlen};

    __builtin_memset(out, 0, sizeof *out);
    out->cmdline = "";
    out->loader_name = "";
    if (errlen)
        err[0] = '\0';
    int rc = check_header(&p, avail);
    if (rc)
        return rc;

    /* Tags start 8-aligned; the loop bound keeps every header inside. */
    uint32_t off = INFO_HEADER_SIZE;
    for (;;) {
        if (off > p.total || p.total - off < TAG_HEADER_SIZE)
            return block_error(&p, "no end tag before the end of the block at 0x%x",
                               p.total);
        uint32_t type = rd32(&p, off), size = rd32(&p, off + 4);
        if (size < TAG_HEADER_SIZE)
            return tag_error(&p, off, "has size %u (< 8)", size);
        if (size > p.total - off)
            return tag_error(&p, off, "runs past the end of the block (size %u, %u bytes left)",
                             size, p.total - off);
        if (type == TAG_END)
            break;
        rc = parse_tag(&p, off, type, size);
        if (rc)
            return rc;
        off += ALIGN_UP(size, 8u);
    }

    if (!p.have_mmap) {
        if (!p.efi_off)
            return block_error(&p, "no memory map tag (type 6 or 17)");
        return convert_efi_mmap(&p);
    }
    return 0;
}
