FUZZERS += pager_regions
FUZZ_SRCS_pager_regions := tests/fuzz/fuzz_pager_regions.c servers/pager/regions.c \
	servers/pager/plan.c
