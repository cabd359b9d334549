HOST_TESTS += elf
HOST_SRCS_elf := tests/host/test_elf.c microkernel/lib/elf.c
