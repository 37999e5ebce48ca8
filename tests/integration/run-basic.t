#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch run -- CMD: namespaces, identity, workspace, argv and stdout/stderr passthrough.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

hrun run -- true
is "$RC" 0 "hutch run -- true exits 0"

hrun run -- echo hello
is "$OUT" "hello" "stdout of the command reaches the caller"

hrun run -- sh -c 'echo to-out; echo to-err >&2; exit 0'
is "$OUT" "to-out" "stdout passes through"
like "$ERR" '^to-err$' "stderr passes through"

hrun run -- printf '%s|' 'a b' '' 'c*' '$HOME' "quote'd" 'new
line'
is "$OUT" "a b||c*|\$HOME|quote'd|new
line|" "argv reaches the command unchanged (no shell, empty and odd arguments kept)"

# ---- namespaces: compare /proc/self/ns/* inside and outside --------------------------
NS="user mnt pid net ipc uts cgroup"
hrun run -- sh -c "for n in $NS; do echo \"\$n \$(readlink /proc/self/ns/\$n)\"; done"
is "$RC" 0 "reading /proc/self/ns inside works"
for n in $NS; do
	outside=$(readlink "/proc/self/ns/$n")
	inside=$(awk -v n="$n" '$1 == n { print $2 }' <<<"$OUT")
	like "$inside" "^$n:\[[0-9]+\]$" "inside: $n namespace readable ($inside)"
	isnt "$inside" "$outside" "command runs in a new $n namespace (host: $outside)"
done

# ---- identity ------------------------------------------------------------------------
hrun run -- id -u
is "$OUT" "$TEST_UID" "id -u inside is the caller's uid ($TEST_UID, as $TEST_USER)"
hrun run -- id -g
is "$OUT" "$TEST_GID" "id -g inside is the caller's gid ($TEST_GID)"
hrun run -- cat /proc/self/uid_map
# (The middle column is relative to the parent namespace, which may be an intermediate one.)
like "$(words "$OUT")" "^$TEST_UID [0-9]+ 1$" "uid_map inside maps exactly one uid, the caller's"

hrun run -- sh -c 'echo made-inside > created-inside.txt'
is "$RC" 0 "creating a file in the workspace works"
is "$(stat -c %u:%g created-inside.txt 2>&1)" "$TEST_UID:$TEST_GID" \
	"a file created in the workspace belongs to the caller on the host"
is "$(cat created-inside.txt 2>&1)" "made-inside" "and has the content written inside"

# ---- workspace and cwd ---------------------------------------------------------------
hrun run -- pwd
is "$OUT" "$WS" "default cwd inside is the current directory"

mkdir "$T/other-ws"
cd "$T" || exit 1
hrun run -C "$T/other-ws" -- sh -c 'pwd; echo via-C > via-C.txt'
is "$RC" 0 "-C DIR: command runs"
is "$OUT" "$T/other-ws" "-C DIR: cwd inside is DIR"
is "$(cat "$T/other-ws/via-C.txt" 2>&1)" "via-C" "-C DIR: DIR is writable, the file lands on the host"
hrun run --workspace "$T/other-ws" -- sh -c 'echo x > "$1"/not-ws.txt' sh "$WS"
like "$ERR" "Read-only file system" "-C DIR: a directory outside DIR is read-only (EROFS)"
check "  and nothing was written there" test ! -e "$WS/not-ws.txt"
cd "$WS" || exit 1

# ---- PID namespace -------------------------------------------------------------------
hrun run -- sh -c 'echo $$'
check "the command has a small pid in its own PID namespace (2..4, init is 1; got $OUT)" \
	test -n "$OUT" -a "$OUT" -ge 2 -a "$OUT" -le 4

hrun run -- hostname
is "$RC" 0 "hostname works inside (UTS namespace)"

done_testing
