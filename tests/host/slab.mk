HOST_TESTS += slab
HOST_SRCS_slab := tests/host/test_slab.c microkernel/mm/slab.c tests/host/pmm_stub.c
