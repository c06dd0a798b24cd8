#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-privileges.sh - the control socket's group and mode, the fallback when
# the group is missing, creating it only when asked, and the switch to an
# unprivileged user after the files exist.  Needs root (skipped else); the
# group it creates has a unique name and is removed again.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v groupadd >/dev/null 2>&1; then
	echo "(not root or no groupadd: skipped)"
	finish
	exit
fi
GRP=vmclockt$$
NOBODY=$(id -un 65534 2>/dev/null || echo nobody)

mode_of() { stat -c %a "$1"; }
group_of() { stat -c %G "$1"; }

start_missing() {
	"$VMCLOCKD_BIN" --config= --run-dir="$RUN" --socket-group="$GRP" \
		>>"$LOG" 2>&1 &
	DPID=$!
	wait_until test -S "$RUN/control"
}
check "starts with a missing group" start_missing
check "says the group is missing" grep -q "group \"$GRP\" does not exist" "$LOG"
check "socket is owner-only then" [ "$(mode_of "$RUN/control")" = 600 ]
check "group not created unasked" sh -c "! getent group $GRP"
stop_daemon

start_create() {
	"$VMCLOCKD_BIN" --config= --run-dir="$RUN" --socket-group="$GRP" \
		--create-group=yes --user="$NOBODY" >>"$LOG" 2>&1 &
	DPID=$!
	wait_until test -S "$RUN/control" && wait_until host_ready
}
check "starts with create-group and user" start_create
check "group created when asked" getent group "$GRP"
check "socket mode 0660" [ "$(mode_of "$RUN/control")" = 660 ]
check "socket group" [ "$(group_of "$RUN/control")" = "$GRP" ]
check "runs as $NOBODY" [ "$(ps -o user= -p "$DPID")" = "$NOBODY" ]
check "host page handed over" [ "$(stat -c %U "$RUN/host")" = "$NOBODY" ]
check "guest page created after the switch" ctl add-guest g1
check "guest page owned by $NOBODY" [ "$(stat -c %U "$RUN/guests/g1")" = "$NOBODY" ]
check "still publishing" seq_advances "$RUN/guests/g1"
stop_daemon
groupdel "$GRP"
finish
