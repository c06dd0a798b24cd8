# SPDX-License-Identifier: MIT
# install: vmclock as a system package: shared and static libvmclock,
# headers, pkg-config, programs, man pages, systemd units, udev rules, the
# hook dispatcher and the examples.  See docs/install.md.
#
#   make install   [DESTDIR=] [PREFIX=/usr/local] [LIBDIR=...] ...
#   make uninstall (the same variables)
#   make check-install   tests/install/install.sh alone (part of make check)
#   make check-dkms      DKMS build of vmclock_guest against Debian's 6.1
#                        headers, and the exclusion for in-tree kernels
#
# Every directory can be set on the command line; PREFIX=/usr gives
# SYSCONFDIR=/etc, as Debian packages want.  Programs are built first and
# installed when the tree has them (cli/, daemon/).

BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/vmclock
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

# The shared library's version follows its ABI, not the release.
SO_MAJOR := 0
SO_VERSION := 0.1.0
SOLIB_SONAME := libvmclock.so.$(SO_MAJOR)
SOLIB := $(O)/lib/libvmclock.so.$(SO_VERSION)
SOLIB_MAP := lib/libvmclock.map

# lib.mk is included after this file, so LIB_OBJS is not defined yet when
# this rule is read: the same list, from the same wildcard (lib.mk's
# -fPIC -fvisibility=hidden apply to these objects).  tests/install checks
# that the .so exports exactly the archive's public symbols.
SOLIB_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard lib/*.c)))
# -z defs: every symbol resolved (a sanitizer runtime is not, so not there).
SOLIB_LDFLAGS := -shared -Wl,-soname,$(SOLIB_SONAME) \
	-Wl,--version-script=$(SOLIB_MAP) $(if $(SAN),,-Wl,-z,defs)

$(SOLIB): $(SOLIB_OBJS) $(SOLIB_MAP)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(SOLIB_LDFLAGS) -o $@ $(SOLIB_OBJS) $(LDFLAGS)
	$(Q)ln -sf $(notdir $@) $(O)/lib/$(SOLIB_SONAME)
	$(Q)ln -sf $(SOLIB_SONAME) $(O)/lib/libvmclock.so

BINS += $(SOLIB)

# Installed paths in the shipped files (units, the dispatcher, the hooks)
# are written as Debian has them; install rewrites them to these dirs.
INSTALL_SUBST := sed \
	-e 's|/usr/bin/vmclock\b|$(BINDIR)/vmclock|g' \
	-e 's|/usr/sbin/vmclock|$(SBINDIR)/vmclock|g' \
	-e 's|/usr/libexec/vmclock/|$(LIBEXECDIR)/vmclock/|g' \
	-e 's|/etc/vmclock\b|$(SYSCONFDIR)/vmclock|g'
# ${exec_prefix}/lib rather than /usr/lib, so that the file can be moved.
PC_LIBDIR = $(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

INSTALL_HEADERS := $(sort $(wildcard include/vmclock/*.h))
INSTALL_UNITS = $(sort $(wildcard systemd/*.service systemd/*.socket \
	systemd/*.timer systemd/*.path))
INSTALL_MANS = $(sort $(wildcard docs/man/*.[1-8]))
INSTALL_EXAMPLES := $(sort $(wildcard examples/*.c examples/*.conf \
	examples/*.md examples/*.sh examples/Makefile examples/hooks/*))
# Programs: those the build has (BINS is complete when recipes run).
INSTALL_BIN_PROGS = $(filter $(O)/cli/vmclock,$(BINS))
INSTALL_SBIN_PROGS = $(filter $(O)/daemon/vmclockd $(O)/daemon/vmclockctl,$(BINS))
HOOK_EVENTS := restore disrupt
D := $(DESTDIR)

install: build-all
	install -d $(D)$(LIBDIR) $(D)$(PKGCONFIGDIR) $(D)$(INCLUDEDIR)/vmclock
	install -m 644 $(O)/lib/libvmclock.a $(SOLIB) $(D)$(LIBDIR)/
	ln -sf $(notdir $(SOLIB)) $(D)$(LIBDIR)/$(SOLIB_SONAME)
	ln -sf $(SOLIB_SONAME) $(D)$(LIBDIR)/libvmclock.so
	install -m 644 $(INSTALL_HEADERS) $(D)$(INCLUDEDIR)/vmclock/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		vmclock.pc.in >$(D)$(PKGCONFIGDIR)/vmclock.pc
	$(if $(INSTALL_BIN_PROGS),install -d $(D)$(BINDIR) && \
		install -m 755 $(INSTALL_BIN_PROGS) $(D)$(BINDIR)/)
	$(if $(INSTALL_SBIN_PROGS),install -d $(D)$(SBINDIR) && \
		install -m 755 $(INSTALL_SBIN_PROGS) $(D)$(SBINDIR)/)
	install -d $(D)$(LIBEXECDIR)/vmclock
	$(INSTALL_SUBST) scripts/vmclock-run-hooks \
		>$(D)$(LIBEXECDIR)/vmclock/vmclock-run-hooks
	chmod 755 $(D)$(LIBEXECDIR)/vmclock/vmclock-run-hooks
	for e in $(HOOK_EVENTS); do install -d $(D)$(SYSCONFDIR)/vmclock/$$e.d; done
	for f in $(INSTALL_MANS); do s=$${f##*.}; install -d $(D)$(MANDIR)/man$$s && \
		install -m 644 $$f $(D)$(MANDIR)/man$$s/ || exit 1; done
	install -d $(D)$(UNITDIR) $(D)$(UDEVRULESDIR) $(D)$(SYSUSERSDIR)
	for f in $(INSTALL_UNITS); do $(INSTALL_SUBST) $$f \
		>$(D)$(UNITDIR)/$${f##*/} || exit 1; done
	install -m 644 udev/60-vmclock.rules $(D)$(UDEVRULESDIR)/
	install -m 644 udev/vmclock.sysusers $(D)$(SYSUSERSDIR)/vmclock.conf
	install -d $(D)$(DOCDIR)/examples/hooks
	for f in $(INSTALL_EXAMPLES); do $(INSTALL_SUBST) $$f \
		>$(D)$(DOCDIR)/$$f && chmod --reference=$$f $(D)$(DOCDIR)/$$f \
		|| exit 1; done
ifeq ($(DESTDIR),)
	@# What a package's postinst does; quiet where there is no such system.
	-ldconfig 2>/dev/null
	-systemd-sysusers $(SYSUSERSDIR)/vmclock.conf 2>/dev/null
	-[ ! -d /run/systemd/system ] || systemctl daemon-reload
	-[ ! -S /run/udev/control ] || udevadm control --reload
endif

uninstall:
	rm -f $(D)$(LIBDIR)/libvmclock.a $(D)$(LIBDIR)/libvmclock.so* \
		$(D)$(PKGCONFIGDIR)/vmclock.pc
	rm -f $(INSTALL_HEADERS:include/%=$(D)$(INCLUDEDIR)/%)
	-rmdir $(D)$(INCLUDEDIR)/vmclock
	rm -f $(D)$(BINDIR)/vmclock $(D)$(SBINDIR)/vmclockd \
		$(D)$(SBINDIR)/vmclockctl
	rm -f $(D)$(LIBEXECDIR)/vmclock/vmclock-run-hooks
	-rmdir $(D)$(LIBEXECDIR)/vmclock
	for f in $(INSTALL_MANS); do s=$${f##*.}; \
		rm -f $(D)$(MANDIR)/man$$s/$${f##*/}; done
	rm -f $(INSTALL_UNITS:systemd/%=$(D)$(UNITDIR)/%) \
		$(D)$(UDEVRULESDIR)/60-vmclock.rules $(D)$(SYSUSERSDIR)/vmclock.conf
	rm -f $(INSTALL_EXAMPLES:%=$(D)$(DOCDIR)/%)
	-rmdir $(D)$(DOCDIR)/examples/hooks $(D)$(DOCDIR)/examples $(D)$(DOCDIR)
	@# The hook directories are the administrator's: removed only if empty.
	-for e in $(HOOK_EVENTS); do rmdir $(D)$(SYSCONFDIR)/vmclock/$$e.d; done; \
		rmdir $(D)$(SYSCONFDIR)/vmclock
ifeq ($(DESTDIR),)
	-ldconfig 2>/dev/null
	-[ ! -d /run/systemd/system ] || systemctl daemon-reload
endif

CHECK_SUITES += tests/install/install.sh
# pkg-config and nm for the library, systemd-analyze and udevadm for the
# units and rules, groff for the man pages, shellcheck for the scripts.
CHECK_PKGS += pkg-config binutils systemd udev groff-base shellcheck

# The suite runs make install itself, into a temporary DESTDIR; in a
# sanitizer build its programs link the same runtime as the library.
export VMCLOCK_INSTALL_O := $(O)
export VMCLOCK_INSTALL_SAN := $(SAN)

check-install: build-all
	@tests/run-suites.sh tests/install/install.sh

check-dkms:
	@tests/install/dkms.sh --fetch

.PHONY: install uninstall check-install check-dkms
