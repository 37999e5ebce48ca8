# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034
#
# tests/lib-agents.sh: the real agent CLIs for the tests that run them (agents.t,
# agents-api.t, agents-tty.t) and bench/agents.sh. Sourced after tests/lib.sh.
#
#   agents_install        Claude Code, Codex CLI and Gemini CLI from the npm registry into
#                         $AGENTS_CACHE (reused between runs); skip_all, with the reason,
#                         when the registry cannot be reached and nothing is cached yet
#                         (an environmental skip, also under HUTCH_MUST_WORK=1).
#   AGENT_BIN[PROFILE]    the installed binary for claude-code, codex, gemini.
#   start_mock_llm NAME [COMMAND]
#                         tests/helpers/mock-llm.py on the host's loopback; sets
#                         MOCK_PORT and MOCK_LOG (one JSON line per request).
#
#   HUTCH_AGENTS_CACHE    the npm prefix to use (default: <test base>/agents)

AGENTS_PACKAGES="@anthropic-ai/claude-code @openai/codex @google/gemini-cli"
declare -A AGENT_BIN=()

_agents_installed() {
	local b
	for b in claude codex gemini; do
		[ -x "$AGENTS_CACHE/node_modules/.bin/$b" ] || return 1
	done
}

agents_install() {
	local base reach log
	command -v node >/dev/null && command -v npm >/dev/null ||
		skip_all "node and npm are needed to install the agents (apt-get install nodejs npm)"
	base=$(dirname "$T")
	AGENTS_CACHE=${HUTCH_AGENTS_CACHE:-$base/agents}
	# A complete cache is reused by anyone; an incomplete one only by its owner (the root
	# pass creates the shared one), anyone else installs into a cache of their own.
	if ! _agents_installed && ! { mkdir -p "$AGENTS_CACHE" 2>/dev/null && [ -w "$AGENTS_CACHE" ]; }; then
		AGENTS_CACHE=$base/agents-$(id -u)
	fi
	if ! _agents_installed; then
		mkdir -p "$AGENTS_CACHE" || skip_all "cannot create the agents cache $AGENTS_CACHE"
		# One install at a time (the root and unprivileged passes run in parallel).
		exec 9>"$AGENTS_CACHE/.lock"
		flock -w 600 9 || bail_out "the agents cache $AGENTS_CACHE stays locked"
		if ! _agents_installed; then
			if ! reach=$(timeout 30 npm ping --registry https://registry.npmjs.org 2>&1); then
				skip_all "the npm registry is unreachable from here (npm ping: $(tail -1 <<<"$reach"))"
			fi
			# shellcheck disable=SC2086
			if ! log=$(cd "$AGENTS_CACHE" && timeout 900 npm install --prefix "$AGENTS_CACHE" \
				--no-audit --no-fund --loglevel=error $AGENTS_PACKAGES 2>&1); then
				bail_out "npm install $AGENTS_PACKAGES failed: $(tail -5 <<<"$log")"
			fi
		fi
		chmod -R a+rX "$AGENTS_CACHE" 2>/dev/null
		exec 9>&-
		_agents_installed || bail_out "npm install left no claude/codex/gemini in $AGENTS_CACHE/node_modules/.bin"
	fi
	AGENT_BIN=([claude-code]=$AGENTS_CACHE/node_modules/.bin/claude
		[codex]=$AGENTS_CACHE/node_modules/.bin/codex
		[gemini]=$AGENTS_CACHE/node_modules/.bin/gemini)
	note "agents from $AGENTS_CACHE: $(cd "$AGENTS_CACHE" && npm ls --depth=0 2>/dev/null |
		grep -E 'claude-code|codex|gemini-cli' | tr -d '\n')"
}

start_mock_llm() {
	local name=$1
	shift
	rm -f "$T/mock.$name.port"
	: >"$T/mock.$name.log"
	"$PY" "$HUTCH_TESTS_DIR/helpers/mock-llm.py" "$T/mock.$name.port" "$T/mock.$name.log" "$@" &
	bg_register $!
	wait_for_file "$T/mock.$name.port" 10 || bail_out "the mock model API $name did not start"
	MOCK_PORT=$(cat "$T/mock.$name.port")
	MOCK_LOG=$T/mock.$name.log
}
