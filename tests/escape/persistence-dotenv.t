#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Persistence through ".env" files that agents load by themselves: aider reads the git root's
# and the current directory's .env at every start, Gemini CLI the first .env from the
# current directory up, and both hand the variables to every program they start. A
# LD_PRELOAD, NODE_OPTIONS, aider lint command or Gemini settings path planted there from
# inside runs code outside later. Each attack is done inside; the proof is on the host
# afterwards with a real dotenv reader that starts a program as the agents do (node
# --env-file, then a child process): the planted library never runs, stderr says what was
# removed, the quarantine holds the original. The project's own variables are kept, and
# with --ephemeral hutch apply refuses such a .env unless --include-protected.
#
# Layer under test: the end-of-run check (src/lib/audit/gitguard.c, src/lib/audit/dotenv.c)
# and its rule in hutch apply (src/lib/session/changes.c).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

command -v node >/dev/null || skip_all "node is not installed (the real dotenv reader)"
command -v cc >/dev/null || skip_all "no C compiler to build the planted library"
MARK=$T/dotenv-code-ran
Q=$XDG_STATE_HOME/hutch/quarantine
# The planted library: it leaves $MARK when any program loads it.
printf '#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void m(void) { close(open("%s", O_CREAT | O_WRONLY, 0600)); }\n' \
	"$MARK" >"$T/mark.c"
cc -shared -fPIC -o "$T/mark.so" "$T/mark.c" || bail_out "cannot build the planted library"
chmod 755 "$T" "$T/mark.so"

# agent_start DIR: what aider and Gemini CLI do at start in DIR, with a real dotenv reader:
# load .env, then start a program (git, a linter, an MCP server) with that environment.
agent_start() {
	(cd "$1" && node --env-file=.env -e 'require("child_process").execFileSync("/bin/true")
		console.log(["LD_PRELOAD","NODE_OPTIONS","AIDER_LINT_CMD","PYTHONPATH","GIT_SSH_COMMAND",
		"GEMINI_CLI_SYSTEM_SETTINGS_PATH","DB","GEMINI_API_KEY"].map(k => k + "=" + (process.env[k] ?? "")).join(" "))' 2>&1)
}

# ---- an existing .env rewritten inside ------------------------------------------------------
printf 'DB=1\n' >"$WS/.env"
hrun run -- sh -c "printf 'DB=2\nexport LD_PRELOAD=$T/mark.so\nA=\"multi\n  NODE_OPTIONS=--require=/x\n\"\nexport   AIDER_LINT_CMD: touch /x\n'\"'\"'PYTHONPATH'\"'\"'=/x\nX=1\rGIT_SSH_COMMAND=/x\nGEMINI_API_KEY=k\n' >.env && echo planted"
is "$OUT" planted "inside: .env rewritten with LD_PRELOAD and friends"
rm -f "$MARK"
res=$(agent_start "$WS")
check "  the user's next agent start loads no planted library" test ! -e "$MARK"
like "$res" "LD_PRELOAD= NODE_OPTIONS= AIDER_LINT_CMD= PYTHONPATH= GIT_SSH_COMMAND=" \
	"  none of the planted variables is set (a quoted key, a multi-line value, a CR line)"
like "$res" "DB=2 GEMINI_API_KEY=k" "  the project's own variables are kept"
like "$ERR" "removed LD_PRELOAD, NODE_OPTIONS, AIDER_LINT_CMD, PYTHONPATH, GIT_SSH_COMMAND from $WS/.env" \
	"  stderr names what was removed"
q=$(find "$Q" -path "*$WS/.env" 2>/dev/null | head -1)
like "$(cat "$q" 2>/dev/null)" "LD_PRELOAD=$T/mark.so" "  the quarantine holds the original"
like "$ERR" "restore with: mv -- '$Q/" "  and stderr says how to undo it"

# ---- a new .env deeper down, a link, a link's target --------------------------------------
printf 'DB=1\n' >"$WS/real.env"
ln -s real.env "$WS/linked"
mkdir -p "$WS/lk"
ln -s ../real.env "$WS/lk/.env"
sleep 0.1 # older than the run by more than the check's margin (a few clock ticks)
hrun run -- sh -c "mkdir -p sub/deeper && printf 'GEMINI_CLI_SYSTEM_SETTINGS_PATH=/x\nLD_PRELOAD=$T/mark.so\n' >sub/deeper/.env &&
	mkdir -p s2 s3 && ln -s ../planted.env s2/.env && printf 'LD_PRELOAD=$T/mark.so\n' >planted.env &&
	ln -s ../s2/.env s3/.env && printf 'LD_PRELOAD=$T/mark.so\n' >>real.env && echo planted"
is "$OUT" planted "inside: a new .env in sub/deeper, new links s2/.env and s3/.env (a chain), the target of an older link written"
rm -f "$MARK"
agent_start "$WS/sub/deeper" >/dev/null
check "  a new .env deeper down: nothing planted runs" test ! -e "$MARK"
like "$ERR" "removed GEMINI_CLI_SYSTEM_SETTINGS_PATH, LD_PRELOAD from $WS/sub/deeper/.env" "  stderr names it"
rm -f "$MARK"
agent_start "$WS/s2" >/dev/null
check "  a .env link made inside: nothing planted runs" test ! -e "$MARK"
like "$ERR" "removed LD_PRELOAD from $WS/planted.env" "  its target is cleaned"
rm -f "$MARK"
agent_start "$WS/s3" >/dev/null
check "  a chain of links made inside: nothing planted runs" test ! -e "$MARK"
like "$ERR" "quarantined $WS/s3/.env" "  the chain's first link is moved away"
rm -f "$MARK"
agent_start "$WS/lk" >/dev/null
check "  an older link's target written inside: nothing planted runs" test ! -e "$MARK"
like "$ERR" "removed LD_PRELOAD from $WS/real.env" "  the target is cleaned"
check "  the older link stays" test -L "$WS/lk/.env"
rm -rf "$WS/sub" "$WS/s2" "$WS/s3" "$WS/lk" "$WS/planted.env" "$WS/real.env" "$WS/linked"

# ---- a directory named .env (a Python virtualenv) is still walked -----------------------
rm -f "$WS/.env"
hrun run -- sh -c "git init -q .env/pkg && printf '#!/bin/sh\ntouch $MARK\n' >.env/pkg/.git/hooks/pre-commit &&
	chmod +x .env/pkg/.git/hooks/pre-commit && echo planted"
is "$OUT" planted "inside: a repository with a hook in a directory named .env"
like "$ERR" "quarantined $WS/.env/pkg/.git/hooks/pre-commit" "  its hook is quarantined"
rm -rf "$WS/.env"

# ---- legitimate work is left alone ----------------------------------------------------------
printf 'DB=1\n' >"$WS/.env"
hrun run -- sh -c 'printf "DB=2\nAPI_BASE_URL=http://localhost:3000\nSECRET=x\n" >.env && echo done'
is "$OUT" "done" "inside: the project's .env edited with its own variables"
unlike "$ERR" "\\.env" "  nothing is reported"
is "$(cat "$WS/.env")" "$(printf 'DB=2\nAPI_BASE_URL=http://localhost:3000\nSECRET=x')" "  and the edit is there"

# ---- --ephemeral and hutch apply: the same rule ------------------------------------------
printf 'DB=1\n' >"$WS/.env"
hrun run --ephemeral -- sh -c "printf 'DB=3\nLD_PRELOAD=$T/mark.so\n' >.env && mkdir app && printf 'DB=4\n' >app/.env &&
	echo evil >app/AGENTS.override.md"
SID=$(sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$ERR" | tail -1)
isnt "$SID" "" "an ephemeral session with a planted .env"
hrun apply "$SID"
is "$RC" 1 "apply refuses it (exit 1)"
like "$ERR" "refused: .env: protected path" "  refused: .env"
like "$ERR" "refused: app/AGENTS.override.md: protected path" "  refused: app/AGENTS.override.md (an agent's personal instructions)"
is "$(cat "$WS/.env")" "DB=1" "  it is not applied"
is "$(cat "$WS/app/.env" 2>/dev/null)" "DB=4" "  a .env with the project's own variables is"
"$HUTCH" discard -q "$SID" 2>/dev/null
rm -rf "$WS/.env" "$WS/app"

done_testing
