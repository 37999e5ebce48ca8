#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Persistence through git in layouts a start-up search of paths to protect can miss:
# submodules named with "/", a renamed parent of a protected mount, repositories made
# inside the sandbox, hooks in the workspace (core.hooksPath, a symlinked hooks
# directory), included config files, a worktree redirected to another common directory,
# --separate-git-dir, a nested repository behind thousands of files. Each attack is done
# inside; the proof is on the host afterwards: the user's own git (run here, outside
# hutch) runs nothing planted, the end-of-run check put what was planted in the
# quarantine and said so on stderr. A legitimate commit made inside is left alone.
# With --ephemeral, hutch apply refuses the same paths unless --include-protected.
#
# Layer under test: the end-of-run check (src/lib/audit/gitguard.c) and its rules in hutch
# apply (src/lib/session/changes.c).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

MARK=$T/git-code-ran
PAYLOAD="touch $MARK"
HOOK="printf '#!/bin/sh\\\\n$PAYLOAD\\\\n' >"
Q=$XDG_STATE_HOME/hutch/quarantine

# user_git DIR ARGS: the user's git on the host, after the sandbox ran.
user_git() {
	local d=$1
	shift
	git -C "$d" -c user.name=u -c user.email=u@hutch.invalid -c commit.gpgsign=false "$@" \
		>/dev/null 2>&1
}

# attack NAME REPO PLANTED SCRIPT: SCRIPT runs inside and prints "planted" when its write
# went through. Then, on the host: git status and git commit in REPO run nothing planted;
# when planted, stderr names PLANTED (a path relative to the workspace) and the quarantine
# holds it.
attack() {
	local name=$1 repo=$2 planted=$3 script=$4
	rm -f "$MARK"
	hrun run -- bash -c "$script"
	local re=${planted//\*/.*}
	user_git "$WS/$repo" status
	user_git "$WS/$repo" commit -q --allow-empty -m "user commit"
	check "$name: the user's git runs nothing planted" test ! -e "$MARK"
	if grep -qx planted <<<"$OUT"; then
		like "$ERR" "quarantined $WS/$re|removed .* from $WS/$re" "$name: stderr names $planted"
		if [ -n "$(find "$Q" -path "*$WS/$planted*" 2>/dev/null)" ]; then
			pass "$name: the quarantine holds it"
		else
			fail "$name: the quarantine holds it"
			diag "stderr: $ERR"
		fi
	else
		pass "$name: blocked inside already (exit $RC)"
		pass "$name: (nothing to quarantine)"
	fi
}

# ---- the host's repositories, before any run ---------------------------------------------
make_git_repo "$T/src-lib" >/dev/null
git -C "$WS" -c protocol.file.allow=always submodule add -q "$T/src-lib" third_party/lib \
	>/dev/null 2>&1
git -C "$WS" commit -qm "a submodule named third_party/lib" >/dev/null
make_git_repo "$WS/husky" >/dev/null
mkdir -p "$WS/husky/.husky"
git -C "$WS/husky" config core.hooksPath .husky
make_git_repo "$WS/linked" >/dev/null
mkdir -p "$WS/linked/tools/githooks" "$WS/linked/conf"
rm -rf "$WS/linked/.git/hooks"
ln -s ../tools/githooks "$WS/linked/.git/hooks"
echo "[user]" >"$WS/linked/conf/extra.gitconfig"
git -C "$WS/linked" config include.path ../conf/extra.gitconfig
git -C "$WS/linked" worktree add -q ../linked-wt 2>/dev/null
make_git_repo "$WS/zzz/deep/er/repo" >/dev/null
[ -d "$WS/.git/modules/third_party/lib" ] || bail_out "git submodule add did not make .git/modules/third_party/lib"
hrun run -- true
is "$RC" 0 "a first run (the start-up state)"

# ---- the attacks ---------------------------------------------------------------------------
attack "a hook in a submodule named with a slash" third_party/lib \
	.git/modules/third_party/lib/hooks/pre-commit \
	"d=.git/modules/third_party/lib; $HOOK \$d/hooks/pre-commit && chmod +x \$d/hooks/pre-commit && echo planted"
attack "a hook in a renamed and copied parent of protected mounts" third_party/lib \
	"*third_party/lib/hooks/post-checkout" \
	"{ mv .git/modules x && cp -a x .git/modules && rm -rf x; d=.git/modules/third_party/lib
	   $HOOK \$d/hooks/post-checkout && chmod +x \$d/hooks/post-checkout && echo planted; } 2>/dev/null; true"
# the attack may leave the user's .git/modules renamed: put it back
[ -d "$WS/x" ] && rm -rf "$WS/.git/modules" && mv "$WS/x" "$WS/.git/modules"
attack "core.fsmonitor in a renamed-and-copied submodule config" third_party/lib \
	.git/modules/third_party/lib/config \
	"{ mv .git/modules x && cp -a x .git/modules && rm -rf x &&
	   git -C third_party/lib config core.fsmonitor '$PAYLOAD' && echo planted; } 2>/dev/null; true"
attack "a new repository: hook" sub sub/.git/hooks/pre-commit \
	"git init -q sub && $HOOK sub/.git/hooks/pre-commit && chmod +x sub/.git/hooks/pre-commit && echo planted"
rm -rf "$WS/sub"
attack "a new repository: core.fsmonitor" sub sub/.git/config \
	"git init -q sub && git -C sub config core.fsmonitor '$PAYLOAD' && echo planted"
rm -rf "$WS/sub"
# The check leaves a .git's own data directories (objects, refs, logs, ...) unwalked; a
# directory of another name with git's shape beside it (a HEAD file planted next to the
# project's logs/) must not make it skip a repository planted there.
attack "a repository in logs/ beside a planted HEAD file" logs/x logs/x/.git/hooks/pre-commit \
	"touch HEAD && mkdir -p refs objects && git init -q logs/x && $HOOK logs/x/.git/hooks/pre-commit &&
	 chmod +x logs/x/.git/hooks/pre-commit && echo planted"
rm -rf "$WS/logs" "$WS/HEAD" "$WS/refs" "$WS/objects"
attack "core.hooksPath in the workspace (husky)" husky husky/.husky/pre-commit \
	"$HOOK husky/.husky/pre-commit && chmod +x husky/.husky/pre-commit && echo planted"
attack "a symlinked hooks directory's target" linked linked/tools/githooks/pre-commit \
	"$HOOK linked/tools/githooks/pre-commit && chmod +x linked/tools/githooks/pre-commit && echo planted"
attack "an included config file" linked linked/conf/extra.gitconfig \
	"printf '[core]\\n\\tfsmonitor = $PAYLOAD\\n' >> linked/conf/extra.gitconfig && echo planted"
attack "a worktree redirected to a planted common directory" linked-wt evil-common/config \
	"{ cp -a linked/.git evil-common && rm -rf evil-common/hooks && mkdir evil-common/hooks &&
	   git --git-dir=evil-common config core.fsmonitor '$PAYLOAD' &&
	   echo ../../../evil-common > linked/.git/worktrees/linked-wt/commondir && echo planted; } 2>/dev/null; true"
check "  (the worktree is restored for what follows)" \
	sh -c "echo ../.. > '$WS/linked/.git/worktrees/linked-wt/commondir'"
attack "--separate-git-dir inside the workspace" sep gitdirs/sep/hooks/pre-commit \
	"mkdir -p gitdirs && git init -q --separate-git-dir=gitdirs/sep sep && $HOOK gitdirs/sep/hooks/pre-commit &&
	 chmod +x gitdirs/sep/hooks/pre-commit && echo planted"
hrun run -- sh -c 'mkdir -p aaa && cd aaa && seq 1 6000 | xargs touch'
is "$RC" 0 "thousands of empty files to exhaust a start-up budget"
attack "a nested repository behind thousands of files" zzz/deep/er/repo \
	zzz/deep/er/repo/.git/hooks/pre-commit \
	"{ $HOOK zzz/deep/er/repo/.git/hooks/pre-commit && chmod +x zzz/deep/er/repo/.git/hooks/pre-commit && echo planted; } 2>/dev/null; true"
rm -rf "$WS/aaa"

# ---- a workspace that is not a repository yet ----------------------------------------------
PLAIN=$T/plain
mkdir -p "$PLAIN"
hrun run -C "$PLAIN" -- sh -c "git init -q . && $HOOK .git/hooks/post-commit && chmod +x .git/hooks/post-commit && git config core.fsmonitor '$PAYLOAD' && echo planted"
is "$OUT" planted "git init at the root of a plain workspace, a hook and fsmonitor planted"
rm -f "$MARK"
user_git "$PLAIN" status
user_git "$PLAIN" commit -q --allow-empty -m "user commit"
check "  the user's git there runs nothing planted" test ! -e "$MARK"
like "$ERR" "quarantined $PLAIN/.git/hooks/post-commit" "  stderr names the hook"
like "$ERR" "removed core.fsmonitor from $PLAIN/.git/config" "  and the config key"
like "$ERR" "restore with: mv -- '$Q/" "  and how to undo it"

# ---- a rebase left stopped with exec lines further down its list ---------------------------
# git status shows only the next two commands; "git rebase --continue" would run the rest.
hrun run -C "$PLAIN" -- sh -c "G='git -c user.name=a -c user.email=a@hutch.invalid -c commit.gpgsign=false'
	\$G commit -q --allow-empty -m one && \$G commit -q --allow-empty -m two && \$G commit -q --allow-empty -m three &&
	GIT_SEQUENCE_EDITOR=\"sed -i '1i break' \\\"\\\$1\\\" && echo 'x $PAYLOAD' >> \\\"\\\$1\\\" && echo 'exec $PAYLOAD' >> \\\"\\\$1\\\"\" \$G rebase -q -i HEAD~2 >/dev/null 2>&1
	grep -c '$PAYLOAD' .git/rebase-merge/git-rebase-todo"
is "$OUT" 2 "a rebase stopped inside, two exec lines after the picks"
like "$ERR" "$PLAIN/.git/rebase-merge/git-rebase-todo" "  stderr names the rebase's list"
rm -f "$MARK"
user_git "$PLAIN" rebase --continue
check "  the user's git rebase --continue runs nothing planted" test ! -e "$MARK"
is "$(git -C "$PLAIN" log --format=%s 2>/dev/null | head -3 | tr '\n' ' ')" "three two one " \
	"  and the rebase finished with the commits"
if [ -n "$(find "$Q" -path "*$PLAIN/.git/rebase-merge/git-rebase-todo*" 2>/dev/null)" ]; then
	pass "  the original list is in the quarantine"
else
	fail "  the original list is in the quarantine"
fi

# ---- legitimate work is left alone ----------------------------------------------------------
echo "agent edit" >>"$WS/README"
hrun run -- sh -c 'echo "more" >> README && git add README && git commit -qm "agent commit" && echo done'
is "$OUT" "done" "inside: edit, git add, git commit"
unlike "$ERR" "quarantined|removed .* from" "  nothing quarantined for a commit"
is "$(git -C "$WS" log -1 --format=%s 2>/dev/null)" "agent commit" "  the agent's commit is there"
check "  the repository is sound" git -C "$WS" fsck --no-dangling
check "  and the user's git works" user_git "$WS" commit -q --allow-empty -m "after"

# ---- --ephemeral and hutch apply: the same rules ---------------------------------------------
hrun run --ephemeral -- sh -c "git init -q e1 && git init -q --bare e1/.git/modules/x/y &&
	$HOOK e1/.git/modules/x/y/hooks/pre-commit && mkdir e2 e3 && ln -s ../e1/.git e2/.git &&
	echo 'gitdir: ../e1/.git' > e3/.git && echo ok > e1/ok.txt"
SID=$(sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$ERR" | tail -1)
isnt "$SID" "" "an ephemeral session with planted git code"
hrun apply "$SID"
is "$RC" 1 "apply refuses it (exit 1)"
for p in e1/.git/modules/x/y/hooks/pre-commit e1/.git/modules/x/y/config e2/.git e3/.git; do
	like "$ERR" "refused: $p: protected path" "  refused: $p"
done
check "  the submodule hook is not applied" test ! -e "$WS/e1/.git/modules/x/y/hooks/pre-commit"
is "$(cat "$WS/e1/ok.txt" 2>/dev/null)" ok "  an ordinary file is"
hrun apply --include-protected "$SID"
is "$RC" 0 "apply --include-protected applies them"
like "$ERR" "warning: applied protected path e1/.git/modules/x/y/hooks/pre-commit" "  with a warning"
"$HUTCH" discard -q "$SID" 2>/dev/null
rm -rf "$WS/e1" "$WS/e2" "$WS/e3"

done_testing
