#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dkms.sh [--fetch] - the DKMS package of vmclock_guest, built by Debian's
# dkms against Debian's 6.1 cloud kernel headers, and refused for a kernel
# that has the in-tree driver (CONFIG_PTP_1588_CLOCK_VMCLOCK).
#
# dkms runs on private trees (--sourcetree, --dkmstree, --installtree), so
# nothing under /usr/src, /var/lib/dkms or /lib/modules is touched.  The
# headers are unpacked, not installed, by tests/e2e/kernels.sh: --fetch
# gets them (and dkms, pahole, gcc-12); without it the newest 6.1 tree
# already under $VMCLOCK_E2E_DIR (/tmp/vmclock-e2e) is used.
# Prints PASS/FAIL per check and "N passed, N failed".
set -u
# Under make check: Kbuild must not see our make's O= or jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VMCLOCK_E2E_DIR:-/tmp/vmclock-e2e}
tmp=$(mktemp -d /tmp/vmclock-dkms.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

result() {
	if [ "$2" = 0 ]; then
		echo "PASS $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1"
		sed 's/^/    /' "$tmp/log" | tail -30
		failed=$((failed + 1))
	fi
}

if [ "${1:-}" = --fetch ]; then
	"$top/scripts/install-deps.sh" dkms pahole gcc-12 make libc6-dev || exit 1
	line=$("$top/tests/e2e/kernels.sh" --no-apt 6.1) ||
		line=$(apt-get update -qq && "$top/tests/e2e/kernels.sh" --no-apt 6.1) ||
		{ echo "dkms: could not fetch the 6.1 headers"; echo "0 passed, 1 failed"; exit 1; }
	read -r _ kver root <<<"$line"
else
	root=
	for r in "$cache"/root-6.1.0-*-cloud-amd64; do
		[ -e "$r/.done" ] && root=$r	# the glob sorts; ABIs grow
	done
	kver=${root##*/root-}
fi
ksrc=$root/usr/src/linux-headers-$kver
if [ ! -e "$ksrc/.config" ] || ! command -v dkms >/dev/null; then
	echo "dkms: no dkms or no headers in '$ksrc'; run make check-dkms"
	echo "0 passed, 1 failed"
	exit 1
fi
version=$(sed -n 's/^VERSION := //p' "$top/Makefile")

# dkms on trees of its own under $1, with the package from make dkms-install.
dkms_tree() {
	local d=$1
	shift
	dkms --sourcetree "$d/src" --dkmstree "$d/dkms" --installtree "$d/inst" "$@"
}

setup() {
	mkdir -p "$1/dkms" "$1/inst" &&
		make -C "$top" --no-print-directory -s dkms-install \
			DESTDIR="$1/dest" &&
		mkdir -p "$1/src" &&
		cp -r "$1/dest/usr/src/vmclock-$version" "$1/src/"
}

t_build() {
	local d=$tmp/build ko
	setup "$d" && dkms_tree "$d" build -m vmclock -v "$version" -k "$kver" \
		--kernelsourcedir "$ksrc" || return 1
	ko=$(find "$d/dkms" -name vmclock_guest.ko | head -1)
	[ -n "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$kver " &&
		dkms_tree "$d" status | grep -q "^vmclock/$version, $kver, .*: built"
}

# The same headers with ptp_vmclock configured (=m): dkms declines (77).
t_excluded() {
	local d=$tmp/excl rc
	setup "$d" || return 1
	cp -rs "$ksrc" "$d/ksrc" && rm "$d/ksrc/.config" &&
		{ cat "$ksrc/.config"; echo CONFIG_PTP_1588_CLOCK_VMCLOCK=m; } \
			>"$d/ksrc/.config" || return 1
	dkms_tree "$d" build -m vmclock -v "$version" -k "$kver" \
		--kernelsourcedir "$d/ksrc"
	rc=$?
	[ "$rc" = 77 ] && [ -z "$(find "$d/dkms" -name '*.ko')" ]
}

echo "dkms: $(dkms --version 2>/dev/null), kernel $kver"
t_build >"$tmp/log" 2>&1
result "dkms build against $kver headers" $?
t_excluded >"$tmp/log" 2>&1
result "dkms declines a kernel with CONFIG_PTP_1588_CLOCK_VMCLOCK" $?
echo "dkms: $passed passed, $failed failed"
[ "$failed" = 0 ]
