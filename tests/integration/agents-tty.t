#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real agents used interactively, through a terminal (a tmux pane; the screen is read
# with capture-pane, every wait is bounded), against tests/helpers/mock-llm.py on the host's
# loopback reached through --host-port (docs/profiles.md, each agent's "First run" and
# "Gateways").
# Claude Code: the first launch goes through its first-run dialogs (text style, security
# notes, trust this folder) and exits; what it saved is carried back into the host's
# ~/.claude.json, so the second launch shows none of them, and a task typed at its prompt
# runs (the tool call, after its permission prompt, writes a file in the workspace).
# Codex: the first launch asks "Trust this folder?"; the answer is carried back into
# ~/.codex/config.toml, so the second launch does not ask, and a typed task runs, with no
# sandbox flag (the profile sets sandbox_mode in Codex's working copy of config.toml).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python
command -v tmux >/dev/null || skip_all "tmux is needed to drive the agents' terminal interfaces (apt-get install tmux)"
# shellcheck source=tests/lib-agents.sh
. "$HUTCH_TESTS_DIR/lib-agents.sh"
agents_install

# Its output: how many shell snapshots the session sees in ~/.claude/shell-snapshots (Claude
# Code's own, written at its start and sourced before each command; a private directory).
TOOL_CMD='echo hello > out.txt; ls -A ~/.ssh 2>/dev/null | wc -l >> out.txt; echo "snapshots=$(ls -A ~/.claude/shell-snapshots 2>/dev/null | grep -c "^snapshot-")"'
start_mock_llm api "$TOOL_CMD"
M=$MOCK_PORT
MLOG=$MOCK_LOG

# ---- a terminal --------------------------------------------------------------------------
TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }

# tty_start NAME ARGS...: run "hutch ARGS..." in a new 120x40 pane (environment: this
# script's); its exit status lands in $T/NAME.rc.
tty_start() {
	local name=$1
	shift
	rm -f "$T/$name.rc"
	{
		echo "cd $(printf %q "$WS") || exit 1"
		printf 'exec 2>%q\n' "$T/$name.err"
		printf '%q ' "$HUTCH" "$@"
		printf '\necho $? >%q\n' "$T/$name.rc"
	} >"$T/$name.sh"
	LAST_CMD="hutch $* (in a terminal)"
	# tmux's own start-up, not hutch's, has been seen to fail on a loaded machine ("server
	# exited unexpectedly"): tried again a few times, its message kept for the record
	local try
	for try in 1 2 3; do
		tm new-session -d -s "$name" -x 120 -y 40 "bash $T/$name.sh; sleep 120" \
			2>"$T/tmux.err" && break
		diag "tmux new-session (try $try): $(cat "$T/tmux.err")"
		[ "$try" = 3 ] && bail_out "tmux new-session failed"
		sleep 1
	done
	# Ended with the script (lib.sh's cleanup): the pane's shell and the tmux server.
	bg_register "$(tm display-message -p -t "$name" '#{pane_pid}')" "$(tm display-message -p '#{pid}')"
}

# screen NAME: the pane's text now.
screen() { tm capture-pane -p -t "$1" 2>/dev/null; }

# wait_screen NAME ERE [SECS]: true once the screen matches ERE; SCREEN holds the last
# capture (for the assertions and the diagnostics).
wait_screen() {
	local i
	for ((i = 0; i < ${3:-30} * 5; i++)); do
		SCREEN=$(screen "$1")
		grep -Eq -- "$2" <<<"$SCREEN" && return 0
		sleep 0.2
	done
	diag "screen of $1 while waiting for /$2/:" "$SCREEN"
	return 1
}

# press_until NAME KEY ERE WHILE [SECS]: send KEY, and again every 3 s while the screen
# still shows WHILE (a key sent before the program reads its terminal is lost), until it
# shows ERE; bounded by SECS (default 30).
press_until() {
	local i
	tm send-keys -t "$1" "$2"
	for ((i = 1; i <= ${5:-30} * 5; i++)); do
		SCREEN=$(screen "$1")
		grep -Eq -- "$3" <<<"$SCREEN" && return 0
		if ((i % 15 == 0)) && grep -Eq -- "$4" <<<"$SCREEN"; then
			tm send-keys -t "$1" "$2"
		fi
		sleep 0.2
	done
	diag "screen of $1 while waiting for /$3/:" "$SCREEN"
	return 1
}

# wait_exit NAME [SECS]: true once hutch in the pane exited; RC is its status.
wait_exit() {
	local i
	for ((i = 0; i < ${2:-30} * 5; i++)); do
		if [ -s "$T/$1.rc" ]; then
			RC=$(cat "$T/$1.rc")
			ERR=$(cat "$T/$1.err" 2>/dev/null)
			cat "$T/$1.err" >>"$T/.transcript" 2>/dev/null
			OUT=$SCREEN
			echo "$SCREEN" >>"$T/.transcript"
			tm kill-session -t "$1" 2>/dev/null
			return 0
		fi
		sleep 0.2
	done
	RC=timeout
	return 1
}

typeline() { # NAME TEXT: type TEXT, then Enter
	tm send-keys -t "$1" -l "$2"
	sleep 0.3
	tm send-keys -t "$1" Enter
}

jget() {
	"$PY" -c 'import json,sys
p=json.load(open(sys.argv[1]))
try: v=eval(sys.argv[2])
except (KeyError, TypeError): v="none"
print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

# ---- Claude Code -------------------------------------------------------------------------
export ANTHROPIC_BASE_URL=http://127.0.0.1:$M ANTHROPIC_API_KEY=sk-ant-hutch-test-0123456789abcdef
# A new API key in ANTHROPIC_API_KEY: before asking "use this API key?", Claude Code's first
# run checks that api.anthropic.com answers (its own host, whatever ANTHROPIC_BASE_URL says;
# the profile allows it). This machine has no route there, so the key is approved here the
# way that dialog saves the answer (docs/profiles.md, "Claude Code: first run").
printf '{"customApiKeyResponses": {"approved": ["%s"], "rejected": []}}\n' \
	"${ANTHROPIC_API_KEY: -20}" >"$HOME/.claude.json"
CLAUDE=(run --profile claude-code --host-port "$M" -e ANTHROPIC_BASE_URL -- "${AGENT_BIN[claude-code]}")

tty_start c1 "${CLAUDE[@]}"
wait_screen c1 "Choose the text style" 60
ok $? "claude-code, first launch: the text style dialog"
press_until c1 Enter "Security notes" "Choose the text style"
ok $? "  then the security notes"
press_until c1 Enter "trust this folder" "Security notes"
ok $? "  then 'trust this folder' for the workspace"
press_until c1 Enter "for shortcuts" "trust this folder"
ok $? "  then its prompt"
typeline c1 /exit
wait_exit c1
is "$RC" 0 "  /exit: hutch exits 0"
unlike "$ERR" "\.(allowedTools|mcpServers|mcpContextUris|enabledMcpjsonServers|disabledMcpjsonServers) was changed" \
	"  Claude Code's empty defaults for a new project are not reported as refused changes"
is "$(jget "$HOME/.claude.json" 'p["hasCompletedOnboarding"]')" true \
	"  the host's ~/.claude.json: onboarding completed"
is "$(jget "$HOME/.claude.json" "p['projects']['$WS']['hasTrustDialogAccepted']")" true \
	"  the workspace trusted"

rm -f "$WS/out.txt"
: >"$MLOG"
# The host's snapshot directory, as a Claude Code running outside at the same time has it.
rm -rf "$HOME/.claude/shell-snapshots"
mkdir -p "$HOME/.claude/shell-snapshots"
printf '# Snapshot file\nexport OUTSIDE=1\n' >"$HOME/.claude/shell-snapshots/snapshot-bash-1-x.sh"
tty_start c2 "${CLAUDE[@]}"
wait_screen c2 "for shortcuts|Choose the text style|Security notes|trust this folder|API key" 60
like "$SCREEN" "for shortcuts" "claude-code, second launch: straight to the prompt"
unlike "$SCREEN" "Choose the text style|Security notes|trust this folder|API key" "  no first-run dialog"
typeline c2 "hutch-task: write out.txt"
wait_screen c2 "Do you want to proceed"
ok $? "  a typed task: the model's Bash call asks for permission"
press_until c2 Enter "● done" "Do you want to proceed"
ok $? "  allowed: the model's final answer is shown"
is "$(tr -d ' ' <"$WS/out.txt" 2>/dev/null | tr '\n' ,)" "hello,0," \
	"  the command ran inside: out.txt in the workspace, an empty ~/.ssh"
like "$(cat "$MLOG")" '"tool_results": \["snapshots=1"' \
	"  the command's output came back: it saw its session's own snapshot, and only that"
is "$(ls -A "$HOME/.claude/shell-snapshots")" "snapshot-bash-1-x.sh" \
	"  while the session runs, its snapshot is not in the host's ~/.claude/shell-snapshots"
typeline c2 /exit
wait_exit c2
is "$RC" 0 "  /exit: hutch exits 0"
is "$(ls -A "$HOME/.claude/shell-snapshots")" "snapshot-bash-1-x.sh" \
	"  after it, no snapshot file appeared in the host's ~/.claude/shell-snapshots"
is "$(cat "$HOME/.claude/shell-snapshots/snapshot-bash-1-x.sh")" "$(printf '# Snapshot file\nexport OUTSIDE=1')" \
	"  and the outside session's is unchanged"
unlike "$ERR" "officialMarketplace[A-Za-z]* was changed" \
	"  Claude Code's marketplace auto-install bookkeeping is not reported at every session"

# ---- Codex -------------------------------------------------------------------------------
rm -rf "$HOME/.codex"
CODEX=(run --profile codex --host-port "$M" -- "${AGENT_BIN[codex]}"
	-m mock-model -c model_provider=mock -c model_providers.mock.name=mock
	-c "model_providers.mock.base_url=http://127.0.0.1:$M/v1" -c model_providers.mock.wire_api=responses)

tty_start x1 "${CODEX[@]}"
wait_screen x1 "Trust this folder" 60
ok $? "codex, first launch: 'Trust this folder?'"
press_until x1 Enter "Ask Codex" "Trust this folder"
ok $? "  trusted: its prompt"
typeline x1 /quit
wait_exit x1
is "$RC" 0 "  /quit: hutch exits 0"
like "$(cat "$HOME/.codex/config.toml" 2>/dev/null)" "^\[projects\.\"$WS\"\]" \
	"  the host's ~/.codex/config.toml has the workspace's trust entry"
unlike "$ERR" "not carried back" "  nothing is reported as refused (Codex's [tui] tables go back)"
like "$(cat "$HOME/.codex/config.toml" 2>/dev/null)" "^\[tui" "  its [tui] preferences are in the host's config.toml"

rm -f "$WS/out.txt"
: >"$MLOG"
tty_start x2 "${CODEX[@]}"
wait_screen x2 "Ask Codex|Trust this folder" 60
like "$SCREEN" "Ask Codex" "codex, second launch: straight to the prompt"
unlike "$SCREEN" "Trust this folder" "  no trust question"
typeline x2 "hutch-task: write out.txt"
# Codex may ask before running the command; allow it once.
for ((i = 0; i < 150; i++)); do
	[ -s "$WS/out.txt" ] && break
	screen x2 | grep -Eq "Would you like to run|Yes, proceed" && tm send-keys -t x2 Enter
	sleep 0.2
done
wait_screen x2 "^• done|done$" 20
ok $? "  a typed task: the model's final answer is shown"
is "$(tr -d ' ' <"$WS/out.txt" 2>/dev/null | tr '\n' ,)" "hello,0," \
	"  the command ran inside: out.txt in the workspace, an empty ~/.ssh"
typeline x2 /quit
wait_exit x2
is "$RC" 0 "  /quit: hutch exits 0"
unlike "$ERR" "not carried back" \
	"  nothing is reported as 'not carried back' (the unchanged trust entry, Codex's [tui] tables)"

done_testing
