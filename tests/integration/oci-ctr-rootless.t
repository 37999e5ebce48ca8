#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rootless containerd with hutch oci as the runc shim's binary (docs/oci.md, "Rootless
# containerd"): a containerd of the test's own started as this (unprivileged) user under
# rootlesskit (containerd's rootless.md, "the hard way": Debian ships no
# containerd-rootless.sh and no nerdctl), ctr run in its user and mount namespaces
# (nsenter). run --rm prints and exits with the command's status, hutch's layers are active
# inside, the annotation reaches hutch, a network allowlist is served (an allowed name
# reached, the rest refused), task exec runs under the layers and is audited, kill and rm
# end a task, and a policy that cannot be enforced fails the run with hutch's message.
#
# rootlesskit runs with the host's network (--net=host, no port driver: nothing is made
# there; the containers get network namespaces of their own, owned by rootlesskit's user
# namespace), /etc and /run are its copies. Without cgroups (cgroup v1 here: a user cannot
# make one), ctr runs with --cgroup "" and --cpu-shares 0 (its default 1024 is a limit runc
# cannot set without a cgroup, with runc as with hutch-oci). At the end (trap, also on
# failure) the tasks are killed, containerd stopped, what is left of its processes killed,
# its files removed from a user namespace of rootlesskit's, and the host's network compared.
#
# As root it skips: rootful containerd is oci-ctr.t.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
[ "$(id -u)" = 0 ] && skip_all "rootless containerd runs as a user: make check's pass as the test user runs it" \
	"(rootful containerd: oci-ctr.t)"
require_sandbox
require_python
OCI_ROOTLESS=1 oci_require runc containerd ctr containerd-shim-runc-v2 rootlesskit nsenter

CD=$T/ctrd
mkdir -p "$CD"
oci_lock
NET_BEFORE=$(oci_net_snapshot)
cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD/c.sock"
[ttrpc]
  address = "$CD/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/root/opt"
EOF
export CONTAINERD_ADDRESS=$CD/c.sock CONTAINERD_NAMESPACE=oci-test

RK_PID="" CHILD=""
# c ARGS...: ctr ARGS in containerd's user and mount namespaces (its /run, its FIFOs), 10 s
# at most
c() { timeout -k 2 10 nsenter -U -m --preserve-credentials -t "$CHILD" ctr "$@" </dev/null; }
# ctrd_stop [CHECK]: the tasks killed, containerd ended (SIGTERM to rootlesskit's child),
# rootlesskit's end waited for (15 s); with CHECK a test that nothing is left; the rest killed.
ctrd_stop() {
	local t
	if [ -n "$CHILD" ] && [ -S "$CD/c.sock" ]; then
		for t in $(c task ls -q 2>/dev/null); do
			c task kill -a -s SIGKILL "$t" >/dev/null 2>&1
			c task rm -f "$t" >/dev/null 2>&1
		done
		for t in $(c container ls -q 2>/dev/null); do
			c container rm "$t" >/dev/null 2>&1
		done
	fi
	[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null
	oci_rootless_end "$CD" "$RK_PID" \
		"stopped, containerd left no process (rootlesskit, containerd, shims)" "${1:-}"
	RK_PID="" CHILD=""
}
ctrd_rm() {
	[ -d "$CD/root" ] || [ -d "$CD/state" ] || return 0
	oci_rootless_rm "$CD" "$CD/root" "$CD/state" "$CD/runc-root" "$CD/rk"
}
ctrd_cleanup() {
	local st=$?
	ctrd_stop
	ctrd_rm
	_t_cleanup
	return "$st"
}
trap ctrd_cleanup EXIT

# ctrd_start: containerd under rootlesskit, its log in $CD/containerd.log; true once it
# answers (30 s at most).
ctrd_start() {
	local i
	rm -rf "$CD/rk"
	PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH setsid rootlesskit --net=host --port-driver=none \
		--copy-up=/etc --copy-up=/run --state-dir="$CD/rk" \
		sh -c 'rm -f /run/containerd; exec containerd --config "$1"' sh "$CD/config.toml" \
		>"$CD/containerd.log" 2>&1 </dev/null {_OCI_LOCK_FD}>&- &
	RK_PID=$!
	for ((i = 0; i < 300; i++)); do
		CHILD=$(cat "$CD/rk/child_pid" 2>/dev/null)
		[ -n "$CHILD" ] && c version >/dev/null 2>&1 && return 0
		kill -0 "$RK_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
up=1
for attempt in 1 2; do
	ctrd_start && up=0 && break
	diag "rootless containerd, attempt $attempt: it did not answer; its log's end:"
	diag "$(tail -20 "$CD/containerd.log")"
	ctrd_stop
	ctrd_rm
done
ok "$up" "a private rootless containerd started (rootlesskit --net=host)" || done_testing
is "$(awk '$1 == 0 { print $2 }' "/proc/$CHILD/uid_map" 2>/dev/null)" "$(id -u)" \
	"  in rootlesskit's user namespace, root there being this user"

oci_rootfs "$T/rootfs"
# crun [RUNTIME] [--annotation K=V] ID COMMAND...: ctr run --rm with hutch-oci (or RUNTIME:
# runc) and the test's rootfs; sets RC OUT ERR.
crun() {
	local flags=() bin=$OCI_LINK
	if [ "$1" = runc ]; then
		bin=$(command -v runc)
		shift
	fi
	if [ "$1" = --annotation ]; then
		flags=(--annotation "$2")
		shift 2
	fi
	LAST_CMD="ctr run ${flags[*]} $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" nsenter -U -m --preserve-credentials -t "$CHILD" \
		ctr run --rm --cgroup "" --cpu-shares 0 --runc-binary "$bin" --runc-root "$CD/runc-root" \
		--cwd /work "${flags[@]}" --rootfs "$T/rootfs" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

crun c1 sh -c 'echo hello; touch /root/x 2>&1 || echo no-root-write; touch /work/w && echo wrote-work
unshare -U true 2>&1 || echo unshare-refused; grep NoNewPrivs /proc/self/status; exit 9'
is "$RC" 9 "ctr run --rm: the command's exit status"
like "$OUT" "^hello" "  its output"
like "$OUT" "touch: /root/x: Permission denied" "  Landlock inside"
like "$OUT" "wrote-work" "  the working directory is writable"
like "$OUT" "unshare-refused" "  seccomp inside"
like "$OUT" "NoNewPrivs:.1" "  no_new_privs"
crun runc c0 /bin/sh -c 'touch /root/x && echo runc-root-write'
like "$OUT" "runc-root-write" "the same rootfs under runc: / is writable (the control)"

# a network allowlist: the daemon connects out from the host's namespace as this user
start_loopback_service
crun --annotation "dev.hutch.policy={\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}}" \
	c5 sh -c "wget -q -O- http://localhost.:$SRV_PORT/ && echo via-proxy-ok; wget -q -Y off -O- http://localhost.:$SRV_PORT/ && echo transparent-ok
wget -q -O- http://denied.example/ 2>&1; wget -q -Y off -O- http://192.0.2.1/ 2>&1; true"
is "$RC" 0 "a network allowlist (the annotation): ctr run --rm"
like "$OUT" "HUTCH-HTTP-OK" "  the test's server answered"
like "$OUT" "via-proxy-ok" "  an allowed name reached through the proxy variables"
like "$OUT" "transparent-ok" "  and transparently"
like "$OUT" "403 Forbidden \(hutch: connection to denied.example:80 refused: not in allowlist\)" "  a name not allowed refused"
like "$OUT" "Connection reset by peer" "  a connection to another address: reset"
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "  no hutch-oci process (network daemon) left"

crun --annotation 'dev.hutch.policy={"network": {"mode": "host", "allow": ["example.com"]}}' c3 echo should-not-run
isnt "$RC" 0 "a policy that cannot be enforced: the run fails"
unlike "$OUT" "should-not-run" "  the command did not run"
like "$ERR" "network.allow needs network.mode .*proxy.* in a container" "  ctr shows hutch's message (from --log)"

# a task with an audit file: exec into it (audited), kill, rm
LAST_CMD="ctr run -d"
timeout -k 5 "$HUTCH_TEST_TIMEOUT" nsenter -U -m --preserve-credentials -t "$CHILD" \
	ctr run -d --cgroup "" --cpu-shares 0 --runc-binary "$OCI_LINK" --runc-root "$CD/runc-root" \
	--annotation "dev.hutch.policy={\"audit\": {\"file\": \"$T/ctr-audit.jsonl\"}}" \
	--rootfs "$T/rootfs" c4 sleep 1000 >/dev/null 2>"$T/.err" </dev/null
ok $? "ctr run -d (with an audit file)" || diag "$(cat "$T/.err")"
out=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" nsenter -U -m --preserve-credentials -t "$CHILD" \
	ctr task exec --exec-id e1 c4 sh -c 'touch /root/y 2>&1 || echo exec-no-root; exit 4' 2>&1 </dev/null)
is "$?" 4 "task exec: its exit status"
like "$out" "exec-no-root" "  Landlock applies"
for _ in $(seq 50); do grep -q 'touch /root/y' "$T/ctr-audit.jsonl" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/ctr-audit.jsonl" 2>/dev/null)" '"event":"exec".*"process.command_args":\["sh","-c","touch /root/y' \
	"  what it ran is in the audit file"
c task kill -s SIGKILL c4 >/dev/null 2>&1
for _ in $(seq 100); do
	[[ $(c task ls 2>/dev/null) == *STOPPED* ]] && break
	sleep 0.1
done
like "$(c task ls 2>&1)" "c4 .*STOPPED" "task kill: stopped"
for _ in $(seq 50); do grep -q '"event":"end"' "$T/ctr-audit.jsonl" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/ctr-audit.jsonl" 2>/dev/null)" '"event":"end".*"signal":9' "  the audit file has the end (SIGKILL)"
c task rm c4 >/dev/null 2>&1
ok $? "task rm"
c container rm c4 >/dev/null 2>&1
is "$(c container ls -q 2>&1)" "" "no container left"
ctrd_stop check
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
