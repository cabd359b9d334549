HOST_TESTS += backtrace
HOST_SRCS_backtrace := tests/host/test_backtrace.c microkernel/lib/backtrace.c \
	microkernel/lib/ksyms.c $(BUILD)/host/ksyms_fixture.S
