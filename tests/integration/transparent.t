#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Transparent egress under --net proxy (docs/network.md, "Transparent egress"): programs that
# ignore the proxy variables (Node's fetch, a raw Python socket, bash's /dev/tcp, curl
# --noproxy '*', ssh without a ProxyCommand) reach an allowed name and port and nothing else; the sandbox's resolver
# (127.0.0.53) answers allowed names from hutch's pool and every other name NXDOMAIN; UDP
# and IPv6 out are refused at once; the same decision and the same audit events as through
# the proxy variables.
#
# The allowed name is "localhost." with allowPrivate: inside, the trailing dot keeps it out of
# the sandbox's /etc/hosts, so it is asked from hutch's resolver (which canonicalises it to
# "localhost"); the supervisor resolves localhost on the host (127.0.0.1) and connects to the
# test's server on the host's loopback.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

hrun check
if ! grep -E '^transparent-egress +available' <<<"$OUT" >/dev/null; then
	why=$(grep -E '^transparent-egress' <<<"$OUT")
	if [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
		fail "transparent egress works here (HUTCH_MUST_WORK=1): $why"
		done_testing
	fi
	skip_all "transparent egress unavailable here: $why"
fi
pass "hutch check: transparent-egress available"

start_loopback_service
OTHER_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SRV_PORT" >"$T/lo.json"
URL="http://localhost.:$SRV_PORT/"

# DNS: raw queries to 127.0.0.1.53, answers decoded (rcode, answer count, first A address).
DNS_PY='
import socket, struct, sys
def q(name, qtype):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l)
    s.sendto(struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1), ("127.0.0.53", 53))
    r = s.recv(512)
    rcode, an = r[3] & 15, struct.unpack("!H", r[6:8])[0]
    addr = socket.inet_ntoa(r[-4:]) if an else "-"
    return "%s rcode=%d answers=%d %s" % (name, rcode, an, addr)
for a in sys.argv[1:]:
    n, t = a.split("/")
    print(q(n, int(t)))
'
hrun run --net proxy -p "$T/lo.json" -- "$PY" -c "$DNS_PY" localhost/1 localhost/28 Other.Example/1 \
	localhost/1
like "$OUT" "^localhost rcode=0 answers=1 198\.1[89]\.[0-9]+\.[0-9]+" "resolver: an allowed name gets an A record from 198.18.0.0/15"
first=$(sed -n 1p <<<"$OUT" | awk '{ print $4 }')
last=$(sed -n 4p <<<"$OUT" | awk '{ print $4 }')
is "$last" "$first" "resolver: the same name gets the same address again"
like "$(sed -n 2p <<<"$OUT")" "^localhost rcode=0 answers=0" "resolver: AAAA of an allowed name -> empty NOERROR"
like "$(sed -n 3p <<<"$OUT")" "^Other.Example rcode=3 answers=0" "resolver: a name not allowed -> NXDOMAIN"

# DNS over TCP (clients retry over TCP on truncation; `dig +tcp` and some stubs use only TCP):
# the same answers, several queries on one connection (2-byte length before each message); a
# length over 512 bytes closes the connection, which is all a stub can get wrong.
DNS_TCP_PY='
import socket, struct, sys
def rd(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
s = socket.create_connection(("127.0.0.53", 53), timeout=5)
for a in sys.argv[1:]:
    n, t = a.split("/")
    labels = b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l)
    m = struct.pack("!HHHHHH", 0x4243, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", int(t), 1)
    s.sendall(struct.pack("!H", len(m)) + m)
    r = rd(s, struct.unpack("!H", rd(s, 2))[0])
    rcode, an = r[3] & 15, struct.unpack("!H", r[6:8])[0]
    print("%s rcode=%d answers=%d %s" % (n, rcode, an, socket.inet_ntoa(r[-4:]) if an else "-"))
s = socket.create_connection(("127.0.0.53", 53), timeout=5)
s.sendall(struct.pack("!H", 600) + b"x" * 600)
try: print("oversized:", "closed" if s.recv(100) == b"" else "answered")
except ConnectionResetError: print("oversized: closed")
'
hrun run --net proxy -p "$T/lo.json" -- sh -c "'$PY' -c '$DNS_PY' localhost/1 localhost/28 Other.Example/1; echo ---; '$PY' -c '$DNS_TCP_PY' localhost/1 localhost/28 Other.Example/1 localhost/1"
udp=$(sed '/^---$/,$d' <<<"$OUT")
tcp=$(sed '1,/^---$/d' <<<"$OUT")
like "$(sed -n 1p <<<"$tcp")" "^localhost rcode=0 answers=1 198\.1[89]\.[0-9]+\.[0-9]+" "resolver over TCP: an allowed name gets an A record from the pool"
is "$(sed -n 1,3p <<<"$tcp")" "$udp" "  the same answers as over UDP (the same address, empty AAAA, NXDOMAIN for a name not allowed)"
is "$(sed -n 4,5p <<<"$tcp")" "$(sed -n 1p <<<"$udp")
oversized: closed" "  several queries on one connection; a length over 512 bytes closes it"

hrun run --net proxy -p "$T/lo.json" -- sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts'
like "$OUT" "nameserver 127\.0\.0\.53" "/etc/resolv.conf inside names the sandbox's resolver"
hosts=$(sed '1,/^---$/d' <<<"$OUT" | grep -Ev '^[[:space:]]*(#|$)' | awk '{ $1 = ""; print }' | tr ' ' '\n' | sort -u | tr '\n' ' ')
is "$(words "$hosts")" "$(words "$(printf '%s\n' ip6-localhost ip6-loopback localhost "$(hostname)" | sort -u | tr '\n' ' ')")" \
	"/etc/hosts inside: localhost and the host name only"

# ---- clients that ignore the proxy variables -------------------------------------------------
RAW_PY='
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
try:
    s = socket.create_connection((h, int(p)), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    d = b""
    while True:
        b = s.recv(4096)
        if not b: break
        d += b
    print(d.decode().strip().splitlines()[-1] if d else "empty")
except socket.gaierror as e: print("gaierror", e.errno)
except OSError as e: print("error:", e.strerror or e)
'
NODE=$(command -v node || true)
L=$T/audit.jsonl
rm -f "$L"
hrun run --net proxy -p "$T/lo.json" --audit "$L" -- "$PY" -c "$RAW_PY" "localhost.:$SRV_PORT"
is "$OUT" "HUTCH-HTTP-OK" "a raw Python socket to an allowed name reaches it"
got=$("$PY" - "$L" "$SRV_PORT" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "net":
        print(e["phase"], e["proxy.via"], e["server.address"], e["server.port"] == int(sys.argv[2]), e["outcome"], e["rule"])
EOF
)
is "$got" "open transparent localhost True connected localhost:$SRV_PORT
close transparent localhost True connected localhost:$SRV_PORT" \
	"audit: net open and close events with proxy.via transparent, the name and the rule"

hrun run --net proxy -p "$T/lo.json" -- env -u HTTP_PROXY -u http_proxy curl -sS -m 10 --noproxy '*' "$URL"
is "$OUT" "HUTCH-HTTP-OK" "curl --noproxy '*' reaches an allowed name"
hrun run --net proxy -p "$T/lo.json" -- bash -c 'exec 3<>/dev/tcp/localhost./'"$SRV_PORT"'; printf "GET / HTTP/1.0\r\n\r\n" >&3; tail -1 <&3'
is "$OUT" "HUTCH-HTTP-OK" "bash /dev/tcp reaches an allowed name"
# ssh itself, without the ProxyCommand hutch sets for git: a server that speaks first (its
# banner) on an allowed name and port; ssh gets as far as the key exchange, which is all a
# server of the test's own can offer.
if command -v ssh >/dev/null; then
	"$PY" - "$T/.ssh-port" <<'PYEOF' &
import socket, sys, os
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-hutch_test_banner\r\n")
    c.settimeout(5)
    try: c.recv(4096)
    except OSError: pass
    c.close()
PYEOF
	bg_register $!
	wait_for_file "$T/.ssh-port" 10 || bail_out "the ssh banner server did not start"
	SSH_PORT=$(cat "$T/.ssh-port")
	printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SSH_PORT" >"$T/ssh.json"
	SSH_OPTS="-v -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10"
	hrun run --net proxy -p "$T/ssh.json" -- sh -c "env -u GIT_SSH_COMMAND ssh $SSH_OPTS -p $SSH_PORT localhost. true 2>&1"
	like "$OUT" "remote software version hutch_test_banner" \
		"ssh (no ProxyCommand) reaches an allowed name and port: the server's banner came back"
	hrun run --net proxy -p "$T/ssh.json" -- sh -c "ssh $SSH_OPTS -p $SSH_PORT not-allowed.example true 2>&1"
	like "$OUT" "Could not resolve hostname not-allowed.example" "  and a name not on the list does not resolve for it"
	unlike "$OUT" "remote software version" "  (nothing answered)"
else
	skip "ssh (openssh-client) not installed" 3
fi
if [ -n "$NODE" ]; then
	hrun run --net proxy -p "$T/lo.json" -- "$NODE" -e 'fetch(process.argv[1]).then(r => r.text()).then(t => console.log(t.trim()), e => console.log("error", e.cause ? e.cause.code : e))' "$URL"
	is "$OUT" "HUTCH-HTTP-OK" "Node's built-in fetch (no proxy support) reaches an allowed name"
else
	skip "node not installed"
fi

# ---- refused: a name not on the list, another port, UDP, IPv6 ------------------------------
hrun run --net proxy -p "$T/lo.json" -- "$PY" -c "$RAW_PY" "not-allowed.example:$SRV_PORT"
is "$OUT" "gaierror -2" "raw socket to a name not on the list: NXDOMAIN (EAI_NONAME)"
hrun run --net proxy -p "$T/lo.json" -- curl -sS -m 10 --noproxy '*' "http://not-allowed.example:$SRV_PORT/"
like "$ERR" "Could not resolve host" "curl to a name not on the list: cannot resolve"
if [ -n "$NODE" ]; then
	hrun run --net proxy -p "$T/lo.json" -- "$NODE" -e 'fetch(process.argv[1]).then(r => console.log(r.status), e => console.log("error", e.cause ? e.cause.code : e))' "http://not-allowed.example:$SRV_PORT/"
	is "$OUT" "error ENOTFOUND" "Node's fetch to a name not on the list: ENOTFOUND"
else
	skip "node not installed"
fi
rm -f "$L"
hrun run --net proxy -p "$T/lo.json" --audit "$L" -- "$PY" -c "$RAW_PY" "localhost.:$OTHER_PORT"
like "$OUT" "error: Connection reset by peer|^empty$" "an allowed name on a port not on the list: the connection is reset"
like "$(grep -E '"event":"(net|deny)"' "$L")" '"proxy.via":"transparent".*"outcome":"refused"|"outcome":"refused".*"proxy.via":"transparent"' \
	"  and the audit log records the refusal (via transparent)"

UDP_PY='
import socket, errno, sys
for a in sys.argv[1:]:
    h, p = a.rsplit(":", 1)
    fam = socket.AF_INET6 if ":" in h else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (h, int(p))); print(a, "sent")
    except OSError as e: print(a, errno.errorcode[e.errno])
'
hrun run --net proxy -p "$T/lo.json" -- "$PY" -c "$UDP_PY" 8.8.8.8:53 198.18.0.1:443 10.0.0.1:9 "2001:db8::1:53"
is "$(words "$OUT")" "8.8.8.8:53 EPERM 198.18.0.1:443 EPERM 10.0.0.1:9 EPERM 2001:db8::1:53 ENETUNREACH" \
	"UDP out is refused at once (EPERM; QUIC falls back to TCP), IPv6 has no route"

# ---- the proxy variables still work, with the same decisions -------------------------------
PROXY_PY='
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port, host, port)).encode())
print(s.recv(200).split(b"\r\n")[0].decode().split(" ")[1])
'
for port in "$SRV_PORT" "$OTHER_PORT"; do
	rm -f "$L"
	hrun run --net proxy -p "$T/lo.json" --audit "$L" -- sh -c "'$PY' -c '$PROXY_PY' localhost $port; '$PY' -c '$RAW_PY' localhost.:$port"
	dec=$("$PY" - "$L" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] in ("net", "deny") and e.get("phase") != "open":
        print(e["proxy.via"], e["outcome"], e.get("reason", ""))
EOF
)
	if [ "$port" = "$SRV_PORT" ]; then
		like "$(sed -n 1p <<<"$OUT")" "^200$" "side by side, allowed port: CONNECT through the proxy -> 200"
		is "$(sed -n 2p <<<"$OUT")" "HUTCH-HTTP-OK" "  and the transparent path reaches it too"
		is "$(cut -d' ' -f1,2 <<<"$dec" | tr '\n' ' ')" "connect connected transparent connected " \
			"  the audit log: both connected"
	else
		like "$(sed -n 1p <<<"$OUT")" "^403$" "side by side, port not on the list: CONNECT through the proxy -> 403"
		like "$(sed -n 2p <<<"$OUT")" "reset|^empty$" "  and the transparent connection is reset"
		is "$(sed -n 1p <<<"$dec" | cut -d' ' -f2-)" "$(sed -n 2p <<<"$dec" | cut -d' ' -f2-)" \
			"  the audit log: the same outcome and reason for both ($(sed -n 1p <<<"$dec" | cut -d' ' -f2-))"
	fi
done

# ---- nothing leaves for a name not allowed: a counting upstream resolver ------------------------
# Root only: the supervisor's resolver is the host's /etc/resolv.conf, replaced here in a mount
# namespace of the test's own by "nameserver 127.0.0.77", where a small DNS server counts the
# queries it gets and answers 127.0.0.1 for names under .hutch-test.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	"$PY" - "$T/dns.log" "$T/dns.ready" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.77", 53))
except OSError as e:
    open(sys.argv[2], "w").write("error %s\n" % e); sys.exit(0)
open(sys.argv[2], "w").write("ready\n")
while True:
    q, peer = s.recvfrom(512)
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode().lower()); i += 1 + q[i]
    name, qtype = ".".join(labels), struct.unpack("!H", q[i + 1:i + 3])[0]
    with open(sys.argv[1], "a") as f:
        f.write("%s %d\n" % (name, qtype))
    head = q[:2] + struct.pack("!HHHHH", 0x8180 if name.endswith(".hutch-test") else 0x8183, 1, 0, 0, 0)
    ans = b""
    if name.endswith(".hutch-test") and qtype == 1:
        head = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    s.sendto(head + q[12:i + 5] + ans, peer)
PY
	bg_register $!
	wait_for_file "$T/dns.ready" 10
	if grep -q ready "$T/dns.ready"; then
		printf 'nameserver 127.0.0.77\n' >"$T/resolv.conf"
		printf '{ "network": { "allowPrivate": true } }\n' >"$T/private.json"
		: >"$T/dns.log"
		out=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
			sh "$T/resolv.conf" "$HUTCH" run --net proxy -p "$T/private.json" -a svc.hutch-test -- sh -c \
			"getent hosts denied.hutch-test || echo denied-nxdomain; getent hosts exfil-0123abcd.example.com || echo exfil-nxdomain; '$PY' -c '$RAW_PY' svc.hutch-test:$SRV_PORT" 2>&1)
		like "$out" "denied-nxdomain" "counting upstream: a name not allowed gets NXDOMAIN inside"
		like "$out" "HUTCH-HTTP-OK" "  an allowed name (resolved by the supervisor through the upstream) is reached"
		n=$(grep -c '^svc.hutch-test ' "$T/dns.log")
		is "$([ "$n" -ge 1 ] && echo asked)" asked "  the supervisor asked the upstream about the allowed name ($n queries)"
		is "$(grep -Ec '^(denied\.hutch-test|exfil-0123abcd\.example\.com) ' "$T/dns.log")" 0 \
			"  and nothing about the names that were not allowed (the upstream saw: $(sort -u "$T/dns.log" | tr '\n' ' '))"
	else
		skip "cannot run a DNS server on 127.0.0.77:53: $(cat "$T/dns.ready")" 4
	fi
else
	skip "not root: the counting upstream resolver needs a mount namespace and port 53" 4
fi

# network.transparent false: the proxy variables alone, as before (no resolver, no redirection)
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"], "transparent": false } }\n' \
	"$SRV_PORT" >"$T/off.json"
hrun run --net proxy -p "$T/off.json" -- sh -c "grep -c 127.0.0.53 /etc/resolv.conf; '$PY' -c '$RAW_PY' localhost.:$SRV_PORT; '$PY' -c '$RAW_PY' 198.18.0.1:$SRV_PORT; '$PY' -c '$PROXY_PY' localhost $SRV_PORT"
like "$(words "$OUT")" "^0 gaierror -[0-9]+ error: Network is unreachable 200$" \
	"network.transparent false: no resolver, no route (ENETUNREACH); the proxy variables still work"
hrun run --net proxy -p "$T/off.json" --dry-run -- true
like "$OUT" '"transparent": false' "--dry-run shows network.transparent"

# A client that resolves the name itself (curl --socks5, not socks5h) and then uses the proxy
# sends it a pool address: the proxy takes it for the name it stands for (same decision, the
# audit log names the host); a pool address never handed out stays a refused literal.
rm -f "$L"
hrun run --net proxy -p "$T/lo.json" --audit "$L" -- sh -c "curl -sS -m 10 --noproxy '' --socks5 127.0.0.1:1080 http://localhost.:$SRV_PORT/; curl -sS -m 10 --noproxy '' --socks5 127.0.0.1:1080 http://198.18.3.3:$SRV_PORT/ || echo refused"
is "$(words "$OUT")" "HUTCH-HTTP-OK refused" "SOCKS5 with a locally resolved pool address reaches the name; an unused pool address is refused"
like "$(grep -F '"proxy.via":"socks5"' "$L" | head -1)" '"server.address":"localhost"' "  the audit log names the host, not the pool address"

# -v says which destination was refused, like for the proxy
hrun run -v --net proxy -p "$T/lo.json" -- "$PY" -c "$RAW_PY" "localhost.:$OTHER_PORT"
like "$ERR" "localhost:$OTHER_PORT" "-v / exit summary names the refused destination"

done_testing
