#!/usr/bin/env python3
"""Write the seed corpus for the Multiboot2 parser fuzzer.

Each seed is a complete Multiboot2 information block (or a deliberately
damaged one) shaped like what GRUB hands the kernel. Run from anywhere:

    python3 tests/fuzz/gen_multiboot2_corpus.py

The outputs in tests/fuzz/corpus/multiboot2/ are committed; rerunning this
script reproduces them byte for byte.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "multiboot2")

USABLE, RESERVED, ACPI_DATA, ACPI_NVS, UNUSABLE = 1, 2, 3, 4, 5


def tag(ttype, payload=b""):
    """One tag, padded to the next 8-byte boundary."""
    body = struct.pack("<II", ttype, 8 + len(payload)) + payload
    return body + b"\0" * (-len(body) % 8)


def string_tag(ttype, s):
    return tag(ttype, s.encode() + b"\0")


def module(start, end, s):
    return tag(3, struct.pack("<II", start, end) + s.encode() + b"\0")


def meminfo(lower, upper):
    return tag(4, struct.pack("<II", lower, upper))


def mmap(entries, entry_size=24):
    body = b""
    for base, length, etype in entries:
        e = struct.pack("<QQII", base, length, etype, 0)
        body += e + b"\xee" * (entry_size - len(e))
    return tag(6, struct.pack("<II", entry_size, 0) + body)


def efi_mmap(descs, desc_size=48):
    body = b""
    for etype, phys, pages in descs:
        d = struct.pack("<IIQQQQ", etype, 0, phys, 0, pages, 0xF)
        body += d + b"\0" * (desc_size - len(d))
    return tag(17, struct.pack("<II", desc_size, 1) + body)


def rsdp_v1():
    return tag(14, b"RSD PTR " + bytes([0x4A]) + b"BOCHS " + bytes([0]) + struct.pack("<I", 0x7FE14D2))


def rsdp_v2():
    v1 = b"RSD PTR " + bytes([0x12]) + b"BOCHS " + bytes([2]) + struct.pack("<I", 0)
    return tag(15, v1 + struct.pack("<IQB", 36, 0x7FB7E0E8, 0x3C) + b"\0\0\0")


def block(*tags, end=True, total=None):
    body = b"".join(tags) + (tag(0) if end else b"")
    size = 8 + len(body) if total is None else total
    return struct.pack("<II", size, 0) + body


QEMU_128M = [
    (0x0, 0x9FC00, USABLE),
    (0x9FC00, 0x400, RESERVED),
    (0xF0000, 0x10000, RESERVED),
    (0x100000, 0x7EE0000, USABLE),
    (0x7FE0000, 0x20000, RESERVED),
    (0xFFFC0000, 0x40000, RESERVED),
]

QEMU_8G = [
    (0x0, 0x9FC00, USABLE),
    (0x9FC00, 0x400, RESERVED),
    (0xF0000, 0x10000, RESERVED),
    (0x100000, 0xBFEE0000, USABLE),
    (0xBFFE0000, 0x20000, RESERVED),
    (0xFEFFC000, 0x4000, RESERVED),
    (0xFFFC0000, 0x40000, RESERVED),
    (0x100000000, 0x140000000, USABLE),
]

# OVMF-like: RAM in many pieces of different EFI types.
OVMF_EFI = [
    (7, 0x0, 0xA0),
    (0, 0xA0000, 0x60),
    (7, 0x100000, 0x700),
    (10, 0x800000, 0x8),
    (7, 0x808000, 0x8),
    (4, 0x810000, 0xF0),
    (1, 0x900000, 0x700),
    (2, 0x1000000, 0x40),
    (3, 0x1040000, 0x100),
    (7, 0x1140000, 0x6A00),
    (9, 0x7B40000, 0x10),
    (10, 0x7B50000, 0x20),
    (5, 0x7F00000, 0x80),
    (6, 0x7F80000, 0x80),
    (11, 0xFFC00000, 0x400),
]


def grub_bios_128m():
    return block(
        string_tag(1, "console=ttyS0 ktest"),
        string_tag(2, "GRUB 2.06-13+deb12u1"),
        module(0x10B000, 0x10C2A4, "init"),
        module(0x10D000, 0x10D000, ""),
        meminfo(639, 130944),
        tag(5, struct.pack("<III", 0x80, 0xFFFFFFFF, 0xFFFFFFFF)),
        mmap(QEMU_128M),
        tag(8, struct.pack("<QIIIBBH", 0xFD000000, 4096, 1024, 768, 32, 1, 0) + b"\0" * 6),
        rsdp_v1(),
    )


SEEDS = {
    "grub_bios_128m": grub_bios_128m(),
    "uefi_efi_mmap": block(
        string_tag(1, ""),
        string_tag(2, "GRUB 2.06"),
        tag(12, struct.pack("<Q", 0x7FE8F018)),
        efi_mmap(OVMF_EFI),
        rsdp_v2(),
        tag(20, struct.pack("<Q", 0x7E9B6A98)),
    ),
    "bios_8g": block(string_tag(1, ""), meminfo(639, 3145600), mmap(QEMU_8G), rsdp_v1()),
    "overlapping": block(
        mmap([
            (0x0, 0x200000, USABLE),
            (0x100000, 0x400000, USABLE),
            (0x180000, 0x1000, RESERVED),
            (0x300000, 0x100000, ACPI_NVS),
            (0x0, 0x1000, ACPI_DATA),
            (0x3FF800, 0x2000, UNUSABLE),
        ])
    ),
    "zero_length": block(
        mmap([
            (0x100000, 0, RESERVED),
            (0x0, 0x800000, USABLE),
            (0x400000, 0, USABLE),
            (0x800000, 0, 7),
        ])
    ),
    "unsorted_high_wrap": block(
        mmap([
            (0x100000000, 0x40000000, USABLE),
            (0x100000, 0x1000000, USABLE),
            (0xFFFFFFFFFFF00000, 0x200000, USABLE),
            (0xFFFFFFFFFFFFF000, 0xFFFFFFFFFFFFFFFF, RESERVED),
            (0x0, 0x9F000, USABLE),
            (0x110000000, 0x10000, 99),
        ], entry_size=32)
    ),
    "both_maps": block(efi_mmap(OVMF_EFI, desc_size=40), mmap(QEMU_128M)),
    "many_modules": block(
        *[module(0x200000 + i * 0x2000, 0x200000 + i * 0x2000 + 0x1800, "m%d" % i) for i in range(36)],
        mmap(QEMU_128M),
    ),
    "truncated": grub_bios_128m()[:150],
    "missing_end_tag": block(string_tag(1, "x"), mmap(QEMU_128M), end=False),
    "unterminated_cmdline": block(tag(1, b"console=ttyS0"), mmap(QEMU_128M)),
    "no_mmap": block(string_tag(1, "quiet"), meminfo(639, 130944)),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%-22s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
