#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-findings.sh - open findings in vmclockd, one check each, failing
# until fixed (make check-findings; not part of make check).  When one is
# fixed its check moves to daemon-hostile.sh.
#
# 1. daemon/guest.c, guest_save_state(): the state file is written with
#    fopen(NAME.state.tmp, "w"), which follows a symlink planted at that
#    path: vmclockd (root) truncates and overwrites the symlink's target
#    outside the run directory, then rename() replaces the link.
#    Expected: the target untouched (open with O_NOFOLLOW|O_EXCL after
#    unlink, or O_TMPFILE + linkat).
# 2. daemon/main.c, make_dirs(): an existing run directory (or guests/) is
#    used whatever its owner and mode; in one that others can write, they
#    can plant such symlinks, or a NAME.state whose notify= line vmclockd
#    then runs on every update (load_state()).  Expected: refuse (or at
#    least warn about) a run directory or guests/ that is group/other
#    writable or not owned by vmclockd's user, as sshd's StrictModes does.
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
trap 'cleanup; rm -rf "$OUT"' EXIT
echo precious >"$OUT/target"

check "daemon starts" start_daemon || { finish; exit 1; }
ln -s "$OUT/target" "$RUN/guests/vm5.state.tmp"
ctl add-guest vm5 >/dev/null 2>&1
check "1: a symlink at NAME.state.tmp does not redirect the state write" \
	[ "$(cat "$OUT/target")" = precious ]
stop_daemon TERM

W=$(mktemp -d /tmp/vmclock-ww.XXXXXX)
chmod 1777 "$W"
"$VMCLOCKD_BIN" --config= --run-dir="$W" --socket-group= --interval-ms=200 \
	>"$OUT/log" 2>&1 &
P=$!
wait_until test -S "$W/control"
kill "$P" 2>/dev/null
wait "$P" 2>/dev/null
check "2: a world-writable run directory is refused or warned about" \
	grep -qiE 'writable|insecure|unsafe' "$OUT/log"
rm -rf "$W"
finish
