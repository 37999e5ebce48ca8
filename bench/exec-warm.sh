#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch exec into a warm named session against a bare fork+exec of the same command, in
# interleaved rounds: each round runs hyperfine once on all rows (bare `true`, `hutch
# --version` for the client's own start-up, `hutch exec NAME -- true`; hyperfine -N, so the
# bare row is hyperfine's own fork+exec+wait of `true`), the order reversed every other
# round, so that a machine whose load changes during the run (this one is shared) weighs on
# every row alike. The medians are over all runs of a row.
#
#   bench/exec-warm.sh [ROUNDS] [BUILD_DIR] [-- OTHER_HUTCH...]
#     (default: 30 rounds of EXEC_WARM_RUNS=30 runs each, build)
#
# Each OTHER_HUTCH (another build's binary, e.g. of an earlier commit) gets a session of its
# own, measured as one more row in the same rounds. The entry goes to bench/RESULTS.md under
# "warm exec".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
rounds=30
build=build
others=()
[ $# -gt 0 ] && [ "$1" != -- ] && { rounds=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { build=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && { shift; others=("$@"); }
runs=${EXEC_WARM_RUNS:-30}
hutch=${HUTCH:-$repo/$build/src/cli/hutch}
out=$repo/$build/bench
[ -x "$hutch" ] || { echo "exec-warm.sh: no hutch binary at $hutch" >&2; exit 1; }
for o in "${others[@]}"; do
	[ -x "$o" ] || { echo "exec-warm.sh: no hutch binary at $o" >&2; exit 1; }
done
command -v hyperfine >/dev/null || { echo "exec-warm.sh: hyperfine is missing" >&2; exit 1; }
mkdir -p "$out/exec-warm-ws"
# The sessions' control sockets in a state directory of their own, removed at the end.
state=$(mktemp -d "$out/exec-warm-state.XXXXXX")
export XDG_STATE_HOME=$state
name=warm$$
stop_all() {
	"$hutch" stop --stop-timeout 0 "$name" >/dev/null 2>&1 || true
	for i in "${!others[@]}"; do
		"${others[i]}" stop --stop-timeout 0 "$name-$i" >/dev/null 2>&1 || true
	done
	rm -rf "$state"
}
trap stop_all EXIT
cd "$out/exec-warm-ws"
"$hutch" run -q --name "$name" -- true || { echo "exec-warm.sh: hutch run --name does not work here" >&2; exit 1; }
for i in "${!others[@]}"; do
	"${others[i]}" run -q --name "$name-$i" -- true ||
		{ echo "exec-warm.sh: ${others[i]} run --name does not work here" >&2; exit 1; }
done

# hutch --version: what starting the client alone costs (no connection, no command)
names=(bare "hutch --version" "hutch exec")
cmds=(true "$hutch --version" "$hutch exec $name -- true")
for i in "${!others[@]}"; do
	names+=("hutch exec ($((i + 1)))")
	cmds+=("${others[i]} exec $name-$i -- true")
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((k = 0; k < rounds; k++)); do
	args=(-N --warmup 5 --runs "$runs" --export-json "$out/exec-warm-$k.json" --style none)
	order=("${!names[@]}")
	# odd rounds: the other way round
	if ((k % 2)); then
		for ((i = ${#order[@]} - 1, j = 0; i >= 0; i--, j++)); do rev[j]=${order[i]}; done
		order=("${rev[@]}")
	fi
	for i in "${order[@]}"; do args+=(-n "${names[i]}" "${cmds[i]}"); done
	hyperfine "${args[@]}" >/dev/null
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cmdline="XDG_STATE_HOME=$build/bench/exec-warm-state.X hyperfine -N --warmup 5 --runs $runs -n bare true -n 'hutch exec' '$build/src/cli/hutch exec $name -- true'"
cmdline+="    # x $rounds rounds, the order reversed every other round"

python3 - "$out" "$rounds" "$repo/bench/RESULTS.md" "$cmdline" "$(nproc)" "$(uname -r)" \
	"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$load_before" "$load_after" "${others[*]}" "${names[@]}" <<'PY'
import json, os, statistics, sys
out, rounds, rpath, cmdline, nproc, kernel, date, commit, cpu, lb, la, other = sys.argv[1:13]
names = sys.argv[13:]
times = {n: [] for n in names}
medians = {n: [] for n in names}
for k in range(int(rounds)):
    for r in json.load(open(os.path.join(out, f"exec-warm-{k}.json")))["results"]:
        times[r["command"]] += r["times"]
        medians[r["command"]].append(r["median"])
med = {n: statistics.median(times[n]) * 1e6 for n in names}
mn = {n: min(times[n]) * 1e6 for n in names}
spread = {n: (min(medians[n]) * 1e6, max(medians[n]) * 1e6) for n in names}
entry = [
    f"### {date} (commit {commit})",
    "",
    f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; load average {lb} before, {la} after "
    f"(shared with other builds).",
    f"{rounds} interleaved rounds of {len(times[names[0]]) // int(rounds)} runs per row.",
    "",
    "| command | median | min | round medians: lowest-highest (their median) | vs bare (median) "
    "| vs bare (median of round medians) |",
    "|---|---:|---:|---:|---:|---:|",
]
rmed = {n: statistics.median(medians[n]) * 1e6 for n in names}
for n in names:
    entry.append(f"| {n} | {med[n]:.0f} us | {mn[n]:.0f} us | {spread[n][0]:.0f}-{spread[n][1]:.0f} us "
                 f"({rmed[n]:.0f} us) | {med[n] / med['bare']:.2f}x | {rmed[n] / rmed['bare']:.2f}x |")
ratio = med["hutch exec"] / med["bare"]
entry += ["", f"hutch exec / bare fork+exec = {ratio:.2f} (medians), "
          f"{rmed['hutch exec'] / rmed['bare']:.2f} (medians of the round medians): "
          f"{'meets' if ratio <= 2 else 'misses'} the target (<= 2x).", ""]
for i, o in enumerate(other.split()):
    entry += [f"hutch exec ({i + 1}): {o}"]
if other:
    entry += [""]
entry += ["```", cmdline, "```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, "warm exec", entry)
PY
