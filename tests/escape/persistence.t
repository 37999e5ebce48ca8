#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Persistence: planting something that runs later, outside the sandbox, when the user runs
# git, opens a shell or an editor, enters the directory or starts an agent. Each attempt
# must fail with its specific error, and the proof is on the host: afterwards the user's
# own git (run here, outside hutch) executes nothing planted, and the workspace is exactly
# as before (no placeholder left behind).
#
# Layers under test: protected paths (read-only binds; empty read-only placeholder
# directories for those that do not exist yet), pinned git directories (EBUSY on rename),
# the read-only home, hidden ~/.ssh.
# shellcheck source=tests/lib.sh disable=SC2088
. "$(dirname "$0")/../lib.sh"
require_sandbox

MARK=$T/persistence-ran
PAYLOAD="touch $MARK"

# attempt NAME ERRTEXT SCRIPT: SCRIPT (sh -c, inside) must fail with ERRTEXT on stderr.
# RUN_ARG: one more option for hutch run.
attempt() {
	local name=$1 errtext=$2 script=$3
	hrun run ${RUN_ARG:+"$RUN_ARG"} -- bash -c "$script"
	if [ "$RC" != 0 ] && grep -Fq -- "$errtext" <<<"$ERR"; then
		pass "$name -> $errtext"
	else
		fail "$name -> $errtext"
		diag "exit $RC, stderr: $ERR"
	fi
}

# user_git ARGS: the user's git on the host, after the sandbox ran.
user_git() { git -c user.name=u -c user.email=u@hutch.invalid "$@" >/dev/null 2>&1; }

make_git_repo "$WS/nested" >/dev/null
mkdir -p .vscode .claude
echo '{"editor.fontSize": 12}' >.vscode/settings.json
echo '{"permissions": {}}' >.claude/settings.local.json
echo "# original hook" >.git/hooks/post-checkout
chmod 755 .git/hooks/post-checkout
git add -A >/dev/null 2>&1 && git commit -qm "editor and agent settings" >/dev/null
hrun run -- true # hutch's own state (placeholder journal) exists from now on
before=$(tree_snapshot "$WS")
home_before=$(tree_snapshot "$HOME")

HOOK="printf '#!/bin/sh\\n$PAYLOAD\\n'"
for r in . nested; do
	attempt "$r: a new hook .git/hooks/pre-commit" "Read-only file system" \
		"$HOOK > $r/.git/hooks/pre-commit && chmod +x $r/.git/hooks/pre-commit"
	attempt "$r: git config core.fsmonitor (runs on every git status)" \
		"could not write config file" "cd $r && git config core.fsmonitor '$PAYLOAD'"
	attempt "$r: git config core.hooksPath" "Device or resource busy" \
		"cd $r && git config core.hooksPath /tmp"
done
attempt "modifying an existing hook" "Read-only file system" "echo '$PAYLOAD' >> .git/hooks/post-checkout"
attempt "removing .git/hooks to recreate it" "Read-only file system" "rm -rf .git/hooks"
attempt "moving .git away to recreate it" "Device or resource busy" "mv .git .git-away"
attempt "git config --global (~/.gitconfig)" "Read-only file system" \
	"git config --global core.fsmonitor '$PAYLOAD'"
attempt "git config --system" "could not lock config file" \
	"git config --system core.fsmonitor '$PAYLOAD'"

# Shell rc files, at the workspace root (a placeholder directory) when the workspace is a
# home (a shell reads them nowhere else: src/lib/base/homedir.c), and in the home.
HOME=$WS RUN_ARG=--allow-dangerous-workspace attempt "workspace .bashrc (the workspace is \$HOME)" "Is a directory" "echo '$PAYLOAD' > .bashrc"
HOME=$WS RUN_ARG=--allow-dangerous-workspace attempt "workspace .profile (the workspace is \$HOME)" "Is a directory" "echo '$PAYLOAD' > .profile"
ZDOTDIR=$WS attempt "workspace .zshrc (the workspace is \$ZDOTDIR)" "Is a directory" "echo '$PAYLOAD' > .zshrc"
attempt "~/.bashrc" "Read-only file system" "echo '$PAYLOAD' >> ~/.bashrc"
attempt "~/.zshrc" "Read-only file system" "echo '$PAYLOAD' >> ~/.zshrc"
attempt "~/.config/systemd/user/ (a user service)" "Read-only file system" \
	"mkdir -p ~/.config/systemd/user"
attempt "~/.config/autostart/ (desktop autostart)" "Read-only file system" \
	"mkdir -p ~/.config/autostart"
attempt "~/.ssh/authorized_keys" "No such file or directory" "echo key >> ~/.ssh/authorized_keys"

# Editors, direnv, agents: new and existing files.
attempt ".vscode/tasks.json (runOn: folderOpen)" "Read-only file system" \
	"echo '{\"tasks\":[{\"command\":\"$PAYLOAD\"}]}' > .vscode/tasks.json"
attempt "existing .vscode/settings.json" "Read-only file system" "echo '{}' > .vscode/settings.json"
attempt ".envrc (direnv)" "Is a directory" "echo '$PAYLOAD' > .envrc"
attempt ".claude/settings.json (agent hooks)" "Read-only file system" \
	"echo '{\"hooks\":{}}' > .claude/settings.json"
attempt "existing .claude/settings.local.json" "Read-only file system" \
	"echo '{}' > .claude/settings.local.json"
attempt ".mcp.json (MCP servers the agent starts)" "Is a directory" \
	"echo '{\"mcpServers\":{\"x\":{\"command\":\"sh\"}}}' > .mcp.json"
attempt "nested/.mcp.json" "Is a directory" "echo '{}' > nested/.mcp.json"
attempt ".idea/workspace.xml" "Read-only file system" "mkdir -p .idea && echo x > .idea/workspace.xml"
attempt ".codex/config.toml" "Read-only file system" "mkdir -p .codex && echo x > .codex/config.toml"
attempt ".gemini/settings.json" "Read-only file system" "mkdir -p .gemini && echo x > .gemini/settings.json"
attempt ".gitmodules" "Is a directory" "echo '[submodule \"x\"]' > .gitmodules"
# hutch's own policy files.
attempt "the project policy .hutch.json" "Is a directory" "echo '{\"network\":{\"mode\":\"host\"}}' > .hutch.json"
attempt "the user policy ~/.config/hutch/policy.json" "Read-only file system" \
	"mkdir -p ~/.config/hutch && echo '{}' > ~/.config/hutch/policy.json"
# The system policy's directory, made to exist whatever this machine has: /etc/hutch is a
# directory of this test in a private mount namespace (hrun_etc_hutch in tests/lib.sh).
# Writing a new policy.json and overwriting an existing one both fail, and on the host the
# directory is exactly as before.
etc_hutch=$T/etc-hutch
mkdir -p "$etc_hutch"
for what in new existing; do
	[ "$what" = existing ] && echo '{ "limits": { "pids": 500 } }' >"$etc_hutch/policy.json"
	etc_before=$(tree_snapshot "$etc_hutch")
	hrun_etc_hutch "$etc_hutch" run -- bash -c "echo '{}' > /etc/hutch/policy.json"
	if [ "$RC" != 0 ] && grep -Fq -- "Read-only file system" <<<"$ERR"; then
		pass "the system policy /etc/hutch/policy.json ($what) -> Read-only file system"
	else
		fail "the system policy /etc/hutch/policy.json ($what) -> Read-only file system"
		diag "exit $RC, stderr: $ERR"
	fi
	LAST_CMD=
	same_tree "$etc_before" "$(tree_snapshot "$etc_hutch")" "  /etc/hutch on the host is as before"
done

LAST_CMD=
same_tree "$before" "$(tree_snapshot "$WS")" \
	"the workspace is exactly as before: nothing planted, no placeholder left behind"
# (hutch's own state excepted: recycled placeholder directories, empty, and the cache of its
# repository search, both in its state directory, which the sandbox cannot see)
own='/hutch/placeholders/(\.stash/|\.free-)|/hutch/scan( |/)'
same_tree "$(grep -Ev "$own" <<<"$home_before")" \
	"$(tree_snapshot "$HOME" | grep -Ev "$own")" "the home is exactly as before"
user_git status
user_git -C nested status
user_git commit -q --allow-empty -m "after the sandbox"
user_git checkout -q -b side
check "the user's git status/commit/checkout afterwards ran nothing planted" test ! -e "$MARK"

# ---- a protected path that does not exist yet ----------------------------------------------
rm -rf nested/.git/hooks
attempt "nested/.git/hooks removed beforehand: mkdir it" "File exists" "mkdir nested/.git/hooks"
attempt "nested/.git/hooks removed beforehand: a hook in it" "Read-only file system" \
	"$HOOK > nested/.git/hooks/post-commit"
check "  no nested/.git/hooks on the host afterwards (the placeholder is gone)" test ! -e nested/.git/hooks
mkdir nested/.git/hooks

# ---- git's commondir: a git directory redirecting config and hooks elsewhere ----------------
# .git/commondir names the directory git takes config and hooks from. The sandbox builds a
# copy of the repository with a hook and points commondir at it.
hrun run -- sh -c "mkdir -p .gitcommon/hooks && cp -r .git/objects .git/refs .git/HEAD .git/config .gitcommon/ &&
	$HOOK > .gitcommon/hooks/pre-commit && chmod +x .gitcommon/hooks/pre-commit &&
	echo ../.gitcommon > .git/commondir"
user_git commit -q --allow-empty -m "after commondir"
check ".git/commondir pointing at a planted git directory: the user's next commit ran no hook" \
	test ! -e "$MARK"
rm -rf .git/commondir .gitcommon "$MARK"

# The same, when hutch does not get to clean up: killed with SIGKILL (an agent harness's
# timeout, the OOM killer), the user's next commit must still run nothing planted.
READY=$T/commondir-ready
hrun_bg run --rw "$T" -- sh -c "mkdir -p .gitcommon/hooks &&
	cp -r .git/objects .git/refs .git/HEAD .git/config .gitcommon/ &&
	$HOOK > .gitcommon/hooks/pre-commit && chmod +x .gitcommon/hooks/pre-commit;
	echo ../.gitcommon > .git/commondir; touch $READY; sleep 100"
wait_for_file "$READY" 10
kill -KILL "$HPID"
wait_hutch 10
user_git commit -q --allow-empty -m "after a killed session"
check ".git/commondir planted, hutch killed with SIGKILL: the user's next commit ran no hook" \
	test ! -e "$MARK"
rm -rf .git/commondir .gitcommon "$MARK" "$READY"

# ---- repositories the sandbox creates, repositories the start-up search misses -------------
# Not protected at start-up (nothing existed to protect, or beyond protect.c's search budget:
# depth 3, skipped directories such as node_modules and vendor); the end-of-run check
# (src/lib/audit/gitguard.c) takes the planted key out. More layouts: persistence-git.t.
# absent NAME: $MARK does not exist, i.e. the planted code did not run.
absent() {
	check "$1" test ! -e "$MARK"
	rm -f "$MARK"
}
mkdir -p src
hrun run -- sh -c "cd src && git init -q && git config core.fsmonitor '$PAYLOAD'"
(cd src && user_git status)
absent "a repository the sandbox creates in src/ (git init): the user's git status there runs nothing"
rm -rf src

for d in a/b/c/d node_modules/pkg; do
	make_git_repo "$WS/$d" >/dev/null
	hrun run -- sh -c "cd $d && git config core.fsmonitor '$PAYLOAD'"
	(cd "$d" && user_git status)
	absent "an existing repository at $d (beyond the search budget): git config core.fsmonitor is neutralised"
	rm -rf "${WS:?}/${d%%/*}"
done

done_testing
