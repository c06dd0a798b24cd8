#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test-e2e.sh - guest half of make check-e2e (runs as /test.sh).
#
# The page is written by the host's QEMU adapter; this script checks what a
# guest sees of it through vmclock_guest, the PHC, libvmclock and the
# vmclock CLI, and asks the harness for host-side events by printing
# "E2E-REQ <what>" on the console: notify off|on, stopcont, migrate,
# snapshot.  The guest lives on across a live migration and two restores
# of one snapshot, so the lines after "E2E-REQ snapshot" run once in each
# restored copy.  Prints PASS/FAIL lines for the harness.

S=/sys/bus/platform/devices/AMZNC10C:00
G=/files/e2e-guest
N=${E2E_SAMPLES:-200}

check() {
	desc=$1
	shift
	if "$@"; then echo "PASS: $desc"; else echo "FAIL: $desc"; fi
}

wait_for() {
	n=0
	while [ $n -lt "$1" ]; do
		eval "$2" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

find_ptp() {
	for p in /sys/class/ptp/ptp*; do
		[ "$(cat "$p/clock_name" 2>/dev/null)" = "$1" ] &&
			echo "/dev/${p##*/}"
	done
}

# "MARKER GENERATION" once bounded (and, with $2, a new marker).
sync_state() {
	$G wait-sync "$1" ${2:+"$2"}
}

# The first and second word of $1 ("MARKER GENERATION").
word1() { echo "${1%% *}"; }
word2() { echo "${1#* }"; }

req() {
	echo "E2E-REQ $*"
}

dmesg >/tmp/dmesg.boot
# The adapter measures our TSC through the mailbox: answer it all along,
# with the shipped responder (what vmclock-respond@.service runs).
vmclock respond --mailbox 0x1f001000 >/dev/null &

insmod /files/vmclock_guest.ko
check "insmod vmclock_guest" [ $? = 0 ]
drv=$(readlink $S/driver)
check "module binds the adapter's device (driver ${drv##*/})" \
	[ "${drv##*/}" = vmclock_guest ]
check "/dev/vmclock0 appears" wait_for 50 '[ -c /dev/vmclock0 ]'
ptp=$(find_ptp vmclock0)
check "PTP clock vmclock0 ($ptp)" [ -c "$ptp" ]

state=$(sync_state 60)
check "page bounded once the adapter measured our TSC ($state)" \
	[ -n "$state" ]
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
wait_for 600 "[ \"\$(cat $cs)\" = tsc ]"
echo "E2E: clocksource $(cat $cs)"

$G devchecks
$G pollcount 5
req notify off
$G hup 1
req notify on
$G hup 0

h0=$($G hosttime)
out=$(phc_ctl "$ptp" get 2>&1)
h1=$($G hosttime)
echo "E2E: phc_ctl: $out"
$G between "$h0" "$h1" 1000000 "$out"

$G accuracy "$N" boot "$ptp"
$G nowcheck 20 boot

marker=$(word1 "$state") gen=$(word2 "$state")
req stopcont
state=$(sync_state 120 "$marker")
check "stop/cont: new marker, same generation, bounded ($marker -> $(word1 "$state"))" \
	[ -n "$state" ] && [ "$(word2 "$state")" = "$gen" ]
marker=$(word1 "$state")
$G accuracy "$N" stopcont "$ptp"

req migrate
state=$(sync_state 300 "$marker")
check "migration: new marker, same generation, bounded ($marker -> $(word1 "$state"))" \
	[ -n "$state" ] && [ "$(word2 "$state")" = "$gen" ]
marker=$(word1 "$state")
$G accuracy "$N" migrated "$ptp"
$G nowcheck 20 migrated
check "migration: no uevent or RNG feed for a live migration" \
	[ "$(dmesg | grep -c 'new vm generation')" = \
	  "$(grep -c 'new vm generation' /tmp/dmesg.boot)" ]

rm -f /tmp/restores
vmclock watch --on-restore /files/on-restore.sh >/tmp/watch.log 2>&1 &
check "vmclock watch is running" wait_for 100 '[ -s /tmp/watch.log ]'

# Both restored copies go on from here.
$G restore-check "$marker" "$gen"
state=$(sync_state 60)
gen=$(word2 "$state")
check "restore: generation $gen fed to the RNG" \
	sh -c "dmesg | grep -q 'new vm generation $gen .*fed to RNG'"
check "restore: the --on-restore hook ran" wait_for 100 '[ -s /tmp/restores ]'
$G accuracy "$N" restored "$ptp"
$G nowcheck 20 restored
check "restore: the hook ran exactly once ($(wc -l </tmp/restores))" \
	[ "$(wc -l </tmp/restores)" = 1 ]
grep . /tmp/restores | sed 's/^/E2E-hook: /'
tail -n 5 /tmp/watch.log | sed 's/^/E2E-watch: /'

dmesg | tail -n +$(($(wc -l </tmp/dmesg.boot) + 1)) >/tmp/dmesg.test
grep -E 'vmclock|ACPI' /tmp/dmesg.test | sed 's/^/E2E-dmesg: /'
splat=$(grep -E 'WARNING|BUG|Call Trace|Oops|general protection|UBSAN|refcount_t' /tmp/dmesg.test)
check "no WARNING/BUG/splat in dmesg" [ -z "$splat" ]
exit 0
