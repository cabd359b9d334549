HOST_TESTS += vmm
HOST_SRCS_vmm := tests/host/test_vmm.c tests/host/vmm_pmm_stub.c microkernel/mm/vmm.c \
	microkernel/mm/kernel_space.c
