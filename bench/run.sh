#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run.sh - make bench: run every benchmark on this machine and rewrite
# docs/benchmarks.md from the results (bench/report.py).
#
# The machine is usually shared: every read-path number is a median of
# interleaved batches, the read benchmark runs REPEAT times, and the load
# (uptime) before and after is recorded in the document.
#
# Env: VMCLOCK_BENCH_BIN (the programs; make exports it), REPEAT (3),
#      VMCLOCK_BENCH_DOC (docs/benchmarks.md), VMCLOCK_BENCH_TMP (/dev/shm),
#      BENCH_QUICK=1 (small host sizes only, for trying the script).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VMCLOCK_BENCH_BIN:-$TOP/build/bench}
O=$(dirname "$BIN")
RES=$BIN/results
DOC=${VMCLOCK_BENCH_DOC:-$TOP/docs/benchmarks.md}
REPEAT=${REPEAT:-3}
mkdir -p "$RES"
rm -f "$RES"/*.txt

machine() {
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
	echo "cpus: $(nproc)"
	echo "hypervisor: $(lscpu | sed -n 's/^Hypervisor vendor: *//p')"
	echo "tsc_mhz: $(sed -n 's/^cpu MHz[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)"
	echo "kernel: $(uname -r)"
	cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
	echo "clocksource: $(cat $cs 2>/dev/null)"
	echo "compiler: $(${CC:-cc} --version | head -n 1)"
	echo "cflags: -O2 -g (the library's), static libvmclock.a"
	echo "max_map_count: $(cat /proc/sys/vm/max_map_count)"
	echo "nofile: $(ulimit -Sn) (soft), $(ulimit -Hn) (hard)"
	echo "commit: $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
	n=$(git -C "$TOP" status --porcelain -- lib include 2>/dev/null | wc -l)
	echo "lib_dirty: $n uncommitted files under lib/ include/"
	echo "load_before: $(uptime | sed 's/.*load average: //')"
}

echo "bench: machine" >&2
machine >"$RES/machine.txt"

i=1
while [ "$i" -le "$REPEAT" ]; do
	echo "bench: read path, run $i of $REPEAT" >&2
	"$BIN/bench_read" >"$RES/read.$i.txt" 2>&1
	i=$((i + 1))
done

if command -v valgrind >/dev/null 2>&1; then
	echo "bench: callgrind" >&2
	valgrind --tool=callgrind --callgrind-out-file="$RES/callgrind.out" \
		"$BIN/bench_read" --callgrind 20000 >"$RES/callgrind.log" 2>&1
	callgrind_annotate --inclusive=yes --threshold=100 "$RES/callgrind.out" \
		>"$RES/callgrind.txt" 2>/dev/null
fi

if command -v valgrind >/dev/null 2>&1; then
	echo "bench: callgrind of the writer with TIME_MONOTONIC" >&2
	valgrind --tool=callgrind --callgrind-out-file="$RES/callgrind-host.out" \
		"$BIN/bench_host" 1000 separate monotonic >/dev/null 2>&1
	callgrind_annotate --inclusive=yes --threshold=100 \
		"$RES/callgrind-host.out" >"$RES/callgrind-host.txt" 2>/dev/null
fi

if command -v valgrind >/dev/null 2>&1; then
	echo "bench: callgrind of vmclockd's guest_update" >&2
	# Only what guest_update() runs: creating the pages commits too.
	valgrind --tool=callgrind --callgrind-out-file="$RES/callgrind-daemon.out" \
		--toggle-collect=guest_update \
		"$BIN/bench_daemon" 1000 identity callgrind \
		>"$RES/callgrind-daemon.log" 2>&1
	callgrind_annotate --inclusive=yes --threshold=100 \
		"$RES/callgrind-daemon.out" >"$RES/callgrind-daemon.txt" 2>/dev/null
fi

echo "bench: disassembly of the bounded read, called and inline" >&2
{
	objdump -dr --no-show-raw-insn --disassemble=vmclock_reader_bounds "$O/lib/reader.o"
	objdump -dr --no-show-raw-insn --disassemble=op_bounded_read "$BIN/bench_read"
} >"$RES/objdump.txt" 2>&1
# The update loop's fetching ahead, which a compiler may drop unseen.
n=$(objdump -d --no-show-raw-insn "$O/daemon/vmclockd" |
	awk '/^[0-9a-f]+ <publish[.>]/ { on = 1; next } /^$/ { on = 0 } on' |
	grep -c prefetch)
echo "publish_prefetches: $n" >>"$RES/machine.txt"

echo "bench: contention" >&2
"$BIN/bench_contend" >"$RES/contend.txt" 2>&1

echo "bench: host" >&2
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	sizes="1 100 10000"
	big=""
	mid=""
else
	sizes="1 100 10000 60000 100000"
	big="100000"
	mid="50000"	# every page mapped, past the caches
fi
{
	"$BIN/bench_host" --header
	for n in $sizes; do
		for _ in 1 2 3; do
			"$BIN/bench_host" "$n" separate both
			"$BIN/bench_host" "$n" shared
		done
	done
	for n in 100 10000 $big; do
		"$BIN/bench_host" "$n" pwrite
	done
	for n in 10000 $big; do
		"$BIN/bench_host" "$n" shared prefetch
	done
} >"$RES/host.txt" 2>&1

echo "bench: vmclockd's update" >&2
{
	"$BIN/bench_daemon" --header
	for n in 1 100 10000 $mid $big; do
		# Nine runs up to 10,000 guests (a second each), five beyond:
		# one busy minute of a shared machine moves a run by a third.
		runs="1 2 3 4 5"
		[ "$n" -gt 10000 ] || runs="$runs 6 7 8 9"
		for _ in $runs; do
			"$BIN/bench_daemon" "$n" identity | tail -n 1
		done
		[ "$n" -le 10000 ] || continue
		"$BIN/bench_daemon" "$n" scaled | tail -n 1
		"$BIN/bench_daemon" "$n" distinct | tail -n 1
	done
	"$BIN/bench_daemon" --smoke | tail -n 1 | sed 's/^/smoke: /'
} >"$RES/daemon.txt" 2>&1

if [ -f "$O/bench/guest/guest.txt" ]; then
	cp "$O/bench/guest/guest.txt" "$RES/guest.txt"
fi

echo "load_after: $(uptime | sed 's/.*load average: //')" >>"$RES/machine.txt"
python3 "$TOP/bench/report.py" "$RES" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
echo "bench: wrote $DOC" >&2
grep -h '^ratio bounded_read' "$RES"/read.*.txt
