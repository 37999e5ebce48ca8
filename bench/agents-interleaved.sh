#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Claude Code's --version outside and inside its profile (bench/agents.sh's first row), and
# where hutch's part of it goes, interleaved: ROUNDS rounds, and in each round hyperfine runs
# every command RUNS times (-N, after 2 warm-ups) one after the other, so that a shared
# machine whose load changes weighs on every row alike. Rows: claude --version outside and
# inside `hutch run --profile claude-code --host-port PORT`; then /usr/bin/true inside
# `--net none`, `--net proxy` and the profile (what the profile itself adds); each BASE_HUTCH
# (another build, e.g. the previous commit's) adds its profile rows. Prints each row's median
# over all runs and the median of its per-round ratios to its reference (claude outside, or
# --net none); nothing is written to bench/RESULTS.md (bench/agents.sh does that).
#
#   bench/agents-interleaved.sh [ROUNDS] [RUNS] [BUILD_DIR] [-- BASE_HUTCH...]
#   (default: 10 rounds of 10 runs, build)
#
#   HUTCH_AGENTS_CACHE   an npm prefix holding Claude Code (default: the tests' cache,
#                        /var/lib/hutch-tests/agents, else BUILD_DIR/bench/agents)
#   RT=1                 as root: hyperfine at real-time priority (chrt -f 20)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
rounds=${1:-10}
runs=${2:-10}
build=$repo/${3:-build}
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = -- ] && shift
hutch=${HUTCH:-$build/src/cli/hutch}
for t in hyperfine python3 git; do
	command -v "$t" >/dev/null || { echo "agents-interleaved.sh: $t is missing" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "agents-interleaved.sh: no hutch binary at $hutch" >&2; exit 1; }
cache=${HUTCH_AGENTS_CACHE:-/var/lib/hutch-tests/agents}
[ -x "$cache/node_modules/.bin/claude" ] || cache=$build/bench/agents
claude=$cache/node_modules/.bin/claude
[ -x "$claude" ] || { echo "agents-interleaved.sh: no claude in $cache (run bench/agents.sh once)" >&2; exit 1; }
rt=()
if [ "${RT:-}" = 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "agents-interleaved.sh: RT=1 needs root" >&2; exit 1; }
	rt=(chrt -f 20)
fi

# bench/agents.sh's fake home and workspace, outside /tmp (private inside)
work=$build/bench/agents-interleaved
rm -rf "$work"
mkdir -p "$work/home" "$work/ws" "$work/out"
git -C "$work/ws" init -q
echo '{}' >"$work/home/.claude.json"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_CACHE_HOME=$work/home/.cache
export ANTHROPIC_BASE_URL=http://127.0.0.1:9 ANTHROPIC_API_KEY=sk-ant-bench IS_SANDBOX=1
cd "$work/ws"

true_cmd=$(type -P true)
prof="--profile claude-code --host-port 9 -e ANTHROPIC_BASE_URL"
cmds=("$claude --version" "$hutch run $prof -- $claude --version")
refs=(0 0)
for h in "$@"; do
	cmds+=("$h run $prof -- $claude --version")
	refs+=(0)
done
t0=${#cmds[@]}
cmds+=("$hutch run --net none -- $true_cmd" "$hutch run --net proxy -- $true_cmd"
	"$hutch run $prof -- $true_cmd")
refs+=("$t0" "$t0" "$t0")
for h in "$@"; do
	cmds+=("$h run $prof -- $true_cmd")
	refs+=("$t0")
done
for ((k = 0; k < rounds; k++)); do
	for i in "${!cmds[@]}"; do
		"${rt[@]}" hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/out/$i-$k.json" \
			"${cmds[$i]}" >/dev/null 2>&1
	done
done
python3 - "$work/out" "$rounds" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)" "${refs[*]}" \
	"${cmds[@]//$repo\//}" <<'PY'
import glob, json, statistics, sys
out, rounds, runs, load, refs, cmds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
refs = [int(r) for r in refs.split()]
times = lambda f: json.load(open(f))["results"][0]["times"]
med, per_round = [], []
for i in range(len(cmds)):
    files = glob.glob(f"{out}/{i}-*.json")
    med.append(statistics.median([x for f in files for x in times(f)]) * 1000)
    per_round.append({int(f.rsplit("-", 1)[1][:-5]): statistics.median(times(f)) for f in files})
print(f"{rounds} rounds x {runs} runs, load average {load} at the end")
print("median of all runs (+ms over its reference); median of the per-round ratios [lowest-highest]")
for i, c in enumerate(cmds):
    q = sorted(per_round[i][k] / per_round[refs[i]][k] for k in per_round[i])
    print(f"{med[i]:7.2f} ms (+{med[i] - med[refs[i]]:5.2f})  {statistics.median(q):.3f}x "
          f"[{q[0]:.3f}-{q[-1]:.3f}]  {c}")
PY
