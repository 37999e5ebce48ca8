#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit log tells the truth about execs: an exec whose file the kernel cannot reach
# (a path of PATH_MAX bytes or more, a symlink loop) is no "exec" event, and
# process.args_count is the real number of arguments even when only the first ones are
# kept (docs/audit.md).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

L=$T/exec.jsonl
# events EXPR: EXPR over the exec events `ev` of the log (python).
events() {
	"$PY" - "$L" "$1" <<'PYEOF'
import json, sys
ev = [e for e in (json.loads(l) for l in open(sys.argv[1], "rb")) if e["event"] == "exec"]
print(eval(sys.argv[2]))
PYEOF
}

ln -s loop-b "$WS/loop-a"
ln -s loop-a "$WS/loop-b"
hrun run -q --audit "$L" -- "$PY" -c '
import errno, os, sys
def attempt(path):
    try:
        os.execv(path, [path])
    except OSError as e:
        print(errno.errorcode[e.errno])
attempt("/" + "d/" * 2100 + "x")
attempt("./loop-a")
attempt(os.getcwd() + "/loop-b")
'
is "$RC" 0 "the attempts ran"
is "$(words "$OUT")" "ENAMETOOLONG ELOOP ELOOP" "each exec failed in the kernel (too long, symlink loop)"
is "$(events '[e.get("process.executable.path", "")[-6:] for e in ev if "loop" in str(e.get("process.executable.path")) or len(str(e.get("process.executable.path"))) >= 4096]')" \
	"[]" "no exec event for a too-long path or a symlink loop"
is "$(events 'len(ev)')" 1 "  only the exec that happened (python itself) is logged"

rm -f "$L"
hrun run -q --audit "$L" -- "$PY" -c 'import os; os.execv("/bin/true", ["true"] + ["a"] * 69999)'
is "$RC" 0 "an exec with 70000 arguments ran"
is "$(events '[e["process.args_count"] for e in ev if e.get("process.executable.name") == "true"]')" \
	"[70000]" "process.args_count is 70000 (the real count, not capped)"
is "$(events '[len(e["process.command_args"]) < 70000 and e.get("truncated") for e in ev if e.get("process.executable.name") == "true"]')" \
	"[True]" "  the arguments kept are capped, and flagged truncated"

done_testing
