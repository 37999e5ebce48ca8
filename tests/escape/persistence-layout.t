#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Persistence through the repository's layout: submodules whose git directories lie deep
# under .git/modules, linked worktrees, protected paths that are symbolic links, the
# directories above protected paths (renamed and copied back without the protection), and
# the policy files of the run itself. Each attempt from inside must fail with its specific
# error; the proof is on the host: afterwards the user's own git (run here, outside hutch)
# executes nothing planted, shows no planted setting, and the workspace is as before.
#
# Layers under test: protect.c (git directories at any depth under .git/modules, worktree
# files, link targets, pins of every directory above what is protected, pinned or hidden),
# policy files added to the protected paths (config.c), the placeholders (journal.c).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

MARK=$T/layout-ran
PAYLOAD="touch $MARK"
HOOK="printf '#!/bin/sh\\n$PAYLOAD\\n'"

# attempt NAME ERRTEXT SCRIPT [HUTCH ARGS...]: SCRIPT (bash -c, inside) must fail with ERRTEXT.
attempt() {
	local name=$1 errtext=$2 script=$3
	shift 3
	hrun run "$@" -- bash -c "$script"
	if [ "$RC" != 0 ] && grep -Fq -- "$errtext" <<<"$ERR"; then
		pass "$name -> $errtext"
	else
		fail "$name -> $errtext"
		diag "exit $RC, stderr: $ERR"
	fi
}

# user_git ARGS: the user's git on the host, after the sandbox ran.
user_git() { git -c user.name=u -c user.email=u@hutch.invalid -c protocol.file.allow=always "$@"; }

# ---- the layout ------------------------------------------------------------------------------
# A submodule named third_party/lib (its git dir .git/modules/third_party/lib), which has a
# submodule of its own (.git/modules/third_party/lib/modules/deps/inner); a nested repository
# in a subdirectory; a linked worktree; .git/hooks and .claude as symbolic links; a dangling
# .codex link; a hidden file and a policy file in subdirectories.
make_git_repo "$T/lib-src" >/dev/null
make_git_repo "$T/inner-src" >/dev/null
(
	cd "$T/lib-src" && user_git submodule -q add "$T/inner-src" deps/inner &&
		user_git commit -qm "inner" >/dev/null
) >/dev/null 2>&1
user_git submodule -q add --name third_party/lib "$T/lib-src" third_party/lib >/dev/null 2>&1
user_git submodule -q update --init --recursive >/dev/null 2>&1
user_git commit -qm "submodules" >/dev/null 2>&1
LIB_GD=.git/modules/third_party/lib
INNER_GD=$LIB_GD/modules/deps/inner
check "setup: the submodule's git dir is $LIB_GD" test -f "$LIB_GD/HEAD"
check "setup: its own submodule's git dir is $INNER_GD" test -f "$INNER_GD/HEAD"
make_git_repo "$WS/sub/nested" >/dev/null
user_git worktree add -q "$T/wt" >/dev/null 2>&1
git config extensions.worktreeConfig true
check "setup: the worktree's directory .git/worktrees/wt" test -f .git/worktrees/wt/commondir
mkdir -p tools/githooks .agent-config secrets conf
rm -rf .git/hooks
ln -s ../tools/githooks .git/hooks
echo '{"permissions": {}}' >.agent-config/settings.json
ln -s .agent-config .claude
ln -s .codex-real .codex
mkdir gem-real vscode-real
ln -s gem-real .gem1 && ln -s .gem1 .gemini # a chain of links
ln -s "$WS/vscode-real" .vscode             # an absolute link inside the workspace
echo "not a secret, but hidden" >secrets/key
echo '{"network": {"mode": "none"}}' >conf/pol.json
echo '{"filesystem": {"allowWrite": ["."]}}' >srt.json
hrun run -- true # hutch's own state (placeholder journal) exists from now on
before=$(tree_snapshot "$WS")
wt_before=$(tree_snapshot "$T/wt")

# ---- submodules at any depth under .git/modules ----------------------------------------------
attempt "a hook in $LIB_GD/hooks (submodule named third_party/lib)" "Read-only file system" \
	"$HOOK > $LIB_GD/hooks/pre-commit && chmod +x $LIB_GD/hooks/pre-commit"
attempt "git config core.fsmonitor in third_party/lib" "could not write config file" \
	"cd third_party/lib && git config core.fsmonitor '$PAYLOAD'"
attempt "a hook in $INNER_GD/hooks (a submodule's submodule)" "Read-only file system" \
	"$HOOK > $INNER_GD/hooks/pre-commit && chmod +x $INNER_GD/hooks/pre-commit"
attempt "git config core.fsmonitor in third_party/lib/deps/inner" "could not write config file" \
	"cd third_party/lib/deps/inner && git config core.fsmonitor '$PAYLOAD'"

# ---- renaming a directory above something protected, to copy it back unprotected -------------
for pair in ".git/modules .git/m" ".git/modules/third_party .git/modules/tp" \
	"$LIB_GD/modules $LIB_GD/m" "$LIB_GD/modules/deps $LIB_GD/modules/d" ".git g" \
	".git/worktrees .git/w" ".git/worktrees/wt .git/worktrees/w" "sub sub2" \
	"tools tools2"; do
	# shellcheck disable=SC2086 # two words: from, to
	set -- $pair
	attempt "mv $1 $2 (to cp -a it back without the protection)" "Device or resource busy" \
		"mv $1 $2 && cp -a $2 $1 && $HOOK > $1/x"
done
attempt "mv secrets (above a hidden path) to copy it back" "Device or resource busy" \
	"mv secrets s2 && mkdir secrets" --hide "$WS/secrets/key"
attempt "mv conf (above the policy file -p conf/pol.json) to copy it back" \
	"Device or resource busy" "mv conf conf2 && cp -a conf2 conf" -p "$WS/conf/pol.json"

# ---- linked worktrees: the files git reads from .git/worktrees/NAME -------------------------
attempt "config.worktree of the linked worktree" "Read-only file system" \
	"printf '[core]\\n\\tfsmonitor = $PAYLOAD\\n' > .git/worktrees/wt/config.worktree"
attempt "commondir of the linked worktree" "Read-only file system" \
	"echo ../../../.gitcommon > .git/worktrees/wt/commondir"
attempt "gitdir of the linked worktree" "Read-only file system" \
	"echo /elsewhere/.git > .git/worktrees/wt/gitdir"
attempt "the main .git/config.worktree" "Read-only file system" \
	"printf '[core]\\n\\tfsmonitor = $PAYLOAD\\n' > .git/config.worktree"
attempt "git config --worktree core.fsmonitor" "could not write config file" \
	"git config --worktree core.fsmonitor '$PAYLOAD'"

# ---- protected paths that are symbolic links -------------------------------------------------
attempt "a hook through .git/hooks -> ../tools/githooks" "Read-only file system" \
	"$HOOK > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"
attempt "a hook straight into tools/githooks (the link's target)" "Read-only file system" \
	"$HOOK > tools/githooks/pre-commit && chmod +x tools/githooks/pre-commit"
attempt "replacing the link .git/hooks" "Device or resource busy" "rm .git/hooks"
attempt ".claude/settings.json through .claude -> .agent-config" "Read-only file system" \
	"echo '{\"hooks\":{}}' > .claude/settings.json"
attempt ".agent-config/settings.json (the link's target)" "Read-only file system" \
	"echo '{\"hooks\":{}}' > .agent-config/settings.json"
attempt "creating the missing target of .codex -> .codex-real" "File exists" "mkdir .codex-real"
attempt "writing through .codex -> .codex-real (a placeholder)" "Read-only file system" \
	"echo x > .codex/config.toml"

attempt "replacing .gem1, a link in the chain .gemini -> .gem1 -> gem-real" \
	"Device or resource busy" "rm .gem1 && ln -s /tmp .gem1"
attempt "gem-real/settings.json (the end of the chain)" "Read-only file system" \
	"echo '{\"hooks\":{}}' > gem-real/settings.json"
attempt "vscode-real/tasks.json (.vscode -> \$WS/vscode-real, absolute)" "Read-only file system" \
	"echo '{}' > vscode-real/tasks.json"

# ---- the policy files of the run -----------------------------------------------------------
attempt "-p conf/pol.json rewritten from inside" "Read-only file system" \
	"echo '{\"network\": {\"mode\": \"host\"}}' > conf/pol.json" -p "$WS/conf/pol.json"
attempt "--srt-settings srt.json rewritten from inside" "Read-only file system" \
	"echo '{}' > srt.json" --srt-settings "$WS/srt.json"
hrun run -p conf/pol.json -- true
is "$RC" 0 "a run with -p conf/pol.json (relative) works"
ln -s conf/pol.json pol-link.json
attempt "-p pol-link.json -> conf/pol.json: pointing the link elsewhere" "Device or resource busy" \
	"rm pol-link.json && echo '{}' > other.json && ln -s other.json pol-link.json" -p pol-link.json
attempt "-p pol-link.json -> conf/pol.json: the file it names" "Read-only file system" \
	"echo '{}' > conf/pol.json" -p pol-link.json
rm pol-link.json

# ---- the host afterwards ---------------------------------------------------------------------
LAST_CMD=
same_tree "$before" "$(tree_snapshot "$WS")" \
	"the workspace is exactly as before: nothing planted, no placeholder left behind"
same_tree "$wt_before" "$(tree_snapshot "$T/wt")" "the linked worktree is exactly as before"
for d in . third_party/lib third_party/lib/deps/inner sub/nested "$T/wt"; do
	user_git -C "$d" status >/dev/null 2>&1
	user_git -C "$d" commit -q --allow-empty -m "after the sandbox" >/dev/null 2>&1
	unlike "$(git -C "$d" config --list 2>&1)" "fsmonitor|hookspath" \
		"$d: the user's git config --list shows no planted setting"
done
check "the user's git status and commit in each repository ran nothing planted" test ! -e "$MARK"
rm -f "$MARK"

# ---- a protected link whose target's directories hold a link: refused, not half protected ----
mkdir -p idea-real/sub && ln -s idea-real idea-dir && ln -s idea-dir/sub .idea
hrun run -- true
is "$RC" 125 ".idea -> idea-dir/sub with idea-dir a link (swappable from inside): the run is refused"
like "$ERR" "cannot follow safely" "  and says why"
rm -rf .idea idea-dir idea-real

# ---- bounds of the search under .git/modules: refused, not cut --------------------------------
deep=.git/modules/$(printf 'd/%.0s' $(seq 17))
mkdir -p "$deep"
hrun run -- true
is "$RC" 125 "directories nested 17 deep under .git/modules: the run is refused"
like "$ERR" "cannot protect them all" "  and says why"
rm -rf .git/modules/d
mkdir -p .git/modules/many
for i in $(seq 513); do
	mkdir -p ".git/modules/many/m$i" && echo "ref: refs/heads/main" >".git/modules/many/m$i/HEAD" &&
		: >".git/modules/many/m$i/config"
done
hrun run -- true
is "$RC" 125 "513 git directories under .git/modules: the run is refused"
like "$ERR" "more than 512 git directories" "  and says why"
rm -rf .git/modules/many
hrun run -- true
is "$RC" 0 "without them, runs work again"

done_testing
