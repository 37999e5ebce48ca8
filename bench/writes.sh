#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cost of counting refused writes (src/lib/audit/writemon.c): every write by path of the
# workload goes to the supervisor, which answers "continue" at once. Compared with
# HUTCH_BASE, a build without it (e.g. the commit before), in interleaved rounds: each
# round runs hyperfine on both builds for each workload, so a load change on this shared
# machine weighs on both alike. Workloads, in the workspace (--net none):
#   create   python: 10,000 files created and written (one openat(O_CREAT) each)
#   tar      tar -x of 5,000 files in 250 directories (openat, mkdirat, utimensat, ...)
#   refused  python: 10,000 creations refused in the read-only $HOME (each one counted)
#   read     python: 10,000 read-only opens (never notified: the filter's flag check)
# Appends medians, ratios and the command lines to bench/RESULTS.md under "## refused writes".
#
# The workspace is made in $WRITES_DIR (default $HOME; not /tmp, which is private inside):
# a tmpfs there takes the disk's noise out of the comparison.
#
#   HUTCH_BASE=/path/to/base/hutch bench/writes.sh [ROUNDS] [BUILD_DIR]   (default 3, build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
rounds=${1:-3}
build=$repo/${2:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
base=${HUTCH_BASE:?set HUTCH_BASE to a hutch built without write notification}
out=$build/bench
mkdir -p "$out"
for t in hyperfine python3 tar; do
	command -v "$t" >/dev/null || { echo "writes.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
tmp=$(mktemp -d "${WRITES_DIR:-$HOME}/.hutch-bench-writes.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ws=$tmp/ws
mkdir -p "$ws" "$tmp/src"
python3 - "$tmp/src" <<'PY'
import os, sys
for d in range(250):
    os.makedirs(os.path.join(sys.argv[1], "pkg", f"d{d}"))
    for i in range(20):
        with open(os.path.join(sys.argv[1], "pkg", f"d{d}", f"f{i}.js"), "w") as f:
            f.write("module.exports = 1;\n")
PY
tar -C "$tmp/src" -cf "$ws/pkg.tar" pkg
py=/usr/bin/python3 # not a shim (pyenv's is a shell script)
[ -x "$py" ] || py=$(type -P python3)
tarbin=$(type -P tar)
create='import os
os.mkdir("out")
for i in range(10000):
    fd = os.open("out/f%d" % i, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"x")
    os.close(fd)'
refused='import os
h = os.environ["HOME"]
for i in range(10000):
    try:
        os.open(h + "/hutch-bench-%d" % i, os.O_WRONLY | os.O_CREAT)
    except OSError:
        pass'
read='import os
for i in range(10000):
    os.close(os.open("pkg.tar", os.O_RDONLY))'
export XDG_STATE_HOME=$tmp/state
prep="rm -rf $ws/out $ws/pkg"
for ((r = 1; r <= rounds; r++)); do
	for w in create tar refused read; do
		args=(--warmup 1 --runs 5 --prepare "$prep" --export-json "$out/writes-$w-$r.json")
		for b in hutch base; do
			h=$hutch
			[ $b = base ] && h=$base
			case $w in
			create) c="$h run -q -C $ws --net none -- $py -c '$create'" ;;
			tar) c="$h run -q -C $ws --net none -- $tarbin -xf pkg.tar" ;;
			refused) c="$h run -q -C $ws --net none -- $py -c '$refused'" ;;
			read) c="$h run -q -C $ws --net none -- $py -c '$read'" ;;
			esac
			args+=(-n "$b" "$c")
		done
		hyperfine -N "${args[@]}" >/dev/null
	done
done

python3 - "$out" "$rounds" "$repo/bench/RESULTS.md" "$(nproc)" "$(uname -r)" \
	"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$repo/bench" "$(df --output=fstype "$ws" | tail -1)" <<'PY'
import json, statistics, sys
out, rounds, rpath, nproc, kernel, date, commit, load, bdir, fstype = sys.argv[1:11]
sys.path.insert(0, bdir)
from results import append_entry
label = {"create": "10,000 files created", "tar": "tar -x, 5,000 files",
         "refused": "10,000 refused creations", "read": "10,000 read-only opens"}
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs, kernel {kernel}; load average at the end {load}. "
         f"{rounds} interleaved rounds of 5 runs per build and workload; the workspace on {fstype}.", "",
         "| workload | base (median) | with write notification | ratio | per-round ratios |",
         "|---|---:|---:|---:|---|"]
for w in ("create", "tar", "refused", "read"):
    allb, allh, ratios = [], [], []
    for r in range(1, int(rounds) + 1):
        res = {x["command"]: x for x in json.load(open(f"{out}/writes-{w}-{r}.json"))["results"]}
        allb += res["base"]["times"]
        allh += res["hutch"]["times"]
        ratios.append(res["hutch"]["median"] / res["base"]["median"])
    b, h = statistics.median(allb) * 1000, statistics.median(allh) * 1000
    entry.append(f"| {label[w]} | {b:.0f} ms | {h:.0f} ms | {h / b:.2f} | "
                 + ", ".join(f"{x:.2f}" for x in ratios) + " |")
entry += ["", "`hutch run -q -C WS --net none -- python3 -c LOOP` (and `tar -xf pkg.tar`), "
          "`hyperfine -N --warmup 1 --runs 5 --prepare 'rm -rf WS/out WS/pkg'`, "
          "base = `HUTCH_BASE`, the build before write notification."]
append_entry(rpath, "refused writes", entry)
PY
