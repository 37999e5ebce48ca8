#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# containerd with hutch oci as the runc shim's binary (`ctr run --runc-binary`, docs/oci.md):
# a private containerd (its own config, root, state, sockets; CRI off, so no network set-up)
# started and stopped by the test. run --rm prints and exits with the command's status,
# hutch's layers are active inside, task exec runs under them, the annotation reaches hutch,
# a network allowlist is served through hutch's proxy by the container's daemon,
# and a policy that cannot be enforced fails the run with hutch's message (which the shim
# reads from --log). Everything the daemon made is removed at the end, and the host's
# network is compared before and after.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc containerd ctr containerd-shim-runc-v2

CD=$T/ctrd
mkdir -p "$CD"
oci_lock
NET_BEFORE=$(oci_net_snapshot)
had_run=0
[ -e /run/containerd ] && had_run=1
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
export CONTAINERD_ADDRESS=$CD/c.sock CONTAINERD_NAMESPACE=oci-test # not hutch-*: the names of hutch run's own cgroups (limits.t)
CPID=

ctr_cleanup() {
	local st=$? t
	oci_containerd_stop "$CD"
	for t in /sys/fs/cgroup/*/oci-test /sys/fs/cgroup/oci-test; do
		[ -d "$t" ] && find "$t" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_run" = 1 ] || rm -rf /run/containerd
	_t_cleanup
	return "$st"
}
trap ctr_cleanup EXIT

oci_containerd_start "$CD"

oci_rootfs "$T/rootfs"
# crun [--annotation K=V] ID COMMAND...: ctr run --rm with hutch-oci and the test's rootfs
# (--rootfs: its first argument is a directory, not an image); sets RC OUT ERR.
crun() {
	local flags=()
	if [ "$1" = --annotation ]; then
		flags=(--annotation "$2")
		shift 2
	fi
	LAST_CMD="ctr run ${flags[*]} $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" ctr run --rm --runc-binary "$OCI_LINK" --runc-root "$T/runc-root" \
		--cwd /work "${flags[@]}" --rootfs "$T/rootfs" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

crun c1 sh -c 'echo hello; touch /root/x 2>&1 || echo no-root-write; touch /work/w && echo wrote-work
unshare -U true 2>&1 || echo unshare-refused; exit 9'
is "$RC" 9 "ctr run --rm: the command's exit status"
like "$OUT" "^hello" "its output"
like "$OUT" "touch: /root/x: Permission denied" "Landlock inside"
like "$OUT" "wrote-work" "the working directory is writable"
like "$OUT" "unshare-refused" "seccomp inside"

crun --annotation 'dev.hutch.policy={"network": {"mode": "host"}}' c2 sh -c 'nc -w 2 127.0.0.1 9 </dev/null 2>&1; true'
unlike "$OUT" "socket: Permission denied" "ctr --annotation reaches hutch (network host)"

# a network allowlist under containerd: its shim runs create, the daemon serves the proxy
start_loopback_service
crun --annotation "dev.hutch.policy={\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}}" \
	c5 sh -c "wget -q -O- http://localhost.:$SRV_PORT/ && echo via-proxy-ok; wget -q -Y off -O- http://localhost.:$SRV_PORT/ && echo transparent-ok; wget -q -O- http://denied.example/ 2>&1; true"
is "$RC" 0 "a network allowlist: ctr run --rm"
like "$OUT" "via-proxy-ok" "  an allowed name reached through the proxy variables"
like "$OUT" "transparent-ok" "  and transparently"
like "$OUT" "403 Forbidden \(hutch: connection to denied.example:80 refused: not in allowlist\)" "  a name not allowed refused"
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "  no hutch-oci process (network daemon) left"

crun --annotation 'dev.hutch.policy={"network": {"mode": "host", "allow": ["example.com"]}}' c3 echo should-not-run
isnt "$RC" 0 "a policy that cannot be enforced: the run fails"
unlike "$OUT" "should-not-run" "the command did not run"
like "$ERR" "network.allow needs network.mode .*proxy.* in a container" "ctr shows hutch's message (from --log)"

# a terminal: ctr run -t, its stdin a terminal (script(1) gives ctr one)
LAST_CMD="ctr run -t (under script)"
out=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" script -qec "ctr run --rm -t --runc-binary $OCI_LINK --runc-root $T/runc-root --rootfs $T/rootfs c6 sh -c '[ -t 0 ] && echo in-is-a-tty; touch /root/t 2>&1; true'" /dev/null </dev/null 2>&1 | tr -d '\r')
like "$out" "in-is-a-tty" "ctr run -t: the container's stdin is a terminal"
like "$out" "touch: /root/t: Permission denied" "  Landlock applies with a terminal too"

# a task with an audit file: exec into it (audited), pause and resume, kill
LAST_CMD="ctr run -d"
timeout -k 5 "$HUTCH_TEST_TIMEOUT" ctr run -d --runc-binary "$OCI_LINK" --runc-root "$T/runc-root" \
	--annotation "dev.hutch.policy={\"audit\": {\"file\": \"$T/ctr-audit.jsonl\"}}" \
	--rootfs "$T/rootfs" c4 sleep 1000 >/dev/null 2>"$T/.err" </dev/null
ok $? "ctr run -d (with an audit file)" || diag "$(cat "$T/.err")"
out=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" ctr task exec --exec-id e1 c4 sh -c 'touch /root/y 2>&1 || echo exec-no-root; exit 4' 2>&1)
is "$?" 4 "task exec: its exit status"
like "$out" "exec-no-root" "task exec: Landlock applies"
for _ in $(seq 50); do grep -q 'touch /root/y' "$T/ctr-audit.jsonl" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/ctr-audit.jsonl" 2>/dev/null)" '"event":"exec".*"process.command_args":\["sh","-c","touch /root/y' \
	"task exec: what it ran is in the audit file"
ctr task pause c4 >/dev/null 2>&1
like "$(ctr task ls 2>&1)" "c4 .*PAUSED" "task pause: paused"
ctr task resume c4 >/dev/null 2>&1
like "$(ctr task ls 2>&1)" "c4 .*RUNNING" "task resume: running again"
ctr task kill -s SIGKILL c4 >/dev/null 2>&1
for _ in $(seq 100); do
	[[ $(ctr task ls 2>/dev/null) == *STOPPED* ]] && break
	sleep 0.1
done
like "$(ctr task ls 2>&1)" "c4 .*STOPPED" "task kill: stopped"
ctr task rm c4 >/dev/null 2>&1
ok $? "task rm"
ctr container rm c4 >/dev/null 2>&1
is "$(ctr container ls -q 2>&1)" "" "no container left"
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
