#!/bin/bash
# Reviewing an ephemeral session: `hutch diff` is a patch that git apply and GNU patch take
# (directories, empty files, deletions, modes, symlinks; binary files for git apply);
# `hutch diff --json` is valid JSON for any file name; `hutch apply` is all or nothing and
# takes a git index that git status only refreshed; the walk and the diff stay bounded in
# memory (a 16 MB file, a tree nested deeper than 300 levels) and report what they compared.
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python
command -v git >/dev/null || skip_all "git is not installed"

sid_of() { sed -n 's/.*session \([^ ]*\) keeps the changes.*/\1/p' <<<"$1" | tail -1; }
git -C "$WS" config user.email t@example.invalid
git -C "$WS" config user.name t

# ---- a patch for git apply and GNU patch -------------------------------------------------------
printf 'one\ntwo\n' >"$WS/mod.txt"
echo bye >"$WS/del.txt"
: >"$WS/delempty"
echo x >"$WS/tool.sh"
echo e >"$WS/emptyme"
printf 'a\0b' >"$WS/blob.bin"
ln -s mod.txt "$WS/link"
mkdir -p "$WS/olddir" && echo o >"$WS/olddir/f"
git -C "$WS" add -A >/dev/null && git -C "$WS" commit -qm files

hrun run --ephemeral -- sh -c 'echo three >> mod.txt; rm del.txt delempty; chmod 755 tool.sh
	: > emptyme; printf "a\0c\377" > blob.bin; ln -sf tool.sh link; ln -s mod.txt newlink
	mkdir -p newdir/sub emptydir; echo n > newdir/sub/f; : > newdir/empty; rm -r olddir
	printf "x\n" > "$(printf "bad\377name")"; printf "y\n" > "tab	name"
	seq 1 200000 > big.txt; head -c 300000 /dev/urandom > bigbin'
SID=$(sid_of "$ERR")
hrun diff "$SID"
is "$RC" 0 "hutch diff"
printf '%s\n' "$OUT" >"$T/p.diff"
like "$OUT" '^# new directory: emptydir/ \(mode 0755\)' "a new directory is a comment (git patches have none)"
like "$OUT" '^diff --git "a/bad\\377name" "b/bad\\377name"' "a name that is not UTF-8 is quoted as git does"
like "$OUT" '^index 0{40}\.\.[0-9a-f]{40}$' "a binary file has the full index line git apply needs"

cp -a "$WS" "$T/by-git"
(cd "$T/by-git" && git apply "$T/p.diff") >"$T/git.out" 2>&1
is "$?" 0 "git apply takes the patch"
cp -a "$WS" "$T/by-patch"
(cd "$T/by-patch" && patch -p1 -s -i "$T/p.diff" </dev/null) >"$T/patch.out" 2>&1
like "$(cat "$T/patch.out")" "File blob.bin: git binary diffs are not supported" \
	"GNU patch names the binary files it does not do"
unlike "$(cat "$T/patch.out")" "Assume -R|refusing|rej|malformed" "  and takes the rest without a question"

hrun apply "$SID"
is "$RC" 0 "hutch apply"
out=$(diff -r --no-dereference -x .git "$WS" "$T/by-git" 2>&1)
is "$out" "Only in $WS: emptydir" "git apply gives what hutch apply gives (but the empty directory)"
is "$(stat -c %a "$T/by-git/tool.sh")" 755 "  the mode change too"
is "$(readlink "$T/by-git/link")" tool.sh "  the symlink retargeted"
out=$(diff -r --no-dereference -x .git -x blob.bin -x bigbin "$WS" "$T/by-patch" 2>&1)
is "$out" "Only in $WS: emptydir" "GNU patch gives the same (but binary files and the empty directory)"
check "  deleted files are gone" test ! -e "$T/by-patch/delempty" -a ! -e "$T/by-patch/olddir/f"
"$HUTCH" discard -q "$SID"

# ---- --json: valid JSON for any name ------------------------------------------------------------
hrun run --ephemeral -- sh -c 'printf x > "$(printf "bad\377\376name")"; printf x > "ok-é"; printf x > "ctl$(printf "\001")"'
SID=$(sid_of "$ERR")
hrun diff --json "$SID"
is "$RC" 0 "hutch diff --json"
is "$("$PY" -c '
import json, sys, base64
d = json.loads(sys.stdin.buffer.read())
out = []
for c in d["changes"]:
    raw = base64.b64decode(c["pathBase64"]) if "pathBase64" in c else c["path"].encode()
    out.append(repr(raw) + ("+b64" if "pathBase64" in c else ""))
print(" ".join(sorted(out)), d["complete"])' <<<"$OUT" 2>&1)" \
	"b'bad\\xff\\xfename'+b64 b'ctl\\x01' b'ok-\\xc3\\xa9' True" \
	"json.loads takes it; pathBase64 carries the exact bytes of a name that is not UTF-8"
"$HUTCH" discard -q "$SID"
rm -f "$WS"/bad* "$WS"/ok-* "$WS"/ctl*

# ---- apply: a git index that git status refreshed is no conflict ----------------------------------
git -C "$WS" add -A >/dev/null && git -C "$WS" commit -qm applied
hrun run --ephemeral -- sh -c 'echo agent >> mod.txt; echo new > staged.txt; git add mod.txt staged.txt'
SID=$(sid_of "$ERR")
sleep 1.1 # a new mtime second: git status must rewrite its index
touch "$WS/emptyme"
idx=$(stat -c %Y:%s:%i "$WS/.git/index")
git -C "$WS" status --short >/dev/null
isnt "$(stat -c %Y:%s:%i "$WS/.git/index")" "$idx" "git status on the host rewrote .git/index"
hrun apply "$SID"
is "$RC" 0 "hutch apply still applies (the index was only refreshed)"
is "$(git -C "$WS" status --short)" "M  mod.txt
A  staged.txt" "git status shows the agent's staged changes"
is "$(git -C "$WS" diff --cached -- mod.txt | grep '^+agent')" "+agent" "  git diff --cached the content"
git -C "$WS" commit -qm agent

# ---- apply: a real conflict leaves the workspace byte for byte as it was ----------------------------
hrun run --ephemeral -- sh -c 'echo agent2 >> mod.txt; echo more > more.txt; git add mod.txt more.txt'
SID=$(sid_of "$ERR")
echo user >>"$WS/emptyme"
git -C "$WS" add emptyme # the user stages something meanwhile: the index is a real conflict
before=$(tree_snapshot "$WS")
hrun apply "$SID"
is "$RC" 1 "apply with a conflict exits 1"
like "$ERR" "conflict: .git/index: " "  the conflict is named"
like "$ERR" "nothing applied from session $SID" "  nothing is applied"
same_tree "$before" "$(tree_snapshot "$WS")" "  the workspace is byte for byte as it was"
"$HUTCH" discard -q "$SID"
git -C "$WS" reset -q

# ---- bounded: a 16 MB file, nesting deeper than 300 levels --------------------------------------------
head -c 12000000 /dev/urandom | base64 >"$WS/big16.txt"
hrun run --ephemeral --audit "$T/audit.jsonl" -- sh -c 'head -c 12000000 /dev/urandom | base64 > big16.txt
	head -c 16000000 /dev/urandom > big16.bin
	mkdir deep && cd deep && i=0; while [ $i -lt 320 ]; do mkdir d && cd d || exit 9; i=$((i+1)); done; echo bottom > f'
is "$RC" 0 "a session writes a 16 MB file and a tree 320 levels deep"
SID=$(sid_of "$ERR")
deep="deep$(printf '/d%.0s' $(seq 320))/f"
end=$(grep '"end"' "$T/audit.jsonl" | tail -1)
is "$("$PY" -c 'import json,sys; f=json.loads(sys.stdin.read())["files"]; print(f["complete"], f["created"] >= 322)' <<<"$end")" \
	"True True" "the audit end event: complete, with every created entry"
like "$(cat "$T/audit.jsonl")" "/$deep\"" "  the deepest file is in the audit log"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' -o "$T/rss" "$HUTCH" diff "$SID" >"$T/big.diff" 2>"$T/big.err"
	is "$?" 0 "hutch diff of it"
	rss=$(tail -1 "$T/rss")
	note "hutch diff: max RSS ${rss} kB, $(stat -c %s "$T/big.diff") bytes of patch"
	check "  stays under 200 MB of memory (${rss} kB)" test "$rss" -lt 204800
else
	"$HUTCH" diff "$SID" >"$T/big.diff" 2>"$T/big.err"
	is "$?" 0 "hutch diff of it"
	skip "/usr/bin/time is not installed: no max RSS" 1
fi
like "$(grep -c "^+++ b/$deep\$" "$T/big.diff")" "^1$" "  the deepest file is in the diff"
cp -a "$WS" "$T/by-git2"
(cd "$T/by-git2" && git apply "$T/big.diff") >"$T/git2.out" 2>&1
is "$?" 0 "git apply takes it (a 16 MB text replacement and a 16 MB binary)"
check "  with the same content" cmp -s "$T/by-git2/big16.bin" "$XDG_STATE_HOME/hutch/sessions/$SID/upper/big16.bin"
hrun apply "$SID"
is "$RC" 0 "hutch apply of the deep tree"
is "$(cat "$WS/$deep")" bottom "  the deepest file is applied"
"$HUTCH" discard -q "$SID"

done_testing
