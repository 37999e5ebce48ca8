#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rootless Docker with hutch oci as a registered runtime (docs/oci.md, "Rootless Docker"):
# a dockerd of the test's own, started as this (unprivileged) user by Debian's
# dockerd-rootless.sh under rootlesskit, with the runtimes in its own daemon.json
# (runtimeArgs --hutch-policy FILE). run --rm prints and exits with the command's status,
# hutch's layers are active inside, a volume is writable and a hook planted in it is taken
# away, -t gets a terminal, exec runs under the layers and is audited, the container's
# daemon runs as nobody of rootlesskit's user namespace, stop, kill and rm end a container, a
# network allowlist reaches an allowed name (through the proxy variables and transparently)
# and nothing else, and a policy that cannot be enforced starts nothing, with hutch's
# message in Docker's error.
#
# rootlesskit's network: slirp4netns (what dockerd-rootless.sh picks, a namespace of its
# own) when this user may open /dev/net/tun, else the host's ("--net=host", no port driver:
# dockerd with --bridge=none --iptables=false changes nothing there; with slirp4netns, a
# container on Docker's default bridge is tested too). The allowlist's test
# server listens on the loopback of the namespace the container's daemon connects out
# from: rootlesskit's with slirp4netns (it blocks the host's loopback), the host's else.
#
# Everything is under the test's directory: XDG_RUNTIME_DIR and HOME (tests/lib.sh),
# daemon.json, the data and exec roots, the socket, rootlesskit's state; /etc and /run are
# rootlesskit's copies (--copy-up), so containerd's shim sockets stay in its namespace. At
# the end (trap, also on failure) the daemon is stopped, what is left of its processes
# killed, its files (owned by subordinate ids) removed from a user namespace of
# rootlesskit's, and the host's network compared with what it was.
#
# As root it skips: rootful Docker is oci-docker.t; make check's second pass (the test user,
# with subordinate ids from tests/run-suites.sh) runs this one.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
[ "$(id -u)" = 0 ] && skip_all "rootless Docker runs as a user: make check's pass as the test user runs it" \
	"(rootful Docker: oci-docker.t)"
require_sandbox
require_python
OCI_ROOTLESS=1 oci_require runc dockerd containerd containerd-shim-runc-v2 rootlesskit nsenter
ROOTLESS_SH=/usr/share/docker.io/contrib/dockerd-rootless.sh
DOCKER_CLI=/usr/bin/docker # Debian's client, not a newer one earlier in PATH
for f in "$ROOTLESS_SH" "$DOCKER_CLI"; do
	[ -x "$f" ] && continue
	[ "${HUTCH_TEST_ENGINES:-0}" = 1 ] && {
		fail "$f is installed (HUTCH_TEST_ENGINES=1)"
		done_testing
	}
	skip_all "no $f (apt-get install docker.io rootlesskit)"
done

DD=$T/docker
IMG=hutch-test/busybox:$$
mkdir -p "$DD"
export DOCKER_HOST=unix://$DD/docker.sock DOCKER_CONFIG=$DD/cli # not the fake home's
oci_lock
NET_BEFORE=$(oci_net_snapshot)
RK_NET=host
if { : <>/dev/net/tun; } 2>/dev/null && command -v slirp4netns >/dev/null; then
	RK_NET=slirp4netns
fi
note "rootlesskit's network: $RK_NET"

printf '{}\n' >"$DD/policy.json"
printf '{ "limits": { "memory": "64M" } }\n' >"$DD/bad.json"
printf '{ "audit": { "file": "%s" } }\n' "$DD/audit.jsonl" >"$DD/audit.json"

# The daemon's processes: rootlesskit (the parent, $RK_PID), its child dockerd, containerd,
# the shims, the containers' daemons. Those left at the end are killed by pid: their command
# lines name the test's directory. This user may signal them all (it owns rootlesskit's user
# namespace).
RK_PID=
# rootless_stop [CHECK]: SIGTERM to dockerd, rootlesskit's end waited for (15 s); with CHECK,
# a test that nothing of the daemon's is left then; what is left is killed.
rootless_stop() {
	local pid
	pid=$(cat "$DD/dockerd.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	oci_rootless_end "$DD" "$RK_PID" \
		"stopped, the daemon left no process (rootlesskit, dockerd, containerd, shims)" "${1:-}"
	RK_PID=
	rm -f "$DD/dockerd.pid"
}
# The data root's files belong to subordinate ids (oci_rootless_rm).
rootless_rm() {
	[ -d "$DD/root" ] || [ -d "$DD/exec" ] || return 0
	oci_rootless_rm "$DD" "$DD/root" "$DD/exec" "$DD/rk"
}
rootless_cleanup() {
	local st=$?
	if [ -S "$DD/docker.sock" ]; then
		timeout -k 5 30 "$DOCKER_CLI" ps -aq 2>/dev/null |
			xargs -r timeout -k 5 30 "$DOCKER_CLI" rm -f >/dev/null 2>&1
	fi
	rootless_stop
	rootless_rm
	_t_cleanup
	return "$st"
}
trap rootless_cleanup EXIT

cat >"$DD/daemon.json" <<EOF
{ "runtimes": {
    "hutch": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/policy.json"] },
    "hutch-bad": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/bad.json"] },
    "hutch-net": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/net.json"] },
    "hutch-audit": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/audit.json"] } } }
EOF

# rootless_start: dockerd-rootless.sh under setsid, its log in $DD/dockerd.log; true once
# the daemon answers (30 s at most).
rootless_start() {
	local i
	rm -rf "$DD/rk" "$DD/docker.sock"
	PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH \
		DOCKERD_ROOTLESS_ROOTLESSKIT_NET=$RK_NET \
		DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--state-dir=$DD/rk" \
		setsid "$ROOTLESS_SH" --config-file "$DD/daemon.json" --data-root "$DD/root" \
		--exec-root "$DD/exec" --pidfile "$DD/dockerd.pid" -H "$DOCKER_HOST" \
		--iptables=false --ip6tables=false "${BRIDGE[@]}" --ip-forward=false \
		>"$DD/dockerd.log" 2>&1 </dev/null {_OCI_LOCK_FD}>&- &
	RK_PID=$!
	for ((i = 0; i < 300; i++)); do
		timeout -k 2 10 "$DOCKER_CLI" info >/dev/null 2>&1 && return 0
		kill -0 "$RK_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# with the host's network, no bridge (docker0 would be the host's); with slirp4netns,
# Docker's default bridge, in rootlesskit's namespace
BRIDGE=()
if [ "$RK_NET" = host ]; then
	export DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none
	BRIDGE=(--bridge=none)
fi
up=1
for attempt in 1 2; do
	rootless_start && up=0 && break
	diag "rootless dockerd, attempt $attempt: it did not answer; its log's end:"
	diag "$(grep -v '^+ ' "$DD/dockerd.log" | tail -20)"
	rootless_stop
	rootless_rm
done
ok "$up" "a private rootless dockerd started (rootlesskit --net=$RK_NET)" || done_testing

# drun ARGS...: docker ARGS against the test's daemon; sets RC OUT ERR.
drun() {
	LAST_CMD="docker $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$DOCKER_CLI" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

drun info --format '{{json .SecurityOptions}} {{json .Runtimes}}'
like "$OUT" 'name=rootless' "docker info: the daemon is rootless"
like "$OUT" '"hutch"' "  and lists the hutch runtime"
# the daemon runs as root of a user namespace that maps this user
rk_child=$(cat "$DD/rk/child_pid" 2>/dev/null)
is "$(awk '$1 == 0 { print $2 }' "/proc/$rk_child/uid_map" 2>/dev/null)" "$(id -u)" \
	"  in rootlesskit's user namespace, root there being this user"

# The allowlist's server: on the loopback of the namespace the container's daemon connects
# out from (rootlesskit's own with slirp4netns, which blocks the host's loopback)
if [ "$RK_NET" = slirp4netns ]; then
	start_loopback_service_under nsenter -U -n -t "$rk_child" --preserve-credentials
else
	start_loopback_service
fi
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SRV_PORT" >"$DD/net.json"

oci_rootfs "$T/rootfs"
tar -C "$T/rootfs" --numeric-owner --owner=0 --group=0 -cf "$T/rootfs.tar" .
drun import -c 'CMD ["sh"]' "$T/rootfs.tar" "$IMG"
is "$RC" 0 "the busybox image is imported" || diag "$ERR"
RUN=(run --network none --runtime hutch)

drun "${RUN[@]}" --rm "$IMG" sh -c '
echo hello
touch /root/x 2>&1 || echo no-root-write
touch /tmp/t && echo wrote-tmp
unshare -U true 2>&1 || echo unshare-refused
grep NoNewPrivs /proc/self/status
exit 5'
is "$RC" 5 "run --rm: the command's exit status"
like "$OUT" "^hello" "run --rm: its output"
like "$OUT" "touch: /root/x: Permission denied" "Landlock: / is read-only inside"
like "$OUT" "wrote-tmp" "/tmp is writable"
like "$OUT" "unshare-refused" "seccomp: unshare refused"
like "$OUT" "NoNewPrivs:.1" "no_new_privs"
drun run --network none --rm "$IMG" sh -c 'touch /root/x && echo runc-root-write'
like "$OUT" "runc-root-write" "the same image under runc: / is writable (the control)"

# a volume and its repository: .git/hooks read-only from the workload's first instruction
# (bound read-only after create); a hook planted in a repository made in the volume is taken
# away at delete, into the quarantine under the HOME the daemon was started with (the
# runtime's at create)
mkdir -p "$T/vol/.git/hooks" "$T/vol/.git/objects" "$T/vol/.git/refs"
echo "ref: refs/heads/main" >"$T/vol/.git/HEAD"
drun "${RUN[@]}" --rm --cidfile "$T/cid" -v "$T/vol:/data" -w /data "$IMG" sh -c '
echo v >/data/f && echo wrote-vol
printf "#!/bin/sh\ntouch /tmp/x\n" >.git/hooks/pre-commit || echo hook-refused
mkdir -p new/.git/hooks new/.git/objects new/.git/refs && echo "ref: refs/heads/main" >new/.git/HEAD &&
	printf "#!/bin/sh\ntouch /tmp/x\n" >new/.git/hooks/pre-commit && echo planted'
like "$OUT" "wrote-vol" "a volume (rw bind) is writable"
is "$(cat "$T/vol/f" 2>/dev/null)" "v" "  and the file is on the host"
like "$OUT" "hook-refused" "  its repository's .git/hooks is read-only inside"
ok "$([ -e "$T/vol/.git/hooks/pre-commit" ] && echo 1 || echo 0)" "  nothing written there on the host"
like "$OUT" "planted" "  a hook planted in a repository made there"
ok "$([ -e "$T/vol/new/.git/hooks/pre-commit" ] && echo 1 || echo 0)" "  is gone after run --rm"
cid=$(cat "$T/cid" 2>/dev/null)
ok "$([ -n "$cid" ] && [ -f "$HOME/.local/state/hutch/quarantine/$cid$T/vol/new/.git/hooks/pre-commit" ] && echo 0 || echo 1)" \
	"  in the quarantine, \$HOME/.local/state/hutch/quarantine/ID" ||
	diag "$(find "$HOME/.local/state/hutch" 2>&1 | head)"

drun "${RUN[@]}" --rm -t "$IMG" sh -c 'tty; test -t 1 && echo out-is-a-tty'
is "$RC" 0 "run -t"
like "$OUT" "/dev/pts/" "-t: the workload's stdin is a terminal"
like "$OUT" "out-is-a-tty" "-t: and so is its stdout"

C=hutch-t-$$
drun "${RUN[@]}" -d --name "$C" "$IMG" sleep 1000
is "$RC" 0 "run -d"
drun exec "$C" sh -c 'touch /root/y 2>&1 || echo exec-no-root; exit 6'
is "$RC" 6 "exec: its exit status"
like "$OUT" "exec-no-root" "exec: Landlock applies to docker exec too"
drun info --format '{{.CgroupDriver}}'
if [ "$OUT" = none ]; then
	# rootless without cgroups (cgroup v1, or v2 without a delegated subtree): runc ps and
	# runc pause fail the same way under runc (no pids to list, no freezer)
	skip "rootless Docker without cgroups (docker info: Cgroup Driver: none): top and pause fail under runc too" 3
else
	oci_docker_top_pause
fi
oci_docker_stop_kill
is "$RC" 0 "  rm"

# an audit file: what docker exec runs is in it, with the container's start and end; the
# container's daemon is nobody of rootlesskit's user namespace (a subordinate id)
drun run -d --network none --name "$C-a" --runtime hutch-audit "$IMG" sleep 1000
is "$RC" 0 "run -d with an audit file (the runtime's policy)"
dpid=$(oci_procs "$OCI_LINK *")
dpid=${dpid##* }
dst=$(grep -E '^(Uid|CapEff|NoNewPrivs):' "/proc/$dpid/status" 2>/dev/null | tr -s '\t' ' ')
nobody=$(awk -v me="$(id -un)" -F: '$1 == me { print $2 + 65534 - 1; exit }' /etc/subuid)
like "$dst" "Uid: $nobody $nobody $nobody $nobody" "  the container's daemon runs as nobody of the user namespace (uid $nobody)"
like "$dst" "CapEff: 0000000000080024" "  with the audit's three capabilities alone"
like "$dst" "NoNewPrivs: 1" "  and no_new_privs"
oci_docker_audited "$C-a"

# a network allowlist: hutch's proxy, served by the container's daemon, which connects out
# from rootlesskit's namespace (slirp4netns) or the host's
drun run --rm --network none --runtime hutch-net "$IMG" sh -c "$(oci_allowlist_sh)"
is "$RC" 0 "a network allowlist (the runtime's policy): the container runs"
like "$OUT" "HUTCH-HTTP-OK" "  the test's server answered"
oci_allowlist_seen "  "
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "  no hutch-oci process (network daemon) left after run --rm"

# with slirp4netns, the same through Docker's default bridge: the container's namespace
# has an eth0, served as a pod's (docs/oci.md, "A network of its own: pods")
if [ "$RK_NET" = slirp4netns ]; then
	drun run --rm --runtime hutch-net "$IMG" sh -c "ip -o link | grep -q eth0 && echo has-eth0
wget -q -Y off -O- http://localhost.:$SRV_PORT/ && echo transparent-ok
wget -q -Y off -O- http://192.0.2.1/ 2>&1; ip link set eth0 down 2>&1; true"
	is "$RC" 0 "the default bridge: the container runs"
	like "$OUT" "has-eth0" "  with an eth0"
	like "$OUT" "transparent-ok" "  an allowed name is reached"
	like "$OUT" "Connection reset by peer" "  a connection to another address: reset"
	like "$OUT" "ip: SIOCSIFFLAGS: Operation not permitted" "  CAP_NET_ADMIN is gone"
else
	skip "Docker's bridge with rootlesskit's host network would be the host's: only with slirp4netns (/dev/net/tun)" 5
fi

drun run --rm --network none --runtime hutch-bad "$IMG" echo should-not-run
isnt "$RC" 0 "a runtime whose policy hutch oci cannot enforce: the container does not start"
unlike "$OUT" "should-not-run" "  the command did not run"
like "$ERR" "hutch: policy key limits .*is not supported by hutch oci" "  Docker shows hutch's message"

drun ps -aq
is "$OUT" "" "no container left"
rootless_stop check
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
