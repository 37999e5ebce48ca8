#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Disposable sessions, with hyperfine:
#   1. start-up: hutch run --net none -- true, with and without --ephemeral, in a git
#      workspace of 1,000 and of 10,000 files; and --ephemeral -- touch FILE (the
#      snapshot of the workspace is taken while the sandbox starts; hutch waits for it
#      at the end when the layer is not empty);
#   2. hutch apply of a 10,000-file change (1 KiB each: added, then modified), against
#      cp -a of the same files (not atomic, no checks) as a reference; hutch diff --stat.
# Appends the results under "## ephemeral sessions" in bench/RESULTS.md (only that
# section is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/ephemeral.sh [BUILD_DIR]        (default: build; or set HUTCH=/path/to/hutch)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
mkdir -p "$out"
for t in hyperfine python3 git; do
	command -v "$t" >/dev/null || { echo "ephemeral.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "ephemeral.sh: no hutch binary at $hutch" >&2; exit 1; }

# Not under /tmp: the workspace must be a normal directory the sandbox binds.
base=${HUTCH_BENCH_DIR:-/var/lib/hutch-tests}
mkdir -p "$base"
T=$(mktemp -d "$base/bench-eph.XXXXXX")
trap 'chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
export HOME=$T/home XDG_STATE_HOME=$T/home/.local/state
mkdir -p "$HOME"
sessions=$XDG_STATE_HOME/hutch/sessions

make_ws() { # DIR NFILES
	mkdir -p "$1/src"
	git -C "$1" init -q
	python3 - "$1/src" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, f"d{i // 100}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i}.txt"), "w") as f:
        f.write(f"line {i}\n" * 20)
PY
}
make_ws "$T/ws1k" 1000
make_ws "$T/ws10k" 10000

true_cmd=$(type -P true)
touch_cmd=$(type -P touch)
cd "$T/ws1k"
"$hutch" run --net none --ephemeral -- true 2>/dev/null || { echo "ephemeral.sh: hutch run --ephemeral does not work here" >&2; exit 1; }
rm -rf "$sessions"

# 1. start-up; every run starts without sessions (prepare: not timed)
startup_args=(-N --warmup 10 --runs 100 --prepare "rm -rf $sessions"
	--export-json "$out/ephemeral-startup.json")
(cd "$T/ws1k" && hyperfine "${startup_args[@]}" \
	-n "1k files" "$hutch run --net none -- $true_cmd" \
	-n "1k files, --ephemeral" "$hutch run -q --net none --ephemeral -- $true_cmd" \
	-n "1k files, --ephemeral, touch a file" "$hutch run -q --net none --ephemeral -- $touch_cmd new")
cp "$out/ephemeral-startup.json" "$out/ephemeral-startup-1k.json"
(cd "$T/ws10k" && hyperfine "${startup_args[@]}" \
	-n "10k files" "$hutch run --net none -- $true_cmd" \
	-n "10k files, --ephemeral" "$hutch run -q --net none --ephemeral -- $true_cmd" \
	-n "10k files, --ephemeral, touch a file" "$hutch run -q --net none --ephemeral -- $touch_cmd new")
cp "$out/ephemeral-startup.json" "$out/ephemeral-startup-10k.json"

# 2. apply of a 10,000-file change
W=$T/wsapply
mkdir -p "$W"
git -C "$W" init -q
cd "$W"
"$hutch" run --ephemeral -- python3 -c '
import os
for i in range(10000):
    d = f"big/d{i // 100}"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/f{i}.txt", "w").write(("x" * 1023) + "\n")
' 2>"$T/err"
added=$(sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' "$T/err")
cat >"$T/prep-added.sh" <<EOF
#!/bin/bash
cd "$W" && rm -rf big "$T/cp" && "$hutch" discard -q bench 2>/dev/null; "$hutch" fork "$added" bench >/dev/null 2>&1
EOF
# the same 10,000 files, modified: the workspace has them, a fresh session changes each one
mkdir -p "$T/wsmod"
git -C "$T/wsmod" init -q
cp -a "$sessions/$added/upper/big" "$T/big-orig"
cat >"$T/modify.py" <<'EOF'
import glob
for f in glob.glob("big/d*/f*.txt"):
    open(f, "a").write("changed\n")
EOF
cat >"$T/prep-mod.sh" <<EOF
#!/bin/bash
cd "$T/wsmod" && "$hutch" discard -q -C "$T/wsmod" 2>/dev/null
rm -rf big && cp -a "$T/big-orig" big && "$hutch" run -q --ephemeral -- python3 "$T/modify.py"
EOF
cat >"$T/prep-cp.sh" <<EOF
#!/bin/bash
rm -rf "$T/cp"; mkdir -p "$T/cp"
EOF
chmod +x "$T"/prep-*.sh
apply_args=(-N --warmup 1 --runs 10 --export-json "$out/ephemeral-apply.json")
hyperfine "${apply_args[@]}" \
	--prepare "$T/prep-added.sh" -n "hutch apply: 10,000 added files" \
	"$hutch apply -q -C $W bench" \
	--prepare "$T/prep-mod.sh" -n "hutch apply: 10,000 modified files" \
	"$hutch apply -q -C $T/wsmod" \
	--prepare "$T/prep-cp.sh" -n "cp -a of the 10,000 files (reference)" \
	"cp -a $sessions/$added/upper/big $T/cp/" \
	--prepare "$T/prep-added.sh" -n "hutch diff --stat: 10,000 added files" \
	"$hutch diff --stat -C $W bench"

cd "$repo"
python3 - "$out" "$repo/bench/RESULTS.md" "$(nproc)" "$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" \
	"$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$(findmnt -no FSTYPE --target "$base")" <<'PY'
import json, os, sys
outdir, rpath, nproc, kernel, date, commit, cpu, load, fstype = sys.argv[1:10]

def load_res(name):
    return json.load(open(os.path.join(outdir, name)))["results"]

def mad(r):
    t = r["times"]; m = r["median"]
    return sorted(abs(x - m) for x in t)[len(t) // 2]

entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}, workspace and state on {fstype}; "
         f"load average before the run {load}.", "",
         "Start-up (`hutch run --net none [--ephemeral] -- true` in a git workspace; each run "
         "starts without sessions; the ephemeral run includes creating the session directory, "
         "the overlay mount, the metadata updates, and removing the session again since `true` "
         "changed nothing; with `touch new` the layer is not empty: hutch waits for the "
         "snapshot of the workspace, taken in parallel with the sandbox's start, and keeps the "
         "session):", "",
         "| command | median | MAD | vs without |", "|---|---:|---:|---:|"]
for f in ("ephemeral-startup-1k.json", "ephemeral-startup-10k.json"):
    res = load_res(f)
    base = res[0]["median"]
    for r in res:
        entry.append(f"| {r['command']} | {r['median'] * 1000:.2f} ms | {mad(r) * 1000:.2f} ms "
                     f"| {r['median'] / base:.2f}x |")
entry += ["", "A 10,000-file change (1 KiB files; every run on a fresh fork of the session and a "
          "fresh workspace, prepared untimed):", "",
          "| command | median | MAD | per file |", "|---|---:|---:|---:|"]
for r in load_res("ephemeral-apply.json"):
    entry.append(f"| {r['command']} | {r['median'] * 1000:.1f} ms | {mad(r) * 1000:.1f} ms "
                 f"| {r['median'] * 1e6 / 10000:.1f} µs |")
entry += ["", "Script: `bench/ephemeral.sh`; raw hyperfine exports in `BUILD_DIR/bench/ephemeral-*.json`.", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'ephemeral sessions', entry)
PY
