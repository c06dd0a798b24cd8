#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-crash.sh - crash safety: vmclockd killed with SIGKILL at random
# points CRASHES times (default 20; make check-stress runs 1000) while
# readers (crashwatch) keep the host page and two guest pages mapped.
# Updates run every 10 ms, so kills land in start-up (adoption), between
# updates and inside them; every fifth round also adds or removes a guest
# just before the kill.
#
# Must hold: the pages stay valid, time never goes back, no marker or
# generation changes; a kill that leaves seq_count odd makes reads fail
# with -ETIMEDOUT within the deadline (vmclock says so, exit 1) and reads
# recover once the next vmclockd adopts the page (random kills rarely land
# inside an update, so the last one is made to: seq_count left odd); a restarted vmclockd
# always comes up and serves; a half-made guest page never stops it.
# Uses tests/daemon/lib.sh (vmclockd's documented test interface).
# Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

CRASHES=${CRASHES:-20}
CRASHWATCH=${VMCLOCK_CRASHWATCH_BIN:-$ROOT/$O/tests/hostile/crashwatch}
STOP=$RUN.stop
H=$RUN/host
G1=$RUN/guests/vm1
G2=$RUN/guests/vm2
rm -f "$STOP"

# A random number of milliseconds below $1.
rand_ms() { echo $(($(od -An -N2 -tu2 /dev/urandom) % $1)); }
msleep() { sleep "$(printf '0.%03d' "$1")"; }
# seq_count from the page's bytes (offset 12, little-endian), no reader.
raw_seq() { od -An -j12 -N4 -tu4 --endian=little "$1" | tr -d ' '; }

launch() {
	"$VMCLOCKD_BIN" --config= --run-dir="$RUN" --interval-ms=10 --samples=8 \
		--socket-group= --log-level=info >>"$LOG" 2>&1 &
	DPID=$!
}

if [ ! -x "$CRASHWATCH" ] || [ ! -x "$VMCLOCK_CLI_BIN" ]; then
	fail "build first: $CRASHWATCH $VMCLOCK_CLI_BIN"
	finish
	exit 1
fi
check "daemon starts" start_daemon --interval-ms=10 --samples=8 || { finish; exit 1; }
ctl add-guest vm1 offset=1000 >/dev/null
ctl add-guest vm2 offset=-5000 scale=0x100000000 frac-bits=32 >/dev/null
ctl restored vm1 generation=77 >/dev/null
check "host and guests published" wait_until seq_advances "$G2"
hm=$(field "$H" disruption_marker)
g1m=$(field "$G1" disruption_marker)
g1g=$(field "$G1" vm_generation_counter)

CRASHWATCH_MAX_SECONDS=$((CRASHES + 300)) \
	"$CRASHWATCH" "$STOP" "$H" "$G1" >"$RUN.watch" 2>&1 &
WPID=$!

odd=0
odd_clear=0
odd_slow=0
starts=0
i=0
while [ $i -lt "$CRASHES" ]; do
	i=$((i + 1))
	case $((i % 10)) in
	5) timeout 10 "$VMCLOCKCTL_BIN" --run-dir "$RUN" add-guest vm3 offset=1 \
		>/dev/null 2>&1 & ;;
	0) timeout 10 "$VMCLOCKCTL_BIN" --run-dir "$RUN" remove-guest vm3 \
		>/dev/null 2>&1 & ;;
	esac
	msleep "$(rand_ms 60)"
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
	# A writer that died mid-update: readers must say so, promptly.
	if [ $(($(raw_seq "$H") % 2)) -eq 1 ]; then
		odd=$((odd + 1))
		t0=$(date +%s%N)
		"$VMCLOCK_CLI_BIN" now --device "$H" >/dev/null 2>"$RUN.err"
		rc=$?
		t1=$(date +%s%N)
		[ $rc -eq 1 ] && grep -q 'stuck or gone' "$RUN.err" && odd_clear=$((odd_clear + 1))
		[ $(((t1 - t0) / 1000000)) -lt 1000 ] || odd_slow=$((odd_slow + 1))
	fi
	launch
	starts=$((starts + 1))
done
# A vmclockd that dies inside a transaction, made certain: kill it, then
# leave the host page's seq_count odd as a death mid-update would.
kill -KILL "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=
s=$(raw_seq "$H")
[ $((s % 2)) -eq 0 ] && s=$((s + 1))
python3 -c "
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(12)
    f.write(struct.pack('<I', int(sys.argv[2]) & 0xffffffff))
" "$H" "$s"
t0=$(date +%s%N)
"$VMCLOCK_CLI_BIN" now --device "$H" >/dev/null 2>"$RUN.err"
rc=$?
t1=$(date +%s%N)
check "writer dead mid-update: vmclock says stuck or gone" \
	sh -c "[ $rc -eq 1 ] && grep -q 'stuck or gone' '$RUN.err'"
check "writer dead mid-update: the error came within 1 s" \
	[ $(((t1 - t0) / 1000000)) -lt 1000 ]
# The last one must come up, adopt everything (closing the open
# transaction) and serve.
check "restarted after $CRASHES kills" start_daemon --interval-ms=10 --samples=8
check "vmclock reads the host page again" "$VMCLOCK_CLI_BIN" now --device "$H" --json
check "serves the control socket" sh -c "'$VMCLOCKCTL_BIN' --run-dir '$RUN' ping"
check "host page updated again" seq_advances "$H"
check "guest vm1 updated again" seq_advances "$G1"
check "guest vm2 updated again" seq_advances "$G2"
check "host marker unchanged" [ "$(field "$H" disruption_marker)" = "$hm" ]
check "vm1 marker unchanged" [ "$(field "$G1" disruption_marker)" = "$g1m" ]
check "vm1 generation unchanged" [ "$(field "$G1" vm_generation_counter)" = "$g1g" ]
check "vm1 generation is the one set" [ "$g1g" = 77 ]
if [ -e "$RUN/guests/vm3" ]; then
	check "half-made guest vm3 is a valid page" "$VMCLOCKD_PROBE" dump "$RUN/guests/vm3"
fi
touch "$STOP"
# crashwatch stops at the stop file (or after CRASHWATCH_MAX_SECONDS).
wait "$WPID"
rc=$?
cat "$RUN.watch"
check "readers: valid pages, no time back, no marker/generation change" [ $rc -eq 0 ]
check "readers of the host page timed out, then recovered" \
	grep -q "^ok $H: .* [1-9][0-9]* timed out.* [1-9][0-9]* recovered" "$RUN.watch"
echo "crash: $CRASHES kills, $odd with seq_count odd ($odd_clear clear errors, $odd_slow slow)"
check "every kill mid-update gave a clear error" [ "$odd_clear" -eq "$odd" ]
check "every such error came within 1 s" [ "$odd_slow" -eq 0 ]
rm -f "$STOP" "$RUN.watch" "$RUN.err"
finish
