#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exec-auditing loop of bench/exec.sh, interleaved: each round runs bwrap, hutch,
# hutch with a command rule, and hutch --audit once each, in that order, so that a
# machine whose load changes during the run (this one is shared) weighs on every row
# alike; hyperfine runs each command's runs back to back. Prints the median wall time
# of each row and its ratio to bwrap; nothing is written to bench/RESULTS.md.
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
names=(bwrap hutch "hutch rules" "hutch --audit")
declare -A times

run_one() {
	case $1 in
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
base=$(median <<<"${times[bwrap]}")
echo "$rounds rounds of $N execs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
for n in "${names[@]}"; do
	m=$(median <<<"${times[$n]}")
	awk -v n="$n" -v m="$m" -v b="$base" 'BEGIN {printf "%-14s %8.1f ms  %.2fx bwrap\n", n, m / 1000, m / b}'
done
