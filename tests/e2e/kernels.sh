#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kernels.sh - fetch the Debian cloud kernels the kmod e2e tests boot.
#
# Resolves the newest 6.12 and 6.1 cloud kernels in the archive, downloads
# image, headers and kbuild with apt-get download and extracts them with
# dpkg-deb -x under $VMCLOCK_E2E_DIR (default /tmp/vmclock-e2e).  Nothing is
# installed on the host: the headers package depends on the image, so
# installing it would put a kernel into /boot.  Old ABIs leave the archive,
# so the version is resolved each run rather than pinned.
#
# Usage: kernels.sh [--no-apt] [6.12|6.1 ...]
# Prints one line per series: SERIES KVER ROOT (ROOT/boot/vmlinuz-KVER and
# ROOT/usr/src/linux-headers-KVER are the kernel and the build tree).

set -euo pipefail

CACHE=${VMCLOCK_E2E_DIR:-/tmp/vmclock-e2e}
HOST_PKGS="qemu-system-x86 acpica-tools busybox-static cpio pahole gcc-12
	make libc6-dev linuxptp python3 gcc"

log() { echo "kernels.sh: $*" >&2; }

install_host_packages() {
	local stamp=$CACHE/.apt-done

	[ -e "$stamp" ] && return 0
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $HOST_PKGS >/dev/null
	touch "$stamp"
}

resolve() {
	local series=$1

	case $series in
	6.12)
		apt-cache search --names-only \
			'^linux-image-6\.12\.[0-9.]+\+deb12-cloud-amd64$' |
			awk '{print $1}' | sed 's/^linux-image-//' |
			sort -V | tail -1
		;;
	6.1)
		apt-cache search --names-only \
			'^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' |
			awk '{print $1}' | sed 's/^linux-image-//' |
			sort -V | tail -1
		;;
	*)
		log "unknown series $series"
		return 1
		;;
	esac
}

fetch() {
	local series=$1 kv base kbuild root debs

	kv=$(resolve "$series")
	[ -n "$kv" ] || { log "no $series cloud kernel in the archive"; return 1; }
	base=${kv%-cloud-amd64}
	if [ "$series" = 6.1 ]; then kbuild=linux-kbuild-6.1; \
	else kbuild=linux-kbuild-$base; fi
	root=$CACHE/root-$kv
	debs=$CACHE/debs-$kv
	if [ ! -e "$root/.done" ]; then
		rm -rf "$root" "$debs"
		mkdir -p "$root" "$debs"
		# apt's download sandbox user must be able to write there.
		id _apt >/dev/null 2>&1 && chown _apt "$debs"
		(cd "$debs" && apt-get download -qq "linux-image-$kv" \
			"linux-headers-$kv" "linux-headers-$base-common" \
			"$kbuild" >/dev/null)
		for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
		# The headers Makefile includes the -common tree by absolute path.
		sed -i "s#^include /usr/src/#include $root/usr/src/#" \
			"$root/usr/src/linux-headers-$kv/Makefile"
		rm -rf "$debs"
		touch "$root/.done"
	fi
	echo "$series $kv $root"
}

main() {
	local apt=1 series

	if [ "${1:-}" = --no-apt ]; then apt=0; shift; fi
	[ $# -gt 0 ] || set -- 6.12 6.1
	mkdir -p "$CACHE"
	[ $apt = 1 ] && install_host_packages
	for series in "$@"; do fetch "$series"; done
}

main "$@"
