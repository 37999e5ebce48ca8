#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Transparent egress that cannot be set up (docs/network.md, "Where transparent egress is
# unavailable"): by default hutch says so once and keeps the variables-only behaviour, never
# more open (the proxy variables work; a direct connection, even to an allowed host, gets
# nowhere); when a policy asked for it by name (network.transparent: true), hutch refuses to
# run (125, with a hint).
#
# The failure is real, not a switch inside hutch: hutch runs under a seccomp filter of the
# test's own (tests/helpers/deny-syscall nftables) that makes socket(AF_NETLINK, ...,
# NETLINK_NETFILTER) fail with EPROTONOSUPPORT, as a kernel without nfnetlink answers. The
# filter is inherited by the sandbox's init, which loads the rules.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

DENY=$HUTCH_HELPERS/deny-syscall
if [ ! -x "$DENY" ]; then
	[ "${HUTCH_MUST_WORK:-0}" = 1 ] && bail_out "deny-syscall helper not built ($DENY)"
	skip_all "deny-syscall helper not built ($DENY)"
fi

# hrun under the filter: hutch cannot open a netfilter netlink socket.
hrun_no_nft() {
	local h=$HUTCH
	HUTCH=$DENY
	hrun nftables -- "$h" "$@"
	HUTCH=$h
	LAST_CMD="deny-syscall nftables -- hutch $*"
}

start_loopback_service
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SRV_PORT" >"$T/lo.json"
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"], "transparent": true } }\n' \
	"$SRV_PORT" >"$T/asked.json"

# ---- hutch check sees it -------------------------------------------------------------------
hrun_no_nft check
like "$(grep -E '^transparent-egress' <<<"$OUT")" "missing" \
	"hutch check under the filter: transparent-egress missing"

# ---- default: said once, the proxy variables only ------------------------------------------
PROXY_PY='
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port, host, port)).encode())
print("proxy", s.recv(200).split(b"\r\n")[0].decode().split(" ")[1])
'
RAW_PY='
import socket, errno, sys
for a in sys.argv[1:]:
    kind, h, p = a.split(",")
    try:
        if kind == "tcp":
            s = socket.create_connection((h, int(p)), timeout=5)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            print(a, "got", s.recv(100)[:20])
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"x", (h, int(p)))
            print(a, "sent")
    except socket.gaierror as e: print(a, "gaierror")
    except OSError as e: print(a, errno.errorcode.get(e.errno, e))
'
L=$T/audit.jsonl
hrun_no_nft run --net proxy -p "$T/lo.json" --audit "$L" -- sh -c \
	"'$PY' -c '$PROXY_PY' localhost $SRV_PORT; '$PY' -c '$RAW_PY' tcp,localhost.,$SRV_PORT tcp,198.18.0.1,$SRV_PORT tcp,192.0.2.1,$SRV_PORT udp,8.8.8.8,53"
is "$RC" 0 "nftables unavailable, transparent egress by default: the command runs"
is "$(grep -c 'transparent egress unavailable' <<<"$ERR")" 1 "  hutch says so once"
like "$ERR" "transparent egress unavailable \\(nf_tables in the sandbox: Protocol not supported\\): only programs using the proxy variables" \
	"  naming the cause and what still works"
is "$(sed -n 1p <<<"$OUT")" "proxy 200" "  a client of the proxy variables reaches the allowed host"
is "$(sed -n '2,$p' <<<"$OUT" | awk '{ print $2 }' | tr '\n' ' ')" "gaierror ENETUNREACH ENETUNREACH ENETUNREACH " \
	"  a direct connection gets nowhere: the allowed name does not resolve, addresses have no route, UDP neither"
is "$(grep -c '"proxy.via":"transparent"' "$L")" 0 "  the audit log has no transparent connection"

# -q: not even that line
hrun_no_nft run -q --net proxy -p "$T/lo.json" -- true
is "$RC:$(grep -c 'transparent egress' <<<"$ERR")" "0:0" "  -q: not said"

# ---- network.transparent: true asked for it: refuse to run -------------------------------------
MARKER=$T/ran
hrun_no_nft run --net proxy -p "$T/asked.json" -- touch "$MARKER"
is "$RC" 125 "network.transparent: true and nftables unavailable: hutch refuses to run (125)"
like "$ERR" "network.transparent is true, but transparent egress cannot be set up: .*Protocol not supported" \
	"  saying what is missing"
like "$ERR" "hint: .*hutch check" "  with a hint"
check "  the command did not run" test ! -e "$MARKER"

# the same policy where nf_tables works: runs (the fallback above is the filter's doing)
hrun check
if grep -Eq '^transparent-egress +available' <<<"$OUT"; then
	hrun run --net proxy -p "$T/asked.json" -- "$PY" -c "$RAW_PY" "tcp,localhost.,$SRV_PORT"
	like "$OUT" "got b'HTTP/1.0 200 OK" "without the filter, network.transparent: true runs and a raw socket reaches the host"
	unlike "$ERR" "transparent egress" "  and nothing is said about it"
elif [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
	fail "transparent egress works here (HUTCH_MUST_WORK=1): $(grep -E '^transparent-egress' <<<"$OUT")"
else
	skip "transparent egress unavailable here: $(grep -E '^transparent-egress' <<<"$OUT")" 2
fi

# network.transparent: false wins over nothing: no message, no refusal
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"], "transparent": false } }\n' \
	"$SRV_PORT" >"$T/off.json"
hrun_no_nft run --net proxy -p "$T/off.json" -- "$PY" -c "$PROXY_PY" localhost "$SRV_PORT"
is "$RC:$OUT" "0:proxy 200" "network.transparent: false under the filter: runs, the proxy variables work"
unlike "$ERR" "transparent egress" "  and nothing is said about transparent egress"

done_testing
