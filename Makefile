# Mica — build, run and test. `make help` lists the targets.
#
#   make            build build/mica.iso (kernel + GRUB, BIOS and UEFI)
#   make run        boot it in QEMU, serial console on this terminal (quit:
#                   Ctrl-A then X); options for tools/run-qemu go in RUNFLAGS:
#                   make run RUNFLAGS='--timeout 30 --mem 1G'
#   make test       host unit tests + fuzz smoke + in-guest tests in QEMU
#   make bench      in-guest benchmarks (guest instructions per operation)
#   make inject     the default fault-injection campaign (tools/inject,
#                   docs/fault-injection.md); INJECT_CAMPAIGN=experiments/X.toml
#   make test-slurm a campaign as a Slurm job array on a one-node cluster
#   make debug      QEMU paused with a gdb stub, gdb attached with symbols;
#                   make debug BREAK=kv:on_put stops in that server only
#   make user       build libsys and the user programs only (build/user/)
#   make CC=clang   build the kernel and user programs with Clang instead of GCC

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
NASMFLAGS := -f elf64 -g -F dwarf -w+all -w+error -I microkernel/arch/x86_64/ -I $(BUILD)/k/gen/

# asm_offsets.c is compiled to assembly only: its marked lines become the
# NASM include $(ASM_OFFSETS), one definition in C of every constant the
# stubs share with C.
ASM_OFFSETS_C := microkernel/arch/x86_64/asm_offsets.c
ASM_OFFSETS   := $(BUILD)/k/gen/asm_offsets.inc
KERNEL_C   := $(filter-out $(ASM_OFFSETS_C),$(shell find microkernel -name '*.c' | sort))
KERNEL_ASM := $(shell find microkernel boot -name '*.asm' | sort)
KERNEL_ASM_OBJ := $(KERNEL_ASM:%.asm=$(BUILD)/k/%.o)
KERNEL_OBJ := $(KERNEL_C:%.c=$(BUILD)/k/%.o) $(KERNEL_ASM_OBJ)

.PHONY: all kernel user iso module-limit-check run test test-slurm inject bench debug host-test fuzz-smoke guest-test clean help deps \
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

$(ASM_OFFSETS): $(ASM_OFFSETS_C)
	@mkdir -p $(@D)
	$(CC) $(KERNEL_CFLAGS) -MT $@ -MF $(BUILD)/k/gen/asm_offsets.d -S $< -o $(@:.inc=.s)
	{ echo "; Generated from $< by the Makefile: do not edit."; \
	  sed -n 's/^[[:space:]]*#ASMDEF \(.*\) \$$\{0,1\}\(-\{0,1\}[0-9][0-9]*\)$$/\1 \2/p' $(@:.inc=.s); } > $@.tmp
	mv $@.tmp $@
-include $(BUILD)/k/gen/asm_offsets.d

$(KERNEL_ASM_OBJ): $(ASM_OFFSETS)

# nasm -MD leaves out %include files (2.16), so -M lists them in a pass of its own.
$(BUILD)/k/%.o: %.asm
	@mkdir -p $(@D)
	$(NASM) $(NASMFLAGS) -M -MT $@ -MP $< > $(@:.o=.d)
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

# ------------------------------------------------------------ user space --
# Ring-3 programs: static non-PIE executables at 0x400000 (libsys/user.ld),
# each linked with libsys (build/user/libsys.a). Every directory under
# servers/ is one program (all its .c files); every tests/user/NAME.c is a
# program of its own. Each lands in the image as /boot/NAME.elf, a GRUB
# module named NAME; boot/boot.cfg (module "bootcfg") tells init what to run.
# User code is built without SSE/x87 like the kernel: the kernel switches
# general registers only.
USER_BUILD  := $(BUILD)/user
AR          := $(CROSS_COMPILE)ar
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-mno-mmx -mno-sse -mno-sse2 -mno-avx -mno-80387 -mgeneral-regs-only -fno-strict-aliasing \
	-Ilibsys/include -MMD -MP
ifneq ($(findstring clang,$(CC)),)
USER_CFLAGS += --target=x86_64-unknown-none-elf -Wno-unused-command-line-argument
endif
USER_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T libsys/user.ld

# libsys reuses the kernel's formatter, string functions and ELF parser (compiled, not copied).
LIBSYS_C   := $(sort $(wildcard libsys/src/*.c)) microkernel/lib/format.c microkernel/lib/string.c \
	microkernel/lib/elf.c
LIBSYS_OBJ := $(LIBSYS_C:%.c=$(USER_BUILD)/%.o)
LIBSYS_A   := $(USER_BUILD)/libsys.a
$(LIBSYS_OBJ): USER_CFLAGS += -Imicrokernel

USER_SERVERS := $(sort $(patsubst servers/%/,%,$(dir $(wildcard servers/*/*.c))))
USER_TESTS   := $(sort $(basename $(notdir $(wildcard tests/user/*.c))))
USER_PROGS   := $(USER_SERVERS) $(USER_TESTS)
USER_ELFS    := $(USER_PROGS:%=$(USER_BUILD)/%.elf)
# GRUB module lines, ';'-separated, inserted after the kernel's line.
USER_GRUB_MODULES := $(foreach p,$(USER_PROGS),module2 /boot/$(p).elf $(p);)module2 /boot/boot.cfg bootcfg
# The kernel refuses to boot with more modules than BOOT_MAX_MODULES
# (microkernel/boot/multiboot2.h); an image that would have more is not
# built. (The limit can be overridden on the command line to test this.)
BOOT_MODULES      := $(words $(USER_PROGS) bootcfg)
BOOT_MAX_MODULES  ?= $(shell sed -n 's/^\#define BOOT_MAX_MODULES \([0-9]*\).*/\1/p' \
	microkernel/boot/multiboot2.h)

module-limit-check:
	@if [ -z "$(BOOT_MAX_MODULES)" ]; then \
	  echo "error: BOOT_MAX_MODULES not found in microkernel/boot/multiboot2.h" >&2; exit 1; fi
	@if [ $(BOOT_MODULES) -gt $(BOOT_MAX_MODULES) ]; then \
	  echo "error: the image would hold $(BOOT_MODULES) boot modules ($(words $(USER_PROGS)) programs and bootcfg), more than the kernel accepts (BOOT_MAX_MODULES = $(BOOT_MAX_MODULES), microkernel/boot/multiboot2.h); raise that limit" >&2; \
	  exit 1; fi

$(USER_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(LIBSYS_A): $(LIBSYS_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

define user_program
$(USER_BUILD)/$(1).elf: $(2:%.c=$(USER_BUILD)/%.o) $(LIBSYS_A) libsys/user.ld
	$$(LD) $$(USER_LDFLAGS) -o $$@ $(2:%.c=$(USER_BUILD)/%.o) $(LIBSYS_A)
USER_OBJ += $(2:%.c=$(USER_BUILD)/%.o)
endef
USER_OBJ :=
$(foreach s,$(USER_SERVERS),$(eval $(call user_program,$(s),$(sort $(wildcard servers/$(s)/*.c)))))
$(foreach t,$(USER_TESTS),$(eval $(call user_program,$(t),tests/user/$(t).c)))

user: $(USER_ELFS)

-include $(LIBSYS_OBJ:.o=.d) $(USER_OBJ:.o=.d)
# ----------------------------------------------------- end of user space --

$(BUILD)/mica.iso: $(BUILD)/mica.elf boot/grub.cfg boot/boot.cfg $(USER_ELFS) | module-limit-check
	@tools/install-deps
	@rm -rf $(BUILD)/isodir && mkdir -p $(BUILD)/isodir/boot/grub
	cp $(BUILD)/mica.elf $(BUILD)/isodir/boot/mica.elf
	@# The kernel copies every module into init before init's first
	@# instruction; debug information is for the host's tools (they read
	@# $(USER_BUILD)/NAME.elf), so the image's copies go without it.
	for f in $(USER_ELFS); do \
	  $(OBJCOPY) --strip-debug $$f $(BUILD)/isodir/boot/$${f##*/} || exit 1; done
	cp boot/boot.cfg $(BUILD)/isodir/boot/boot.cfg
	awk -v mods='$(USER_GRUB_MODULES)' '{ print } \
	  /^[ \t]*multiboot2[ \t]+\/boot\/mica\.elf/ { \
	    ind = $$0; sub(/[^ \t].*/, "", ind); n = split(mods, m, ";"); \
	    for (i = 1; i <= n; i++) { sub(/^ +/, "", m[i]); if (m[i] != "") print ind m[i] } }' \
	  boot/grub.cfg > $(BUILD)/isodir/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/isodir >$(BUILD)/grub-mkrescue.log 2>&1 || \
	  { cat $(BUILD)/grub-mkrescue.log; exit 1; }

iso: $(BUILD)/mica.iso

run: deps iso
	tools/run-qemu $(RUNFLAGS) $(BUILD)/mica.iso

debug: deps iso
	tools/debug-qemu $(if $(BREAK),--break $(BREAK)) $(BUILD)/mica.iso

bench: deps iso
	@tools/install-deps bench
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


# Each binary is compiled from several sources in one command, so its
# header dependencies are listed by a -MM pass into $(BUILD)/deps/NAME.d
# (with -MP, a deleted header does not break the build; the empty rules
# appended for the sources do the same for a moved or deleted source file),
# included below:
# touching any header rebuilds exactly the binaries that include it.
DEPS := $(BUILD)/deps
.SECONDEXPANSION:
$(BUILD)/host/test_%: tests/host/harness.c $$(HOST_SRCS_$$*)
	@mkdir -p $(@D) $(DEPS)
	$(HOSTCC) $(HOST_CFLAGS) -MM -MP -MT $@ tests/host/harness.c microkernel/lib/format.c \
	  $(HOST_SRCS_$*) > $(DEPS)/test_$*.d
	@printf '%s:\n' $(filter %.c,$(HOST_SRCS_$*)) >> $(DEPS)/test_$*.d
	$(HOSTCC) $(HOST_CFLAGS) -o $@ tests/host/harness.c microkernel/lib/format.c $(HOST_SRCS_$*)

$(BUILD)/fuzz/fuzz_%: tests/host/harness.c $$(FUZZ_SRCS_$$*)
	@mkdir -p $(@D) $(DEPS)
	$(FUZZCC) $(HOST_CFLAGS) -MM -MP -MT $@ tests/host/harness.c microkernel/lib/format.c \
	  $(FUZZ_SRCS_$*) > $(DEPS)/fuzz_$*.d
	@printf '%s:\n' $(filter %.c,$(FUZZ_SRCS_$*)) >> $(DEPS)/fuzz_$*.d
	$(FUZZCC) $(HOST_CFLAGS) -fsanitize=fuzzer -o $@ tests/host/harness.c microkernel/lib/format.c $(FUZZ_SRCS_$*)

-include $(wildcard $(DEPS)/*.d)

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
	@tools/install-deps inject
	tools/test-all

# A campaign as a Slurm job array on a one-node cluster the test starts and
# stops (about a minute; not part of make test).
test-slurm: deps iso
	@tools/install-deps slurm
	tools/test-slurm

# The default fault-injection campaign: every point once
# (build/inject/every-point/: runs.csv, summary.md, outcomes.svg).
INJECT_CAMPAIGN ?= experiments/every-point.toml
inject: deps iso
	@tools/install-deps inject
	tools/inject run $(INJECT_CAMPAIGN)

clean:
	rm -rf $(BUILD)

help:
	@sed -n '1,/^$$/p' Makefile

-include $(KERNEL_OBJ:.o=.d)
