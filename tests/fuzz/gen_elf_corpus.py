#!/usr/bin/env python3
"""Write the seed corpus for the ELF64 parser fuzzer.

Each seed is a small x86-64 executable (or a deliberately damaged one)
shaped like what a static linker produces: an ELF header, the program
header table right after it, and page-aligned segment contents. Run from
anywhere:

    python3 tests/fuzz/gen_elf_corpus.py

The outputs in tests/fuzz/corpus/elf/ are committed; rerunning this script
reproduces them byte for byte.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "elf")

PT_LOAD, PT_INTERP, PT_NOTE, PT_TLS = 1, 3, 4, 7
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
ET_EXEC, ET_DYN = 2, 3
BASE = 0x400000

# exit(0) through the Mica ABI: mov edi, 0; mov eax, 2; syscall; jmp $
EXIT_CODE = bytes.fromhex("bf00000000" "b802000000" "0f05" "ebfe")


def ehdr(entry, phnum, phoff=64, etype=ET_EXEC, machine=62, cls=2, data=1, phentsize=56):
    ident = b"\x7fELF" + bytes([cls, data, 1, 0]) + b"\0" * 8
    return ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0,
                               64, phentsize, phnum, 64, 0, 0)


def phdr(ptype, flags, offset, vaddr, filesz, memsz, align=0x1000):
    return struct.pack("<IIQQQQQQ", ptype, flags, offset, vaddr, vaddr, filesz, memsz, align)


def image(entry, phdrs, contents, **kw):
    """Headers, then each (file offset, bytes) of contents placed at its offset."""
    head = ehdr(entry, len(phdrs), **kw) + b"".join(phdrs)
    end = max([len(head)] + [off + len(b) for off, b in contents])
    buf = bytearray(end)
    buf[: len(head)] = head
    for off, b in contents:
        buf[off: off + len(b)] = b
    return bytes(buf)


def static_program(**kw):
    """text, rodata, data + bss, and a GNU stack note, as ld lays them out."""
    text = EXIT_CODE + b"\xcc" * 0x30
    rodata = b"hello from mica\0"
    data = struct.pack("<QQ", 0x1122334455667788, BASE + 0x2000)
    return image(
        BASE + 0x1000,
        [
            phdr(PT_LOAD, PF_R, 0, BASE, 0x190, 0x190),
            phdr(PT_LOAD, PF_R | PF_X, 0x1000, BASE + 0x1000, len(text), len(text)),
            phdr(PT_LOAD, PF_R, 0x2000, BASE + 0x2000, len(rodata), len(rodata)),
            phdr(PT_LOAD, PF_R | PF_W, 0x2F00, BASE + 0x3F00, len(data), 0x2000),
            phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, align=16),
        ],
        [(0x1000, text), (0x2000, rodata), (0x2F00, data)],
        **kw,
    )


def minimal():
    return image(BASE + 0x78, [phdr(PT_LOAD, PF_R | PF_X, 0, BASE, 0x78 + len(EXIT_CODE),
                                    0x78 + len(EXIT_CODE))], [(0x78, EXIT_CODE)])


def sixteen_segments():
    phdrs = [phdr(PT_LOAD, PF_R | PF_X, 0x1000, BASE + i * 0x1000, 0x10, 0x10) for i in range(16)]
    return image(BASE, phdrs, [(0x1000, EXIT_CODE.ljust(0x10, b"\xcc"))])


def tls_and_notes():
    return image(
        BASE + 0x1000,
        [
            phdr(PT_NOTE, PF_R, 0x200, BASE + 0x200, 0x24, 0x24, align=4),
            phdr(PT_LOAD, PF_R, 0, BASE, 0x224, 0x224),
            phdr(PT_LOAD, PF_R | PF_X, 0x1000, BASE + 0x1000, len(EXIT_CODE), len(EXIT_CODE)),
            phdr(PT_LOAD, PF_R | PF_W, 0x2000, BASE + 0x2000, 8, 0x10),
            phdr(PT_TLS, PF_R, 0x2000, BASE + 0x2000, 8, 0x10, align=8),
            phdr(PT_LOAD, PF_R, 0, 0, 0, 0),
        ],
        [(0x200, b"\x04\0\0\0\x10\0\0\0\x05\0\0\0GNU\0" + b"\0" * 16),
         (0x1000, EXIT_CODE), (0x2000, b"\x2a" * 8)],
    )


def patched(data, off, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


PH = lambda i, field: 64 + 56 * i + field  # noqa: E731  program header field offset

SEEDS = {
    "minimal": minimal(),
    "static_program": static_program(),
    "sixteen_segments": sixteen_segments(),
    "tls_and_notes": tls_and_notes(),
    "high_user_end": image(
        0x7FFFFFFFF000,
        [phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x7FFFFFFFF000, len(EXIT_CODE), 0x1000)],
        [(0x1000, EXIT_CODE)],
    ),
    # Damaged or refused images.
    "pie": static_program(etype=ET_DYN),
    "big_endian": static_program(data=2),
    "elf32_class": static_program(cls=1),
    "aarch64": static_program(machine=183),
    "truncated_phdrs": static_program()[:200],
    "phoff_past_end": static_program(phoff=0x10000),
    "file_range_past_end": patched(patched(static_program(), PH(3, 40), "<Q", 0x8000),
                                   PH(3, 32), "<Q", 0x5000),
    "filesz_over_memsz": patched(static_program(), PH(1, 32), "<Q", 0x9000),
    "writable_text": patched(static_program(), PH(1, 4), "<I", PF_R | PF_W | PF_X),
    "overlap": patched(static_program(), PH(3, 16), "<Q", BASE + 0x2F00),
    "misaligned_offset": patched(static_program(), PH(2, 8), "<Q", 0x2010),
    "kernel_address": patched(static_program(), PH(3, 16), "<Q", 0xFFFFFFFF80003F00),
    "entry_in_data": patched(static_program(), 24, "<Q", BASE + 0x3F00),
    "interp": patched(static_program(), PH(4, 0), "<I", PT_INTERP),
    "page_zero": image(0x10, [phdr(PT_LOAD, PF_R | PF_X, 0, 0, 0x100, 0x100)], [(0x80, EXIT_CODE.ljust(0x80, b"\xcc"))]),
    "empty": b"",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%-22s %6d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
