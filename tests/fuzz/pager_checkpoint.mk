FUZZERS += pager_checkpoint
FUZZ_SRCS_pager_checkpoint := tests/fuzz/fuzz_pager_checkpoint.c servers/pager/ckpt_format.c
