FUZZERS += multiboot2
FUZZ_SRCS_multiboot2 := tests/fuzz/fuzz_multiboot2.c microkernel/boot/multiboot2.c microkernel/mm/memmap.c
