#!/bin/sh
# SPDX-License-Identifier: MIT
#
# guest-test.sh - /test.sh of the guest bench initramfs (bench/run-guest.sh):
# load vmclock_guest, find /dev/vmclock0 and its PTP clock, run guest_bench
# between markers the host script cuts the serial log at.
insmod /files/vmclock_guest.ko
n=0
while [ ! -c /dev/vmclock0 ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
ptp=
for p in /sys/class/ptp/ptp*; do
	[ "$(cat "$p/clock_name" 2>/dev/null)" = vmclock0 ] && ptp=/dev/${p##*/}
done
echo "GUEST-BENCH-BEGIN"
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
echo "# guest: kernel $(uname -r), clocksource $(cat $cs)"
# shellcheck disable=SC2086 # no PTP clock: no argument
/files/guest_bench /dev/vmclock0 $ptp
echo "GUEST-BENCH-END rc=$?"
