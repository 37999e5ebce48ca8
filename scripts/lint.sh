#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make lint`: static analysis and style checks on the whole tree; fails on any finding.
#
#   scripts/lint.sh [clang-tidy] [cppcheck] [shellcheck] [format]     (default: all four)
#
#   clang-tidy   C sources, checks in .clang-tidy, against a compile database in
#                $LINT_BUILD (default build-lint, configured here with meson if missing)
#   cppcheck     C sources, suppressions in .cppcheck-suppressions (each one explained)
#   shell lint   shellcheck on every shell script: *.sh, *.t, files with a sh/bash #! line, bash
#                completions; settings in .shellcheckrc
#   format       clang-format --dry-run on every .c/.h, except the files listed in
#                scripts/format-exclude.txt (not reformatted yet; the list only shrinks)
#
# Tools: Debian packages clang-tidy, cppcheck, shellcheck, clang-format.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo" || exit 2
build=${LINT_BUILD:-$repo/build-lint}
jobs=$(nproc 2>/dev/null || echo 2)
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(clang-tidy cppcheck shellcheck format)
failed=()

need() {
	command -v "$1" >/dev/null && return 0
	echo "lint: $1 is not installed (apt-get install $1)" >&2
	return 1
}

# Files tracked by git (a fresh clone: everything), or all files outside build dirs.
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- "$@"
	else
		local p
		for p in "$@"; do
			find . -path './build*' -prune -o -path "./$p" -type f -print | sed 's#^\./##'
		done
	fi
}

c_sources() { files 'src/*.c' 'tests/helpers/*.c' 'tests/unit/*.c' 'tests/fuzz/*.c'; }

run_clang_tidy() {
	need clang-tidy || return 1
	if [ ! -f "$build/compile_commands.json" ]; then
		meson setup "$build" >"$build.log" 2>&1 || {
			cat "$build.log" >&2
			return 1
		}
		rm -f "$build.log"
	fi
	local in_db=() fuzz=() f
	while read -r f; do
		case $f in
		tests/fuzz/*) fuzz+=("$f") ;;
		*) in_db+=("$f") ;;
		esac
	done < <(c_sources)
	# gcc-only warning flags in the database are unknown to clang: not a finding.
	# ("N warnings generated" on stderr counts the suppressed ones: not shown.)
	printf '%s\n' "${in_db[@]}" | xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet \
		--extra-arg=-Wno-unknown-warning-option 2> >(grep -v 'warnings\? generated' >&2) ||
		return 1
	# The fuzz targets are built by tests/fuzz/run.sh, not meson: same flags by hand.
	[ ${#fuzz[@]} -eq 0 ] || clang-tidy --quiet "${fuzz[@]}" -- -std=gnu11 -D_GNU_SOURCE \
		-Iinclude -Isrc/lib 2> >(grep -v 'warnings\? generated' >&2) || return 1
}

run_cppcheck() {
	need cppcheck || return 1
	local src
	mapfile -t src < <(c_sources)
	cppcheck -q -j "$jobs" --std=c11 -D_GNU_SOURCE -D__linux__ -D__x86_64__ \
		--enable=warning,portability,performance --inline-suppr --error-exitcode=1 \
		--suppressions-list=.cppcheck-suppressions -Iinclude -Isrc/lib "${src[@]}"
}

shell_scripts() {
	local f
	{
		files '*.sh' '*.t' '*.bash'
		while read -r f; do
			[ -f "$f" ] && head -c 64 "$f" | head -1 | grep -Eq '^#!(/usr)?/bin/(env )?(ba)?sh' &&
				echo "$f"
		done < <(files '*' | grep -Ev '\.(c|h|md|json|txt|build|sh|t|bash)$')
	} | sort -u
}

run_shellcheck() {
	need shellcheck || return 1
	local s
	mapfile -t s < <(shell_scripts)
	shellcheck "${s[@]}"
}

run_format() {
	need clang-format || return 1
	local f bad=0
	while read -r f; do
		grep -qxF -- "$f" scripts/format-exclude.txt 2>/dev/null && continue
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "lint: $f is not clang-format clean (clang-format -i $f)" >&2
			bad=1
		fi
	done < <(files '*.c' '*.h')
	return $bad
}

for c in "${checks[@]}"; do
	echo "== $c"
	case $c in
	clang-tidy) run_clang_tidy ;;
	cppcheck) run_cppcheck ;;
	shellcheck) run_shellcheck ;;
	format) run_format ;;
	*)
		echo "lint: unknown check '$c' (clang-tidy, cppcheck, shellcheck, format)" >&2
		exit 2
		;;
	esac || failed+=("$c")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "lint: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint: clean (${checks[*]})"
