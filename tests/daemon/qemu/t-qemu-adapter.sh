#!/bin/bash
# SPDX-License-Identifier: MIT
#
# t-qemu-adapter.sh - vmclockd's QEMU adapter against real QEMUs, without a
# guest kernel (make check; seconds).  Each QEMU is a 32 MiB pc machine on
# a shared RAM file, held at prelaunch with -S or started -incoming defer,
# so it runs no guest code of interest; what is checked is the page in the
# RAM file, through the daemon's control socket and QMP:
#   add-qemu puts a valid page at the GPA with a generation and
#   NOTIFICATION_PRESENT; a stop/cont done by someone else keeps a
#   VMM-set mapping; QMP reconnects when QEMU restarts; a mailbox guest without a responder stays
#   INITIALIZING until set-counter-mapping, and again after a reset; a
#   live migration gives the destination a new marker and the same
#   generation and continues it;
#   save + two restores give two new, distinct generations; remove-guest
#   leaves the RAM file alone; errors are clear.
# Ends with "N passed, N failed".

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
O=${E2E_O:-${O:-build}}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
VMCLOCKD=${VMCLOCKD_BIN:-$O/daemon/vmclockd}
VMCLOCKCTL=${VMCLOCKCTL_BIN:-$O/daemon/vmclockctl}
QMPCMD=$ROOT/tests/e2e/qmp-cmd.py
GPA=0x1000000
MBOX=0x1001000
DIR=$(mktemp -d /tmp/t-qemu-adapter.XXXXXX)
PORT=$((5000 + $$ % 1000))
PASSED=0
FAILED=0
DPID=
declare -A QPID

cleanup() {
	local n

	for n in "${!QPID[@]}"; do kill "${QPID[$n]}" 2>/dev/null; done
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

check() {
	local name=$1

	shift
	if "$@"; then
		PASSED=$((PASSED + 1))
		echo "PASS $name"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name"
		tail -n 15 "$DIR/vmclockd.log" | sed 's/^/  log: /'
	fi
}

# Up to 30 s for a condition, never a fixed sleep.
wait_until() {
	local end=$((SECONDS + 30))

	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

ctl() { "$VMCLOCKCTL" --run-dir "$DIR/run" --timeout 60 "$@" >/dev/null; }

# field NAME FIELD: a page field from NAME's RAM file at $GPA.
field() {
	python3 - "$DIR/$1.ram" "$2" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb")
f.seek(0x1000000)
p = f.read(112)
off = {"magic": (0, "<I"), "seq": (0x0c, "<I"), "marker": (0x10, "<Q"),
       "flags": (0x18, "<Q"), "status": (0x22, "<B"),
       "generation": (0x68, "<Q")}[sys.argv[2]]
print(struct.unpack_from(off[1], p, off[0])[0])
EOF
}

# start_qemu NAME [incoming]
start_qemu() {
	local n=$1

	truncate -s 32M "$DIR/$n.ram"
	qemu-system-x86_64 -accel tcg -M pc,memory-backend=ram -m 32M \
		-object memory-backend-file,id=ram,size=32M,mem-path="$DIR/$n.ram",share=on \
		-display none -nodefaults -device pc-testdev -S \
		${2:+-incoming defer} \
		-qmp unix:"$DIR/$n.qmp",server=on,wait=off \
		-qmp unix:"$DIR/$n.qmp2",server=on,wait=off \
		</dev/null >"$DIR/$n.qemu.log" 2>&1 &
	QPID[$n]=$!
	wait_until test -S "$DIR/$n.qmp2"
}

stop_qemu() {
	kill "${QPID[$1]}" 2>/dev/null
	wait "${QPID[$1]}" 2>/dev/null
	unset "QPID[$1]"
}

logged() { grep -q "$1" "$DIR/vmclockd.log"; }
status_is() { [ "$(field "$1" status)" = "$2" ]; }
seq_moved() { [ "$(field "$1" seq)" != "$2" ]; }
marker_not() { [ "$(field "$1" marker)" != "$2" ]; }
running() { "$QMPCMD" "$DIR/$1.qmp2" query-status | grep -q '"running"'; }

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "FAIL qemu-system-x86_64 is not installed"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$DIR/run"
"$VMCLOCKD" --config= --run-dir="$DIR/run" --socket-group= \
	--interval-ms=200 --log-level=debug >"$DIR/vmclockd.log" 2>&1 &
DPID=$!
wait_until test -S "$DIR/run/control" || { echo "0 passed, 1 failed"; exit 1; }

# A fresh guest.
start_qemu A
check "add-qemu A" ctl add-qemu A qmp="$DIR/A.qmp" ram="$DIR/A.ram" gpa=$GPA
check "QMP connected" wait_until logged "A: QMP .* connected"
check "page at the GPA of the RAM file (magic VCLK)" \
	[ "$(field A magic)" = $((0x4b4c4356)) ]
flags=$(field A flags)
check "generation present from the start, NOTIFICATION_PRESENT set" \
	[ $((flags & 0x300)) = $((0x300)) -a "$(field A generation)" != 0 ]
seq=$(field A seq)
check "the page is updated" wait_until seq_moved A "$seq"
marker=$(field A marker)
gen=$(field A generation)

# Someone else stops and continues it: a VMM-set mapping stays.
"$QMPCMD" "$DIR/A.qmp2" cont >/dev/null
check "STOP seen" sh -c "'$QMPCMD' '$DIR/A.qmp2' stop >/dev/null" &&
	wait_until logged "A: QMP STOP"
"$QMPCMD" "$DIR/A.qmp2" cont >/dev/null
check "RESUME seen" wait_until logged "A: QMP RESUME"
check "stop/cont with a VMM mapping: same marker" \
	[ "$(field A marker)" = "$marker" ]

# QEMU restarts on the same socket and RAM file: vmclockd reconnects.
stop_qemu A
start_qemu A
check "QMP reconnects after QEMU restarts" wait_until sh -c \
	"[ \"\$(grep -c 'A: QMP .* connected' '$DIR/vmclockd.log')\" -ge 2 ]"
seq=$(field A seq)
check "the page is still updated after the restart" wait_until seq_moved A "$seq"

# A mailbox guest with no responder waits for its mapping.
start_qemu M
check "add-qemu with a mailbox" ctl add-qemu M qmp="$DIR/M.qmp" \
	ram="$DIR/M.ram" gpa=$GPA mailbox=$MBOX irq=0
check "no responder: INITIALIZING" wait_until status_is M 1
check "irq=0: no NOTIFICATION_PRESENT" [ $(($(field M flags) & 0x200)) = 0 ]
ctl set-counter-mapping M offset=0 >/dev/null
check "set-counter-mapping ends INITIALIZING" \
	wait_until sh -c "[ \"\$(python3 -c 'import struct;f=open(\"$DIR/M.ram\",\"rb\");f.seek(0x1000022);print(f.read(1)[0])')\" != 1 ]"
# A guest reset moves a measured mapping: new marker, INITIALIZING.
marker=$(field M marker)
"$QMPCMD" "$DIR/M.qmp2" system_reset >/dev/null
check "reset: new marker" wait_until marker_not M "$marker"
check "reset: INITIALIZING until measured again" status_is M 1
marker=$(field A marker)
ctl remove-guest M >/dev/null
check "remove-guest leaves the RAM file" [ -s "$DIR/M.ram" ]
stop_qemu M

# Live migration A -> B.
start_qemu B incoming
check "add-qemu B incoming=1" ctl add-qemu B qmp="$DIR/B.qmp" \
	ram="$DIR/B.ram" gpa=$GPA incoming=1
check "incoming B tcp:" ctl incoming B "tcp:127.0.0.1:$PORT"
check "migrate A tcp:" ctl migrate A "tcp:127.0.0.1:$PORT"
check "B: migrated in, page rewritten" \
	wait_until logged "B: migrated in: page rewritten"
check "B: new marker" marker_not B "$marker"
check "B: same generation" [ "$(field B generation)" = "$gen" ]
check "B: continued by the adapter" wait_until running B
check "A: migrated out" wait_until logged "A: migrated out"
stop_qemu A
marker=$(field B marker)

# Snapshot and two restores.
check "save B FILE" ctl save B "$DIR/snap"
check "snapshot written" [ -s "$DIR/snap" ]
stop_qemu B
gens=
for n in C D; do
	start_qemu $n incoming
	ctl add-qemu $n qmp="$DIR/$n.qmp" ram="$DIR/$n.ram" gpa=$GPA \
		incoming=1 >/dev/null
	check "restore $n FILE" ctl restore $n "$DIR/snap"
	check "$n: restored, page rewritten" \
		wait_until logged "$n: restored: page rewritten"
	g=$(field $n generation)
	check "$n: new generation and marker" \
		[ "$g" != "$gen" -a "$(field $n marker)" != "$marker" ]
	gens="$gens $g"
	stop_qemu $n
done
g1=${gens# } g1=${g1%% *} g2=${gens##* }
check "two restores: distinct generations ($g1, $g2)" [ "$g1" != "$g2" ]

# Clear errors.
check "unknown guest refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' migrate nobody tcp:127.0.0.1:1 2>/dev/null"
check "page above the file refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' add-qemu X qmp=/nonexistent ram='$DIR/snap' gpa=0x40000000 2>/dev/null"
check "bad irq refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' add-qemu X qmp=/x ram='$DIR/snap' irq=2 2>/dev/null"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
