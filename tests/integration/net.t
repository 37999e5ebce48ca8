#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Network modes (docs/network.md): --net none (the default: only lo, up; host loopback services,
# abstract Unix sockets and the outside unreachable) and --net host; with --net proxy, errors
# that name their cause (a failed mount, an unreachable destination: client, -v, summary, log).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# Interfaces and their flags, seen from inside: "name up|down" per line (IFF_UP = 1).
IFACES_PY='
import socket, fcntl, struct
for _, name in socket.if_nameindex():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), 0x8913, struct.pack("16sH", name.encode(), 0)))[1]
    print(name, "up" if flags & 1 else "down")
'

start_loopback_service
is "$("$PY" -c "$CONNECT_PY" "127.0.0.1:$SRV_PORT")" "HUTCH-HTTP-OK" "(the host loopback service on port $SRV_PORT answers on the host)"
ABSTRACT="@hutch-test-$$-$RANDOM"
start_unix_service "$ABSTRACT"

for mode in "--net none" ""; do
	label=${mode:-"default (no --net)"}
	# shellcheck disable=SC2086
	hrun run $mode -- "$PY" -c "$IFACES_PY"
	is "$OUT" "lo up" "$label: the only interface is lo, and it is up"
	# shellcheck disable=SC2086
	hrun run $mode -- "$PY" -c "$CONNECT_PY" "127.0.0.1:$SRV_PORT"
	is "$OUT" "error: Connection refused" "$label: the host's loopback service is unreachable (ECONNREFUSED on the sandbox's own lo)"
done

hrun run --net none -- cat /proc/net/dev
is "$(tail -n +3 <<<"$OUT" | cut -d: -f1 | tr -d ' ')" "lo" "--net none: /proc/net/dev lists only lo"

hrun run --net none -- "$PY" -c "$CONNECT_PY" "1.1.1.1:53"
is "$OUT" "error: Network is unreachable" "--net none: an outside address is unreachable (ENETUNREACH)"
hrun run --net none -- "$PY" -c "$CONNECT_PY" "[2606:4700:4700::1111]:53"
like "$OUT" "^error: (Network is unreachable|Cannot assign requested address|Address family not supported by protocol)$" \
	"--net none: no IPv6 way out either"
hrun run --net none -- "$PY" -c "$CONNECT_PY" "169.254.169.254:80"
is "$OUT" "error: Network is unreachable" "--net none: the cloud metadata address is unreachable"
hrun run --net none -- "$PY" -c "$CONNECT_PY" "$ABSTRACT"
is "$OUT" "error: Connection refused" "--net none: a host abstract Unix socket is unreachable"

hrun run --net none -- getent hosts localhost
like "$OUT" "127\\.0\\.0\\.1|::1" "--net none: localhost still resolves (from /etc/hosts)"

# ---- --net host ----------------------------------------------------------------------------
hrun run --net host -- "$PY" -c "$CONNECT_PY" "127.0.0.1:$SRV_PORT"
is "$OUT" "HUTCH-HTTP-OK" "--net host: the host's loopback service is reachable"
hrun run --net host -- "$PY" -c "$IFACES_PY"
is "$(cut -d' ' -f1 <<<"$OUT" | sort)" "$("$PY" -c "$IFACES_PY" | cut -d' ' -f1 | sort)" \
	"--net host: the interfaces are the host's"
hrun run --net host -- readlink /proc/self/ns/net
is "$OUT" "$(readlink /proc/self/ns/net)" "--net host: the host's network namespace"

# ---- --net proxy: errors name their cause ----------------------------------------------------
# A mount that fails while the supervisor sends the protected paths: init's own error, never the
# supervisor's EPIPE (a race: repeated to give it its chances).
bad=0
for _ in 1 2 3 4 5 6 7 8; do
	hrun run --net proxy --rw "$T/missing-dir/x" -- true
	{ [ "$RC" = 125 ] && grep -q "cannot bind $T/missing-dir/x: No such file or directory" <<<"$ERR"; } || bad=1
	grep -q "Broken pipe" <<<"$ERR" && bad=1
done
is "$bad" 0 "--rw of a missing path under --net proxy: the mount error, never 'Broken pipe' (8 runs)"

if command -v curl >/dev/null; then
	# a port nothing listens on
	CLOSED_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	echo '{ "network": { "allowPrivate": true, "allow": ["localhost"] } }' >"$T/lo.json"
	L=$T/net-audit.jsonl
	rm -f "$L"
	hrun run -v --net proxy -p "$T/lo.json" --audit "$L" -- sh -c \
		'curl --noproxy "" -sS -D- -o /dev/null -x "$HTTP_PROXY" http://localhost:'"$CLOSED_PORT"'/; curl --noproxy "" -sS -x "$HTTP_PROXY" http://localhost:'"$SRV_PORT"'/'
	like "$OUT" "HTTP/1.1 502 Bad Gateway \(hutch: localhost:$CLOSED_PORT: connect to 127.0.0.1 failed: Connection refused\)" \
		"allowed but unreachable: 502 with the cause in the status line"
	like "$OUT" "X-Hutch-Error: localhost:$CLOSED_PORT: connect to 127.0.0.1 failed: Connection refused" \
		"  and in X-Hutch-Error"
	like "$OUT" "HUTCH-HTTP-OK" "  the reachable one answers"
	like "$ERR" "network: connection to localhost:$CLOSED_PORT failed: connect to 127.0.0.1 failed: Connection refused" \
		"-v says which connection failed and why"
	like "$ERR" "network: 1 connection made, 1 failed: localhost:$CLOSED_PORT: connect to 127.0.0.1 failed: Connection refused" \
		"the summary tells made from failed"
	got=$("$PY" - "$L" "$CLOSED_PORT" "$SRV_PORT" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
for e in ev:
    if e["event"] != "net":
        continue
    p = {int(sys.argv[2]): "closed", int(sys.argv[3]): "srv"}.get(e["server.port"], "?")
    # how the good one ended depends on the test server (it closes without reading)
    print(p, e["phase"], e["outcome"], e.get("reason", "-") if e["outcome"] == "failed" else "")
print(ev[-1]["counts"]["net"], ev[-1]["counts"]["net_failed"])
EOF
)
	is "$got" "closed close failed connect to 127.0.0.1 failed: Connection refused
srv open connected 
srv close connected 
1 1" "audit: the failure with its reason; the good one opened when made, closed with its bytes"
	hrun log "$L"
	like "$OUT" "FAILED +connection to localhost:$CLOSED_PORT: connect to 127.0.0.1 failed: Connection refused" \
		"hutch log shows the failed one as FAILED"
else
	skip "curl is not installed" 8
fi

done_testing
