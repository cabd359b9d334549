# The symbol table generator (tools/mksyms) and lib/ksyms.c's lookup,
# end to end: the fixture's nm output becomes the table the test links.
HOST_TESTS += ksyms
HOST_SRCS_ksyms := tests/host/test_ksyms.c microkernel/lib/ksyms.c \
	$(BUILD)/host/ksyms_fixture.S

$(BUILD)/host/ksyms_fixture.S: tests/host/ksyms_fixture.nm tools/mksyms
	@mkdir -p $(@D)
	$(PYTHON) tools/mksyms < $< > $@
