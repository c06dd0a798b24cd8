#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-guest.sh - the kernel paths to the page, measured inside a guest
# (make bench-guest).  Reuses the kmod e2e pieces without changing them:
# tests/e2e/kernels.sh (the Debian kernel), kmod-ssdt.asl (the devices),
# guest/init, and e2e-hostd (writes the precise page at 0x1f000000).  Boots
# with TCG by default, as the e2e tests do: nested KVM fails on the machines
# this was written on ("KVM internal error"); BENCH_ACCEL=kvm tries it.
# Under TCG every instruction is emulated, so only the ratios mean anything,
# and they overstate the system-call paths less than one would hope: read
# them as an order of magnitude.  Writes $O/bench/guest/guest.txt, which
# bench/run.sh puts into docs/benchmarks.md.
#
# Env: O (build dir), E2E_NO_APT=1, BENCH_ACCEL (tcg|kvm), E2E_TIMEOUT (240).
# Usage: run-guest.sh [6.12|6.1]
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
E2E=$TOP/tests/e2e
O=${O:-build}
case $O in /*) ;; *) O=$TOP/$O ;; esac
GB=$O/bench/guest_bench
HOSTD=$O/tests/e2e/e2e-hostd
WORK=$O/bench/guest
TIMEOUT=${E2E_TIMEOUT:-240}
SERIES=${1:-6.12}

# Wait for a line matching $2 in file $1, up to $3 seconds, while pid $4
# (if given) lives.
wait_log() {
	local end=$((SECONDS + $3))

	while [ $SECONDS -lt $end ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		[ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}


initramfs() {
	local kv=$1 root=$WORK/initramfs

	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,files}
	cp /bin/busybox "$root/bin/busybox"
	cp "$E2E/guest/init" "$root/init"
	cp "$TOP/bench/guest-test.sh" "$root/test.sh"
	cp "$WORK/kmod/vmclock_guest.ko" "$GB" "$root/files/"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$WORK/initrd.img"
}

boot() {
	local kv=$1 kroot=$2 accel=$3 shm=/dev/shm/vmclock-bench-guest-$$
	local cpu="-cpu max,vendor=GenuineIntel,family=6,model=85" qpid hpid rc

	[ "$accel" = tcg ] || cpu="-cpu host"
	iasl -p "$WORK/ssdt" "$E2E/kmod-ssdt.asl" >/dev/null || return 1
	rm -f "$shm" "$WORK/qmp.sock" "$WORK/serial.log" "$WORK/hostd.log"
	truncate -s 512M "$shm"
	"$HOSTD" "$shm" "$WORK/qmp.sock" "$TIMEOUT" >"$WORK/hostd.log" 2>&1 &
	hpid=$!
	wait_log "$WORK/hostd.log" 'e2e-hostd: ready' 30 || return 1
	# shellcheck disable=SC2086 # $cpu is two words
	qemu-system-x86_64 -accel "$accel" $cpu \
		-M pc,memory-backend=ram -m 512M -smp 1 \
		-object memory-backend-file,id=ram,size=512M,mem-path="$shm",share=on \
		-nographic -no-reboot -device pc-testdev \
		-acpitable file="$WORK/ssdt.aml" \
		-qmp unix:"$WORK/qmp.sock",server=on,wait=off \
		-kernel "$kroot/boot/vmlinuz-$kv" -initrd "$WORK/initrd.img" \
		-append "console=ttyS0 panic=-1 quiet memmap=20K\$0x1f000000" \
		>"$WORK/serial.log" 2>&1 &
	qpid=$!
	wait_log "$WORK/serial.log" 'E2E-END' "$TIMEOUT" "$qpid"
	rc=$?
	kill "$qpid" "$hpid" 2>/dev/null
	wait "$qpid" "$hpid" 2>/dev/null
	rm -f "$shm"
	return $rc
}

main() {
	local line kv kroot accel

	mkdir -p "$WORK"
	if [ ! -x "$GB" ] || [ ! -x "$HOSTD" ]; then
		echo "run-guest.sh: build $GB and $HOSTD first (make bench-guest)"
		exit 2
	fi
	line=$("$E2E/kernels.sh" ${E2E_NO_APT:+--no-apt} "$SERIES" | tail -1)
	read -r _ kv kroot <<<"$line"
	[ -n "$kv" ] || { echo "run-guest.sh: no $SERIES kernel"; exit 2; }
	make -s -C "$TOP" O="$O" KDIR="$kroot/usr/src/linux-headers-$kv" \
		KMOD_OUT="$WORK/kmod" kmod >"$WORK/kmod.log" 2>&1 ||
		{ cat "$WORK/kmod.log"; exit 1; }
	initramfs "$kv"
	accel=${BENCH_ACCEL:-tcg}
	echo "run-guest.sh: booting $kv with $accel" >&2
	boot "$kv" "$kroot" "$accel" || { tail -n 30 "$WORK/serial.log"; exit 1; }
	{
		echo "Measured in a QEMU guest ($accel, 1 vCPU, Debian $kv, the" \
			"vmclock_guest module), $(date -u '+%Y-%m-%d %H:%M UTC'):"
		echo
		echo '```'
		sed -n '/GUEST-BENCH-BEGIN/,/GUEST-BENCH-END/p' "$WORK/serial.log" |
			tr -d '\r' | grep -v 'GUEST-BENCH-'
		echo '```'
	} >"$WORK/guest.txt"
	cat "$WORK/guest.txt"
}

main "$@"
