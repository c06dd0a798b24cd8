#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test-kmod.sh - guest half of the kmod e2e test (runs as /test.sh).
#
# Loads vmclock_guest, runs the device checks of e2e-guest, reads the PHC
# with linuxptp's phc_ctl between two host CLOCK_TAI readings, unloads the
# module and looks for splats.  Prints PASS/FAIL lines for the harness.

S=/sys/bus/platform/devices/AMZNC10C:00

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

# Boot noise (e.g. "RETBleed: WARNING") is not ours: judge only new lines.
dmesg >/tmp/dmesg.boot

# Another driver (a stand-in for ptp_vmclock) owns the devices: hands off.
insmod /files/vmclock_e2e_stub.ko
insmod /files/vmclock_guest.ko
drv=$(readlink $S/driver)
# shellcheck disable=SC2016 # expanded by the inner sh
check "device owned by another driver: not bound, and said so" \
	sh -c '[ "${0##*/}" = vmclock_e2e_stub ] &&
		dmesg | grep -q "AMZNC10C:00 is bound to vmclock_e2e_stub; not binding"' \
	"$drv"
rmmod vmclock_guest
rmmod vmclock_e2e_stub

insmod /files/vmclock_guest.ko
check "insmod vmclock_guest" [ $? = 0 ]
drv=$(readlink $S/driver)
check "module binds the ACPI device (driver ${drv##*/})" \
	[ "${drv##*/}" = vmclock_guest ]
check "/dev/vmclock0 appears" wait_for 50 '[ -c /dev/vmclock0 ]'
check "AMZNC10C:00 is /dev/vmclock0" [ "$(ls $S/misc)" = vmclock0 ]
ptp=$(find_ptp vmclock0)
check "PTP clock named vmclock0 ($ptp)" [ -c "$ptp" ]

# VCL2: _CID VMCLOCK, Memory32Fixed, basic page: a node but no clock.
B=/sys/bus/platform/devices/VCLK0001:00
drv=$(readlink $B/driver)
basic=$(ls $B/misc 2>/dev/null)
check "_CID VMCLOCK + Memory32Fixed binds (/dev/$basic)" \
	[ "${drv##*/}" = vmclock_guest -a -c "/dev/$basic" ]
check "basic page (no precise time) gets no PTP clock" \
	[ -z "$(find_ptp "$basic")" ]
/files/e2e-guest basic "/dev/$basic"
# VCL3: bad magic.
check "bad magic: not bound, and said so" \
	sh -c '[ ! -e /sys/bus/platform/devices/AMZNC10C:01/driver ] &&
		dmesg | grep -q "AMZNC10C:01: bad magic"'

# Cross-timestamps need the TSC clocksource, which replaces tsc-early after
# the refined calibration; 6.1 cannot name it from a module at all.
case $(uname -r) in
6.1.*) precise=0 ;;
*) precise=1 ;;
esac
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
wait_for 600 "[ \"\$(cat $cs)\" = tsc ]"
echo "E2E: clocksource $(cat $cs)"

/files/e2e-guest all "$ptp" $precise

U=/sys/bus/platform/devices/AMZNC10C:02
utc=$(ls $U/misc 2>/dev/null)
uptp=$(find_ptp "$utc")
check "UTC page with a valid TAI offset gets a PTP clock ($uptp)" [ -c "$uptp" ]
/files/e2e-guest utc "$uptp"

h0=$(/files/e2e-guest hosttime)
out=$(phc_ctl "$ptp" get 2>&1)
h1=$(/files/e2e-guest hosttime)
echo "E2E: phc_ctl: $out"
/files/e2e-guest between "$h0" "$h1" 2000000 "$out"

check "generation fed to the RNG" sh -c 'dmesg | grep -q "fed to RNG"'
check "sysfs clock_status synchronized" \
	[ "$(cat $S/clock_status)" = synchronized ]
check "sysfs disruption_marker readable" \
	sh -c "[ \"\$(cat $S/disruption_marker)\" -gt 0 ]"

rmmod vmclock_guest
check "rmmod vmclock_guest" [ $? = 0 ]
# shellcheck disable=SC2016 # expanded by the inner sh
check "all devices unbound, /dev/vmclock* gone" \
	sh -c '[ "$(dmesg | grep -c ": unbound")" = 3 ] &&
		! ls /dev/vmclock* 2>/dev/null'
dmesg | tail -n +$(($(wc -l </tmp/dmesg.boot) + 1)) >/tmp/dmesg.test
grep -E 'vmclock|ACPI' /tmp/dmesg.test | sed 's/^/E2E-dmesg: /'
splat=$(grep -E 'WARNING|BUG|Call Trace|Oops|general protection|UBSAN|KASAN|refcount_t|lockdep' /tmp/dmesg.test)
check "no WARNING/BUG/splat in dmesg since insmod" [ -z "$splat" ]
[ -n "$splat" ] && sed 's/^/E2E-splat: /' /tmp/dmesg.test
/files/e2e-guest quit
exit 0
