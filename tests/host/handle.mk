HOST_TESTS += handle
HOST_SRCS_handle := tests/host/test_handle.c microkernel/object/handle.c
