#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Podman with hutch oci as its runtime (--runtime PATH, docs/oci.md): run --rm prints and
# exits with the command's status, hutch's layers are active inside, -t gets a terminal,
# exec runs under the layers too (and is in the audit log), a network allowlist works
# through hutch's proxy, stop ends a container, and a container whose policy
# cannot be enforced does not start, with hutch's message in podman's error. Podman's
# storage, run and temporary directories, its containers.conf and its cgroup parent are
# the test's own, removed at the end; the host's network is compared before and after.
#
# Run as a user other than root (tests/run-suites.sh's second pass), it tests rootless
# Podman: the same cases, in Podman's user namespace (subordinate ids from /etc/subuid and
# /etc/subgid, which run-suites.sh gives its test user), with the storage and runtime
# directories under the test's HOME and XDG_RUNTIME_DIR (tests/lib.sh), and no cgroup of
# its own (a user cannot make one under cgroupfs).
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
OCI_ROOTLESS=1 oci_require runc podman conmon
ROOTLESS=0
[ "$(id -u)" = 0 ] || ROOTLESS=1

PD=$T/podman
CG=oci-test-podman-$$  # not hutch-*: the names of hutch run's own cgroups (limits.t)
IMG=localhost/hutch-test/busybox:$$
mkdir -p "$PD"
# Podman's default rlimits (nofile 1048576) need CAP_SYS_RESOURCE to raise the hard limit,
# which root may lack (in a container, in this CI): pinned at what this shell has.
cat >"$PD/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_config_dir = "$PD/net.d"
EOF
export CONTAINERS_CONF=$PD/containers.conf
P=(podman --root "$PD/root" --runroot "$PD/run" --tmpdir "$PD/tmp" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)
NET_BEFORE=$(oci_net_snapshot)
# podman import keeps a blob cache in /var/lib/containers whatever --root says
had_varlib=0
[ -e /var/lib/containers ] && had_varlib=1
# podman passes no --root: runc's state goes to /run/runc
had_runc=0
[ -e /run/runc ] && had_runc=1

podman_cleanup() {
	local st=$? d
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
	"${P[@]}" rmi -af >/dev/null 2>&1
	if [ "$ROOTLESS" = 1 ]; then
		# the storage's files belong to subordinate ids: removed from Podman's user
		# namespace; then its pause process (holding that namespace) is ended
		"${P[@]}" unshare rm -rf "$PD/root" "$PD/run" >/dev/null 2>&1
		d=$PD/tmp/pause.pid
		[ -s "$d" ] && kill "$(cat "$d")" 2>/dev/null
		_t_cleanup
		return "$st"
	fi
	# the storage's own mounts (overlay), deepest first; then $T goes with _t_cleanup
	while read -r d; do umount -l "$d" 2>/dev/null; done < <(awk -v p="$PD/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
	for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_varlib" = 1 ] || rm -rf /var/lib/containers
	[ "$had_runc" = 1 ] || rmdir /run/runc 2>/dev/null
	_t_cleanup
	return "$st"
}
trap podman_cleanup EXIT

# prun ARGS...: podman ARGS with the test's storage; sets RC OUT ERR.
prun() {
	LAST_CMD="podman $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "${P[@]}" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}
RUN=(run --pull never --network none --cgroup-parent "/$CG" --runtime "$OCI_LINK")
[ "$ROOTLESS" = 1 ] && RUN=(run --pull never --network none --runtime "$OCI_LINK")

oci_rootfs "$T/rootfs"
tar -C "$T/rootfs" --numeric-owner --owner=0 --group=0 -cf "$T/rootfs.tar" .
prun import --change 'CMD ["sh"]' "$T/rootfs.tar" "$IMG"
is "$RC" 0 "the busybox image is imported" || diag "$ERR"

prun "${RUN[@]}" --rm "$IMG" sh -c '
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
prun "${RUN[@]}" --rm -v "$T/vol:/data" -w /data "$IMG" sh -c 'echo v >/data/f && echo wrote-vol'
like "$OUT" "wrote-vol" "a volume (rw bind) is writable"
is "$(cat "$T/vol/f" 2>/dev/null)" "v" "and the file is on the host"

# the volume's repository: its .git/hooks and .git/config are read-only from the workload's
# first instruction on (bound read-only after create, docs/oci.md, "Persistence: the mounted
# workspace"); a hook planted in a repository made in the volume is gone after run --rm, in
# the quarantine chosen at create
had_varlib_hutch=0
[ -e /var/lib/hutch ] && had_varlib_hutch=1
mkdir -p "$T/pvol/.git/hooks" "$T/pvol/.git/objects" "$T/pvol/.git/refs"
echo "ref: refs/heads/main" >"$T/pvol/.git/HEAD"
printf '[core]\n' >"$T/pvol/.git/config"
MNT_BEFORE=$(awk -v p="$T/" 'index($5, p) == 1' /proc/self/mountinfo)
prun "${RUN[@]}" --rm --cidfile "$T/cid" -v "$T/pvol:/data" -w /data "$IMG" sh -c '
printf "#!/bin/sh\ntouch /tmp/x\n" >.git/hooks/pre-commit || echo hook-refused
printf "\tfsmonitor = x\n" >>.git/config || echo config-refused
mkdir -p new/.git/hooks new/.git/objects new/.git/refs && echo "ref: refs/heads/main" >new/.git/HEAD &&
	printf "#!/bin/sh\ntouch /tmp/x\n" >new/.git/hooks/pre-commit && echo planted'
like "$OUT" "hook-refused" "the volume's .git/hooks is read-only inside"
like "$ERR" "Read-only file system" "  (EROFS)"
like "$OUT" "config-refused" "the volume's .git/config is read-only inside"
is "$(cat "$T/pvol/.git/config")" "[core]" "  and unchanged on the host"
like "$OUT" "planted" "a hook planted in a new repository in the volume"
ok "$([ -e "$T/pvol/new/.git/hooks/pre-commit" ] && echo 1 || echo 0)" "run --rm: the planted hook is gone"
is "$(awk -v p="$T/" 'index($5, p) == 1' /proc/self/mountinfo)" "$MNT_BEFORE" "no mount left on the host"
cid=$(cat "$T/cid" 2>/dev/null)
q=/var/lib/hutch/quarantine/$cid # the runtime's HOME at create, if Podman gave it one
[ -n "$HOME" ] && q=$HOME/.local/state/hutch/quarantine/$cid
ok "$([ -n "$cid" ] && [ -f "$q$T/pvol/new/.git/hooks/pre-commit" ] && echo 0 || echo 1)" \
	"  in the quarantine, $q"
[ -n "$cid" ] && rm -rf "$q"
[ "$had_varlib_hutch" = 1 ] || rm -rf /var/lib/hutch 2>/dev/null

prun "${RUN[@]}" --rm -t "$IMG" sh -c 'tty; test -t 1 && echo out-is-a-tty'
is "$RC" 0 "run -t"
like "$OUT" "/dev/pts/" "-t: the workload's stdin is a terminal"
like "$OUT" "out-is-a-tty" "-t: and so is its stdout"

prun "${RUN[@]}" -d --name "hutch-t-$$" \
	--annotation "\"dev.hutch.policy={\"\"audit\"\": {\"\"file\"\": \"\"$T/audit.jsonl\"\"}}\"" \
	"$IMG" sleep 1000
is "$RC" 0 "run -d (with an audit file)"
# the container's daemon (the one hutch-oci process left once run -d returned) has dropped its
# privileges; rootless, its ids are Podman's subordinate ones for nobody (never root's)
dpid=$(oci_procs "$OCI_LINK *")
dpid=${dpid##* }
dst=$(grep -E '^(Uid|CapEff|NoNewPrivs):' "/proc/$dpid/status" 2>/dev/null | tr -s '\t' ' ')
if [ "$ROOTLESS" = 1 ]; then
	nobody=$(awk -v me="$(id -un)" -F: '$1 == me { print $2 + 65534 - 1; exit }' /etc/subuid)
	like "$dst" "Uid: $nobody $nobody $nobody $nobody" "the container's daemon runs as nobody of Podman's user namespace (uid $nobody)"
else
	like "$dst" "Uid: 65534 65534 65534 65534" "the container's daemon runs as nobody"
fi
like "$dst" "CapEff: 0000000000080024" "  with the audit's three capabilities alone"
like "$dst" "NoNewPrivs: 1" "  and no_new_privs"
prun exec "hutch-t-$$" sh -c 'touch /root/y 2>&1 || echo exec-no-root; /bin/true podman-exec-marker; exit 6'
is "$RC" 6 "exec: its exit status"
like "$OUT" "exec-no-root" "exec: Landlock applies to podman exec too"
args=
for _ in $(seq 100); do
	args=$("$PY" -c 'import json,sys; print([e.get("process.command_args") for e in map(json.loads, open(sys.argv[1], "rb")) if e.get("event") == "exec"])' "$T/audit.jsonl" 2>/dev/null)
	[[ $args == *podman-exec-marker* ]] && break
	sleep 0.1
done
like "$args" "\['sleep', '1000'\]" "the audit log has the container's process"
like "$args" "\['/bin/true', 'podman-exec-marker'\]" "  and what podman exec ran"
if [ "$ROOTLESS" = 1 ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
	skip "rootless Podman cannot pause on cgroup v1 (the freezer needs root here)" 2
else
	prun pause "hutch-t-$$"
	prun inspect --format '{{.State.Status}}' "hutch-t-$$"
	is "$OUT" "paused" "pause"
	prun unpause "hutch-t-$$"
	prun exec "hutch-t-$$" true
	is "$RC" 0 "unpause: exec works again"
fi
prun stop -t 1 "hutch-t-$$"
is "$RC" 0 "stop (SIGTERM, then SIGKILL after 1 s)"
ends=
for _ in $(seq 100); do
	ends=$("$PY" -c 'import json,sys; print([(e["event"], e.get("process.exit.code"), e.get("signal")) for e in map(json.loads, open(sys.argv[1], "rb")) if e.get("event") in ("start", "end")])' "$T/audit.jsonl" 2>/dev/null)
	[[ $ends == *end* ]] && break
	sleep 0.1
done
is "$ends" "[('start', None, None), ('end', 137, 9)]" "the audit log has start and end (SIGKILL: sleep, PID 1, ignores SIGTERM)"
prun inspect --format '{{.State.Status}}' "hutch-t-$$"
is "$OUT" "exited" "the container has exited"
prun rm "hutch-t-$$"
is "$RC" 0 "rm"

# a network allowlist: hutch's proxy, served by the container's network daemon on the host
# ("localhost." resolved there: the test's server on the host's loopback, as in oci-net.t)
start_loopback_service
prun "${RUN[@]}" --rm --annotation "\"dev.hutch.policy={\"\"network\"\": {\"\"allowPrivate\"\": true, \"\"allow\"\": [\"\"localhost:$SRV_PORT\"\"]}}\"" \
	"$IMG" sh -c "$(oci_allowlist_sh)"
is "$RC" 0 "a network allowlist: the container runs"
oci_allowlist_seen ""
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "no hutch-oci process (network daemon) left after run --rm"

prun "${RUN[@]}" --rm --annotation '"dev.hutch.policy={""network"": {""mode"": ""host"", ""allow"": [""example.com""]}}"' \
	"$IMG" echo should-not-run
isnt "$RC" 0 "a policy that cannot be enforced: the container does not start"
unlike "$OUT" "should-not-run" "the command did not run"
like "$ERR" "network.allow needs network.mode .*proxy.* in a container" "podman shows hutch's message"

prun "${RUN[@]}" --rm --annotation '"dev.hutch.policy={""network"": {""mode"": ""host""}}"' \
	"$IMG" sh -c 'nc -w 2 127.0.0.1 9 </dev/null 2>&1; true'
unlike "$OUT" "socket: Permission denied" "the annotation reaches hutch through podman (network host)"

prun ps -a --format '{{.Names}}'
is "$OUT" "" "no container left"
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
