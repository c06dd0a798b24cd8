# SPDX-License-Identifier: MIT
# bench: benchmarks (make bench) and their smoke run in make check.
#
#   make bench        run every benchmark, rewrite docs/benchmarks.md
#   make bench-smoke  the smoke run alone (tiny counts, no speed asserted)
#   make bench-guest  kernel paths in a KVM (else TCG) guest: bench/run-guest.sh
#
# Benchmarks build with the library's flags (ALL_CFLAGS: -O2 -g) and link
# the static library.

# lib.mk comes later in the include order: name the archive directly.
BENCH_LIB := $(O)/lib/libvmclock.a
BENCH_COMMON := $(O)/bench/common.o
BENCH_BINS := $(patsubst %.c,$(O)/%,$(wildcard bench/bench_*.c))
# vmclockd's own per-guest update, from the daemon's archive.
$(O)/bench/bench_daemon: $(O)/bench/bench_daemon.o $(BENCH_COMMON) \
		$(O)/daemon/libvmclockd.a $(BENCH_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm

$(O)/bench/bench_%: $(O)/bench/bench_%.o $(BENCH_COMMON) $(BENCH_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

# The guest's program is static: it runs in the e2e initramfs (not with
# sanitizers, which cannot link statically).
BENCH_GUEST := $(O)/bench/guest_bench
$(BENCH_GUEST): $(O)/bench/guest_bench.o $(BENCH_COMMON) $(BENCH_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(if $(SAN),,-static) -o $@ $^ $(LDFLAGS)

BENCH_BINS += $(BENCH_GUEST)
BINS += $(BENCH_BINS)
ifneq ($(wildcard bench/smoke.sh),)
CHECK_SUITES += bench/smoke.sh
endif

# The smoke script and bench/run.sh find the programs here.
export VMCLOCK_BENCH_BIN := $(abspath $(O)/bench)

# vmclockd too: run.sh checks that its update loop kept its fetching ahead.
bench: $(BENCH_BINS) $(O)/daemon/vmclockd
	@bench/run.sh

bench-smoke: $(BENCH_BINS)
	@tests/run-suites.sh bench/smoke.sh

bench-guest: $(BENCH_GUEST) $(O)/tests/e2e/e2e-hostd
	@O=$(O) bench/run-guest.sh

.PHONY: bench bench-smoke bench-guest
