HOST_TESTS += format
HOST_SRCS_format := tests/host/test_format.c
