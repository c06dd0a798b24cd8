#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-hostile.sh - vmclockd against hostile clients and a hostile run
# directory.  Each case must get a clear error (or nothing), must not write
# outside the run directory, and the daemon must keep serving:
#   - guest names that would escape guests/ ("..", "a/b", ".x", 300 bytes,
#     control characters);
#   - a guest page, and a state file's temporary, planted as symlinks to
#     a file outside the run directory; a run directory others can write;
#   - a client without permission on the socket (nobody);
#   - 14 idle clients and one that never ends its line, held open; then
#     20 idle clients, more than the 16 slots;
#   - a client that floods requests and closes without reading a reply
#     (SIGPIPE);
#   - a 1 MiB request (with and without its newline) and NUL bytes;
#   - add-qemu's ram= (finding 3, fixed): no QMP, a QMP server that names
#     another file, one run by nobody that names a root file, a symlinked
#     ram=, share=off: nothing written, a clear error (or "waiting"); the
#     honest case attaches, and migrate uri=exec: is refused there
#     (finding 4, fixed);
#   - save/restore files and migrate/incoming URIs (finding 6, fixed):
#     a path outside snapshot-dir, "..", a name planted as a symlink, an
#     existing snapshot, a snapshot-dir others can write, unix:, file:
#     and fd: URIs: refused, nothing sent to QEMU, nothing outside
#     touched; the honest save and restore hand QEMU a descriptor of a
#     file in snapshot-dir.  tests/hostile/fake-qmp.py plays QEMU.
# Open findings (failing): tests/hostile/daemon-findings.sh.
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
FAKES=
trap 'for p in $FAKES; do kill "$p" 2>/dev/null; done; cleanup; rm -rf "$OUT"' EXIT
echo precious >"$OUT/target"
cp "$OUT/target" "$OUT/target2"

alive() { kill -0 "$DPID" 2>/dev/null && [ "$(ctl ping 2>&1)" = ok ]; }
reply() { printf '%b' "$1" | "$VMCLOCKD_PROBE" send "$RUN/control"; }
untouched() { [ "$(cat "$1")" = precious ]; }

check "daemon starts" start_daemon --snapshot-dir="$OUT/snapshots" ||
	{ finish; exit 1; }

# Names that would leave guests/.
long=$(printf '%0300d' 0)
for name in .. . ../x a/b .x "$long" 'a%2f..' 'a\x01b'; do
	r=$(reply "add-guest guest=$name\n")
	case $r in
	error*) ok "name \"$(printf '%.20s' "$name")\" refused" ;;
	*) fail "name \"$name\" accepted: $r" ;;
	esac
done
check "nothing created beside guests/" sh -c "[ \$(ls -A '$RUN' | grep -cv '^\(host\|control\|guests\|host.state\)\$') -eq 0 ]"
check "still serving after bad names" alive

# A page planted as a symlink to a file outside the run directory.
ln -s "$OUT/target" "$RUN/guests/evil"
r=$(reply 'add-guest guest=evil\n')
check "symlinked page refused" sh -c "echo '$r' | grep -q '^error'"
check "symlink target untouched" untouched "$OUT/target"
rm -f "$RUN/guests/evil"

# The state file's temporary planted as a symlink (finding 1, fixed).
ln -s "$OUT/target2" "$RUN/guests/vm5.state.tmp"
reply 'add-guest guest=vm5\n' >/dev/null
check "symlinked NAME.state.tmp: outside file untouched" untouched "$OUT/target2"
rm -f "$RUN/guests/vm5.state.tmp"
check "still serving after symlinks" alive

# A client without permission on the socket.
chmod 755 "$RUN"
if [ "$(id -u)" -eq 0 ]; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VMCLOCKCTL_BIN" --run-dir "$RUN" ping 2>&1)
	rc=$?
	check "nobody: vmclockctl fails (exit $rc)" [ $rc -ne 0 ]
	check "nobody: the message says permission" sh -c \
		"echo '$out' | grep -qi 'permission'"
	check "still serving after a refused client" alive
fi

# Idle clients and a line that never ends, held open while others talk
# (15 of the 16 client slots).
python3 - "$RUN/control" >"$RUN.hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(15):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
socks[-1].sendall(b"status guest=" + b"x" * 500)
print("holding", flush=True)
time.sleep(8)
PY
HOLD=$!
wait_until grep -q holding "$RUN.hold"
check "served while 15 clients hold connections" alive
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

# Every slot held by an idle client (finding 5, fixed: the longest idle
# one is dropped for a newcomer).
python3 - "$RUN/control" >"$RUN.hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("holding", flush=True)
time.sleep(30)
PY
HOLD=$!
wait_until grep -q holding "$RUN.hold"
check "served while 20 idle clients hold every slot" wait_until alive
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

# Requests, then gone before the replies (SIGPIPE / EPIPE for the daemon).
python3 - "$RUN/control" <<'PY'
import socket, sys
for i in range(50):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(b"status\n" * 2000)
    except OSError:
        pass
    s.close()
PY
check "alive after 50 clients left without reading" alive

r=$( (head -c 1048576 /dev/zero | tr '\0' x; printf '\nping\n') |
	"$VMCLOCKD_PROBE" send "$RUN/control")
check "1 MiB request: one error, then served" \
	[ "$r" = "$(printf 'error request longer than 1023 bytes\nok')" ]
head -c 1048576 /dev/zero | tr '\0' x | "$VMCLOCKD_PROBE" send "$RUN/control" >/dev/null
check "1 MiB without a newline, then gone: still serving" alive
r=$(head -c 4096 /dev/zero | "$VMCLOCKD_PROBE" send "$RUN/control" | head -n 1)
check "NUL bytes: an error or nothing" sh -c "[ -z '$r' ] || echo '$r' | grep -q '^error'"
check "still serving at the end" alive

# add-qemu's ram= (finding 3, fixed): vmclockd writes the page into the
# file only once QEMU, over QMP, names it as its guest RAM, and only if
# the QMP peer could write it itself.
FAKE=$(dirname "$0")/fake-qmp.py
# fake NAME MEM_PATH [SHARE [USER]]: a QMP server at $OUT/q/NAME.qmp.
fake() {
	if [ -n "${4:-}" ]; then
		# Another user cannot run root's python3 if that is a pyenv shim.
		py=/usr/bin/python3
		[ -x "$py" ] || py=$(command -v python3)
		setpriv --reuid="$4" --regid="$4" --clear-groups "$py" "$FAKE" \
			"$OUT/q/$1.qmp" "$OUT/q/$1.log" "$2" "${3:-true}" \
			>"$OUT/q/$1.out" 2>&1 &
	else
		python3 "$FAKE" "$OUT/q/$1.qmp" "$OUT/q/$1.log" "$2" \
			"${3:-true}" >"$OUT/q/$1.out" 2>&1 &
	fi
	FAKES="$FAKES $!"
	wait_until grep -q listening "$OUT/q/$1.out"
}
# ask REQUEST: the reply in $R.  replied PATTERN: it matches (grep -E).
ask() { R=$(reply "$1\n"); }
replied() { printf '%s\n' "$R" | grep -qE -- "$1"; }
status_has() { ctl status "$1" 2>/dev/null | grep -qF -- "$2"; }
no_guest() { ! ctl status "$1" >/dev/null 2>&1; }
mkdir -p "$OUT/q"
chmod 711 "$OUT"
chmod 777 "$OUT/q"
head -c 65536 /dev/zero >"$OUT/victim"
cp "$OUT/victim" "$OUT/victim.orig"
chmod 644 "$OUT/victim"
victim_intact() { cmp -s "$OUT/victim" "$OUT/victim.orig"; }

ask "add-qemu guest=q1 qmp=$OUT/q/w.qmp ram=$OUT/victim gpa=0"
check "3: add-qemu, QMP unreachable: accepted as waiting" \
	replied '^ok .*"state":"waiting"'
check "3: ... and the file is not written" victim_intact
check "3: ... status: no page, waiting for QMP" \
	status_has q1 '"page":false,"qemu":{'
check "3: ... status says what it waits for" \
	status_has q1 '"state":"waiting","incoming":"none","reason":"waiting for QMP at'
ask "migrated-in guest=q1"
check "3: ... events refused while it has no page" \
	replied '^error guest "q1" has no page yet'
head -c 65536 /dev/zero >"$OUT/decoy"
fake w "$OUT/decoy"
check "3: then a QMP server names another file: refused, said in status" \
	wait_until status_has q1 "refused: ram=$OUT/victim is not the RAM file of this QEMU"
check "3: ... the file is still not written" victim_intact
check "3: ... nor the one it named" cmp -s "$OUT/decoy" "$OUT/victim.orig"
ask "remove-guest guest=q1"
check "3: remove-guest of a waiting guest: its record goes, the file stays" \
	sh -c "[ ! -e '$RUN/guests/.q1.qemu' ] && cmp -s '$OUT/victim' '$OUT/victim.orig'"

if [ "$(id -u)" -eq 0 ]; then
	fake nobody "$OUT/victim" true 65534
	ask "add-qemu guest=q3 qmp=$OUT/q/nobody.qmp ram=$OUT/victim gpa=0"
	check "3: a QMP server run by nobody that names a root file: refused" \
		replied "^error ram=$OUT/victim belongs to uid 0 .*runs as uid 65534 and could not write it"
	check "3: ... the file is not written" victim_intact
	check "3: ... and no guest is left" no_guest q3
fi
fake root "$OUT/victim"
ln -s "$OUT/victim" "$OUT/victim.link"
ask "add-qemu guest=q4 qmp=$OUT/q/root.qmp ram=$OUT/victim.link gpa=0"
check "3: ram= a symlink (to QEMU's own file): refused" \
	replied "^error ram=$OUT/victim.link is a symbolic link"
ask "add-qemu guest=q4 qmp=$OUT/q/root.qmp ram=victim gpa=0"
check "3: ram= relative: refused" \
	replied '^error ram=victim: give the RAM file as an absolute path'
fake private "$OUT/victim" false
ask "add-qemu guest=q4 qmp=$OUT/q/private.qmp ram=$OUT/victim gpa=0"
check "3: QEMU's RAM with share=off: refused" replied '^error .*share=off'
ask "add-qemu guest=q4 qmp=$OUT/q/root.qmp ram=$OUT/victim gpa=0x10000"
check "3: a page outside QEMU's RAM: refused" \
	replied "^error .*outside QEMU's guest RAM"
check "3: ... no guest is left" no_guest q4
check "3: after all that, the file is not written" victim_intact

# The honest case: QEMU names ram= itself.  Then finding 4 (fixed).
head -c 65536 /dev/zero >"$OUT/ram"
fake honest "$OUT/ram"
ask "add-qemu guest=q2 qmp=$OUT/q/honest.qmp ram=$OUT/ram gpa=0"
check "3: QEMU names ram=: attached" replied '^ok .*"state":"attached"'
check "3: ... and the page is in it" sh -c "[ \"\$(head -c 4 '$OUT/ram')\" = VCLK ]"
check "3: ... its record is kept for a restart" test -f "$RUN/guests/.q2.qemu"
ask "migrate guest=q2 uri=exec:touch"
check "4: migrate uri=exec: is refused" replied '^error q2: uri=exec: is refused'
check "4: ... and not forwarded to QEMU" \
	sh -c "grep -q qom-get '$OUT/q/honest.log' && ! grep -q 'exec:touch' '$OUT/q/honest.log'"
check "still serving after the add-qemu cases" alive

# Finding 6 (fixed): QEMU, often root, never acts on a path a client
# chose.  Snapshots are files vmclockd opens in snapshot-dir and hands
# QEMU as a descriptor; only network URIs are forwarded.
SNAP=$OUT/snapshots
HLOG=$OUT/q/honest.log
sent() { grep -qF -- "$1" "$HLOG"; }
# refused_unsent PATTERN WORD: the reply is an error matching PATTERN and
# nothing with WORD reached QEMU.
refused_unsent() { replied "^error .*$1" && ! sent "$2"; }
ok_and_sent() { replied '^ok' && sent "$1"; }
got_fd_then_migrate() {
	grep -q '"getfd".*"fd": true' "$HLOG" &&
		sent '"uri": "fd:vmclock-migration"'
}

ask "save guest=q2 file=$OUT/outside"
check "6: save file= outside snapshot-dir: refused, says what to give" \
	replied "^error q2: file=$OUT/outside is not in snapshot-dir $SNAP: give the snapshot's name"
check "6: ... not sent to QEMU, nothing written" \
	sh -c "! grep -q outside '$HLOG' && [ ! -e '$OUT/outside' ]"
ask "save guest=q2 file=$SNAP/../outside"
check "6: save file=DIR/../NAME: refused" replied "is not in snapshot-dir"
ask "save guest=q2 file=.."
check "6: save file=..: refused" replied "a snapshot name is 1-200 letters"
ask "restore guest=q2 file=/etc/shadow"
check "6: restore file= outside snapshot-dir: refused, not sent" \
	refused_unsent 'is not in snapshot-dir' shadow
ask "incoming guest=q2 uri=unix:$OUT/victim"
check "6: incoming uri=unix:PATH (QEMU unlinks PATH): refused" \
	replied "^error q2: uri=unix:.* is refused: QEMU would act on that socket path"
check "6: ... not sent to QEMU, the file intact" \
	sh -c "! grep -q 'unix:' '$HLOG' && cmp -s '$OUT/victim' '$OUT/victim.orig'"
ask "migrate guest=q2 uri=file:$OUT/target"
check "6: migrate uri=file: refused" replied "is refused: QEMU would act on that file"
ask "migrate guest=q2 uri=fd:3"
check "6: migrate uri=fd:N (one of QEMU's own descriptors) refused" \
	replied "is refused: QEMU would act on that descriptor"
check "6: ... none of them sent to QEMU" \
	sh -c "! grep -q '\"migrate\"\|\"migrate-incoming\"' '$HLOG'"
check "6: the files outside untouched" untouched "$OUT/target"
ask "save guest=q2 file=s1"
check "6: save NAME: ok" replied '^ok'
check "6: ... QEMU got a descriptor (getfd), then migrate fd:" \
	got_fd_then_migrate
check "6: ... what QEMU wrote is SNAPSHOT-DIR/NAME" \
	grep -q 'fake migration stream' "$SNAP/s1"
check "6: ... owner-only, in an owner-only directory" \
	sh -c "[ \"\$(stat -c %a '$SNAP/s1')\" = 600 ] && [ \"\$(stat -c %a '$SNAP')\" = 700 ]"
check "6: ... no exec: sent" sh -c "! grep -q exec: '$HLOG'"
ask "save guest=q2 file=s1"
check "6: save over an existing snapshot: refused" replied '^error .*snapshot s1 exists'
ln -s "$OUT/target" "$SNAP/evil"
ask "save guest=q2 file=evil"
check "6: save to a name planted as a symlink: refused" replied 'snapshot evil exists'
ask "restore guest=q2 file=evil"
check "6: restore of a symlink: refused" replied 'evil: a symbolic link: refused'
check "6: ... the link's target untouched" untouched "$OUT/target"
mkfifo "$SNAP/fifo"
ask "restore guest=q2 file=fifo"
check "6: restore of a FIFO: refused at once" replied 'fifo: not a regular file'
chmod 770 "$SNAP"
ask "save guest=q2 file=s2"
check "6: a snapshot-dir others may write: refused" replied 'chmod go-w'
chmod 700 "$SNAP"
check "6: ... nothing written" [ ! -e "$SNAP/s2" ]
ask "restore guest=q2 file=s1"
check "6: restore NAME: QEMU reads SNAPSHOT-DIR/NAME through a descriptor" \
	ok_and_sent '"read": "QEVM fake migration stream'
check "6: ... by migrate-incoming fd:" \
	sent '"execute": "migrate-incoming", "arguments": {"uri": "fd:vmclock-migration"}'
check "still serving after the snapshot cases" alive

# A run directory others can write (finding 2, fixed): refused at start.
W=$(mktemp -d /tmp/vmclock-ww.XXXXXX)
chmod 1777 "$W"
out=$(timeout 20 "$VMCLOCKD_BIN" --config= --run-dir="$W" --socket-group= 2>&1)
rc=$?
rm -rf "$W"
check "group/other-writable run directory refused (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'writable: refusing'"
finish
