#!/bin/bash
# Disposable sessions: hutch run --ephemeral keeps the agent's writes in a session layer;
# hutch diff shows them, hutch apply brings them over (atomically, with modes, refusing
# protected paths, never overwriting what the user changed meanwhile), hutch discard drops
# them, hutch ls lists them, hutch fork copies them. A SIGKILL of hutch loses nothing and
# leaves nothing; a full disk is ENOSPC inside.
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

STATE=$XDG_STATE_HOME/hutch/sessions
sid_of() { sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$1" | tail -1; }
upper_of() { echo "$STATE/$1/upper"; }

# ---- a first session: writes stay in the layer -------------------------------------------
echo "one" >"$WS/mod.txt"
echo "bye" >"$WS/del.txt"
mkdir -p "$WS/olddir/sub"
echo "x" >"$WS/olddir/sub/x"
echo "#!/bin/sh" >"$WS/tool.sh"
printf 'a\0b' >"$WS/blob.bin"
git -C "$WS" add -A >/dev/null && git -C "$WS" commit -qm files
before=$(tree_snapshot "$WS")
ino_before=$(stat -c %i "$WS/mod.txt")

hrun run --ephemeral -- sh -c 'echo two >> mod.txt; echo new > added.txt; rm del.txt;
	rm -r olddir; chmod 755 tool.sh; mkdir -p newdir/deep; echo d > newdir/deep/f;
	printf "a\0c" > blob.bin; cat mod.txt; exit 3'
is "$RC" 3 "run --ephemeral returns the command's exit status"
is "$OUT" "one
two" "inside, the command sees its own writes"
SID=$(sid_of "$ERR")
like "$SID" '^[0-9a-f]{8}$' "the session id is reported ($SID)"
same_tree "$before" "$(tree_snapshot "$WS")" "the real workspace is untouched"
is "$(stat -c %a "$STATE/$SID")" 700 "the session directory is mode 0700"
is "$(stat -c %F "$(upper_of "$SID")/del.txt" 2>&1)" "character special file" \
	"a deleted file is a whiteout (char device) in the layer"
is "$(stat -c '%t,%T' "$(upper_of "$SID")/olddir" 2>&1)" "0,0" \
	"a deleted directory is a whiteout 0/0 too"

hrun ls
like "$OUT" "^$SID +ephemeral +stopped .*$WS" "hutch ls lists it: ephemeral, stopped, workspace"
hrun ls --json
is "$("$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["id"], d[0]["state"], d[0]["size"] > 0)' <<<"$OUT")" \
	"$SID stopped True" "hutch ls --json"

# ---- diff ------------------------------------------------------------------------------------
hrun diff
is "$RC" 0 "hutch diff (the latest session of this workspace)"
like "$OUT" "^diff --git a/mod.txt b/mod.txt" "diff: modified file"
like "$OUT" "^\+two$" "  unified diff of a text file"
like "$OUT" "^new file mode 100644" "diff: added file"
like "$OUT" "^\+\+\+ b/added.txt" "  with its header"
like "$OUT" "^deleted file mode 100644" "diff: deleted file (whiteout)"
like "$OUT" "^diff --git a/olddir/sub/x b/olddir/sub/x" "diff: files of a deleted directory"
like "$OUT" "^# deleted directory: olddir/ \(mode 0755\)" "diff: the deleted directory itself (a comment: git patches have no directories)"
like "$OUT" "^old mode 100644$" "diff: mode change (old)"
like "$OUT" "^new mode 100755$" "  (new)"
like "$OUT" "^GIT binary patch" "diff: binary file as git's binary patch"
unlike "$OUT" "\.envrc|\.vscode|\.idea" "placeholders of protected paths never show up"

hrun diff "$SID" --name-status
is "$OUT" "A	added.txt
M	blob.bin
D	del.txt
M	mod.txt
A	newdir
A	newdir/deep
A	newdir/deep/f
D	olddir/sub/x
D	olddir/sub
D	olddir
M	tool.sh" "diff --name-status: every change once, children of a deleted dir first"
hrun diff --stat
like "$OUT" "M mod.txt \| \+1 -0" "diff --stat"
like "$OUT" "paths changed, 3 insertions" "  with a summary"
hrun diff --json
is "$("$PY" -c '
import json, sys
d = json.load(sys.stdin)
c = {x["path"]: x for x in d["changes"]}
print(d["session"], c["del.txt"]["change"], c["olddir"]["oldType"], c["tool.sh"]["mode"],
      c["tool.sh"]["contentChanged"], c["blob.bin"]["binary"], c["mod.txt"]["added"])' <<<"$OUT" 2>&1)" \
	"$SID deleted directory 0755 False True 1" "diff --json"

# ---- apply -------------------------------------------------------------------------------------
hrun apply "$SID"
is "$RC" 0 "hutch apply"
like "$ERR" "applied 11 changes" "  reports what it did"
is "$(cat "$WS/mod.txt")" "one
two" "modified file applied"
isnt "$(stat -c %i "$WS/mod.txt")" "$ino_before" "  by rename (a new inode: atomic replacement)"
is "$(cat "$WS/added.txt")" "new" "added file applied"
check "deleted file deleted" test ! -e "$WS/del.txt"
check "deleted directory deleted" test ! -e "$WS/olddir"
is "$(stat -c %a "$WS/tool.sh")" 755 "mode kept"
is "$(cat "$WS/newdir/deep/f")" "d" "new directories applied"
is "$(od -An -c "$WS/blob.bin" | tr -d ' ')" 'a\0c' "binary file applied"
hrun diff --name-status
is "$OUT" "" "after apply the session shows no difference"
check "no temporary files left in the workspace" \
	sh -c "! find '$WS' -name '*.hutch-*' | grep -q ."
hrun ls
like "$OUT" "^$SID +ephemeral +applied" "state: applied"
hrun apply "$SID"
is "$RC" 0 "apply again: nothing to do, still fine"

# ---- discard -----------------------------------------------------------------------------------
hrun discard "$SID"
is "$RC" 0 "hutch discard"
check "  removes the session directory" test ! -e "$STATE/$SID"
hrun ls
unlike "$OUT" "$SID" "  and ls no longer lists it"
hrun diff
is "$RC" 125 "diff without a session fails"
like "$ERR" "no session for" "  saying so"

# ---- conflicts ---------------------------------------------------------------------------------
echo "base" >"$WS/conflict.txt"
echo "base" >"$WS/during.txt"
echo "base" >"$WS/calm.txt"
rm -f "$T/go"
hrun_bg run --ephemeral -- sh -c "while [ ! -e '$T/go' ]; do sleep 0.05; done
	echo agent > conflict.txt; echo agent > during.txt; echo agent > calm.txt"
for _ in $(seq 200); do # the session's start snapshot is taken in parallel: wait for it
	[ -n "$(find "$STATE" -mindepth 2 -maxdepth 2 -name snapshot 2>/dev/null)" ] && break
	sleep 0.05
done
echo "user during" >"$WS/during.txt" # the user edits while the agent works
touch "$T/go"
wait_hutch
is "$RC" 0 "agent session finished"
SID=$(sid_of "$ERR")
echo "user after" >"$WS/conflict.txt" # ... and after it finished
hrun diff --name-status
like "$OUT" "M	conflict.txt	\[conflict\]" "diff flags a conflict (changed after the session)"
like "$OUT" "M	during.txt	\[conflict\]" "diff flags a conflict (changed during the session)"
unlike "$OUT" "calm.txt	\[conflict\]" "  but not an untouched file"
before=$(tree_snapshot "$WS")
hrun apply
is "$RC" 1 "apply with conflicts exits 1"
like "$ERR" "conflict: conflict.txt: changed in the workspace since the session started: nothing was applied" \
	"the conflict is reported"
like "$ERR" "conflict: during.txt: " "  every conflict is (a change made during the session too)"
like "$ERR" "nothing applied from session $SID" "  and nothing is applied"
is "$(cat "$WS/conflict.txt")" "user after" "the user's file is not overwritten"
is "$(cat "$WS/during.txt")" "user during" "the same for a change made during the session"
is "$(cat "$WS/calm.txt")" "base" "all or nothing: the rest is not applied either"
same_tree "$before" "$(tree_snapshot "$WS")" "  the workspace is exactly as before"
hrun ls
like "$OUT" "^$SID +ephemeral +stopped" "state: unchanged (stopped)"
"$HUTCH" discard -q "$SID"
rm -f "$WS"/*.hutch-*

# ---- protected paths ---------------------------------------------------------------------------
hrun_bg run --ephemeral -- sh -c "while [ ! -e '$T/go2' ]; do sleep 0.05; done"
for _ in $(seq 100); do
	s=$(find "$STATE" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -1)
	[ -n "$s" ] && [ -d "$STATE/$s/upper/.vscode" ] && break
	sleep 0.05
done
check "while it runs, the placeholder of a missing protected path is in the layer" \
	test -d "$STATE/$s/upper/.vscode"
check "  and never on the real workspace" test ! -e "$WS/.vscode" -a ! -e "$WS/.envrc"
touch "$T/go2"
wait_hutch
check "after the run, no placeholder is left in the layer (nor the session: no changes)" \
	test ! -e "$STATE/$s/upper/.vscode" -a ! -e "$STATE/$s/upper/.envrc"

hrun run --ephemeral -- sh -c 'echo x > .envrc; echo hook > .git/hooks/pre-commit;
	git init -q sub && echo evil > sub/.git/hooks/pre-commit && chmod +x sub/.git/hooks/pre-commit &&
	echo e > sub/.envrc && echo fine > sub/ok.txt'
like "$ERR" "pre-commit: Read-only file system" "inside, a protected path cannot be written"
SID=$(sid_of "$ERR")
hrun diff --name-status
like "$OUT" "A	sub/.git/hooks/pre-commit	\[protected\]" "diff flags a hook in a new repository"
like "$OUT" "A	sub/.envrc	\[protected\]" "diff flags .envrc in a repository"
unlike "$OUT" "sub/ok.txt	\[protected\]" "  but not an ordinary file"
hrun apply
is "$RC" 1 "apply refuses protected paths (exit 1)"
like "$ERR" "refused: sub/.git/hooks/pre-commit: protected path" "  and says which"
check "  the hook is not applied" test ! -e "$WS/sub/.git/hooks/pre-commit"
check "  .envrc is not applied" test ! -e "$WS/sub/.envrc"
is "$(cat "$WS/sub/ok.txt")" "fine" "  the rest is"
hrun apply --include-protected
is "$RC" 0 "apply --include-protected"
is "$(cat "$WS/sub/.git/hooks/pre-commit")" "evil" "  applies the hook"
is "$(stat -c %a "$WS/sub/.git/hooks/pre-commit")" 755 "  with its mode"
"$HUTCH" discard -q "$SID"
rm -rf "$WS/sub"

# ---- kill -9: nothing lost, nothing left -------------------------------------------------------
marker=hutch-eph-$$-$RANDOM
hrun_bg run --ephemeral -- bash -c "echo survived > killed.txt; echo more >> mod.txt;
	(exec -a sleeper-$marker sleep 300) & exec -a sleeper2-$marker sleep 301"
for _ in $(seq 100); do
	f=$(find "$STATE" -mindepth 3 -maxdepth 3 -path '*/upper/killed.txt' 2>/dev/null | head -1)
	[ -n "$f" ] && pgrep -f "^sleeper2-$marker" >/dev/null && break
	sleep 0.05
done
SID=$(basename "$(dirname "$(dirname "$f")")")
check "the sandbox runs ($SID)" sh -c "pgrep -f '^sleeper2-$marker' >/dev/null"
kill -KILL "$HPID"
wait_hutch 5
is "$RC" 137 "hutch died of SIGKILL"
check "no process of the sandbox is left" wait_no_process "^sleeper2?-$marker" 5
check "no mount of the session is left anywhere" \
	sh -c "! grep -qs '$SID' /proc/self/mountinfo /proc/[0-9]*/mountinfo"
hrun ls
like "$OUT" "^$SID +ephemeral +interrupted" "ls: interrupted"
hrun diff --name-status "$SID"
is "$OUT" "A	killed.txt
M	mod.txt" "diff after kill -9: the layer is intact"
hrun apply "$SID"
is "$RC" 0 "apply after kill -9"
is "$(cat "$WS/killed.txt")" "survived" "  brings the writes over"

# ---- limits combine: --timeout -----------------------------------------------------------------
hrun run --ephemeral --timeout 1s -- sh -c 'echo t > timed.txt; sleep 10'
is "$RC" 124 "--ephemeral with --timeout: 124"
SID=$(sid_of "$ERR")
hrun diff --name-status "$SID"
is "$OUT" "A	timed.txt" "  and the layer has what was written before the timeout"

# ---- fork --------------------------------------------------------------------------------------
hrun fork "$SID" alt
is "$RC" 0 "hutch fork"
is "$OUT" "alt" "  prints the new session's id"
hrun run --session alt -- sh -c 'cat timed.txt; echo b > only-alt.txt'
is "$OUT" "t" "run --session alt continues from the forked layer"
hrun diff --name-status alt
is "$OUT" "A	only-alt.txt
A	timed.txt" "the fork has both"
hrun diff --name-status "$SID"
is "$OUT" "A	timed.txt" "the original does not have the fork's writes"
hrun ls
like "$OUT" "^alt +ephemeral .*\(forked from $SID\)" "ls shows where a fork came from"
mkdir -p "$T/other"
hrun run --session alt -C "$T/other" -- true
is "$RC" 125 "a session cannot be run on another workspace"
like "$ERR" "belongs to workspace" "  saying so"
"$HUTCH" discard -q alt "$SID"

# ---- options -----------------------------------------------------------------------------------
n_sessions() { find "$STATE" -mindepth 1 -maxdepth 1 | wc -l; }
n_before=$(n_sessions)
hrun run --ephemeral=everything -- true
is "$RC" 125 "--ephemeral=MODE with an unknown mode is refused (--ephemeral=root: ephemeral-root.t)"
like "$ERR" "ephemeral=everything: unknown mode" "  with a clear message"
hrun run --ephemeral --name "n$$" -- true
is "$RC" 125 "--ephemeral with --name is refused for now"
is "$(n_sessions)" "$n_before" "refused runs leave no session behind"
hrun run -v --ephemeral -- sh -c 'cat mod.txt >/dev/null; touch -c nothing-here'
like "$ERR" "no changes: session [0-9a-f]+ discarded" "a new session without changes is discarded (-v says so)"
is "$(n_sessions)" "$n_before" "  and leaves nothing behind"

# ---- interrupted apply, run again ---------------------------------------------------------------
mkdir -p "$WS/big"
hrun run --ephemeral -- sh -c 'i=0; while [ $i -lt 1500 ]; do echo $i > big/f$i; i=$((i+1)); done;
	mkdir -p locked && echo l > locked/file'
SID=$(sid_of "$ERR")
mkdir "$WS/locked"
if [ "$(id -u)" = 0 ]; then
	chattr +i "$WS/locked" 2>/dev/null || skip_locked="chattr +i not supported here"
else
	chmod 555 "$WS/locked"
fi
if [ -z "${skip_locked:-}" ]; then
	before=$(tree_snapshot "$WS")
	hrun apply "$SID"
	is "$RC" 1 "apply with an unwritable directory: a change fails"
	like "$ERR" "failed: locked/file" "  reported"
	same_tree "$before" "$(tree_snapshot "$WS")" "  what was written before it is put back"
	check "  (no file of big/ is left)" test -z "$(ls -A "$WS/big")"
	if [ "$(id -u)" = 0 ]; then chattr -i "$WS/locked"; else chmod 755 "$WS/locked"; fi
	hrun apply "$SID"
	is "$RC" 0 "apply again finishes the job"
	is "$(cat "$WS/locked/file")" "l" "  the failed file is there now"
else
	skip "$skip_locked" 4
fi
"$HUTCH" discard -q "$SID"
rm -rf "$WS/big" "$WS/locked"
hrun run --ephemeral -- sh -c 'mkdir -p big; i=0; while [ $i -lt 3000 ]; do echo $i > big/f$i; i=$((i+1)); done'
SID=$(sid_of "$ERR")
"$HUTCH" apply "$SID" >/dev/null 2>&1 &
apid=$!
sleep 0.05
kill -KILL "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
n=$(find "$WS/big" -maxdepth 1 -name 'f*' 2>/dev/null | wc -l)
note "apply killed after $n of 3000 files"
hrun apply "$SID"
is "$RC" 0 "apply after an apply killed midway finishes"
is "$(find "$WS/big" -maxdepth 1 -regex '.*/f[0-9]+' | wc -l)" 3000 "  every file is there"
is "$(cat "$WS/big/f2999")" 2999 "  with its content"
check "  and no temporary file is left" sh -c "! ls -A '$WS/big' | grep -q hutch"
"$HUTCH" discard -q "$SID"
rm -rf "$WS/big"

# ---- disk full: ENOSPC inside, not silent loss --------------------------------------------------
if unshare -Urm true 2>/dev/null; then
	out=$(unshare -Urm sh -c "mount -t tmpfs -o size=1m tmpfs '$XDG_STATE_HOME' &&
		timeout 20 '$HUTCH' run --ephemeral -- sh -c 'head -c 3000000 /dev/zero > big.bin; echo status=\$?'" 2>&1)
	like "$out" "No space left on device" "a full session layer is ENOSPC inside"
	like "$out" "status=[1-9]" "  and the writer sees the failure"
	like "$out" "filesystem of session .* is full or nearly" "  and hutch says so at the end"
else
	skip "unshare -Urm is not available: cannot put the session layer on a tiny tmpfs" 3
fi

done_testing
