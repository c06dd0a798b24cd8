#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fuzz-findings.sh [DIR] - replay each input fuzz/findings/TARGET-NAME with
# DIR/fuzz/replay-TARGET (DIR defaults to $FUZZ_FINDINGS_O; a SAN=undefined
# build, so UB aborts): one check per input, failing until the bug it found
# is fixed (make check-findings).
#
# fuzz_qmp-timestamp-overflow: daemon/qmp.c, queue_event(): an event's
#   timestamp {"seconds": 17001700000000, "microseconds": 5} is turned
#   into microseconds with json_object_get_int64(v) * 1000000, a signed
#   overflow (undefined behaviour; in practice a wrapped, negative ts_us);
#   the += of the microseconds can overflow as well.  Expected: saturate or
#   drop the timestamp (__builtin_mul_overflow / __builtin_add_overflow).
# Ends with "N passed, N failed".
dir=${1:-$FUZZ_FINDINGS_O}
top=$(cd "$(dirname "$0")/../.." && pwd)
passed=0
failed=0
for f in "$top"/fuzz/findings/*; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	target=${name%%-*}
	if "$dir/fuzz/replay-$target" "$f" >"$dir/finding.log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		grep -E 'runtime error|property failed|ERROR' "$dir/finding.log" |
			head -n 3 | sed 's/^/  /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
