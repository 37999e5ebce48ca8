#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Gaining privileges: setuid and file-capability binaries (the host's, and ones made in the
# workspace), the dynamic loader run directly, raising capabilities or the core limit,
# core dumps, and writes to the kernel's knobs in /proc/sys and /sys (core_pattern runs a
# program as root on the host when a process crashes).
#
# Nested user namespaces, mount, keyctl, bpf, perf, userfaultfd, io_uring and the rest of
# the syscall surface are in syscalls.t.
#
# Layers under test: no_new_privs, all capability sets empty with securebits locked,
# nosuid mounts, only the caller's uid mapped, RLIMIT_CORE 0/0, read-only /proc/sys and
# /sys, masked /proc and /sys entries.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

PRIVS=$HUTCH_HELPERS/privs
[ -x "$PRIVS" ] || skip_all "privs helper not built ($PRIVS)"

# privs_inside [PROGRAM] [ARGS]: run it inside, P[key] = value.
declare -A P
privs_inside() {
	local k v
	P=()
	hrun run -- "$@"
	while read -r k v; do
		P[$k]=$v
	done <<<"$OUT"
}
NOCAPS=0000000000000000

# ---- the workload's own privileges --------------------------------------------------------
privs_inside "$PRIVS" --raise
is "${P[capeff]}/${P[capprm]}/${P[capbnd]}/${P[capamb]}" "$NOCAPS/$NOCAPS/$NOCAPS/$NOCAPS" \
	"effective, permitted, bounding and ambient capability sets are empty"
is "${P[nnp]}" 1 "no_new_privs is set"
is "${P[capset]}" EPERM "capset() putting CAP_SYS_ADMIN back -> EPERM"
is "${P[core]}" 0/0 "RLIMIT_CORE is 0 (soft and hard)"
is "${P[raise_core]}" EPERM "raising RLIMIT_CORE -> EPERM (core dumps stay off)"

# ---- a setuid-root binary of the host -----------------------------------------------------------
# passwd is setuid root; while it waits for input, its /proc status shows what exec gave it.
SUID=
for b in /usr/bin/passwd /usr/bin/chsh /usr/bin/chfn /usr/bin/newgrp; do
	if [ -u "$b" ] && [ "$(stat -c %u "$b")" = 0 ]; then
		SUID=$b
		break
	fi
done
LD_SO=
for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*; do
	[ -x "$f" ] && LD_SO=$f && break
done
if [ -n "$SUID" ]; then
	hrun run -- bash -c '"$@" < <(sleep 3) >/dev/null 2>&1 & sleep 0.5
		awk "/^Uid:/ { print \"euid\", \$3 } /^CapEff:/ { print \"capeff\", \$2 }" /proc/$!/status; kill $! 2>/dev/null' _ "$SUID"
	is "$(words "$OUT")" "euid $TEST_UID capeff $NOCAPS" \
		"setuid-root $SUID runs with the caller's effective uid ($TEST_UID) and no capabilities"
	if [ -n "$LD_SO" ]; then
		hrun run -- bash -c '"$@" < <(sleep 3) >/dev/null 2>&1 & sleep 0.5
			awk "/^Uid:/ { print \"euid\", \$3 } /^CapEff:/ { print \"capeff\", \$2 }" /proc/$!/status; kill $! 2>/dev/null' \
			_ "$LD_SO" "$SUID"
		is "$(words "$OUT")" "euid $TEST_UID capeff $NOCAPS" \
			"the same through the dynamic loader ($LD_SO $SUID): nothing gained"
	else
		skip "no dynamic loader found under /lib64 or /lib"
	fi
else
	skip "no setuid-root binary found (passwd, chsh, chfn, newgrp)" 2
fi

# ---- setuid and file capabilities made in the workspace --------------------------------------
cp "$PRIVS" "$WS/suid-privs"
if [ "$TEST_UID" = 0 ]; then
	# As root the copy can belong to someone else: setuid would switch to that user.
	chown 65534:65534 "$WS/suid-privs"
fi
chmod 6755 "$WS/suid-privs"
privs_inside "$WS/suid-privs"
is "${P[euid]}" "$TEST_UID" "a setuid copy in the workspace (owner $(stat -c %u "$WS/suid-privs")): euid stays $TEST_UID"
is "${P[capeff]}" "$NOCAPS" "  and no capability appears"
hrun run -- awk -v ws="$WS" '$5 == ws { print $6 }' /proc/self/mountinfo
like "$OUT" "(^|,)nosuid(,|$)" "the workspace is mounted nosuid inside"

if [ "$TEST_UID" = 0 ] && command -v setcap >/dev/null; then
	cp "$PRIVS" "$WS/fcap-privs"
	setcap cap_dac_override,cap_sys_admin,cap_setuid+ep "$WS/fcap-privs"
	echo "hutch-not-for-root" >"$WS/others-file"
	chown 65534:65534 "$WS/others-file"
	chmod 600 "$WS/others-file"
	privs_inside "$WS/fcap-privs" --read "$WS/others-file"
	is "${P[capeff]}/${P[capprm]}" "$NOCAPS/$NOCAPS" \
		"a binary with file capabilities (dac_override, sys_admin, setuid) gains none"
	is "${P[read]}" EACCES "  root inside cannot read another user's 0600 file with it (EACCES)"
else
	skip "file capabilities can only be set as root (running as $TEST_USER)" 2
fi

# ---- core dumps and the kernel's knobs ------------------------------------------------------
hrun run -- bash -c 'ulimit -c unlimited 2>&1; ulimit -H -c'
like "$OUT" "cannot modify limit: Operation not permitted" "ulimit -c unlimited -> EPERM"
hrun run -- bash -c 'cd "$1" && bash -c "kill -SEGV \$\$"; echo "status $?"; ls core* 2>/dev/null | wc -l' _ "$WS"
is "$(words "$OUT")" "status 139 0" "a process dying of SIGSEGV leaves no core file"

hrun run -- "$PY" -c '
import os, errno
for p in ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
          "/proc/sys/kernel/hotplug", "/proc/sys/vm/drop_caches",
          "/proc/sys/fs/binfmt_misc/register", "/sys/kernel/uevent_helper",
          "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/class/net/lo/mtu",
          "/proc/sysrq-trigger", "/sys/fs/cgroup/release_agent", "/sys/kernel/security",
          "/proc/sys/kernel/ns_last_pid"]:
    try:
        fd = os.open(p, os.O_WRONLY)
        try:
            os.write(fd, b"|/tmp/pwn\n"); print(p, "WRITTEN")
        except OSError as e: print(p, "write:" + errno.errorcode[e.errno])
    except OSError as e: print(p, errno.errorcode[e.errno])'
BAD=$(grep -Ev ' (EROFS|ENOENT|EACCES|EISDIR)$' <<<"$OUT")
is "$BAD" "" "no write reaches /proc/sys, /sys, sysrq-trigger or cgroup release_agent"
# Root's files: root inside (no capabilities, but the owner) meets the read-only mount;
# anyone else meets the permission bits first.
RO=EROFS
[ "$TEST_UID" = 0 ] || RO=EACCES
like "$OUT" "/proc/sys/kernel/core_pattern $RO" "  core_pattern (a root program on the next crash) -> $RO"
like "$OUT" "/proc/sys/vm/drop_caches $RO" "  /proc/sys/vm/drop_caches -> $RO"
like "$OUT" "/proc/sys/kernel/ns_last_pid EROFS" "  /proc/sys/kernel/ns_last_pid (mode 0666) -> EROFS"
like "$OUT" "/sys/class/net/lo/mtu $RO" "  /sys (the host's, read-only) -> $RO"
like "$OUT" "/sys/fs/cgroup/release_agent ENOENT" "  /sys/fs/cgroup is masked: release_agent -> ENOENT"

done_testing
