#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real agents doing a task against a model API on the host's loopback, reached the
# documented way (--host-port PORT, docs/network.md "Model gateways and host services";
# docs/profiles.md, each agent's "Gateways"): tests/helpers/mock-llm.py streams a tool call
# (a shell command) and then a final text. Unattended runs, the command lines
# docs/profiles.md gives:
#   claude -p --dangerously-skip-permissions (ANTHROPIC_BASE_URL, IS_SANDBOX=1 from the profile)
#   codex exec --dangerously-bypass-approvals-and-sandbox (a model provider given with -c)
#   codex exec with no sandbox flag (the profile's sandbox_mode in Codex's working copy)
# For each: the tool call runs inside the sandbox (its file is in the workspace on the host,
# and what it saw of ~/.ssh is the sandbox's empty view), the final text is printed, the
# mock saw the streamed requests and the tool's result. Meanwhile another host loopback
# port stays unreachable from inside (the agent's runtime cannot connect, that server sees
# nothing). The agents come from tests/lib-agents.sh (npm, cached).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python
# shellcheck source=tests/lib-agents.sh
. "$HUTCH_TESTS_DIR/lib-agents.sh"
agents_install

HUTCH_TEST_TIMEOUT=120
# What the model asks the agent to run: a file in the workspace, and the number of entries
# the command sees in ~/.ssh (the fake home has three; the sandbox shows none).
TOOL_CMD='echo hello > out.txt; ls -A ~/.ssh 2>/dev/null | wc -l >> out.txt'
start_mock_llm api "$TOOL_CMD"
M=$MOCK_PORT
MLOG=$MOCK_LOG
start_mock_llm other
O=$MOCK_PORT
OLOG=$MOCK_LOG

# jl LOG EXPR: evaluate EXPR over the list of logged requests "r" (python).
jl() {
	"$PY" -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$1" "$2"
}

expect_task_ran() { # AGENT API
	is "$(tr -d ' ' <"$WS/out.txt" 2>/dev/null | tr '\n' ,)" "hello,0," \
		"$1: the tool call ran inside: out.txt is in the workspace, and it saw an empty ~/.ssh"
	is "$(jl "$MLOG" "sum(1 for x in r if x.get('api')=='$2' and x['stream'])>=2")" True \
		"  the mock served at least two streamed turns"
	is "$(jl "$MLOG" "[x['answer'] for x in r if x.get('api')=='$2' and x['tool_results']][-1:]")" \
		"[['text', 'done']]" "  the tool's result came back to the model, which answered 'done'"
}

# ---- Claude Code ---------------------------------------------------------------------------
echo '{}' >"$HOME/.claude.json" # lib.sh's fake secret there is not JSON
rm -f "$WS/out.txt"
ANTHROPIC_BASE_URL=http://127.0.0.1:$M ANTHROPIC_API_KEY=test \
	hrun run --profile claude-code --host-port "$M" -e ANTHROPIC_BASE_URL -- \
	"${AGENT_BIN[claude-code]}" -p --dangerously-skip-permissions "hutch-task: write out.txt"
is "$RC" 0 "claude-code: claude -p --dangerously-skip-permissions exits 0 (as $(id -un))"
like "$OUT" "^done$" "  and prints the model's final text"
expect_task_ran claude-code anthropic
is "$(jl "$MLOG" "sorted({x['path'] for x in r if x.get('api')=='anthropic'})")" "['/v1/messages']" \
	"  its requests went to ANTHROPIC_BASE_URL's /v1/messages"

# ---- Codex ---------------------------------------------------------------------------------
rm -f "$WS/out.txt"
: >"$MLOG"
hrun run --profile codex --host-port "$M" -- "${AGENT_BIN[codex]}" exec \
	--dangerously-bypass-approvals-and-sandbox -m mock-model -c model_provider=mock \
	-c model_providers.mock.name=mock -c "model_providers.mock.base_url=http://127.0.0.1:$M/v1" \
	-c model_providers.mock.wire_api=responses "hutch-task: write out.txt"
is "$RC" 0 "codex: codex exec --dangerously-bypass-approvals-and-sandbox exits 0"
like "$OUT" "done" "  and prints the model's final text"
expect_task_ran codex responses
is "$(jl "$MLOG" "sorted({x['path'] for x in r if x.get('api')=='responses'})")" "['/v1/responses']" \
	"  its requests went to the provider's base_url /v1/responses"

# The same through the built-in OpenAI provider's base URL (openai_base_url, an API key),
# and without a sandbox flag: the profile's sandbox_mode (danger-full-access, in the working
# copy of config.toml) lets the command run; Codex's own sandbox would fail it ("No
# permissions to create new namespace"). The host's config.toml does not get that setting.
rm -f "$WS/out.txt"
: >"$MLOG"
mkdir -p "$HOME/.codex"
printf 'model = "mock-model"\n' >"$HOME/.codex/config.toml"
OPENAI_API_KEY=sk-test hrun run --profile codex --host-port "$M" -- "${AGENT_BIN[codex]}" exec \
	-m mock-model -c "openai_base_url=http://localhost:$M/v1" "hutch-task: write out.txt"
is "$RC" 0 "codex: with -c openai_base_url=http://localhost:PORT/v1 and no sandbox flag, exits 0"
is "$(tr -d ' ' <"$WS/out.txt" 2>/dev/null | tr '\n' ,)" "hello,0," "  the tool call ran inside"
like "$ERR$OUT" "sandbox: danger-full-access" "  Codex says its sandbox is danger-full-access"
is "$(cat "$HOME/.codex/config.toml")" 'model = "mock-model"' "  the host's config.toml is unchanged"
rm -f "$HOME/.codex/config.toml"

# ---- another host loopback port ------------------------------------------------------------
CONNECT_JS='
for (const port of process.argv.slice(1)) {
	const s = require("net").connect({host: "127.0.0.1", port: +port});
	s.setTimeout(5000, () => { console.log(port + " timeout"); s.destroy(); });
	s.on("connect", () => { console.log(port + " CONNECTED"); s.destroy(); });
	s.on("error", (e) => console.log(port + " refused " + e.code));
}'
hrun run --profile claude-code --host-port "$M" -- node -e "$CONNECT_JS" "$M" "$O"
like "$OUT" "^$M CONNECTED$" "from inside, node reaches the host port given with --host-port"
like "$OUT" "^$O (refused|timeout)" "  but not another port the host listens on, on its loopback"
is "$(wc -l <"$OLOG")" 0 "  that server saw no request"

# The agent pointed at that other port: it cannot reach it (and says so, without hanging).
ANTHROPIC_BASE_URL=http://127.0.0.1:$O ANTHROPIC_API_KEY=test HUTCH_TEST_TIMEOUT=60 \
	hrun run --profile claude-code --host-port "$M" -e ANTHROPIC_BASE_URL \
	-e CLAUDE_CODE_MAX_RETRIES=0 -- "${AGENT_BIN[claude-code]}" -p "hutch-task: hi"
isnt "$RC" 0 "claude pointed at a host port not given with --host-port fails"
like "$OUT$ERR" "Unable to connect|ECONNREFUSED|ConnectionRefused" "  saying it cannot connect"
is "$(wc -l <"$OLOG")" 0 "  and that server saw no request"

done_testing
