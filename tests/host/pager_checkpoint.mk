HOST_TESTS += pager_checkpoint
HOST_SRCS_pager_checkpoint := tests/host/test_pager_checkpoint.c servers/pager/ckpt_format.c \
	servers/pager/regions.c
