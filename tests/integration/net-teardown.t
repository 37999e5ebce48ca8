#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a tunnel holds in the host's kernel does not outlive the run: when the sandbox ends
# with a tunnel full of bytes to a server that does not read, the proxy resets the upstream
# connection (SO_LINGER 0) instead of leaving the kernel to deliver the bytes for minutes.
# The server sees the reset (ECONNRESET), not a slow drain and a FIN.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

PORTF=$T/srv-port
RESULT=$T/srv-result
"$PY" - "$PORTF" "$RESULT" "$T/run-done" <<'EOF' &
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
# Do not read while the sandbox runs; then see how the connection ends.
deadline = time.time() + 60
while not os.path.exists(sys.argv[3]) and time.time() < deadline:
    time.sleep(0.05)
c.settimeout(10)
got, how = 0, "timeout"
try:
    while True:
        b = c.recv(1 << 20)
        if not b:
            how = "eof"
            break
        got += len(b)
except ConnectionResetError:
    how = "reset"
except socket.timeout:
    how = "timeout"
open(sys.argv[2], "w").write(how)
EOF
bg_register $!
wait_for_file "$PORTF" 10 || bail_out "test server did not start"
PORT=$(cat "$PORTF")

echo '{ "network": { "allowPrivate": true, "allow": ["127.0.0.1"] } }' >"$T/lo.json"
# Inside: a CONNECT tunnel to the server, filled until it blocks, then the run times out.
hrun run --net proxy -p "$T/lo.json" --timeout 3s --stop-timeout 0 -- "$PY" -c '
import os, socket, sys, time
h, p = os.environ["HTTP_PROXY"].split("//")[1].rstrip("/").split(":")
s = socket.create_connection((h, int(p)))
s.sendall(b"CONNECT 127.0.0.1:'"$PORT"' HTTP/1.1\r\nHost: 127.0.0.1:'"$PORT"'\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode(), flush=True)
s.setblocking(False)
sent = 0
deadline = time.time() + 2
while time.time() < deadline:
    try:
        sent += s.send(b"x" * 65536)
    except BlockingIOError:
        time.sleep(0.01)
print("sent", sent, flush=True)
time.sleep(30)
'
is "$RC" 124 "the run ends on its timeout with a full tunnel"
like "$OUT" "HTTP/1.1 200" "  the tunnel was open"
touch "$T/run-done"
wait_for_file "$RESULT" 20 || fail "the server reports how the connection ended"
is "$(cat "$RESULT")" "reset" "the upstream connection was reset when the run ended (its buffers freed at once)"

done_testing
