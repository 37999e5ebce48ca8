#!/bin/bash
# Degraded mode, for real: hutch inside a user namespace whose
# user.max_user_namespaces is 0 cannot create its own. Without --allow-degraded
# it refuses (125, naming the layer and the fix); with it, Landlock + seccomp
# still enforce the filesystem and network policy.
. "$(dirname "$0")/../lib.sh"
require_sandbox

command -v unshare >/dev/null || skip_all "unshare (util-linux) is missing"

# nouserns CMD...: run CMD (a hutch invocation) where no user namespace can be created.
nouserns() {
	LAST_CMD="(max_user_namespaces=0) $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -U --map-root-user \
		sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh "$@" \
		>"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	cat "$T/.out" "$T/.err" >>"$T/.transcript"
}

nouserns "$HUTCH" run -- true
is "$RC" 125 "without user namespaces and without --allow-degraded: exit 125"
like "$ERR" "required layer userns" "  the message names the missing layer"
like "$ERR" "allow-degraded" "  and says how to run anyway"

nouserns "$HUTCH" run --allow-degraded -- sh -c 'echo inside'
is "$RC" 0 "with --allow-degraded the command runs"
like "$ERR" "degraded mode" "  and hutch says in one line what is weaker"

mkdir -p "$WS/src"
nouserns "$HUTCH" run -q --allow-degraded -- sh -c 'echo data > src/new.txt && cat src/new.txt'
is "$OUT" "data" "degraded: a write inside the workspace works"

nouserns "$HUTCH" run -q --allow-degraded -- sh -c 'echo x > "$HOME/outside.txt"'
like "$ERR" "Permission denied" "degraded: a write outside the workspace fails (EACCES, Landlock)"
check "  and nothing appeared on the host" test ! -e "$HOME/outside.txt"

nouserns "$HUTCH" run -q --allow-degraded -- cat "$HOME/.ssh/id_ed25519"
isnt "$RC" 0 "degraded: a hidden file is unreadable"
like "$ERR" "Permission denied" "  with EACCES"
unlike "$OUT" "$SECRET_MARK" "  and its content never shows"

nouserns "$HUTCH" run -q --allow-degraded -- sh -c 'echo evil > .git/hooks/pre-commit'
like "$ERR" "Permission denied" "degraded: planting a git hook fails"
check "  and no hook landed on the host" test ! -e "$WS/.git/hooks/pre-commit"

nouserns "$HUTCH" run -q --allow-degraded -- sh -c 'echo {} > .mcp.json'
like "$ERR" "Permission denied" "degraded: creating a protected file that does not exist yet fails"
check "  and nothing was created" test ! -e "$WS/.mcp.json"

nouserns "$HUTCH" run -q --allow-degraded -- "$PY" -c '
import socket, errno
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("socket created")
except OSError as e:
    print(errno.errorcode[e.errno])'
is "$OUT" "EACCES" "degraded --net none: an inet socket is refused with EACCES (seccomp)"

nouserns "$HUTCH" run -q --allow-degraded --net proxy -- true
is "$RC" 125 "degraded: --net proxy is refused (it needs a network namespace)"

marker=hutch-degraded-bg-$$
nouserns "$HUTCH" run -q --allow-degraded -- sh -c "sleep 300 $marker & setsid sleep 301 $marker & true" 
sleep 0.3
check "degraded: background processes do not outlive the command" \
	sh -c "! pgrep -f 'sleep 30[01] $marker' >/dev/null"

done_testing
