#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start-up of `true` against the other peers of bench/startup.sh and bench/srt.sh: firejail and
# Codex's Linux sandbox (`codex sandbox`). One hyperfine run, no shell in between (-N):
#   bare true | bwrap --unshare-all (as bench/startup.sh) | hutch run --net none
#   | firejail --noprofile --net=none | firejail with its default profile
#   | codex sandbox, workspace-write (npm launcher, Node.js) | the same, native binary
# A tool that is missing or does not run `true` here is skipped with the reason printed.
# Runs in a fresh workspace: a new `git init` directory under $WORK_ROOT (default
# /var/lib/hutch-tests), not the repository, removed at the end; CODEX_HOME is a fresh
# directory beside it (codex refuses one under /tmp: "Refusing to create helper binaries under
# temporary dir"), so no login and no ~/.codex is used.
# Appends one entry under "## peers: firejail and Codex's sandbox" in bench/RESULTS.md (only
# that section is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/peers.sh [BUILD_DIR]     (default: build; HUTCH=/path/to/hutch)
#   CODEX=/path/to/node_modules/.bin/codex RUNS=100 NO_RECORD=1 bench/peers.sh
# firejail: apt-get install firejail. codex: npm install @openai/codex (found as $CODEX, else
# `codex` on PATH, else /var/lib/hutch-tests/agents/node_modules/.bin/codex).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
runs=${RUNS:-100}
out=$build/bench
mkdir -p "$out"
for t in hyperfine bwrap python3 git; do
	command -v "$t" >/dev/null || { echo "peers.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "peers.sh: no hutch binary at $hutch (ninja -C $build)" >&2; exit 1; }

base=$(mktemp -d "${WORK_ROOT:-/var/lib/hutch-tests}/peers.XXXXXX")
trap 'rm -rf "$base"' EXIT
mkdir "$base/ws" "$base/codex-home"
cd "$base/ws"
git init -q .
export CODEX_HOME=$base/codex-home

true_cmd=$(type -P true)
names=(true bwrap hutch)
declare -A cmd=(
	[true]="$true_cmd"
	[bwrap]="bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $true_cmd"
	[hutch]="$hutch run --net none -- $true_cmd"
)
skipped=()
try() { # NAME COMMAND: kept if COMMAND runs here, else skipped with its error
	local err
	if err=$($2 2>&1 >/dev/null); then
		names+=("$1")
		cmd[$1]=$2
	else
		skipped+=("$1: \`${2//$repo\//}\` fails here: $(echo "$err" | tail -n 3 | tr '\n' ' ')")
		echo "peers.sh: skipping $1: ${skipped[-1]}" >&2
	fi
}
"$hutch" run --net none -- true || { echo "peers.sh: hutch run does not work here" >&2; exit 1; }
versions="$(bwrap --version)"
if command -v firejail >/dev/null; then
	try firejail-noprofile "firejail --quiet --noprofile --net=none $true_cmd"
	try firejail "firejail --quiet $true_cmd"
	versions+=", $(firejail --version | head -n 1)"
else
	skipped+=("firejail: not installed (apt-get install firejail)")
	echo "peers.sh: skipping ${skipped[-1]}" >&2
fi
codex=${CODEX:-$(type -P codex || echo /var/lib/hutch-tests/agents/node_modules/.bin/codex)}
if [ -x "$codex" ]; then
	# the native binary the npm launcher (bin/codex.js, Node.js) execs
	native=$(dirname "$(readlink -f "$codex")")/../../codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
	native=$(readlink -f "$native" || true)
	sbx="sandbox -c sandbox_mode=workspace-write -- $true_cmd"
	try codex "$codex $sbx"
	[ -x "$native" ] && try codex-native "$native $sbx"
	versions+=", $("$codex" --version) (Node.js $(node --version))"
else
	skipped+=("codex: no codex CLI at $codex (npm install @openai/codex, or CODEX=...)")
	echo "peers.sh: skipping ${skipped[-1]}" >&2
fi

args=(-N --warmup 10 --runs "$runs" --export-json "$out/peers.json" --export-markdown "$out/peers.md")
for n in "${names[@]}"; do args+=(-n "$n" "${cmd[$n]}"); done
load=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine "${args[@]}"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cmdline="hyperfine ${args[*]//$repo\//}"
cmdline=${cmdline//$base/\$WS}

[ "${NO_RECORD:-0}" = 1 ] && exit 0
printf '%s\n' "${skipped[@]}" >"$base/skipped"
python3 - "$out/peers.json" "$repo/bench/RESULTS.md" "$cmdline" "$(nproc)" "$(uname -r)" \
	"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$load" "$load1" \
	"$versions" "$(id -un)" "$base/skipped" <<'PY'
import json, os, sys
jpath, rpath, cmdline, nproc, kernel, date, commit, cpu, load, load1, versions, user, skp = sys.argv[1:14]
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
label = {"true": "bare `true`", "bwrap": "bwrap --unshare-all", "hutch": "hutch run --net none",
         "firejail-noprofile": "firejail --noprofile --net=none",
         "firejail": "firejail (default profile)",
         "codex": "codex sandbox, workspace-write (npm `codex`, Node.js launcher)",
         "codex-native": "codex sandbox, workspace-write (native binary)"}
names = [k for k in label if k in res]
med = {k: res[k]["median"] * 1000 for k in names}
mad = {k: (sorted(abs(t - res[k]["median"]) for t in res[k]["times"])[len(res[k]["times"]) // 2])
       * 1000 for k in names}
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; {versions}. As {user}. "
         f"Load average {load} before, {load1} after.", "",
         f"Start-up of `true`, one hyperfine run ({len(res['true']['times'])} runs each), "
         "from a fresh `git init` workspace under /var/lib/hutch-tests ($WS below):", "",
         "| command | median | MAD | vs true | vs bwrap | vs hutch |",
         "|---|---:|---:|---:|---:|---:|"]
for k in names:
    entry.append(f"| {label[k]} | {med[k]:.2f} ms | {mad[k]:.2f} ms | {med[k] / med['true']:.1f}x "
                 f"| {med[k] / med['bwrap']:.2f}x | {med[k] / med['hutch']:.2f}x |")
sk = [l for l in open(skp).read().splitlines() if l]
entry += [""] + ([f"Skipped: {s}" for s in sk] + [""] if sk else []) + ["```", cmdline, "```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, "peers: firejail and Codex's sandbox", entry)
PY
