/* The ELF64 on-disk layouts (System V gABI) of the executables Mica runs:
 * one definition for the ELF parser (microkernel/lib/elf.c, shared by the
 * kernel and libsys's loader), its tests and the programs that build
 * images in memory (tests/user/tiny_elf.h). Both structures have no
 * padding. Freestanding. */
#pragma once

#include <stdint.h>

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header is 64 bytes");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header is 56 bytes");

#define EI_CLASS      4
#define EI_DATA       5
#define EI_VERSION    6
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define EV_CURRENT    1
#define ET_EXEC       2
#define EM_X86_64     62
#define PT_LOAD       1
#define PT_INTERP     3
#define PF_X          0x1u
#define PF_W          0x2u
#define PF_R          0x4u
