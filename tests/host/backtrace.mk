HOST_TESTS += backtrace
HOST_SRCS_backtrace := tests/host/test_backtrace.c microkernel/kernel/backtrace.c \
	microkernel/kernel/ksyms.c $(BUILD)/host/ksyms_fixture.S
