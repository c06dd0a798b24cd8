# SPDX-License-Identifier: MIT
# e2e: vmclockd's QEMU adapter pieces (QMP client, SSDT generator), their
# unit tests, and the end-to-end test with real QEMU and Debian kernels.
#
#   make check-e2e     kernels, module, initramfs, TCG boots; vmclockd's
#                      QEMU adapter through a stop/cont, a live migration
#                      and two restores (root, apt, ~6 min); docs/e2e.md
#
# Part of make check: the unit tests of daemon/qmp.c (a scripted server
# and a real QEMU), ssdt.c (iasl), qemu.c and qemu-config.c, and
# tests/daemon/qemu/t-qemu-adapter.sh (vmclockd's adapter, real QEMUs that
# run no guest).

QEMU_OBJS := $(O)/daemon/qmp.o $(O)/daemon/ssdt.o $(O)/daemon/qemu.o
JSONC_LIBS := -ljson-c
TEST_QMP := $(O)/tests/unit/test_qmp
TEST_SSDT := $(O)/tests/unit/test_ssdt
TEST_QEMU := $(O)/tests/unit/test_qemu

BUILD_PKGS += libjson-c-dev
CHECK_PKGS += acpica-tools qemu-system-x86

$(TEST_QMP): $(O)/tests/unit/test_qmp.o $(O)/daemon/qmp.o \
		$(O)/tests/harness/test.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(JSONC_LIBS) -lpthread

$(TEST_SSDT): $(O)/tests/unit/test_ssdt.o $(O)/daemon/ssdt.o \
		$(O)/tests/harness/test.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

# lib.mk comes later in the include order: name the archive directly.
$(TEST_QEMU): $(O)/tests/unit/test_qemu.o $(QEMU_OBJS) $(O)/daemon/qemu-config.o \
		$(O)/tests/harness/test.o $(O)/lib/libvmclock.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(JSONC_LIBS) -lpthread

QEMU_UNIT := $(TEST_QMP) $(TEST_SSDT) $(TEST_QEMU)
# vmclockd's adapter against QEMUs that run no guest (seconds).
QEMU_ADAPTER_SUITE := tests/daemon/qemu/t-qemu-adapter.sh
BINS += $(QEMU_UNIT)
CHECK_SUITES += $(QEMU_UNIT) $(QEMU_ADAPTER_SUITE)

.PHONY: check-qemu-unit
check-qemu-unit: $(QEMU_UNIT) $(VMCLOCKD) $(VMCLOCKCTL)
	@tests/run-suites.sh $(QEMU_UNIT) $(QEMU_ADAPTER_SUITE)

# The end-to-end test's host tools and the static CLI for the initramfs.
E2E_VMM := $(O)/tests/e2e/e2e-vmm
E2E_VMCLOCK := $(O)/tests/e2e/vmclock

$(E2E_VMM): $(O)/tests/e2e/host/e2e-vmm.o $(QEMU_OBJS) $(O)/lib/libvmclock.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(JSONC_LIBS)

# cli.mk names the CLI's objects; a busybox initramfs has no libc.
$(E2E_VMCLOCK): $(CLI_OBJS) $(O)/lib/libvmclock.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(ALL_CFLAGS) -static -o $@ $^

# kmod.mk, which defines the other two tools, comes after this file.
E2E_TOOLS := $(O)/tests/e2e/e2e-hostd $(O)/tests/e2e/e2e-guest $(E2E_VMM) \
	$(E2E_VMCLOCK) $(VMCLOCKD) $(VMCLOCKCTL)

check-e2e: $(E2E_TOOLS)
	@O=$(O) VMCLOCKD=$(VMCLOCKD) VMCLOCKCTL=$(VMCLOCKCTL) tests/e2e/e2e.sh

.PHONY: check-e2e
