FUZZERS += elf
FUZZ_SRCS_elf := tests/fuzz/fuzz_elf.c microkernel/lib/elf.c
