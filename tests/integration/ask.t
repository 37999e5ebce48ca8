#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch run --ask: a connection to a destination outside the allowlist pauses and hutch asks
# on the terminal (driven here through a pseudo-terminal): once, session, always (written to
# the user policy), deny. Without a terminal it is a plain denial. The prompt itself is
# unit-tested in tests/unit/test-ask.c; this checks it end to end through the proxy.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python
command -v curl >/dev/null || skip_all "curl is not installed"

# An HTTP server on the host's loopback that reads the request before it answers.
mkdir "$T/www"
echo "HUTCH-HTTP-OK" >"$T/www/index.html"
"$PY" -u -m http.server --bind 127.0.0.1 --directory "$T/www" 0 >"$T/www.log" 2>&1 &
bg_register $!
for _ in $(seq 100); do
	SRV_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/www.log" | head -1)
	[ -n "$SRV_PORT" ] && break
	sleep 0.1
done
[ -n "$SRV_PORT" ] || bail_out "the loopback HTTP server did not start: $(cat "$T/www.log")"
# The destination is the host's loopback, so allowPrivate is needed; what is asked about is
# only that "localhost" is not in the (empty) allowlist.
cat >"$T/priv.json" <<'EOF'
{ "network": { "allowPrivate": true } }
EOF
FETCH='curl -sS -m 20 --noproxy "" -x "$HTTP_PROXY" http://localhost:'$SRV_PORT'/; echo " curl=$?"'

# ---- no terminal: denied, and said so -------------------------------------------------------
hrun run --ask -p "$T/priv.json" -- sh -c "$FETCH"
like "$ERR" "--ask: stdin is not a terminal" "without a terminal --ask says it cannot ask"
unlike "$OUT" "HUTCH-HTTP-OK" "  and the connection is refused"
like "$OUT" "403 Forbidden: connection to localhost:$SRV_PORT refused" "  (the proxy answers 403)"

# ---- on a terminal ---------------------------------------------------------------------------
cat >"$T/drive-pty.py" <<'EOF'
# drive-pty.py ANSWER CMD...: run CMD on a new pseudo-terminal; answer each of hutch's
# questions with ANSWER; print what the terminal showed and the exit status.
import os, pty, select, signal, sys, time
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf, answered, deadline = b"", 0, time.time() + 40
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    if not data:
        break
    buf += data
    if buf.count(b"[d]eny: ") > answered:
        time.sleep(0.2)
        os.write(fd, answer.encode())
        answered += 1
if time.time() >= deadline:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode("utf-8", "replace").replace("\r", ""))
sys.stdout.write("\nexit=%d\n" % os.waitstatus_to_exitcode(status))
EOF
ask_run() { # ANSWER: run the fetch on a pty with --ask, answer, leave the transcript in OUT
	OUT=$(cd "$WS" && timeout -k 5 60 "$PY" "$T/drive-pty.py" "$1" "$HUTCH" run --ask -p "$T/priv.json" \
		-- sh -c "$FETCH; $FETCH" 2>&1)
	printf '%s\n' "$OUT" >>"$T/.transcript"
}

ask_run o
like "$OUT" "exit=[0-9]+$" "the command ran on a pseudo-terminal (the test driver works)"
if ! grep -q "allow a connection to localhost:$SRV_PORT?" <<<"$OUT"; then
	# The proxy engine does not call hutch_run_opts.ask yet: report it, do not pretend.
	for what in "asks 'allow a connection to localhost:PORT?' on the terminal" \
		"once: this connection goes through, the next one asks again" \
		"session: allowed for the rest of the run without asking again" \
		"always: saved to the user policy as localhost:PORT" \
		"deny: refused"; do
		echo "not ok $((_T_N += 1)) - --ask on a terminal: $what # TODO the proxy does not call hutch_run_opts.ask yet (src/lib/proxy/proxy.c)"
	done
	unlike "$OUT" "HUTCH-HTTP-OK" "until then, --ask on a terminal still refuses the destination"
	done_testing
fi
pass "--ask on a terminal asks 'allow a connection to localhost:$SRV_PORT?'"
like "$OUT" "allowed once" "once: the answer is shown"
is "$(grep -c "allow a connection to" <<<"$OUT")" 2 "once: the second connection asks again"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  and each one answered 'once' goes through"

ask_run s
is "$(grep -c "allow a connection to" <<<"$OUT")" 1 "session: asked once"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  both fetches go through"
check "  nothing saved" test ! -e "$XDG_CONFIG_HOME/hutch/policy.json"

ask_run a
like "$OUT" "allowed always \(added to $(re_quote "$XDG_CONFIG_HOME")/hutch/policy.json\)" \
	"always: says where it was saved"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  both fetches go through"
like "$(cat "$XDG_CONFIG_HOME/hutch/policy.json" 2>/dev/null)" "\"localhost:$SRV_PORT\"" \
	"  the user policy now allows localhost:$SRV_PORT"
hrun run --net proxy -p "$T/priv.json" -- sh -c "$FETCH"
like "$OUT" "HUTCH-HTTP-OK" "  and the next run (without --ask) is allowed by it"
rm -f "$XDG_CONFIG_HOME/hutch/policy.json"

ask_run d
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 0 "deny: refused"
is "$(grep -c "allow a connection to" <<<"$OUT")" 1 "  and not asked again in the same run"

done_testing
