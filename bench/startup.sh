#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start-up cost, one hyperfine run, no shell in between (-N):
#   bare true | bwrap --unshare-all true | hutch run --net none -- true
# Appends medians, ratios, the command line and the machine to bench/RESULTS.md under
# "## start-up" (only that section is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/startup.sh [BUILD_DIR]        (default: build; or set HUTCH=/path/to/hutch)
# Runs from the repository root, a git repository: the workspace hutch protects is a real one.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
mkdir -p "$out"
for t in hyperfine bwrap python3; do
	command -v "$t" >/dev/null || { echo "startup.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "startup.sh: no hutch binary at $hutch" >&2; exit 1; }
"$hutch" run --net none -- true || { echo "startup.sh: hutch run does not work here" >&2; exit 1; }

true_cmd=$(type -P true)
bwrap_cmd="bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $true_cmd"
hutch_cmd="$hutch run --net none -- $true_cmd"
args=(-N --warmup 20 --runs 200 --export-json "$out/startup.json" --export-markdown "$out/startup.md"
	-n true "$true_cmd" -n bwrap "$bwrap_cmd" -n hutch "$hutch_cmd")
hyperfine "${args[@]}"

python3 - "$out/startup.json" "$repo/bench/RESULTS.md" "hyperfine ${args[*]//$repo\//}" "$(nproc)" \
	"$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, os, sys
jpath, rpath, cmdline, nproc, kernel, date, commit, cpu, load = sys.argv[1:10]
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
med = {k: res[k]["median"] * 1000 for k in ("true", "bwrap", "hutch")}
mad = {k: (sorted(abs(t - res[k]["median"]) for t in res[k]["times"])[len(res[k]["times"]) // 2]) * 1000
       for k in med}
entry = [
    f"### {date} (commit {commit})",
    "",
    f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; load average before the run {load}.",
    "",
    "| command | median | MAD | vs true | vs bwrap |",
    "|---|---:|---:|---:|---:|",
]
for k in ("true", "bwrap", "hutch"):
    entry.append(f"| {k} | {med[k]:.2f} ms | {mad[k]:.2f} ms | {med[k] / med['true']:.1f}x "
                 f"| {med[k] / med['bwrap']:.2f}x |")
verdict = "meets" if med["hutch"] <= med["bwrap"] else "misses"
stretch = "meets" if med["hutch"] <= med["bwrap"] / 2 else "misses"
entry += ["", f"hutch/bwrap = {med['hutch'] / med['bwrap']:.2f}: {verdict} the target "
          f"(<= bwrap), {stretch} the stretch goal (<= half of bwrap).", "",
          "```", cmdline, "```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'start-up', entry)
PY
