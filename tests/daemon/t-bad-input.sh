#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-bad-input.sh - bad settings stop vmclockd with a clear message and
# exit status 2; malformed control requests get an error reply each and
# the daemon keeps serving.
. "$(dirname "$0")/lib.sh"

conf=$RUN.conf
mkdir -p "$RUN"
printf 'interval-ms 500\nbogus 1\n' >"$conf"
out=$("$VMCLOCKD_BIN" --config "$conf" --run-dir="$RUN" 2>&1)
rc=$?
check "unknown key: exit 2" [ $rc -eq 2 ]
check "unknown key: file:line" sh -c "echo '$out' | grep -q '$conf:2: unknown setting \"bogus\"'"
printf 'interval-ms 5\n' >"$conf"
out=$("$VMCLOCKD_BIN" --config "$conf" 2>&1)
check "out of range: says the range" sh -c "echo '$out' | grep -q 'outside 10..3600000'"
out=$("$VMCLOCKD_BIN" --samples=abc 2>&1)
check "bad option value" sh -c "echo '$out' | grep -q -- '--samples: \"abc\" is not a number'"
out=$("$VMCLOCKD_BIN" --no-such-option=1 2>&1)
check "unknown option" sh -c "echo '$out' | grep -q 'unknown setting \"no-such-option\"'"
out=$("$VMCLOCKD_BIN" --config /nonexistent.conf 2>&1)
check "missing config file" sh -c "echo '$out' | grep -q 'nonexistent.conf: No such file'"
printf 'interval-ms = 300 # comment\n' >"$conf"
check "--print-config shows file and option values" sh -c \
	"'$VMCLOCKD_BIN' --config '$conf' --samples=7 --print-config | grep -q '^interval-ms  *300' &&
	 '$VMCLOCKD_BIN' --config '$conf' --samples=7 --print-config | grep -q '^samples  *7'"
rm -f "$conf"
check "--help lists every setting" sh -c "'$VMCLOCKD_BIN' --help | grep -q -- '--freq-tolerance-ppb'"

man_lists_all() {
	for k in $("$VMCLOCKD_BIN" --config= --print-config | cut -d' ' -f1); do
		grep -qF -- "\\-\\-$(echo "$k" | sed 's/-/\\-/g') " \
			"$ROOT/docs/man/vmclockd.8" || { echo "man page lacks $k"; return 1; }
	done
}
check "vmclockd.8 documents every setting" man_lists_all

check "daemon starts" start_daemon
reply() { printf '%b' "$1" | "$VMCLOCKD_PROBE" send "$RUN/control"; }
r=$(reply 'frobnicate\n')
check "unknown command" [ "$r" = 'error unknown command "frobnicate"' ]
r=$(reply 'status guest=a guest=b\n')
check "duplicate key" [ "$r" = 'error guest given twice' ]
r=$(reply 'migrated-in\n')
check "missing key" [ "$r" = 'error migrated-in needs guest=' ]
r=$(reply 'add-guest guest=../etc\n')
check "bad guest name" sh -c "echo '$r' | grep -q '^error guest: \"../etc\" is not a name'"
r=$(reply 'add-guest guest=x offset=1z\n')
check "bad number" sh -c "echo '$r' | grep -q '^error offset: \"1z\" is not a valid number'"
r=$(reply 'status \001\377\n')
check "binary bytes" sh -c "echo '$r' | grep -q '^error byte 0x01'"
r=$(head -c 5000 /dev/zero | tr '\0' a; echo; echo ping)
r=$(printf '%s\n' "$r" | "$VMCLOCKD_PROBE" send "$RUN/control")
check "over-long line: one error, then served" [ "$r" = "$(printf 'error request longer than 1023 bytes\nok')" ]
r=$(head -c 100000 /dev/urandom | "$VMCLOCKD_PROBE" send "$RUN/control" | grep -vc '^error ')
check "random bytes: only error replies" [ "$r" -eq 0 ]
r=$(reply 'ping\r\nping\nstatus guest=nope\n')
check "several requests, one reply each" [ "$(echo "$r" | wc -l)" -eq 3 ]
OUT=$(mktemp -d /tmp/vmclockd-outside.XXXXXX)
echo precious >"$OUT/target"
ln -s "$OUT/target" "$RUN/guests/vm5.state.tmp"
ctl add-guest vm5 >/dev/null
check "a link planted at NAME.state.tmp is not written through" \
	[ "$(cat "$OUT/target")" = precious ]
check "... and the state file is a regular file" test -f "$RUN/guests/vm5.state" -a ! -L "$RUN/guests/vm5.state"

hold_all() { # hold 16 idle connections; a 17th client is still served
	for _ in $(seq 16); do
		"$VMCLOCKD_PROBE" send "$RUN/control" <"$OUT/fifo" >/dev/null 2>&1 &
	done
	exec 8>"$OUT/fifo"
	wait_until sh -c "[ \$(ls /proc/$DPID/fd | wc -l) -ge 20 ]"
	r=$(ctl ping 2>&1)
	exec 8>&-
	[ "$r" = ok ]
}
mkfifo "$OUT/fifo"
check "16 idle clients do not lock the control socket" hold_all
second() {
	out=$("$VMCLOCKD_BIN" --config= --run-dir="$RUN" --socket-group= 2>&1)
	[ $? -eq 1 ] && echo "$out" | grep -q 'another vmclockd is running on this run directory'
}
check "a second vmclockd on the run directory stops with a clear error" second
check "still serving after all that" ctl ping
check "still publishing" seq_advances "$RUN/host"
unsafe_dir() {
	W=$OUT/ww
	mkdir -m 1777 "$W"
	out=$("$VMCLOCKD_BIN" --config= --run-dir="$W" --socket-group= 2>&1)
	rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q "$W is group or other writable: refusing it"
}
check "a group/other-writable run directory is refused" unsafe_dir
rm -rf "$OUT"
check "vmclockctl: error exit 1" sh -c "! '$VMCLOCKCTL_BIN' --run-dir '$RUN' nope 2>/dev/null"
check "vmclockctl: usage exit 2" sh -c "'$VMCLOCKCTL_BIN' 2>/dev/null; [ \$? -eq 2 ]"
check "vmclockctl: no daemon exit 1" sh -c "'$VMCLOCKCTL_BIN' --run-dir /nonexistent ping 2>/dev/null; [ \$? -eq 1 ]"
finish
