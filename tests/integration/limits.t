#!/bin/bash
# Resource limits, for real: a fork bomb under --pids ends and stays inside its
# budget, a memory hog under --memory is stopped (and, where a cgroup enforces
# it, killed and reported), --timeout exits 124 on time, fileSize/openFiles, a
# limit nothing can enforce refuses the run, and no cgroup is left behind — not
# even by a hutch that was killed. Which mechanism enforces each limit depends
# on the user and the host (hutch run -v says it); each test checks the
# behaviour that mechanism promises (docs/limits.md).
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

UID_NOW=$(id -u)
# Time bounds are multiplied by this on slow kernels (User-mode Linux: 4).
SLOW=${HUTCH_TEST_SLOW:-1}

# Set by limits-cgroup2.t, which runs this file again in a kernel with cgroup v2
# controllers: a user policy to apply (there: no Landlock), the mechanism expected.
if [ -n "${HUTCH_TEST_USER_POLICY:-}" ]; then
	mkdir -p "$XDG_CONFIG_HOME/hutch"
	cp "$HUTCH_TEST_USER_POLICY" "$XDG_CONFIG_HOME/hutch/policy.json"
fi

# mech LIMIT: the mechanism hutch reports for LIMIT (from the -v lines in $ERR).
mech() {
	sed -n "s/^hutch: limit $1 [^:]*: \\(cgroup v[12]\\|rlimit\\|supervisor\\|not enforced\\).*/\\1/p" \
		<<<"$ERR" | head -1
}

hrun run -v --memory 128M --pids 64 --timeout 1m -- true
is "$RC" 0 "run -v with memory, pids and timeout limits works"
MEM_MECH=$(mech memory)
PIDS_MECH=$(mech pids)
like "$MEM_MECH" '^(cgroup v[12]|rlimit)$' "  -v names what enforces memory ($MEM_MECH)"
like "$PIDS_MECH" '^(cgroup v[12]|rlimit)$' "  -v names what enforces pids ($PIDS_MECH)"
like "$(mech timeout)" '^supervisor$' "  the timeout is hutch's own clock"
note "as uid $UID_NOW: memory by $MEM_MECH, pids by $PIDS_MECH"
if [ -n "${HUTCH_TEST_EXPECT_MECH:-}" ]; then
	is "$MEM_MECH" "$HUTCH_TEST_EXPECT_MECH" "  memory by $HUTCH_TEST_EXPECT_MECH, as expected here"
	is "$PIDS_MECH" "$HUTCH_TEST_EXPECT_MECH" "  pids by $HUTCH_TEST_EXPECT_MECH, as expected here"
fi
if [ "$UID_NOW" = 0 ] && { [ -d /sys/fs/cgroup/pids ] || grep -qw pids /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }; then
	like "$PIDS_MECH" '^cgroup' "  as root on a host with a pids controller: a cgroup enforces pids"
fi
if [ "$UID_NOW" != 0 ]; then
	isnt "$PIDS_MECH" "not enforced" "  not root: RLIMIT_NPROC (own user namespace) or a delegated cgroup"
fi

# ---- the sandbox's own cgroup ------------------------------------------------------------

if [[ $PIDS_MECH == cgroup* ]]; then
	hrun run -q --pids 64 -- sh -c 'cat /proc/self/cgroup; ls -A /sys/fs/cgroup | wc -l'
	is "$RC" 0 "in a cgroup: the command runs"
	unlike "$(grep -v ':/$' <<<"$OUT" | grep ':')" . \
		"  /proc/self/cgroup inside shows only / (its own cgroup is its namespace's root)"
	is "$(tail -1 <<<"$OUT")" 0 "  /sys/fs/cgroup is empty inside: it cannot touch its limits"
	hrun run -q --pids 64 -- sh -c 'mount -t cgroup2 none /tmp 2>&1 || echo refused'
	like "$OUT" refused "  nor mount a cgroup file system"
fi

if [[ $(hrun run -v --cpus 0.25 -- true; mech cpus) == cgroup* ]]; then
	hrun run -v --cpus 0.25 -- "$PY" -c '
import os, time
t = time.time()
while time.time() - t < 1.5:
    pass
c = os.times()
print(int((c.user + c.system) * 1000))'
	if [ -n "${HUTCH_IN_UML:-}" ]; then
		skip "User-mode Linux does not account CPU time precisely enough"
	else
		ok "$([ "${OUT:-9999}" -lt 700 ] && echo 0 || echo 1)" \
			"--cpus 0.25: 1.5 s of busy loop got at most about a quarter of a CPU (${OUT} ms of CPU)"
	fi
	like "$ERR" 'cpu limit \(0.25\) throttled the command [0-9]+ times?' \
		"  and -v says it was throttled"
fi

# ---- fork bomb -------------------------------------------------------------------------

# pidns_count NS: how many processes are in pid namespace NS ("pid:[INODE]").
pidns_count() {
	local ino=${1#pid:[}
	ino=${ino%]}
	stat -L -c %i /proc/[0-9]*/ns/pid 2>/dev/null | grep -cx -- "$ino"
}

start=$(date +%s%N)
hrun_bg run --pids 64 --timeout $((5 * SLOW))s --stop-timeout 3s -- bash -c 'f() { f | f & }; f; sleep 60'
# The workload (init's first child: init itself is not dumpable) tells the pid namespace.
init=
work=
for _ in $(seq 1 50); do
	init=$(cut -d' ' -f1 "/proc/$HPID/task/$HPID/children" 2>/dev/null)
	[ -n "$init" ] && work=$(cut -d' ' -f1 "/proc/$init/task/$init/children" 2>/dev/null)
	[ -n "$work" ] && break
	sleep 0.1
done
ns=$(readlink "/proc/$work/ns/pid" 2>/dev/null)
peak=0
host_ok=0
if [ -n "$ns" ]; then
	for _ in $(seq 1 12); do
		sleep 0.25
		c=$(pidns_count "$ns")
		[ "$c" -gt "$peak" ] && peak=$c
		pidns_members "/proc/$work/ns/pid" >>"$T/bomb-members"
		sh -c 'exit 0' && host_ok=$((host_ok + 1))
	done
fi
wait_hutch 20
# until hutch ended (the wrapper of hrun_bg writes its status then), not until this script
# had looked at it: its sampling above is slow on a loaded machine
end=$(stat -c %.3Y "$T/.bg.rc" 2>/dev/null | tr -d .)
elapsed=unknown
[ -z "$end" ] || elapsed=$((end - start / 1000000))
ok "$([ -n "$ns" ] && echo 0 || echo 1)" "fork bomb: the sandbox started (its pid namespace found)"
ok "$([ "$peak" -gt 8 ] && [ "$peak" -le 64 ] && echo 0 || echo 1)" \
	"  it grew, but never past 64 processes (peak $peak)"
is "$host_ok" 12 "  meanwhile the host could start processes every time"
is "$RC" 124 "  it ended: the timeout stopped it (exit 124)"
ok "$([ "$elapsed" != unknown ] && [ "$elapsed" -lt $((12000 * SLOW)) ] && echo 0 || echo 1)" \
	"  within the timeout and grace (${elapsed} ms)"
# as lifecycle.t's wait_no_process: the kernel may still be taking the last ones down
for _ in $(seq 1 50); do
	[ "$(pidns_survivors "$T/bomb-members" 2>/dev/null)" = 0 ] && break
	sleep 0.1
done
is "$(pidns_survivors "$T/bomb-members")" 0 "  and nothing of it is left (of the processes seen in it)"
if [[ $PIDS_MECH == cgroup* ]]; then
	like "$ERR" 'hutch: process limit \(64\) reached: [0-9]+ forks? refused' \
		"  the message says the process limit was reached"
fi

FORK_PY='
import os, sys, time, signal
n, kids, why = 0, [], "never"
try:
    while n < 2000:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
        n += 1
except OSError as e:
    why = e.strerror
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
print(n, why)
'
hrun run -q --pids 32 -- "$PY" -c "$FORK_PY"
is "$RC" 0 "forking until refused under --pids 32"
read -r forked why <<<"$OUT"
ok "$([ "${forked:-0}" -ge 20 ] && [ "${forked:-99}" -lt 32 ] && echo 0 || echo 1)" \
	"  fewer than 32 processes could be made ($forked)"
like "$why" "Resource temporarily unavailable" "  then fork failed with EAGAIN"

# ---- memory ------------------------------------------------------------------------------

HOG='x = b"x" * (1 << 30); print("alive", len(x))'
hrun run --memory 128M -- "$PY" -c "$HOG"
isnt "$RC" 0 "a process allocating 1 GB under --memory 128M does not succeed"
unlike "$OUT" alive "  it never got its gigabyte"
if [[ $MEM_MECH == cgroup* ]]; then
	is "$RC" 137 "  the OOM killer killed it (137)"
	like "$ERR" 'hutch: memory limit \(128M\) reached: the command was killed \(OOM\)' \
		"  and hutch says so on stderr"
else
	like "$ERR" MemoryError "  RLIMIT_DATA: the allocation failed (MemoryError)"
fi

hrun run -q --memory 128M -- "$PY" -c 'x = b"x" * (32 << 20); print("fine", len(x))'
is "$OUT" "fine 33554432" "32 MB under --memory 128M is fine"

hrun run --memory 128M -- sh -c "$PY -c '$HOG'; echo shell-survived"
if [[ $MEM_MECH == cgroup* ]]; then
	like "$OUT" shell-survived "a child killed by the OOM killer: the shell goes on"
	like "$ERR" 'memory limit \(128M\) reached: 1 process killed \(OOM\)' \
		"  and hutch says a process was killed"
else
	like "$OUT" shell-survived "a child's allocation failing: the shell goes on"
fi

# ---- timeout -------------------------------------------------------------------------------

# timed by hutch's own clock (the "end" event's duration, from the sandbox's start): the
# time this script takes to start hutch on a loaded machine is not the timeout's business
rm -f "$T/timeout.jsonl"
hrun run --audit "$T/timeout.jsonl" --timeout 2s -- sleep 30
elapsed=$(sed -n 's/.*"event":"end".*"duration_ms":\([0-9]*\).*/\1/p' "$T/timeout.jsonl")
is "$RC" 124 "--timeout 2s on sleep 30 exits 124"
ok "$([ -n "$elapsed" ] && [ "$elapsed" -ge 1900 ] && [ "$elapsed" -le $((4500 * SLOW)) ] && echo 0 || echo 1)" \
	"  after about 2 s (${elapsed:-no end event} ms)"
like "$ERR" "timeout" "  saying it timed out"

hrun run --timeout 2s -- sh -c 'trap "" TERM; sleep 30'
is "$RC" 124 "a command ignoring SIGTERM is killed after the grace period (124)"

# ---- fileSize, openFiles (rlimits) --------------------------------------------------------

printf '{ "limits": { "fileSize": "1M", "openFiles": 40 } }\n' >"$T/lim.json"
hrun run -p "$T/lim.json" -- sh -c 'exec head -c 2097152 /dev/zero > big'
is "$RC" 153 "a write past limits.fileSize kills the writer (SIGXFSZ, 153)"
like "$ERR" 'file size limit \(1M\) reached' "  and hutch says which limit"
is "$(stat -c %s "$WS/big" 2>/dev/null)" 1048576 "  the file stopped at 1M"
rm -f "$WS/big"
hrun run -q -p "$T/lim.json" -- sh -c 'ulimit -n'
is "$OUT" 40 "limits.openFiles sets RLIMIT_NOFILE"

# ---- what cannot be enforced ---------------------------------------------------------------

if [ "$UID_NOW" = 0 ] && command -v unshare >/dev/null; then
	# Root on a host without cgroups (an empty /sys/fs/cgroup in a private mount namespace).
	nocg() {
		LAST_CMD="(no cgroups) hutch $*"
		timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -m sh -c \
			'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh "$HUTCH" "$@" \
			>"$T/.out" 2>"$T/.err"
		RC=$?
		OUT=$(cat "$T/.out")
		ERR=$(cat "$T/.err")
	}
	nocg run --pids 64 -- true
	is "$RC" 125 "root without cgroups: --pids cannot be enforced, exit 125"
	like "$ERR" 'limit pids \(64\) cannot be enforced here: RLIMIT_NPROC does not bind root' \
		"  naming the limit and why"
	like "$ERR" "allow-degraded" "  and the way out"
	nocg run --allow-degraded --pids 64 -- echo ran
	is "$OUT" ran "  with --allow-degraded it runs"
	like "$ERR" "warning: limit pids \\(64\\) is not enforced" "  with a warning"
	nocg run -v --memory 128M -- "$PY" -c "$HOG"
	like "$ERR" "limit memory 128M: rlimit" "root without cgroups: memory falls back to RLIMIT_DATA"
	like "$ERR" MemoryError "  which stops the 1 GB allocation"
	nocg run --cpus 0.5 -- true
	is "$RC" 125 "root without cgroups: --cpus cannot be enforced, exit 125"
elif [ "$UID_NOW" != 0 ]; then
	hrun run --cpus 0.5 -- true
	if [ "$(mech cpus)" = "" ] && [ "$RC" = 125 ]; then
		like "$ERR" 'limit cpus \(0.5\) cannot be enforced here' \
			"not root, no delegated cgroup: --cpus refused (125), naming the limit"
		hrun run --allow-degraded --cpus 0.5 --timeout 10s -- sh -c 'ulimit -t'
		is "$OUT" 5 "  --allow-degraded: an RLIMIT_CPU budget of cpus x timeout (5 s)"
	else
		is "$RC" 0 "not root, a delegated cgroup: --cpus enforced"
	fi
fi

# ---- with --ephemeral and named sessions ----------------------------------------------------

hrun run --ephemeral --memory 128M -- "$PY" -c "$HOG"
isnt "$RC" 0 "--ephemeral with --memory: the hog is stopped too"
unlike "$OUT" alive "  it never got its gigabyte"

name=lim$$-$RANDOM
hrun run --name "$name" --pids 32 -- true
is "$RC" 0 "a named session with --pids 32 starts"
hrun exec "$name" -- "$PY" -c "$FORK_PY"
read -r forked _ <<<"$OUT"
ok "$([ "${forked:-99}" -lt 32 ] && echo 0 || echo 1)" \
	"  a command in it is held to the session's limit ($forked forks)"
if [[ $PIDS_MECH == cgroup* ]]; then
	like "$ERR" 'hutch: process limit \(32\) reached: [0-9]+ forks? refused' \
		"  and hutch exec says so on stderr (the session's daemon has no terminal)"
fi
hrun exec "$name" -- true
unlike "$ERR" "limit" "  the next command of the session hears nothing of it"
hrun run --name "$name-m" --memory 128M -- true
hrun exec "$name-m" -- "$PY" -c "$HOG"
unlike "$OUT" alive "a named session with --memory 128M: a 1 GB hog in it never gets its gigabyte"
if [[ $MEM_MECH == cgroup* ]]; then
	is "$RC" 137 "  the OOM killer killed it (137)"
	like "$ERR" 'hutch: memory limit \(128M\) reached: the command was killed \(OOM\)' \
		"  and hutch exec says so on stderr"
fi
hrun stop "$name-m"
hrun stop "$name"
is "$RC" 0 "  the session stops"

# Degraded mode (no user namespaces, --allow-degraded): the limits still hold.
# Degraded mode enforces the filesystem policy with Landlock alone: without Landlock
# (User-mode Linux's kernel) hutch rightly refuses, and limits.t cannot go that way.
if ! "$HUTCH" check 2>/dev/null | grep -Eq '^landlock +available'; then
	skip "degraded mode needs Landlock, which this kernel lacks (hutch refuses: escape/failclosed.t)"
elif command -v unshare >/dev/null && unshare -U --map-root-user true 2>/dev/null; then
	LAST_CMD="(max_user_namespaces=0) hutch run --allow-degraded --pids 32 -- FORK_PY"
	OUT=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -U --map-root-user \
		sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh \
		"$HUTCH" run -q --allow-degraded --pids 32 -- "$PY" -c "$FORK_PY" 2>"$T/.err")
	RC=$?
	ERR=$(cat "$T/.err")
	read -r forked _ <<<"$OUT"
	ok "$([ "$RC" = 0 ] && [ "${forked:-99}" -lt 32 ] && echo 0 || echo 1)" \
		"degraded mode: --pids 32 still holds ($forked forks)"
fi

# ---- nothing left behind --------------------------------------------------------------------

# our_cgroups PID: cgroup directories named after hutch process PID.
our_cgroups() {
	find /sys/fs/cgroup -maxdepth 6 -type d -name "hutch-*-$1-*" 2>/dev/null
}

# (As root: a delegated cgroup's leftovers go with the delegated scope, see docs/limits.md.)
if [[ $PIDS_MECH == cgroup* ]] && [ "$UID_NOW" = 0 ]; then
	hrun_bg run -q --pids 64 --memory 256M -- sleep 60
	for _ in $(seq 1 50); do
		[ -n "$(our_cgroups "$HPID")" ] && break
		sleep 0.1
	done
	left=$(our_cgroups "$HPID")
	isnt "$left" "" "a running sandbox has its cgroups"
	kill -KILL "$HPID"
	wait_hutch 10
	sleep 0.5
	# Nothing of hutch's removes them now; a later run does: ours below, or one of a test
	# running beside this one (any run removes the cgroups of dead runs), so some may be gone.
	remaining=$(our_cgroups "$HPID")
	ok "$([ -z "$(comm -13 <(sort <<<"$left") <(sort <<<"$remaining"))" ] && echo 0 || echo 1)" \
		"  hutch killed with SIGKILL: no new cgroup, only a later run removes them"
	hrun run -q --pids 64 --memory 256M -- true
	is "$RC" 0 "  the next run works"
	is "$(our_cgroups "$HPID")" "" "  and removed them"
	is "$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'hutch-*' 2>/dev/null |
		while read -r d; do
			p=${d##*/hutch-}
			p=${p#*-}
			p=${p%%-*}
			kill -0 "$p" 2>/dev/null || echo "$d"
		done)" "" "no cgroup of a finished hutch anywhere"
fi

done_testing
