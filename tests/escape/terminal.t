#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Terminal injection: a sandboxed process pushing keystrokes into the terminal of the shell
# that started hutch (TIOCSTI), or pasting the console selection (TIOCLINUX), so that the
# user's shell runs them after hutch exits. Tried on a real pseudo-terminal, with the
# request as the kernel reads it and with garbage in its upper 32 bits, through the
# inherited descriptor and through /dev/tty.
#
# Layers under test: seccomp (TIOCSTI/TIOCLINUX -> EPERM, compared on the low 32 bits),
# the sandbox's own pty (the host terminal is never handed in), setsid (no controlling
# terminal when no standard descriptor is a terminal).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

INJECT=$HUTCH_HELPERS/tty-inject
[ -x "$INJECT" ] || skip_all "tty-inject helper not built ($INJECT)"

# onpty CMD...: run CMD as the session leader of a new pty (its controlling terminal);
# print everything written to the terminal.
cat >"$T/onpty.py" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, end = b"", time.time() + 25
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.3)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    elif os.waitpid(pid, os.WNOHANG)[0]:
        break
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
onpty() { timeout 40 "$PY" "$T/onpty.py" "$@" 2>&1; }

# The shell around hutch: after hutch exits it reads one line from the terminal, as an
# interactive shell would, and runs it.
OUTER='"$0" "$@"; read -r -t 2 line; echo "OUTER:[$line]"; eval "$line"'

# ---- control: without hutch the attack works on this machine -------------------------------
OUT=$(onpty bash -c "\"\$0\" --text 'touch $T/control-injected
' tiocsti; $OUTER" "$INJECT" true)
LAST_CMD="tty-inject tiocsti on a pty, without hutch"
if grep -q "tiocsti 0" <<<"$OUT"; then
	pass "control: without hutch, TIOCSTI types into the terminal (legacy_tiocsti or CAP_SYS_ADMIN)"
	check "  and the shell around it runs the injected command" test -e "$T/control-injected"
else
	note "TIOCSTI is refused by the kernel itself here ($(words "$OUT")): the tests below still" \
		"check hutch's own refusal"
	skip "TIOCSTI disabled by this kernel (dev.tty.legacy_tiocsti=0 and no CAP_SYS_ADMIN)" 2
fi

# ---- inside hutch, on a terminal ---------------------------------------------------------------
OUT=$(onpty bash -c "$OUTER" "$HUTCH" run -- "$INJECT" --text "touch $T/injected
" tiocsti tiocsti64 tioclinux tioclinux64 devtty-sti)
LAST_CMD="hutch run -- tty-inject ... (on a pty)"
like "$OUT" "tiocsti EPERM" "TIOCSTI on the terminal -> EPERM"
like "$OUT" "tiocsti64 EPERM" "TIOCSTI with the upper 32 bits of the request set -> EPERM"
like "$OUT" "tioclinux EPERM" "TIOCLINUX (TIOCL_PASTESEL) -> EPERM"
like "$OUT" "tioclinux64 EPERM" "TIOCLINUX with the upper 32 bits set -> EPERM"
like "$OUT" "devtty-sti EPERM" "TIOCSTI through a fresh open of /dev/tty -> EPERM"
like "$OUT" 'OUTER:\[\]' "the shell around hutch read nothing injected"
check "  and the injected command never ran" test ! -e "$T/injected"

# ---- hutch started from a terminal with no standard descriptor on it ---------------------
OUT=$(onpty bash -c '"$0" run -- "$1" devtty-sti </dev/null >"$2" 2>&1; cat "$2"' \
	"$HUTCH" "$INJECT" "$T/redirected.out")
LAST_CMD="hutch run -- tty-inject devtty-sti </dev/null >file (from a pty)"
is "$(words "$OUT")" "devtty-sti ENXIO" \
	"stdio redirected: /dev/tty inside -> ENXIO (no controlling terminal, not the user's)"

done_testing
