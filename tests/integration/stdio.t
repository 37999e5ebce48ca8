#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Without a terminal, stdin/stdout/stderr pass through unchanged: binary-safe, EOF and
# SIGPIPE behave, no file descriptor of the launcher leaks in.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

head -c 1048576 /dev/urandom >"$T/random.bin"

# Pipes on both sides.
LAST_CMD=
# shellcheck disable=SC2002 # a pipe on stdin, on purpose
cat "$T/random.bin" | timeout 20 "$HUTCH" run -- cat | cat >"$T/through-pipe.bin"
st=("${PIPESTATUS[@]}")
is "${st[1]}" 0 "1 MiB of random bytes through pipes: hutch exits 0"
cmp -s "$T/random.bin" "$T/through-pipe.bin"
ok $? "  the bytes come out unchanged (cmp)"

timeout 20 "$HUTCH" run -- cat <"$T/random.bin" >"$T/through-file.bin"
cmp -s "$T/random.bin" "$T/through-file.bin"
ok $? "1 MiB from a file on stdin to a file on stdout, unchanged"

# shellcheck disable=SC2002
cat "$T/random.bin" | timeout 20 "$HUTCH" run -- sh -c 'cat >&2' 2>&1 >/dev/null | cat >"$T/through-stderr.bin"
cmp -s "$T/random.bin" "$T/through-stderr.bin"
ok $? "1 MiB through stderr, unchanged"

n=$(timeout 20 "$HUTCH" run -- head -c 20971520 /dev/zero | wc -c)
is "$n" 20971520 "20 MiB of output through a pipe arrive completely"

# ---- EOF -----------------------------------------------------------------------------
hrun run -- wc -c < <(printf abc)
is "$RC" 0 "stdin EOF reaches the command (wc terminates)"
is "$(words "$OUT")" 3 "  and it read exactly the 3 bytes"

hrun run -- cat </dev/null
is "$RC:$OUT" "0:" "stdin = /dev/null: cat sees EOF at once"

hrun run -- sh -c 'test -t 0 || echo stdin-not-tty; test -t 1 || echo stdout-not-tty'
is "$OUT" "stdin-not-tty
stdout-not-tty" "without a terminal the command gets no terminal"

# ---- SIGPIPE ---------------------------------------------------------------------------
LAST_CMD=
out=$(
	timeout 20 "$HUTCH" run -- yes | head -1
	echo "status ${PIPESTATUS[0]}"
)
is "$(head -1 <<<"$out")" "y" "hutch run -- yes | head -1 prints one line"
pst=$(sed -n 's/^status //p' <<<"$out")
isnt "$pst" 124 "  and terminates (did not hit the 20 s watchdog)"
is "$pst" 141 "  hutch exits 141 (yes died of SIGPIPE, 128+13)"

# ---- no fd leaks -----------------------------------------------------------------------
hrun run -- sh -c 'for fd in 3 4 5 7 9 42; do [ -e /proc/$$/fd/$fd ] && echo "leaked fd $fd -> $(readlink /proc/$$/fd/$fd)"; done; echo checked' \
	7>"$T/fd7" 9<"$T/random.bin" 42>"$T/fd42"
is "$OUT" "checked" "file descriptors open in the launcher (7, 9, 42) do not reach the command"

hrun run -- ls /proc/self/fd
is "$(words "$OUT")" "0 1 2 3" "the command starts with exactly fds 0, 1 and 2 (3 is ls's directory)"

done_testing
