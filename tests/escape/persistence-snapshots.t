#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Persistence through files that a copy of the agent running OUTSIDE at the same time
# re-reads and executes. Claude Code writes ~/.claude/shell-snapshots/snapshot-<shell>-
# <time>-<random>.sh at each session's start and sources it before every Bash command of
# that session; Codex does the same with ~/.codex/shell_snapshots/<session>.<nonce>.sh.
# Claude Code also connects to the IDE a lock file in ~/.claude/ide names. The agent
# profiles make those directories private: an empty tmpfs directory of the sandbox's own
# over each, never the host's. Each attack is made inside (append to the outside
# session's snapshot, create a new one, move the directory away, replace it with a
# symbolic link); the proof is on the host afterwards: the outside snapshot is
# byte-identical, nothing new is there, and a real `bash -c 'source FILE'` runs no
# planted code.
#
# Layer under test: the mount plan's private paths (src/lib/sandbox/mount.c,
# filesystem.private) and the profiles that list them (src/lib/policy/profiles.c).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

MARK=$T/snapshot-code-ran

# attack DIR FILE: inside, what a session would do to the outside session's snapshot FILE
# in DIR: read it, append to it, create another, move the directory, put a link there.
attack_script() {
	local d=$1 f=$2
	cat <<EOF
ls -A '$d' | wc -l | sed 's/^/entries=/'
cat '$d/$f' 2>/dev/null | grep -q OUTSIDE && echo saw-outside
echo 'touch $MARK' >>'$d/$f' && echo appended
printf 'touch $MARK\n' >'$d/snapshot-bash-2-planted.sh' && echo created
mv '$d' '$d.away' 2>/dev/null && echo moved
rm -rf '$d' 2>/dev/null; ln -sT '$T' '$d' 2>/dev/null && echo linked
true
EOF
}

# check_host NAME DIR FILE ORIG: after the run, DIR holds FILE alone, as it was.
check_host() {
	local name=$1 d=$2 f=$3 orig=$4
	check "  $name: still a directory (not a link)" test -d "$d" -a ! -L "$d"
	is "$(ls -A "$d")" "$f" "  $name: nothing new in it"
	check "  $name: the outside session's snapshot is byte-identical" cmp -s "$d/$f" "$orig"
	check "  $name: nothing moved beside it" test ! -e "$d.away"
	rm -f "$MARK"
	bash -c "source '$d/$f' 2>/dev/null || true; true"
	check "  $name: sourcing it on the host runs no planted code" test ! -e "$MARK"
}

# ---- Claude Code: ~/.claude/shell-snapshots ------------------------------------------------
SNAPS=$HOME/.claude/shell-snapshots
SNAP=snapshot-bash-1-x.sh
mkdir -p "$SNAPS"
printf '# Snapshot file\nexport OUTSIDE=1\n' >"$SNAPS/$SNAP"
cp "$SNAPS/$SNAP" "$T/claude.orig"
hrun run --profile claude-code -- sh -c "$(attack_script "$SNAPS" "$SNAP")"
is "$RC" 0 "claude-code: the attacks ran (exit 0; $ERR)"
like "$OUT" "entries=0" "  inside, the snapshot directory is empty (a directory of its own)"
unlike "$OUT" "saw-outside" "  the outside session's snapshot is not readable inside"
like "$OUT" "appended" "  the directory is writable inside (Claude Code's own snapshots go there)"
like "$OUT" "created" "  a new file can be made there"
unlike "$OUT" "moved" "  the directory cannot be moved away"
unlike "$OUT" "linked" "  nor replaced with a symbolic link"
check_host "claude-code" "$SNAPS" "$SNAP" "$T/claude.orig"

# ---- Claude Code: ~/.claude/ide (the IDEs' lock files, with their auth token) --------------
IDE=$HOME/.claude/ide
mkdir -p "$IDE"
printf '{"pid":1,"workspaceFolders":["%s"],"ideName":"X","transport":"ws","authToken":"tok-%s"}\n' \
	"$WS" "$SECRET_MARK" >"$IDE/45678.lock"
cp "$IDE/45678.lock" "$T/ide.orig"
hrun run --profile claude-code -- sh -c "cat '$IDE/45678.lock' 2>/dev/null; ls -A '$IDE' | wc -l | sed 's/^/entries=/'
	printf '{\"workspaceFolders\":[\"$WS\"],\"transport\":\"ws\"}' >'$IDE/1234.lock' && echo planted
	rm -f '$IDE/45678.lock' && echo removed"
like "$OUT" "entries=0" "claude-code: inside, ~/.claude/ide is empty"
unlike "$OUT" "tok-" "  the IDE's auth token is not readable inside"
like "$OUT" "planted" "  a lock file written inside ..."
is "$(ls -A "$IDE")" "45678.lock" "  ... is not on the host, whose own lock file stays"
check "  the host's lock file is byte-identical" cmp -s "$IDE/45678.lock" "$T/ide.orig"
rm -f "$IDE/45678.lock"

# ---- a missing snapshot directory: made by the profile, then private ----------------------
rm -rf "$SNAPS" "$IDE"
hrun run --profile claude-code -- sh -c "echo 'touch $MARK' >'$SNAPS/snapshot-bash-3-z.sh' && echo created"
like "$OUT" "created" "missing ~/.claude/shell-snapshots: writable inside"
check "  made on the host (the profile's own directory) ..." test -d "$SNAPS" -a ! -L "$SNAPS"
is "$(ls -A "$SNAPS")" "" "  ... and empty after the run"

# ---- a symbolic link there: refused, not followed ------------------------------------------
rmdir "$SNAPS"
mkdir -p "$WS/elsewhere"
ln -s "$WS/elsewhere" "$SNAPS"
hrun run --profile claude-code -- true
is "$RC" 125 "a symbolic link at ~/.claude/shell-snapshots: hutch refuses to run"
like "$ERR" "private path $(re_quote "$SNAPS (profile claude-code)"): is a symbolic link" "  saying why"
rm "$SNAPS"
mkdir "$SNAPS"

# ---- a missing private path inside a writable root: refused ---------------------------------
mkdir -p "$T/state"
hrun run --rw "$T/state" --private "$T/state/snaps" -- true
is "$RC" 125 "--private of a missing directory inside a writable root: refused"
like "$ERR" "does not exist, and the sandbox could create it on the host" "  saying why"
like "$ERR" "mkdir -p $(re_quote "$T/state/snaps")" "  and how to fix it"
check "  nothing was made on the host" test ! -e "$T/state/snaps"
mkdir -p "$T/state/a/snaps"
hrun run --rw "$T/state" --private "$T/state/a/snaps" -- sh -c "mv '$T/state/a' '$T/state/b' 2>/dev/null && echo moved; echo ran"
like "$OUT" "ran" "--private beneath a writable root: the run works"
unlike "$OUT" "moved" "  the directory above it cannot be renamed (the mount would go along)"
check "  it is where it was" test -d "$T/state/a/snaps" -a ! -e "$T/state/b"

# ---- Codex: ~/.codex/shell_snapshots (its private home links there) ------------------------
CSNAPS=$HOME/.codex/shell_snapshots
CSNAP=0199a0b0-1111-7222-8333-444455556666.1.sh
mkdir -p "$CSNAPS"
printf '# Snapshot file\nexport OUTSIDE=1\n' >"$CSNAPS/$CSNAP"
cp "$CSNAPS/$CSNAP" "$T/codex.orig"
hrun run --profile codex -- sh -c "$(attack_script "$CSNAPS" "$CSNAP")
	echo x >\"\$CODEX_HOME/shell_snapshots/through-link.sh\" && echo through-link"
is "$RC" 0 "codex: the attacks ran (exit 0; $ERR)"
like "$OUT" "entries=0" "  inside, ~/.codex/shell_snapshots is empty"
like "$OUT" "appended" "  and writable"
like "$OUT" "through-link" "  Codex's private home's link lands in it"
unlike "$OUT" "moved" "  it cannot be moved away"
unlike "$OUT" "linked" "  nor replaced with a symbolic link"
check_host "codex" "$CSNAPS" "$CSNAP" "$T/codex.orig"

done_testing
