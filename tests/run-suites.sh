#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-suites.sh SUITE... - run each test suite (a program or a script), show
# its output, and add up the "N passed, N failed" line each one ends with.
# A suite that exits non-zero without failing a test, or prints no such
# line, counts as one failure.  Ends with the total "N passed, N failed".
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for suite in "$@"; do
	echo "=== $suite"
	"$suite" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "run-suites: $suite printed no result line (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
	f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "run-suites: $suite exited $rc with no failed test"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
