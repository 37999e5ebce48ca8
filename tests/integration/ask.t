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
# drive-pty.py [--rush TEXT] [--wait-file F] [--confirm TEXT] ANSWER CMD...:
# run CMD on a new pseudo-terminal; answer each of hutch's questions with ANSWER once it
# has settled ("" for no answer; TEXT given with --rush is typed the moment the question
# shows; --wait-file: answer only once F exists, or after 20 s); answer a "save ...?"
# confirmation with --confirm. Prints what the terminal showed and the exit status.
import os, pty, select, signal, sys, time
opts = {"--rush": None, "--wait-file": None, "--confirm": None}
args = sys.argv[1:]
while args and args[0] in opts:
    opts[args[0]] = args[1]
    args = args[2:]
answer, argv = args[0], args[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf, asked, confirmed, deadline = b"", 0, 0, time.time() + 60
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
    if buf.count(b"then Enter: ") > asked:
        asked += 1
        if opts["--rush"]:
            os.write(fd, opts["--rush"].encode())
        if opts["--wait-file"]:
            end = time.time() + 20
            while not os.path.exists(opts["--wait-file"]) and time.time() < end:
                time.sleep(0.1)
            buf += b"\n[driver: wait-file %s]\n" % (b"seen" if os.path.exists(opts["--wait-file"]) else b"missing")
        time.sleep(1.0)  # past the question's settle time
        if answer:
            os.write(fd, answer.encode())
    if opts["--confirm"] is not None and buf.count(b"to save: ") > confirmed:
        confirmed += 1
        time.sleep(1.0)
        os.write(fd, opts["--confirm"].encode())
if time.time() >= deadline:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode("utf-8", "replace").replace("\r", ""))
sys.stdout.write("\nexit=%d\n" % os.waitstatus_to_exitcode(status))
EOF
ask_run() { # [DRIVER OPTIONS] ANSWER: run the fetch on a pty with --ask, answer, leave the transcript in OUT
	OUT=$(cd "$WS" && timeout -k 5 90 "$PY" "$T/drive-pty.py" "$@" "$HUTCH" run --ask -p "$T/priv.json" \
		-- sh -c "$FETCH; $FETCH" 2>&1)
	printf '%s\n' "$OUT" >>"$T/.transcript"
}

ask_run $'o\r'
like "$OUT" "exit=[0-9]+$" "the command ran on a pseudo-terminal (the test driver works)"
if ! grep -q "allow a connection to localhost:$SRV_PORT?" <<<"$OUT"; then
	# The proxy engine does not call hutch_run_opts.ask yet: report it, do not pretend.
	for what in "asks 'allow a connection to localhost:PORT?' on the terminal" \
		"once: this connection goes through, the next one asks again" \
		"session: allowed for the rest of the run without asking again" \
		"always: saved to the user policy as localhost:PORT" \
		"deny: refused"; do
		echo "not ok $((_T_N += 1)) - --ask on a terminal: $what # TODO the proxy does not call hutch_run_opts.ask yet (src/lib/net/proxy.c)"
	done
	unlike "$OUT" "HUTCH-HTTP-OK" "until then, --ask on a terminal still refuses the destination"
	done_testing
fi
pass "--ask on a terminal asks 'allow a connection to localhost:$SRV_PORT?'"
like "$OUT" "allowed once" "once: the answer is shown"
is "$(grep -c "allow a connection to" <<<"$OUT")" 2 "once: the second connection asks again"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  and each one answered 'once' goes through"

ask_run $'s\r'
is "$(grep -c "allow a connection to" <<<"$OUT")" 1 "session: asked once"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  both fetches go through"
check "  nothing saved" test ! -e "$XDG_CONFIG_HOME/hutch/policy.json"

ask_run --confirm $'no\r' $'a\r'
like "$OUT" "save localhost:$SRV_PORT to .*policy.json for every future run" \
	"always: asks before saving"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  without 'yes': both fetches go through (this session)"
check "  but the user policy is not written" test ! -e "$XDG_CONFIG_HOME/hutch/policy.json"

ask_run --confirm $'yes\r' $'always\r'
like "$OUT" "allowed always \(added to $(re_quote "$XDG_CONFIG_HOME")/hutch/policy.json\)" \
	"always: says where it was saved"
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 2 "  both fetches go through"
like "$(cat "$XDG_CONFIG_HOME/hutch/policy.json" 2>/dev/null)" "\"localhost:$SRV_PORT\"" \
	"  the user policy now allows localhost:$SRV_PORT"
hrun run --net proxy -p "$T/priv.json" -- sh -c "$FETCH"
like "$OUT" "HUTCH-HTTP-OK" "  and the next run (without --ask) is allowed by it"
rm -f "$XDG_CONFIG_HOME/hutch/policy.json"

ask_run $'d\r'
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 0 "deny: refused"
is "$(grep -c "allow a connection to" <<<"$OUT")" 1 "  and not asked again in the same run"

# ---- transparent egress: a client that ignores the proxy variables ----------------------------
# Under --ask the sandbox's resolver gives a name outside the allowlist a pool address instead of
# NXDOMAIN, and the question comes with the connection (its port then known), put as for a
# CONNECT (docs/network.md, "Transparent egress").
hrun check
if grep -Eq '^transparent-egress +available' <<<"$OUT"; then
	RAW='
import socket, sys
for a in sys.argv[1:]:
    h, p = a.rsplit(":", 1)
    try:
        s = socket.create_connection((h, int(p)), timeout=30)
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        d = b""
        while True:
            b = s.recv(4096)
            if not b: break
            d += b
        print("raw:", d.decode().strip().splitlines()[-1] if d else "empty")
    except socket.gaierror as e: print("raw: gaierror", e.errno)
    except OSError as e: print("raw: error:", e.strerror or e)
'
	tr_run() { # ANSWER [RAW ARGS...]
		local answer=$1
		shift
		rm -f "$T/tr.jsonl"
		OUT=$(cd "$WS" && timeout -k 5 90 "$PY" "$T/drive-pty.py" "$answer" "$HUTCH" run --ask \
			-p "$T/priv.json" --deny not-this.example --audit "$T/tr.jsonl" -- "$PY" -c "$RAW" "$@" 2>&1)
		printf '%s\n' "$OUT" >>"$T/.transcript"
	}
	tr_run $'s\r' "localhost.:$SRV_PORT" "localhost.:$SRV_PORT"
	is "$(grep -c "allow a connection to localhost:$SRV_PORT?" <<<"$OUT")" 1 \
		"transparent: a raw socket to a name outside the allowlist: asked, with its port"
	is "$(grep -c "raw: HUTCH-HTTP-OK" <<<"$OUT")" 2 "  session: both connections go through"
	like "$(grep -F '"proxy.via":"transparent"' "$T/tr.jsonl" | head -1)" '"rule":"--ask"' \
		"  the audit log: via transparent, allowed by --ask"
	tr_run $'d\r' "localhost.:$SRV_PORT" "localhost.:$SRV_PORT"
	is "$(grep -c "allow a connection to" <<<"$OUT")" 1 "transparent: deny: asked once"
	is "$(grep -Ec "raw: error: Connection reset by peer|raw: empty" <<<"$OUT")" 2 \
		"  both connections refused (reset)"
	tr_run $'s\r' "not-this.example:$SRV_PORT"
	is "$(grep -c "allow a connection to" <<<"$OUT")" 0 "transparent: a name a deny rule matches is not asked"
	like "$OUT" "raw: gaierror -2" "  it does not resolve (NXDOMAIN)"
elif [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
	fail "transparent egress works here (HUTCH_MUST_WORK=1): $(grep -E '^transparent-egress' <<<"$OUT")"
else
	skip "transparent egress unavailable here: $(grep -E '^transparent-egress' <<<"$OUT")" 7
fi

# ---- typing meant for the agent never answers -------------------------------------------------
# The text is typed as the question shows (the user was typing to the agent): discarded.
ask_run --rush $'please fix the always-failing test\r' $'d\r'
is "$(grep -c "HUTCH-HTTP-OK" <<<"$OUT")" 0 "text typed as the question shows does not answer it (d does)"
check "  nothing saved" test ! -e "$XDG_CONFIG_HOME/hutch/policy.json"
# A single "a" with no Enter is not an answer: after the settle time, only "a" is typed.
OUT=$(cd "$WS" && timeout -k 5 120 "$PY" "$T/drive-pty.py" a "$HUTCH" run --ask -p "$T/priv.json" \
	-- sh -c "$FETCH" 2>&1)
printf '%s\n' "$OUT" >>"$T/.transcript"
like "$OUT" "(no answer|cancelled): denied" "a single 'a' without Enter does not answer it"
unlike "$OUT" "HUTCH-HTTP-OK" "  and the connection is refused"
check "  nothing saved" test ! -e "$XDG_CONFIG_HOME/hutch/policy.json"

# ---- the loop goes on while a question is open --------------------------------------------------
# While the question about localhost is open, a connection to an allowed host (-a) and a new
# command (an exec the audit log records) go through; the driver answers only once they did.
"$PY" -u -m http.server --bind 127.0.0.2 --directory "$T/www" 0 >"$T/www2.log" 2>&1 &
bg_register $!
for _ in $(seq 100); do
	SRV2_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/www2.log" | head -1)
	[ -n "$SRV2_PORT" ] && break
	sleep 0.1
done
rm -f "$WS/during-question"
OUT=$(cd "$WS" && timeout -k 5 90 "$PY" "$T/drive-pty.py" --wait-file "$WS/during-question" $'d\r' \
	"$HUTCH" run --ask -a "127.0.0.2:$SRV2_PORT" --audit "$T/during.jsonl" -p "$T/priv.json" -- sh -c "
	(sleep 1; curl -sS -m 20 --noproxy '' -x \"\$HTTP_PROXY\" http://127.0.0.2:$SRV2_PORT/ >allowed.out 2>&1;
	 /bin/cp allowed.out during-question) &
	$FETCH; wait" 2>&1)
printf '%s\n' "$OUT" >>"$T/.transcript"
like "$OUT" "wait-file seen" "while a question is open, an allowed connection and a new command ran"
like "$(cat "$WS/allowed.out" 2>/dev/null)" "HUTCH-HTTP-OK" "  the allowed host (-a) answered"
like "$(cat "$T/during.jsonl" 2>/dev/null)" '"event":"exec".*"/bin/cp"' "  and the exec was audited"
like "$OUT" "403 Forbidden: connection to localhost:$SRV_PORT refused" "  the asked destination was denied (d)"
rm -f "$WS/during-question" "$WS/allowed.out"

# ---- --timeout ends the run while a question is open ----------------------------------------------
start=$(date +%s)
OUT=$(cd "$WS" && timeout -k 5 90 "$PY" "$T/drive-pty.py" "" \
	"$HUTCH" run --ask --timeout 3s --stop-timeout 1s -p "$T/priv.json" -- sh -c "$FETCH" 2>&1)
elapsed=$(($(date +%s) - start))
printf '%s\n' "$OUT" >>"$T/.transcript"
like "$OUT" "exit=124" "--timeout 3s with a question open: exit 124"
like "$OUT" "cancelled: denied" "  the question was cancelled"
ok "$([ "$elapsed" -lt 30 ] && echo 0 || echo 1)" "  it did not wait for the answer (${elapsed} s, bound 30 s)"

done_testing
