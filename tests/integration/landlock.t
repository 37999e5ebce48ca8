#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Landlock layer inside the real sandbox: it is reported and enforced, and ordinary
# programs still work under it (stdout/stderr through pipes and /dev/stdout, /proc reads,
# new terminals, renames and hard links across directories, executing from the workspace).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

# todo_like GOT ERE NAME REASON: a known gap, reported as a TAP TODO (prove does not count
# it as a failure; it shows up as "unexpectedly succeeded" once fixed).
todo_like() {
	_T_N=$((_T_N + 1))
	if [[ $1 =~ $2 ]]; then
		echo "ok $_T_N - $3 # TODO $4"
	else
		echo "not ok $_T_N - $3 # TODO $4"
	fi
}

# ---- reported ------------------------------------------------------------------------
hrun check
like "$OUT" "landlock +available +ABI [1-9]" "hutch check reports the Landlock ABI"

# ---- enforced ------------------------------------------------------------------------
# The fresh /proc of the sandbox lets a process write its own comm; only Landlock
# (no write right on /proc) refuses it.
hrun run -- sh -c 'echo renamed >/proc/self/comm && echo written'
like "$ERR" "/proc/self/comm: Permission denied" \
	"writing /proc/self/comm is refused by Landlock (EACCES, not EROFS)"
unlike "$OUT" "written" "  and did not happen"

# ---- ordinary programs keep working ----------------------------------------------------
out=$(timeout 20 "$HUTCH" run -- sh -c 'echo out >/dev/stdout; echo err >/dev/stderr' 2>&1 | cat)
is "$out" "out
err" "echo >/dev/stdout and >/dev/stderr work when they are pipes"

# stdout redirected to a file outside every writable root (a CI log, say): the
# command can write fd 1, and reopening it through /dev/stdout needs the stdio rule.
timeout 20 "$HUTCH" run -- sh -c 'echo direct; echo reopened >>/dev/stdout' >"$T/log.txt" 2>"$T/log.err"
like "$(cat "$T/log.txt")" "direct" "stdout redirected to a file outside the workspace: fd 1 works"
like "$(cat "$T/log.txt")" "reopened" "  and so does >>/dev/stdout"

hrun run -- sh -c 'grep -c . /proc/self/status >/dev/null && ls /proc/self/fd >/dev/null && head -1 /proc/cpuinfo >/dev/null && echo proc-ok'
is "$OUT" "proc-ok" "/proc reads work (status, fd, cpuinfo)"

hrun run -- sh -c 'head -c 16 /dev/urandom | wc -c; echo x >/dev/null; head -c 4 /dev/zero | wc -c'
is "$(words "$OUT")" "16 4" "/dev/urandom, /dev/null and /dev/zero work"

hrun run -- script -qec 'tty' /dev/null
like "$OUT" "^/dev/pts/[0-9]+" "a new terminal can be opened inside (script: /dev/ptmx and /dev/pts)"

hrun run -- sh -c 'mkdir -p a b && echo f >a/f && mv a/f b/f && ln b/f a/link && cat a/link'
is "$RC:$OUT" "0:f" "rename and hard link across directories in the workspace (Landlock refer)"

printf '#!/bin/sh\necho ran-from-workspace\n' >"$WS/tool.sh"
chmod 755 "$WS/tool.sh"
hrun run -- ./tool.sh
is "$RC:$OUT" "0:ran-from-workspace" "a program in the workspace can be executed"

hrun run -- sh -c 'echo t >/tmp/t && truncate -s 0 /tmp/t && echo > /dev/shm/s && echo tmp-ok'
is "$OUT" "tmp-ok" "/tmp and /dev/shm are writable (create, truncate)"

# /dev is the sandbox's own tmpfs (writable as a mount): Landlock lets the devices there be
# used and nothing be made beside them.
hrun run -- python3 -c '
import errno, os
def e(f):
    try:
        f(); return "ok"
    except OSError as x:
        return errno.errorcode[x.errno]
print(e(lambda: open("/dev/planted", "w")), e(lambda: os.mkdir("/dev/d")),
      e(lambda: os.symlink("/etc/passwd", "/dev/l")), e(lambda: open("/dev/null", "w").write("x")))'
is "$OUT" "EACCES EACCES EACCES ok" "creating a file, directory or link in /dev -> EACCES (Landlock); /dev/null writable"

done_testing
