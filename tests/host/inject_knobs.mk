HOST_TESTS += inject_knobs
HOST_SRCS_inject_knobs := tests/host/test_inject_knobs.c microkernel/inject/knobs.c
