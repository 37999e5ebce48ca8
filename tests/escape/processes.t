#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Escape attempts against other processes: seeing, tracing, reading the memory or
# environment of, stealing descriptors from, or signalling host processes and hutch's own
# helper (the sandbox init, PID 1 inside, which holds the control socket to the
# supervisor); and outliving the session. Each attack must fail with a specific error.
#
# Layers under test: the PID namespace (host processes do not exist inside), Landlock's
# ptrace restriction and signal scope (init is outside the workload's domain), init being
# non-dumpable (its /proc files are root's and ptrace-protected), seccomp (pidfd_getfd),
# and init as reaper with the namespace torn down when it exits.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

ATTACK=$HUTCH_HELPERS/proc-attack
[ -x "$ATTACK" ] || skip_all "proc-attack helper not built ($ATTACK)"

# attack OP PID [ARG]...: run proc-attack inside, RES[OP] = result.
declare -A RES
attack() {
	local name value
	RES=()
	hrun run -- "$ATTACK" "$@"
	while read -r name value; do
		RES[$name]=$value
	done <<<"$OUT"
}

# ---- host processes: not in the sandbox's PID namespace -----------------------------------
M=hutch-escape-host-$$-$RANDOM
bash -c "exec -a $M sleep 300" &
HOSTPID=$!
bg_register "$HOSTPID"
[ "$HOSTPID" -gt 200 ] || diag "host pid $HOSTPID is small; a sandbox pid could collide"
attack kill "$HOSTPID" 0 ptrace-attach "$HOSTPID" vm-read "$HOSTPID" \
	pidfd-signal "$HOSTPID" 9 read "$HOSTPID" environ
is "${RES[kill]}" ESRCH "kill(host pid, 0): the host process does not exist inside (ESRCH)"
is "${RES[ptrace-attach]}" ESRCH "ptrace(PTRACE_ATTACH, host pid) -> ESRCH"
is "${RES[vm-read]}" ESRCH "process_vm_readv(host pid) -> ESRCH"
is "${RES[pidfd-signal]}" ESRCH "pidfd_open(host pid) for a SIGKILL -> ESRCH"
is "${RES[read-environ]}" ENOENT "/proc/<host pid>/environ -> ENOENT"
check "  the host process is still alive" kill -0 "$HOSTPID"

# ---- hutch's helper inside: the sandbox init, PID 1 ----------------------------------------
attack ptrace-child 0 ptrace-attach 1 ptrace-seize 1 vm-read 1 vm-write 1 write-mem 1 \
	read 1 environ read 1 mem pidfd-getfd 1 3 kill 1 15 pidfd-signal 1 9
is "${RES[ptrace-child]}" 0 "control: ptrace of the workload's own child works (so the denials below are specific)"
is "${RES[ptrace-attach]}" EPERM "ptrace(PTRACE_ATTACH, init) -> EPERM"
is "${RES[ptrace-seize]}" EPERM "ptrace(PTRACE_SEIZE, init) -> EPERM"
is "${RES[vm-read]}" EPERM "process_vm_readv(init) -> EPERM"
is "${RES[vm-write]}" EPERM "process_vm_writev(init) -> EPERM"
is "${RES[write-mem]}" EACCES "open /proc/1/mem for writing -> EACCES"
is "${RES[read-mem]}" EACCES "read /proc/1/mem -> EACCES"
is "${RES[read-environ]}" EACCES "read /proc/1/environ -> EACCES"
is "${RES[pidfd-getfd]}" ENOSYS "pidfd_getfd (stealing init's control socket) -> ENOSYS (seccomp)"
is "${RES[kill]}" EPERM "kill(1, SIGTERM) -> EPERM (Landlock signal scope)"
is "${RES[pidfd-signal]}" EPERM "pidfd_send_signal(init, SIGKILL) -> EPERM"

# init's descriptors (the control socket to the supervisor) through /proc/1/fd.
hrun run -- "$PY" -c '
import os, errno
res = []
for p in ["/proc/1/exe", "/proc/1/root", "/proc/1/cwd"]:
    try:
        os.readlink(p); res.append(p + ":readable")
    except OSError as e:
        res.append(p + ":" + errno.errorcode[e.errno])
opened = []
try:
    fds = os.listdir("/proc/1/fd")  # not even listable when init is owned by an unmapped root
except OSError as e:
    fds = []
    res.append("fd:" + errno.errorcode[e.errno])
for n in fds:
    try:
        os.close(os.open("/proc/1/fd/" + n, os.O_RDONLY)); opened.append(n)
    except OSError as e:
        res.append("fd:" + errno.errorcode[e.errno])
try:
    os.listdir("/proc/1/root/"); res.append("root-listed")
except OSError as e:
    res.append("rootdir:" + errno.errorcode[e.errno])
print(" ".join(sorted(set(res))), "opened=" + ",".join(opened))'
is "$OUT" "/proc/1/cwd:EACCES /proc/1/exe:EACCES /proc/1/root:EACCES fd:EACCES rootdir:EACCES opened=" \
	"/proc/1/{exe,root,cwd}, /proc/1/root/ and every /proc/1/fd/N -> EACCES (init is not dumpable)"

# /proc/1/exe is the hutch binary on the host (init is a fork of hutch, never exec'd): the
# runc CVE-2019-5736 path. Opening it for writing must fail before any other check.
hrun run -- "$PY" -c '
import os, errno
try:
    os.open("/proc/1/exe", os.O_WRONLY); print("opened")
except OSError as e: print(errno.errorcode[e.errno])'
is "$OUT" EACCES "open(/proc/1/exe, O_WRONLY) -> EACCES (no way to overwrite hutch on the host)"
hrun run -- "$PY" -c '
import os, errno
try:
    os.open("/proc/self/exe", os.O_WRONLY); print("opened")
except OSError as e: print(errno.errorcode[e.errno])'
like "$OUT" '^(ETXTBSY|EACCES)$' "open(/proc/self/exe, O_WRONLY) -> ETXTBSY (running) or EACCES (root's file)"

# ---- kill(-1, SIGKILL): only the sandbox's own processes -----------------------------------
hrun run -- bash -c 'sleep 100 & kill -KILL -1; echo "kill -1 returned $?"'
is "$OUT" "kill -1 returned 0" "kill(-1, SIGKILL) inside returns (it reached only the sandbox's processes)"
is "$RC" 0 "  hutch ends normally (exit 0): the supervisor and init were out of reach"
check "  the host process is still alive" kill -0 "$HOSTPID"

# ---- another sandbox's processes are invisible ----------------------------------------------
M2=hutch-escape-other-$$-$RANDOM
hrun_bg run -- bash -c "exec -a $M2 sleep 30"
for _ in $(seq 50); do pgrep -f "^$M2" >/dev/null && break; sleep 0.1; done
OTHER=$(pgrep -f "^$M2" | head -1)
# The pattern is bracketed so that it cannot match the probing commands' own command lines.
hrun run -- sh -c "grep -l '[${M2:0:1}]${M2:1}' /proc/[0-9]*/cmdline 2>/dev/null | wc -l"
is "$(pgrep -fc "^$M2")" 1 "  (the other sandbox's process is running, seen from the host)"
is "$OUT" 0 "a process of another sandbox is not visible in /proc"
if [ -n "$OTHER" ]; then
	attack kill "$OTHER" 9
	is "${RES[kill]}" ESRCH "kill(pid of another sandbox's process) -> ESRCH"
else
	fail "the other sandbox's process started"
fi
kill -TERM "$HPID" 2>/dev/null
wait_hutch 5

# ---- outliving the session: a daemon that detaches and ignores every signal it can ---------
M3=hutch-escape-daemon-$$-$RANDOM
hrun run -- bash -c "setsid bash -c 'trap \"\" HUP TERM INT; exec -a $M3 sleep 300' </dev/null >/dev/null 2>&1 & sleep 0.3; pgrep -f '^$M3' | wc -l"
is "$OUT" 1 "a detached daemon (setsid, ignoring HUP/TERM/INT) was running inside"
check "  it is gone once hutch returns (killed with the PID namespace)" wait_no_process "^$M3" 5

done_testing
