# SPDX-License-Identifier: MIT
# Reliability: stress, hostile input, fuzzing, sanitizers and portability.
#
#   make check-stress     10^8 reads against a max-rate writer, then the same
#                         test built with ThreadSanitizer ($(O)-tsan)
#   make fuzz             every libFuzzer target FUZZ_SECONDS (10) each
#   make check-fuzz       the same, 60 s each (CI's length)
#   make check-cross      library, CLI and unit tests built for arm64 and
#                         s390x (big-endian), run under qemu-user
#
# make check runs the short variants: a 2*10^6-read stress run and the
# hostile-input suites.

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

check-stress: $(STRESS)
	@echo "=== stress: $(STRESS_READS_FULL) reads"
	@STRESS_READS=$(STRESS_READS_FULL) STRESS_SECONDS=$(STRESS_SECONDS_FULL) \
		$(STRESS)
	@echo "=== stress under ThreadSanitizer ($(TSAN_O))"
	@$(MAKE) --no-print-directory O=$(TSAN_O) CC=$(TSAN_CC) SAN=thread $(TSAN_O)/tests/stress/stress
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" STRESS_READS=$(TSAN_READS) \
		STRESS_SECONDS=$(STRESS_SECONDS_FULL) $(TSAN_O)/tests/stress/stress

.PHONY: check-stress
