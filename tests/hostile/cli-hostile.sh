#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cli-hostile.sh - hostile page files through the vmclock command: empty,
# truncated, oversized, a size field beyond the file, random garbage (with
# and without a valid header), no permission (as nobody when root), a
# directory, a FIFO, /dev/zero, a page stuck mid-update.  Every subcommand must
# fail with exit 1 and a message on stderr (or succeed where the page is
# valid), never die of a signal, and return within 10 s.
#
#   VMCLOCK_CLI_BIN=build/cli/vmclock VMCLOCK_MKPAGE_BIN=build/tests/cli/mkpage \
#	tests/hostile/cli-hostile.sh
#
# A FIFO with no writer (which once blocked the open) too.  Ends with
# "N passed, N failed".
O=${O:-build}
V=$(readlink -f "${VMCLOCK_CLI_BIN:-$O/cli/vmclock}")
M=$(readlink -f "${VMCLOCK_MKPAGE_BIN:-$O/tests/cli/mkpage}")
passed=0
failed=0
T=$(mktemp -d /tmp/vmclock-cli-hostile.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
unset VMCLOCK_DEVICE VMCLOCK_ACCESS
export VMCLOCK_STATE_DIR="$T/state"

if [ ! -x "$V" ] || [ ! -x "$M" ]; then
	echo "cli-hostile: build first: $V $M"
	echo "0 passed, 1 failed"
	exit 1
fi

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; }

# try NAME WANT FILE [AS]: every subcommand on FILE; WANT is "fail" (exit 1
# with a message) or "any" (exit 0 or 1, no signal).
try() {
	name=$1 want=$2 file=$3 as=${4:-}
	for cmd in "status" "status --json" "now" "now --json" "now --counter 1000" \
		"check" "wait-sync --timeout 0.2" "watch --count 1 --timeout 0.3"; do
		# shellcheck disable=SC2086
		if [ -n "$as" ]; then
			setpriv --reuid=65534 --regid=65534 --clear-groups \
				timeout 10 "$V" $cmd --device "$file" >"$T/out" 2>"$T/err"
		else
			timeout 10 "$V" $cmd --device "$file" >"$T/out" 2>"$T/err"
		fi
		rc=$?
		if [ "$rc" -ge 124 ]; then
			fail "$name: $cmd" "exit $rc (signal or timeout)" "$(head -c 300 "$T/err")"
			return
		fi
		if [ "$want" = fail ] && { [ "$rc" -ne 1 ] || [ ! -s "$T/err" ]; }; then
			fail "$name: $cmd" "exit $rc, want 1 and a message" \
				"stderr: $(head -c 300 "$T/err")"
			return
		fi
		if [ "$rc" -gt 2 ]; then
			fail "$name: $cmd" "exit $rc" "$(head -c 300 "$T/err")"
			return
		fi
	done
	pass "$name"
}

P=$T/page
"$M" "$P" init calibrate 1000000000 1000 1700000000 1000 status SYNCHRONIZED \
	>/dev/null || { echo "cli-hostile: mkpage failed"; echo "0 passed, 1 failed"; exit 1; }

: >"$T/empty"
try "empty file" fail "$T/empty"
head -c 31 "$P" >"$T/short"
try "31-byte file" fail "$T/short"
head -c 112 "$P" >"$T/cut"
try "file cut after the struct (size field 4096)" fail "$T/cut"
head -c 4095 "$P" >"$T/cut2"
try "file one byte short of its size field" fail "$T/cut2"
cat "$P" "$P" "$P" "$P" >"$T/big"
try "16 KiB file holding a page" any "$T/big"
head -c 100000 /dev/urandom >"$T/garbage"
try "random garbage" fail "$T/garbage"
i=0
while [ $i -lt 8 ]; do
	# A valid header (magic, size 4096, version 1) over random fields.
	{ printf 'VCLK\000\020\000\000\001\000'; head -c 4086 /dev/urandom; } >"$T/g$i"
	try "garbage behind a valid header #$i" any "$T/g$i"
	i=$((i + 1))
done
try "/dev/zero" fail /dev/zero
try "a directory" fail "$T"
mkfifo "$T/fifo"
try "a FIFO with no writer" fail "$T/fifo"
try "missing file" fail "$T/missing"
cp "$P" "$T/noperm"
chmod 000 "$T/noperm"
if [ "$(id -u)" -eq 0 ]; then
	try "no read permission (as nobody)" fail "$T/noperm" nobody
else
	try "no read permission" fail "$T/noperm"
fi
cp "$P" "$T/stuck"
"$M" "$T/stuck" seq-odd >/dev/null
try "page stuck mid-update" fail "$T/stuck"
cp "$P" "$T/magic"
"$M" "$T/magic" magic 0x12345678 >/dev/null
try "bad magic" fail "$T/magic"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
