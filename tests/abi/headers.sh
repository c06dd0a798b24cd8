#!/bin/sh
# SPDX-License-Identifier: MIT
#
# headers.sh - every public header compiles on its own, as C11 and as C++,
# with the strict warning set; the ABI header's static asserts (size and
# every offset) run in each of those compilations.
CC=${CC:-cc}
CXX=${CXX:-c++}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {
	name=$1
	shift
	if "$@" >"$tmp/log" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/  /' "$tmp/log"
		failed=$((failed + 1))
	fi
}
for h in "$top"/include/vmclock/*.h; do
	base=${h##*/}
	printf '#include <vmclock/%s>\n#include <vmclock/%s>\nint main(void) { return 0; }\n' \
		"$base" "$base" >"$tmp/t.c"
	check "$base as C (gnu11)" $CC -std=gnu11 -Wall -Wextra -Werror -pedantic-errors \
		-Wno-long-long -I"$top/include" -c "$tmp/t.c" -o "$tmp/t.o"
	if command -v "$CXX" >/dev/null 2>&1; then
		cp "$tmp/t.c" "$tmp/t.cc"
		check "$base as C++" $CXX -std=c++11 -Wall -Wextra -Werror \
			-I"$top/include" -c "$tmp/t.cc" -o "$tmp/t.o"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
