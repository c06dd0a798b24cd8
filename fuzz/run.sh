#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run.sh DIR TARGET... - run each libFuzzer target DIR/TARGET for
# FUZZ_SECONDS (default 60) on a copy of its committed corpus
# fuzz/corpus/TARGET (new inputs go to DIR/corpus/TARGET, never into the
# tree), then say how many inputs it ran.  A crash or a failed property
# leaves the input in DIR/artifacts/ and the log in DIR/TARGET.log.
# Ends with "N passed, N failed".
secs=${FUZZ_SECONDS:-60}
dir=$1
shift
passed=0
failed=0
mkdir -p "$dir/artifacts"
for t in "$@"; do
	mkdir -p "$dir/corpus/$t"
	start=$(date +%s)
	if "$dir/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
		"$dir/corpus/$t" "fuzz/corpus/$t" >"$dir/$t.log" 2>&1; then
		ok=PASS
		passed=$((passed + 1))
	else
		ok=FAIL
		failed=$((failed + 1))
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log")
	echo "$ok $t: ${execs:-?} runs in $(($(date +%s) - start)) s," \
		"corpus $(ls "$dir/corpus/$t" | wc -l) new + $(ls "fuzz/corpus/$t" | wc -l) seeds"
	if [ "$ok" = FAIL ]; then
		grep -E 'ERROR|property failed|runtime error|SUMMARY|Test unit written' \
			"$dir/$t.log" | head -n 20 | sed 's/^/  /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
