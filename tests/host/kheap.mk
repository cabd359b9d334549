HOST_TESTS += kheap
HOST_SRCS_kheap := tests/host/test_kheap.c microkernel/mm/kheap.c tests/host/pmm_stub.c
