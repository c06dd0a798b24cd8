#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-findings.sh - open findings in vmclockd, one check each, failing
# until fixed (make check-findings; not part of make check).  When one is
# fixed its check moves to daemon-hostile.sh: 1, 2 and 5 did (symlinked
# state temporaries, unsafe run directories, idle clients), and so did 3
# (add-qemu's ram= written before QEMU was asked: now only the file QEMU
# names over QMP, and only if the QMP peer could write it) and 4
# (migrate/incoming uri=exec: forwarded to QEMU: now refused).
#
# 6. daemon/qemu-guest.c, qemu_guest_command() / daemon/qemu.c,
#    qemu_save_uri(), qemu_restore_uri(): save file=F sends QEMU
#    "exec:cat > 'F'" and restore file=F "exec:cat 'F'", for any F; migrate
#    passes uri=file:F (QEMU >= 8.2 writes F) and incoming uri=unix:P
#    (QEMU 7.2 unlinks P and puts its socket there).  So any control
#    client makes a QEMU running as root overwrite, read into the guest,
#    or remove any file.
#    Input: save guest=q6 file=$OUT/outside; incoming guest=q6
#    uri=unix:$OUT/victim.  Expected: refused (paths confined to a
#    configured directory, or these commands for root only).  Got: both
#    forwarded (seen by a fake QMP, tests/hostile/fake-qmp.py).
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
QPID=
trap '[ -n "$QPID" ] && kill "$QPID" 2>/dev/null; cleanup; rm -rf "$OUT"' EXIT
reply() { printf '%s\n' "$1" | "$VMCLOCKD_PROBE" send "$RUN/control"; }

check "daemon starts" start_daemon || { finish; exit 1; }
head -c 65536 /dev/zero >"$OUT/ram"
python3 "$(dirname "$0")/fake-qmp.py" "$OUT/qmp" "$OUT/qmp.log" "$OUT/ram" \
	>"$OUT/qmp.out" 2>&1 &
QPID=$!
wait_until grep -q listening "$OUT/qmp.out"
check "a guest on a (fake) QEMU attaches" sh -c \
	"printf 'add-qemu guest=q6 qmp=$OUT/qmp ram=$OUT/ram gpa=0\n' |
	'$VMCLOCKD_PROBE' send '$RUN/control' | grep -q '\"state\":\"attached\"'"
reply "save guest=q6 file=$OUT/outside" >/dev/null
check "6: save file= outside any snapshot directory is not sent to QEMU" \
	sh -c "! grep -q \"cat > '$OUT/outside'\" '$OUT/qmp.log'"
reply "incoming guest=q6 uri=unix:$OUT/victim" >/dev/null
check "6: incoming uri=unix:PATH (QEMU unlinks PATH) is not sent to QEMU" \
	sh -c "! grep -q 'unix:$OUT/victim' '$OUT/qmp.log'"
stop_daemon TERM
finish
