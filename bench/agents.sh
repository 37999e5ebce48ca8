#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agents outside vs inside their profile: start-up (--version) and one scripted API turn
# (a shell tool call, then a final text, streamed by tests/helpers/mock-llm.py on the host's
# loopback, reached inside through --host-port). One hyperfine run per agent (-N, no shell):
#   Claude Code: claude --version | hutch run --profile claude-code -- claude --version
#                claude -p (a turn) | the same inside
#   Codex:       codex --version | inside;  codex exec (a turn) | inside
# Target: inside within 1.1x of outside. Appends medians and ratios to bench/RESULTS.md under
# "## agents" (only that section is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/agents.sh [BUILD_DIR]     (default: build; or set HUTCH=/path/to/hutch)
#   HUTCH_AGENTS_CACHE   an npm prefix holding the agents (default: the tests' cache,
#                        /var/lib/hutch-tests/agents, else BUILD_DIR/bench/agents, installed
#                        from the npm registry when missing)
#   RUNS                 runs per command (default 20)
#   RT=1                 as root: hyperfine and what it starts at real-time priority (chrt -f 20,
#                        as bench/startup-interleaved.sh), so that the other work on a shared
#                        machine delays neither side
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
out=$build/bench
runs=${RUNS:-20}
mkdir -p "$out"
for t in hyperfine python3 node npm git; do
	command -v "$t" >/dev/null || { echo "agents.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "agents.sh: no hutch binary at $hutch" >&2; exit 1; }
rt=()
if [ "${RT:-}" = 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "agents.sh: RT=1 needs root" >&2; exit 1; }
	rt=(chrt -f 20)
fi

cache=${HUTCH_AGENTS_CACHE:-/var/lib/hutch-tests/agents}
if [ ! -x "$cache/node_modules/.bin/claude" ] || [ ! -x "$cache/node_modules/.bin/codex" ]; then
	cache=$out/agents
	if [ ! -x "$cache/node_modules/.bin/claude" ] || [ ! -x "$cache/node_modules/.bin/codex" ]; then
		mkdir -p "$cache"
		npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
			@anthropic-ai/claude-code @openai/codex
	fi
fi
claude=$cache/node_modules/.bin/claude
codex=$cache/node_modules/.bin/codex

# A fake home and a workspace (a git repository) of our own, outside /tmp (private inside).
work=$out/agents-run
rm -rf "$work"
mkdir -p "$work/home" "$work/ws"
git -C "$work/ws" init -q
echo '{}' >"$work/home/.claude.json"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_CACHE_HOME=$work/home/.cache
cd "$work/ws"

python3 "$repo/tests/helpers/mock-llm.py" "$work/port" "$work/mock.log" &
mock=$!
trap 'kill "$mock" 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
export ANTHROPIC_BASE_URL=http://127.0.0.1:$port ANTHROPIC_API_KEY=sk-ant-bench IS_SANDBOX=1

# One word (hyperfine -N splits command lines on blanks); mock-llm.py answers "hutch-task"
# with its tool call.
task="hutch-task"
c_turn=("$claude" -p --dangerously-skip-permissions "$task")
x_turn=("$codex" exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -m mock-model
	-c model_provider=mock -c model_providers.mock.name=mock
	-c "model_providers.mock.base_url=http://127.0.0.1:$port/v1" -c model_providers.mock.wire_api=responses "$task")
c_in=("$hutch" run --profile claude-code --host-port "$port" -e ANTHROPIC_BASE_URL --)
x_in=("$hutch" run --profile codex --host-port "$port" --)

# Each command works (and the turn does its tool call) before it is timed.
check() {
	rm -f out.txt
	"$@" </dev/null >/dev/null 2>"$work/err" || { echo "agents.sh: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
}
check "${c_in[@]}" "${c_turn[@]}"
[ "$(cat out.txt)" = hello ] || { echo "agents.sh: claude -p did not run its tool call" >&2; exit 1; }
check "${x_in[@]}" "${x_turn[@]}"
[ "$(cat out.txt)" = hello ] || { echo "agents.sh: codex exec did not run its tool call" >&2; exit 1; }

run() { # NAME: hyperfine over the four commands of one agent
	local name=$1 bin=$2 turn=$3
	shift 3
	local in="$*"
	args=(-N --warmup 2 --runs "$runs" --export-json "$out/agents-$name.json"
		-n "$name --version, outside" "$bin --version"
		-n "$name --version, inside" "$in $bin --version"
		-n "$name turn, outside" "$turn"
		-n "$name turn, inside" "$in $turn")
	"${rt[@]}" hyperfine "${args[@]}"
	cmdlines+=("${rt[*]}${rt[*]:+ }hyperfine ${args[*]//$repo\//}")
}
cmdlines=()
run claude "$claude" "${c_turn[*]}" "${c_in[@]}"
run codex "$codex" "${x_turn[*]}" "${x_in[@]}"

python3 - "$out" "$repo/bench/RESULTS.md" "$(nproc)" "$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" \
	"$(git -C "$repo" rev-parse --short HEAD)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$("$claude" --version | head -1)" "$("$codex" --version | head -1)" \
	"${RT:-0}" "${cmdlines[@]}" <<'PY'
import json, os, sys
outdir, rpath, nproc, kernel, date, commit, cpu, load, cver, xver, rt = sys.argv[1:12]
cmdlines = sys.argv[12:]
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}; load average before the run {load}"
         f"{'; RT=1 (hyperfine at chrt -f 20)' if rt == '1' else ''}. "
         f"Claude Code {cver}, Codex {xver}; the API is tests/helpers/mock-llm.py on the host's "
         "loopback (reached inside through --host-port).", "",
         "| what | outside (median) | inside (median) | MAD out / in | inside / outside | target <= 1.1x |",
         "|---|---:|---:|---:|---:|---|"]
for name in ("claude", "codex"):
    res = {r["command"]: r for r in json.load(open(f"{outdir}/agents-{name}.json"))["results"]}
    for what in ("--version", "turn"):
        o, i = res[f"{name} {what}, outside"], res[f"{name} {what}, inside"]
        mad = lambda r: sorted(abs(t - r["median"]) for t in r["times"])[len(r["times"]) // 2] * 1000
        ratio = i["median"] / o["median"]
        entry.append(f"| {name} {what} | {o['median'] * 1000:.0f} ms | {i['median'] * 1000:.0f} ms "
                     f"| {mad(o):.0f} / {mad(i):.0f} ms | {ratio:.2f}x | {'meets' if ratio <= 1.1 else 'misses'} |")
entry += ["", "```"] + cmdlines + ["```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, "agents", entry)
PY
