#!/bin/sh
# SPDX-License-Identifier: MIT
#
# replay.sh SIM SCENARIO - the simulator is deterministic: two runs with the
# same seed print byte-identical output and traces, and another seed does
# not.  Ends with "N passed, N failed".
sim=$1
scenario=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
seed=$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')
passed=0
failed=0
"$sim" -s "$seed" -t "$dir/a.dat" "$scenario" >"$dir/a.out"
"$sim" -s "$seed" -t "$dir/b.dat" "$scenario" >"$dir/b.out"
"$sim" -s "$((seed + 1))" -t "$dir/c.dat" "$scenario" >"$dir/c.out"
if cmp -s "$dir/a.out" "$dir/b.out" && cmp -s "$dir/a.dat" "$dir/b.dat" &&
	[ -s "$dir/a.dat" ]; then
	echo "PASS same seed $seed replays byte-identically ($(wc -l <"$dir/a.dat") trace lines)"
	passed=$((passed + 1))
else
	echo "FAIL same seed $seed gave different output"
	diff "$dir/a.out" "$dir/b.out" | head -5
	failed=$((failed + 1))
fi
if cmp -s "$dir/a.dat" "$dir/c.dat"; then
	echo "FAIL seeds $seed and $((seed + 1)) gave the same trace"
	failed=$((failed + 1))
else
	echo "PASS another seed gives another trace"
	passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
