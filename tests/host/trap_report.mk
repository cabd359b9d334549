HOST_TESTS += trap_report
HOST_SRCS_trap_report := tests/host/test_trap_report.c microkernel/arch/x86_64/panic_report.c \
	microkernel/lib/ksyms.c $(BUILD)/host/ksyms_fixture.S
