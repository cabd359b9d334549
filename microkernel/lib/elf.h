/* ELF64 executable parsing. The image is untrusted: every header and
 * program header is bounds-checked before use. Pure logic, tested on the
 * host and fuzzed; compiled into the kernel (init) and into libsys (every
 * other program), so both loaders apply the same rules. */
#pragma once

#include "lib/types.h"

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
    uint64_t vaddr;   /* page-aligned start is the caller's concern: see elf.c */
    uint64_t memsz, filesz, offset;
    unsigned prot;    /* MICA_PROT_* */
};

struct elf_image {
    uint64_t entry;
    unsigned nseg;
    struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/* Parse the ELF header and program headers found in hdr[0..hdr_len) (the
 * first bytes of an image of total size image_len). Checks: magic, class
 * ELF64, little endian, version, type EXEC, machine x86-64, phdr table
 * inside hdr, each PT_LOAD: filesz <= memsz, file range inside the image,
 * vaddr range in the user half without overflow, no overlap between
 * segments, not writable and executable at once, offset and vaddr
 * congruent modulo 4096; the entry point inside an executable segment.
 * Returns 0, or -MICA_ENOEXEC with a message in err[errlen]. */
int elf_parse(const void *hdr, size_t hdr_len, uint64_t image_len, struct elf_image *out,
              char *err, size_t errlen);

/* How many leading bytes of the image elf_parse needs, judged from its first
 * hdr_len bytes (at least the 64-byte ELF header, else 0 is returned): the
 * end of the program header table when the header describes one with
 * 56-byte entries, else 0 (the caller then hands elf_parse what it has, and
 * elf_parse names the problem). Saves reading a whole page of headers. */
uint64_t elf_headers_len(const void *hdr, size_t hdr_len);
