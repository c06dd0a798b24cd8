#!/bin/bash
# SPDX-License-Identifier: MIT
#
# respond-test.sh - `vmclock respond` against a file standing in for the
# guest's /dev/mem, with vmclockd's own host side of the handshake
# (tests/cli/mbox-host, daemon/qemu.c's qemu_mbox_measure()) on the other
# end: each burst fully answered and the measured offset 0 within its
# window (both sides read this machine's counter); a host that stops
# probing mid-request is given up and the next request served; --count,
# --timeout and --json; and the errors (usage, no file, a mailbox past
# its end, no permission).  Waits are for conditions, with timeouts.
#
#   VMCLOCK_CLI_BIN=build/cli/vmclock VMCLOCK_MBOXHOST_BIN=build/tests/cli/mbox-host \
#	tests/cli/respond-test.sh
#
# Ends with "N passed, N failed"; exits non-zero on failure.

O=${O:-build}
V=$(readlink -f "${VMCLOCK_CLI_BIN:-$O/cli/vmclock}")
H=$(readlink -f "${VMCLOCK_MBOXHOST_BIN:-$O/tests/cli/mbox-host}")
ADDR=0x3000
passed=0
failed=0
T=$(mktemp -d /tmp/vmclock-respond-test.XXXXXX)
RPID=
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

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

if [ ! -x "$V" ] || [ ! -x "$H" ]; then
	echo "respond-test: build first: $V, $H"
	echo "0 passed, 1 failed"
	exit 1
fi

# respond_json FILE CODE: python3 over the JSON lines of FILE, as `rows`.
respond_json() {
	python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if eval(sys.argv[2].replace("\n", " ")) else 1)' "$1" "$2"
}

# Three measurements, each a full burst of 200 probes.
truncate -s 64K "$T/mem"
timeout 60 "$V" respond --mem "$T/mem" --mailbox $ADDR --count 3 --json \
	>"$T/r.out" 2>"$T/r.err" &
RPID=$!
if timeout 60 "$H" "$T/mem" $ADDR measure 3 >"$T/h.out" 2>&1; then
	ok "three bursts measured: offset 0 within the window"
else
	bad "three bursts measured" "$(cat "$T/h.out")"
fi
sed 's/^/  host: /' "$T/h.out"
wait "$RPID"
rc=$?
RPID=
if [ $rc -eq 0 ] && respond_json "$T/r.out" \
	'len(rows) == 3 and all(r["probes"] == 200 and r["complete"] for r in rows) and
[r["request"] for r in rows] == [1, 2, 3]'; then
	ok "--count 3: exit 0 after three complete requests (JSON)"
else
	bad "--count 3 --json" "exit $rc" "$(cat "$T/r.out" "$T/r.err")"
fi

# A host that goes away mid-request: given up, then the next is served.
timeout 60 "$V" respond --mem "$T/mem" --mailbox $ADDR --count 1 \
	>"$T/r.out" 2>"$T/r.err" &
RPID=$!
if timeout 60 "$H" "$T/mem" $ADDR abandon >"$T/h.out" 2>&1; then
	ok "abandoned request: its probe answered, the next request measured"
else
	bad "abandoned request" "$(cat "$T/h.out")"
fi
wait "$RPID"
rc=$?
RPID=
if [ $rc -eq 0 ] && grep -q "1 probes answered (the host stopped probing)" "$T/r.out" &&
	grep -q "200 probes answered$" "$T/r.out"; then
	ok "abandoned request reported, the next one counted"
else
	bad "abandoned request reported" "exit $rc" "$(cat "$T/r.out" "$T/r.err")"
fi

# No host at all: --timeout ends it, exit 1 only if --count was not met.
truncate -s 64K "$T/idle"
if timeout 30 "$V" respond --mem "$T/idle" --mailbox $ADDR --timeout 0.3 >"$T/r.out" 2>&1 &&
	[ ! -s "$T/r.out" ]; then
	ok "no host: --timeout exits 0, nothing answered"
else
	bad "no host: --timeout" "$(cat "$T/r.out")"
fi
timeout 30 "$V" respond --mem "$T/idle" --mailbox $ADDR --timeout 0.3 --count 1 >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && ok "no host: --count not reached by --timeout: exit 1" ||
	bad "no host: --count and --timeout" "exit $rc"
cmp -s "$T/idle" <(head -c 65536 /dev/zero) &&
	ok "no host: the memory was not written" ||
	bad "no host: the memory was written"

# Errors: a message that says what to do, and the exit code.
err_case() { # NAME WANT_RC TEXT ARGS...
	local name=$1 want=$2 text=$3 out rc
	shift 3
	out=$(timeout 30 "$V" respond "$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ] && grep -qF -- "$text" <<<"$out"; then
		ok "$name"
	else
		bad "$name" "exit $rc, want $want; no '$text' in:" "$out"
	fi
}
err_case "no --mailbox: usage" 2 "--mailbox ADDR is required" --mem "$T/mem"
err_case "unaligned --mailbox: usage" 2 "not 4 KiB aligned" --mem "$T/mem" --mailbox 0x3008
err_case "bad --mailbox: usage" 2 "not a non-negative integer" --mailbox x
err_case "extra argument: usage" 2 "unexpected argument" --mailbox $ADDR extra
err_case "missing memory file" 1 "No such file or directory" --mem "$T/none" --mailbox $ADDR
err_case "mailbox past the end of the file" 1 "lies beyond its end" --mem "$T/mem" --mailbox 0x10000
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T"
	chmod 600 "$T/mem"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$V" respond --mem "$T/mem" --mailbox $ADDR 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && grep -q "(mapping guest memory needs root, CAP_SYS_RAWIO): Permission denied" <<<"$out"; then
		ok "no permission: says root is needed"
	else
		bad "no permission" "exit $rc" "$out"
	fi
fi
out=$("$V" respond --help)
grep -q "usage: vmclock respond --mailbox ADDR" <<<"$out" && ok "--help" || bad "--help" "$out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
