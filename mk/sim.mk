# SPDX-License-Identifier: MIT
# Derived clocks' unit test and the deterministic simulator (tests/sim/).
#
#   make check-sim   the scenario matrix (>= 10^6 probes), part of make check
#   make sim-long    the same scenarios, >= 10^7 probes
#   make sim-plot    SVG and PNG plots in docs/ (installs gnuplot-nox if missing)

DERIVED_TEST := $(O)/tests/unit/test_derived
BINS += $(DERIVED_TEST)
CHECK_SUITES += $(DERIVED_TEST)

SIM := $(O)/tests/sim/vmclock-sim
SIM_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/sim/*.c))
SIM_SCENARIOS := $(sort $(wildcard tests/sim/scenarios/*.sim))
SIM_LONG_MULT ?= 10

# vmclock_nsec_to_frac() trips a false -Wmaybe-uninitialized in gcc 12.
$(SIM_OBJS): CFLAGS += -Wno-maybe-uninitialized

$(SIM): $(SIM_OBJS) $(LIBVMCLOCK)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -lm

# make check runs the matrix and the replay check through small wrappers
# that take no arguments, as run-suites.sh expects.
SIM_CHECK := $(O)/tests/sim/check-sim.sh
SIM_REPLAY := $(O)/tests/sim/replay.sh

$(SIM_CHECK): mk/sim.mk $(SIM_SCENARIOS)
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\nexec %s %s\n' "$(abspath $(SIM))" \
		"$(abspath $(SIM_SCENARIOS))" >$@ && chmod +x $@

$(SIM_REPLAY): tests/sim/replay.sh mk/sim.mk
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\nexec %s %s %s\n' "$(abspath tests/sim/replay.sh)" \
		"$(abspath $(SIM))" "$(abspath tests/sim/scenarios/006-leap-insert.sim)" \
		>$@ && chmod +x $@

BINS += $(SIM) $(SIM_CHECK) $(SIM_REPLAY)
CHECK_SUITES += $(SIM_REPLAY) $(SIM_CHECK)

check-sim: $(SIM) $(SIM_REPLAY) $(SIM_CHECK)
	@tests/run-suites.sh $(SIM_REPLAY) $(SIM_CHECK)

sim-long: $(SIM)
	$(SIM) -m $(SIM_LONG_MULT) $(SIM_SCENARIOS)

# Plots of true error and bounds: a live migration and a leap second.
SIM_PLOT_DIR := $(O)/sim-plot
sim-plot: $(SIM)
	@command -v gnuplot >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq gnuplot-nox; }
	@mkdir -p $(SIM_PLOT_DIR)
	$(SIM) -s 1 -t $(SIM_PLOT_DIR)/migration.dat tests/sim/plot/migration.sim
	$(SIM) -s 1 -t $(SIM_PLOT_DIR)/leap.dat tests/sim/plot/leap.sim
	gnuplot -e "dat='$(SIM_PLOT_DIR)/migration.dat'; out='docs/sim-migration'" \
		tests/sim/plot/migration.gp
	gnuplot -e "dat='$(SIM_PLOT_DIR)/leap.dat'; out='docs/sim-leap'" \
		tests/sim/plot/leap.gp

.PHONY: check-sim sim-long sim-plot
