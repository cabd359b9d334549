HOST_TESTS += memmap
HOST_SRCS_memmap := tests/host/test_memmap.c microkernel/mm/memmap.c
