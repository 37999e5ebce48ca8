#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Writes the sandbox refuses are counted and named (docs/audit.md "Refused writes"): in
# $HOME, in /etc, at a protected path, whatever the call (open, mkdir, rename, unlink);
# not writes that succeed (the workspace, /tmp), never read-only opens, not a refusal that
# is not the sandbox's (EEXIST, ENOENT); the exit summary with -v, write_refused events and
# end.counts.write_refused in the audit log, bounded; escaped for display; under a profile.
# shellcheck source=tests/lib.sh disable=SC2016,SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox

# q FILE EXPR: EXPR over `ev`, the log's events (python).
q() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], "rb")]
wr = [e for e in ev if e["event"] == "write_refused"]
end = [e for e in ev if e["event"] == "end"][0]
print(eval(sys.argv[2]))
EOF
}

# One call each, so that the counts are exact (the system python inside).
WRITES='import os, sys
home = os.environ["HOME"]
def t(f, *a):
    try:
        f(*a)
    except OSError as e:
        print(f.__name__, e.strerror)
t(os.open, home + "/new-in-home", os.O_WRONLY | os.O_CREAT)
t(os.open, "/etc/hutch-refused-test", os.O_RDWR | os.O_CREAT | os.O_TRUNC)
t(os.mkdir, home + "/newdir")
t(os.unlink, home + "/notes.txt")
t(os.rename, home + "/notes.txt", home + "/notes.old")
t(os.open, ".mcp.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
t(os.open, ".git/hooks/pre-commit", os.O_WRONLY | os.O_CREAT)
'
summary_line() { grep -E '^hutch:   writes: ' <<<"$ERR"; }

# ---- refused writes are counted and named ---------------------------------------------------
L=$T/refused.log
hrun run -v --audit "$L" -- "$PY" -c "$WRITES"
is "$RC" 0 "the script ran"
like "$OUT" "open Read-only file system" "  the refusals happened (EROFS)"
line=$(summary_line)
like "$line" "^hutch:   writes: 7 refused by the sandbox \\(read-only, protected\\): " \
	"the summary counts 7 refused writes, with their reasons"
like "$line" "~/new-in-home, /etc/hutch-refused-test, ~/newdir, ~/notes.txt, $(re_quote "$WS")/.mcp.json \\(\\+1 more\\)" \
	"  names the first five paths (in \$HOME as ~/..., each once) and says there are more"
is "$(q "$L" 'end["counts"]["write_refused"]')" 7 "end.counts.write_refused is 7"
is "$(q "$L" '[(e["syscall"], e["file.path"], e["error.code"], e["reason"]) for e in wr]')" \
	"[('openat', '$HOME/new-in-home', 'EROFS', 'read-only'), ('openat', '/etc/hutch-refused-test', 'EROFS', 'read-only'), ('mkdir', '$HOME/newdir', 'EROFS', 'read-only'), ('unlink', '$HOME/notes.txt', 'EROFS', 'read-only'), ('rename', '$HOME/notes.txt', 'EROFS', 'read-only'), ('openat', '$WS/.mcp.json', 'EISDIR', 'protected'), ('openat', '$WS/.git/hooks/pre-commit', 'EROFS', 'protected')]" \
	"one write_refused event per refusal: call, path, errno, reason"
check "nothing was written on the host" test ! -e "$HOME/new-in-home" -a ! -e "$WS/.mcp.json"

# a protected mount point cannot be removed: EBUSY, named as protected
L=$T/busy.log
hrun run --audit "$L" -- "$PY" -c 'import os
try:
    os.unlink(".git/config")
except OSError as e:
    print(e.strerror)'
is "$OUT" "Device or resource busy" "removing .git/config (a protected mount point) fails"
is "$(q "$L" '[(e["file.path"], e["error.code"], e["reason"]) for e in wr]')" \
	"[('$WS/.git/config', 'EBUSY', 'protected')]" "  counted: EBUSY, protected"

# ---- what is not the sandbox's refusal is not reported --------------------------------------
echo mine >"$HOME/mine-ro"
chmod 444 "$HOME/mine-ro"
L=$T/fine.log
hrun run -v --audit "$L" -- "$PY" -c 'import os, glob
for i in range(50):
    with open("ws-%d" % i, "w") as f: f.write("x")
    with open("/tmp/t-%d" % i, "w") as f: f.write("x")
os.mkdir("wsdir"); os.rename("ws-0", "wsdir/ws-0"); os.unlink("ws-1")
for p in glob.glob("/etc/*") + glob.glob(os.environ["HOME"] + "/*"):
    try:
        os.close(os.open(p, os.O_RDONLY))
    except OSError:
        pass
for f in (os.mkdir, os.rmdir):
    try:
        f("/etc")          # EEXIST / EBUSY-or-EROFS? not for mkdir: EEXIST comes first
    except OSError:
        pass
try:
    os.open("/etc/passwd", os.O_WRONLY | os.O_CREAT | os.O_EXCL)   # EEXIST first
except OSError as e:
    print(e.strerror)
try:
    os.open(os.environ["HOME"] + "/missing/x", os.O_WRONLY | os.O_CREAT)  # ENOENT first
except OSError as e:
    print(e.strerror)
try:
    os.open(os.environ["HOME"] + "/mine-ro", os.O_WRONLY)   # its own mode refuses: EACCES
except OSError as e:
    print(e.strerror)
os.open("/dev/null", os.O_WRONLY)'
is "$RC" 0 "writes in the workspace and /tmp, read-only opens everywhere, EEXIST, ENOENT, EACCES"
like "$OUT" "Permission denied" "  a file whose own mode refuses the write: EACCES before EROFS"
is "$(q "$L" 'end["counts"]["write_refused"]')" 1 \
	"  only rmdir /etc is counted (a read-only mount: EROFS before the lookup)"
is "$(q "$L" '[(e["syscall"], e["file.path"]) for e in wr]')" "[('rmdir', '/etc')]" "  and named"
check "  the workspace files were written" test -e "$WS/ws-49" -a -e "$WS/wsdir/ws-0"
rm -rf "$WS"/ws-* "$WS/wsdir"

hrun run -v -- sh -c 'cat /etc/passwd >/dev/null; echo x > ok.txt; echo y > /tmp/y'
is "$(summary_line)" "" "no 'writes:' line when nothing was refused"
rm -f ok.txt

# ---- bounded: the first 100 events, every one counted ---------------------------------------
L=$T/many.log
hrun run -v --audit "$L" -- "$PY" -c 'import os
for i in range(150):
    try:
        os.open(os.environ["HOME"] + "/f%d" % i, os.O_WRONLY | os.O_CREAT)
    except OSError:
        pass'
is "$(q "$L" 'len(wr), end["counts"]["write_refused"]')" "(100, 150)" \
	"150 refused writes: 100 events, all counted"
like "$(summary_line)" "writes: 150 refused by the sandbox \\(read-only\\): ~/f0, ~/f1, ~/f2, ~/f3, ~/f4 \\(\\+95 more\\)" \
	"  the summary: the count, five paths, how many more were logged"

# ---- shown escaped --------------------------------------------------------------------------
hrun run -v -- "$PY" -c 'import os
try:
    os.open(os.environ["HOME"] + "/\x1b[31mred\x07", os.O_WRONLY | os.O_CREAT)
except OSError:
    pass'
line=$(summary_line)
like "$line" 'writes: 1 refused' "a refused path with control characters is counted"
unlike "$line" $'\x1b' "  and shown without the raw escape character"

# ---- not shown without -v on a non-terminal; never with -q ----------------------------------
hrun run -- sh -c '{ echo x > ~/quiet; } 2>/dev/null; true'
is "$(summary_line)" "" "no summary without -v, an audit log or a terminal"
hrun run -q --audit "$T/q.log" -- sh -c '{ echo x > ~/quiet; } 2>/dev/null; true'
is "$ERR" "" "-q: nothing on stderr"
is "$(q "$T/q.log" 'end["counts"]["write_refused"]')" 1 "  but the log has the count"

# ---- under an agent's profile ----------------------------------------------------------------
hrun run -v --profile claude-code -- sh -c 'echo x > ~/.bashrc-new; echo y > /etc/agent-test; mkdir -p ~/.claude/projects/p && echo ok > ~/.claude/projects/p/s.jsonl; true'
line=$(summary_line)
like "$line" "writes: 2 refused by the sandbox \\(read-only\\): ~/.bashrc-new, /etc/agent-test; --audit FILE logs each one\$" \
	"--profile claude-code: refused writes named, the agent's own state directory not"

done_testing
