#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The end-of-run check with a warm cache of its last walk: a directory unchanged since then
# is not read again (src/lib/audit/walkcache.c), and nothing planted may hide behind that.
# Each attack comes after runs that warmed the cache: a repository made inside a tree the
# user created since, a .env and a repository's config changed in place in unchanged
# directories, plants deep under unchanged parents, a cached directory renamed away with a
# symbolic link in its place, and a damaged or foreign cache. The proof is on the host
# afterwards: the user's own git runs nothing planted, the .env holds no planted variable,
# and stderr names what the check moved or cleaned. The cache itself is out of the
# sandbox's reach.
#
# Layer under test: the end-of-run check (src/lib/audit/gitguard.c) and its cache
# (src/lib/audit/walkcache.c).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

MARK=$T/cache-code-ran
PAYLOAD="touch $MARK"
HOOK="printf '#!/bin/sh\\\\n$PAYLOAD\\\\n' >"
CACHE=$XDG_STATE_HOME/hutch/walk

# user_git ARGS: the user's git on the host, after the sandbox ran.
user_git() { git -c user.name=u -c user.email=u@hutch.invalid -c commit.gpgsign=false "$@" >/dev/null 2>&1; }

# warm: runs that leave the cache holding every directory, old enough to be trusted.
warm() {
	local i
	for i in 1 2 3; do
		sleep 0.1
		hrun run -- true
	done
	sleep 0.1
	check "warm: the walk's cache is in the state directory" test -s "$(ls -d "$CACHE"/* | head -1)"
}

# host_git_runs_nothing NAME REPO: git status and commit in REPO, on the host, run nothing.
host_git_runs_nothing() {
	rm -f "$MARK"
	user_git -C "$2" status
	user_git -C "$2" commit -q --allow-empty -m "user commit"
	check "$1: the user's git status and commit run nothing planted" test ! -e "$MARK"
}

mkdir -p src/a/b/c/deepcachedir/e pkgs/x/y cfg docs/one/two
printf 'DB=1\n' >cfg/.env
git init -q --bare store/lib.git
warm

# ---- the cache is in use: an unchanged deep directory is not opened ----------------------
if command -v strace >/dev/null; then
	# (LeakSanitizer cannot run under ptrace: off for this run of a sanitizer build)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -e trace=openat,openat2 -o "$T/strace" "$HUTCH" run -- true >/dev/null 2>&1
	if grep -q 'openat' "$T/strace"; then
		# O_PATH: looked at (one stat), not read
		check "warm: the check does not read an unchanged directory again" \
			sh -c "! grep 'deepcachedir' '$T/strace' | grep -qv O_PATH"
	else
		skip "strace saw no openat here"
	fi
else
	skip "strace is not installed (to see which directories the check opens)"
fi

# ---- 1. a tree the user made since the last walk, a repository planted in it --------------
warm
mkdir -p src/a/newtree/deeper
sleep 0.1
hrun run -- sh -c "cd src/a/newtree/deeper && git init -q r && $HOOK r/.git/hooks/pre-commit &&
	chmod +x r/.git/hooks/pre-commit && git -C r config core.fsmonitor '$PAYLOAD' && echo planted"
is "$OUT" planted "1. inside: a repository with a hook and core.fsmonitor in a tree the user made since (in src/a, cached)"
host_git_runs_nothing "1." "$WS/src/a/newtree/deeper/r"
like "$ERR" "quarantined $WS/src/a/newtree/deeper/r/.git/hooks/pre-commit" "  stderr names the hook"
like "$ERR" "removed core.fsmonitor from $WS/src/a/newtree/deeper/r/.git/config" "  and the config's key"

# ---- 2. in place, in unchanged directories ------------------------------------------------
warm
hrun run -- sh -c "printf 'LD_PRELOAD=/planted.so\n' >>cfg/.env &&
	git --git-dir=store/lib.git config core.fsmonitor '$PAYLOAD' && echo planted"
is "$OUT" planted "2. inside: LD_PRELOAD appended to cfg/.env, core.fsmonitor set in store/lib.git/config"
unlike "$(grep -v '^#' cfg/.env)" "LD_PRELOAD" "  the .env sets no LD_PRELOAD afterwards"
like "$(cat cfg/.env)" "DB=1" "  and keeps the project's own variable"
like "$ERR" "removed LD_PRELOAD from $WS/cfg/.env" "  stderr names it"
is "$(git --git-dir=store/lib.git config --get core.fsmonitor)" "" \
	"  the repository's config has no core.fsmonitor afterwards"
like "$ERR" "removed core.fsmonitor from $WS/store/lib.git/config" "  stderr names it"
rm -rf "$T/co" && mkdir "$T/co"
rm -f "$MARK"
user_git --git-dir="$WS/store/lib.git" --work-tree="$T/co" status
check "2. git status with that repository runs nothing planted" test ! -e "$MARK"

# ---- 3. deep under unchanged parents; a cached directory swapped for a symlink -------------
warm
hrun run -- sh -c "git init -q src/a/b/c/deepcachedir/e/r && $HOOK src/a/b/c/deepcachedir/e/r/.git/hooks/pre-commit &&
	chmod +x src/a/b/c/deepcachedir/e/r/.git/hooks/pre-commit &&
	mv pkgs/x pkgs/moved && ln -s ../docs pkgs/x && git init -q pkgs/moved/y/r2 &&
	$HOOK pkgs/moved/y/r2/.git/hooks/pre-commit && chmod +x pkgs/moved/y/r2/.git/hooks/pre-commit && echo planted"
is "$OUT" planted "3. inside: a hook six levels deep, pkgs/x moved away and a symlink in its place, a hook beneath"
host_git_runs_nothing "3. deep" "$WS/src/a/b/c/deepcachedir/e/r"
like "$ERR" "quarantined $WS/src/a/b/c/deepcachedir/e/r/.git/hooks/pre-commit" "  stderr names it"
host_git_runs_nothing "3. moved" "$WS/pkgs/moved/y/r2"
like "$ERR" "quarantined $WS/pkgs/moved/y/r2/.git/hooks/pre-commit" "  the plant in the moved directory is found"
check "  the symlink in its place stays a symlink" test -L pkgs/x
like "$ERR" "git check: 2 neutralised, 0 could not be checked" "  nothing failed (the symlink is not followed)"

# ---- 5. two runs at once: the other run's cache, written while this one ran ---------------
warm
rm -f go
hrun_bg run -- sh -c "while [ ! -e go ]; do sleep 0.05; done; printf 'LD_PRELOAD=/planted.so\n' >>cfg/.env &&
	git init -q src/a/b/c/conc && $HOOK src/a/b/c/conc/.git/hooks/pre-commit &&
	chmod +x src/a/b/c/conc/.git/hooks/pre-commit && echo planted"
before=$(stat -c %y "$CACHE"/*)
hrun run -- sh -c "mkdir -p other-run/made && echo finished"
is "$OUT" finished "5. a second run makes a directory and ends while the first waits"
isnt "$(stat -c %y "$CACHE"/*)" "$before" "  its check wrote the cache"
touch go
wait_hutch 20
is "$OUT" planted "5. then the first run appends to cfg/.env and plants a repository in src/a/b/c"
unlike "$(grep -v '^#' cfg/.env)" "LD_PRELOAD" "  the .env sets no LD_PRELOAD afterwards"
host_git_runs_nothing "5." "$WS/src/a/b/c/conc"
like "$ERR" "quarantined $WS/src/a/b/c/conc/.git/hooks/pre-commit" "  stderr names the hook"
rm -rf go other-run

# ---- 4. a damaged, truncated or foreign cache: everything is read --------------------------
corrupt() {
	local f
	for f in "$CACHE"/*; do
		case $1 in
		garbage) head -c 4096 /dev/urandom >"$f" ;;
		truncated) truncate -s $(($(stat -c %s "$f") - 9)) "$f" ;;
		foreign) cp "$f" "$T/keep" && sed -i "s|$WS|$T/wx|" "$f" ;;
		esac
	done
}
n=0
for how in garbage truncated foreign; do
	n=$((n + 1))
	warm
	corrupt "$how"
	hrun run -- sh -c "git init -q docs/one/two/r$n && $HOOK docs/one/two/r$n/.git/hooks/pre-commit &&
		chmod +x docs/one/two/r$n/.git/hooks/pre-commit && echo planted"
	is "$OUT" planted "4. a $how cache, then a hook planted inside"
	host_git_runs_nothing "4. $how" "$WS/docs/one/two/r$n"
	like "$ERR" "quarantined $WS/docs/one/two/r$n/.git/hooks/pre-commit" "  stderr names it"
done

# ---- 6. staged over two runs: nothing in the first is a git directory or an agent's settings ---
# A hook written in one run where it means nothing, made live in the next by giving its
# directory a git directory's shape, moving it out of .git/logs (never walked), or renaming
# its directory to .claude: its own ctime is older than the second run.
warm
hrun run -- sh -c "mkdir -p staged/hooks && $HOOK staged/hooks/pre-commit && chmod +x staged/hooks/pre-commit &&
	echo 'ref: refs/heads/main' > staged/HEADX && printf '[core]\\n\\tbare = false\\n' > staged/config &&
	mkdir -p .git/logs/x/hooks .git/logs/x/objects .git/logs/x/refs &&
	echo 'ref: refs/heads/main' > .git/logs/x/HEAD && printf '[core]\\n\\tbare = false\\n' > .git/logs/x/config && $HOOK .git/logs/x/hooks/pre-commit &&
	chmod +x .git/logs/x/hooks/pre-commit && mkdir -p pkgs/st/x && echo '{\"hooks\":{}}' > pkgs/st/x/settings.json &&
	echo planted"
is "$OUT" planted "6. first run: a hook in a directory that is no git directory yet, one in .git/logs"
warm
hrun run -- sh -c "mkdir staged/objects staged/refs && mv staged/HEADX staged/HEAD && mkdir -p live1 live2 &&
	echo 'gitdir: ../staged' > live1/.git && mv .git/logs/x moved && echo 'gitdir: ../moved' > live2/.git &&
	mv pkgs/st/x pkgs/st/.claude && echo armed"
is "$OUT" armed "6. second run: made a git directory, moved out of .git/logs, renamed to .claude"
host_git_runs_nothing "6. a directory made a git directory" "$WS/live1"
host_git_runs_nothing "6. a git directory moved out of .git/logs" "$WS/live2"
like "$ERR" "quarantined $WS/staged/hooks/pre-commit" "  stderr names the first hook"
like "$ERR" "quarantined $WS/moved/hooks/pre-commit" "  and the second"
check "6. the settings renamed into .claude are not left there" test ! -e "$WS/pkgs/st/.claude/settings.json"
like "$ERR" "quarantined $WS/pkgs/st/.claude/settings.json" "  stderr names them"

f=$(ls -d "$CACHE"/* | head -1)
hrun run -- sh -c "cat '$f' >/dev/null 2>&1 && echo readable; ls '$CACHE' >/dev/null 2>&1 && echo listed;
	echo x >'$f' 2>/dev/null && echo written; echo x >'$CACHE/new' 2>/dev/null && echo created; true"
is "$OUT" "" "4. inside: the cache can be neither read, listed, written nor created"
check "  the cache file is as it was after the sandbox" test -s "$f"

done_testing
