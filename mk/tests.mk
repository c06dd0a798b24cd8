# SPDX-License-Identifier: MIT
# Unit tests: one program per module, each on the shared harness.

HARNESS_OBJS := $(O)/tests/harness/test.o
UNIT_TESTS := arith reader writer fastpath

$(O)/tests/unit/test_arith.o: CFLAGS += $(ARITH_WARNINGS)

$(O)/tests/unit/test_%: $(O)/tests/unit/test_%.o $(HARNESS_OBJS) $(LIBVMCLOCK)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lpthread

UNIT_BINS := $(UNIT_TESTS:%=$(O)/tests/unit/test_%)
BINS += $(UNIT_BINS)
CHECK_SUITES += tests/abi/headers.sh $(UNIT_BINS)

.PHONY: check-unit
check-unit: $(UNIT_BINS)
	@tests/run-suites.sh $(UNIT_BINS)
