#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two runs of one agent profile at once (docs/profiles.md, "Runs at once"): they share the
# agent's working copy as two agents share their state outside. The second run joins the
# first's working copy (it is not made afresh from the host's file under the first one's
# feet), the run that ends first carries back what it may and leaves the copy to the
# other, the last one removes it; the host's file gets both runs' changes. A run killed with
# SIGKILL holds nothing: the next run starts afresh from the host's file. A named session
# keeps the working copy from hutch run --name to hutch stop, which carries it back.
# shellcheck source=tests/lib.sh disable=SC2016,SC2119
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

jget() {
	"$PY" -c 'import json,sys
p=json.load(open(sys.argv[1]))
print(json.dumps(p.get(sys.argv[2])))' "$1" "$2"
}

mkdir -p "$HOME/.claude"
printf '{"numStartups": 3, "userID": "host-user"}\n' >"$HOME/.claude.json"
COPY=$HOME/.claude/.claude.json

# save KEY: set KEY true in the working copy, the way Claude Code saves (temporary, rename)
SAVE='import json, os, sys
p = os.environ["CLAUDE_CONFIG_DIR"] + "/.claude.json"
d = json.load(open(p))
print("saw", json.dumps(d.get(sys.argv[2])))
d[sys.argv[1]] = True
open(p + ".tmp", "w").write(json.dumps(d))
os.rename(p + ".tmp", p)'
# run A: saves, says so, waits for the test's word, then reads the copy again
RUN_A=$SAVE'
import time
open("a-ready", "w").close()
while not os.path.exists("b-done"):
    time.sleep(0.02)  # the test creates it once run B is over
print("after", json.dumps(json.load(open(p)).get("bypassPermissionsModeAccepted")))'

rm -f a-ready b-done
hrun_bg run --profile claude-code -- "$PY" -c "$RUN_A" hasCompletedOnboarding none
wait_for_file "$WS/a-ready" || fail "run A saved its state"
hrun run --profile claude-code -- "$PY" -c "$SAVE" bypassPermissionsModeAccepted hasCompletedOnboarding
is "$RC" 0 "run B, while A runs: exit 0"
is "$OUT" "saw true" "  B sees A's unsaved state: it joined A's working copy"
is "$(jget "$HOME/.claude.json" hasCompletedOnboarding)" true \
	"  B's end carried back what A set (one shared copy)"
is "$(jget "$HOME/.claude.json" bypassPermissionsModeAccepted)" true "  and what B set"
check "  the working copy is still there for A" test -f "$COPY"
touch b-done
wait_hutch
is "$RC" 0 "run A ends: exit 0"
like "$OUT" "after true" "  A still had its working copy after B ended, with B's change"
is "$(jget "$HOME/.claude.json" userID)" '"host-user"' "  the host's other keys are unchanged"
is "$(jget "$HOME/.claude.json" hasCompletedOnboarding)" true "  both changes are in the host's file"
check "  the last run removed the working copy" test ! -e "$COPY"
rm -f a-ready b-done

# ---- a run killed with SIGKILL leaves no share behind ----------------------------------------
printf '{"numStartups": 3, "userID": "host-user"}\n' >"$HOME/.claude.json"
hrun_bg run --profile claude-code -- "$PY" -c "$RUN_A" hasCompletedOnboarding none
wait_for_file "$WS/a-ready" || fail "run A saved its state"
kill -KILL "$HPID"
wait_hutch
hrun run --profile claude-code -- "$PY" -c "$SAVE" numStartups hasCompletedOnboarding
is "$OUT" "saw null" "after a run was killed, the next one starts from the host's file"
check "  and, the last one, removes the working copy" test ! -e "$COPY"
rm -f a-ready b-done

# ---- a named session: the working copy lives as long as the session ----------------------------
printf '{"numStartups": 3, "userID": "host-user", "mcpServers": {}}\n' >"$HOME/.claude.json"
name=agents-$$-$RANDOM
trap '"$HUTCH" stop "$name" >/dev/null 2>&1; _t_cleanup' EXIT
hrun run --name "$name" --profile claude-code -- "$PY" -c "$SAVE" hasCompletedOnboarding none
is "$RC" 0 "hutch run --name --profile claude-code: the first command saved its state"
hrun exec "$name" -- "$PY" -c "$SAVE" bypassPermissionsModeAccepted hasCompletedOnboarding
is "$OUT" "saw true" "  hutch exec: a later command sees it (the session's working copy)"
hrun exec "$name" -- "$PY" -c 'import json, os
p = os.environ["CLAUDE_CONFIG_DIR"] + "/.claude.json"
d = json.load(open(p)); d["mcpServers"] = {"e": {"command": "/bin/evil"}}
open(p + ".tmp", "w").write(json.dumps(d)); os.rename(p + ".tmp", p)'
is "$(jget "$HOME/.claude.json" hasCompletedOnboarding)" null "  nothing is carried back while it runs"
hrun stop "$name"
is "$RC" 0 "hutch stop"
is "$(jget "$HOME/.claude.json" hasCompletedOnboarding)" true "  carried back at hutch stop"
is "$(jget "$HOME/.claude.json" bypassPermissionsModeAccepted)" true "  with every command's changes"
is "$(jget "$HOME/.claude.json" mcpServers)" "{}" "  an MCP server added inside is not"
like "$ERR" "mcpServers was changed in the sandbox and not carried back" "  and hutch stop says so"
check "  the working copy is gone" test ! -e "$COPY"

done_testing
