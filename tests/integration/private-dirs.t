#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Private /tmp, /var/tmp, /run, /var/run, /dev/shm and $XDG_RUNTIME_DIR: the host's files
# and Unix sockets there are out of reach, what is written inside stays inside; --socket
# exposes one chosen socket, and -v warns that it is a hole.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

M="hutch-host-$$-$RANDOM"
HOSTFILES=("/tmp/$M" "/var/tmp/$M" "/dev/shm/$M" "$XDG_RUNTIME_DIR/$M")
[ -w /run ] && HOSTFILES+=("/run/$M")
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup_hostfiles() { rm -f "${HOSTFILES[@]}" "/tmp/$M.sock" "/tmp/$M-in" "/var/tmp/$M-in" \
	"/dev/shm/$M-in" "/run/$M-in" "$XDG_RUNTIME_DIR/$M-in"; }
trap 'cleanup_hostfiles; _t_cleanup' EXIT
for f in "${HOSTFILES[@]}"; do
	echo host >"$f"
done

for f in "${HOSTFILES[@]}"; do
	hrun run -- sh -c "test -e '$f' && echo visible || echo invisible"
	is "$OUT" "invisible" "a file the host created at $f is not visible inside"
done
if [ ! -w /run ]; then
	some=$(find /run -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)
	if [ -n "$some" ]; then
		hrun run -- sh -c "test -e '$some' && echo visible || echo invisible"
		is "$OUT" "invisible" "the host's $some is not visible inside"
	fi
fi
hrun run -- sh -c 'ls -A /var/run/ | wc -l; ls -A /run | wc -l'
unlike "$OUT" "$M" "/var/run inside shows nothing of the host's /run"

for d in /tmp /var/tmp /dev/shm /run "$XDG_RUNTIME_DIR"; do
	hrun run -- sh -c "echo inside > '$d/$M-in' && cat '$d/$M-in'"
	is "$OUT" "inside" "$d is writable inside"
	check "  and what is written there does not appear on the host" test ! -e "$d/$M-in"
done
hrun run -- sh -c 'test -d "$XDG_RUNTIME_DIR" && ls -A "$XDG_RUNTIME_DIR" | wc -l'
is "$OUT" 0 "\$XDG_RUNTIME_DIR exists inside and starts empty"

hrun run -- sh -c 'touch /tmp/a && echo first'
hrun run -- sh -c 'test -e /tmp/a && echo leaked || echo fresh'
is "$OUT" "fresh" "each session gets a fresh /tmp"

# ---- host Unix sockets ------------------------------------------------------------------
SOCK_TMP=/tmp/$M.sock
SOCK_XDG=$XDG_RUNTIME_DIR/bus
start_unix_service "$SOCK_TMP"
start_unix_service "$SOCK_XDG"
is "$("$PY" -c "$CONNECT_PY" "$SOCK_TMP")" "HUTCH-UNIX-OK" "(the host socket $SOCK_TMP answers on the host)"

hrun run -- "$PY" -c "$CONNECT_PY" "$SOCK_TMP"
like "$OUT" "^error: No such file or directory$" "a host Unix socket under /tmp is unreachable inside (ENOENT)"
hrun run -- "$PY" -c "$CONNECT_PY" "$SOCK_XDG"
like "$OUT" "^error: No such file or directory$" "a host Unix socket in \$XDG_RUNTIME_DIR (a fake D-Bus) is unreachable"

hrun run --socket "$SOCK_TMP" -- "$PY" -c "$CONNECT_PY" "$SOCK_TMP"
is "$OUT" "HUTCH-UNIX-OK" "--socket PATH makes that one socket reachable"
hrun run --socket "$SOCK_TMP" -- "$PY" -c "$CONNECT_PY" "$SOCK_XDG"
like "$OUT" "^error: " "  and only that one"
hrun run --socket "$SOCK_TMP" -- sh -c "ls -A /tmp; echo x > /tmp/$M-in"
is "$OUT" "$M.sock" "  /tmp stays private around it (only the socket is there)"
check "  nothing written to the host's /tmp" test ! -e "/tmp/$M-in"

hrun run -v --socket "$SOCK_TMP" -- true
like "$ERR" "$(re_quote "$SOCK_TMP")" "hutch run -v --socket names the exposed socket"
like "$ERR" "[Ww]arn|[Hh]ole" "  and warns that it is a hole"

cat >"$T/sockets.json" <<JSON
{ "filesystem": { "sockets": ["$SOCK_XDG"] } }
JSON
hrun run -p "$T/sockets.json" -- "$PY" -c "$CONNECT_PY" "$SOCK_XDG"
is "$OUT" "HUTCH-UNIX-OK" "policy filesystem.sockets exposes a socket too"

done_testing
