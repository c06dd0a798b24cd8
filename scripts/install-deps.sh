#!/bin/sh
# SPDX-License-Identifier: MIT
#
# install-deps.sh PKG... - make sure these Debian packages are installed.
# Installs the missing ones with apt-get when run as root (running
# 'apt-get update' once first); otherwise says which to install and fails.
missing=
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "vmclock: missing Debian packages:$missing" >&2
	echo "vmclock: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "vmclock: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || { echo "vmclock: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	{ echo "vmclock: apt-get install$missing failed" >&2; exit 1; }
