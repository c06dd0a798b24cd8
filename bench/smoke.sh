#!/bin/sh
# SPDX-License-Identifier: MIT
#
# smoke.sh - run every benchmark program once with tiny counts so that
# they keep building and working (part of make check).  Nothing here
# measures or asserts a speed: that is make bench.  Ends with the total
# "N passed, N failed" of the programs' own checks.
#
# Env: VMCLOCK_BENCH_BIN (the programs' directory; make exports it).
BIN=${VMCLOCK_BENCH_BIN:-build/bench}
passed=0
failed=0
for prog in bench_read bench_contend bench_host bench_daemon guest_bench; do
	out=$("$BIN/$prog" --smoke 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[$prog] /"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL: $prog --smoke printed no result (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $prog --smoke exited $rc"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
