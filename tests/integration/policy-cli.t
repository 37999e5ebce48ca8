#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Policy files on the command line: strict validation with file:line:column, policy
# validate / show, --dry-run, the user policy, and .hutch.json in the workspace (reported and
# ignored until `hutch trust`, pinned by content hash).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/policies
mkdir "$P"

# ---- a misspelt key is an error with file:line:column -------------------------------------
# "hiden" is on line 3; its opening quote is column 5 (1-based), its first letter column 6.
cat >"$P/bad.json" <<'JSON'
{
  "filesystem": {
    "hiden": ["~/.ssh"]
  }
}
JSON
hrun run -p "$P/bad.json" -- echo ran
is "$RC" 125 "run -p with a misspelt key ('hiden') -> 125"
is "$OUT" "" "  and the command did not run"
like "$ERR" "bad\\.json:3:(5|6)([^0-9]|$)" "  the message has bad.json:3:COL pointing at the key"
like "$ERR" "hiden" "  and names the key"
like "$ERR" "^hutch: " "  in the 'hutch: ...' form"

hrun policy validate "$P/bad.json"
is "$RC" 125 "policy validate on the same file -> 125"
like "$ERR" "bad\\.json:3:(5|6)([^0-9]|$)" "  with bad.json:3:COL"

# ---- other bad inputs ---------------------------------------------------------------------
cat >"$P/syntax.json" <<'JSON'
{
  "env": { "set": { "A": "b", } }
}
JSON
hrun policy validate "$P/syntax.json"
is "$RC" 125 "a JSON syntax error (trailing comma) -> 125"
like "$ERR" "syntax\\.json:2:[0-9]+" "  with syntax.json:2:COL"

cat >"$P/type.json" <<'JSON'
{
  "filesystem": {
    "hidden": "~/.ssh"
  }
}
JSON
hrun run -p "$P/type.json" -- true
is "$RC" 125 "a wrong type (string instead of a list) -> 125"
like "$ERR" "type\\.json:3:[0-9]+" "  with type.json:3:COL"
like "$ERR" "[Aa]rray|[Ll]ist" "  saying a list/array was expected"

cat >"$P/empty-path.json" <<'JSON'
{
  "filesystem": {
    "hidden": [""]
  }
}
JSON
hrun run -p "$P/empty-path.json" -- true
is "$RC" 125 "an empty path -> 125"
like "$ERR" "empty-path\\.json:3:[0-9]+" "  with empty-path.json:3:COL"

cat >"$P/top.json" <<'JSON'
{
  "filesystem": {},
  "netwrok": { "mode": "host" }
}
JSON
hrun run -p "$P/top.json" -- true
is "$RC" 125 "an unknown top-level key ('netwrok') -> 125"
like "$ERR" "top\\.json:3:[0-9]+" "  with top.json:3:COL"

cat >"$P/require.json" <<'JSON'
{
  "require": ["userns", "teleportation"]
}
JSON
hrun run -p "$P/require.json" -- echo ran
is "$RC" 125 "require with an unknown layer -> 125 (fail closed)"
is "$OUT" "" "  and the command did not run"
like "$ERR" "teleportation" "  the message names it"

hrun policy validate "$P/does-not-exist.json"
is "$RC" 125 "policy validate of a missing file -> 125"
like "$ERR" "does-not-exist\\.json" "  naming the file"

# ---- good files ------------------------------------------------------------------------------
cat >"$P/good.json" <<'JSON'
{
  "extends": "default",
  "require": ["userns"],
  "filesystem": {
    "readOnly": ["/"],
    "writable": ["~/.cache/pip"],
    "hidden": ["~/.ssh", "~/notes.txt"],
    "protected": [".git/hooks"]
  },
  "env": { "pass": ["*"], "drop": ["*_TOKEN"], "set": { "GOOD_POLICY": "yes" } }
}
JSON
hrun policy validate "$P/good.json"
is "$RC" 0 "policy validate on a good file -> 0"
hrun run -p "$P/good.json" -- sh -c 'echo "$GOOD_POLICY"; wc -c < ~/notes.txt'
is "$RC" 0 "run -p good.json works"
is "$(words "$OUT")" "yes 0" "  its env.set and filesystem.hidden apply"

# ---- policy show -----------------------------------------------------------------------------
hrun policy show
is "$RC" 0 "policy show exits 0"
printf '%s' "$OUT" | "$PY" -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null
ok $? "policy show prints valid JSON"
keys=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(d.keys())))
hidden = d.get("filesystem", {}).get("hidden", [])
print("ssh-hidden" if any(str(h).endswith("/.ssh") or str(h) == "~/.ssh" for h in hidden) else "ssh-not-hidden")
' 2>&1)
like "$keys" "(^| )filesystem( |$)" "policy show has a filesystem section"
bad_keys=$(head -1 <<<"$keys" | tr ' ' '\n' | grep -Ev '^[a-z][a-zA-Z0-9]*$')
is "$bad_keys" "" "  top-level keys are camelCase (as in docs/hutch-policy.5.scd)"
like "$keys" "ssh-hidden" "  its hidden list includes ~/.ssh (the default table)"

mkdir -p "$XDG_CONFIG_HOME/hutch"
cat >"$XDG_CONFIG_HOME/hutch/policy.json" <<'JSON'
{ "env": { "set": { "USER_POLICY_VAR": "from-user-policy" } } }
JSON
hrun policy show
like "$OUT" "USER_POLICY_VAR" "policy show includes the user policy (\$XDG_CONFIG_HOME/hutch/policy.json)"
hrun run -- env
like "$OUT" "^USER_POLICY_VAR=from-user-policy$" "hutch run applies the user policy"
# Hosts kept by --ask's "always" (the user policy's allow list, no mode) turn no network on.
net_mode() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["network"]["mode"])' "$1"; }
cat >"$XDG_CONFIG_HOME/hutch/policy.json" <<'JSON'
{ "network": { "allow": ["example.org"] } }
JSON
hrun policy show
is "$(net_mode "$OUT")" "none" "the user policy's allow list alone: mode stays none"
hrun run --dry-run -a example.com -- true
like "$OUT$ERR" "example.org" "  and applies when a run uses the proxy (-a)"
echo '{ "network": { "allow": ["example.org"] } }' >"$T/allow-only.json"
hrun policy show -p "$T/allow-only.json"
is "$(net_mode "$OUT")" "proxy" "  while a -p file's allow list asks for the proxy"
rm "$XDG_CONFIG_HOME/hutch/policy.json"

# ---- --dry-run -------------------------------------------------------------------------------
hrun run --dry-run -- touch "$WS/dry-run-marker"
is "$RC" 0 "--dry-run exits 0"
check "  and runs nothing" test ! -e "$WS/dry-run-marker"
like "$OUT$ERR" "filesystem" "  it prints the effective policy"
like "$OUT$ERR" "userns|landlock|seccomp" "  and the layers"

# ---- .hutch.json in the workspace ------------------------------------------------------------
cat >.hutch.json <<'JSON'
{
  "filesystem": { "writable": ["~"] },
  "env": { "set": { "PROJECT_VAR": "from-project" } }
}
JSON
hrun run -- sh -c 'echo "[$PROJECT_VAR]"; echo pwned > ~/pwned-by-project'
is "$OUT" "[]" "an untrusted .hutch.json is not applied (env.set)"
check "  nor does it make \$HOME writable" test ! -e "$HOME/pwned-by-project"
like "$ERR" "\\.hutch\\.json" "  hutch reports that it ignored .hutch.json"

hrun trust
is "$RC" 125 "hutch trust refuses a .hutch.json that makes \$HOME writable"
like "$ERR" "writable path .* is the home directory" "  saying why"
check "  and pins nothing" test ! -e "$HOME/.config/hutch/trusted"
cat >.hutch.json <<'JSON'
{
  "filesystem": { "writable": ["~/.cache/project-cache"] },
  "env": { "set": { "PROJECT_VAR": "from-project" } }
}
JSON
hrun trust
is "$RC" 0 "hutch trust (in the workspace) exits 0"
hrun run -- sh -c 'echo "[$PROJECT_VAR]"'
is "$OUT" "[from-project]" "after hutch trust, .hutch.json is applied"

sed -i 's/from-project/changed-later/' .hutch.json
hrun run -- sh -c 'echo "[$PROJECT_VAR]"'
unlike "$OUT" "changed-later" "a .hutch.json changed after trust is not applied (pinned by hash)"
like "$ERR" "\\.hutch\\.json" "  and hutch reports it"

hrun trust .hutch.json
is "$RC" 0 "hutch trust FILE exits 0"
hrun run -- sh -c 'echo "[$PROJECT_VAR]"'
is "$OUT" "[changed-later]" "  and the new content applies"
rm -f .hutch.json "$HOME/pwned-by-project"

done_testing
