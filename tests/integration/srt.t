#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Anthropic sandbox-runtime settings: `hutch policy import-srt FILE` prints the equivalent
# hutch policy (what it cannot honour on stderr), `hutch run --srt-settings FILE` applies it
# (and refuses settings hutch would enforce less for). The mapping table itself is tested in
# tests/unit/test-srt.c; this checks the command line and the effect inside the sandbox.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

S=$T/srt
mkdir "$S" "$T/extra"
echo "workspace config" >"$WS/config.json"

# json_eq A B: the two JSON texts are equal as values.
json_eq() {
	"$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2"
}

# ---- import-srt --------------------------------------------------------------------------
cat >"$S/settings.json" <<EOF
{
  "network": {
    "allowedDomains": ["github.com", "*.npmjs.org"],
    "deniedDomains": ["gist.github.com"]
  },
  "filesystem": {
    "denyRead": ["~/notes.txt"],
    "allowWrite": [".", "$T/extra", "/tmp"],
    "denyWrite": ["config.json"]
  },
  "credentials": {
    "envVars": [{"name": "HUTCH_T_PLAIN", "mode": "deny"}]
  }
}
EOF
hrun policy import-srt "$S/settings.json"
is "$RC" 0 "import-srt exits 0"
json_eq "$OUT" '{"filesystem": {"writable": ["'"$T"'/extra"], "hidden": ["~/notes.txt"],
  "protected": ["config.json"]},
  "network": {"mode": "proxy", "allow": ["github.com", "*.npmjs.org"], "deny": ["gist.github.com"]},
  "env": {"drop": ["HUTCH_T_PLAIN"]}}'
ok $? "  prints the equivalent hutch policy"
like "$ERR" 'settings\.json:8:[0-9]+: filesystem\.allowWrite\[2\]: "/tmp": hutch gives the sandbox a private' \
	"  and says on stderr what it does not map (the host's /tmp), with file:line:col"
unlike "$ERR" "NOT ENFORCED" "  nothing here is enforced less than by srt"
printf '%s\n' "$OUT" >"$S/converted.json"
hrun policy validate "$S/converted.json"
is "$RC" 0 "the printed policy is a valid hutch policy file"

cat >"$S/typo.json" <<'EOF'
{
  "filesystem": {
    "denyRaed": ["~/.ssh"]
  }
}
EOF
hrun policy import-srt "$S/typo.json"
is "$RC" 125 "an unknown srt key (denyRaed) is an error, not ignored"
like "$ERR" 'typo\.json:3:5: unknown key "denyRaed" in "filesystem"' "  with file:line:col"
is "$OUT" "" "  and no policy printed"

hrun policy import-srt "$S/missing.json"
is "$RC" 125 "a missing file -> 125"
like "$ERR" "missing\\.json" "  named"

# ---- run --srt-settings: the mapped policy is in force ------------------------------------
export HUTCH_T_PLAIN=plain-value-visible HUTCH_T_OTHER=other-visible
echo "other-home-file" >"$HOME/other.txt"
hrun run --srt-settings "$S/settings.json" -- sh -c '
	echo "notes=[$(cat ~/notes.txt 2>/dev/null)] other=[$(cat ~/other.txt)]"
	echo x >"'"$T"'/extra/w" && echo extra-writable
	(echo x >>config.json) 2>/dev/null || echo config-protected
	echo x >new-file && echo workspace-writable
	echo "plain=${HUTCH_T_PLAIN:-unset} other=${HUTCH_T_OTHER:-unset}"'
is "$RC" 0 "run --srt-settings runs the command"
like "$OUT" "notes=\[\] other=\[other-home-file\]" \
	"  denyRead ~/notes.txt: hidden inside (empty), the rest of home visible"
unlike "$OUT" "hutch-visible-note" "  (its content does not appear)"
like "$OUT" "extra-writable" "  allowWrite $T/extra: writable inside"
is "$(cat "$T/extra/w" 2>/dev/null)" "x" "  and the write reached the host"
like "$OUT" "config-protected" "  denyWrite config.json: not writable"
is "$(cat "$WS/config.json")" "workspace config" "  and unchanged on the host"
like "$OUT" "workspace-writable" "  allowWrite \".\": the workspace stays writable"
like "$OUT" "plain=unset other=other-visible" \
	"  credentials.envVars deny: that variable is dropped, others pass"
like "$ERR" 'warning: .*allowWrite\[2\]: "/tmp"' "  the notes are printed as warnings"

hrun run -q --srt-settings "$S/settings.json" -- true
is "$ERR" "" "  -q: no warnings"

hrun run --srt-settings "$S/settings.json" --dry-run
is "$RC" 0 "--dry-run with --srt-settings"
like "$(words "$OUT")" '"mode": "proxy", "allow": \[ "github.com", "\*.npmjs.org" \]' \
	"  network mode proxy with the allowed domains"
like "$(words "$OUT")" '"deny": \[ "gist.github.com" \]' "  and the denied one"

cat >"$S/nonet.json" <<'EOF'
{"network": {"allowedDomains": [], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": []}}
EOF
hrun run --srt-settings "$S/nonet.json" --dry-run
like "$(words "$OUT")" '"mode": "none"' "empty allowedDomains: network mode none"
hrun run --srt-settings "$S/nonet.json" -- "$PY" -c "$CONNECT_PY" 1.1.1.1:443
like "$OUT" "^error: " "  and no connection gets out"

# Later sources still win, as for -p files: the command-line flags come after.
hrun run --srt-settings "$S/nonet.json" -a example.org --dry-run
like "$(words "$OUT")" '"mode": "proxy", "allow": \[ "example.org" \]' \
	"  -a after --srt-settings: proxy with that domain"

# ---- settings hutch would enforce less for are refused -------------------------------------
cat >"$S/weaker.json" <<'EOF'
{
  "network": {"allowedDomains": ["github.com"], "deniedDomains": []},
  "filesystem": {"denyRead": ["**/.env"], "allowWrite": ["."], "denyWrite": []}
}
EOF
hrun run --srt-settings "$S/weaker.json" -- echo ran
is "$RC" 125 "a glob in denyRead (hutch cannot hide it) -> 125"
is "$OUT" "" "  the command did not run"
like "$ERR" 'hutch: .*weaker\.json:3:[0-9]+: filesystem\.denyRead\[0\]: NOT ENFORCED' \
	"  the message names the setting with file:line:col"
like "$ERR" "hint: .*import-srt" "  and the hint says how to go on"

hrun policy import-srt "$S/weaker.json"
is "$RC" 0 "import-srt still converts it (the user decides)"
like "$ERR" "NOT ENFORCED" "  reporting it as not enforced"

cat >"$S/readonly-ws.json" <<'EOF'
{"network": {"allowedDomains": [], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": ["src"], "denyWrite": []}}
EOF
hrun run --srt-settings "$S/readonly-ws.json" -- echo ran
is "$RC" 125 "allowWrite without \".\" (srt: the directory is read-only) -> 125"
like "$ERR" '"\." is not listed' "  explained"

done_testing
