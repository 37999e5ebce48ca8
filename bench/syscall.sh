#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/syscall.sh: what the seccomp filter costs a syscall-heavy program.
# A million getppid() and a million stat("/") calls, each run three ways with
# hyperfine: no filter, a one-instruction allow-all filter (the fixed cost of
# having any seccomp filter: the kernel's syscall-entry work), and hutch's
# filter. Then ROUNDS interleaved rounds (none, 1-instruction, hutch, none,
# ...) of the same loops timed from inside the program, which a busy machine
# disturbs much less than back-to-back hyperfine series. Results replace the
# "## seccomp filter cost" section of bench/RESULTS.md (other sections are
# left alone).
#
#   BUILD=build-h2 RUNS=30 ROUNDS=40 N=1000000 bench/syscall.sh
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${N:-1000000}
RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-40}
RESULTS=${RESULTS:-bench/RESULTS.md}

command -v hyperfine >/dev/null || { echo "syscall.sh: hyperfine is not installed" >&2; exit 1; }
ninja -C "$BUILD" tests/helpers/seccomp-bench >/dev/null
B=$BUILD/tests/helpers/seccomp-bench

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for call in getppid stat; do
	cmd=(hyperfine -N --warmup 5 --runs "$RUNS"
		--export-json "$tmp/$call.json" --export-markdown "$tmp/$call.md"
		-n "$call, no filter" "$B $call $N"
		-n "$call, 1-instruction filter" "$B --trivial $call $N"
		-n "$call, hutch filter" "$B --filter $call $N")
	printf '%q ' "${cmd[@]}" | sed 's/ $//; s#/tmp/[^/]*/#$TMP/#g' >"$tmp/$call.cmd"
	"${cmd[@]}" >&2
done

# Interleaved: one line "call mode ns-per-call" per run.
for ((r = 0; r < ROUNDS; r++)); do
	for call in getppid stat; do
		for mode in none trivial filter; do
			flag=()
			[[ $mode != none ]] && flag=(--"$mode")
			echo "$call $mode $("$B" --ns "${flag[@]}" "$call" "$N")"
		done
	done
done >"$tmp/rounds"

python3 - "$tmp" "$RESULTS" "$N" "$RUNS" "$ROUNDS" <<'EOF'
import json, os, platform, statistics, subprocess, sys, time

tmp, results, n, runs, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

ns = {}
for line in open(f"{tmp}/rounds"):
    call, mode, v = line.split()
    ns.setdefault((call, mode), []).append(float(v))

def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

out = ["## seccomp filter cost", ""]
out.append(f"{time.strftime('%Y-%m-%d')}, Linux {platform.release()}, {cpu()}, "
           f"{os.cpu_count()} CPUs. Script: `bench/syscall.sh` "
           f"(N={n}, {runs} hyperfine runs each, {rounds} interleaved rounds).")
try:
    load = open("/proc/loadavg").read().split()[:3]
    out.append(f"Load average at the end: {' '.join(load)} (the hyperfine series run one after "
               f"the other and suffer most from other work on the machine; the interleaved "
               f"minimum is the figure to read).")
    out.append("")
except OSError:
    pass
out.append(f"Interleaved rounds, loop time per call measured inside the program "
           f"(`seccomp-bench --ns`), none / 1-instruction filter / hutch filter in turn:")
out.append("")
out.append("| call | no filter | 1-instruction filter | hutch filter | hutch vs none | hutch vs 1-instruction |")
out.append("|:---|---:|---:|---:|---:|---:|")
for call in ("getppid", "stat"):
    for stat_name, f in (("min", min), ("median", statistics.median)):
        a, t, h = (f(ns[(call, m)]) for m in ("none", "trivial", "filter"))
        out.append(f"| {call} ({stat_name}) | {a:.0f} ns | {t:.0f} ns | {h:.0f} ns | "
                   f"{100 * (h / a - 1):+.1f}% | {100 * (h / t - 1):+.1f}% |")
out.append("")
out.append("hyperfine, whole process (start-up and building the filter included):")
out.append("")
for call in ("getppid", "stat"):
    res = json.load(open(f"{tmp}/{call}.json"))["results"]
    # The machine may be shared: wall time is noisy, CPU time (user + system)
    # and the fastest run are what the filter changes. Report all three.
    cpu = [r["user"] + r["system"] for r in res]
    fast = [min(r["times"]) for r in res]
    med = [statistics.median(r["times"]) for r in res]
    out.append(f"### {call}")
    out.append("")
    out.append("```")
    out.append(open(f"{tmp}/{call}.cmd").read().strip())
    out.append("```")
    out.append("")
    out.append(open(f"{tmp}/{call}.md").read().strip())
    out.append("")
    out.append("| vs no filter | CPU time (user+sys, mean) | fastest run | median run |")
    out.append("|:---|---:|---:|---:|")
    for i, label in ((1, "1-instruction filter (any filter)"), (2, "hutch filter")):
        cells = []
        for m in (cpu, fast, med):
            cells.append(f"{100 * (m[i] / m[0] - 1):+.1f}% ({(m[i] - m[0]) / n * 1e9:+.0f} ns/call)")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append(f"| hutch filter vs 1-instruction filter | "
               f"{100 * (cpu[2] / cpu[1] - 1):+.1f}% | {100 * (fast[2] / fast[1] - 1):+.1f}% | "
               f"{100 * (med[2] / med[1] - 1):+.1f}% |")
    out.append("")

section = "\n".join(out) + "\n"
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\n"
start = text.find("## seccomp filter cost")
if start >= 0:
    end = text.find("\n## ", start + 1)
    text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
else:
    text = text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
print(section)
EOF
