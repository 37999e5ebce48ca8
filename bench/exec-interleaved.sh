#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exec-auditing loop of bench/exec.sh, interleaved: each round runs the loop bare (no
# sandbox), in bwrap, in hutch, hutch with a command rule, and hutch --audit once each, in
# that order, so that a machine whose load changes during the run (this one is shared)
# weighs on every row alike; hyperfine runs each command's runs back to back. Prints the
# median wall time of each row, its ratio to bwrap and to bare, the fastest round of each
# row and its ratio to bwrap's fastest, the median of the per-round ratios to bwrap, and
# the spread of the bwrap/bare ratio over the rounds (how noisy the machine was); nothing is written to
# bench/RESULTS.md. HUTCH_BASE=/path/to/another/hutch adds its rules and --audit rows
# (a build of another commit, compared in the same rounds).
#
#   bench/exec-interleaved.sh [ROUNDS] [BUILD_DIR]      (default: 9 rounds, build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
rounds=${1:-9}
build=$repo/${2:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
mkdir -p "$out"
[ -x "$hutch" ] || { echo "exec-interleaved.sh: no hutch binary at $hutch" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "exec-interleaved.sh: bwrap is missing" >&2; exit 1; }
N=${EXEC_N:-1000}
sh=$(type -P sh)
loop="i=0; while [ \$i -lt $N ]; do /bin/true; i=\$((i + 1)); done"
printf '{"commands": {"deny": ["sudo *"]}}\n' >"$out/exec-rule.json"
ws=$out/exec-ws # a small workspace of its own, as in bench/exec.sh
mkdir -p "$ws"
names=(bare bwrap hutch "hutch rules" "hutch --audit")
base=${HUTCH_BASE:-}
[ -z "$base" ] || names+=("base rules" "base --audit")
declare -A times

run_one() {
	case $1 in
	bare) "$sh" -c "$loop" ;;
	"base rules") "$base" run -q -C "$ws" -p "$out/exec-rule.json" -- "$sh" -c "$loop" ;;
	"base --audit")
		rm -f "$out/exec-interleaved.jsonl"
		"$base" run -q -C "$ws" --audit "$out/exec-interleaved.jsonl" -- "$sh" -c "$loop"
		;;
	bwrap) bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent "$sh" -c "$loop" ;;
	hutch) "$hutch" run -q -C "$ws" -- "$sh" -c "$loop" ;;
	"hutch rules") "$hutch" run -q -C "$ws" -p "$out/exec-rule.json" -- "$sh" -c "$loop" ;;
	"hutch --audit")
		rm -f "$out/exec-interleaved.jsonl"
		"$hutch" run -q -C "$ws" --audit "$out/exec-interleaved.jsonl" -- "$sh" -c "$loop"
		;;
	esac
}

for ((k = 0; k < rounds; k++)); do
	for n in "${names[@]}"; do
		s=$(date +%s%N)
		run_one "$n"
		e=$(date +%s%N)
		times[$n]+="$(((e - s) / 1000)) "
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
minimum() { tr ' ' '\n' | grep . | sort -n | head -1; }
# ratio_median ROW: the median over the rounds of ROW's time / bwrap's time in the same round
ratio_median() {
	paste <(tr ' ' '\n' <<<"${times[$1]}" | grep .) <(tr ' ' '\n' <<<"${times[bwrap]}" | grep .) |
		awk '{printf "%.4f\n", $1 / $2}' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
bw=$(median <<<"${times[bwrap]}")
bare=$(median <<<"${times[bare]}")
bwmin=$(minimum <<<"${times[bwrap]}")
echo "$rounds rounds of $N execs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
printf '%-14s %10s %7s %7s %10s %7s %12s\n' row median /bwrap /bare min /bwrap "per-round"
for n in "${names[@]}"; do
	m=$(median <<<"${times[$n]}")
	mn=$(minimum <<<"${times[$n]}")
	awk -v n="$n" -v m="$m" -v b="$bw" -v z="$bare" -v mn="$mn" -v bm="$bwmin" -v r="$(ratio_median "$n")" \
		'BEGIN {printf "%-14s %7.1f ms %6.2fx %6.2fx %7.1f ms %6.2fx %11.2fx\n", n, m / 1000, m / b, m / z, mn / 1000, mn / bm, r}'
done
echo "(per-round: the median over the rounds of the row's time over bwrap's in the same round)"
# noise: bwrap/bare per round, min..max
paste <(tr ' ' '\n' <<<"${times[bwrap]}" | grep .) <(tr ' ' '\n' <<<"${times[bare]}" | grep .) |
	awk '{r = $1 / $2; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r}
	     END {printf "noise: bwrap/bare per round %.2f..%.2f\n", lo, hi}'
