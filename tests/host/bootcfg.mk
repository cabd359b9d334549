HOST_TESTS += bootcfg
HOST_SRCS_bootcfg := tests/host/test_bootcfg.c servers/init/bootcfg.c
