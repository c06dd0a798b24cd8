# SPDX-License-Identifier: MIT
# daemon: vmclockd and vmclockctl, their unit and daemon tests, make demo.
#
#   make                 builds $(O)/daemon/vmclockd and vmclockctl
#   make check           runs the daemon unit tests and tests/daemon/*.sh
#   make demo            scripts/demo.sh (root: installs what it needs)
#
# lib.mk and tests.mk come later in the include order: the library and the
# harness are named by path here.

DAEMON_LIB := $(O)/lib/libvmclock.a
DAEMON_HARNESS := $(O)/tests/harness/test.o
DAEMON_CORE := log conf clock sched leapsec reference guest control status host \
	qmp qemu qemu-guest
DAEMON_CORE_OBJS := $(DAEMON_CORE:%=$(O)/daemon/%.o)
# An archive, so each unit test pulls in only the modules it uses.
DAEMON_CORE_LIB := $(O)/daemon/libvmclockd.a
VMCLOCKD := $(O)/daemon/vmclockd
VMCLOCKCTL := $(O)/daemon/vmclockctl

$(O)/daemon/%.o: CFLAGS += -DVMCLOCKD_VERSION=\"$(VERSION)\"
# vmclock_nsec_to_frac() trips a false -Wmaybe-uninitialized in gcc 12.
$(O)/daemon/reference.o $(O)/tests/unit/test_reference.o: CFLAGS += -Wno-maybe-uninitialized

$(DAEMON_CORE_LIB): $(DAEMON_CORE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(VMCLOCKD): $(O)/daemon/main.o $(DAEMON_CORE_LIB) $(DAEMON_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm -ljson-c

$(VMCLOCKCTL): $(O)/daemon/ctl.o $(O)/daemon/qemu-config.o $(O)/daemon/ssdt.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

# Unit tests of daemon modules link the daemon objects they test.
DAEMON_UNITS := $(patsubst tests/unit/test_%.c,%,$(wildcard \
	$(patsubst %,tests/unit/test_%.c,conf leapsec reference control guest host)))
DAEMON_UNIT_BINS := $(DAEMON_UNITS:%=$(O)/tests/unit/test_%)

$(DAEMON_UNIT_BINS): $(O)/tests/unit/test_%: $(O)/tests/unit/test_%.o \
		$(DAEMON_CORE_LIB) $(DAEMON_HARNESS) $(DAEMON_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm -lpthread -ljson-c

# Test tools for the daemon suites: page probes through libvmclock (and
# vmclockd's own guest mapping, to recognise a fit on a guest page).
DAEMON_PROBE := $(O)/tests/daemon/vmclockd-probe
$(DAEMON_PROBE): $(O)/tests/daemon/probe.o $(DAEMON_CORE_LIB) $(DAEMON_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm

DAEMON_SUITES := $(sort $(wildcard tests/daemon/t-*.sh))

BINS += $(VMCLOCKD) $(VMCLOCKCTL) $(DAEMON_UNIT_BINS) $(DAEMON_PROBE)
CHECK_SUITES += $(DAEMON_UNIT_BINS) $(DAEMON_SUITES)

# The scripts find the binaries through these.
export VMCLOCKD_BIN = $(abspath $(VMCLOCKD))
export VMCLOCKCTL_BIN = $(abspath $(VMCLOCKCTL))
export VMCLOCKD_PROBE = $(abspath $(DAEMON_PROBE))
export VMCLOCK_CLI_BIN = $(abspath $(O)/cli/vmclock)

check-daemon: $(VMCLOCKD) $(VMCLOCKCTL) $(DAEMON_UNIT_BINS) $(DAEMON_PROBE)
	@tests/run-suites.sh $(DAEMON_UNIT_BINS) $(DAEMON_SUITES)

demo: build-all
	@O=$(O) scripts/demo.sh

.PHONY: check-daemon demo
