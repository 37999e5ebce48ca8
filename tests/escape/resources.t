#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exhausting the host: fork bombs under --pids, memory (including tmpfs pages, which a
# sandbox can fill in its private /tmp and /dev/shm) under --memory, endless processes
# under --timeout. The limit must hold and be the reason the attempt failed (EAGAIN on
# fork, ENOSPC/ENOMEM or an OOM kill), and nothing may be left running on the host.
#
# Layers under test: cgroup v2 limits when delegated, else rlimits (RLIMIT_NPROC is not
# enforced by the kernel for the real root user, so running as root needs the cgroup);
# the supervisor's wall clock; the PID namespace teardown.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# ---- fork bomb ------------------------------------------------------------------------------
# First a bounded probe (at most 300 children, each gone after 3 s): safe even if the limit
# does not hold.
FORKS='import os, sys, errno, time
n, err = 0, "none"
for i in range(int(sys.argv[1])):
    try:
        pid = os.fork()
    except OSError as e:
        err = errno.errorcode[e.errno]; break
    if pid == 0:
        time.sleep(3); os._exit(0)
    n += 1
print(n, err)'
hrun run --pids 64 -- "$PY" -c "$FORKS" 300
read -r NFORK FERR <<<"$OUT"
is "$FERR" EAGAIN "--pids 64: fork fails with EAGAIN (after $NFORK children, uid $TEST_UID)"
ok "$([ "${NFORK:-999}" -lt 64 ] && echo 0 || echo 1)" "  before 64 processes exist in the sandbox"

if [ "$FERR" = EAGAIN ]; then
	M=hutch-bomb-$$-$RANDOM
	START=$(date +%s)
	hrun run --pids 64 --timeout 5s -- bash -c "exec -a $M bash -c 'b() { b | b & }; b; sleep 60'"
	END=$(date +%s)
	is "$RC" 124 "a real fork bomb under --pids 64 --timeout 5s ends by the timeout (124)"
	ok "$([ $((END - START)) -le 15 ] && echo 0 || echo 1)" "  within 15 s ($((END - START)) s)"
	check "  nothing of it is left on the host" wait_no_process "$M" 5
	check "  and the host can still fork" /bin/true
else
	skip "the --pids limit does not hold here: not running a real fork bomb" 4
fi

# ---- memory -----------------------------------------------------------------------------------
hrun run --memory 64M -- "$PY" -c '
import errno
try:
    b = bytearray(512 * 1024 * 1024)
    for i in range(0, len(b), 4096): b[i] = 1
    print("allocated")
except MemoryError:
    print("ENOMEM")'
if [ "$OUT" = ENOMEM ]; then
	pass "--memory 64M: allocating 512 MB fails (ENOMEM)"
else
	is "$RC" 137 "--memory 64M: allocating 512 MB fails (ENOMEM) or the process is OOM-killed (137)"
fi
hrun run --memory 64M -- bash -c 'head -c 256M /dev/zero > /dev/shm/fill; echo "status $?"; rm -f /dev/shm/fill'
if [[ $OUT == "status 1" ]] && grep -q "No space left on device" <<<"$ERR"; then
	pass "--memory 64M: filling /dev/shm (tmpfs) with 256 MB fails (ENOSPC)"
else
	ok "$([ "$RC" = 137 ] || [[ $OUT == "status 137" ]] && echo 0 || echo 1)" \
		"--memory 64M: filling /dev/shm (tmpfs) with 256 MB fails (ENOSPC) or is OOM-killed (137)"
fi

# ---- time -----------------------------------------------------------------------------------------
M2=hutch-spin-$$-$RANDOM
START=$(date +%s)
hrun run --timeout 2s --stop-timeout 3s -- bash -c "trap '' TERM HUP INT; exec -a $M2 bash -c 'trap \"\" TERM; while :; do :; done'"
END=$(date +%s)
is "$RC" 124 "--timeout 2s: a busy loop ignoring SIGTERM ends with 124"
ok "$([ $((END - START)) -le 10 ] && echo 0 || echo 1)" "  after the grace period, by SIGKILL ($((END - START)) s)"
check "  nothing of it is left on the host" wait_no_process "$M2" 5

done_testing
