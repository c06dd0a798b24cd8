#!/bin/bash
# SPDX-License-Identifier: MIT
#
# udev-fake.sh DIR - run inside a private mount namespace (unshare -m) by
# install.sh: fake /sys devices, a fresh /dev, /run and rules directory
# (DIR/rules), DIR/group as /etc/group; `udevadm test` each device and
# write what udev made of them to DIR/result.  Nothing of this machine's
# /dev, /sys or /run is touched.
set -eu
dir=$1
export SYSTEMD_DEVICE_VERIFY_SYSFS=0	# a tmpfs /sys is not sysfs

mount --make-rprivate /
mount -t tmpfs none /sys
mount -t tmpfs none /dev
mount -t tmpfs none /run
mknod -m 666 /dev/null c 1 3
mount --bind "$dir/rules" /etc/udev/rules.d
mount --bind "$dir/group" /etc/group

# device CLASS NAME MAJOR MINOR [CLOCK_NAME]
device() {
	local d=/sys/devices/virtual/$1/$2
	mkdir -p "$d" "/sys/class/$1"
	printf 'MAJOR=%s\nMINOR=%s\nDEVNAME=%s\n' "$3" "$4" "$2" >"$d/uevent"
	echo "$3:$4" >"$d/dev"
	[ $# -lt 5 ] || echo "$5" >"$d/clock_name"
	ln -s "../../../../class/$1" "$d/subsystem"
	ln -s "../../devices/virtual/$1/$2" "/sys/class/$1/$2"
	mknod -m 600 "/dev/$2" c "$3" "$4"
	udevadm test --action=add "$d" 2>&1
}

device misc vmclock0 10 120
device misc vmclock1 10 121
device misc fuse 10 229
device ptp ptp0 248 0 "KVM virtual PTP"
device ptp ptp1 248 1 vmclock0
device ptp ptp2 248 2 vmclock1
device ptp ptp3 248 3 vmclock

cd /dev
{
	stat -c '%n %G %a' vmclock0 vmclock1 fuse ptp0 ptp1 ptp2 ptp3
	for l in ptp_*; do echo "$l -> $(readlink "$l")"; done
} >"$dir/result"
