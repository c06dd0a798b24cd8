# SPDX-License-Identifier: MIT
# cli: the vmclock command, its tests, and the bounded-time unit test.

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/%.o)
# Everything but main() and the real seam, for the C tests of the CLI.
CLI_CORE_OBJS := $(filter-out $(O)/cli/main.o,$(CLI_OBJS))
VMCLOCK_CLI := $(O)/cli/vmclock
MKPAGE := $(O)/tests/cli/mkpage
CLI_TEST_C := $(O)/tests/cli/test_cli
BOUNDED_TEST := $(O)/tests/unit/test_bounded

# lib.mk is included after this file: name the archive directly.
CLI_LIB := $(O)/lib/libvmclock.a

$(VMCLOCK_CLI): $(CLI_OBJS) $(CLI_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

$(MKPAGE): $(O)/tests/cli/mkpage.o $(CLI_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

$(CLI_TEST_C): $(O)/tests/cli/test_cli.o $(CLI_CORE_OBJS) \
		$(O)/tests/harness/test.o $(CLI_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

# Unit test of lib/bounded.c; the pattern rule in tests.mk links it.
BINS += $(BOUNDED_TEST)
CHECK_SUITES += $(BOUNDED_TEST)
BINS += $(VMCLOCK_CLI) $(MKPAGE)
ifneq ($(wildcard tests/cli/test_cli.c),)
BINS += $(CLI_TEST_C)
CHECK_SUITES += $(CLI_TEST_C)
endif
ifneq ($(wildcard tests/cli/cli-test.sh),)
CHECK_SUITES += tests/cli/cli-test.sh
endif

# vmclock respond against vmclockd's own host side of the handshake
# (daemon/qemu.c), through a file standing in for the guest's memory.
MBOX_HOST := $(O)/tests/cli/mbox-host
ifneq ($(wildcard daemon/qemu.c),)
$(MBOX_HOST): $(O)/tests/cli/mbox-host.o $(O)/daemon/qemu.o $(O)/daemon/qmp.o \
		$(CLI_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -ljson-c
BINS += $(MBOX_HOST)
CHECK_SUITES += tests/cli/respond-test.sh
endif

# The shell suites find the programs here.
export VMCLOCK_CLI_BIN := $(abspath $(VMCLOCK_CLI))
export VMCLOCK_MKPAGE_BIN := $(abspath $(MKPAGE))
export VMCLOCK_MBOXHOST_BIN := $(abspath $(MBOX_HOST))

.PHONY: check-cli
check-cli: $(VMCLOCK_CLI) $(MKPAGE) $(CLI_TEST_C) $(BOUNDED_TEST) $(MBOX_HOST)
	@tests/run-suites.sh $(BOUNDED_TEST) $(CLI_TEST_C) tests/cli/cli-test.sh \
		tests/cli/respond-test.sh
