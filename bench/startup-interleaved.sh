#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The start-up comparison of bench/startup.sh, interleaved: ROUNDS rounds, and in each round
# hyperfine runs every command RUNS times (-N, after 3 warm-ups) one after the other, so a
# machine whose speed changes during the run (this one is shared) weighs on every row alike;
# one hyperfine run of 200 back to back, as startup.sh does, can put bwrap in a fast minute
# and hutch in a slow one. Prints each row's median over all runs and its ratio to bwrap;
# with the median of the per-round ratios to bwrap (each row's median in a round over bwrap's
# in the same round: what a load changing between rounds moves least), and each EXTRA_HUTCH
# row's per-round ratio to the first hutch row (an A/B in the same rounds); nothing is
# written to bench/RESULTS.md. The rows: bare true, the namespace floor (unshare
# with the same namespaces, no sandbox set up: no sandbox can start faster), bubblewrap,
# hutch (and EXTRA_HUTCH binaries).
#
#   bench/startup-interleaved.sh [ROUNDS] [RUNS] [BUILD_DIR] [-- EXTRA_HUTCH...]
#   (default: 15 rounds of 15 runs, build; EXTRA_HUTCH: other hutch binaries to compare)
#
#   WORKSPACE=fresh   run in a new `git init` directory (default: this repository)
#   WORKSPACE=DIR     run in DIR
#   RT=1              as root: hyperfine at real-time priority (chrt -f 20), so that other
#                     work on a busy machine does not preempt the runs measured
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
rounds=${1:-15}
runs=${2:-15}
build=$repo/${3:-build}
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = -- ] && shift
hutch=${HUTCH:-$build/src/cli/hutch}
for t in hyperfine bwrap python3; do
	command -v "$t" >/dev/null || { echo "startup-interleaved.sh: $t is missing" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "startup-interleaved.sh: no hutch binary at $hutch" >&2; exit 1; }
true_cmd=$(type -P true)
cmds=("$true_cmd" "bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $true_cmd"
	"$hutch run --net none -- $true_cmd" "unshare -Urmpfniu --mount-proc $true_cmd")
for h in "$@"; do
	cmds+=("$h run --net none -- $true_cmd")
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case ${WORKSPACE:-} in
'') ;;
fresh)
	mkdir "$out/ws" && git -C "$out/ws" init -q && cd "$out/ws"
	;;
*) cd "$WORKSPACE" ;;
esac
rt=()
if [ "${RT:-}" = 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "startup-interleaved.sh: RT=1 needs root" >&2; exit 1; }
	rt=(chrt -f 20)
fi
for ((k = 0; k < rounds; k++)); do
	for i in "${!cmds[@]}"; do
		"${rt[@]}" hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/$i-$k.json" "${cmds[$i]}" \
			>/dev/null 2>&1
	done
done
python3 - "$out" "$rounds" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)" "${cmds[@]}" <<'PY'
import glob, json, os, statistics, sys
out, rounds, runs, load, cmds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
med, per_round = [], []
for i in range(len(cmds)):
    t = [x for f in glob.glob(f"{out}/{i}-*.json") for x in json.load(open(f))["results"][0]["times"]]
    med.append(statistics.median(t) * 1000)
    per_round.append({int(f.rsplit("-", 1)[1][:-5]): statistics.median(json.load(open(f))["results"][0]["times"])
                      for f in glob.glob(f"{out}/{i}-*.json")})
# each row's median in a round over bwrap's in the same round: the median and spread of those ratios
ratios = [sorted(r[k] / per_round[1][k] for k in r) for r in per_round]
print(f"{rounds} rounds x {runs} runs, load average {load} at the end, in {os.getcwd()}")
print("median of all runs, its ratio to bwrap's; median of the per-round ratios [lowest-highest]")
for c, m, q in zip(cmds, med, ratios):
    print(f"{m:7.2f} ms  {m / med[1]:.2f}x bwrap  per-round {statistics.median(q):.2f}x [{q[0]:.2f}-{q[-1]:.2f}]  {c}")
# each EXTRA_HUTCH row over the first hutch row, round by round (an A/B in the same rounds)
for j in range(4, len(cmds)):
    q = sorted(per_round[j][k] / per_round[2][k] for k in per_round[2])
    print(f"{cmds[j].split()[0]} / {cmds[2].split()[0]} per round: {statistics.median(q):.3f} "
          f"[{q[0]:.2f}-{q[-1]:.2f}], lower in {sum(x < 1 for x in q)} of {len(q)}")
PY
