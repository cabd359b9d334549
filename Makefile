# Mica — build, run and test. `make help` lists the targets.
#
#   make            build build/mica.iso (kernel + GRUB, BIOS and UEFI)
#   make run        boot it in QEMU, serial console on this terminal
#   make test       host unit tests + fuzz smoke + in-guest tests in QEMU
#   make bench      in-guest benchmarks (guest instructions per operation)
#   make debug      QEMU paused with a gdb stub, gdb attached with symbols
#   make CC=clang   build the kernel with Clang instead of GCC

BUILD     ?= build
CROSS_COMPILE ?=
CC        ?= gcc
ifeq ($(origin CC),default)
CC        := $(CROSS_COMPILE)gcc
endif
LD        := $(CROSS_COMPILE)ld
NM        := $(CROSS_COMPILE)nm
OBJCOPY   := $(CROSS_COMPILE)objcopy
NASM      ?= nasm
HOSTCC    ?= gcc
FUZZCC    ?= clang
PYTHON    ?= python3

# ---------------------------------------------------------------- kernel --
KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=kernel -fno-stack-protector -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-optimize-sibling-calls -mno-mmx -mno-sse -mno-sse2 -mno-avx \
	-mno-80387 -mgeneral-regs-only -fno-strict-aliasing \
	-Imicrokernel -Ilibsys/include -MMD -MP
ifneq ($(findstring clang,$(CC)),)
KERNEL_CFLAGS += --target=x86_64-unknown-none-elf -Wno-unused-command-line-argument
endif
KERNEL_LDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack \
	-T microkernel/arch/x86_64/kernel.ld --no-warn-rwx-segments
NASMFLAGS := -f elf64 -g -F dwarf -w+all -w+error

KERNEL_C   := $(shell find microkernel -name '*.c' | sort)
KERNEL_ASM := $(shell find microkernel boot -name '*.asm' | sort)
KERNEL_OBJ := $(KERNEL_C:%.c=$(BUILD)/k/%.o) $(KERNEL_ASM:%.asm=$(BUILD)/k/%.o)

.PHONY: all kernel iso run test bench debug host-test fuzz-smoke guest-test clean help deps \
	host-test-bins fuzz-bins print-host-tests print-fuzzers
all: iso

deps:
	@tools/install-deps

# Sibling-call optimisation is off kernel-wide so that backtraces show every
# caller, but kept in the allocators, whose fast paths tail-call their slow
# paths (3 instructions per call otherwise).
$(BUILD)/k/microkernel/mm/pmm.o $(BUILD)/k/microkernel/mm/kheap.o \
$(BUILD)/k/microkernel/mm/slab.o: KERNEL_CFLAGS += -foptimize-sibling-calls

$(BUILD)/k/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.asm
	@mkdir -p $(@D)
	$(NASM) $(NASMFLAGS) $< -o $@

# Two-pass link: the second pass embeds a symbol table (for backtraces)
# generated from the first. The table sits after all code, so code
# addresses do not move between the passes.
$(BUILD)/mica.elf: $(KERNEL_OBJ) microkernel/arch/x86_64/kernel.ld tools/mksyms
	$(LD) $(KERNEL_LDFLAGS) -o $@.pass1 $(KERNEL_OBJ)
	$(NM) -n $@.pass1 | tools/mksyms > $(BUILD)/ksyms.S
	$(CC) $(KERNEL_CFLAGS) -c $(BUILD)/ksyms.S -o $(BUILD)/ksyms.o
	$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJ) $(BUILD)/ksyms.o
	@$(NM) -n $@ | grep -E ' [tT] ' > $(BUILD)/pass2.syms; \
	 $(NM) -n $@.pass1 | grep -E ' [tT] ' | cmp -s - $(BUILD)/pass2.syms || \
	 { echo "mica.elf: code moved between link passes" >&2; exit 1; }

kernel: $(BUILD)/mica.elf

$(BUILD)/mica.iso: $(BUILD)/mica.elf boot/grub.cfg
	@tools/install-deps
	@rm -rf $(BUILD)/isodir && mkdir -p $(BUILD)/isodir/boot/grub
	cp $(BUILD)/mica.elf $(BUILD)/isodir/boot/mica.elf
	cp boot/grub.cfg $(BUILD)/isodir/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/isodir >$(BUILD)/grub-mkrescue.log 2>&1 || \
	  { cat $(BUILD)/grub-mkrescue.log; exit 1; }

iso: $(BUILD)/mica.iso

run: deps iso
	tools/run-qemu $(RUNFLAGS) $(BUILD)/mica.iso

debug: deps iso
	tools/debug-qemu $(BUILD)/mica.iso

bench: deps iso
	tools/bench $(BUILD)/mica.iso

# ---------------------------------------------------------------- host tests --
# Each tests/host/*.mk adds a name to HOST_TESTS and sets HOST_SRCS_<name>
# (the test file and the kernel sources it exercises). Each tests/fuzz/*.mk
# adds to FUZZERS and sets FUZZ_SRCS_<name>; its seed corpus lives in
# tests/fuzz/corpus/<name>/.
HOST_TESTS :=
FUZZERS :=
-include $(wildcard tests/host/*.mk tests/fuzz/*.mk)

HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -DMICA_HOST \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-Imicrokernel -Ilibsys/include -Itests/host


.SECONDEXPANSION:
$(BUILD)/host/test_%: tests/host/harness.c $$(HOST_SRCS_$$*) $(wildcard microkernel/*/*.h tests/host/*.h)
	@mkdir -p $(@D)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ tests/host/harness.c microkernel/lib/format.c $(HOST_SRCS_$*)

$(BUILD)/fuzz/fuzz_%: tests/host/harness.c $$(FUZZ_SRCS_$$*) $(wildcard microkernel/*/*.h tests/host/*.h)
	@mkdir -p $(@D)
	$(FUZZCC) $(HOST_CFLAGS) -fsanitize=fuzzer -o $@ tests/host/harness.c microkernel/lib/format.c $(FUZZ_SRCS_$*)

host-test-bins: $(HOST_TESTS:%=$(BUILD)/host/test_%)
fuzz-bins: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
print-host-tests:
	@echo $(HOST_TESTS)
print-fuzzers:
	@echo $(FUZZERS)

host-test: deps
	tools/test-all --only host

fuzz-smoke: deps
	tools/test-all --only fuzz

guest-test: deps
	tools/test-all --only guest

test: deps
	tools/test-all

clean:
	rm -rf $(BUILD)

help:
	@sed -n '1,12p' Makefile

-include $(KERNEL_OBJ:.o=.d)
