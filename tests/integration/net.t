#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Network modes of issue 2: --net none (the default: only lo, up; host loopback services,
# abstract Unix sockets and the outside unreachable) and --net host.
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

done_testing
