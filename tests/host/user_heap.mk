HOST_TESTS += user_heap
HOST_SRCS_user_heap := tests/host/test_user_heap.c libsys/src/heap.c
