#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make lint`: static analysis and style checks on the whole tree; fails on any finding.
#
#   scripts/lint.sh [deps] [clang-tidy] [cppcheck] [shellcheck] [format]     (default: all five)
#
#   deps         the library's include graph against its dependency rule and for cycles
#                (scripts/check-deps.py; the rule is in docs/ARCHITECTURE.md)
#
#   clang-tidy   C sources, checks in .clang-tidy, against a compile database of the run's
#                own (meson setup in a temporary directory, removed at exit); a batch whose
#                clang-tidy crashes (a signal, not a finding) is retried once and reported
#   cppcheck     C sources, suppressions in .cppcheck-suppressions (each one explained)
#   shell lint   shellcheck on every shell script: *.sh, *.t, files with a sh/bash #! line, bash
#                completions; settings in .shellcheckrc
#   format       clang-format --dry-run on every .c/.h, except the files listed in
#                scripts/format-exclude.txt (each with its reason)
#
# Tools: Debian packages clang-tidy, cppcheck, shellcheck, clang-format.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hutch-lint.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
# Interrupted: stop the clang-tidy batches too (each one stops its clang-tidy).
# shellcheck disable=SC2046 # one pid a word
trap 'kill $(jobs -p) 2>/dev/null; wait; exit 130' INT TERM
jobs=$(nproc 2>/dev/null || echo 2)
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(deps clang-tidy cppcheck shellcheck format)
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

# One clang-tidy batch (background job): its output to $tmp/tidy.N.out, its status to
# $tmp/tidy.N.rc. clang-tidy 14 sometimes crashes ("parser at unknown location", a signal,
# no finding) under load: such a batch runs once more, and the crash is reported; a second
# crash, like any finding, fails the check.
tidy_batch() {
	local n=$1 rc try a src=()
	shift
	for a in "$@"; do
		[[ $a == *.c ]] && src+=("$a")
	done
	# (In the background and waited for, so that an interrupted lint can stop it.)
	trap 'kill $! 2>/dev/null; wait $!; exit 130' TERM
	for try in 1 2; do
		clang-tidy --quiet "$@" >"$tmp/tidy.$n.out" 2>&1 &
		wait $!
		rc=$?
		if [ $rc -gt 128 ] || grep -q '^Stack dump:' "$tmp/tidy.$n.out"; then
			[ $rc != 0 ] || rc=1
			if [ $try = 1 ]; then
				cp "$tmp/tidy.$n.out" "$tmp/tidy.$n.crash"
				echo "lint: clang-tidy crashed (status $rc) on ${src[*]}; retrying once" \
					>>"$tmp/tidy.crashes"
				continue
			fi
			echo "lint: clang-tidy crashed again on ${src[*]}" >>"$tmp/tidy.crashes"
		elif [ $try = 2 ]; then
			echo "lint: the retry on ${src[*]} ran to the end (status $rc)" \
				>>"$tmp/tidy.crashes"
		fi
		break
	done
	echo $rc >"$tmp/tidy.$n.rc"
}

run_clang_tidy() {
	need clang-tidy || return 1
	# A compile database of this run's own (a shared one was seen to crash clang-tidy when
	# two runs used it): configured in $tmp, removed at exit.
	meson setup "$tmp/build" >"$tmp/meson.log" 2>&1 || {
		cat "$tmp/meson.log" >&2
		return 1
	}
	local in_db=() fuzz=() f n=0 i bad=0
	while read -r f; do
		case $f in
		tests/fuzz/*) fuzz+=("$f") ;;
		*) in_db+=("$f") ;;
		esac
	done < <(c_sources)
	# gcc-only warning flags in the database are unknown to clang: not a finding.
	for ((i = 0; i < ${#in_db[@]}; i += 4)); do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		tidy_batch $n -p "$tmp/build" --extra-arg=-Wno-unknown-warning-option \
			"${in_db[@]:i:4}" &
		n=$((n + 1))
	done
	# The fuzz targets are built by tests/fuzz/run.sh, not meson: same flags by hand.
	if [ ${#fuzz[@]} -gt 0 ]; then
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		tidy_batch $n "${fuzz[@]}" -- -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc/lib &
		n=$((n + 1))
	fi
	wait
	for ((i = 0; i < n; i++)); do
		# ("N warnings generated" counts the suppressed ones: not shown.)
		grep -v 'warnings\? generated' "$tmp/tidy.$i.out" >&2
		[ "$(cat "$tmp/tidy.$i.rc" 2>/dev/null)" = 0 ] || bad=1
	done
	if [ -f "$tmp/tidy.crashes" ]; then
		cat "$tmp/tidy.crashes" >&2
		for f in "$tmp"/tidy.*.crash; do
			echo "lint: the first crash said:" >&2
			grep -v 'warnings\? generated' "$f" | head -30 >&2
		done
	fi
	return $bad
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
	# In parallel batches; each batch's report is printed in one piece.
	# shellcheck disable=SC2016 # the inner script's own $@
	printf '%s\0' "${s[@]}" | xargs -0 -P "$jobs" -n 12 sh -c \
		'out=$(shellcheck "$@" 2>&1); rc=$?; [ -z "$out" ] || printf "%s\n" "$out"; exit $rc' sh
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
	deps) python3 scripts/check-deps.py ;;
	clang-tidy) run_clang_tidy ;;
	cppcheck) run_cppcheck ;;
	shellcheck) run_shellcheck ;;
	format) run_format ;;
	*)
		echo "lint: unknown check '$c' (deps, clang-tidy, cppcheck, shellcheck, format)" >&2
		exit 2
		;;
	esac || failed+=("$c")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "lint: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint: clean (${checks[*]})"
