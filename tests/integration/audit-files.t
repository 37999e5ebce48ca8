#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# File events of a long session are written while it runs (every HUTCH_AUDIT_FLUSH_MS,
# 10 s), not only at its end, and each change once: a change seen by a periodic
# comparison is not reported again by the final one.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

L=$T/files.jsonl
rm -f "$WS/go"
# The session writes a file, then waits for the test's "go" (made on the host, in the
# workspace), then writes a second one: the first file's event must be in the log before.
hrun_bg run -q --audit "$L" -- sh -c \
	'echo x >made.txt; while [ ! -e go ]; do sleep 0.2; done; echo y >late.txt'

seen=0
for ((i = 0; i < 400; i++)); do # up to 40 s: the comparison runs every 10 s
	if [ -e "$L" ] && grep -q '"file.path":"[^"]*/made.txt"' "$L"; then
		seen=1
		break
	fi
	_t_alive "$HPID" "$_T_HPID_START" || break
	sleep 0.1
done
is "$seen" 1 "the file event is in the log while the session runs"
_t_alive "$HPID" "$_T_HPID_START"
ok $? "  the session was still running when the log was read"
! grep -q '"event":"end"' "$L"
ok $? "  no end event yet"
touch "$WS/go"
wait_hutch 30
is "$RC" 0 "the session ended normally"

count() { # PATH-SUFFIX: file events of that path
	"$PY" - "$L" "$1" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], "rb")]
print(sum(1 for e in ev if e["event"] == "file" and e["file.path"].endswith("/" + sys.argv[2])))
PYEOF
}
is "$(count made.txt)" 1 "made.txt reported once (not again at the end)"
is "$(count late.txt)" 1 "late.txt, written after the last comparison, reported at the end"
is "$("$PY" -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])][-1]
print(e["event"], e["files"]["complete"], e["files"]["created"])' "$L")" "end True 3" \
	"end: complete, 3 created (made.txt, go, late.txt)"
rm -f "$WS/go" "$WS/made.txt" "$WS/late.txt"

done_testing
