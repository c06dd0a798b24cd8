#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-accuracy.sh - the host page against the host clock.  CLOCK_REALTIME
# read before and after a counter read must bracket the time the page
# gives at that counter, widened by its maxerror, for 20,000 samples
# spread over 5 s (many update intervals)
# (evaluated with libvmclock's reader); the distance to the bracket's
# midpoint is reported (docs/accuracy.md).  A few samples go through the
# vmclock CLI (`vmclock now --counter`) when it is built.
. "$(dirname "$0")/lib.sh"

check "daemon starts and publishes" start_daemon
check "fit has 8 points" wait_until fit_full 8

out=$("$VMCLOCKD_PROBE" accuracy "$RUN/host" 20000 5)
rc=$?
echo "$out"
check "20000 samples inside [before - maxerror, after + maxerror]" [ $rc -eq 0 ]
p99=$(echo "$out" | sed -n 's/^distance_ns .*p99=\([0-9]*\).*/\1/p')
echo "p99 distance to the bracket midpoint: $p99 ns (goal <= 100 ns)"

cli_sample() {
	t1=$(date +%s%N)
	c=$("$VMCLOCKD_PROBE" counter)
	t2=$(date +%s%N)
	json=$("$VMCLOCK_CLI_BIN" now --device "$RUN/host" --counter "$c" --json) || return 1
	utc=$(echo "$json" | sed -n 's/.*"utc_ns": *\([0-9]*\).*/\1/p')
	max=$(echo "$json" | sed -n 's/.*"maxerror_ns": *\([0-9]*\).*/\1/p')
	[ -n "$utc" ] && [ -n "$max" ] || { echo "no utc_ns/maxerror_ns in: $json"; return 1; }
	[ $((utc + max)) -ge "$t1" ] && [ $((utc - max)) -le "$t2" ] || return 1
	# The process starts dominate the bracket: also check the page's own
	# time is inside it, without maxerror.
	[ "$utc" -ge "$t1" ] && [ "$utc" -le "$t2" ]
}

cli_samples() {
	n=0
	while [ $n -lt 50 ]; do
		cli_sample || return 1
		n=$((n + 1))
	done
}

if [ -x "$VMCLOCK_CLI_BIN" ]; then
	check "vmclock now --counter: 50 samples inside their brackets" cli_samples
else
	echo "(vmclock CLI not built: $VMCLOCK_CLI_BIN)"
fi
finish
