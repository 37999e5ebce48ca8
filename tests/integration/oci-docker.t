#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Docker with hutch oci as a registered runtime (daemon.json "runtimes", docs/oci.md): Docker
# 20.10 passes no annotations, so the policy is the runtime's own (runtimeArgs
# --hutch-policy FILE). run --rm prints and exits with the command's status, hutch's layers
# are active inside, -t gets a terminal, exec runs under the layers too, pause/unpause, top,
# stop (SIGTERM, then SIGKILL after the timeout) and kill end a container, a runtime whose
# policy has a network allowlist reaches an allowed name (through the proxy variables and
# transparently) and nothing else, and a runtime whose policy cannot be enforced starts
# nothing, with hutch's message in Docker's error.
#
# dockerd is the test's own: its configuration, data and exec roots, socket and cgroup parent
# are under the test's directory, with no bridge, no iptables rules and ip_forward left alone;
# it is stopped at the end, and what it makes outside them (/etc/docker/key.json, /run/docker,
# containerd's shim sockets in /run/containerd) is removed when it was not there before. The
# host's network is compared before and after.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc dockerd containerd containerd-shim-runc-v2
# Debian's docker.io client, not another one earlier in PATH (a newer CLI refuses flags that
# a 20.10 daemon does not know)
DOCKER_CLI=/usr/bin/docker
if ! [ -x "$DOCKER_CLI" ]; then
	[ "${HUTCH_TEST_ENGINES:-0}" = 1 ] && {
		fail "Debian's docker client at $DOCKER_CLI (HUTCH_TEST_ENGINES=1)"
		done_testing
	}
	skip_all "no docker client at $DOCKER_CLI (apt-get install docker.io)"
fi

DD=$T/docker
CG=oci-test-docker-$$ # not hutch-*: the names of hutch run's own cgroups (limits.t)
IMG=hutch-test/busybox:$$
mkdir -p "$DD"
export DOCKER_HOST=unix://$DD/docker.sock
oci_lock
NET_BEFORE=$(oci_net_snapshot)
had_key=0 had_rundocker=0 had_runcontainerd=0
[ -e /etc/docker/key.json ] && had_key=1
[ -e /run/docker ] && had_rundocker=1
[ -e /run/containerd ] && had_runcontainerd=1

# The runtime's policy: hutch's default; a second runtime with a policy hutch oci cannot
# enforce (its limits are the engine's business).
printf '{}\n' >"$DD/policy.json"
printf '{ "limits": { "memory": "64M" } }\n' >"$DD/bad.json"
start_loopback_service
printf '{ "network": { "allowPrivate": true, "allow": ["localhost:%s"] } }\n' "$SRV_PORT" >"$DD/net.json"
printf '{ "audit": { "file": "%s" } }\n' "$DD/audit.jsonl" >"$DD/audit.json"
cat >"$DD/daemon.json" <<EOF
{ "runtimes": {
    "hutch": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/policy.json"] },
    "hutch-bad": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/bad.json"] },
    "hutch-net": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/net.json"] },
    "hutch-audit": { "path": "$OCI_LINK", "runtimeArgs": ["--hutch-policy", "$DD/audit.json"] } } }
EOF

docker_cleanup() {
	local st=$? d pid i
	"$DOCKER_CLI" ps -aq 2>/dev/null | xargs -r "$DOCKER_CLI" rm -f >/dev/null 2>&1
	pid=$(cat "$DD/dockerd.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	# its own containerd and shims, had they outlived it
	pkill -KILL -f -- "$DD/" 2>/dev/null
	while read -r d; do umount -l "$d" 2>/dev/null; done < <(awk -v p="$DD/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
	for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_key" = 1 ] || rm -f /etc/docker/key.json
	[ "$had_rundocker" = 1 ] || rm -rf /run/docker
	[ "$had_runcontainerd" = 1 ] || rm -rf /run/containerd
	_t_cleanup
	return "$st"
}
trap docker_cleanup EXIT

setsid /usr/sbin/dockerd --config-file "$DD/daemon.json" --data-root "$DD/root" \
	--exec-root "$DD/exec" --pidfile "$DD/dockerd.pid" -H "$DOCKER_HOST" \
	--iptables=false --ip6tables=false --bridge=none --ip-forward=false \
	--cgroup-parent "/$CG" >"$DD/dockerd.log" 2>&1 </dev/null {_OCI_LOCK_FD}>&- &
up=1
for ((i = 0; i < 300; i++)); do
	"$DOCKER_CLI" info >/dev/null 2>&1 && up=0 && break
	sleep 0.1
done
ok "$up" "a private dockerd started" || {
	diag "$(tail -20 "$DD/dockerd.log")"
	done_testing
}

# drun ARGS...: docker ARGS against the test's daemon; sets RC OUT ERR.
drun() {
	LAST_CMD="docker $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$DOCKER_CLI" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

drun info --format '{{json .Runtimes}}'
like "$OUT" '"hutch"' "docker info lists the hutch runtime"

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
exit 5'
is "$RC" 5 "run --rm: the command's exit status"
like "$OUT" "^hello" "run --rm: its output"
like "$OUT" "touch: /root/x: Permission denied" "Landlock: / is read-only inside"
like "$OUT" "wrote-tmp" "/tmp is writable"
like "$OUT" "unshare-refused" "seccomp: unshare refused"

mkdir -p "$T/vol"
drun "${RUN[@]}" --rm -v "$T/vol:/data" -w /data "$IMG" sh -c 'echo v >/data/f && echo wrote-vol'
like "$OUT" "wrote-vol" "a volume (rw bind) is writable"
is "$(cat "$T/vol/f" 2>/dev/null)" "v" "  and the file is on the host"

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
oci_docker_top_pause
oci_docker_stop_kill

# an audit file (the runtime's policy): what docker exec runs is in it, with the container's
# start and end
drun run -d --name "$C-a" --runtime hutch-audit "$IMG" sleep 1000
is "$RC" 0 "run -d with an audit file (the runtime's policy)"
oci_docker_audited "$C-a"

# a network allowlist: hutch's proxy, served by the container's network daemon on the host
drun run --rm --network none --runtime hutch-net "$IMG" sh -c "$(oci_allowlist_sh)"
is "$RC" 0 "a network allowlist (the runtime's policy): the container runs"
oci_allowlist_seen "  "
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "  no hutch-oci process (network daemon) left after run --rm"

drun run --rm --network none --runtime hutch-bad "$IMG" echo should-not-run
isnt "$RC" 0 "a runtime whose policy hutch oci cannot enforce: the container does not start"
unlike "$OUT" "should-not-run" "  the command did not run"
like "$ERR" "hutch: policy key limits .*is not supported by hutch oci" "  Docker shows hutch's message"

drun ps -aq
is "$OUT" "" "no container left"
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
