#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-findings.sh - open findings in vmclockd, one check each, failing
# until fixed (make check-findings; not part of make check).  When one is
# fixed its check moves to daemon-hostile.sh: 1, 2 and 5 did (symlinked
# state temporaries, unsafe run directories, idle clients), and so did 3
# (add-qemu's ram= written before QEMU was asked: now only the file QEMU
# names over QMP, and only if the QMP peer could write it), 4
# (migrate/incoming uri=exec: forwarded to QEMU: now refused) and 6
# (save/restore file=F and file:/unix: URIs made QEMU act on any path:
# now snapshots are files of snapshot-dir that vmclockd opens and hands
# QEMU as descriptors, and only network URIs are forwarded).
#
# None is open now.  A new one goes here as: what the code does, where
# (file, function), the input, what is expected and what happens; then a
# check that fails until it is fixed.  tests/hostile/fake-qmp.py plays a
# QEMU (or a lying QMP server) for findings in the QEMU adapter.
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

check "daemon starts" start_daemon || { finish; exit 1; }
stop_daemon TERM
finish
