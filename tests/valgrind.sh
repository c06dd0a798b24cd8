#!/bin/sh
# SPDX-License-Identifier: MIT
#
# valgrind.sh - the vmclock command under valgrind's memcheck: every
# subcommand on a precise page, a basic page and broken pages (error
# paths), plus --help and usage errors; then vmclockd (when built) through
# a start, guest commands, bad requests and SIGTERM, and again with add-qemu
# guests and a save.  Any memory error or definite leak fails the run (for
# vmclockd with add-qemu guests any block not freed at exit); valgrind exits
# 99: the CLI's own exit codes 1 and 2 are answers, not errors.
#
#   VMCLOCK_CLI_BIN=build/cli/vmclock VMCLOCK_MKPAGE_BIN=build/tests/cli/mkpage \
#	tests/valgrind.sh
#
# Ends with "N passed, N failed".
O=${O:-build}
V=$(readlink -f "${VMCLOCK_CLI_BIN:-$O/cli/vmclock}")
M=$(readlink -f "${VMCLOCK_MKPAGE_BIN:-$O/tests/cli/mkpage}")
passed=0
failed=0
T=$(mktemp -d /tmp/vmclock-valgrind.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset VMCLOCK_DEVICE VMCLOCK_ACCESS
export VMCLOCK_STATE_DIR="$T/state"

if ! command -v valgrind >/dev/null || [ ! -x "$V" ] || [ ! -x "$M" ]; then
	echo "valgrind.sh: need valgrind, $V and $M"
	echo "0 passed, 1 failed"
	exit 1
fi

# vg NAME ARGS...: run the CLI under memcheck.
vg() {
	name=$1
	shift
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --track-fds=no \
		"$V" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 99 ] || [ "$rc" -ge 124 ] || grep -q '^==[0-9]*==' "$T/err"; then
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc): vmclock $*"
		sed 's/^/  /' "$T/err" | head -n 40
	else
		passed=$((passed + 1))
		echo "PASS $name (exit $rc)"
	fi
}

P=$T/precise B=$T/basic
"$M" "$P" init calibrate-now 1000000000 1000 status SYNCHRONIZED tai 37 \
	marker generation >/dev/null &&
	"$M" "$B" init status SYNCHRONIZED >/dev/null ||
	{ echo "valgrind.sh: mkpage failed"; echo "0 passed, 1 failed"; exit 1; }
cp "$P" "$T/stuck" && "$M" "$T/stuck" seq-odd >/dev/null
cp "$P" "$T/magic" && "$M" "$T/magic" magic 0x12345678 >/dev/null
head -c 100 "$P" >"$T/short"

for page in "$P" "$B"; do
	k=$(basename "$page")
	vg "status $k" status --device "$page"
	vg "status --json $k" status --device "$page" --json
	vg "now $k" now --device "$page"
	vg "now --json $k" now --device "$page" --json
	vg "now --strict $k" now --device "$page" --strict
	vg "now --counter $k" now --device "$page" --counter 1000 --json
	vg "check $k" check --device "$page" --max-error 1000000000
	vg "check --json $k" check --device "$page" --json --require-synchronized
	vg "wait-sync $k" wait-sync --device "$page" --timeout 0.3
	vg "watch $k" watch --device "$page" --count 1 --timeout 1 --json \
		--on-change true
done
for bad in stuck magic short missing; do
	vg "status $bad" status --device "$T/$bad"
	vg "now $bad" now --device "$T/$bad" --json
done
vg "help" --help
vg "now --help" now --help
vg "usage: no command"
vg "usage: unknown command" frobnicate
vg "usage: bad option" now --counter not-a-number

# vmclockd under memcheck: start, guests and events, bad requests, stop.
D=${VMCLOCKD_BIN:-$O/daemon/vmclockd}
C=${VMCLOCKCTL_BIN:-$O/daemon/vmclockctl}
PR=${VMCLOCKD_PROBE:-$O/tests/daemon/vmclockd-probe}
if [ -x "$D" ] && [ -x "$C" ] && [ -x "$PR" ]; then
	R=$T/run
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite "$D" --config= --run-dir="$R" \
		--socket-group= --interval-ms=100 --samples=8 >"$T/d.log" 2>&1 &
	VP=$!
	i=0
	while [ ! -S "$R/control" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for req in ping "add-guest vm1 offset=5" "restored vm1" "migrated-in vm1" \
		"migrate-out vm1 state=soon" "stopped vm1" "resumed vm1" \
		"set-counter-mapping vm1 offset=7 scale=0x100000000 frac-bits=32" \
		status "remove-guest vm1"; do
		# shellcheck disable=SC2086
		"$C" --run-dir "$R" $req >/dev/null 2>&1
	done
	{ printf 'bogus\nstatus guest=\001\nadd-guest guest=../x\n'
	  head -c 5000 /dev/zero | tr '\0' a; echo; } |
		"$PR" send "$R/control" >/dev/null 2>&1
	kill -TERM "$VP"
	wait "$VP"
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*==' "$T/d.log"; then
		passed=$((passed + 1))
		echo "PASS vmclockd: requests, events, bad input, SIGTERM"
	else
		failed=$((failed + 1))
		echo "FAIL vmclockd under valgrind (exit $rc)"
		grep -v 'info:\|debug:' "$T/d.log" | head -n 40 | sed 's/^/  /'
	fi

	# The QEMU adapter (tests/hostile/fake-qmp.py plays QEMU): a guest
	# attached, one waiting for its QMP, a save into snapshot-dir, then
	# SIGTERM.  Every block must be freed, reachable ones too (the
	# sanitizer pass's LeakSanitizer reports only unreachable ones).
	R=$T/run-q
	head -c 65536 /dev/zero >"$T/q.ram"
	python3 "$(dirname "$0")/hostile/fake-qmp.py" "$T/q.qmp" "$T/q.log" \
		"$T/q.ram" >"$T/q.out" 2>&1 &
	FP=$!
	valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=all --errors-for-leak-kinds=all "$D" \
		--config= --run-dir="$R" --socket-group= --interval-ms=100 \
		--samples=8 --snapshot-dir="$T/snapshots" >"$T/q.dlog" 2>&1 &
	VP=$!
	i=0
	while { [ ! -S "$R/control" ] || ! grep -q listening "$T/q.out"; } &&
		[ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for req in "add-qemu q1 qmp=$T/q.qmp ram=$T/q.ram gpa=0" \
		"add-qemu q2 qmp=$T/none.qmp ram=$T/q.ram gpa=0" \
		"save q1 s1" "migrate q1 unix:$T/x" status; do
		# shellcheck disable=SC2086
		"$C" --run-dir "$R" $req >/dev/null 2>&1
	done
	kill -TERM "$VP"
	wait "$VP"
	rc=$?
	kill "$FP" 2>/dev/null
	wait "$FP" 2>/dev/null
	if [ "$rc" -eq 0 ] && [ -s "$T/snapshots/s1" ] &&
		! grep -q '^==[0-9]*==' "$T/q.dlog"; then
		passed=$((passed + 1))
		echo "PASS vmclockd: add-qemu guests, save, SIGTERM: every block freed"
	else
		failed=$((failed + 1))
		echo "FAIL vmclockd with add-qemu guests under valgrind (exit $rc)"
		grep -v 'info:\|debug:' "$T/q.dlog" | head -n 40 | sed 's/^/  /'
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
