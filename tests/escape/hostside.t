#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Host side: what hutch itself does on the host after (or while) a sandbox runs must not
# be steerable from inside. The placeholder clean-up works in directories the sandbox can
# write; the sandbox moves such a directory away and leaves a symlink to the parent of the
# user's home in its place, so that the clean-up of ".../x/home/.vscode" would act on
# ~/.vscode (the sandbox cannot move it, it is pinned, protect.c: the move is made by a
# process of the host while the sandbox runs; x/home is no home, so it gets no .bashrc
# placeholder: base/homedir.c). Checked on the HOST after the runs: a 0600 file and a 0700 directory outside
# the workspace keep their modes, a file outside is not deleted, nothing of the user's is
# moved into hutch's stash, and hutch notes what it left in STATE/placeholders/.refused.
#
# Layer under test: src/lib/sandbox/journal.c (every operation relative to the placeholder's
# directory opened with openat2(RESOLVE_NO_SYMLINKS), only on the inode it placed).
# A nested "hutch run" inside the sandbox is not possible (no user namespaces inside), so
# the shared-tree case is a second, concurrent sandbox on the same workspace.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

STATE=$XDG_STATE_HOME/hutch/placeholders

# What a clean-up through the symlink would hit: x/home is $HOME once x -> $T.
printf 'fake key %s\n' "$SECRET_MARK" >"$HOME/.bashrc"
chmod 600 "$HOME/.bashrc"
chmod 700 "$HOME/.claude"
mkdir -p "$HOME/.vscode" "$HOME/.git"
chmod 700 "$HOME/.vscode"
printf '.\n' >"$HOME/.git/commondir" # exactly what hutch's own placeholder holds

home_state() {
	stat -c '%n %a %i' "$HOME/.bashrc" "$HOME/.claude" "$HOME/.vscode" \
		"$HOME/.git/commondir" 2>&1
}
home_before=$(home_state)
vscode_ino=$(stat -c %i "$HOME/.vscode")

# check_host WHAT: the user's files outside the workspace are as before.
check_host() {
	local what=$1
	is "$(stat -c %a "$HOME/.bashrc")" 600 "$what: ~/.bashrc (a 0600 file outside) keeps mode 0600"
	is "$(stat -c %a "$HOME/.claude")" 700 "$what: ~/.claude keeps mode 0700"
	ok "$(test -f "$HOME/.git/commondir")$?" "$what: ~/.git/commondir (a file outside) is not deleted"
	is "$(stat -c %i "$HOME/.vscode" 2>&1)" "$vscode_ino" \
		"$what: the empty ~/.vscode stays where it is (same inode)"
	if [ -d "$STATE/.stash" ] &&
		find "$STATE/.stash" -mindepth 1 -printf '%i\n' | grep -qx "$vscode_ino"; then
		fail "$what: nothing of the user's is in hutch's stash"
	else
		pass "$what: nothing of the user's is in hutch's stash"
	fi
	is "$(home_state)" "$home_before" "$what: the user's files are exactly as before"
	like "$(cat "$STATE/.refused" 2>/dev/null)" "$(re_quote "$WS/$2/home/").*symbolic link" \
		"$what: hutch noted the placeholders it left (STATE/placeholders/.refused)"
}

# tidy DIR: remove the symlink DIR and what was moved away (placeholders are read-only).
tidy() {
	rm -f "$WS/$1"
	chmod -R u+w "$WS/$1-away" 2>/dev/null
	rm -rf "$WS/$1-away"
	rm -f "$STATE/.refused" "$WS/ready"
}

# swap_on_host DIR: what the sandbox cannot do (DIR, above its placeholders, is pinned: EBUSY),
# done by a process of the host while the sandbox runs; then the sandbox is let go.
swap_on_host() {
	mv "$WS/$1" "$WS/$1-away" && ln -s "$T" "$WS/$1" && touch "$WS/go"
}

# ---- two runs: the first makes a nested repository, the second swaps it for a symlink ----
hrun run -- sh -c 'mkdir -p x/home/.git'
is "$RC" 0 "run 1: a nested repository x/home/.git"
hrun run -- sh -c "test -d x/home/.vscode && mv x x-away && ln -s '$T' x"
like "$ERR" "Device or resource busy" "run 2: x, above its placeholders, cannot be moved from inside"
rm -f "$WS/ready"
hrun_bg run -- sh -c 'touch ready; while [ ! -e go ]; do sleep 0.1; done'
# the workload runs: hutch has made all its placeholders (none is being made while we swap)
wait_for_file "$WS/ready" && test -d "$WS/x/home/.vscode" || fail "run 2 started"
swap_on_host x
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 0 "run 2: its placeholders are there; x moved away (on the host), x -> the home's parent"
[ "$RC" = 0 ] || diag "stderr: $(cat "$T/.bg.err")"
ok "$(test -L "$WS/x")$?" "  the symlink is on the host after run 2"
check_host "two runs" x
rm -f "$WS/go"
tidy x

# ---- two sandboxes sharing the tree: the second swaps the first one's directory ----
mkdir -p "$WS/c/home/.git"
rm -f "$WS/ready"
hrun_bg run -- sh -c 'touch ready; while [ ! -e go ]; do sleep 0.1; done'
if wait_for_file "$WS/ready" && test -d "$WS/c/home/.vscode"; then
	pass "sandbox A runs, its placeholders are in c/home"
else
	fail "sandbox A runs, its placeholders are in c/home"
fi
hrun run -- sh -c "mv c c-away && ln -s '$T' c && touch go"
like "$ERR" "Device or resource busy" "sandbox B (same workspace): c is pinned, cannot be moved"
swap_on_host c
pass "c moved away on the host, c -> the home's parent"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 0 "sandbox A ends (its clean-up runs now, the last user of the placeholders)"
check_host "concurrent sandboxes" c
rm -f "$WS/go"
tidy c

# ---- a run killed with its placeholders in place: the next run replays its journal ----
mkdir -p "$WS/k/home/.git"
hrun_bg run -- sh -c 'touch started; sleep 100'
wait_for_file "$WS/started" || fail "the sandbox to kill started"
wait_for_file "$WS/k/home/.vscode"
kill -KILL "$HPID"
wait_hutch "$HUTCH_TEST_TIMEOUT"
ok "$(test -d "$WS/k/home/.vscode")$?" "a killed run left its placeholders (journal replay next)"
mv "$WS/k" "$WS/k-away" && ln -s "$T" "$WS/k"
hrun run -- true
is "$RC" 0 "the next run starts (and replays the dead run's journal)"
check_host "journal replay" k
rm -f "$WS/started"
tidy k

# ---- the run that finds placeholders swapped says so on stderr (escaped, with what to check) ----
D=$(printf 'w\033[2Jx')
hrun run -- sh -c "mkdir -p '$D/home/.git'"
is "$RC" 0 "run 1: a nested repository in a directory whose name holds ESC"
rm -f "$WS/ready"
hrun_bg run -- sh -c 'touch ready; while [ ! -e go ]; do sleep 0.1; done'
wait_for_file "$WS/ready" && test -d "$WS/$D/home/.vscode" || fail "run 2 started"
mv "$WS/$D" "$WS/w-away" && ln -s "$T" "$WS/$D" && touch "$WS/go"
wait_hutch "$HUTCH_TEST_TIMEOUT"
ERR=$(cat "$T/.bg.err")
is "$RC" 0 "run 2: the directory swapped for a symlink (by the host, while it ran)"
like "$ERR" "hutch: warning: [0-9]+ placeholders? of protected paths left in place" \
	"  hutch run says how many placeholders it left"
like "$ERR" "$(re_quote "$WS/w\\x1b[2Jx/home/").*symbolic link" \
	"  naming the first ones, escaped"
like "$ERR" "check those paths in the workspace.*$(re_quote "$STATE/.refused")" \
	"  and what to check, where the full list is"
if printf '%s' "$ERR" | grep -qP '\x1b'; then
	fail "  no raw ESC on stderr"
else
	pass "  no raw ESC on stderr"
fi
is "$(home_state)" "$home_before" "warned run: the user's files are exactly as before"
rm -f "$WS/$D"
chmod -R u+w "$WS/w-away" 2>/dev/null
rm -rf "$WS/w-away"
rm -f "$STATE/.refused" "$WS/go"

done_testing
