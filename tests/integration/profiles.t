#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent profiles (claude-code, codex, gemini, aider): each opens what docs/profiles.md
# says and no more. From `hutch policy show`: exactly its hosts, its state directory
# writable, exactly its own credential files taken out of the hidden list, exactly its
# own API key variables passed, network mode proxy. Inside the sandbox: its own
# credentials readable and every other agent's hidden, its state directory writable,
# ~/.ssh invisible, only its key in the environment, no direct network. And profiles
# compose with policy files.
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

PROFILES="claude-code codex gemini aider"

# ---- what each profile should open (keep in step with docs/profiles.md) --------------------
DEV_HOSTS="registry.npmjs.org pypi.org files.pythonhosted.org crates.io static.crates.io
index.crates.io github.com *.githubusercontent.com"
declare -A HOSTS STATE CREDS KEYS
HOSTS[claude-code]="api.anthropic.com claude.ai platform.claude.com console.anthropic.com
statsig.anthropic.com sentry.io"
HOSTS[codex]="api.openai.com auth.openai.com chatgpt.com"
HOSTS[gemini]="generativelanguage.googleapis.com oauth2.googleapis.com accounts.google.com
cloudcode-pa.googleapis.com"
HOSTS[aider]="api.openai.com api.anthropic.com generativelanguage.googleapis.com api.deepseek.com
openrouter.ai"
STATE[claude-code]=".claude"
STATE[codex]=".codex"
STATE[gemini]=".gemini"
STATE[aider]=".aider"
CREDS[claude-code]=".claude.json .claude/.credentials.json"
CREDS[codex]=".codex/auth.json .codex/.credentials.json"
CREDS[gemini]=".gemini/oauth_creds.json .gemini/google_accounts.json .gemini/mcp-oauth-tokens.json
.gemini/a2a-oauth-tokens.json .gemini/.env"
CREDS[aider]=".aider.conf.yml .aider/oauth-keys.env"
KEYS[claude-code]="ANTHROPIC_API_KEY"
KEYS[codex]="OPENAI_API_KEY"
KEYS[gemini]="GEMINI_API_KEY GOOGLE_API_KEY"
KEYS[aider]="OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY DEEPSEEK_API_KEY OPENROUTER_API_KEY"
ALL_KEYS="ANTHROPIC_API_KEY OPENAI_API_KEY GEMINI_API_KEY GOOGLE_API_KEY DEEPSEEK_API_KEY
OPENROUTER_API_KEY"

sorted() { tr ' \n' '\n\n' <<<"$*" | sed '/^$/d' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'; }

# jq-like extraction with python: jget JSON EXPR (EXPR over the parsed object "p")
jget() {
	"$PY" -c 'import json,sys; p=json.loads(sys.argv[1]); v=eval(sys.argv[2])
print(" ".join(sorted(v)) if isinstance(v, list) else v)' "$1" "$2"
}

hrun policy show --profile default
DEFAULT_JSON=$OUT
DEFAULT_HIDDEN=$(jget "$DEFAULT_JSON" 'p["filesystem"]["hidden"]')
is "$(jget "$DEFAULT_JSON" 'p["network"]["mode"]')" "none" "default: network mode none"
is "$(jget "$DEFAULT_JSON" 'p["network"]["allow"]')" "" "default: nothing allowed"

# Every agent's credential files are hidden by default.
ALL_CREDS=
for p in $PROFILES; do ALL_CREDS="$ALL_CREDS ${CREDS[$p]}"; done
missing=
for c in $ALL_CREDS; do
	grep -qw -- "$HOME/$c" <<<"$DEFAULT_HIDDEN" || missing="$missing ~/$c"
done
is "$missing" "" "default: every agent's credential files are hidden"

for p in $PROFILES; do
	hrun policy show --profile "$p"
	is "$RC" 0 "$p: policy show"
	J=$OUT
	is "$(jget "$J" 'p["extends"]')" "$p" "$p: named as the profile in force"
	is "$(jget "$J" 'p["network"]["mode"]')" "proxy" "$p: network mode proxy"
	is "$(jget "$J" 'p["network"]["allow"]')" "$(sorted "${HOSTS[$p]} $DEV_HOSTS")" \
		"$p: allows exactly its API/sign-in hosts and the registries and git host"
	is "$(jget "$J" 'p["network"]["deny"]')" "" "$p: no deny entries of its own"
	is "$(jget "$J" 'p["network"]["allowPrivate"]')" "False" "$p: private addresses stay closed"
	want="$HOME/.cache/hutch/pkg"
	for s in ${STATE[$p]}; do want="$want $HOME/$s"; done
	is "$(jget "$J" 'p["filesystem"]["writable"]')" "$(sorted "$want")" \
		"$p: exactly its state directory and the sandbox's package cache are writable"
	is "$(jget "$J" 'p["filesystem"]["readOnly"] + p["filesystem"]["sockets"]')" "" \
		"$p: no extra read-only paths or sockets"
	# hidden = default hidden minus exactly its own credential files
	want=$DEFAULT_HIDDEN
	for c in ${CREDS[$p]}; do want=$(tr ' ' '\n' <<<"$want" | grep -vxF -- "$HOME/$c" | tr '\n' ' '); done
	is "$(jget "$J" 'p["filesystem"]["hidden"]')" "$(sorted "$want")" \
		"$p: hidden = default minus exactly its own credential files"
	is "$(jget "$J" 'p["env"]["pass"]')" "$(sorted "* ${KEYS[$p]}")" \
		"$p: passes exactly its own key variables by name (and the default *)"
	is "$(jget "$J" 'p["env"]["drop"]')" "$(jget "$DEFAULT_JSON" 'p["env"]["drop"]')" \
		"$p: the default drop patterns stay"
	is "$(jget "$J" 'p["require"]')" "landlock seccomp userns" "$p: requires every layer"
done

# ---- inside the sandbox ---------------------------------------------------------------------
# Credential files with markers that are not the lib.sh secret marker: a profile must be
# able to read its own. Other agents' files must never show their marker.
declare -A CRED_MARK
for p in $PROFILES; do
	for c in ${CREDS[$p]}; do
		mkdir -p "$HOME/$(dirname "$c")"
		CRED_MARK[$c]="cred-of-$p-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
		printf '%s\n' "${CRED_MARK[$c]}" >"$HOME/$c"
	done
	for s in ${STATE[$p]}; do [ -e "$HOME/$s" ] || mkdir -p "$HOME/$s"; done
done
# Settings that make the agent run code later exist, to check they are protected.
echo '{"hooks": {}}' >"$HOME/.claude/settings.json"
echo 'model = "x"' >"$HOME/.codex/config.toml"
echo '{}' >"$HOME/.gemini/settings.json"
for k in $ALL_KEYS GITHUB_TOKEN; do export "$k=value-of-$k"; done

for p in $PROFILES; do
	# One run per profile: print every credential file and the environment.
	script='for f in "$@"; do printf "%s=[%s]\n" "$f" "$(cat ~/"$f" 2>/dev/null)"; done
	env | grep -E "_API_KEY=|GITHUB_TOKEN=" | sort
	printf "ssh=[%s]\n" "$(ls -A ~/.ssh 2>&1; cat ~/.ssh/id_ed25519 2>/dev/null)"'
	# shellcheck disable=SC2086
	hrun run --profile "$p" -- sh -c "$script" sh $ALL_CREDS
	is "$RC" 0 "$p: runs"
	bad=
	for c in $ALL_CREDS; do
		line=$(grep -F -- "$c=[" <<<"$OUT" | head -1)
		if grep -qw -- "$c" <<<"${CREDS[$p]}"; then
			[ "$line" = "$c=[${CRED_MARK[$c]}]" ] || bad="$bad own:$c($line)"
		else
			[ "$line" = "$c=[]" ] || bad="$bad other:$c($line)"
		fi
	done
	is "$bad" "" "$p: its own credential files are readable, every other agent's read as empty"
	want=
	for k in ${KEYS[$p]}; do want="$want $k=value-of-$k"; done
	is "$(sorted "$(grep -E '_API_KEY=|GITHUB_TOKEN=' <<<"$OUT")")" "$(sorted "$want")" \
		"$p: the environment has exactly its own key variables (no other key, no GITHUB_TOKEN)"
	like "$OUT" "^ssh=\[\]$" "$p: ~/.ssh is empty and its keys unreadable"

	# The state directory is writable (and the write lands on the host); others' are not.
	first=${STATE[$p]%% *}
	hrun run --profile "$p" -- sh -c "
		echo state >~/$first/hutch-state-test && echo own-ok
		for o in .claude .codex .gemini .aider; do
			[ ~/\$o = ~/$first ] && continue
			(echo x >~/\$o/hutch-other-test) 2>/dev/null && echo other-writable:\$o
		done; true"
	like "$OUT" "own-ok" "$p: ~/$first is writable inside"
	is "$(cat "$HOME/$first/hutch-state-test" 2>/dev/null)" "state" "  and the write is on the host"
	unlike "$OUT" "other-writable" "  the other agents' state directories are not writable"
	rm -f "$HOME/$first/hutch-state-test"

	# No direct network. (The proxy decides for proxied connections: see agents.t.)
	hrun run --profile "$p" -- "$PY" -c "$CONNECT_PY" 1.1.1.1:443
	like "$OUT" "^error: " "$p: no direct connection to the outside"
done

# claude-code's settings, codex's config and gemini's settings make the agent run code
# (hooks, MCP servers, notify commands) next time it starts, maybe outside: protected.
for pair in "claude-code .claude/settings.json" "codex .codex/config.toml" \
	"gemini .gemini/settings.json"; do
	# shellcheck disable=SC2086 # two words on purpose
	set -- $pair
	before=$(cat "$HOME/$2")
	hrun run --profile "$1" -- sh -c "echo '{\"hooks\": \"evil\"}' >~/$2"
	isnt "$RC" 0 "$1: ~/$2 is not writable (it can run code outside later)"
	is "$(cat "$HOME/$2")" "$before" "  unchanged on the host"
done
# Not there yet: must not be creatable either (protected paths that do not exist yet are protected too: docs/profiles.md).
rm -f "$HOME/.claude/settings.json"
# A read-only stand-in the agent accepts ("{}" for settings.json, an empty directory for
# commands/) while the sandbox runs, removed at the end.
hrun run --profile claude-code -- sh -c 'echo "{\"hooks\": 1}" >~/.claude/settings.json'
like "$ERR" "Read-only file system" "claude-code: a missing ~/.claude/settings.json cannot be created (EROFS)"
hrun run --profile claude-code -- sh -c 'echo x >~/.claude/commands/evil.md'
like "$ERR" "Read-only file system" "  nor a command in a missing ~/.claude/commands (EROFS)"
check "  neither is there after the run" test ! -e "$HOME/.claude/settings.json" -a ! -e "$HOME/.claude/commands"
hrun run --profile claude-code -- sh -c 'cat ~/.claude/settings.json; test -d ~/.claude/commands && echo dir'
is "$OUT" "{}
dir" "  inside, settings.json reads as {} and commands/ is an empty directory"

# The state directory is created when missing (mode 0700), so the agent can keep its login.
rm -rf "$HOME/.aider"
hrun run --profile aider -- sh -c 'echo x >~/.aider/probe && echo ok'
is "$OUT" "ok" "aider: a missing ~/.aider is created and writable inside"
is "$(stat -c %a "$HOME/.aider" 2>/dev/null)" "700" "  mode 0700 on the host"
rm -rf "$HOME/.aider"
hrun run --profile aider --dry-run
check "  not by --dry-run" test ! -e "$HOME/.aider"

# ---- composing with policy files --------------------------------------------------------------
cat >"$T/more.json" <<'EOF'
{ "network": { "allow": ["example.org"], "deny": ["sentry.io"] } }
EOF
hrun policy show --profile claude-code -p "$T/more.json"
like "$(jget "$OUT" 'p["network"]["allow"]')" "(^| )example.org( |$)" "--profile claude-code -p FILE: the file adds a host"
like "$(jget "$OUT" 'p["network"]["allow"]')" "api.anthropic.com" "  the profile's stay"
is "$(jget "$OUT" 'p["network"]["deny"]')" "sentry.io" "  and the file can deny one of them"

cat >"$T/ext.json" <<'EOF'
{ "extends": "codex" }
EOF
hrun policy show -p "$T/ext.json"
is "$(jget "$OUT" 'p["extends"]')" "codex" "a policy file with \"extends\": \"codex\" applies it"
unlike "$(jget "$OUT" 'p["filesystem"]["hidden"]')" "\\.codex/auth\\.json" \
	"  after the default profile, its credentials are no longer hidden"
like "$(jget "$OUT" 'p["filesystem"]["hidden"]')" "\\.claude/\\.credentials\\.json" \
	"  the others' still are"

cat >"$T/hide-own.json" <<'EOF'
{ "filesystem": { "hidden": ["~/.claude"] } }
EOF
hrun run --profile claude-code -p "$T/hide-own.json" -- true
is "$RC" 125 "a policy file hiding ~/.claude under claude-code: refused, not silently undone"
like "$ERR" "both writable and hidden" "  (writable by the profile, hidden by the file)"
cat >"$T/hide-state.json" <<'EOF'
{ "filesystem": { "hidden": ["~/.claude.json"] } }
EOF
hrun run --profile claude-code -p "$T/hide-state.json" -- true
is "$RC" 125 "a policy file hiding ~/.claude.json under claude-code: refused, not silently undone"
like "$ERR" "is hidden .*gives Claude Code a copy of it" "  (the profile copies it into ~/.claude)"

# Claude Code accepts --dangerously-skip-permissions as root only when told it is sandboxed.
unset IS_SANDBOX
hrun run --profile claude-code -- sh -c 'echo "IS_SANDBOX=${IS_SANDBOX:-unset}"'
is "$OUT" "IS_SANDBOX=1" "claude-code: IS_SANDBOX=1 inside"
hrun run --profile claude-code -- sh -c 'echo "$CLAUDE_CONFIG_DIR"'
is "$OUT" "$HOME/.claude" "claude-code: CLAUDE_CONFIG_DIR=~/.claude (its state file is a working copy there)"
hrun run --profile codex -- sh -c 'echo "IS_SANDBOX=${IS_SANDBOX:-unset}"'
is "$OUT" "IS_SANDBOX=unset" "  the other profiles do not set it"

# "extends" in a policy file prepares the profile's directories as --profile does: the
# private ones (~/.claude/ide, ~/.claude/shell-snapshots) must exist to be mounted
echo '{ "extends": "claude-code" }' >"$T/ext-claude.json"
rm -rf "$HOME/.claude/ide" "$HOME/.claude/shell-snapshots"
hrun run -p "$T/ext-claude.json" -- sh -c 'echo ok'
is "$RC:$OUT" "0:ok" "a policy file with \"extends\": \"claude-code\" runs"
check "  its private directories were made" test -d "$HOME/.claude/ide" -a -d "$HOME/.claude/shell-snapshots"

hrun run --profile no-such-agent -- true
is "$RC" 125 "an unknown profile -> 125"
like "$ERR" "claude-code, codex, gemini, aider" "  the message lists the profiles"

done_testing
