#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The seccomp layer inside the real sandbox: reported by `hutch check`, loaded
# (Seccomp 2, NoNewPrivs 1), every denial with its specific errno (the
# try-syscall probe, run once outside as a baseline and once inside), the
# foreign syscall ABIs killed, and ordinary programs unaffected (threads via the
# clone3 -> clone fallback, a shell pipeline, setarch linux32).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

TRY=$HUTCH_HELPERS/try-syscall
[ -x "$TRY" ] || skip_all "try-syscall helper not built ($TRY)"

# ---- reported ------------------------------------------------------------------------
hrun check
like "$OUT" "seccomp +available" "hutch check reports seccomp"
like "$OUT" "seccomp-notify +available" "hutch check reports seccomp user notification"

# ---- loaded --------------------------------------------------------------------------
hrun run -- cat /proc/self/status
like "$OUT" $'Seccomp:\t2' "/proc/self/status inside: Seccomp 2 (filter mode)"
like "$OUT" $'NoNewPrivs:\t1' "/proc/self/status inside: NoNewPrivs 1"
like "$OUT" $'Seccomp_filters:\t[1-9]' "  with a filter installed"

# ---- every probe -----------------------------------------------------------------------
# PROBE EXPECTED: the result inside; "=" means the same as outside (the call reaches the
# kernel, which answers as it would without the filter).
# shellcheck disable=SC2191 # "=" is a value: the same result as outside
EXPECT=(
	clone3 ENOSYS
	clone_newuser EPERM clone_newns EPERM clone_newnet EPERM clone_newpid EPERM
	unshare_newuser EPERM unshare_newns EPERM unshare_newnet EPERM unshare_newpid EPERM
	unshare_newipc EPERM unshare_newuts EPERM unshare_newcgroup EPERM unshare_newtime EPERM
	userns EPERM unshare_files 0 setns EPERM
	mount EPERM umount2 EPERM pivot_root EPERM open_tree EPERM move_mount EPERM
	fsopen EPERM fsconfig EPERM fsmount EPERM fspick EPERM mount_setattr EPERM
	chroot EPERM quotactl EPERM
	keyctl EPERM add_key EPERM request_key EPERM
	bpf EPERM perf_event_open EPERM userfaultfd EPERM
	io_uring_setup EPERM io_uring_enter EPERM io_uring_register EPERM
	fanotify_init EPERM open_by_handle_at EPERM
	kexec_load EPERM kexec_file_load EPERM init_module EPERM finit_module EPERM
	delete_module EPERM acct EPERM swapon EPERM swapoff EPERM reboot EPERM syslog EPERM
	sethostname EPERM setdomainname EPERM
	settimeofday EPERM clock_settime EPERM clock_adjtime EPERM adjtimex EPERM
	personality_bad EPERM personality_norandom EPERM personality_0 0 personality_query 0
	personality_linux32 0
	ptrace = process_vm_readv = kcmp ENOSYS pidfd_getfd ENOSYS
	getpid 0 exec 0 memfd_create 0 fchmodat2 = mseal =
	tiocsti EPERM tiocsti64 EPERM tioclinux EPERM tioclinux64 EPERM tiocgwinsz 0
	socket_unix 0 socket_inet 0 socket_inet6 0 socket_inet_hi EAFNOSUPPORT
	socket_netlink 0 socket_packet EAFNOSUPPORT socket_vsock EAFNOSUPPORT socketpair_unix 0
)
if [ "$(uname -m)" = x86_64 ]; then
	EXPECT+=(iopl EPERM ioperm EPERM i386 SIGSYS x32 SIGSYS)
fi

declare -A OUTSIDE INSIDE
while read -r name value; do
	OUTSIDE[$name]=$value
done < <(timeout 20 "$TRY")
hrun run -- "$TRY"
while read -r name value; do
	INSIDE[$name]=$value
done <<<"$OUT"
is "${#INSIDE[@]}" "${#OUTSIDE[@]}" "try-syscall ran all ${#OUTSIDE[@]} probes inside the sandbox"

for ((i = 0; i < ${#EXPECT[@]}; i += 2)); do
	name=${EXPECT[i]} want=${EXPECT[i + 1]}
	[ "$want" = "=" ] && want=${OUTSIDE[$name]:-?}
	is "${INSIDE[$name]:-missing}" "$want" "inside: $name -> $want (outside: ${OUTSIDE[$name]:-?})"
done

# ---- the foreign ABIs kill the whole process, and hutch reports the signal ---------------
if [ "$(uname -m)" = x86_64 ]; then
	cat >"$T/x32.py" <<'PY'
import ctypes
ctypes.CDLL(None, use_errno=True).syscall(39 | 0x40000000)
print("survived")
PY
	hrun run -- "$PY" "$T/x32.py"
	is "$RC" 159 "an x32 syscall kills the workload: exit 128+SIGSYS"
	unlike "$OUT" "survived" "  and nothing runs after it"
else
	skip "x32 is an x86_64 ABI" 2
fi

# ---- ordinary programs ----------------------------------------------------------------------
# glibc creates threads with clone3 and falls back to clone on ENOSYS.
hrun run -- "$PY" -c '
import threading
out = []
ts = [threading.Thread(target=out.append, args=(i,)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print("threads", len(out))'
is "$OUT" "threads 8" "threads work (clone3 -> ENOSYS -> clone fallback)"

hrun run -- sh -c 'printf "b\na\n" | sort | tr a-z A-Z | head -1; ls / >/dev/null && echo ls-ok'
is "$(words "$OUT")" "A ls-ok" "a shell pipeline works"

hrun run -- "$PY" -c '
import subprocess
print(subprocess.run(["/bin/echo", "spawned"], capture_output=True, text=True).stdout.strip())'
is "$OUT" "spawned" "subprocess (posix_spawn, which uses clone3 first) works"

if command -v setarch >/dev/null; then
	hrun run -- setarch linux32 uname -m
	like "$OUT" "^i[3-6]86$" "setarch linux32 (a harmless personality) works"
	hrun run -- setarch "$(uname -m)" -R true
	isnt "$RC" 0 "setarch -R (ADDR_NO_RANDOMIZE personality) is refused"
	like "$ERR" "Operation not permitted" "  with EPERM"
else
	skip "setarch not installed" 3
fi

hrun run -- unshare -U true
isnt "$RC" 0 "unshare -U (a nested user namespace) fails"
like "$ERR" "Operation not permitted" "  with EPERM"

hrun run -- "$PY" -c '
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close(); print("inet ok")
except OSError as e: print(e.errno)'
is "$OUT" "inet ok" "an AF_INET socket can still be created with the namespace (--net none)"

done_testing
