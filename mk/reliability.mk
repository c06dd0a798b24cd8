# SPDX-License-Identifier: MIT
# Reliability: stress, hostile input, fuzzing, sanitizers and portability.
#
#   make check-stress     10^8 reads against a max-rate writer, vmclockd killed
#                         1,000 times under readers, then the stress test
#                         built with ThreadSanitizer ($(O)-tsan)
#   make fuzz             every libFuzzer target FUZZ_SECONDS (10) each
#   make check-fuzz       the same, 60 s each (CI's length)
#   make check-cross      library, CLI and unit tests built for arm64 and
#                         s390x (big-endian), run under qemu-user
#   make check-findings   open findings in others' code: fail until fixed
#
# make check runs the short variants: 2*10^6 stress reads, 20 kills, the
# hostile-input suites, valgrind on the CLI and the fuzz corpus replays.
# See docs/security.md.

STRESS := $(O)/tests/stress/stress
STRESS_READS_FULL ?= 100000000
STRESS_SECONDS_FULL ?= 1500
TSAN_O ?= $(O)-tsan
# gcc refuses atomic_thread_fence under -fsanitize=thread (-Wtsan); clang
# accepts it (and, like gcc, does not model fences: see docs/security.md).
TSAN_CC ?= clang
TSAN_READS ?= 2000000

# lib.mk and tests.mk are included after this file: name their outputs.
REL_LIB := $(O)/lib/libvmclock.a
REL_HARNESS := $(O)/tests/harness/test.o

$(STRESS): $(O)/tests/stress/stress.o $(REL_HARNESS) $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

BINS += $(STRESS)
CHECK_SUITES += $(STRESS)

# Hostile input and dead writers (library); regressions of the findings.
HOSTILE := $(O)/tests/hostile/test_hostile
FINDINGS := $(O)/tests/hostile/test_findings

$(HOSTILE) $(FINDINGS): $(O)/tests/hostile/%: $(O)/tests/hostile/%.o \
		$(REL_HARNESS) $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

BINS += $(HOSTILE) $(FINDINGS)
CHECK_SUITES += $(HOSTILE) $(FINDINGS)

# The CLI on hostile files, and under valgrind (cli.mk exports the paths).
ifneq ($(wildcard cli/main.c),)
CHECK_SUITES += tests/hostile/cli-hostile.sh
CHECK_PKGS += util-linux
# valgrind cannot run sanitized programs.
ifeq ($(SAN),)
CHECK_SUITES += tests/valgrind.sh
CHECK_PKGS += valgrind
endif
endif

# The daemon: crash loop (crashwatch reads while vmclockd is killed) and
# hostile control clients.  make check: 20 kills; check-stress: 1000.
CRASHWATCH := $(O)/tests/hostile/crashwatch
CRASHES_FULL ?= 1000
$(CRASHWATCH): $(O)/tests/hostile/crashwatch.o $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)
export VMCLOCK_CRASHWATCH_BIN := $(abspath $(CRASHWATCH))

ifneq ($(wildcard daemon/main.c cli/main.c),)
BINS += $(CRASHWATCH)
CHECK_SUITES += tests/hostile/daemon-crash.sh tests/hostile/daemon-hostile.sh
endif

# Open findings in code owned elsewhere: each check fails until its fix
# lands, so they stay out of make check.
LIB_FINDINGS := $(O)/tests/hostile/lib-findings
$(LIB_FINDINGS): $(O)/tests/hostile/lib-findings.o $(REL_HARNESS) $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

# Inputs in fuzz/findings/TARGET-* replayed under UBSan ($(O)-ubsan).
FINDINGS_UBSAN_O ?= $(O)-ubsan

check-findings: $(LIB_FINDINGS) $(O)/daemon/vmclockd $(O)/daemon/vmclockctl \
		$(O)/tests/daemon/vmclockd-probe
	@$(MAKE) --no-print-directory O=$(FINDINGS_UBSAN_O) SAN=undefined \
		$(FINDINGS_UBSAN_O)/fuzz/replay-fuzz_qmp
	@FUZZ_FINDINGS_O=$(FINDINGS_UBSAN_O) tests/run-suites.sh $(LIB_FINDINGS) \
		tests/hostile/daemon-findings.sh tests/hostile/fuzz-findings.sh

# Debian packages for the clang builds (TSan, libFuzzer).
CLANG_PKGS := clang libclang-rt-14-dev

# The crash loop runs the current vmclockd, CLI and probe (daemon.mk, cli.mk).
check-stress: $(STRESS) $(CRASHWATCH) $(O)/daemon/vmclockd $(O)/daemon/vmclockctl \
		$(O)/tests/daemon/vmclockd-probe $(O)/cli/vmclock
	@scripts/install-deps.sh $(CLANG_PKGS)
	@echo "=== stress: $(STRESS_READS_FULL) reads"
	@STRESS_READS=$(STRESS_READS_FULL) STRESS_SECONDS=$(STRESS_SECONDS_FULL) \
		$(STRESS)
	@echo "=== vmclockd killed $(CRASHES_FULL) times"
	@CRASHES=$(CRASHES_FULL) tests/hostile/daemon-crash.sh
	@echo "=== stress under ThreadSanitizer ($(TSAN_O))"
	@$(MAKE) --no-print-directory O=$(TSAN_O) CC=$(TSAN_CC) SAN=thread $(TSAN_O)/tests/stress/stress
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" STRESS_READS=$(TSAN_READS) \
		STRESS_SECONDS=$(STRESS_SECONDS_FULL) $(TSAN_O)/tests/stress/stress

.PHONY: check-stress check-findings

# Fuzz targets.  In every build, each target is also linked with driver.c
# into $(O)/fuzz/replay-TARGET, which replays the committed corpus: a fast
# suite of make check (sanitized under SAN=).  make fuzz builds the real
# libFuzzer binaries with clang in $(FUZZ_O).
FUZZ_TARGETS := fuzz_page fuzz_arith fuzz_adopt
# The daemon's parsers, linked from its objects (stubbed operations).
ifneq ($(wildcard daemon/control.c daemon/conf.c),)
FUZZ_TARGETS += fuzz_control fuzz_conf
endif
# fuzz_qmp: corpus replayed in make check; left out of make fuzz until the
# UB it found (fuzz/findings/, make check-findings) is fixed, or every run
# stops there.  make fuzz FUZZ_TARGETS=fuzz_qmp runs it.
FUZZ_REPLAY_ONLY :=
ifneq ($(wildcard daemon/qmp.c),)
FUZZ_REPLAY_ONLY += fuzz_qmp
endif
FUZZ_O ?= $(O)-fuzz
FUZZ_CC ?= clang
FUZZ_SAN := address,undefined,fuzzer-no-link
FUZZ_SECONDS ?= 10
# Without -Werror: clang's -Wformat-nonliteral stops daemon/log.c, which gcc
# (the CI=true build) accepts.  FUZZ_CI=true to see it.
FUZZ_CI ?=
FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(O)/fuzz/replay-%) \
	$(FUZZ_REPLAY_ONLY:%=$(O)/fuzz/replay-%)
FUZZ_EXTRA_fuzz_arith := $(O)/fuzz/arith_portable.o
# daemon.mk's archive of the daemon's modules (named by path).
FUZZ_EXTRA_fuzz_control := $(O)/daemon/libvmclockd.a
FUZZ_EXTRA_fuzz_conf := $(O)/daemon/libvmclockd.a
FUZZ_EXTRA_fuzz_qmp := $(O)/daemon/libvmclockd.a
FUZZ_LIBS_fuzz_qmp := -ljson-c -lpthread

$(O)/fuzz/driver-%.o: fuzz/driver.c fuzz/fuzz.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DFUZZ_CORPUS='"$(abspath fuzz/corpus/$*)"' \
		-c -o $@ $<

.SECONDEXPANSION:
$(O)/fuzz/replay-%: $(O)/fuzz/%.o $$(FUZZ_EXTRA_$$*) $(O)/fuzz/driver-%.o $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm $(FUZZ_LIBS_$*)

.SECONDARY: $(FUZZ_TARGETS:%=$(O)/fuzz/%.o) $(FUZZ_TARGETS:%=$(O)/fuzz/driver-%.o) \
	$(FUZZ_REPLAY_ONLY:%=$(O)/fuzz/%.o) $(FUZZ_REPLAY_ONLY:%=$(O)/fuzz/driver-%.o) \
	$(O)/fuzz/arith_portable.o
BINS += $(FUZZ_REPLAYS)
CHECK_SUITES += $(FUZZ_REPLAYS)

ifneq ($(findstring fuzzer,$(SAN)),)
$(O)/fuzz/fuzz_%: $(O)/fuzz/fuzz_%.o $$(FUZZ_EXTRA_fuzz_$$*) $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDFLAGS) -lm \
		$(FUZZ_LIBS_fuzz_$*)
endif

fuzz-bins: $(FUZZ_TARGETS:%=$(O)/fuzz/%)

fuzz:
	@scripts/install-deps.sh $(CLANG_PKGS)
	@$(MAKE) --no-print-directory O=$(FUZZ_O) CC=$(FUZZ_CC) SAN=$(FUZZ_SAN) \
		CI=$(FUZZ_CI) fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_O)/fuzz $(FUZZ_TARGETS)

check-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(CHECK_FUZZ_SECONDS),60)

.PHONY: fuzz fuzz-bins check-fuzz

# Portability: the library, the CLI, the library's unit tests and this
# fragment's suites built statically for arm64 and s390x (big-endian) in
# $(O)-ARCH, run under qemu-user and compared with the native build.
LECHECK := $(O)/tests/cross/lecheck
CROSS_ARCHES ?= arm64 s390x
CROSS_CC_arm64 := aarch64-linux-gnu-gcc
CROSS_CC_s390x := s390x-linux-gnu-gcc
CROSS_PKGS := gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-s390x-linux-gnu \
	libc6-dev-s390x-cross qemu-user-static
CROSS_BINS = lib/libvmclock.a cli/vmclock tests/cross/lecheck \
	$(patsubst %,tests/unit/test_%,arith reader writer bounded derived) \
	tests/hostile/test_hostile tests/hostile/test_findings tests/stress/stress \
	fuzz/replay-fuzz_page fuzz/replay-fuzz_arith

$(LECHECK): $(O)/tests/cross/lecheck.o $(REL_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

cross-deps:
	@scripts/install-deps.sh $(CROSS_PKGS)

# Static, so qemu-user needs no sysroot.
cross-build-%: cross-deps
	@$(MAKE) --no-print-directory O=$(O)-$* CC=$(CROSS_CC_$*) LDFLAGS=-static \
		$(addprefix $(O)-$*/,$(CROSS_BINS))

check-cross: $(LECHECK) $(O)/cli/vmclock $(O)/tests/cli/mkpage \
		$(CROSS_ARCHES:%=cross-build-%)
	@tests/cross/cross.sh $(O) $(foreach a,$(CROSS_ARCHES),$(a)=$(O)-$(a))

.PHONY: check-cross cross-deps
