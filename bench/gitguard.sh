#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-of-run cost of the check for planted git code (src/lib/audit/gitguard.c): hutch run -- true
# in a git workspace that is empty, holds a node_modules-like tree of 10,000 files, then
# 100,000 files (packages of 20 files in 4 directories). The differences are the walk
# after the workload (the start-up search is budgeted and cached, see src/lib/sandbox/protect.c).
# Appends medians and the command lines to bench/RESULTS.md under "## end-of-run git check".
#
#   bench/gitguard.sh [BUILD_DIR]        (default: build; or set HUTCH=/path/to/hutch)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
mkdir -p "$out"
for t in hyperfine python3 git; do
	command -v "$t" >/dev/null || { echo "gitguard.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "gitguard.sh: no hutch binary at $hutch" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ws N: a git workspace with N files in node_modules (N/20 packages)
ws() {
	local d=$tmp/ws-$1
	mkdir -p "$d"
	git -C "$d" init -q
	python3 - "$d" "$1" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for p in range(n // 20):
    base = os.path.join(root, "node_modules", f"pkg{p}")
    for sub in ("", "lib", "dist", "test"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    for i in range(20):
        sub = ("", "lib", "dist", "test")[i % 4]
        with open(os.path.join(base, sub, f"f{i}.js"), "w") as f:
            f.write("module.exports = 1;\n")
PY
	echo "$d"
}
w0=$(ws 0)
w10k=$(ws 10000)
w100k=$(ws 100000)
true_cmd=$(type -P true)
export XDG_STATE_HOME=$tmp/state
args=(-N --warmup 3 --runs 20 --export-json "$out/gitguard.json"
	-n empty "$hutch run -C $w0 --net none -- $true_cmd"
	-n 10k "$hutch run -C $w10k --net none -- $true_cmd"
	-n 100k "$hutch run -C $w100k --net none -- $true_cmd")
hyperfine "${args[@]}"

python3 - "$out/gitguard.json" "$repo/bench/RESULTS.md" "hyperfine $(sed "s|$repo/||g; s|$tmp/||g" <<<"${args[*]}")" "$(nproc)" \
	"$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$repo/bench" <<'PY'
import json, sys
jpath, rpath, cmdline, nproc, kernel, date, commit, load, bdir = sys.argv[1:10]
sys.path.insert(0, bdir)
from results import append_entry
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
med = {k: res[k]["median"] * 1000 for k in ("empty", "10k", "100k")}
entry = [
    f"### {date} (commit {commit})",
    "",
    f"Machine: {nproc} CPUs, kernel {kernel}; load average before the run {load}.",
    "",
    "| workspace | median | over the empty workspace |",
    "|---|---:|---:|",
]
label = {"empty": "empty (a git repository)", "10k": "10,000 files", "100k": "100,000 files"}
for k in ("empty", "10k", "100k"):
    entry.append(f"| {label[k]} | {med[k]:.1f} ms | {med[k] - med['empty']:+.1f} ms |")
entry += ["", "The difference also holds the start-up search's share (budgeted, cached; "
          "node_modules is not searched).", "", f"`{cmdline}`"]
append_entry(rpath, "end-of-run git check", entry)
PY
