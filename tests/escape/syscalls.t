#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Escape attempts through the kernel's syscall surface: each must fail inside the sandbox
# with a specific error (or a SIGSYS kill), and where it matters nothing must have happened.
# The seccomp filter is the layer under test; the namespaces and dropped capabilities
# would stop several of these too, which is the point of layering.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

TRY=$HUTCH_HELPERS/try-syscall
[ -x "$TRY" ] || skip_all "try-syscall helper not built ($TRY)"

# inside PROBE...: run try-syscall inside, set RES[PROBE] to each result.
declare -A RES
inside() {
	local name value
	RES=()
	hrun run -- "$TRY" "$@"
	while read -r name value; do
		RES[$name]=$value
	done <<<"$OUT"
}

# py CODE: run python code inside the sandbox.
py() { hrun run -- "$PY" -c "$1"; }

# ---- nested user namespaces (the door to mount, netns, CAP_SYS_ADMIN-gated kernel code)
hrun run -- unshare --user --map-root-user true
isnt "$RC" 0 "unshare --user fails"
like "$ERR" "Operation not permitted" "  with EPERM"
py 'import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
print("created" if libc.unshare(0x10000000) == 0 else errno.errorcode[ctypes.get_errno()])'
is "$OUT" "EPERM" "unshare(CLONE_NEWUSER) from python (ctypes) -> EPERM"
inside clone_newuser clone3 userns
is "${RES[clone_newuser]}" EPERM "clone(CLONE_NEWUSER) -> EPERM"
is "${RES[clone3]}" ENOSYS "clone3 (flags unreadable by a filter) -> ENOSYS"
is "${RES[userns]}" EPERM "unshare(CLONE_NEWUSER) in a forked child -> EPERM"

# ---- terminal injection: TIOCSTI pushes keystrokes into the terminal hutch runs on -------
cat >"$T/inject.py" <<'PY'
import ctypes, errno, fcntl, sys, termios
target = sys.argv[1]
res = []
try:
    for c in ("echo HUTCH-INJECTED > %s\n" % target).encode():
        fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))
    res.append("tiocsti:ok")
except OSError as e:
    res.append("tiocsti:" + errno.errorcode[e.errno])
libc = ctypes.CDLL(None, use_errno=True)
ch = ctypes.c_char(b"x")
# The same request with garbage in the upper half: the kernel only looks at 32 bits.
r = libc.syscall(16, 0, ctypes.c_ulong(termios.TIOCSTI | (1 << 32)), ctypes.byref(ch))
res.append("tiocsti64:" + ("ok" if r == 0 else errno.errorcode[ctypes.get_errno()]))
r = libc.syscall(16, 0, ctypes.c_ulong(0x541C), ctypes.byref(ctypes.c_char(b"\x02")))
res.append("tioclinux:" + ("ok" if r == 0 else errno.errorcode[ctypes.get_errno()]))
print(" ".join(res))
PY
# A pty whose shell, after hutch exits, reads whatever was typed into it and runs it (as
# an interactive shell would).
cat >"$T/onpty.py" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, end = b"", time.time() + 20
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
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
sys.stdout.write(out.decode(errors="replace"))
PY
OUT=$(timeout 30 "$PY" "$T/onpty.py" bash -c \
	'"$0" run -- "$1" "$2" "$3"; read -r -t 2 line; echo "OUTER:[$line]"; eval "$line"' \
	"$HUTCH" "$PY" "$T/inject.py" "$T/injected" 2>&1)
LAST_CMD="hutch run -- inject.py (on a pty)"
like "$OUT" "tiocsti:EPERM" "TIOCSTI on the controlling terminal -> EPERM"
like "$OUT" "tiocsti64:EPERM" "TIOCSTI with the request's upper half set -> EPERM"
like "$OUT" "tioclinux:EPERM" "TIOCLINUX -> EPERM"
like "$OUT" 'OUTER:\[\]' "  the shell around hutch read nothing injected"
check "  and the injected command never ran" test ! -e "$T/injected"

# ---- bypassing the filter through other syscall ABIs ----------------------------------------
if [ "$(uname -m)" = x86_64 ]; then
	inside i386 x32
	is "${RES[i386]}" SIGSYS "getpid through int 0x80 (i386 entry) -> killed by SIGSYS"
	is "${RES[x32]}" SIGSYS "getpid through the x32 ABI -> killed by SIGSYS"
else
	skip "i386/x32 are x86_64 entry points" 2
fi

# ---- io_uring: file and network operations that seccomp cannot see ----------------------------
inside io_uring_setup io_uring_enter io_uring_register
is "${RES[io_uring_setup]}" EPERM "io_uring_setup -> EPERM"
is "${RES[io_uring_enter]}" EPERM "io_uring_enter -> EPERM"
is "${RES[io_uring_register]}" EPERM "io_uring_register -> EPERM"

# ---- kernel attack surface ---------------------------------------------------------------------
inside bpf perf_event_open userfaultfd kexec_load kexec_file_load init_module finit_module \
	delete_module reboot swapon swapoff acct
for p in bpf perf_event_open userfaultfd kexec_load kexec_file_load init_module finit_module \
	delete_module reboot swapon swapoff acct; do
	is "${RES[$p]}" EPERM "$p -> EPERM"
done

# ---- the kernel keyring is not namespaced: the user's keys would be reachable ----------------
py 'import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0)
r = libc.syscall(250, 0, -4, 0)
print("keyring %d" % r if r >= 0 else errno.errorcode[ctypes.get_errno()])'
is "$OUT" "EPERM" "keyctl: looking up the user keyring -> EPERM"
inside add_key request_key
is "${RES[add_key]} ${RES[request_key]}" "EPERM EPERM" "add_key, request_key -> EPERM"

# ---- "shocker": opening host files by handle -----------------------------------------------------
inside open_by_handle_at
is "${RES[open_by_handle_at]}" EPERM "open_by_handle_at -> EPERM"

# ---- remounting or re-rooting the view --------------------------------------------------------
hrun run -- mount -t tmpfs none /tmp
isnt "$RC" 0 "mount -t tmpfs fails"
inside mount umount2 pivot_root chroot open_tree move_mount fsopen fsmount fspick mount_setattr \
	setns
for p in mount umount2 pivot_root chroot open_tree move_mount fsopen fsmount fspick \
	mount_setattr setns; do
	is "${RES[$p]}" EPERM "$p -> EPERM"
done

# ---- the host through vsock (AF_VSOCK is not confined by the network namespace) ---------------
py 'import socket, errno
try:
    socket.socket(40, socket.SOCK_STREAM).close(); print("created")
except OSError as e: print(errno.errorcode[e.errno])'
is "$OUT" "EAFNOSUPPORT" "socket(AF_VSOCK) -> EAFNOSUPPORT"
inside socket_packet
is "${RES[socket_packet]}" EAFNOSUPPORT "socket(AF_PACKET) -> EAFNOSUPPORT"

# ---- executable data: personality(READ_IMPLIES_EXEC) -----------------------------------------
inside personality_bad personality_norandom
is "${RES[personality_bad]}" EPERM "personality(READ_IMPLIES_EXEC) -> EPERM"
is "${RES[personality_norandom]}" EPERM "personality(ADDR_NO_RANDOMIZE) -> EPERM"

# ---- kernel log (addresses) and the clock ---------------------------------------------------
hrun run -- dmesg
isnt "$RC" 0 "dmesg fails"
inside syslog settimeofday clock_settime clock_adjtime adjtimex
for p in syslog settimeofday clock_settime clock_adjtime adjtimex; do
	is "${RES[$p]}" EPERM "$p -> EPERM"
done

done_testing
