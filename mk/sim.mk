# SPDX-License-Identifier: MIT
# Derived clocks' unit test and the deterministic simulator (tests/sim/).
#
#   make check-sim   the scenario matrix (>= 10^6 probes), part of make check
#   make sim-long    the same scenarios, >= 10^7 probes
#   make sim-plot    SVG and PNG plots in docs/ (installs gnuplot-nox if missing)

DERIVED_TEST := $(O)/tests/unit/test_derived
BINS += $(DERIVED_TEST)
CHECK_SUITES += $(DERIVED_TEST)
