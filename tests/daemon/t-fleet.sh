#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-fleet.sh - vmclockd past its mapping and descriptor limits, on a small
# scale: max-mapped-pages=1000 and 1500 descriptors, then 2500 guests added
# over one connection.  The first pages are mapped (no descriptor kept),
# the next keep a descriptor and are written with pwrite(), the last are
# opened for each write.  Pages of every kind give the host page's time,
# keep being updated, survive a restart (adopted: same marker, seq_count
# goes on), and guests are found, refused twice, removed and added again
# by name.  Uses lib.sh; ends with "N passed, N failed".
. "$(dirname "$0")/lib.sh"

N=2500
ulimit -n 1500 || { echo "cannot lower the descriptor limit"; echo "0 passed, 1 failed"; exit 1; }

check "daemon starts" start_daemon --max-guests=$((N + 1)) --max-mapped-pages=1000 ||
	{ finish; exit 1; }

i=0
while [ $i -lt $N ]; do
	echo "add-guest guest=g$i"
	i=$((i + 1))
done >"$RUN.req"
"$VMCLOCKD_PROBE" send "$RUN/control" <"$RUN.req" >"$RUN.rep"
check "$N guests added over one connection" \
	[ "$(grep -c '^ok' "$RUN.rep")" -eq $N ]
rm -f "$RUN.req" "$RUN.rep"
refused() { ! ctl add-guest "$1" >/dev/null 2>&1; }
found() { ctl status guest="$1" | grep -q "\"name\":\"$1\""; }
gone() { ! ctl status guest="$1" >/dev/null 2>&1; }
check "a name is refused twice" refused g7
check "one more is added" ctl add-guest g$N
check "and then none (max-guests)" refused g$((N + 1))

pages() { ls "$RUN/guests" | grep -cv '\.state$'; }
check "$((N + 1)) pages" [ "$(pages)" -eq $((N + 1)) ]
check "the log says when pages stop being mapped" \
	grep -q 'not mapped (1000 pages are' "$LOG"
check "the log says when descriptors stop being kept" \
	grep -q 'descriptors kept (limit 750)' "$LOG"
nfd=$(ls "/proc/$DPID/fd" | wc -l)
check "descriptors: one per pwrite page kept, none per mapped page ($nfd)" \
	[ "$nfd" -le 780 ]

# g0..g998 are mapped (with the host page), the next 750 kept, then opened.
for g in g0 g1500 g2400; do
	check "$g gives the host's time" \
		"$VMCLOCKD_PROBE" guestcmp "$RUN/host" "$RUN/guests/$g" 0 0x1000000000000 48 200
	check "$g is updated" seq_advances "$RUN/guests/$g"
done

# Removal unlinks in place: the list (newest first) must stay whole for
# the update loop, whichever guest leaves, in the middle or at either end,
# and next to one that left before.
check "remove a guest" ctl remove-guest g1500
check "it is gone" gone g1500
check "others are found" found g1499
check "remove its neighbour too" ctl remove-guest g1499
check "the guest before them is updated" seq_advances "$RUN/guests/g1501"
check "the guest after them is updated" seq_advances "$RUN/guests/g1498"
check "add it again" ctl add-guest g1500
check "it is found again" found g1500
check "remove the newest (the list's head)" ctl remove-guest g1500
check "remove the next newest" ctl remove-guest g2499
check "remove the oldest (its tail)" ctl remove-guest g0
check "the next oldest is updated" seq_advances "$RUN/guests/g1"
check "the newest left is updated" seq_advances "$RUN/guests/g2498"
for g in g0 g1499 g1500 g2499; do
	ctl add-guest $g >/dev/null || echo "add-guest $g failed" >&2
done
check "the re-added are updated" seq_advances "$RUN/guests/g1499"
check "every guest is there again" found g2499

marker=$(field "$RUN/guests/g2400" disruption_marker)
seq=$(field "$RUN/guests/g2400" seq_count)
ctl migrated-in guest=g2400 >/dev/null
check "an event reaches a page opened for each write" \
	[ "$(field "$RUN/guests/g2400" disruption_marker)" != "$marker" ]
marker=$(field "$RUN/guests/g2000" disruption_marker)
seq=$(field "$RUN/guests/g2000" seq_count)
stop_daemon
check "daemon restarts" start_daemon --max-guests=$((N + 1)) --max-mapped-pages=1000
check "every guest adopted" grep -q "$((N + 1)) guest(s) adopted" "$LOG"
check "a pwrite page keeps its marker" \
	[ "$(field "$RUN/guests/g2000" disruption_marker)" = "$marker" ]
check "and its seq_count goes on" \
	[ "$(field "$RUN/guests/g2000" seq_count)" -ge "$seq" ]
check "g2000 gives the host's time" \
	"$VMCLOCKD_PROBE" guestcmp "$RUN/host" "$RUN/guests/g2000" 0 0x1000000000000 48 200
finish
