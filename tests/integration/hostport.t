#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Host ports (--host-port PORT, network.hostPorts): a model API on the host's loopback
# (Ollama, a LiteLLM gateway) reached by unmodified clients at http://127.0.0.1:PORT,
# http://localhost:PORT and http://[::1]:PORT inside, under --net proxy, --net none and an
# agent profile; every other host loopback port stays unreachable (the host's server sees
# no connection); audit events; a streamed (chunked, SSE-like) response arrives chunk by
# chunk; the refusals: --net host, the proxy's own port, -a of the host's loopback (flag
# and policy file, with file:line:col), -e of the proxy variables; -e NO_PROXY appended.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# A host loopback server: GET /stream sends three chunks, the second only once the client
# says (a file in the workspace) that it read the first, or after 15 s ("late"). Every
# accepted connection is logged. Args: family (4 or 6), portfile, logfile, name, ackfile.
SERVER_PY='
import socket, sys, os, time
fam, portfile, log, name, ack = sys.argv[1:6]
s = socket.socket(socket.AF_INET6 if fam == "6" else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1" if fam == "6" else "127.0.0.1", 0)); s.listen(16)
open(portfile + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    with open(log, "a") as f: f.write("conn\n")
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d: break
            req += d
        if b"GET /stream" in req:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            def chunk(t): c.sendall(b"%x\r\n%s\r\n" % (len(t), t))
            chunk(b"data: one\n\n")
            how = "late"
            for _ in range(150):
                if os.path.exists(ack): how = "acked"; break
                time.sleep(0.1)
            with open(log, "a") as f: f.write("first chunk " + how + "\n")
            chunk(b"data: two\n\n"); chunk(b"data: three\n\n"); c.sendall(b"0\r\n\r\n")
        else:
            body = ("MODEL-API-" + name + "\n").encode()
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except OSError:
        pass
    c.close()
'
start_server() { # FAMILY NAME: sets PORT_<NAME>
	"$PY" -c "$SERVER_PY" "$1" "$T/port.$2" "$T/log.$2" "$2" "$WS/ack" &
	bg_register $!
	wait_for_file "$T/port.$2" 10 || bail_out "test server $2 did not start"
	: >>"$T/log.$2"
}
start_server 4 one
start_server 4 two
P1=$(cat "$T/port.one")
P2=$(cat "$T/port.two")

# urllib honours NO_PROXY (127.0.0.1, localhost, ::1 bypass the proxy): an unmodified client.
GET_PY='
import sys, urllib.request
for url in sys.argv[1:]:
    try:
        print(urllib.request.urlopen(url, timeout=10).read().decode().strip())
    except Exception as e:
        r = getattr(e, "reason", e)
        print("error:", getattr(r, "strerror", None) or r)
'
urls() { echo "http://127.0.0.1:$1/" "http://localhost:$1/" "http://[::1]:$1/"; }
three() { printf '%s\n%s\n%s' "$1" "$1" "$1"; }

for label in "--net proxy" "--net none" "--profile claude-code"; do
	# shellcheck disable=SC2086,SC2046
	hrun run $label --host-port "$P1" -- "$PY" -c "$GET_PY" $(urls "$P1")
	is "$OUT" "$(three MODEL-API-one)" "$label --host-port P1: 127.0.0.1, localhost and [::1] reach the host's P1"
	is "$RC" 0 "  exit 0"
	# shellcheck disable=SC2086
	hrun run $label --host-port "$P1" -- "$PY" -c "$GET_PY" "http://127.0.0.1:$P2/" "http://localhost:$P2/"
	is "$OUT" "$(printf 'error: Connection refused\nerror: Connection refused')" \
		"$label --host-port P1: another host loopback port (P2) is refused"
done
if command -v curl >/dev/null; then
	hrun run --net proxy --host-port "$P1" -- curl -sS "http://localhost:$P1/"
	is "$OUT" "MODEL-API-one" "curl (NO_PROXY from hutch's environment) to localhost:P1 reaches the host's"
fi
is "$(cat "$T/log.two")" "" "the host's server on P2 saw no connection at all"

# shellcheck disable=SC2046
hrun run --net proxy -- "$PY" -c "$GET_PY" $(urls "$P1")
is "$OUT" "$(three "error: Connection refused")" "without --host-port the host's P1 is not reachable"

# The policy key, in a file; and the dry-run shows it.
printf '{\n  "network": {\n    "mode": "proxy",\n    "hostPorts": [%s]\n  }\n}\n' "$P1" >"$T/hp.json"
hrun run -p "$T/hp.json" -- "$PY" -c "$GET_PY" "http://localhost:$P1/" "http://127.0.0.1:$P2/"
is "$OUT" "$(printf 'MODEL-API-one\nerror: Connection refused')" "network.hostPorts in a policy file: the same"
hrun run -p "$T/hp.json" --dry-run -- true
is "$("$PY" -c 'import json, sys; print(json.load(sys.stdin)["network"]["hostPorts"])' <<<"$OUT")" "[$P1]" \
	"--dry-run shows network.hostPorts"

# Audit: a net event when the relayed connection opens and when it closes.
L=$T/audit.jsonl
hrun run --net proxy --host-port "$P1" --audit "$L" -- "$PY" -c "$GET_PY" "http://127.0.0.1:$P1/"
got=$("$PY" - "$L" "$P1" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "net":
        print(e["phase"], e["server.address"], e["server.port"] == int(sys.argv[2]), e["proxy.via"],
              e.get("hostPort"), e["outcome"], e["rule"] == sys.argv[2], e["rule_origin"],
              e.get("bytes_down", 0) > 0 if e["phase"] == "close" else "")
    if e["event"] == "end":
        print("counts.net", e["counts"]["net"])
EOF
)
is "$got" "open 127.0.0.1 True host-port True connected True --host-port 
close 127.0.0.1 True host-port True connected True --host-port True
counts.net 1" "audit: net open and close events (host 127.0.0.1, the port, hostPort, the rule's origin)"

# Nothing listens on the host's port: the client sees the connection end, the log says why.
CLOSED=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hrun run --net proxy --host-port "$CLOSED" --audit "$L" -- "$PY" -c "$GET_PY" "http://127.0.0.1:$CLOSED/"
like "$OUT" "^error: " "a host port nothing listens on: the client gets an error"
like "$(grep '"outcome":"failed"' "$L")" "nothing listens on the host's 127.0.0.1 or \[::1\]" \
	"  and the audit log says nothing listens there"

# IPv6-only host service: 127.0.0.1:PORT inside falls back to the host's [::1]:PORT.
if "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	start_server 6 six
	P6=$(cat "$T/port.six")
	hrun run --net proxy --host-port "$P6" -- "$PY" -c "$GET_PY" "http://127.0.0.1:$P6/"
	is "$OUT" "MODEL-API-six" "a host service on [::1] only is reached through 127.0.0.1:PORT (fallback)"
else
	skip "the host has no IPv6 loopback: the [::1] fallback is not tested" 1
fi

# A streamed response: the first chunk reaches the client before the server sends the rest
# (the server waits for the client's acknowledgement, a file in the workspace).
STREAM_PY='
import sys, http.client
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("GET", "/stream")
r = c.getresponse()
print(r.readline().decode().strip())
open(sys.argv[2], "w").close()
print(" ".join(l.decode().strip() for l in r if l.strip()))
'
rm -f "$WS/ack"
hrun run --net proxy --host-port "$P1" -- "$PY" -c "$STREAM_PY" "$P1" "$WS/ack"
is "$OUT" "$(printf 'data: one\ndata: two data: three')" "a chunked event stream arrives whole"
like "$(cat "$T/log.one")" "first chunk acked" "  and its first chunk reached the client before the server sent the next"
rm -f "$WS/ack"

# ---- refusals ----------------------------------------------------------------------------
hrun run --net host --host-port "$P1" -- true
is "$RC" 125 "--net host --host-port: refused (125)"
like "$ERR" "host networking reaches the host's loopback already" "  with why"
hrun run --net proxy --host-port 3128 -- true
like "$RC:$ERR" "^125:.*host port 3128 is the port of hutch's own HTTP proxy inside the sandbox" \
	"--host-port of the proxy's own port: refused"
hrun run --host-port 0 -- true
like "$RC:$ERR" "^125:.*invalid host port \"0\"" "--host-port 0: refused"
printf '{ "network": { "hostPorts": ["11434"] } }\n' >"$T/bad.json"
hrun run -p "$T/bad.json" -- true
like "$RC:$ERR" "^125:.*bad.json:1:30: network.hostPorts\[0\]: expected a port number, got a string" \
	"network.hostPorts with a string: refused with file:line:col"

for a in "127.0.0.1:$P1" "localhost:$P1" "[::1]:$P1"; do
	hrun run -a "$a" -- true
	like "$RC:$ERR" "^125:.*\"$(re_quote "$a")\" is the host's loopback: use --host-port $P1" \
		"-a $a: refused, saying to use --host-port $P1"
done
printf '{ "network": { "allowPrivate": true } }\n' >"$T/priv.json"
hrun run -p "$T/priv.json" -a "localhost:$P1" -- true
is "$RC" 0 "-a localhost:PORT with allowPrivate: kept (a client using the proxy explicitly reaches it)"
printf '{\n  "network": {\n    "allow": ["example.com", "localhost:%s"]\n  }\n}\n' "$P1" >"$T/lo.json"
hrun run -p "$T/lo.json" -- true
like "$RC:$ERR" "^125:.*lo.json:3:30: \"localhost:$P1\" is the host's loopback: use --host-port $P1" \
	"network.allow of localhost:PORT in a policy file: refused with file:line:col"

for v in HTTP_PROXY=http://proxy.corp:8080 https_proxy=http://x:1 ALL_PROXY=socks5://x:1 HTTPS_PROXY; do
	hrun run --net proxy -e "$v" -- true
	like "$RC:$ERR" "^125:.*--env: ${v%%=*} cannot be given with --net proxy: hutch sets it to its own proxy" \
		"--net proxy -e $v: refused"
done
hrun run --net proxy -e NO_PROXY=corp.internal -e no_proxy=.corp -- sh -c 'echo "$NO_PROXY $no_proxy"'
is "$OUT" "localhost,127.0.0.1,::1,[::1],corp.internal localhost,127.0.0.1,::1,[::1],.corp" \
	"--net proxy -e NO_PROXY=...: appended to hutch's own entries"

done_testing
