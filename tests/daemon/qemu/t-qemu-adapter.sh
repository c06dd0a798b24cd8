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
#   VMM-set mapping; QMP reconnects when QEMU restarts; a mailbox guest
#   without a responder stays INITIALIZING until set-counter-mapping, and
#   again after a reset; the shipped responder (vmclock respond, here on
#   the host through the RAM file) gets the mapping measured; vmclockd
#   restarted (SIGTERM, then SIGKILL) under running QEMUs attaches them
#   again: same marker and generation, the page updated again and giving
#   the host page's time, the measured mapping measured again and found
#   unchanged; a live migration gives the destination a new marker and
#   the same generation and continues it, also when vmclockd is down while
#   it completes; save + two restores give two new, distinct generations,
#   the snapshot kept in snapshot-dir (paths elsewhere, unix: and file:
#   URIs, a symlinked or missing snapshot, an existing name refused);
#   remove-guest leaves the RAM file alone; a guest added before its QEMU
#   answers waits, writing nothing, attaches once QEMU confirms its RAM
#   file, and follows QEMU to a new RAM file; errors are clear; vmclockd
#   exits 0 after SIGTERM, having freed everything (ASan's leak check in
#   make check's sanitizer pass).
# Ends with "N passed, N failed".

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
O=${E2E_O:-${O:-build}}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
VMCLOCKD=${VMCLOCKD_BIN:-$O/daemon/vmclockd}
VMCLOCKCTL=${VMCLOCKCTL_BIN:-$O/daemon/vmclockctl}
VMCLOCK=${VMCLOCK_CLI_BIN:-$O/cli/vmclock}
QMPCMD=$ROOT/tests/e2e/qmp-cmd.py
GPA=0x1000000
MBOX=0x1001000
DIR=$(mktemp -d /tmp/t-qemu-adapter.XXXXXX)
PORT=$((5000 + $$ % 1000))
PASSED=0
FAILED=0
DPID=
RPID=
declare -A QPID

cleanup() {
	local n

	for n in "${!QPID[@]}"; do kill "${QPID[$n]}" 2>/dev/null; done
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP_LOG:-}" ] && cp "$DIR/vmclockd.log" "$KEEP_LOG"
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
status_not() { [ "$(field "$1" status)" != "$2" ]; }
# logged_since LINE PATTERN: in the log after its first LINE lines.
logged_since() { tail -n "+$(($1 + 1))" "$DIR/vmclockd.log" | grep -q "$2"; }
migrated() { "$QMPCMD" "$DIR/$1.qmp2" query-migrate | grep -q '"completed"'; }
reply_has() { printf '%s\n' "$OUT" | grep -q -- "$1"; }
# vctl ARGS: vmclockctl, its output (and errors) in $OUT.
vctl() { OUT=$("$VMCLOCKCTL" --run-dir "$DIR/run" --timeout 60 "$@" 2>&1); }

# qmp_args SOCKET COMMAND JSON: one command with arguments, from outside.
qmp_args() {
	python3 - "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())
for cmd, args in (("qmp_capabilities", {}), (sys.argv[2], json.loads(sys.argv[3]))):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while "event" in (m := json.loads(f.readline())):
        pass
    if "error" in m:
        sys.exit(str(m))
EOF
}

# page_ok NAME: NAME's page (a copy) gives the host page's time at the
# same counter (the mapping is the identity here) within 10 us, both
# bounded and with the same status.
page_ok() {
	dd if="$DIR/$1.ram" of="$DIR/$1.page" bs=4096 skip=$((GPA / 4096)) \
		count=1 2>/dev/null
	VMCLOCK_STATE_DIR=none python3 - "$VMCLOCK" "$DIR/$1.page" \
		"$DIR/run/host" <<'EOF'
import json, subprocess, sys
v, guest, host = sys.argv[1:4]
def now(*a):
    return json.loads(subprocess.run([v, "now", "--json", *a], check=True,
                                     capture_output=True).stdout)
g = now("--device", guest)
h = now("--device", host, "--counter", str(g["counter"]))
print(f"  guest {g['tai_ns']} +-{g['maxerror_ns']} {g['clock_status']}, "
      f"host {h['tai_ns']} +-{h['maxerror_ns']} {h['clock_status']}")
sys.exit(not (g["bounded"] and h["bounded"] and
              g["clock_status"] == h["clock_status"] and
              abs(g["tai_ns"] - h["tai_ns"]) <= 10000))
EOF
}

# start_vmclockd: its Nth start (STARTS), the log appended.
start_vmclockd() {
	"$VMCLOCKD" --config= --run-dir="$DIR/run" --socket-group= \
		--snapshot-dir="$DIR/snapshots" --interval-ms=200 \
		--log-level=debug >>"$DIR/vmclockd.log" 2>&1 &
	DPID=$!
	wait_until sh -c "[ \$(grep -c 'started: run dir' '$DIR/vmclockd.log') -ge $STARTS ]" &&
		wait_until test -S "$DIR/run/control"
}

# restart_vmclockd SIGNAL: kill it and start it again; SINCE marks where
# the new start's log begins.
restart_vmclockd() {
	kill "-$1" "$DPID"
	wait "$DPID" 2>/dev/null
	local rc=$?
	[ "$1" = TERM ] && check "SIGTERM: vmclockd exits 0 (under ASan: nothing leaked)" \
		[ "$rc" = 0 ]
	STARTS=$((STARTS + 1))
	SINCE=$(wc -l <"$DIR/vmclockd.log")
	start_vmclockd
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "FAIL qemu-system-x86_64 is not installed"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$DIR/run"
: >"$DIR/vmclockd.log"
STARTS=1
start_vmclockd || { echo "0 passed, 1 failed"; exit 1; }

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
# The shipped responder answers the probes: here on the host, through
# M's RAM file (the guest's memory), so the offset it gives is about 0.
"$VMCLOCK" respond --mem "$DIR/M.ram" --mailbox $MBOX >"$DIR/respond.log" 2>&1 &
RPID=$!
"$QMPCMD" "$DIR/M.qmp2" cont >/dev/null
check "vmclock respond: the mapping is measured" \
	wait_until logged "M: counter mapping measured"
check "measured: M is bounded again" wait_until status_not M 1
check "vmclock respond answered full bursts" \
	grep -q "request [0-9]*: 200 probes answered$" "$DIR/respond.log"

# vmclockd restarts under running QEMUs: A (a VMM mapping) and M (a
# measured one) are attached again from their records.
"$QMPCMD" "$DIR/A.qmp2" cont >/dev/null
check "add-qemu records kept in the run directory" \
	test -f "$DIR/run/guests/.A.qemu" -a -f "$DIR/run/guests/.M.qemu"
for sig in TERM KILL; do
	am=$(field A marker) ag=$(field A generation) aseq=$(field A seq)
	mm=$(field M marker) mg=$(field M generation)
	restart_vmclockd $sig
	check "SIG$sig restart: A attached again" \
		wait_until logged_since "$SINCE" "A: QEMU .* confirms .* as its guest RAM"
	check "SIG$sig restart: A: same marker and generation" \
		[ "$(field A marker)" = "$am" -a "$(field A generation)" = "$ag" ]
	check "SIG$sig restart: A: the page is updated again" \
		wait_until seq_moved A "$aseq"
	check "SIG$sig restart: A: the page gives the host page's time" \
		wait_until page_ok A
	check "SIG$sig restart: M: its mapping measured again, unchanged" \
		wait_until logged_since "$SINCE" "M: counter mapping unchanged"
	check "SIG$sig restart: M: bounded, same marker and generation" \
		wait_until status_not M 1
	check "SIG$sig restart: M: same marker and generation" \
		[ "$(field M marker)" = "$mm" -a "$(field M generation)" = "$mg" ]
done
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
RPID=
marker=$(field A marker)
ctl remove-guest M >/dev/null
check "remove-guest leaves the RAM file" [ -s "$DIR/M.ram" ]
check "remove-guest removes the record" [ ! -e "$DIR/run/guests/.M.qemu" ]
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

# B -> E completes while vmclockd is down: it catches up when back.
marker=$(field B marker)
start_qemu E incoming
check "add-qemu E incoming=1" ctl add-qemu E qmp="$DIR/E.qmp" \
	ram="$DIR/E.ram" gpa=$GPA incoming=1
check "incoming E tcp:" ctl incoming E "tcp:127.0.0.1:$((PORT + 1))"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
check "vmclockd down: B -> E migrated by someone else" \
	qmp_args "$DIR/B.qmp2" migrate "{\"uri\": \"tcp:127.0.0.1:$((PORT + 1))\"}"
check "... and completed" wait_until migrated E
STARTS=$((STARTS + 1))
SINCE=$(wc -l <"$DIR/vmclockd.log")
start_vmclockd
check "vmclockd back: E migrated in, page rewritten" \
	wait_until logged_since "$SINCE" "E: migrated in: page rewritten"
check "E: new marker, same generation" \
	[ "$(field E marker)" != "$marker" -a "$(field E generation)" = "$gen" ]
check "E: continued by the adapter" wait_until running E
check "vmclockd back: B migrated out" \
	wait_until logged_since "$SINCE" "B: migrated out"
stop_qemu B
marker=$(field E marker)

# Snapshots live in snapshot-dir: vmclockd opens them and hands QEMU the
# descriptor.  A path elsewhere, a socket or a file URI is refused before
# QEMU hears of it, and the VM runs on.
vctl save E "$DIR/outside"
check "save to a path outside snapshot-dir: refused, says what to give" \
	reply_has "is not in snapshot-dir $DIR/snapshots: give the snapshot's name"
check "... nothing written there, E still running" \
	sh -c "[ ! -e '$DIR/outside' ] && '$QMPCMD' '$DIR/E.qmp2' query-status | grep -q '\"running\"'"
vctl save E ../snap
check "save ../NAME: refused" reply_has "is not in snapshot-dir"
vctl migrate E "unix:$DIR/victim"
check "migrate uri=unix: refused" reply_has "is refused: QEMU would act on that socket path"
vctl migrate E "file:$DIR/victim"
check "migrate uri=file: refused" reply_has "is refused: QEMU would act on that file"
check "... and nothing made at those paths" [ ! -e "$DIR/victim" ]

# Snapshot and two restores.
check "save E NAME" ctl save E snap
check "snapshot written in snapshot-dir, owner-only" \
	sh -c "[ -s '$DIR/snapshots/snap' ] && [ \"\$(stat -c %a '$DIR/snapshots/snap')\" = 600 ]"
check "... and no temporary left" [ ! -e "$DIR/snapshots/.snap.part" ]
check "snapshot-dir made owner-only" [ "$(stat -c %a "$DIR/snapshots")" = 700 ]
vctl save E snap
check "save over an existing snapshot: refused" \
	reply_has "snapshot snap exists in $DIR/snapshots: remove it, or save under another name"
stop_qemu E
ln -s snap "$DIR/snapshots/link"
gens=
for n in C D; do
	start_qemu $n incoming
	ctl add-qemu $n qmp="$DIR/$n.qmp" ram="$DIR/$n.ram" gpa=$GPA \
		incoming=1 >/dev/null
	if [ $n = C ]; then
		vctl restore C link
		check "restore of a symbolic link: refused" \
			reply_has "a symbolic link: refused"
		vctl restore C missing
		check "restore of a missing snapshot: refused" \
			reply_has "no such snapshot"
		check "restore C NAME" ctl restore C snap
	else
		check "restore D DIR/NAME (a path inside snapshot-dir)" \
			ctl restore D "$DIR/snapshots/snap"
	fi
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

# A guest added before its QEMU answers waits and writes nothing, then
# attaches once QEMU confirms the file; it follows a QEMU that comes back
# on a new file at the same path.
truncate -s 32M "$DIR/W.ram"
vctl add-qemu W qmp="$DIR/W.qmp" ram="$DIR/W.ram" gpa=$GPA
check "add-qemu before QEMU runs: waiting" reply_has '"state":"waiting"'
check "waiting: the RAM file is not written" [ "$(field W magic)" = 0 ]
start_qemu W
check "QEMU answers: W attached" wait_until logged "W: QEMU .* confirms"
check "W: page at the GPA" \
	wait_until sh -c "[ \"\$(python3 -c 'import struct;f=open(\"$DIR/W.ram\",\"rb\");f.seek($GPA);print(struct.unpack(\"<I\",f.read(4))[0])')\" = $((0x4b4c4356)) ]"
stop_qemu W
rm -f "$DIR/W.ram"
start_qemu W
check "QEMU on a new RAM file: the page moves to it" \
	wait_until logged "W: QEMU's guest RAM .* is another file now"
check "W: page at the GPA of the new file" \
	wait_until sh -c "[ \"\$(python3 -c 'import struct;f=open(\"$DIR/W.ram\",\"rb\");f.seek($GPA);print(struct.unpack(\"<I\",f.read(4))[0])')\" = $((0x4b4c4356)) ]"

# Clear errors.
check "unknown guest refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' migrate nobody tcp:127.0.0.1:1 2>/dev/null"
# (W's second monitor: QEMU serves one client a monitor, and vmclockd
# holds the first.)
vctl add-qemu X qmp="$DIR/W.qmp2" ram="$DIR/W.ram" gpa=0x4000000
check "page outside QEMU's RAM refused" reply_has "outside QEMU's guest RAM"
vctl add-qemu X qmp="$DIR/W.qmp2" ram="$DIR/snapshots/snap" gpa=$GPA
check "a file that is not QEMU's RAM refused" \
	reply_has "is not the RAM file of this QEMU"
check "page above 2 GiB refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' add-qemu X qmp=/nonexistent ram='$DIR/snapshots/snap' gpa=0x80000000 2>/dev/null"
check "bad irq refused" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' add-qemu X qmp=/x ram='$DIR/snapshots/snap' irq=2 2>/dev/null"
check "no guest X left behind" sh -c "! '$VMCLOCKCTL' --run-dir '$DIR/run' status X >/dev/null 2>&1"
stop_qemu W

# Last, vmclockd stops with add-qemu guests (waiting, attached, one whose
# QEMU is gone): everything it allocated is freed (ASan's leak check).
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
rc=$?
DPID=
check "SIGTERM with add-qemu guests: vmclockd exits 0 (under ASan: nothing leaked)" \
	[ "$rc" = 0 ]
check "... and no sanitizer report in its log" \
	sh -c "! grep -q 'Sanitizer' '$DIR/vmclockd.log'"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
