#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cli-test.sh - the vmclock command against page files written by
# libvmclock's writer (tests/cli/mkpage): every subcommand, its JSON checked
# with real parsers (python3's json module, and jq), every error path with
# its message and exit code, and watch with hooks while a writer updates
# the page.  Waits are for conditions, with generous timeouts.
#
#   VMCLOCK_CLI_BIN=build/cli/vmclock VMCLOCK_MKPAGE_BIN=build/tests/cli/mkpage \
#	tests/cli/cli-test.sh
#
# Ends with "N passed, N failed"; exits non-zero on failure.

O=${O:-build}
V=${VMCLOCK_CLI_BIN:-$O/cli/vmclock}
M=${VMCLOCK_MKPAGE_BIN:-$O/tests/cli/mkpage}
V=$(readlink -f "$V")
M=$(readlink -f "$M")
passed=0
failed=0
T=$(mktemp -d /tmp/vmclock-cli-test.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${MK_PID:-}" ] && kill "$MK_PID" 2>/dev/null
	[ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
unset VMCLOCK_DEVICE VMCLOCK_ACCESS
# The disruption state between runs stays in the test's directory.
export VMCLOCK_STATE_DIR=$T/state

if [ ! -x "$V" ] || [ ! -x "$M" ]; then
	echo "cli-test: build first: $V, $M"
	echo "0 passed, 1 failed"
	exit 1
fi
# jq is the second JSON parser; python3 is the first and is required.
if ! command -v jq >/dev/null; then
	apt-get install -y jq >/dev/null 2>&1 || echo "cli-test: no jq: python3 only"
fi

ok() {
	passed=$((passed + 1))
	echo "PASS $1"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	for l in "$@"; do echo "  $l"; done
}

# run NAME WANT_RC CMD... : runs CMD, keeps stdout in $T/out and stderr
# in $T/err, and checks the exit code.
run() {
	local name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name" "exit $rc, want $want: $*" "stdout: $(head -c 600 "$T/out")" \
			"stderr: $(head -c 600 "$T/err")"
		return 1
	fi
	return 0
}

# expect NAME FILE TEXT... : each TEXT is in FILE.
expect() {
	local name=$1 file=$2
	shift 2
	for s in "$@"; do
		if ! grep -qF -- "$s" "$file"; then
			bad "$name" "no '$s' in $(basename "$file"):" "$(head -c 800 "$file")"
			return 1
		fi
	done
	ok "$name"
}

# json NAME PYTHON_EXPR : $T/out is one JSON object (or one per line) for
# both parsers, and the expression over d (the last object) and all (every
# object) holds.
json() {
	local name=$1 expr=$2
	if ! python3 - "$T/out" "$expr" <<'EOF' >"$T/pyerr" 2>&1; then
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
all = [json.loads(l) for l in lines]
d = all[-1]
if not eval("(" + sys.argv[2] + ")"):
    print("false:", sys.argv[2]); print(json.dumps(all)[:800]); sys.exit(1)
EOF
		bad "$name" "$(cat "$T/pyerr")"
		return 1
	fi
	if command -v jq >/dev/null && ! jq -e . "$T/out" >/dev/null 2>"$T/jqerr"; then
		bad "$name" "jq: $(cat "$T/jqerr")"
		return 1
	fi
	ok "$name"
}

# wait_for TIMEOUT_S CMD... : until CMD succeeds; 1 on timeout.
wait_for() {
	local limit=$(($1 * 20)) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

P=$T/page
UTC=1800000000
# A precise page evaluated at fixed counters: UTC 1.8e9 s at counter 10^12,
# 1 GHz, 1 us max error, 10 ppm; TAI offset 37; generation 1; marker 1.
"$M" "$P" init calibrate 1000000000 1000000000000 $UTC 1000 \
	status SYNCHRONIZED tai 37 generation marker

# --- status
if run status-text 0 "$V" status --device "$P"; then
	expect status-text "$T/out" "magic:                 0x4b4c4356 (VCLK)" \
		"counter_id:            1 (X86_TSC" "clock_status:          2 (SYNCHRONIZED)" \
		"1000000000.000 Hz" "period_maxerror_rate:  10.000000 ppm" \
		"tai_offset:            37 s (valid)" "read by mmap" "(file," \
		"time_maxerror:         1000 ns" "vm_generation_counter: 1" "system_clock:" \
		"flags:                 0x179 (TAI_OFFSET_VALID" "calibration_age:"
fi
if run status-json 0 "$V" status --device "$P" --json; then
	json status-json 'd["magic"] == 0x4b4c4356 and d["version"] == 1 and
d["size"] == 4096 and d["counter_name"] == "X86_TSC" and
d["time_type_name"] == "UTC" and d["clock_status"] == "SYNCHRONIZED" and
abs(d["counter_hz"] - 1e9) < 1 and abs(d["period_maxerror_ppm"] - 10) < 1e-3 and
d["tai_offset_sec"] == 37 and d["tai_offset_valid"] is True and
"VM_GEN_COUNTER_PRESENT" in d["flag_names"] and d["time_sec"] == 1800000000 and
d["time_maxerror_ns"] == 1000 and d["access"] == "mmap" and
d["file_type"] == "file" and d["disruption_marker"] == 1 and
d["vm_generation_counter"] == 1 and d["seq_count"] % 2 == 0 and
type(d["system_clock_synchronized"]) is bool'
fi
if VMCLOCK_ACCESS=pread run status-pread 0 "$V" status --device "$P" --json; then
	json status-pread 'd["access"] == "pread"'
fi
if VMCLOCK_DEVICE=$P run status-env-device 0 "$V" status --json; then
	json status-env-device 'd["device"].endswith("/page")'
fi

# --- now --counter: exact values at 1 ms after the calibration
C=1000001000000
if run now-counter-json 0 "$V" now --device "$P" --counter $C --json; then
	json now-counter-json 'abs(d["utc_ns"] - (1800000000 * 10**9 + 10**6)) <= 1 and
d["tai_ns"] == d["utc_ns"] + 37 * 10**9 and d["maxerror_ns"] == 1010 and
d["esterror_ns"] == 101 and d["earliest_ns"] == d["utc_ns"] - 1010 and
d["latest_ns"] == d["utc_ns"] + 1010 + 1 and d["clock_status"] == "SYNCHRONIZED" and
d["leap_indicator"] == "NONE" and d["disruption_marker"] == 1 and
d["vm_generation_counter"] == 1 and d["counter"] == 1000001000000 and
d["seq_count"] % 2 == 0 and d["source"] == "page" and
set(["tai_ns", "utc_ns", "maxerror_ns", "esterror_ns", "earliest_ns",
"latest_ns", "clock_status", "leap_indicator", "disruption_marker",
"vm_generation_counter", "seq_count", "counter"]) <= set(d)'
fi
if run now-counter-text 0 "$V" now --device "$P" --counter $C; then
	expect now-counter-text "$T/out" "maxerror: 1010 ns" "esterror: 101 ns" \
		"utc:      2027-01-15T08:00:00.00" "counter 1000001000000"
fi
if run now-counter-strict 0 "$V" now --device "$P" --counter $C --strict --json; then
	json now-counter-strict 'd["maxerror_ns"] == 1010'
fi

# --- now --strict, and the default bound (every mode)
S=$T/live
"$M" "$S" init calibrate-now 0 1000 status SYNCHRONIZED tai 37
if [ "$("$V" status --device "$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])')" = precise ]; then
	if run now-strict 0 "$V" now --device "$S" --strict --json; then
		json now-strict 'd["source"] == "page" and d["bounded"] and
d["earliest_ns"] <= d["utc_ns"] <= d["latest_ns"] and d["counter"] is not None'
	fi
	if run now-auto-precise 0 "$V" now --device "$S" --json; then
		json now-auto-precise 'd["source"] == "page" and d["bounded"]'
	fi
else
	echo "SKIP now-strict: this CPU's counter is not the page's"
fi
B=$T/basic
"$M" "$B" init status SYNCHRONIZED
if run now-strict-basic 1 "$V" now --device "$B" --strict; then
	expect now-strict-basic "$T/err" "no bounded time from the page" "basic mode"
fi
"$M" "$P" status UNKNOWN
if run now-strict-unknown 1 "$V" now --device "$P" --counter $C --strict; then
	expect now-strict-unknown "$T/err" "clock_status UNKNOWN"
fi
"$M" "$P" status SYNCHRONIZED
# Basic mode: the system clock and the kernel's NTP state, synced or not.
if run now-basic 0 "$V" now --device "$B" --json; then
	json now-basic 'd["source"] == "system" and d["counter"] is None and
d["utc_ns"] is not None and
((d["bounded"] and d["earliest_ns"] <= d["utc_ns"] <= d["latest_ns"]
  and d["maxerror_ns"] >= 500000) or
 (not d["bounded"] and d["maxerror_ns"] is None and d["earliest_ns"] is None
  and "synchronized" in d["reason"]))'
fi

# --- check
if [ -s "$S" ] && [ "$("$V" status --device "$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])')" = precise ]; then
	if run check-ok 0 "$V" check --device "$S" --require-synchronized --max-error 30000000; then
		expect check-ok "$T/out" "OK: maxerror" "SYNCHRONIZED (source: page)"
	fi
	if run check-max-error 1 "$V" check --device "$S" --max-error 1; then
		expect check-max-error "$T/out" "CRITICAL: maxerror" "exceeds 1 ns"
	fi
	"$M" "$S" status FREERUNNING
	if run check-freerunning 1 "$V" check --device "$S" --require-synchronized --json; then
		json check-freerunning 'd["ok"] is False and "FREERUNNING" in d["message"] and
d["source"] == "page"'
	fi
	run check-freerunning-ok 0 "$V" check --device "$S" && ok check-freerunning-ok

	# --- wait-sync: INITIALIZING, then SYNCHRONIZED while it waits.  The
	# max error excludes basic mode (its bound is at least 500 us) and
	# leaves the page's (1 us, growing 10 us/s) 30 s to spare.
	"$M" "$S" calibrate-now 0 1000 status INITIALIZING
	if run wait-sync-timeout 1 "$V" wait-sync --device "$S" --timeout 0.3 --max-error 300000; then
		expect wait-sync-timeout "$T/err" "timed out after 0.300 s"
	fi
	"$V" wait-sync --device "$S" --timeout 60 --max-error 300000 --json \
		>"$T/ws.out" 2>&1 &
	ws=$!
	"$M" "$S" status SYNCHRONIZED
	if wait "$ws"; then
		cp "$T/ws.out" "$T/out"
		json wait-sync 'd["synchronized"] and d["source"] == "page" and d["maxerror_ns"] <= 300000'
	else
		bad wait-sync "exit $?: $(cat "$T/ws.out")"
	fi
	if run wait-sync-now 0 "$V" wait-sync --device "$S" --timeout 0; then
		expect wait-sync-now "$T/out" "synchronized: maxerror"
	fi
fi
if run check-basic-json "$("$V" check --device "$B" >/dev/null 2>&1; echo $?)" \
	"$V" check --device "$B" --json; then
	json check-basic-json '"ok" in d and d["source"] == "system" and "message" in d'
fi

# --- errors: message and exit code
if run err-missing 1 "$V" status --device "$T/nonexistent"; then
	expect err-missing "$T/err" "no such device" "ptp_vmclock" "Linux >= 6.13" \
		">= 7.0" "vmclock_guest" "kmod/"
fi
if [ ! -e /dev/vmclock0 ]; then
	if run err-default-device 1 "$V" now; then
		expect err-default-device "$T/err" "/dev/vmclock0: no such device"
	fi
fi
for cmd in now watch check wait-sync; do
	if run "err-missing-$cmd" 1 "$V" $cmd --device "$T/nonexistent"; then
		expect "err-missing-$cmd" "$T/err" "no such device"
	fi
done
cp "$P" "$T/private"
chmod 600 "$T/private"
if command -v setpriv >/dev/null; then
	asnobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
else
	asnobody=(runuser -u nobody --)
fi
if [ "$(id -u)" -eq 0 ]; then
	if run err-permission 1 "${asnobody[@]}" "$V" status --device "$T/private"; then
		expect err-permission "$T/err" "permission denied" "'vmclock'" \
			"60-vmclock.rules"
	fi
else
	echo "SKIP err-permission: not root"
fi
cp "$P" "$T/short"
"$M" "$T/short" truncate 50
if run err-truncated 1 "$V" status --device "$T/short"; then
	expect err-truncated "$T/err" "not a valid VMClock page" "bad size field 4096"
fi
: >"$T/empty"
if run err-empty 1 "$V" now --device "$T/empty"; then
	expect err-empty "$T/err" "only 0 bytes"
fi
cp "$P" "$T/magic"
"$M" "$T/magic" magic 0x12345678
if run err-magic 1 "$V" now --device "$T/magic" --json; then
	expect err-magic "$T/err" "bad magic 0x12345678" "expected 0x4b4c4356"
fi
cp "$P" "$T/stuck"
"$M" "$T/stuck" seq-odd
if run err-stuck 1 "$V" now --device "$T/stuck" --counter $C; then
	expect err-stuck "$T/err" "seq_count odd"
fi
if run err-stuck-status 1 "$V" status --device "$T/stuck"; then
	expect err-stuck-status "$T/err" "stuck"
fi
if run err-stuck-check 1 "$V" check --device "$T/stuck"; then
	expect err-stuck-check "$T/err" "seq_count odd"
fi

# --- usage: exit 2
run usage-none 2 "$V" && ok usage-none
run usage-unknown 2 "$V" frobnicate && expect usage-unknown "$T/err" "unknown command"
run usage-option 2 "$V" status --bogus && expect usage-option "$T/err" "Try 'vmclock status --help'"
run usage-counter 2 "$V" now --counter abc && expect usage-counter "$T/err" "--counter: not a non-negative integer"
run usage-timeout 2 "$V" wait-sync --timeout -1 && expect usage-timeout "$T/err" "--timeout"
run usage-maxerr 2 "$V" check --max-error x && ok usage-maxerr
run usage-arg 2 "$V" now extra && ok usage-arg
run usage-interval 2 "$V" watch --interval 0 && ok usage-interval
for cmd in status now watch check wait-sync; do
	run "help-$cmd" 0 "$V" $cmd --help && expect "help-$cmd" "$T/out" "usage: vmclock $cmd"
done
run help 0 "$V" --help && expect help "$T/out" "wait-sync"

# --- watch: every update, once, with hooks, while a writer changes the page
W=$T/watched
"$M" "$W" init calibrate 1000000000 1000000000000 $UTC 1000 status SYNCHRONIZED generation
coproc MK { "$M" "$W" serve; }
MK_PID=$MK_PID
read -r -t 30 ready <&"${MK[0]}"
HOOKLOG=$T/hooks.log
# Each hook logs its start and end; on-disrupt is slow so that the events
# that follow queue behind it, and fails so that its status is logged.
"$V" watch --device "$W" --interval 5 --json --timeout 120 \
	--on-disrupt "echo \"disrupt start \$VMCLOCK_EVENT \$VMCLOCK_DISRUPTION_MARKER \$VMCLOCK_SEQ_COUNT\" >>$HOOKLOG; sleep 0.3; echo \"disrupt end \$VMCLOCK_SEQ_COUNT\" >>$HOOKLOG; exit 3" \
	--on-restore "echo \"restore \$VMCLOCK_EVENT \$VMCLOCK_VM_GENERATION_COUNTER \$VMCLOCK_SEQ_COUNT\" >>$HOOKLOG" \
	--on-change "echo \"change start \$VMCLOCK_SEQ_COUNT \$VMCLOCK_EVENTS \$VMCLOCK_CLOCK_STATUS\" >>$HOOKLOG; echo \"change end \$VMCLOCK_SEQ_COUNT\" >>$HOOKLOG" \
	>"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
wait_for 30 grep -qs "watching" "$T/watch.err"

# send OP: one writer transaction; wait until watch reports its seq_count.
send() {
	local reply seq
	echo "$*" >&"${MK[1]}"
	read -r -t 30 reply <&"${MK[0]}"
	seq=${reply#ok }
	wait_for 30 grep -qs "\"seq_count\": $seq," "$T/watch.out" ||
		echo "watch did not report seq_count $seq after '$*'"
}
ops=("marker" "generation" "status FREERUNNING" "flags-set 0x2" "flags-set 0x4"
	"leap 1" "marker")
for op in "${ops[@]}"; do send "$op"; done
# A burst the watcher may see as one or more updates: none may be lost.
echo "marker" >&"${MK[1]}"
echo "marker" >&"${MK[1]}"
echo "marker" >&"${MK[1]}"
read -r -t 30 r1 <&"${MK[0]}"
read -r -t 30 r2 <&"${MK[0]}"
read -r -t 30 r3 <&"${MK[0]}"
last=${r3#ok }
wait_for 60 grep -qs "\"seq_count\": $last," "$T/watch.out" ||
	echo "watch did not report the burst's seq_count $last"
# SIGTERM: watch stops, waits for the hooks it started or queued, exits 0.
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
wrc=$?
WATCH_PID=
exec {MK[1]}>&-
wait "$MK_PID" 2>/dev/null
MK_PID=

cp "$T/watch.out" "$T/out"
if [ "$wrc" -ne 0 ]; then
	bad watch-exit "exit $wrc" "$(cat "$T/watch.err")"
fi
json watch-lines 'len(all) >= 8 and sum(x["updates"] for x in all[7:]) == 3 and
[x["updates"] for x in all[:7]] == [1] * 7 and
[x["events"] for x in all[:7]] == [["disruption"], ["restore"], ["status"],
 ["flags", "maintenance-soon"], ["flags", "maintenance-imminent"], ["leap"],
 ["disruption"]] and
[x["changed"] for x in all[:7]] == [["disruption_marker"],
 ["vm_generation_counter"], ["clock_status"], ["flags"], ["flags"],
 ["leap_indicator"], ["disruption_marker"]] and
all[2]["clock_status"] == "FREERUNNING" and
False not in [all[i]["previous_seq_count"] == all[i-1]["seq_count"]
 for i in range(1, len(all))]'
python3 - "$T/watch.out" "$HOOKLOG" "$T/watch.err" >"$T/pyerr" 2>&1 <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
burst = sum(x["updates"] for x in lines[7:])
hooks = [l.split() for l in open(sys.argv[2])]
err = open(sys.argv[3]).read()
seqs = [str(x["seq_count"]) for x in lines]
dis = [str(x["seq_count"]) for x in lines if "disruption" in x["events"]]
res = [str(x["seq_count"]) for x in lines if "restore" in x["events"]]
ds = [h for h in hooks if h[0] == "disrupt" and h[1] == "start"]
de = [h for h in hooks if h[0] == "disrupt" and h[1] == "end"]
rs = [h for h in hooks if h[0] == "restore"]
cs = [h for h in hooks if h[0] == "change" and h[1] == "start"]
fails = []
def need(c, what):
    if not c: fails.append(what)
need(burst == 3 if len(lines) > 7 else False, "burst updates %d != 3" % burst)
need([h[4] for h in ds] == dis, "on-disrupt runs %s != %s" % ([h[4] for h in ds], dis))
need(all(h[2] == "disruption" for h in ds), "VMCLOCK_EVENT of on-disrupt")
need([h[3] for h in ds] == [str(x["disruption_marker"]) for x in lines if "disruption" in x["events"]],
     "VMCLOCK_DISRUPTION_MARKER")
need([h[3] for h in rs] == res, "on-restore runs")
need(all(h[1] == "restore" for h in rs), "VMCLOCK_EVENT of on-restore")
need([h[2] for h in cs] == seqs, "on-change runs %s != %s" % ([h[2] for h in cs], seqs))
need(cs[2][4] == "FREERUNNING" if len(cs) > 2 else False, "VMCLOCK_CLOCK_STATUS")
need(cs[0][3] == "disruption" if cs else False, "VMCLOCK_EVENTS")
# Never concurrently with itself: each start is followed by its own end.
for name in ("disrupt", "change"):
    seq = [h for h in hooks if h[0] == name]
    for i in range(0, len(seq), 2):
        need(seq[i][1] == "start" and i + 1 < len(seq) and seq[i + 1][1] == "end"
             and seq[i + 1][2] == seq[i][-1 if name == "disrupt" else 2],
             "%s overlapped itself near %s" % (name, seq[i]))
need(err.count("hook --on-disrupt") == len(ds) and err.count("exited 3") == len(ds),
     "on-disrupt exit status logged %d times for %d runs" % (err.count("exited 3"), len(ds)))
need(err.count("hook --on-change") == len(cs), "on-change exit status logged")
if fails:
    print("\n".join(fails)); print(open(sys.argv[2]).read()); sys.exit(1)
EOF
[ $? -eq 0 ] && ok watch-hooks || bad watch-hooks "$(cat "$T/pyerr")"

# watch, text mode, --timeout without --count ends with 0; with an
# unreached --count, 1.
run watch-timeout 0 "$V" watch --device "$W" --timeout 0.2 && ok watch-timeout
run watch-count-timeout 1 "$V" watch --device "$W" --timeout 0.2 --count 1 &&
	expect watch-count-timeout "$T/err" "timed out after 0 of 1 updates"
"$V" watch --device "$W" --count 1 --timeout 60 >"$T/wt.out" 2>"$T/wt.err" &
wt=$!
wait_for 30 grep -qs "watching" "$T/wt.err"
"$M" "$W" generation
wait "$wt" && grep -q "changed vm_generation_counter; events restore;" "$T/wt.out" &&
	ok watch-text || bad watch-text "$(cat "$T/wt.out" "$T/wt.err")"

# watch survives a writer stuck mid-update and reports the update that
# ends it (seq_count odd, then even: one update that changed no field).
"$V" watch --device "$W" --count 1 --timeout 60 --json >"$T/ws.out" 2>"$T/ws.err" &
wt=$!
wait_for 30 grep -qs "watching" "$T/ws.err"
"$M" "$W" seq-odd
wait_for 30 grep -qs "seq_count odd" "$T/ws.err"
"$M" "$W" seq-even
if wait "$wt" && grep -q "readable again" "$T/ws.err"; then
	cp "$T/ws.out" "$T/out"
	json watch-stuck 'len(all) == 1 and d["updates"] == 1 and d["events"] == [] and
d["changed"] == []'
else
	bad watch-stuck "$(cat "$T/ws.out" "$T/ws.err")"
fi

# A page file overwritten under a running watch: a clear error, exit 1.
"$V" watch --device "$W" --timeout 60 >"$T/wb.out" 2>"$T/wb.err" &
wt=$!
wait_for 30 grep -qs "watching" "$T/wb.err"
"$M" "$W" magic 0
wait "$wt"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "not a valid VMClock page any more: bad magic" "$T/wb.err"; then
	ok watch-page-invalidated
else
	bad watch-page-invalidated "exit $rc" "$(cat "$T/wb.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
