#!/bin/sh
# SPDX-License-Identifier: MIT
#
# slow.sh - run one of the slow make targets as a suite of
# 'make check': the kernel module and QEMU end-to-end runs, the fuzzers, the
# sanitizer pass and the cross-architecture runs.  Each ends with its own
# "N passed, N failed" line, which run-suites.sh adds up.  The suite is
# named by how the script is called (kmod.sh, e2e.sh, ... are links to
# it), since run-suites.sh takes commands without arguments.  O is the
# build directory of the calling 'make check'.
O=${O:-build}
cd "$(dirname "$0")/../.." || exit 1
case ${1:-$(basename "$0" .sh)} in
sanitizers)
	# The fast suites again, built with ASan and UBSan in their own tree.
	exec make --no-print-directory check-fast O="$O-san" SAN=address,undefined ;;
fuzz)
	exec make --no-print-directory check-fuzz O="$O" ;;
kmod)
	exec make --no-print-directory check-kmod O="$O" ;;
e2e)
	exec make --no-print-directory check-e2e O="$O" ;;
cross)
	exec make --no-print-directory check-cross O="$O" ;;
*)
	echo "slow.sh: unknown suite '${1:-$0}'" >&2
	echo "0 passed, 1 failed"
	exit 2 ;;
esac
