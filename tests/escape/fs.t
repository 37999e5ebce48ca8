#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Escapes through the filesystem view: descriptors leaked from the launcher, a host
# directory handed in as a descriptor, symlinks and hard links out of the workspace,
# /proc/self/root, renaming hidden and protected mount points, and races against start-up
# (swapping .git for a symlink while hutch builds the view).
#
# Layers under test: close_range at exec, Landlock (rights are tied to the sandbox's own
# tree: a host directory reached through a descriptor grants nothing), read-only binds of
# everything outside the writable roots, separate mounts (EXDEV for hard links), mount
# points that cannot be renamed or removed (EBUSY), openat2(RESOLVE_NO_SYMLINKS) when
# protected paths are bound.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# pyin CODE [ARGS]: python inside (hutch options from the array HOPTS); OUT is what it prints.
HOPTS=()
pyin() {
	local code=$1
	shift
	hrun run "${HOPTS[@]}" -- "$PY" -c "import os, errno
def e(f):
    try:
        r = f()
        return 'ok' if r is None else 'ok:' + str(r)
    except OSError as x:
        return errno.errorcode[x.errno]
$code" "$@"
}

# ---- descriptors open in the launcher ----------------------------------------------------------
# A file, a hidden directory and a socket, at low and high numbers.
start_unix_service "$T/leak.sock"
exec 7</etc/hostname 8<"$HOME/.ssh" 250<"$HOME"
exec 9< <("$PY" -c "$CONNECT_PY" "$T/leak.sock"; sleep 5)
pyin 'print(" ".join(str(fd) + ":" + e(lambda fd=fd: os.fstat(fd) and None) for fd in (7, 8, 9, 250)))
print(sorted(int(f) for f in os.listdir("/proc/self/fd")))'
exec 7<&- 8<&- 9<&- 250<&-
is "$(head -1 <<<"$OUT")" "7:EBADF 8:EBADF 9:EBADF 250:EBADF" \
	"descriptors 7 (/etc/hostname), 8 (~/.ssh), 9 (a pipe), 250 (\$HOME) from the launcher -> EBADF inside"
is "$(sed -n 2p <<<"$OUT")" "[0, 1, 2, 3]" "  the command starts with 0, 1, 2 only (3 is listdir's own)"

# The same through hutch exec into a named session.
hrun run --name "fs$$" -- true
exec 7</etc/hostname
hrun exec "fs$$" -- "$PY" -c 'import os, errno
try:
    os.fstat(7); print("open")
except OSError as x: print(errno.errorcode[x.errno])'
exec 7<&-
is "$OUT" EBADF "hutch exec: descriptor 7 of the exec client -> EBADF in the session"
"$HUTCH" stop "fs$$" >/dev/null 2>&1

# ---- a host directory handed in as standard input ---------------------------------------------
# The descriptor is the host's / on the host's mounts, outside the sandbox's view: every
# path beneath it is outside the Landlock domain's tree. (Moved to 7 inside: python insists
# on a usable stdin.)
hrun run -- bash -c '"$0" "$@" 7<&0 0</dev/null' "$PY" -c 'import os, errno, sys
def e(f):
    try:
        f(); return "ok"
    except OSError as x: return errno.errorcode[x.errno]
home = sys.argv[1].lstrip("/")
print(e(lambda: os.open(home + "/.ssh/id_ed25519", os.O_RDONLY, dir_fd=7)),
      e(lambda: os.open("etc/passwd", os.O_RDONLY, dir_fd=7)),
      e(lambda: os.open(sys.argv[2].lstrip("/") + "/.git/hooks/pre-commit", os.O_CREAT | os.O_WRONLY, 0o755, dir_fd=7)),
      e(lambda: os.listdir(os.open(home, os.O_RDONLY | os.O_DIRECTORY, dir_fd=7))))' \
	"$HOME" "$WS" 0</
if [ "$RC" = 125 ]; then
	pass "host / as stdin: hutch refuses to hand a directory to the sandbox ($ERR)"
else
	is "$OUT" "EACCES EACCES EACCES EACCES" \
		"host / as stdin: ~/.ssh/id_ed25519, /etc/passwd, the workspace's .git/hooks/pre-commit, ls ~ beneath it -> EACCES"
fi
check "  no hook was planted through it" test ! -e "$WS/.git/hooks/pre-commit"
rm -f "$WS/.git/hooks/pre-commit"

# ---- symlinks, hard links, /proc/self/root -------------------------------------------------------
echo "host-owned" >"$T/outside.txt"
chmod 666 "$T/outside.txt"
ln -s "$T/outside.txt" "$WS/link-out"
pyin 'print(e(lambda: open("link-out", "a").write("x")), e(lambda: os.link(os.environ["HOME"] + "/notes.txt", "hl")),
      e(lambda: os.link(".git/config", "hl2")), e(lambda: os.rename("link-out", os.environ["HOME"] + "/moved")))'
is "$OUT" "EROFS EXDEV EXDEV EXDEV" \
	"write through a symlink out of the workspace -> EROFS; hard links to ~/notes.txt and .git/config, rename out -> EXDEV"
is "$(cat "$T/outside.txt")" "host-owned" "  the host file is unchanged"

pyin 'import sys
print(e(lambda: open("/proc/self/root" + sys.argv[1] + "/.ssh/id_ed25519").read()),
      e(lambda: open("/proc/self/cwd/../../../../../../../../" + sys.argv[1].lstrip("/") + "/.aws/credentials").read()))' "$HOME"
is "$OUT" "ENOENT ENOENT" "/proc/self/root and /proc/self/cwd/../.. lead to the same view: secrets -> ENOENT"

# ---- renaming or removing hidden paths inside the workspace ------------------------------------
mkdir -p "$WS/secrets"
printf '%s workspace secret\n' "$SECRET_MARK" >"$WS/secrets/key"
HOPTS=(--hide "$WS/secrets")
pyin 'print(e(lambda: os.rename("secrets", "s2")), e(lambda: os.rmdir("secrets")),
      e(lambda: os.symlink("/etc/hostname", "secrets/key")), e(lambda: os.listdir("secrets")))'
HOPTS=()
# (The hidden directory is an empty directory already unlinked: creating in it is ENOENT.)
is "$OUT" "EBUSY EBUSY ENOENT ok:[]" \
	"--hide DIR in the workspace: rename -> EBUSY, rmdir -> EBUSY, create in it -> ENOENT, it lists empty"
hrun run --hide "$WS/secrets" -- sh -c 'mv . ../ws-moved 2>&1; cat secrets/key 2>&1; cat ../ws/secrets/key 2>&1'
unlike "$OUT" "workspace secret" "  renaming the workspace itself does not uncover it"

# ---- a .git that is a symlink to a git directory in the workspace ------------------------------
mv .git .gitreal
ln -s .gitreal .git
hrun run -- sh -c 'printf "#!/bin/sh\necho HUTCH-EVIL-HOOK\n" >.git/hooks/pre-commit'
if [ "$RC" = 125 ]; then
	pass ".git is a symlink: hutch refuses to start ($ERR)"
else
	like "$ERR" "Read-only file system" ".git is a symlink to .gitreal: a hook through it -> EROFS"
fi
hrun run -- sh -c 'printf "#!/bin/sh\necho HUTCH-EVIL-HOOK\n" >.gitreal/hooks/pre-commit'
like "$RC:$ERR" "^125:|Read-only file system" "  and directly in .gitreal/hooks -> EROFS"
check "  no hook in the real git directory" test ! -e .gitreal/hooks/pre-commit
rm -f .git .gitreal/hooks/pre-commit
mv .gitreal .git

# ---- racing the start-up: .git swapped for a symlink while hutch builds the view ---------------
# A concurrent process (on the host: a sandboxed one cannot rename the pinned .git, see below)
# swaps .git for symlinks, one to the real git directory under another name and one to a git
# directory outside the workspace, while hutch starts again and again. The sandboxed command
# tries to plant a hook. Whatever the timing, no hook may land and nothing outside the
# workspace may be written.
OUTSIDE=$T/outside-git
cp -a "$WS/.git" "$OUTSIDE"
outside_before=$(tree_snapshot "$OUTSIDE")
STOP=$T/stop-swap
(
	while [ ! -e "$STOP" ]; do
		mv .git .git.real && ln -s .git.real .git && rm .git &&
			ln -s "$OUTSIDE" .git && rm .git && mv .git.real .git
	done
) 2>/dev/null &
SWAPPER=$!
bg_register "$SWAPPER"
declare -A OUTCOME=()
for _ in $(seq 40); do
	hrun run -- sh -c 'printf "#!/bin/sh\necho HUTCH-EVIL-HOOK\n" >.git/hooks/pre-commit && echo planted'
	OUTCOME["$RC:$OUT"]=$((${OUTCOME["$RC:$OUT"]:-0} + 1))
done
touch "$STOP"
wait "$SWAPPER" 2>/dev/null
if [ -L .git ] || [ ! -e .git ]; then
	rm -f .git
	mv .git.real .git
fi
for k in "${!OUTCOME[@]}"; do note "  start-up race: ${OUTCOME[$k]} x exit:output '$k'"; done
LAST_CMD=
found=$(grep -rl HUTCH-EVIL-HOOK "$WS" "$OUTSIDE" 2>/dev/null)
# A process *outside* any sandbox that renames the user's .git while hutch starts can move
# the protected directory away between planning and mounting (or put it back after a
# plan that saw no .git): a known residual risk (docs/THREAT_MODEL.md), reported as TODO.
# The threat model's attacker is the sandboxed tree, tested just below: it cannot rename
# the pinned .git at all.
_T_N=$((_T_N + 1))
if [ -z "$found" ]; then
	echo "ok $_T_N - host-side start-up race with .git swapped for symlinks: no hook landed # TODO residual risk (unsandboxed renamer)"
else
	echo "not ok $_T_N - host-side start-up race with .git swapped for symlinks: no hook landed # TODO residual risk (unsandboxed renamer)"
fi
same_tree "$outside_before" "$(tree_snapshot "$OUTSIDE")" "  the git directory outside the workspace is untouched"
rm -f .git/hooks/pre-commit

# The sandboxed version of the same attacker: a session swapping .git in a loop while
# others start. The pinned .git cannot be renamed at all.
hrun_bg run -- sh -c 'for i in $(seq 300); do mv .git .git.real 2>>/tmp/err || continue;
	ln -s .git.real .git; rm .git; mv .git.real .git; done; sort -u /tmp/err | head -3'
for _ in $(seq 10); do
	hrun run -- sh -c 'printf "#!/bin/sh\necho HUTCH-EVIL-HOOK\n" >.git/hooks/pre-commit'
done
wait_hutch "$HUTCH_TEST_TIMEOUT"
like "$OUT" "Device or resource busy" "a sandboxed swapper cannot rename .git (EBUSY: pinned)"
found=$(grep -rl HUTCH-EVIL-HOOK "$WS" 2>/dev/null)
is "$found" "" "  and no hook landed from the sandboxes started meanwhile"

done_testing
