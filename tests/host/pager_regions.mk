HOST_TESTS += pager_regions
HOST_SRCS_pager_regions := tests/host/test_pager_regions.c servers/pager/regions.c \
	servers/pager/plan.c
