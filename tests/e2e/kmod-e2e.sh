#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kmod-e2e.sh - build vmclock_guest against Debian's 6.12 and 6.1 kernels
# and prove it in a TCG guest of each (make check-kmod runs this).
#
# Per kernel: build the module with W=1 (any warning fails), build an
# initramfs (busybox, the module, e2e-guest, phc_ctl and its libraries),
# start e2e-hostd on the guest's shared RAM file (it writes the VMClock page
# and serves the guest's mailbox), boot QEMU and collect the guest's
# PASS/FAIL lines from the serial console.  Ends with "N passed, N failed".
#
# Env: O (build dir, default build), E2E_HOSTD, E2E_GUEST (the two tools,
#      default under $O/tests/e2e), VMCLOCK_E2E_DIR (kernel cache),
#      E2E_NO_APT=1 (skip apt-get), E2E_TIMEOUT (seconds per boot, 240).
# Usage: kmod-e2e.sh [6.12] [6.1]

set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/e2e
O=${O:-build}
case $O in /*) ;; *) O=$TOP/$O ;; esac
HOSTD=${E2E_HOSTD:-$O/tests/e2e/e2e-hostd}
GUEST=${E2E_GUEST:-$O/tests/e2e/e2e-guest}
WORK=$O/kmod-e2e
TIMEOUT=${E2E_TIMEOUT:-240}
pass=0
fail=0

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
		sleep 0.2
	done
	return 1
}

build_module() {
	local kv=$1 hdr=$2
	local out=$WORK/$kv/kmod log=$WORK/$kv/build.log

	# A parent make -jN would make it say "jobserver unavailable".
	env -u MAKEFLAGS -u MFLAGS make -s -C "$TOP" O="$O" KDIR="$hdr" \
		KMOD_OUT="$out" KMOD_W=1 kmod >"$log" 2>&1
	local rc=$?
	grep -vE '^make|Skipping BTF' "$log" | sed "s/^/  [$kv build] /"
	[ $rc = 0 ] && [ -f "$out/vmclock_guest.ko" ] &&
		! grep -iE 'warning:|error:' "$log" | grep -qv jobserver
}

build_stub() {
	local kv=$1 hdr=$2 out=$WORK/$1/stub

	rm -rf "$out" && mkdir -p "$out"
	cp "$HERE/stub/vmclock_e2e_stub.c" "$HERE/stub/Kbuild" "$out/"
	env -u MAKEFLAGS make -s -C "$hdr" M="$out" W=1 modules \
		>"$WORK/$kv/stub.log" 2>&1 && [ -f "$out/vmclock_e2e_stub.ko" ]
}

# Copy a dynamically linked program and the libraries it loads.
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
	local kv=$1
	local root=$WORK/$kv/initramfs

	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,files}
	cp /bin/busybox "$root/bin/busybox"
	cp "$HERE/guest/init" "$root/init"
	cp "$HERE/guest/test-kmod.sh" "$root/test.sh"
	cp "$WORK/$kv/kmod/vmclock_guest.ko" "$WORK/$kv/stub/vmclock_e2e_stub.ko" \
		"$GUEST" "$root/files/"
	add_program "$root" "$(command -v phc_ctl)"
	(cd "$root" && find . | cpio -o -H newc --quiet) |
		gzip -1 >"$WORK/$kv/initrd.img"
}

boot_guest() {
	local kv=$1 root=$2 dir=$WORK/$1 shm=/dev/shm/vmclock-kmod-e2e-$$
	local qpid hpid

	iasl -p "$dir/ssdt" "$HERE/kmod-ssdt.asl" >/dev/null || return 1
	# A stale log would satisfy wait_log before the new one is opened.
	rm -f "$shm" "$dir/qmp.sock" "$dir/serial.log" "$dir/hostd.log"
	truncate -s 512M "$shm"
	"$HOSTD" "$shm" "$dir/qmp.sock" "$TIMEOUT" >"$dir/hostd.log" 2>&1 &
	hpid=$!
	wait_log "$dir/hostd.log" 'e2e-hostd: ready' 30 || return 1
	qemu-system-x86_64 -accel tcg \
		-cpu max,vendor=GenuineIntel,family=6,model=85 \
		-M pc,memory-backend=ram -m 512M -smp 1 \
		-object memory-backend-file,id=ram,size=512M,mem-path="$shm",share=on \
		-nographic -no-reboot -device pc-testdev \
		-acpitable file="$dir/ssdt.aml" \
		-qmp unix:"$dir/qmp.sock",server=on,wait=off \
		-kernel "$root/boot/vmlinuz-$kv" -initrd "$dir/initrd.img" \
		-append "console=ttyS0 panic=-1 quiet memmap=20K\$0x1f000000" \
		>"$dir/serial.log" 2>&1 &
	qpid=$!
	wait_log "$dir/serial.log" 'E2E-END' "$TIMEOUT"
	local rc=$?
	kill "$qpid" 2>/dev/null
	kill "$hpid" 2>/dev/null
	wait "$qpid" "$hpid" 2>/dev/null
	rm -f "$shm"
	return $rc
}

# One kernel series: build, boot, count the guest's verdicts.
run_series() {
	local series=$1 line kv root

	line=$("$HERE/kernels.sh" ${E2E_NO_APT:+--no-apt} "$series" | tail -1)
	read -r _ kv root <<<"$line"
	if [ -z "$kv" ]; then
		result 1 "[$series] kernel $series available"
		return
	fi
	echo "== $series: $kv"
	mkdir -p "$WORK/$kv"
	build_module "$kv" "$root/usr/src/linux-headers-$kv"
	result $? "[$series] module builds warning-free with W=1"
	[ -f "$WORK/$kv/kmod/vmclock_guest.ko" ] || return
	build_stub "$kv" "$root/usr/src/linux-headers-$kv"
	result $? "[$series] stand-in driver builds"
	make_initramfs "$kv"
	boot_guest "$kv" "$root"
	result $? "[$series] guest booted and finished within ${TIMEOUT}s"
	grep -E '^(PASS|FAIL|E2E)' "$WORK/$kv/serial.log" | tr -d '\r' |
		sed "s/^\(PASS\|FAIL\): /\1: [$series] /" >"$WORK/$kv/verdicts"
	cat "$WORK/$kv/verdicts"
	local p f
	p=$(grep -c '^PASS' "$WORK/$kv/verdicts")
	f=$(grep -c '^FAIL' "$WORK/$kv/verdicts")
	pass=$((pass + p))
	fail=$((fail + f))
	echo "== $series ($kv): guest checks $p passed, $f failed"
}

main() {
	local series

	[ $# -gt 0 ] || set -- 6.12 6.1
	if [ ! -x "$HOSTD" ] || [ ! -x "$GUEST" ]; then
		echo "kmod-e2e.sh: build $HOSTD and $GUEST first (make check-kmod)"
		exit 2
	fi
	mkdir -p "$WORK"
	[ -n "${E2E_NO_APT:-}" ] || "$HERE/kernels.sh" >/dev/null || exit 2
	for series in "$@"; do run_series "$series"; done
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}

main "$@"
