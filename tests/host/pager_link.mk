HOST_TESTS += pager_link
HOST_SRCS_pager_link := tests/host/test_pager_link.c servers/init/pager_link.c
