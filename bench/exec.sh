#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exec auditing cost (docs/audit.md): a shell loop of 1000 /bin/true, one
# hyperfine run (-N, no shell in between):
#   bwrap --unshare-all | hutch run (no audit) | hutch run --audit FILE (every exec notified,
#   read, logged) | hutch run with a command rule and no log (notified, matched, not logged)
# Target: audited hutch within 1.1x of bubblewrap.
# Appends medians and ratios to bench/RESULTS.md under "## exec auditing" (only that section
# is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/exec.sh [BUILD_DIR]        (default: build; or set HUTCH=/path/to/hutch)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
mkdir -p "$out"
for t in hyperfine bwrap python3; do
	command -v "$t" >/dev/null || { echo "exec.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "exec.sh: no hutch binary at $hutch" >&2; exit 1; }
N=${EXEC_N:-1000}
log=$out/exec-audit.jsonl
policy=$out/exec-rule.json
printf '{"commands": {"deny": ["sudo *"]}}\n' >"$policy"
rm -f "$log"
sh=$(type -P sh)
true_cmd=/bin/true
loop="i=0; while [ \$i -lt $N ]; do $true_cmd; i=\$((i + 1)); done"
# The workspace: a small directory of its own. With --audit, hutch compares the writable
# roots' metadata before and after (file events): a fixed cost per run that grows with the
# workspace (about 75 ms for this repository's 11,000 files), not a cost per exec.
ws=$out/exec-ws
mkdir -p "$ws"
"$hutch" run -q -C "$ws" --audit "$log" -- "$sh" -c "$loop" || { echo "exec.sh: hutch run does not work here" >&2; exit 1; }
# end.counts.exec: every exec, also those past the rate bound (1000 events a second) that a
# fast run has one "suppressed" event for
got=$(grep '"event":"end"' "$log" | sed -n 's/.*"counts":{"exec":\([0-9]*\).*/\1/p')
[ "$got" = $((N + 1)) ] || { echo "exec.sh: expected $((N + 1)) execs, the log counts ${got:-none}" >&2; exit 1; }
rm -f "$log"

bwrap_cmd="bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $sh -c '$loop'"
plain_cmd="$hutch run -q -C $ws -- $sh -c '$loop'"
audit_cmd="$hutch run -q -C $ws --audit $log -- $sh -c '$loop'"
rule_cmd="$hutch run -q -C $ws -p $policy -- $sh -c '$loop'"
args=(-N --warmup 3 --runs 20 --export-json "$out/exec.json" --export-markdown "$out/exec.md"
	-n bwrap "$bwrap_cmd" -n hutch "$plain_cmd" -n "hutch --audit" "$audit_cmd"
	-n "hutch rules" "$rule_cmd")
hyperfine "${args[@]}"
events=$(grep -c '"event":"exec"' "$log" || true)
lines=$(wc -l <"$log")

python3 - "$out/exec.json" "$repo/bench/RESULTS.md" "hyperfine ${args[*]//$repo\//}" "$(nproc)" \
	"$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$N" "$events" "$lines" <<'PY'
import json, os, sys
jpath, rpath, cmdline, nproc, kernel, date, commit, cpu, load, n, events, lines = sys.argv[1:13]
n = int(n)
names = ("bwrap", "hutch", "hutch --audit", "hutch rules")
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
med = {k: res[k]["median"] * 1000 for k in names}
mad = {k: (sorted(abs(t - res[k]["median"]) for t in res[k]["times"])[len(res[k]["times"]) // 2]) * 1000
       for k in names}
entry = [
    f"### {date} (commit {commit})",
    "",
    f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; load average before the run {load}.",
    f"A shell loop of {n} `/bin/true`; the audited runs wrote {events} exec events "
    f"({lines} lines) in all.",
    "",
    "| command | median | MAD | min | per exec (median) | vs bwrap (median) | vs bwrap (min) |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
mn = {k: res[k]["min"] * 1000 for k in names}
for k in names:
    entry.append(f"| {k} | {med[k]:.1f} ms | {mad[k]:.1f} ms | {mn[k]:.1f} ms "
                 f"| {med[k] * 1000 / n:.0f} us | {med[k] / med['bwrap']:.2f}x "
                 f"| {mn[k] / mn['bwrap']:.2f}x |")
ratio = med["hutch --audit"] / med["bwrap"]
extra = (med["hutch --audit"] - med["hutch"]) * 1000 / n
extra_min = (mn["hutch --audit"] - mn["hutch"]) * 1000 / n
entry += ["", f"audited/bwrap = {ratio:.2f} (medians), {mn['hutch --audit'] / mn['bwrap']:.2f} "
          f"(minima): {'meets' if ratio <= 1.1 else 'misses'} the target (<= 1.1x). Auditing adds "
          f"{extra:.0f} us per exec over hutch without it ({extra_min:.0f} us between minima).", "",
          "```", cmdline, "```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'exec auditing', entry)
PY
