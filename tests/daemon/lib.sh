# SPDX-License-Identifier: MIT
#
# lib.sh - helpers for the vmclockd test scripts (sourced).
#
# Finds the binaries (make exports VMCLOCKD_BIN, VMCLOCKCTL_BIN and
# VMCLOCKD_PROBE; standalone runs use $O, default build), starts vmclockd
# on a temporary run directory, waits on conditions with generous
# timeouts (never a fixed sleep), counts checks, and ends with
# "N passed, N failed".

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${O:=build}"
: "${VMCLOCKD_BIN:=$ROOT/$O/daemon/vmclockd}"
: "${VMCLOCKCTL_BIN:=$ROOT/$O/daemon/vmclockctl}"
: "${VMCLOCKD_PROBE:=$ROOT/$O/tests/daemon/vmclockd-probe}"
: "${VMCLOCK_CLI_BIN:=$ROOT/$O/cli/vmclock}"
TIMEOUT=${TIMEOUT:-30}
PASSED=0
FAILED=0
DPID=
RUN=$(mktemp -d /tmp/vmclockd-test.XXXXXX)
LOG=$RUN.log

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ -n "$DPID" ] && wait "$DPID" 2>/dev/null
	rm -rf "$RUN" "$LOG"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

ok() {
	PASSED=$((PASSED + 1))
	echo "PASS $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1"
	[ -f "$LOG" ] && sed 's/^/  log: /' "$LOG" | tail -n 20
}

check() { # NAME COMMAND...
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# The daemon still running is stopped first, with SIGTERM: it must exit
# 0 (under ASan, a leak or error report at exit makes it fail).
finish() {
	[ -n "$DPID" ] && stop_daemon TERM
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# wait_until COMMAND...: poll every 50 ms for up to $TIMEOUT s.
wait_until() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt $((TIMEOUT * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

ctl() { "$VMCLOCKCTL_BIN" --run-dir "$RUN" "$@"; }

# field PAGE KEY: one value of the probe's dump.
field() { "$VMCLOCKD_PROBE" dump "$1" | sed -n "s/^$2=//p"; }

host_ready() { [ "$(field "$RUN/host" status)" != INITIALIZING ]; }

fit_points() {
	ctl status | sed -n 's/.*"fit":{"points":\([0-9]*\).*/\1/p'
}

fit_full() { [ "$(fit_points)" -ge "$1" ]; }

starts() {
	n=$(grep -c 'started: run dir' "$LOG" 2>/dev/null)
	echo "${n:-0}"
}
started_since() { [ "$(starts)" -gt "$1" ]; }

# start_daemon [ARGS...]: vmclockd on $RUN; waits for its start-up line
# (a killed daemon leaves its socket behind), the socket and a published
# host page.
start_daemon() {
	n0=$(starts)
	"$VMCLOCKD_BIN" --config= --run-dir="$RUN" --interval-ms=200 --socket-group= \
		--log-level=debug "$@" >>"$LOG" 2>&1 &
	DPID=$!
	wait_until started_since "$n0" && wait_until test -S "$RUN/control" &&
		wait_until host_ready
}

# stop_daemon [SIGNAL]: after SIGTERM (the default) vmclockd frees what
# it holds and exits 0; anything else (a sanitizer's report: LeakSanitizer
# exits 23) is a failed check.
stop_daemon() {
	kill "-${1:-TERM}" "$DPID"
	wait "$DPID" 2>/dev/null
	rc=$?
	DPID=
	if [ "${1:-TERM}" = TERM ] && [ "$rc" -ne 0 ]; then
		fail "vmclockd exited $rc after SIGTERM (a sanitizer's report is in the log)"
	fi
	return 0
}

# seq_advances PAGE: its seq_count moves within the timeout.
seq_changed() { [ "$(field "$1" seq_count)" != "$2" ]; }

seq_advances() {
	wait_until seq_changed "$1" "$(field "$1" seq_count)"
}
