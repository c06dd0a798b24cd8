#!/bin/sh
# SPDX-License-Identifier: MIT
#
# demo.sh - vmclock on this machine, no VM needed (make demo).
#
# Starts vmclockd on a temporary run directory, shows the host page with
# `vmclock status` and `vmclock now` beside the system clock, adds a guest
# page whose counter runs at 1.5x the host's, and triggers a planned
# migration and a snapshot restore on it while `vmclock watch` reports the
# events.  Installs what it needs with apt-get when run as root; cleans up
# after itself.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case $O in /*) B=$O ;; *) B=$ROOT/$O ;; esac
VMCLOCKD=$B/daemon/vmclockd
VMCLOCKCTL=$B/daemon/vmclockctl
VMCLOCK=$B/cli/vmclock

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

install_needs() {
	pkgs=
	command -v make >/dev/null 2>&1 || pkgs="$pkgs make"
	command -v cc >/dev/null 2>&1 || pkgs="$pkgs gcc libc6-dev"
	# The leap-second list gives TAI - UTC when no NTP daemon told the kernel.
	[ -f /usr/share/zoneinfo/leap-seconds.list ] || pkgs="$pkgs tzdata"
	[ -z "$pkgs" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "demo: missing:$pkgs (run as root to install them)" >&2
		return 0
	fi
	say "installing:$pkgs"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs
}

# wait_for COMMAND...: poll up to 30 s.
wait_for() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 600 ] && { echo "demo: timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}

install_needs
if [ ! -x "$VMCLOCKD" ] || [ ! -x "$VMCLOCK" ]; then
	say "building"
	make -C "$ROOT" O="$O" -j2
fi

RUN=$(mktemp -d /tmp/vmclock-demo.XXXXXX)
DPID=
WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null || true
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null || true
	[ -n "$DPID" ] && wait "$DPID" 2>/dev/null || true
	rm -rf "$RUN" "$RUN.log"
	echo >&2
	echo "demo: stopped vmclockd and removed $RUN" >&2
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { "$VMCLOCKCTL" --run-dir "$RUN" "$@"; }
page_ready() { "$VMCLOCK" check --device "$RUN/host"; }

say "starting vmclockd on $RUN"
"$VMCLOCKD" --config= --run-dir="$RUN" --socket-group= 2>"$RUN.log" &
DPID=$!
wait_for test -S "$RUN/control"
wait_for page_ready
sed 's/^/  /' "$RUN.log"

say "the host page"
run "$VMCLOCK" status --device "$RUN/host"

say "vmclock now against the system clock"
for i in 1 2 3; do
	printf 'system clock (date):  %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
	"$VMCLOCK" now --device "$RUN/host" | sed -n 's/^utc: */host page (vmclock):  /p'
done
echo "(the bound is the host kernel's own: adjtimex says how well NTP keeps this clock)"
if [ -x "$B/tests/daemon/vmclockd-probe" ]; then
	echo
	echo "10000 reads, each CLOCK_REALTIME / counter / CLOCK_REALTIME, against the page at that counter:"
	"$B/tests/daemon/vmclockd-probe" accuracy "$RUN/host" 10000 | sed 's/^/  /'
fi

say "the daemon's view: vmclockctl status"
if command -v python3 >/dev/null 2>&1; then
	ctl status | python3 -m json.tool | sed -n '1,60p'
else
	ctl status
fi

say "a guest page: counter 1.5x the host's, 10^12 ticks behind"
run "$VMCLOCKCTL" --run-dir "$RUN" add-guest vm1 offset=-1000000000000 \
	scale=0x1800000000000 frac-bits=48
wait_for test -f "$RUN/guests/vm1"
"$VMCLOCK" watch --device "$RUN/guests/vm1" >"$RUN/watch" 2>&1 &
WPID=$!
wait_for grep -q watching "$RUN/watch"

step() { # TEXT WORD COMMAND...: run it, wait for WORD in the watch output
	text=$1
	word=$2
	shift 2
	n=$(wc -l <"$RUN/watch")
	printf '\n-- %s\n' "$text"
	run "$VMCLOCKCTL" --run-dir "$RUN" "$@" >/dev/null
	wait_for sh -c "tail -n +$((n + 1)) '$RUN/watch' | grep -q -- '$word'"
	tail -n +$((n + 1)) "$RUN/watch" | grep -- "$word" | head -n 1 |
		sed 's/^/   vmclock watch: /'
}

step "maintenance ahead: DISRUPTION_SOON" DISRUPTION_SOON migrate-out vm1 state=soon
step "live migration done: new marker, INITIALIZING" disruption migrated-in vm1
step "counter mapping confirmed: bounded again" "clock_status FREERUNNING\|clock_status SYNCHRONIZED" \
	set-counter-mapping vm1 offset=-1000000000000 scale=0x1800000000000
step "restored from a snapshot: new marker and generation" restore restored vm1
step "counter mapping confirmed" "clock_status FREERUNNING\|clock_status SYNCHRONIZED" \
	set-counter-mapping vm1 offset=-1000000000000 scale=0x1800000000000

say "the guest page now"
run "$VMCLOCKCTL" --run-dir "$RUN" status vm1
