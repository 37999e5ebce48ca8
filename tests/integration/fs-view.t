#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The filesystem view: host / read-only (nosuid, nodev), workspace writable, --rw, --ro,
# --hide, fresh /proc with the dangerous files masked, minimal /dev, read-only /sys.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

EROFS="Read-only file system"

# ---- host / is read-only ---------------------------------------------------------------
for p in /usr/hutch-test-x /etc/hutch-test-x "$HOME/hutch-test-x" "$T/hutch-test-x" /hutch-test-x; do
	hrun run -- sh -c "echo x > '$p'"
	like "$ERR" "$EROFS" "creating $p fails with EROFS"
	check "  and nothing appears on the host" test ! -e "$p"
done
hrun run -- sh -c "echo x > /etc/hostname"
like "$ERR" "$EROFS" "truncating an existing host file (/etc/hostname) fails with EROFS"
hrun run -- mkdir "$HOME/newdir"
like "$ERR" "$EROFS" "mkdir in \$HOME fails with EROFS"
hrun run -- rm -f "$HOME/notes.txt"
like "$ERR" "$EROFS" "deleting a file in \$HOME fails with EROFS"
check "  and it is still there" test -f "$HOME/notes.txt"
hrun run -- cat "$HOME/notes.txt"
is "$OUT" "hutch-visible-note" "an ordinary file in \$HOME is readable"

for p in /usr "$HOME"; do
	hrun run -- findmnt -n -o OPTIONS -T "$p"
	like "$OUT" "(^|,)ro(,|$)" "the mount holding $p is ro ($OUT)"
	like "$OUT" "(^|,)nosuid(,|$)" "the mount holding $p is nosuid"
	like "$OUT" "(^|,)nodev(,|$)" "the mount holding $p is nodev"
done

# ---- workspace ------------------------------------------------------------------------
hrun run -- sh -c 'mkdir -p sub/dir && echo data > sub/dir/f && mv sub/dir/f sub/g && rm sub/g && echo ok'
is "$OUT" "ok" "the workspace (cwd) is writable: mkdir, write, rename, delete"

# ---- --rw PATH ----------------------------------------------------------------------------
mkdir "$T/extra-rw"
hrun run --rw "$T/extra-rw" -- sh -c "echo rw-data > '$T/extra-rw/f'"
is "$RC" 0 "--rw PATH: writing in PATH works"
is "$(cat "$T/extra-rw/f" 2>&1)" "rw-data" "  the file lands on the host"
hrun run -- sh -c "echo rw-data > '$T/extra-rw/g'"
like "$ERR" "$EROFS" "without --rw the same directory is read-only"

# ---- --ro PATH (inside the workspace) -------------------------------------------------
mkdir ro-sub
echo "ro-content" >ro-sub/keep
hrun run --ro "$WS/ro-sub" -- sh -c 'cat ro-sub/keep; echo x > ro-sub/keep'
is "$OUT" "ro-content" "--ro PATH: files under PATH are readable"
like "$ERR" "$EROFS" "--ro PATH: writing under PATH fails with EROFS"
is "$(cat ro-sub/keep)" "ro-content" "  the file is unchanged on the host"
hrun run --ro "$WS/ro-sub" -- sh -c 'echo x > ro-sub/new'
like "$ERR" "$EROFS" "--ro PATH: creating a file under PATH fails with EROFS"
hrun run --ro "$WS/ro-sub" -- sh -c 'echo x > outside-ro.txt'
is "$RC" 0 "--ro PATH: the rest of the workspace stays writable"
hrun run --ro ro-sub -- sh -c 'echo x > ro-sub/rel'
like "$ERR" "$EROFS" "--ro with a workspace-relative path works too"

# ---- --hide PATH --------------------------------------------------------------------------
mkdir -p "$T/hide-dir/inner"
echo "$SECRET_MARK hide-dir" >"$T/hide-dir/secret.txt"
echo "$SECRET_MARK hide-file" >"$T/hide-file.txt"
hrun run --hide "$T/hide-dir" -- ls -A "$T/hide-dir"
is "$RC:$OUT" "0:" "--hide DIR: the directory exists and appears empty"
hrun run --hide "$T/hide-dir" -- cat "$T/hide-dir/secret.txt"
isnt "$RC" 0 "--hide DIR: a file in it cannot be read"
like "$ERR" "No such file or directory" "  (No such file or directory)"
hrun run --hide "$T/hide-dir" -- sh -c "echo x > '$T/hide-dir/new'"
# Any refusal will do ("unwritable"); dash says "Directory nonexistent" for ENOENT.
like "$ERR" "$EROFS|Permission denied|Directory nonexistent" "--hide DIR: the directory is not writable"
check "  nothing appears on the host" test ! -e "$T/hide-dir/new"
hrun run --hide "$T/hide-file.txt" -- cat "$T/hide-file.txt"
is "$RC:$OUT" "0:" "--hide FILE: the file reads as empty"
mkdir ws-secrets
echo "$SECRET_MARK ws" >ws-secrets/key
hrun run --hide ws-secrets -- sh -c 'ls -A ws-secrets; cat ws-secrets/key'
is "$OUT" "" "--hide a directory inside the workspace: appears empty"
ln -s "$T/hide-file.txt" link-to-hidden
hrun run --hide "$T/hide-file.txt" -- cat link-to-hidden
is "$OUT" "" "--hide FILE: a symlink to it from the workspace reads empty too"

# ---- /proc -------------------------------------------------------------------------------
hrun run -- sh -c 'ls /proc | grep -E "^[0-9]+$" | wc -l'
check "fresh /proc: only the sandbox's few processes are listed (got ${OUT:-?})" \
	test -n "$OUT" -a "${OUT:-99}" -le 6
hrun run -- sh -c "test -e /proc/$$ && echo visible || echo invisible"
[ "$$" -gt 20 ] && is "$OUT" "invisible" "the test script's host pid ($$) does not exist in the sandbox's /proc"
hrun run -- sh -c "ls /proc/*/cmdline | wc -l; cat /proc/*/cmdline | tr '\\0' ' '"
unlike "$OUT" "prove|lib\\.sh|\\.t( |$)" "no host process's command line is visible"

hrun run -- sh -c 'echo x > /proc/sys/kernel/hostname'
like "$ERR" "$EROFS" "/proc/sys is read-only (writing kernel/hostname -> EROFS)"
hrun run -- sh -c 'echo 0 > /proc/sys/kernel/ns_last_pid'
like "$ERR" "$EROFS" "/proc/sys/kernel/ns_last_pid read-only"

hrun run -- sh -c 'stat -c %d /proc/self/stat; for f in kcore keys timer_list sysrq-trigger; do
	if [ -e /proc/$f ]; then echo "$f $(stat -L -c %d /proc/$f) $(cat /proc/$f 2>/dev/null | head -c 4096 | wc -c)"; else echo "$f absent - 0"; fi
done'
inner_procdev=$(head -1 <<<"$OUT")
for f in kcore keys timer_list; do
	line=$(grep "^$f " <<<"$OUT")
	like "$line" "^$f (absent -|[^ ]+) 0$" "/proc/$f reads nothing inside"
	unlike "$line" "^$f $inner_procdev " "/proc/$f is masked (not the procfs file itself)"
done
if grep -q "^sysrq-trigger absent" <<<"$OUT"; then
	pass "/proc/sysrq-trigger does not exist inside (kernel without it: $(ls /proc/sysrq-trigger 2>&1))"
else
	hrun run -- sh -c ': > /proc/sysrq-trigger'
	if [ "$RC" = 0 ]; then
		hrun run -- stat -L -c %d /proc/sysrq-trigger
		isnt "$OUT" "$inner_procdev" \
			"/proc/sysrq-trigger is masked (it opened for writing, so it must not be procfs's)"
	else
		like "$ERR" "$EROFS" "/proc/sysrq-trigger is read-only (EROFS)"
	fi
fi

# ---- /dev --------------------------------------------------------------------------------
hrun run -- ls -A /dev
devs=$(tr '\n' ' ' <<<"$OUT")
for d in null zero full random urandom tty ptmx pts shm fd stdin stdout stderr; do
	like " $devs" " $d " "/dev/$d exists"
done
for d in sda vda nvme0 kmsg mem kmem port loop0 loop-control fuse net dri snd; do
	unlike " $devs" " $d " "/dev/$d does not exist"
done
hrun run -- find /dev -type b
is "$OUT" "" "no block devices in /dev"
hrun run -- sh -c 'head -c 5 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok'
is "$(words "$OUT")" "5 5 null-ok" "/dev/zero, /dev/urandom, /dev/null work"
hrun run -- sh -c 'head -c 1 /dev/zero > /dev/full'
like "$ERR" "No space left on device" "/dev/full says ENOSPC"
hrun run -- sh -c 'echo shm > /dev/shm/x && cat /dev/shm/x'
is "$OUT" "shm" "/dev/shm is writable"

# ---- /sys -------------------------------------------------------------------------------
hrun run -- sh -c ': > /sys/hutch-test-x'
like "$ERR" "$EROFS" "/sys is read-only (EROFS)"
hrun run -- findmnt -n -o OPTIONS /sys
like "$OUT" "(^|,)ro(,|$)" "/sys is mounted ro"

done_testing
