#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cross.sh NATIVE_O ARCH=O... - run the cross builds under qemu-user and
# compare them with the native build.
#
# For each ARCH (arm64, s390x) whose static build is in O: the library's
# unit tests and this directory's suites (hostile input, findings, fuzz
# corpus replays, a short stress run), then lecheck's report and the CLI's
# answers on a page file written natively (now --counter at fixed
# counters, text and JSON) compared byte for byte with NATIVE_O's: the page is read
# as little-endian and the arithmetic is the same on a big-endian CPU.
# Ends with "N passed, N failed".
native=$1
shift
passed=0
failed=0
T=$(mktemp -d /tmp/vmclock-cross.XXXXXX)
trap 'rm -rf "$T"' EXIT
export VMCLOCK_STATE_DIR="$T/state" STRESS_READS=100000 STRESS_SECONDS=120 \
	STRESS_MIN_DISTINCT=2
unset VMCLOCK_DEVICE VMCLOCK_ACCESS

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; }

qemu_for() {
	case $1 in
	arm64) echo qemu-aarch64-static ;;
	s390x) echo qemu-s390x-static ;;
	*) echo "qemu-$1-static" ;;
	esac
}

# The native answers.
P=$T/page
"$native/tests/cli/mkpage" "$P" init calibrate 1000000000 1000000 1700000000 1000 \
	status SYNCHRONIZED tai 37 marker generation >/dev/null || fail "mkpage"
counters="0 999000 1000000 1000001 5000000000 18446744073709551615"
answers() { # RUN VMCLOCK LECHECK
	run=$1
	$run "$3" "$P"
	# (status is left out: its mode and calibration age depend on whether
	# the page's counter is this CPU's.)
	for c in $counters; do
		$run "$2" now --device "$P" --counter "$c" --json
		$run "$2" now --device "$P" --counter "$c"
	done
}
answers "" "$native/cli/vmclock" "$native/tests/cross/lecheck" >"$T/native" 2>&1

for spec in "$@"; do
	arch=${spec%%=*}
	o=${spec#*=}
	q=$(qemu_for "$arch")
	if ! command -v "$q" >/dev/null; then
		fail "$arch: no $q"
		continue
	fi
	for t in "$o"/tests/unit/test_* "$o"/tests/hostile/test_* \
		"$o"/fuzz/replay-* "$o"/tests/stress/stress; do
		[ -x "$t" ] || continue
		case $t in *.o | *.d) continue ;; esac
		# These two build their pages with host-order stores: they test
		# the logic, not the encoding, which lecheck and the CLI's answers
		# below check on the big-endian target.
		case $arch:$(basename "$t") in
		s390x:test_reader | s390x:test_writer) continue ;;
		esac
		if timeout 600 "$q" "$t" >"$T/log" 2>&1; then
			pass "$arch: $(basename "$t") ($(tail -n 1 "$T/log"))"
		else
			fail "$arch: $(basename "$t")" "$(grep -E 'FAIL|failed|check failed|property' \
				"$T/log" | head -n 12)"
		fi
	done
	answers "$q" "$o/cli/vmclock" "$o/tests/cross/lecheck" >"$T/$arch" 2>&1
	if cmp -s "$T/native" "$T/$arch"; then
		pass "$arch: lecheck and vmclock --counter answers equal x86-64's ($(wc -l <"$T/native") lines)"
	else
		fail "$arch: answers differ from x86-64's" "$(diff "$T/native" "$T/$arch" | head -n 20)"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
