#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real agents under their profiles: Claude Code, Codex CLI and Gemini CLI installed from
# the npm registry into a cache directory (reused between runs), then each run under its
# profile: --version and --help work, its state directory is writable (and created when
# missing), ~/.ssh is invisible, and a destination outside its allowlist is refused. No API
# calls are made. Skipped, with the reason, only when the registry cannot be reached and
# nothing is cached yet.
#
#   HUTCH_AGENTS_CACHE   the npm prefix to use (default: <test base>/agents)
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

command -v node >/dev/null && command -v npm >/dev/null ||
	skip_all "node and npm are needed to install the agents (apt-get install nodejs npm)"

PACKAGES="@anthropic-ai/claude-code @openai/codex @google/gemini-cli"
declare -A BIN=([claude-code]=claude [codex]=codex [gemini]=gemini)
declare -A STATE=([claude-code]=.claude [codex]=.codex [gemini]=.gemini)

base=$(dirname "$T")
CACHE=${HUTCH_AGENTS_CACHE:-$base/agents}

installed() {
	local b
	for b in claude codex gemini; do
		[ -x "$CACHE/node_modules/.bin/$b" ] || return 1
	done
}

# A complete cache is reused by anyone; an incomplete one only by its owner (the root pass
# creates the shared one), anyone else installs into a cache of their own.
if ! installed && ! { mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ]; }; then
	CACHE=$base/agents-$(id -u)
fi
if ! installed; then
	mkdir -p "$CACHE" || skip_all "cannot create the agents cache $CACHE"
	# One install at a time (the root and unprivileged passes run in parallel).
	exec 9>"$CACHE/.lock"
	flock -w 600 9 || bail_out "the agents cache $CACHE stays locked"
	if ! installed; then
		if ! reach=$(timeout 30 npm ping --registry https://registry.npmjs.org 2>&1); then
			skip_all "the npm registry is unreachable from here (npm ping: $(tail -1 <<<"$reach"))"
		fi
		# shellcheck disable=SC2086
		if ! log=$(cd "$CACHE" && timeout 900 npm install --prefix "$CACHE" --no-audit --no-fund \
			--loglevel=error $PACKAGES 2>&1); then
			bail_out "npm install $PACKAGES failed: $(tail -5 <<<"$log")"
		fi
	fi
	chmod -R a+rX "$CACHE" 2>/dev/null
	exec 9>&-
	installed || bail_out "npm install left no claude/codex/gemini in $CACHE/node_modules/.bin"
fi
note "agents from $CACHE: $(cd "$CACHE" && npm ls --depth=0 2>/dev/null | grep -E 'claude-code|codex|gemini-cli' | tr -d '\n')"

# The cache is under the test base, which the sandbox sees read-only: the binaries run inside.
HUTCH_TEST_TIMEOUT=90

for p in claude-code codex gemini; do
	b=$CACHE/node_modules/.bin/${BIN[$p]}
	s=${STATE[$p]}
	rm -rf "${HOME:?}/$s"

	hrun run --profile "$p" -- "$b" --version
	is "$RC" 0 "$p: ${BIN[$p]} --version exits 0 inside the sandbox"
	like "$OUT" "[0-9]+\.[0-9]+\.[0-9]+" "  and prints a version"
	check "  its state directory ~/$s was created (mode 0700)" \
		test "$(stat -c %a "$HOME/$s" 2>/dev/null)" = 700

	hrun run --profile "$p" -- "$b" --help
	is "$RC" 0 "$p: ${BIN[$p]} --help exits 0"
	like "$OUT" "[Uu]sage" "  and prints its usage"

	hrun run --profile "$p" -- sh -c "
		echo probe >~/$s/hutch-probe && echo state-writable
		printf 'ssh=[%s]\n' \"\$(ls -A ~/.ssh; cat ~/.ssh/id_ed25519 2>/dev/null)\"
		(echo x >~/hutch-home-probe) 2>/dev/null && echo home-writable; true"
	like "$OUT" "state-writable" "$p: ~/$s is writable inside"
	is "$(cat "$HOME/$s/hutch-probe" 2>/dev/null)" "probe" "  the write is on the host"
	like "$OUT" "^ssh=\[\]$" "$p: ~/.ssh is empty inside"
	unlike "$OUT" "home-writable" "  and the rest of \$HOME is not writable"

	# A destination outside the allowlist. The agent's own runtime (node) connecting
	# directly: no route out, whatever the proxy does.
	hrun run --profile "$p" -- node -e '
		const s = require("net").connect({host: "93.184.215.14", port: 443});
		s.setTimeout(5000, () => { console.log("timeout"); process.exit(0); });
		s.on("connect", () => { console.log("CONNECTED"); process.exit(0); });
		s.on("error", (e) => { console.log("refused " + e.code); process.exit(0); });'
	like "$OUT" "^(refused|timeout)" "$p: a direct connection from node does not get out"
	unlike "$OUT" "CONNECTED" "  (not connected)"

	# Through the proxy variables the sandbox sets (once the proxy is in place): a host
	# outside the allowlist is refused by the proxy, an allowed one would be tunnelled.
	hrun run --profile "$p" -- sh -c 'echo "proxy=${HTTPS_PROXY:-${https_proxy:-}}"'
	if [ "$OUT" != "proxy=" ] && command -v curl >/dev/null; then
		hrun run --profile "$p" -- curl -sS -m 10 -o /dev/null -w 'code=%{http_code} connect=%{http_connect}\n' https://example.com/
		isnt "$RC" 0 "$p: curl https://example.com through the proxy fails"
		like "$OUT$ERR" "connect=(403|405|407|5[0-9][0-9])|CONNECT tunnel failed|denied|refused" \
			"  the proxy refuses the tunnel"
	else
		hrun run --profile "$p" -- sh -c 'command -v curl >/dev/null && curl -sS -m 5 -o /dev/null https://example.com/; echo rc=$?'
		unlike "$OUT" "^rc=0$" "$p: curl https://example.com fails (no proxy in this build: no network at all)"
	fi
done

# Claude Code's own failure when its API is out of reach is a clean message, not a hang.
if command -v script >/dev/null; then
	echo '{}' >"$HOME/.claude.json" # lib.sh's fake secret there is not JSON
	out=$(TERM=xterm timeout -k 5 60 script -qec \
		"$HUTCH run --profile claude-code --net none -- $CACHE/node_modules/.bin/claude" /dev/null </dev/null 2>&1)
	st=$?
	isnt "$st" 124 "claude-code with --net none: claude exits by itself (no hang)"
	like "$(tr -d '\r' <<<"$out")" "Unable to connect|Failed to connect|ECONNREFUSED|ENOTFOUND|network" \
		"  saying it cannot reach its API"
fi

done_testing
