#!/bin/sh
# SPDX-License-Identifier: MIT
# vmclock watch --on-restore hook of the e2e guest: one line per run.
echo "restore generation=$VMCLOCK_VM_GENERATION_COUNTER marker=$VMCLOCK_DISRUPTION_MARKER" >>/tmp/restores
