#!/bin/bash
# SPDX-License-Identifier: MIT
#
# install.sh - vmclock installed as a system package, checked from outside:
# make install into a DESTDIR (Debian's layout and the /usr/local default),
# the file list, the shared library's soname and exports, pkg-config, the
# examples built against the installed tree (shared and static) and run on a
# page they write, the systemd units (systemd-analyze verify), the udev
# rules (udevadm test on a fake sysfs in a private mount namespace),
# sysusers, the hook dispatcher and the guest unit's command line end to
# end, the chrony hook and snippet, the man pages, shellcheck, uninstall.
# The DKMS build runs here when dkms and Debian's 6.1 headers are already on
# the machine; make check-dkms fetches them (tests/install/dkms.sh).
#
# Run by make check (VMCLOCK_INSTALL_O is the build dir); prints PASS/FAIL
# per check and "N passed, N failed".
# The checks are chains: A && B || { explain; return 1; } is meant.
# shellcheck disable=SC2015
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
O=${VMCLOCK_INSTALL_O:-build}
[[ $O = /* ]] || O=$top/$O
tmp=$(mktemp -d /tmp/vmclock-install.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
DEB=$tmp/deb
DEB_LIB=$DEB/usr/lib/$MULTIARCH
LOC=$tmp/local
VERSION=$(sed -n 's/^VERSION := //p' "$top/Makefile")
# make SAN=...: the installed library needs the sanitizer runtime linked in.
SAN_FLAGS=${VMCLOCK_INSTALL_SAN:+-fsanitize=$VMCLOCK_INSTALL_SAN}

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	[ -s "$tmp/why" ] && sed 's/^/    /' "$tmp/why" | head -40
	failed=$((failed + 1))
}
skip() { echo "SKIP $1: $2"; }
# check NAME CMD...: CMD's exit status decides; its output is shown on failure.
check() {
	local name=$1
	shift
	if "$@" >"$tmp/why" 2>&1; then pass "$name"; else fail "$name"; fi
	: >"$tmp/why"
}
# Wait up to $2 seconds for file $1 to match the regex $3.
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		grep -qE "$3" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no '$3' in $1 after $2 s:"
	cat "$1"
	return 1
}

make_install() {
	make -C "$top" --no-print-directory O="$O" "$@" >"$tmp/make.log" 2>&1 ||
		{ tail -20 "$tmp/make.log"; return 1; }
}

# --- install ---------------------------------------------------------------

t_install() {
	make_install install DESTDIR="$DEB" PREFIX=/usr \
		LIBDIR="/usr/lib/$MULTIARCH" &&
		make_install install DESTDIR="$LOC"
}

# What the tree says must be installed (Debian layout, relative to DESTDIR).
expected_files() {
	local f
	for f in libvmclock.a libvmclock.so libvmclock.so.0 \
		libvmclock.so.0.1.0 pkgconfig/vmclock.pc; do
		echo "usr/lib/$MULTIARCH/$f"
	done
	for f in "$top"/include/vmclock/*.h; do
		echo "usr/include/vmclock/${f##*/}"
	done
	[ -e "$O/cli/vmclock" ] && echo usr/bin/vmclock
	[ -e "$O/daemon/vmclockd" ] && echo usr/sbin/vmclockd
	[ -e "$O/daemon/vmclockctl" ] && echo usr/sbin/vmclockctl
	echo usr/libexec/vmclock/vmclock-run-hooks
	for f in "$top"/docs/man/*.[1-8]; do
		[ -e "$f" ] && echo "usr/share/man/man${f##*.}/${f##*/}"
	done
	for f in "$top"/systemd/*.service; do
		echo "usr/lib/systemd/system/${f##*/}"
	done
	echo usr/lib/udev/rules.d/60-vmclock.rules
	echo usr/lib/sysusers.d/vmclock.conf
	(cd "$top" && find examples -type f \( -name '*.c' -o -name '*.conf' \
		-o -name '*.md' -o -name '*.sh' -o -name Makefile \
		-o -path 'examples/hooks/*' \)) | sed 's|^|usr/share/doc/vmclock/|'
}

t_file_list() {
	expected_files | sort >"$tmp/want"
	(cd "$DEB" && find . ! -type d | sed 's|^\./||' | sort) >"$tmp/have"
	diff -u "$tmp/want" "$tmp/have" &&
		[ -d "$DEB/etc/vmclock/restore.d" ] && [ -d "$DEB/etc/vmclock/disrupt.d" ]
}

t_local_layout() {
	local u=$LOC/usr/local
	[ -e "$u/lib/libvmclock.so.0.1.0" ] && [ -d "$u/etc/vmclock/restore.d" ] &&
		[ -e "$u/lib/systemd/system/vmclock-watch.service" ] &&
		[ -e "$u/lib/udev/rules.d/60-vmclock.rules" ] &&
		grep -q '^ExecStart=/usr/local/bin/vmclock watch' \
			"$u/lib/systemd/system/vmclock-watch.service" &&
		grep -q '"/usr/local/libexec/vmclock/vmclock-run-hooks restore"' \
			"$u/lib/systemd/system/vmclock-watch.service" &&
		grep -q 'VMCLOCK_HOOKS_DIR:-/usr/local/etc/vmclock}' \
			"$u/libexec/vmclock/vmclock-run-hooks" &&
		grep -qx 'prefix=/usr/local' "$u/lib/pkgconfig/vmclock.pc" ||
		{ find "$LOC"; return 1; }
}

# --- the shared library ------------------------------------------------------

t_soname() {
	local so=$DEB_LIB/libvmclock.so.0.1.0
	readelf -d "$so" | grep -q 'Library soname: \[libvmclock.so.0\]' &&
		[ "$(readlink "$DEB_LIB/libvmclock.so.0")" = libvmclock.so.0.1.0 ] &&
		[ "$(readlink -f "$DEB_LIB/libvmclock.so")" = "$(readlink -f "$so")" ]
}

# The functions the public headers declare (not static inline).
header_functions() {
	local h
	for h in "$DEB"/usr/include/vmclock/*.h; do
		printf '#include <vmclock/%s>\n' "${h##*/}"
	done |
		gcc -I"$DEB/usr/include" -aux-info "$tmp/aux" -xc -c -o /dev/null - &&
		grep "$DEB/usr/include/vmclock/" "$tmp/aux" | grep -v ' static ' |
		grep -oE '\bvmclock_[a-z0-9_]+ \(' | tr -d ' (' | sort -u
}

t_exports() {
	local so=$DEB_LIB/libvmclock.so.0.1.0
	nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' |
		sort >"$tmp/dyn"
	if grep -v '^vmclock_[a-z0-9_]*@@VMCLOCK_0$' "$tmp/dyn"; then
		echo "^ exported beyond vmclock_*@@VMCLOCK_0"
		return 1
	fi
	sed 's/@@.*//' "$tmp/dyn" >"$tmp/dyn-names"
	header_functions >"$tmp/api" || return 1
	nm -g --defined-only "$DEB_LIB/libvmclock.a" | awk '$2 == "T" { print $3 }' |
		grep '^vmclock_' | sort -u >"$tmp/archive"
	diff -u "$tmp/api" "$tmp/dyn-names" && diff -u "$tmp/archive" "$tmp/dyn-names"
}

# --- pkg-config and the examples ----------------------------------------------

pc() {
	PKG_CONFIG_SYSROOT_DIR=$DEB PKG_CONFIG_LIBDIR=$DEB_LIB/pkgconfig \
		PKG_CONFIG_PATH='' pkg-config "$@"
}

t_pkg_config() {
	local got want words
	# One line, single spaces (pkg-config may add a trailing blank).
	read -r -a words <<<"$(pc --modversion vmclock) $(pc --cflags vmclock) $(pc --libs vmclock)"
	got="${words[*]}"
	want="$VERSION -I$DEB/usr/include -L$DEB_LIB -lvmclock"
	[ "$got" = "$want" ] || { printf 'got:  %s\nwant: %s\n' "$got" "$want"; return 1; }
}

# Build the installed examples (their own Makefile) in a copy of them.
build_examples() {
	local dir=$1
	shift
	cp -r "$DEB/usr/share/doc/vmclock/examples" "$dir" &&
		PKG_CONFIG_SYSROOT_DIR=$DEB PKG_CONFIG_LIBDIR=$DEB_LIB/pkgconfig \
			PKG_CONFIG_PATH='' make -C "$dir" --no-print-directory \
			CFLAGS="-O2 -g -Wall -Wextra -Werror -Wshadow -Wconversion" \
			${SAN_FLAGS:+LDFLAGS="$SAN_FLAGS"} "$@"
}

t_build_shared() {
	build_examples "$tmp/ex" || return 1
	readelf -d "$tmp/ex/read-time" | grep -q 'NEEDED.*\[libvmclock.so.0\]'
}

t_build_static() {
	build_examples "$tmp/ex-static" STATIC=1 || return 1
	if readelf -d "$tmp/ex-static/read-time" | grep NEEDED; then
		echo "^ a static build has dynamic dependencies"
		return 1
	fi
}

run_shared() { LD_LIBRARY_PATH=$DEB_LIB "$@"; }

t_run_shared() {
	run_shared "$tmp/ex/publish-page" "$tmp/page" &&
		run_shared "$tmp/ex/read-time" "$tmp/page" >"$tmp/rt.out" &&
		cat "$tmp/rt.out" &&
		grep -q '^bounded: .* status SYNCHRONIZED; system clock inside the bound' \
			"$tmp/rt.out" &&
		# The library really is the installed one.
		LD_DEBUG=libs run_shared "$tmp/ex/read-time" "$tmp/page" 2>&1 |
		grep -q "calling init: $DEB_LIB/libvmclock.so.0"
}

t_run_static() {
	"$tmp/ex-static/publish-page" "$tmp/page-static" &&
		"$tmp/ex-static/read-time" -n 2 -i 10 "$tmp/page-static" \
			>"$tmp/rts.out" &&
		[ "$(grep -c '^bounded: .* inside the bound' "$tmp/rts.out")" = 2 ] ||
		{ cat "$tmp/rts.out"; return 1; }
}

# A reader running while the host restores and migrates sees both, once.
t_events() {
	local out=$tmp/events.out
	# Not through run_shared: $! must be the reader itself, for cleanup.
	LD_LIBRARY_PATH=$DEB_LIB "$tmp/ex/read-time" -n 600 -i 20 "$tmp/page" \
		>"$out" &
	pids+=($!)
	wait_for "$out" 10 '^bounded' &&
		run_shared "$tmp/ex/publish-page" --restore "$tmp/page" &&
		wait_for "$out" 10 '^event: restore ' &&
		run_shared "$tmp/ex/publish-page" --disrupt "$tmp/page" &&
		wait_for "$out" 10 '^event: disruption ' &&
		[ "$(grep -c '^event: restore ' "$out")" = 1 ] &&
		grep -q 'event: disruption (disruption_marker 1, vm_generation_counter 1)' "$out"
}

t_cli_reads_page() {
	if [ ! -x "$DEB/usr/bin/vmclock" ]; then
		echo "no vmclock program in this tree"
		return 1
	fi
	"$DEB/usr/bin/vmclock" status --device "$tmp/page" >"$tmp/st.out" &&
		grep -q '^mode: *precise' "$tmp/st.out" || { cat "$tmp/st.out"; return 1; }
}

# --- systemd -------------------------------------------------------------------

# systemd-analyze verify of each installed unit, its paths pointed into the
# DESTDIR (so that the executables it names are the installed ones); any
# message fails, since verify exits 0 on many of its warnings.
t_units() {
	local u copy rc=0 man=no
	[ -e "$DEB/usr/share/man/man1/vmclock.1" ] && man=yes
	mkdir -p "$tmp/units"
	for u in "$DEB"/usr/lib/systemd/system/*.service; do
		copy=$tmp/units/${u##*/}
		sed -e "s|/usr/|$DEB/usr/|g" -e "s|/etc/vmclock|$DEB/etc/vmclock|g" \
			"$u" >"$copy"
		MANPATH=$DEB/usr/share/man systemd-analyze verify --man=$man \
			"$copy" >"$tmp/verify" 2>&1 || rc=1
		if [ -s "$tmp/verify" ]; then
			echo "${u##*/}:"
			cat "$tmp/verify"
			rc=1
		fi
	done
	return $rc
}

# The verify check itself catches a broken unit.
t_units_catch() {
	sed 's/^Type=exec/Type=exex/' \
		"$tmp/units/vmclock-watch.service" >"$tmp/units-bad.service"
	! systemd-analyze verify --man=no "$tmp/units-bad.service" 2>&1 | grep -q . &&
		{ echo "a bad Type= went unnoticed"; return 1; }
	return 0
}

t_sysusers() {
	mkdir -p "$tmp/sysroot/etc" &&
		cp "$DEB/usr/lib/sysusers.d/vmclock.conf" "$tmp/sysusers.conf" &&
		systemd-sysusers --root="$tmp/sysroot" "$tmp/sysusers.conf" &&
		grep -q '^vmclock:x:[0-9]*:' "$tmp/sysroot/etc/group"
}

# --- udev ---------------------------------------------------------------------

# udevadm test (Debian 12's udev has no 'udevadm verify') on fake devices:
# a private mount namespace with a tmpfs /sys holding the devices, its own
# /dev, /run and rules directory, and an /etc/group that has "vmclock".
t_udev() {
	local rules=$1
	if ! unshare -m true 2>/dev/null; then
		echo "no mount namespace (unshare -m): not root?"
		return 1
	fi
	mkdir -p "$tmp/udev/rules"
	rm -f "$tmp/udev/rules/"*
	cp "$rules" "$tmp/udev/rules/60-vmclock.rules"
	{ cat /etc/group; echo 'vmclock:x:4242:'; } >"$tmp/udev/group"
	unshare -m bash "$top/tests/install/udev-fake.sh" "$tmp/udev" \
		>"$tmp/udev/out" 2>&1
	# Every message udev has about our file, then what it did.
	if grep '60-vmclock.rules' "$tmp/udev/out" |
		grep -vE '^(Reading rules file|[a-z0-9]+: /etc/udev/rules.d/60-vmclock.rules:[0-9]+ (GROUP|MODE|LINK|TAG) )'; then
		echo "^ udevadm on 60-vmclock.rules"
		return 1
	fi
	diff -u "$top/tests/install/udev-expected.txt" "$tmp/udev/result"
}

t_udev_catch() {
	sed 's/SYMLINK+="ptp_vmclock"/SYMLNK+="ptp_vmclock"/' \
		"$DEB/usr/lib/udev/rules.d/60-vmclock.rules" >"$tmp/bad.rules"
	! t_udev "$tmp/bad.rules" >/dev/null 2>&1 ||
		{ echo "a misspelt key went unnoticed"; return 1; }
}

# --- hooks --------------------------------------------------------------------

# A hooks directory: ordered, filtered, environment passed, failures counted.
make_hooks() {
	local d=$1
	mkdir -p "$d/restore.d" "$d/disrupt.d"
	# shellcheck disable=SC2016 # expanded by the hook, not here
	printf '#!/bin/sh\necho "$(basename "$0") $1 $VMCLOCK_HOOK_EVENT ${VMCLOCK_EVENT:-} ${VMCLOCK_VM_GENERATION_COUNTER:-}" >>"%s"\n' \
		"$d/log" >"$d/hook"
	chmod 755 "$d/hook"
	cp "$d/hook" "$d/restore.d/20-b"
	cp "$d/hook" "$d/restore.d/10-a"
	cp "$d/hook" "$d/restore.d/30-c.dpkg-old"
	cp "$d/hook" "$d/restore.d/40~"
	cp "$d/hook" "$d/restore.d/50-not-executable"
	chmod 644 "$d/restore.d/50-not-executable"
	cp "$d/hook" "$d/disrupt.d/10-a"
}

t_run_hooks() {
	local h=$tmp/hooks rh=$DEB/usr/libexec/vmclock/vmclock-run-hooks
	make_hooks "$h"
	VMCLOCK_HOOKS_DIR=$h VMCLOCK_EVENT=restore "$rh" restore &&
		VMCLOCK_HOOKS_DIR=$h "$rh" disruption &&
		VMCLOCK_HOOKS_DIR=$h "$rh" change &&
		printf '%s\n' '10-a restore restore restore ' \
			'20-b restore restore restore ' '10-a disrupt disrupt  ' |
		diff -u - "$h/log"
}

t_run_hooks_errors() {
	local h=$tmp/hooks-err rh=$DEB/usr/libexec/vmclock/vmclock-run-hooks
	mkdir -p "$h/restore.d"
	printf '#!/bin/sh\nexit 3\n' >"$h/restore.d/10-fails"
	printf '#!/bin/sh\nsleep 30\n' >"$h/restore.d/20-hangs"
	printf '#!/bin/sh\ntouch "%s"\n' "$h/ran" >"$h/restore.d/30-runs"
	chmod 755 "$h/restore.d/"*
	VMCLOCK_HOOKS_DIR=$h VMCLOCK_HOOK_TIMEOUT=1 "$rh" restore 2>"$h/err"
	[ $? = 1 ] && [ -e "$h/ran" ] &&
		grep -q '10-fails exited 3' "$h/err" &&
		grep -q '20-hangs timed out after 1s' "$h/err" &&
		! "$rh" bogus 2>/dev/null &&
		VMCLOCK_HOOKS_DIR=$tmp/nonexistent "$rh" restore ||
		{ cat "$h/err"; return 1; }
}

# The guest unit's own command line, from the installed unit, on a page
# file: a restore runs restore.d with watch's VMCLOCK_* variables.
t_unit_end_to_end() {
	local unit=$DEB/usr/lib/systemd/system/vmclock-watch.service cmd
	local h=$tmp/hooks-e2e
	if [ ! -x "$DEB/usr/bin/vmclock" ]; then
		echo "no vmclock program in this tree"
		return 1
	fi
	make_hooks "$h"
	cmd=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed -e 's/^ExecStart=//' \
		-e "s|/usr/|$DEB/usr/|g" -e "s|--device /dev/vmclock0|--device $tmp/page|")
	run_shared "$tmp/ex/publish-page" "$tmp/page-e2e" || return 1
	cmd=${cmd//$tmp\/page/$tmp/page-e2e}
	(export VMCLOCK_HOOKS_DIR=$h; eval "exec $cmd") >"$h/watch.out" 2>&1 &
	pids+=($!)
	wait_for "$h/watch.out" 10 'watching' &&
		run_shared "$tmp/ex/publish-page" --restore "$tmp/page-e2e" &&
		wait_for "$h/log" 10 '^20-b ' &&
		run_shared "$tmp/ex/publish-page" --disrupt "$tmp/page-e2e" &&
		wait_for "$h/log" 10 '^10-a disrupt disrupt disruption' &&
		grep -qx '10-a restore restore restore 1' "$h/log" &&
		grep -qx '20-b restore restore restore 1' "$h/log" ||
		{ echo "command: $cmd"; cat "$h/watch.out"; return 1; }
}

# --- chrony -------------------------------------------------------------------

# chronyc and chronyd: installed ones, else Debian's, unpacked (not
# installed: no daemon is started, nothing touches this machine's clock).
find_chrony() {
	local dir=${VMCLOCK_E2E_DIR:-/tmp/vmclock-e2e}/chrony
	if command -v chronyc >/dev/null && command -v chronyd >/dev/null; then
		CHRONYC_BIN=$(command -v chronyc)
		CHRONYD_BIN=$(command -v chronyd)
		return 0
	fi
	if [ ! -x "$dir/usr/bin/chronyc" ]; then
		mkdir -p "$dir/debs" && (cd "$dir/debs" &&
			{ apt-get download -qq chrony || { apt-get update -qq &&
				apt-get download -qq chrony; }; }) >/dev/null 2>&1 &&
			dpkg-deb -x "$dir"/debs/chrony_*.deb "$dir" || return 1
	fi
	CHRONYC_BIN=$dir/usr/bin/chronyc
	CHRONYD_BIN=$dir/usr/sbin/chronyd
}

# The hook's commands, in order, each accepted by chrony's own parser:
# a chronyc pointed at a port where no daemon listens says "506 Cannot talk
# to daemon" for a valid command and names a bad one before trying.
t_chrony_hook() {
	local fake=$tmp/chronyc hook=$DEB/usr/share/doc/vmclock/examples/hooks/50-chrony-resync
	# shellcheck disable=SC2016 # expanded by the hook, not here
	printf '#!/bin/sh\necho "$*" >>%s/chronyc.log\n%s -h 127.0.0.1 -p 1 "$@" 2>&1 | uniq >>%s/chronyc.parse\nexit 0\n' \
		"$tmp" "$CHRONYC_BIN" "$tmp" >"$fake"
	chmod 755 "$fake"
	CHRONYC=$fake VMCLOCK_EVENT=restore VMCLOCK_CHRONY_WAIT=15 "$hook" restore &&
		printf '%s\n' '-m reset sources burst 4/4' 'waitsync 30 0 0 0.5' makestep |
		diff -u - "$tmp/chronyc.log" &&
		grep -q . "$tmp/chronyc.parse" &&
		! grep -v '^506 Cannot talk to daemon$' "$tmp/chronyc.parse" ||
		{ cat "$tmp/chronyc.parse"; return 1; }
}

t_chrony_hook_fails() {
	local hook=$DEB/usr/share/doc/vmclock/examples/hooks/50-chrony-resync
	! CHRONYC=false "$hook" restore 2>/dev/null
}

t_chrony_conf() {
	"$CHRONYD_BIN" -p -f "$DEB/usr/share/doc/vmclock/examples/chrony-vmclock.conf" &&
		printf 'refclock PHC /dev/ptp_vmclock tia\n' >"$tmp/bad-chrony.conf" &&
		! "$CHRONYD_BIN" -p -f "$tmp/bad-chrony.conf"
}

# --- the rest -------------------------------------------------------------------

t_man() {
	local f rc=0
	for f in "$DEB"/usr/share/man/man*/*; do
		[ -e "$f" ] || continue
		LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" 2>"$tmp/groff" || rc=1
		[ -s "$tmp/groff" ] && { echo "${f##*/}:"; cat "$tmp/groff"; rc=1; }
	done
	[ -e "$DEB/usr/share/man/man3/libvmclock.3" ] || { echo "no libvmclock.3"; rc=1; }
	return $rc
}

# The example in libvmclock(3) builds against the installed tree and runs.
t_man_example() {
	local man=$DEB/usr/share/man/man3/libvmclock.3 cflags libs
	read -r -a cflags <<<"$(pc --cflags vmclock)"
	read -r -a libs <<<"$(pc --libs vmclock)"
	sed -n '/^\.EX$/,/^\.EE$/p' "$man" | sed -n '2,/^\.EE$/p' |
		sed -e '/^\.EE$/d' -e 's/\\e/\\/g' >"$tmp/now.c" &&
		gcc -Wall -Wextra -Werror ${SAN_FLAGS:+"$SAN_FLAGS"} "${cflags[@]}" -o "$tmp/now" \
			"$tmp/now.c" "${libs[@]}" &&
		VMCLOCK_DEVICE=$tmp/page run_shared "$tmp/now" | grep -q '^UTC in \['
}

t_shellcheck() {
	shellcheck "$DEB/usr/libexec/vmclock/vmclock-run-hooks" \
		"$DEB"/usr/share/doc/vmclock/examples/hooks/* \
		"$top"/tests/install/*.sh
}

t_uninstall() {
	echo '#!/bin/sh' >"$DEB/etc/vmclock/restore.d/90-admin"
	make_install uninstall DESTDIR="$DEB" PREFIX=/usr LIBDIR="/usr/lib/$MULTIARCH" &&
		make_install uninstall DESTDIR="$LOC" || return 1
	(cd "$DEB" && find . ! -type d) >"$tmp/left"
	(cd "$LOC" && find . ! -type d) >>"$tmp/left"
	echo ./etc/vmclock/restore.d/90-admin | diff -u - "$tmp/left"
}

t_dkms() {
	local r found=
	for r in "${VMCLOCK_E2E_DIR:-/tmp/vmclock-e2e}"/root-6.1.0-*-cloud-amd64; do
		[ -e "$r/.done" ] && found=1
	done
	if ! command -v dkms >/dev/null || [ -z "$found" ]; then
		skip dkms "no dkms or no unpacked 6.1 headers (make check-dkms does both)"
		return 0
	fi
	if O=$O "$top/tests/install/dkms.sh" >"$tmp/dkms.out" 2>&1; then
		pass dkms
	else
		fail dkms
		cat "$tmp/dkms.out"
	fi
}

check "install (Debian layout and /usr/local)" t_install
check "file list" t_file_list
check "/usr/local layout and paths" t_local_layout
check "soname and links" t_soname
check "exports: the public vmclock_* functions, version VMCLOCK_0" t_exports
check "pkg-config" t_pkg_config
check "examples build shared via pkg-config" t_build_shared
if [ -z "$SAN_FLAGS" ]; then
	check "examples build static via pkg-config" t_build_static
else
	skip "static examples" "no static link with -fsanitize"
fi
check "shared: page written, bounded time read" t_run_shared
[ -z "$SAN_FLAGS" ] && check "static: page written, bounded time read" t_run_static
check "events: restore and disruption seen once" t_events
if [ -e "$top/cli/main.c" ]; then
	check "installed vmclock reads the page" t_cli_reads_page
	check "guest unit's command line runs the hooks" t_unit_end_to_end
else
	skip "installed vmclock" "no cli/ in this tree"
fi
check "systemd-analyze verify (installed units)" t_units
check "systemd-analyze verify catches a bad unit" t_units_catch
check "sysusers creates the vmclock group" t_sysusers
check "udev: permissions, symlinks, no rule warnings" \
	t_udev "$DEB/usr/lib/udev/rules.d/60-vmclock.rules"
check "udev check catches a bad rule" t_udev_catch
check "vmclock-run-hooks: order, filter, environment" t_run_hooks
check "vmclock-run-hooks: failures and timeouts" t_run_hooks_errors
if find_chrony; then
	check "chrony hook: commands accepted by chronyc" t_chrony_hook
	check "chrony hook: fails when chronyc does" t_chrony_hook_fails
	check "chrony snippet parses (chronyd -p)" t_chrony_conf
else
	skip chrony "no chronyc, and Debian's chrony package could not be unpacked"
fi
check "man pages (groff -ww)" t_man
check "libvmclock(3) example builds and runs" t_man_example
if command -v shellcheck >/dev/null; then
	check shellcheck t_shellcheck
else
	skip shellcheck "not installed"
fi
t_dkms
check "uninstall leaves only the administrator's hooks" t_uninstall

echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
