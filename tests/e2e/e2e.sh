#!/bin/bash
# SPDX-License-Identifier: MIT
#
# e2e.sh - make check-e2e: real QEMU (TCG), real Debian 6.12 and 6.1
# kernels, the page written through vmclockd's QEMU adapter, and a guest
# that lives on across a stop/cont, a live migration between two QEMUs on
# 127.0.0.1 and two restores of one snapshot.
#
# Per kernel: build vmclock_guest (W=1) and an initramfs (busybox, the
# module, e2e-guest, the static vmclock CLI, phc_ctl and its libraries,
# test-e2e.sh); generate the SSDT with vmclockctl qemu-config; start
# vmclockd and boot QEMU A, its page added with vmclockctl add-qemu (the
# daemon's QEMU adapter: page in the RAM file, doorbell, QMP events, TSC
# mapping measured through the mailbox).  E2E_HOST=vmm runs the same test
# with e2e-vmm, the adapter's pieces over libvmclock's writer alone.  The
# guest prints "E2E-REQ <what>" when it wants a host event and this script
# makes it happen:
#	notify off|on   withdraw / restore NOTIFICATION_PRESENT
#	stopcont        stop and cont the VM (from a second QMP socket:
#	                vmclockd sees someone else do it)
#	migrate         start B (-incoming), migrate A -> B over tcp
#	snapshot        save B, restore it into C, then into D (vmclockd:
#	                by name, in its snapshot-dir, handed to QEMU as a
#	                descriptor; e2e-vmm: a path, with exec:)
# Each QEMU's RAM file gets an e2e-hostd --serve for the guest's host-time
# and page-hash requests.  Verdicts are the guest's PASS/FAIL lines from
# every QEMU's console plus this script's own; ends with
# "N passed, N failed".
#
# Env: O (or E2E_O, from make check), E2E_HOSTD, E2E_GUEST, E2E_VMM, E2E_VMCLOCK (the static CLI),
#      VMCLOCKD, VMCLOCKCTL, E2E_HOST (vmclockd or vmm),
#      VMCLOCK_E2E_DIR, E2E_NO_APT=1, E2E_TIMEOUT (s per wait, 300),
#      E2E_PORT (migration port, 4444 + $$ % 1000).
# Usage: e2e.sh [6.12] [6.1]

set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/e2e
O=${O:-${E2E_O:-build}}
case $O in /*) ;; *) O=$TOP/$O ;; esac
HOSTD=${E2E_HOSTD:-$O/tests/e2e/e2e-hostd}
GUEST=${E2E_GUEST:-$O/tests/e2e/e2e-guest}
VMM=${E2E_VMM:-$O/tests/e2e/e2e-vmm}
VMCLOCK=${E2E_VMCLOCK:-$O/tests/e2e/vmclock}
VMCLOCKD=${VMCLOCKD:-${VMCLOCKD_BIN:-$O/daemon/vmclockd}}
VMCLOCKCTL=${VMCLOCKCTL:-${VMCLOCKCTL_BIN:-$O/daemon/vmclockctl}}
HOST=${E2E_HOST:-vmclockd}
MBOX=0x1f001000
WORK=$O/e2e
TIMEOUT=${E2E_TIMEOUT:-300}
PORT=${E2E_PORT:-$((4444 + $$ % 1000))}
pass=0
fail=0
declare -A QPID SPID
VPID=

result() {
	if [ "$1" = 0 ]; then
		echo "PASS: $2"
		pass=$((pass + 1))
	else
		echo "FAIL: $2"
		fail=$((fail + 1))
	fi
}

# Wait for a line matching $2 in file $1, up to $3 seconds.
wait_log() {
	local end=$((SECONDS + $3))

	while [ $SECONDS -lt $end ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "e2e.sh: timed out waiting for /$2/ in $1" >&2
	return 1
}

build_module() {
	local kv=$1 hdr=$2 log=$WORK/$1/build.log

	# A parent make -jN would make it say "jobserver unavailable".
	env -u MAKEFLAGS -u MFLAGS make -s -C "$TOP" O="$O" KDIR="$hdr" \
		KMOD_OUT="$WORK/$kv/kmod" KMOD_W=1 kmod >"$log" 2>&1 &&
		[ -f "$WORK/$kv/kmod/vmclock_guest.ko" ] &&
		! grep -iE 'warning:|error:' "$log" | grep -qv jobserver
}

add_program() {
	local root=$1 prog=$2 lib

	mkdir -p "$root$(dirname "$prog")"
	cp "$prog" "$root$prog"
	for lib in $(ldd "$prog" | grep -oE '/[^ ]+'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

make_initramfs() {
	local kv=$1 root=$WORK/$1/initramfs

	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,files,usr/bin}
	cp /bin/busybox "$root/bin/busybox"
	cp "$HERE/guest/init" "$root/init"
	cp "$HERE/guest/test-e2e.sh" "$root/test.sh"
	cp "$HERE/guest/on-restore.sh" "$WORK/$kv/kmod/vmclock_guest.ko" \
		"$GUEST" "$root/files/"
	cp "$VMCLOCK" "$root/usr/bin/vmclock"
	add_program "$root" "$(command -v phc_ctl)"
	(cd "$root" && find . | cpio -o -H newc --quiet) |
		gzip -1 >"$WORK/$kv/initrd.img"
}

vmm() {
	echo "$*" >&7
}

ctl() {
	"$VMCLOCKCTL" --run-dir "$DIR/run" --timeout 300 "$@" \
		>>"$DIR/ctl.log" 2>&1
}

# The host side's operations, for vmclockd or for e2e-vmm.
host_start() {
	if [ "$HOST" = vmm ]; then
		mkfifo "$DIR/vmm.fifo"
		"$VMM" "$DIR/vmm.fifo" >"$DIR/host.log" 2>&1 &
		VPID=$!
		exec 7>"$DIR/vmm.fifo"
		return 0
	fi
	mkdir -p "$DIR/run"
	"$VMCLOCKD" --config= --run-dir="$DIR/run" --socket-group= \
		--snapshot-dir="$DIR/snapshots" --log-level=debug \
		>"$DIR/host.log" 2>&1 &
	VPID=$!
	wait_log "$DIR/host.log" 'control socket|listening|ready|started' 30
	local end=$((SECONDS + 30))
	while [ ! -S "$DIR/run/control" ] && [ $SECONDS -lt $end ]; do
		sleep 0.1
	done
	[ -S "$DIR/run/control" ]
}

host_stop() {
	if [ "$HOST" = vmm ]; then
		vmm quit
		exec 7>&-
	else
		kill "$VPID" 2>/dev/null
	fi
	wait "$VPID" 2>/dev/null
	VPID=
}

# host_attach NAME QMP RAM fresh|incoming
host_attach() {
	if [ "$HOST" = vmm ]; then
		vmm attach "$@"
		wait_log "$DIR/host.log" "e2e-vmm: $1 qmp connected" 60
		return
	fi
	local extra=()

	[ "$4" = incoming ] && extra=(incoming=1)
	ctl add-qemu "$1" qmp="$2" ram="$3" mailbox=$MBOX "${extra[@]}" &&
		wait_log "$DIR/host.log" "$1: QMP .* connected" 60
}

host_detach() {
	if [ "$HOST" = vmm ]; then vmm detach "$1"; else ctl remove-guest "$1"; fi
}

# host_do VERB NAME [ARG]: notify on|off, stopcont, incoming, migrate,
# save, restore.
host_do() {
	local verb=$1 n=$2 arg=${3:-}

	if [ "$HOST" = vmm ]; then
		vmm "$verb" "$n" "$arg"
		return 0
	fi
	case $verb in
	notify) ctl set-notify "$n" notify="$([ "$arg" = on ] &&
		echo /bin/true || echo none)" ;;
	stopcont) "$HERE/qmp-cmd.py" "$DIR/qmp2-$n.sock" stop cont \
		>>"$DIR/ctl.log" 2>&1 ;;
	*) ctl "$verb" "$n" "$arg" ;;
	esac
}

# What the host log says when the page of $1 was rewritten after $2
# (migrated-in, restored) or when $1 left (migrated-out, saved).
host_saw() {
	local pat

	case $HOST:$2 in
	vmm:migrated-in) pat="e2e-vmm: $1 migrated-in: page rewritten" ;;
	vmm:restored) pat="e2e-vmm: $1 restored: page rewritten" ;;
	vmm:*) pat="e2e-vmm: $1 $2" ;;
	*:migrated-in) pat="$1: migrated in: page rewritten" ;;
	*:restored) pat="$1: restored: page rewritten" ;;
	*) pat="$1: migrated out" ;;
	esac
	wait_log "$DIR/host.log" "$pat" "$TIMEOUT"
}

# Start QEMU $2 (A, B, ...) for kernel $1; $3 = "incoming" for -S.
start_vm() {
	local kv=$1 n=$2 dir=$WORK/$1 shm=/dev/shm/vmclock-e2e-$$-$2

	rm -f "$shm" "$dir/qmp-$n.sock" "$dir/serial-$n.log"
	truncate -s 512M "$shm"
	"$HOSTD" --serve "$shm" $((TIMEOUT * 4)) >"$dir/hostd-$n.log" 2>&1 &
	SPID[$n]=$!
	qemu-system-x86_64 -accel tcg \
		-cpu max,vendor=GenuineIntel,family=6,model=85 \
		-M pc,memory-backend=ram -m 512M -smp 1 \
		-object memory-backend-file,id=ram,size=512M,mem-path="$shm",share=on \
		-display none -serial file:"$dir/serial-$n.log" -monitor none \
		-no-reboot -device pc-testdev -acpitable file="$dir/ssdt.aml" \
		-qmp unix:"$dir/qmp-$n.sock",server=on,wait=off \
		-qmp unix:"$dir/qmp2-$n.sock",server=on,wait=off \
		-kernel "$ROOT/boot/vmlinuz-$kv" -initrd "$dir/initrd.img" \
		-append "console=ttyS0 panic=-1 quiet memmap=8K\$0x1f000000" \
		${3:+-S -incoming defer} </dev/null >"$dir/qemu-$n.log" 2>&1 &
	QPID[$n]=$!
	wait_log "$dir/hostd-$n.log" 'serving' 30 || return 1
	host_attach "$n" "$dir/qmp-$n.sock" "$shm" "${3:-fresh}"
}

stop_vm() {
	local n=$1

	[ -n "${QPID[$n]:-}" ] || return 0
	host_detach "$n"
	kill "${QPID[$n]}" "${SPID[$n]}" 2>/dev/null
	wait "${QPID[$n]}" "${SPID[$n]}" 2>/dev/null
	rm -f "/dev/shm/vmclock-e2e-$$-$n"
	QPID[$n]=
}

# Act on the guest's requests on VM $2's console until it asks for $3.
serve_reqs() {
	local kv=$1 n=$2 until=$3 log=$WORK/$1/serial-$2.log
	local seen=0 total end=$((SECONDS + TIMEOUT)) req

	while [ $SECONDS -lt $end ]; do
		total=$(wc -l <"$log" 2>/dev/null || echo 0)
		while read -r req; do
			case $req in
			"$until") return 0 ;;
			E2E-END*) return 1 ;;
			notify*) host_do notify "$n" "${req#notify }" ;;
			stopcont) host_do stopcont "$n" ;;
			esac
		done < <(sed -n "$((seen + 1)),${total}p" "$log" 2>/dev/null |
			tr -d '\r' | sed -n 's/^E2E-REQ //p; /^E2E-END/p')
		seen=$total
		sleep 0.1
	done
	echo "e2e.sh: no E2E-REQ $until from $n" >&2
	return 1
}

migrate() {
	local kv=$1 dir=$WORK/$1

	start_vm "$kv" B incoming || return 1
	host_do incoming B "tcp:127.0.0.1:$PORT" || return 1
	host_do migrate A "tcp:127.0.0.1:$PORT" || return 1
	host_saw B migrated-in && host_saw A migrated-out
	local rc=$?
	stop_vm A
	return $rc
}

# The snapshot's file, and what save and restore are given for it:
# vmclockd keeps snapshots in its snapshot-dir and takes their name, as
# an operator gives it; e2e-vmm takes a path.
snap_file() {
	if [ "$HOST" = vmm ]; then echo "$1/snap.bin"; else echo "$1/snapshots/snap.bin"; fi
}
snap_arg() {
	if [ "$HOST" = vmm ]; then echo "$1/snap.bin"; else echo snap.bin; fi
}

restore_into() {
	local kv=$1 n=$2 dir=$WORK/$1

	start_vm "$kv" "$n" incoming || return 1
	host_do restore "$n" "$(snap_arg "$dir")" || return 1
	host_saw "$n" restored &&
		wait_log "$dir/serial-$n.log" 'E2E-END' "$TIMEOUT"
	local rc=$?
	stop_vm "$n"
	return $rc
}

snapshot() {
	local kv=$1 dir=$WORK/$1

	rm -f "$(snap_file "$dir")"
	host_do save B "$(snap_arg "$dir")" && host_saw B saved &&
		[ -s "$(snap_file "$dir")" ]
	result $? "[$SERIES] snapshot saved to $(snap_file "$dir") ($(du -m "$(snap_file "$dir")" 2>/dev/null | cut -f1) MB)"
	stop_vm B
	restore_into "$kv" C
	result $? "[$SERIES] first restore ran the guest to its end"
	restore_into "$kv" D
	result $? "[$SERIES] second restore ran the guest to its end"
	rm -f "$(snap_file "$dir")"
}

# The guest's verdicts from every console it ran on.
collect() {
	local kv=$1 dir=$WORK/$1 n p f g1 g2

	: >"$dir/verdicts"
	for n in A B C D; do
		[ -f "$dir/serial-$n.log" ] || continue
		tr -d '\r' <"$dir/serial-$n.log" | grep -E '^(PASS|FAIL|E2E)' |
			grep -v '^E2E-REQ' |
			sed "s/^\(PASS\|FAIL\): /\1: [$SERIES $n] /" >>"$dir/verdicts"
	done
	cat "$dir/verdicts"
	p=$(grep -c '^PASS' "$dir/verdicts")
	f=$(grep -c '^FAIL' "$dir/verdicts")
	pass=$((pass + p))
	fail=$((fail + f))
	g1=$(grep -h 'restored generation=' "$dir/serial-C.log" 2>/dev/null |
		tr -d '\r' | sed 's/.*generation=\([0-9]*\).*/\1/')
	g2=$(grep -h 'restored generation=' "$dir/serial-D.log" 2>/dev/null |
		tr -d '\r' | sed 's/.*generation=\([0-9]*\).*/\1/')
	[ -n "$g1" ] && [ -n "$g2" ] && [ "$g1" != "$g2" ]
	result $? "[$SERIES] two restores of one snapshot: distinct generations ($g1, $g2)"
	grep -h '^E2E-\(ACC\|LAT\)' "$dir/verdicts" | sed "s/^/  [$SERIES] /" \
		>"$dir/accuracy"
	echo "== $SERIES ($kv): guest checks $p passed, $f failed"
}

run_series() {
	local series=$1 line kv dir

	SERIES=$series
	line=$("$HERE/kernels.sh" ${E2E_NO_APT:+--no-apt} "$series" | tail -1)
	read -r _ kv ROOT <<<"$line"
	if [ -z "$kv" ]; then
		result 1 "[$series] kernel $series available"
		return
	fi
	echo "== $series: $kv"
	dir=$WORK/$kv
	rm -rf "$dir" && mkdir -p "$dir"
	build_module "$kv" "$ROOT/usr/src/linux-headers-$kv"
	result $? "[$series] module builds warning-free with W=1"
	[ -f "$dir/kmod/vmclock_guest.ko" ] || return
	make_initramfs "$kv"
	"$VMCLOCKCTL" qemu-config vm ssdt="$dir/ssdt.aml" mailbox=$MBOX \
		>"$dir/qemu-config.txt"
	result $? "[$series] SSDT from vmclockctl qemu-config (iasl-checked in make check)"

	DIR=$dir
	host_start
	result $? "[$series] host side ($HOST) started"
	start_vm "$kv" A
	result $? "[$series] QEMU A boots with the page in shared RAM"
	serve_reqs "$kv" A migrate
	result $? "[$series] guest asked for the migration"
	migrate "$kv"
	result $? "[$series] live migration A -> B through the adapter"
	serve_reqs "$kv" B snapshot
	result $? "[$series] guest asked for the snapshot"
	snapshot "$kv"
	for n in A B C D; do stop_vm $n; done
	host_stop
	collect "$kv"
	grep -E 'mapping|disrupted|restored|migrated|saved' "$dir/host.log" |
		sed "s/^/  [$series host] /"
}

cleanup() {
	local n

	for n in "${!QPID[@]}"; do
		[ -n "${QPID[$n]}" ] && kill "${QPID[$n]}" "${SPID[$n]}" 2>/dev/null
	done
	[ -n "${VPID:-}" ] && kill "$VPID" 2>/dev/null
	rm -f /dev/shm/vmclock-e2e-$$-*
}

main() {
	local series

	trap cleanup EXIT
	[ $# -gt 0 ] || set -- 6.12 6.1
	for f in "$HOSTD" "$GUEST" "$VMM" "$VMCLOCK" "$VMCLOCKD" "$VMCLOCKCTL"; do
		[ -x "$f" ] || { echo "e2e.sh: build $f first (make check-e2e)"; exit 2; }
	done
	mkdir -p "$WORK"
	[ -n "${E2E_NO_APT:-}" ] || "$HERE/kernels.sh" >/dev/null || exit 2
	for series in "$@"; do run_series "$series"; done
	echo "== accuracy (error = clock - middle of the host window)"
	cat "$WORK"/*/accuracy 2>/dev/null
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}

main "$@"
