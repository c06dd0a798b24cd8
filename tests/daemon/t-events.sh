#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-events.sh - every vmclockctl event changes exactly the page fields it
# is documented to change, and a guest page with a non-trivial counter
# mapping gives the host page's time.
. "$(dirname "$0")/lib.sh"

G=$RUN/guests/vm1
FLAG_SOON=2
FLAG_IMMINENT=4
FLAG_GEN=256

check "daemon starts" start_daemon
check "add-guest" ctl add-guest vm1
check "guest page exists" test -f "$G"
wait_until [ "$(field "$G" status)" = FREERUNNING ] ||
	wait_until [ "$(field "$G" status)" = SYNCHRONIZED ]
HOST_STATUS=$(field "$RUN/host" status)
check "guest status follows the host ($HOST_STATUS)" \
	[ "$(field "$G" status)" = "$HOST_STATUS" ]

flags() { echo $(($(field "$G" flags))); }
m0=$(field "$G" disruption_marker)
g0=$(field "$G" vm_generation_counter)
f0=$(flags)

ctl migrate-out vm1 state=soon >/dev/null
check "migrate-out soon sets DISRUPTION_SOON only" [ "$(flags)" -eq $((f0 | FLAG_SOON)) ]
check "migrate-out soon keeps the marker" [ "$(field "$G" disruption_marker)" = "$m0" ]
ctl migrate-out vm1 state=imminent >/dev/null
check "migrate-out imminent: IMMINENT, not SOON" [ "$(flags)" -eq $((f0 | FLAG_IMMINENT)) ]
ctl migrate-out vm1 state=clear >/dev/null
check "migrate-out clear restores the flags" [ "$(flags)" -eq "$f0" ]
check "migrate-out keeps the status" [ "$(field "$G" status)" = "$HOST_STATUS" ]

ctl migrate-out vm1 state=imminent >/dev/null
ctl migrated-in vm1 >/dev/null
m1=$(field "$G" disruption_marker)
check "migrated-in bumps the marker" [ "$m1" != "$m0" ]
check "migrated-in keeps the generation" [ "$(field "$G" vm_generation_counter)" = "$g0" ]
check "migrated-in: INITIALIZING" [ "$(field "$G" status)" = INITIALIZING ]
check "migrated-in clears SOON/IMMINENT" [ $(($(flags) & 6)) -eq 0 ]
check "still INITIALIZING after updates" seq_advances "$G"
check "... until the mapping is confirmed" [ "$(field "$G" status)" = INITIALIZING ]
ctl set-counter-mapping vm1 offset=0 >/dev/null
check "set-counter-mapping: status back to $HOST_STATUS" \
	[ "$(field "$G" status)" = "$HOST_STATUS" ]
check "set-counter-mapping keeps the marker" [ "$(field "$G" disruption_marker)" = "$m1" ]

ctl restored vm1 >/dev/null
m2=$(field "$G" disruption_marker)
g2=$(field "$G" vm_generation_counter)
check "restored bumps the marker" [ "$m2" != "$m1" ]
check "restored bumps the generation" [ "$g2" != "$g0" ]
check "restored sets VM_GEN_COUNTER_PRESENT" [ $(($(flags) & FLAG_GEN)) -ne 0 ]
check "restored: INITIALIZING" [ "$(field "$G" status)" = INITIALIZING ]
ctl restored vm1 >/dev/null
check "a second restore gives another generation" \
	[ "$(field "$G" vm_generation_counter)" != "$g2" ]
ctl set-counter-mapping vm1 offset=0 >/dev/null

ctl stopped vm1 >/dev/null
s0=$(field "$G" seq_count)
seq_advances "$RUN/host"
seq_advances "$RUN/host"
check "stopped: the page is left alone" [ "$(field "$G" seq_count)" = "$s0" ]
m3=$(field "$G" disruption_marker)
ctl resumed vm1 >/dev/null
check "resumed: updated again" [ "$(field "$G" seq_count)" != "$s0" ]
check "stopped/resumed keep the marker" [ "$(field "$G" disruption_marker)" = "$m3" ]

# A guest whose counter runs at 1.5x the host's, 10^12 ticks behind.
ctl add-guest vm2 offset=-1000000000000 scale=0x1800000000000 frac-bits=48 >/dev/null
check "vm2 published" wait_until [ "$(field "$RUN/guests/vm2" status)" = "$HOST_STATUS" ]
check "vm2 at the mapped counter = host at the host counter (10000 points)" \
	"$VMCLOCKD_PROBE" guestcmp "$RUN/host" "$RUN/guests/vm2" \
	-1000000000000 0x1800000000000 48 10000
check "status JSON names vm2's mapping" sh -c \
	"'$VMCLOCKCTL_BIN' --run-dir '$RUN' status vm2 | grep -q '\"scale\":422212465065984'"

check "set-notify needs an executable" sh -c \
	"! '$VMCLOCKCTL_BIN' --run-dir '$RUN' set-notify vm1 notify=/nonexistent"
printf '#!/bin/sh\necho "$1 $2" >> %s/notified\n' "$RUN" > "$RUN/notify.sh"
chmod +x "$RUN/notify.sh"
ctl set-notify vm1 notify="$RUN/notify.sh" >/dev/null
check "notify sets NOTIFICATION_PRESENT" [ $(($(flags) & 512)) -ne 0 ]
check "notify runs on updates" wait_until grep -q '^vm1 ' "$RUN/notified"
ctl set-notify vm1 notify=none >/dev/null
check "notify=none clears NOTIFICATION_PRESENT" [ $(($(flags) & 512)) -eq 0 ]

check "remove-guest" ctl remove-guest vm1
check "remove-guest deletes the page" test ! -e "$G"
check "remove-guest deletes the state" test ! -e "$G.state"
check "removed guest is unknown" sh -c "! '$VMCLOCKCTL_BIN' --run-dir '$RUN' stopped vm1 2>/dev/null"
finish
