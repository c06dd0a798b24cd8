# SPDX-License-Identifier: MIT
# kmod: the vmclock_guest kernel module and its end-to-end test.
#
#   make kmod KDIR=/path/to/kernel/build   build vmclock_guest.ko in $(O)/kmod
#   make check-kmod                        W=1 builds + TCG boots on Debian's
#                                          6.12 and 6.1 (root, apt, qemu)
#   make dkms-install [DESTDIR=]           source tree for DKMS
#
# The module is built from a copy laid out as the DKMS tree is (kmod/ plus
# include/vmclock/), so the source tree stays clean and both layouts are
# the same build.  Kbuild reads O= as its own output directory, so our
# command-line variables are kept out of its MAKEFLAGS.

KDIR ?= /lib/modules/$(shell uname -r)/build
KMOD_OUT ?= $(O)/kmod
KMOD_W ?=
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild
KMOD_HDRS := include/vmclock/vmclock-abi.h include/vmclock/vmclock-arith.h
DKMS_DIR = $(DESTDIR)/usr/src/vmclock-$(VERSION)

kmod:
	@rm -rf $(KMOD_OUT) && mkdir -p $(KMOD_OUT)/include/vmclock
	$(Q)cp $(KMOD_SRCS) $(KMOD_OUT)/
	$(Q)cp $(KMOD_HDRS) $(KMOD_OUT)/include/vmclock/
	$(Q)env -u MAKEFLAGS -u MFLAGS $(MAKE) -C $(KDIR) \
		M=$(abspath $(KMOD_OUT)) $(if $(KMOD_W),W=$(KMOD_W)) modules

dkms-install:
	install -d $(DKMS_DIR)/include/vmclock
	install -m 644 $(KMOD_SRCS) kmod/Makefile kmod/dkms.conf $(DKMS_DIR)/
	install -m 644 $(KMOD_HDRS) $(DKMS_DIR)/include/vmclock/
	sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' \
		$(DKMS_DIR)/dkms.conf

# e2e tools: the host servant uses libvmclock's writer; the guest tool uses
# its reader and is static so that it runs in a busybox initramfs.
E2E_HOSTD := $(O)/tests/e2e/e2e-hostd
E2E_GUEST := $(O)/tests/e2e/e2e-guest

# lib.mk comes later in the include order: name the archive directly.
$(E2E_HOSTD): $(O)/tests/e2e/host/e2e-hostd.o $(O)/lib/libvmclock.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

$(E2E_GUEST): tests/e2e/guest/e2e-guest.c tests/e2e/guest/e2e-adapter.c \
		tests/e2e/mailbox.h \
		$(O)/lib/libvmclock.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -static -o $@ $< $(O)/lib/libvmclock.a

check-kmod: $(E2E_HOSTD) $(E2E_GUEST)
	@O=$(O) E2E_HOSTD=$(E2E_HOSTD) E2E_GUEST=$(E2E_GUEST) \
		tests/e2e/kmod-e2e.sh

.PHONY: kmod dkms-install check-kmod
