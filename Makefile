# SPDX-License-Identifier: MIT
#
# vmclock top-level build: plain GNU make, non-recursive.  Each directory
# adds itself through a fragment in mk/; see docs/hacking.md.
#
#   make            library, tools, daemon
#   make check      every test (real QEMU, sanitizers, fuzzers too); ends
#                   with "N passed, N failed"
#   make check-fast the fast suites only
#   make demo       host daemon + guest-side reader on this machine
#   make O=dir      build into dir (default: build)
#   make SAN=address,undefined   sanitizer build (use a separate O=)
#   make V=1        show commands

O ?= build
CC ?= cc
PREFIX ?= /usr/local
VERSION := 0.1.0

WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wold-style-definition -Wdeclaration-after-statement -Wpointer-arith \
	-Wcast-align -Wwrite-strings -Wformat=2 -Wundef -Wvla \
	-Wimplicit-fallthrough -Wnull-dereference
ARITH_WARNINGS := -Wconversion -Wsign-conversion

CFLAGS ?= -O2 -g
ifeq ($(CI),true)
CFLAGS += -Werror
endif
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -fno-common -D_GNU_SOURCE -Iinclude
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Fragments append to these.
BINS :=
CHECK_SUITES :=
CLEAN_FILES :=
# Debian packages the build and 'make check' need (installed when missing).
BUILD_PKGS := gcc make libc6-dev
CHECK_PKGS := g++ python3

all: build-all

include $(sort $(wildcard mk/*.mk))

build-all: $(BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

deps:
	@scripts/install-deps.sh $(sort $(BUILD_PKGS))

check-deps: deps
	@scripts/install-deps.sh $(sort $(CHECK_PKGS))

# The fast suites (every fragment's CHECK_SUITES): minutes, no VM.
check-fast: check-deps
	@$(MAKE) --no-print-directory build-all
	@tests/run-suites.sh $(CHECK_SUITES)

# Everything that lands: the fast suites, then real kernels under QEMU, the
# sanitizer pass, the fuzzers and the cross-architecture runs.  Each suite
# prints "N passed, N failed"; the last line is the total.
CHECK_SLOW_SUITES := $(addprefix tests/suites/,sanitizers.sh fuzz.sh cross.sh \
	kmod.sh e2e.sh)
check: check-deps
	@$(MAKE) --no-print-directory build-all
	@O=$(O) tests/run-suites.sh $(CHECK_SUITES) $(CHECK_SLOW_SUITES)

clean:
	rm -rf $(O) $(CLEAN_FILES)

-include $(shell find $(O) -name '*.d' 2>/dev/null)

.PHONY: all build-all check check-fast check-deps deps clean
