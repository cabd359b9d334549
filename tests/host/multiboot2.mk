HOST_TESTS += multiboot2
HOST_SRCS_multiboot2 := tests/host/test_multiboot2.c microkernel/boot/multiboot2.c microkernel/mm/memmap.c
