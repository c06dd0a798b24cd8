#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t-restart.sh - crash safety: vmclockd killed with SIGKILL and started
# again adopts its pages.  A reader that keeps the pages mapped across the
# crash never sees time go back or the marker change; seq_count goes on;
# the guest keeps its generation and mapping.
. "$(dirname "$0")/lib.sh"

G=$RUN/guests/vm1
check "daemon starts" start_daemon
ctl add-guest vm1 offset=123456789 scale=0x1000000000000 >/dev/null
ctl restored vm1 >/dev/null
ctl set-counter-mapping vm1 offset=123456789 >/dev/null
check "fit has 4 points" wait_until fit_full 4

"$VMCLOCKD_PROBE" mono "$RUN/host" 6 >"$RUN/mono-host" &
MH=$!
"$VMCLOCKD_PROBE" mono "$G" 6 >"$RUN/mono-guest" &
MG=$!
seq_advances "$RUN/host"
m0=$(field "$G" disruption_marker)
g0=$(field "$G" vm_generation_counter)
hm0=$(field "$RUN/host" disruption_marker)
s0=$(field "$RUN/host" seq_count)

stop_daemon KILL
check "restarted" start_daemon
check "log says adopted" grep -q 'host: adopted page' "$LOG"
check "guest adopted" grep -q 'vm1: adopted page' "$LOG"
check "host page updated again" seq_advances "$RUN/host"
check "seq_count went on" [ "$(field "$RUN/host" seq_count)" -gt "$s0" ]
check "host marker unchanged" [ "$(field "$RUN/host" disruption_marker)" = "$hm0" ]
check "guest marker unchanged" [ "$(field "$G" disruption_marker)" = "$m0" ]
check "guest generation unchanged" [ "$(field "$G" vm_generation_counter)" = "$g0" ]
check "guest mapping kept" sh -c \
	"'$VMCLOCKCTL_BIN' --run-dir '$RUN' status vm1 | grep -q '\"offset\":123456789,'"

wait "$MH"
rh=$?
wait "$MG"
rg=$?
cat "$RUN/mono-host" "$RUN/mono-guest"
check "host page: no backward time, no marker change across the crash" [ $rh -eq 0 ]
check "guest page: no backward time, no marker change across the crash" [ $rg -eq 0 ]

# A clean stop and start: same again.
stop_daemon TERM
check "clean stop says pages stay" grep -q 'pages left in place' "$LOG"
check "restarted after clean stop" start_daemon
check "marker still unchanged" [ "$(field "$G" disruption_marker)" = "$m0" ]
finish
