HOST_TESTS += pmm
HOST_SRCS_pmm := tests/host/test_pmm.c microkernel/mm/pmm.c
