#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real agents under their profiles: Claude Code, Codex CLI and Gemini CLI installed from
# the npm registry into a cache directory (reused between runs), then each run under its
# profile: --version and --help work, its state directory is writable (and created when
# missing), ~/.ssh is invisible, and a destination outside its allowlist is refused. No API
# calls are made. Skipped, with the reason, only when the registry cannot be reached and
# nothing is cached yet.
# The installation: tests/lib-agents.sh.
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# shellcheck source=tests/lib-agents.sh
. "$HUTCH_TESTS_DIR/lib-agents.sh"
agents_install
CACHE=$AGENTS_CACHE

declare -A STATE=([claude-code]=.claude [codex]=.codex [gemini]=.gemini)

# The cache is under the test base, which the sandbox sees read-only: the binaries run inside.
HUTCH_TEST_TIMEOUT=90

for p in claude-code codex gemini; do
	b=${AGENT_BIN[$p]}
	s=${STATE[$p]}
	rm -rf "${HOME:?}/$s"

	hrun run --profile "$p" -- "$b" --version
	is "$RC" 0 "$p: $(basename "$b") --version exits 0 inside the sandbox"
	like "$OUT" "[0-9]+\.[0-9]+\.[0-9]+" "  and prints a version"
	check "  its state directory ~/$s was created (mode 0700)" \
		test "$(stat -c %a "$HOME/$s" 2>/dev/null)" = 700

	hrun run --profile "$p" -- "$b" --help
	is "$RC" 0 "$p: $(basename "$b") --help exits 0"
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
	# directly: no route out, or (transparent egress, docs/network.md) redirected to hutch,
	# which refuses the IP literal and resets the connection before a byte goes anywhere.
	hrun run --profile "$p" -- node -e '
		const s = require("net").connect({host: "93.184.215.14", port: 443});
		s.setTimeout(5000, () => { console.log("timeout"); process.exit(0); });
		s.on("connect", () => s.write("GET / HTTP/1.0\r\n\r\n"));
		s.on("data", () => { console.log("DATA"); process.exit(0); });
		s.on("end", () => { console.log("closed"); process.exit(0); });
		s.on("error", (e) => { console.log("refused " + e.code); process.exit(0); });'
	like "$OUT" "^(refused|timeout|closed)" "$p: a direct connection from node does not get out"
	unlike "$OUT" "DATA" "  (nothing came back)"

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
