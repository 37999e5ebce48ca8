#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On a terminal: the command gets a terminal of its own (a new pty, never the host's
# device), the window size and its changes propagate, Ctrl-C interrupts, input reaches the
# command, the host terminal's modes are restored afterwards.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# pty driver: runs argv[2:] on a new pty (as session leader with it as controlling
# terminal), window size 37x101; argv[1] is JSON {"steps": [{"after": TEXT, "send": STR} |
# {"after": TEXT, "resize": [ROWS, COLS]}], "timeout": S}. Prints JSON: status (exit code,
# 128+N for a signal, "timeout"), output, outer (st_dev:st_ino of the outer slave), the
# outer lflag before and after.
cat >"$T/ptydrive.py" <<'PY'
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
spec = json.loads(sys.argv[1])
cmd = sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 101, 0, 0))
st = os.fstat(slave)
lflag_before = termios.tcgetattr(slave)[3]
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    if slave > 2:
        os.close(slave)
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(s, signal.SIG_DFL)
    os.execvp(cmd[0], cmd)
os.close(slave)
steps = list(spec.get("steps", []))
deadline = time.time() + spec.get("timeout", 20)
buf = b""
pos = 0
status = None
exited_at = None
while True:
    while steps and steps[0]["after"].encode() in buf[pos:]:
        s = steps.pop(0)
        pos = buf.index(s["after"].encode(), pos) + len(s["after"])
        time.sleep(0.2)
        if "send" in s:
            os.write(master, s["send"].encode())
        if "resize" in s:
            r, c = s["resize"]
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        buf += data
    if status is None:
        p, w = os.waitpid(pid, os.WNOHANG)
        if p:
            status = os.waitstatus_to_exitcode(w)
            status = 128 - status if status < 0 else status
            exited_at = time.time()
    elif time.time() - exited_at > 1:
        break
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = "timeout"
        break
if status is None:
    _, w = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(w)
    status = 128 - status if status < 0 else status
lflag_after = termios.tcgetattr(master)[3]
print(json.dumps({"status": status, "output": buf.decode(errors="replace").replace("\r", ""),
                  "outer": "%d:%d" % (st.st_dev, st.st_ino),
                  "lflag_before": lflag_before, "lflag_after": lflag_after,
                  "steps_left": len(steps)}))
PY

# pty STEPS-JSON HUTCH-ARGS...: sets RC (status), OUT (output), J (whole JSON)
pty() {
	local spec=$1
	shift
	LAST_CMD="hutch $* (on a pty)"
	J=$("$PY" "$T/ptydrive.py" "$spec" "$HUTCH" "$@")
	RC=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$J")
	OUT=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["output"])' <<<"$J")
	ERR=
	printf '%s\n' "$OUT" >>"$T/.transcript"
}
jget() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$J"; }

# ---- a terminal of its own ----------------------------------------------------------------
pty '{}' run -- sh -c 'tty; test -t 0 && echo stdin-is-tty; test -t 1 && echo stdout-is-tty;
	echo "dev $(stat -L -c %d:%i /dev/stdin)"; echo "size $(stty size)"'
is "$RC" 0 "a command on a terminal runs (exit 0)"
like "$OUT" "^/dev/pts/[0-9]+$" "tty inside prints /dev/pts/N"
like "$OUT" "^stdin-is-tty$" "stdin is a terminal"
like "$OUT" "^stdout-is-tty$" "stdout is a terminal"
outer=$(jget outer)
inner=$(sed -n 's/^dev //p' <<<"$OUT")
like "$inner" "^[0-9]+:[0-9]+$" "the terminal's device:inode inside is known ($inner)"
isnt "$inner" "$outer" "it is not the host's terminal device (host $outer): a pty of its own"
like "$OUT" "^size 37 101$" "the window size propagates (stty size = 37 101)"
is "$(jget lflag_after)" "$(jget lflag_before)" "the host terminal's modes are restored after hutch exits"

pty '{}' run -- sh -c 'ls -l /dev/pts/ | grep -c "^c"'
check "the sandbox's /dev/pts is a new instance (a handful of ptys, not the host's ${OUT:-?})" \
	test -n "$OUT" -a "${OUT:-99}" -le 3

# ---- resize, input, Ctrl-C, exit status -----------------------------------------------------
pty '{"steps": [{"after": "READY", "resize": [50, 120]}]}' \
	run -- sh -c 'trap "echo size \$(stty size); exit 0" WINCH; echo READY; while :; do sleep 0.1; done'
like "$OUT" "^size 50 120$" "a window resize reaches the command (SIGWINCH, stty size = 50 120)"
is "$RC" 0 "  and it exits normally"

pty '{"steps": [{"after": "READY", "send": "hello sandbox\r"}]}' \
	run -- sh -c 'echo READY; read line; echo "got:$line"'
like "$OUT" "^got:hello sandbox$" "input typed on the terminal reaches the command"

pty '{"steps": [{"after": "READY", "send": "\u0003"}], "timeout": 20}' \
	run -- sh -c 'echo READY; exec sleep 100'
is "$RC" 130 "Ctrl-C (byte 0x03) interrupts sleep 100 inside -> 130"

# Job control in an interactive shell: Ctrl-Z stops the foreground job. ("exit" twice: bash
# refuses the first one while it has not yet noticed that the stopped job was killed.)
pty '{"steps": [{"after": "$ ", "send": "sleep 100\r"}, {"after": "sleep 100", "send": "\u001a"},
	{"after": "Stopped", "send": "kill -9 %1\rexit 0\rexit 0\r"}]}' \
	run -e PS1='$ ' -- bash --norc -i
like "$OUT" "Stopped" "job control: Ctrl-Z (0x1a) stops a foreground job in an interactive bash"
unlike "$OUT" "no job control" "  bash finds a controlling terminal (job control enabled)"
is "$RC" 0 "  and the shell exits normally afterwards"

pty '{}' run -- sh -c 'exit 7'
is "$RC" 7 "the exit status passes through on a terminal"

pty '{"steps": [{"after": "READY", "send": "\u0004"}]}' run -- sh -c 'echo READY; cat; echo after-eof'
like "$OUT" "^after-eof$" "Ctrl-D (0x04) gives EOF to the command"

# ---- hutch exec on a terminal: the pty master reaches the client with the start message ------
name=tty$$-$RANDOM
trap '"$HUTCH" stop "$name" >/dev/null 2>&1; _t_cleanup' EXIT
hrun run --name "$name" -- true
pty '{}' exec "$name" -- sh -c 'test -t 0 && echo stdin-is-tty; echo "size $(stty size)"'
like "$OUT" "^stdin-is-tty$" "hutch exec on a terminal: the command gets a terminal"
like "$OUT" "^size 37 101$" "  with the client's window size"
pty '{"steps": [{"after": "READY", "send": "hello exec\r"}]}' \
	exec "$name" -- sh -c 'echo READY; read line; echo "got:$line"; exit 5'
like "$OUT" "^got:hello exec$" "  input typed on it reaches the command"
is "$RC" 5 "  and its exit status passes through"
hrun stop "$name"

done_testing
