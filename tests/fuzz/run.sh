#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The `make fuzz` driver: build every tests/fuzz/fuzz-*.c as a libFuzzer target with
# AddressSanitizer and UndefinedBehaviorSanitizer, run each for FUZZ_SECONDS seconds on its
# corpus, fail on the first crash, leak, timeout or sanitizer report.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (or FUZZ_SECONDS=15 make fuzz)
#
# The library is built once with clang by meson, instrumented for coverage
# (-fsanitize=fuzzer-no-link), into $FUZZ_BUILD (default build-fuzz); each target links
# against its internal archive (libhutch-internal.a: every module, as the unit tests use
# it), so the source list lives only in src/lib/meson.build.
# Seeds: tests/fuzz/corpus/<target>/ (read only, replayed first on every run: inputs that
# once crashed are kept there as regression tests). New inputs go to
# $FUZZ_CORPUS/<target>/ (default $FUZZ_OUT/corpus; kept between runs, so each run starts
# where the last ended: CI points it at /var/cache/hutch-fuzz), crash artifacts to
# $FUZZ_OUT/artifacts/, the target binaries and their logs to $FUZZ_OUT (default
# $FUZZ_BUILD/out: build output, not in the tree).
#
# A crash prints the command that reproduces it: <binary> <artifact>.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
seconds=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-$repo/build-fuzz}
out=${FUZZ_OUT:-$build/out}
corpus=${FUZZ_CORPUS:-$out/corpus}
cc=${FUZZ_CC:-clang}

case $seconds in
'' | *[!0-9]*)
	echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2
	exit 2
	;;
esac
if ! command -v "$cc" >/dev/null; then
	echo "fuzz: $cc not found (Debian: apt-get install clang)" >&2
	exit 1
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$cc" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
	echo "fuzz: $cc cannot build libFuzzer targets (-fsanitize=fuzzer)" >&2
	exit 1
fi

# The build runs seccomp-gen (instrumented too); leaks at its exit are not our concern here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
if [ ! -f "$build/build.ninja" ]; then
	log=$(mktemp)
	CC=$cc meson setup "$build" "$repo" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=false -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link \
		-Dc_link_args=-fsanitize=fuzzer-no-link >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		exit 1
	}
	rm -f "$log"
fi
ninja -C "$build" src/lib/libhutch-internal.a >/dev/null
unset ASAN_OPTIONS

# shellcheck disable=SC2207
libs=($(pkg-config --libs libseccomp jansson libcares))
targets=()
if [ $# -gt 0 ]; then
	targets=("$@")
else
	for f in "$repo"/tests/fuzz/fuzz-*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

mkdir -p "$out/artifacts"
failed=0
for t in "${targets[@]}"; do
	src=$repo/tests/fuzz/$t.c
	bin=$out/$t
	[ -f "$src" ] || {
		echo "fuzz: no such target $src" >&2
		exit 2
	}
	"$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I"$repo/include" -I"$repo/src/lib" \
		-o "$bin" "$src" "$build/src/lib/libhutch-internal.a" "${libs[@]}"
	mkdir -p "$corpus/$t" "$repo/tests/fuzz/corpus/$t"
	echo "== $t: ${seconds}s, seeds tests/fuzz/corpus/$t ($(find "$repo/tests/fuzz/corpus/$t" -type f | wc -l) files)"
	if ! UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$bin" -max_total_time="$seconds" \
		-timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t-" "$corpus/$t" "$repo/tests/fuzz/corpus/$t" \
		>"$out/$t.log" 2>&1; then
		failed=1
		tail -60 "$out/$t.log" >&2
		# shellcheck disable=SC2012 # artifact names are libFuzzer's (hex)
		echo "fuzz: $t FAILED; reproduce with: $bin $(ls -t "$out/artifacts/$t-"* 2>/dev/null | head -1)" >&2
		echo "fuzz: then keep the input as a regression seed in tests/fuzz/corpus/$t/" >&2
	else
		grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$out/$t.log" |
			sed 's/^stat::/   /'
	fi
done
exit "$failed"
