# SPDX-License-Identifier: MIT
# clang-format over the tracked C sources (style: .clang-format).

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

# Reports, does not fail the build: the style is a guide, not a gate.
format-check:
	@clang-format --dry-run $(FORMAT_FILES) 2>&1 | grep -c 'warning:' | \
		sed 's/^/format-check: lines clang-format would change: /'

.PHONY: format format-check
