#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the sandbox names is shown escaped on the user's terminal: file names with ESC,
# a C1 control (U+009B, CSI), BEL and a newline in `hutch diff --name-status/--stat`,
# `hutch apply`'s report and `hutch log`; argv in `hutch log`; what the library's error
# messages quote (a file name given with -p). The patch itself stays
# byte-exact for git apply, and --json stays valid JSON carrying the exact names.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

sid_of() { sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$1" | tail -1; }

# raw_ctl FILE: "clean", or the control characters FILE holds (but newline and tab)
raw_ctl() {
	"$PY" - "$1" <<'PYEOF'
import sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
bad = sorted({c for c in t if (ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7f
              or 0x80 <= ord(c) <= 0x9f or 0xdc80 <= ord(c) <= 0xdc9f})
print("clean" if not bad else "raw: " + repr("".join(bad)))
PYEOF
}
save() { printf '%s\n' "$2" >"$T/$1"; }

L=$T/esc.jsonl
hrun run --ephemeral --audit "$L" -- sh -c '
	printf x > "$(printf "esc\033[31mX")"; printf x > "$(printf "c1\302\233Y")"
	printf x > "$(printf "bel\007")"; printf x > "nl
Z"; printf "%s" "$1" >/dev/null' sh "$(printf 'arg\033]0;title\007\302\233')"
is "$RC" 0 "a session creating hostile names"
SID=$(sid_of "$ERR")
like "$SID" '^[0-9a-f]{8}$' "  its session ($SID)"
save run.err "$ERR"
is "$(raw_ctl "$T/run.err")" clean "the run's summary has no raw control characters"

hrun diff --name-status "$SID"
is "$RC" 0 "hutch diff --name-status"
save ns "$OUT"
is "$(raw_ctl "$T/ns")" clean "  no raw control characters"
is "$(wc -l <"$T/ns")" 4 "  one line per file (the newline in a name is escaped)"
like "$OUT" '^A	"esc\\x1b\[31mX"$' "  ESC shown as \\x1b"
like "$OUT" '^A	"c1\\xc2\\x9bY"$' "  the C1 control as \\xc2\\x9b"
like "$OUT" '^A	"bel\\x07"$' "  BEL as \\x07"
like "$OUT" '^A	"nl\\nZ"$' "  the newline as \\n"

hrun diff --stat "$SID"
save stat "$OUT"
is "$(raw_ctl "$T/stat")" clean "hutch diff --stat: no raw control characters"

hrun diff "$SID"
printf '%s\n' "$OUT" >"$T/patch"
git -C "$WS" apply --check "$T/patch"
ok $? "the patch (not a terminal) is what git apply takes"

hrun diff --json "$SID"
is "$("$PY" -c '
import json, sys, base64
d = json.loads(sys.stdin.buffer.read())
print(sorted(base64.b64decode(c["pathBase64"]) if "pathBase64" in c else c["path"].encode()
             for c in d["changes"]))' <<<"$OUT" 2>&1)" \
	"[b'bel\\x07', b'c1\\xc2\\x9bY', b'esc\\x1b[31mX', b'nl\\nZ']" \
	"hutch diff --json: valid JSON with the exact names"
save json "$OUT"
is "$(raw_ctl "$T/json")" clean "  with no raw control characters either"

hrun apply -v "$SID"
is "$RC" 0 "hutch apply"
save apply "$OUT$ERR"
is "$(raw_ctl "$T/apply")" clean "  its report has no raw control characters"
like "$OUT" '^applied A "esc\\x1b\[31mX"$' "  and shows the names escaped"
ok "$(test -e "$WS/$(printf 'c1\302\233Y')"; echo $?)" "  the file with the C1 name is applied as named"

hrun log "$L"
is "$RC" 0 "hutch log"
save log "$OUT"
is "$(raw_ctl "$T/log")" clean "  no raw control characters"
like "$OUT" 'esc\\x1b\[31mX' "  the file names escaped"
like "$OUT" "\\\$'arg\\\\x1b\]0;title\\\\x07\\\\xc2\\\\x9b'" "  the argument escaped, shell-quoted"

rm -f "$WS"/esc* "$WS"/c1* "$WS"/bel* "$WS"/nl*

# The library's messages quote what they were given: shown escaped (cli_error).
hrun run -p "$(printf '%s/no\033]0;title\007such' "$T")" -- true
is "$RC" 125 "hutch run -p NAME with ESC and BEL in NAME: refused"
save perr "$ERR"
is "$(raw_ctl "$T/perr")" clean "  the message has no raw control characters"
like "$ERR" 'no\\x1b\]0;title\\x07such: cannot open' "  and names the file escaped"
done_testing
