#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Kubernetes path (docs/oci.md, "Kubernetes"): a private containerd 1.6 with its CRI
# plugin and a runtime handler "hutch" (the runc shim with hutch-oci as its binary, the
# dev.hutch.* pod and container annotations passed on), driven through CRI as a kubelet
# drives it (tests/cri/cri.js, a small client on npm's @grpc/grpc-js). The pod gets a
# network of its own from a test-only CNI plugin (tests/cri/hutch-nsveth: an eth0 with an
# address, both ends of its veth in the pod's namespace). The pod annotation's policy
# (an allowlist and an audit file) then reaches the pause container and the workload:
# one namespace daemon serves them both, an allowed name is reached from inside
# (ExecSync) and another refused, Landlock and seccomp apply, the exec is audited, a bad
# policy annotation fails StartContainer with hutch's message, and after the pod is
# removed nothing is left: no daemon, no namespace state, and the host's links,
# addresses, routes and nft rules are as before.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc containerd ctr containerd-shim-runc-v2 node npm nsenter ip
[ -x /usr/lib/cni/loopback ] || {
	[ "${HUTCH_TEST_ENGINES:-0}" = 1 ] && {
		LAST_CMD=
		fail "the CNI plugins are installed (HUTCH_TEST_ENGINES=1): no /usr/lib/cni/loopback"
		done_testing
	}
	skip_all "no /usr/lib/cni/loopback (apt-get install containernetworking-plugins)"
}

# ---- the CRI client's npm packages, in a cache beside the tests' temporary directories ----
CRI_NPM=${HUTCH_CRI_NPM_CACHE:-$(dirname "$T")/cri-client}
cri_npm_ok() { [ -f "$CRI_NPM/node_modules/@grpc/grpc-js/package.json" ] && [ -f "$CRI_NPM/node_modules/@grpc/proto-loader/package.json" ]; }
if ! cri_npm_ok; then
	mkdir -p "$CRI_NPM" || skip_all "cannot create the npm cache $CRI_NPM"
	exec 8>"$CRI_NPM/.lock"
	flock -w 600 8 || bail_out "the npm cache $CRI_NPM stays locked"
	if ! cri_npm_ok; then
		if ! reach=$(timeout 30 npm ping --registry https://registry.npmjs.org 2>&1); then
			skip_all "the npm registry is unreachable from here (npm ping: $(tail -1 <<<"$reach"))"
		fi
		if ! log=$(cd "$CRI_NPM" && timeout 600 npm install --prefix "$CRI_NPM" --no-audit --no-fund \
			--loglevel=error @grpc/grpc-js@1 @grpc/proto-loader@0 2>&1); then
			bail_out "npm install @grpc/grpc-js @grpc/proto-loader failed: $(tail -5 <<<"$log")"
		fi
	fi
	exec 8>&-
	cri_npm_ok || bail_out "npm install left no @grpc/grpc-js in $CRI_NPM"
fi
export NODE_PATH=$CRI_NPM/node_modules

CD=$T/cri
mkdir -p "$CD/cni-bin" "$CD/cni-conf" "$CD/logs"
oci_lock
NET_BEFORE=$(oci_net_snapshot)
NETNS_DIR=/run/hutch-oci/netns
NETNS_BEFORE=$(ls "$NETNS_DIR" 2>/dev/null)
had_run=0 had_hutch_run=0
[ -e /run/containerd ] && had_run=1
[ -e /run/hutch-oci ] && had_hutch_run=1
ln -s /usr/lib/cni/loopback "$CD/cni-bin/loopback"
cp "$HUTCH_TESTS_DIR/cri/hutch-nsveth" "$CD/cni-bin/"
cat >"$CD/cni-conf/10-hutch-nsveth.conflist" <<'EOF'
{"cniVersion": "0.4.0", "name": "hutch-nsveth", "plugins": [{"type": "loopback"}, {"type": "hutch-nsveth"}]}
EOF
cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
[grpc]
  address = "$CD/c.sock"
[ttrpc]
  address = "$CD/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/root/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/hutch/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  netns_mounts_under_state_dir = true
  # lowering the sandbox's oom_score_adj needs CAP_SYS_RESOURCE, which this root may lack
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CD/cni-bin"
    conf_dir = "$CD/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hutch]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["dev.hutch.*"]
      container_annotations = ["dev.hutch.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hutch.options]
        BinaryName = "$OCI_LINK"
        SystemdCgroup = false
EOF
export CONTAINERD_ADDRESS=$CD/c.sock CONTAINERD_NAMESPACE=k8s.io
export CRI_ENDPOINT=unix://$CD/c.sock
CG=oci-cri-test # the pods' cgroup parent: not hutch-*, the names of hutch run's own (limits.t)
CPID=

cri_cleanup() {
	local st=$? t
	if [ -n "$CPID" ]; then
		for t in $(timeout 30 node "$HUTCH_TESTS_DIR/cri/cri.js" pods 2>/dev/null | tr -d '[]",' ); do
			[[ $t =~ ^[0-9a-f]{64}$ ]] || continue
			timeout 30 node "$HUTCH_TESTS_DIR/cri/cri.js" stopp "$t" >/dev/null 2>&1
			timeout 30 node "$HUTCH_TESTS_DIR/cri/cri.js" rmp "$t" >/dev/null 2>&1
		done
	fi
	oci_containerd_stop "$CD"
	for t in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$t" ] && find "$t" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_run" = 1 ] || rm -rf /run/containerd
	if [ "$had_hutch_run" = 0 ]; then
		rmdir "$NETNS_DIR" /run/hutch-oci 2>/dev/null
	fi
	_t_cleanup
	return "$st"
}
trap cri_cleanup EXIT

oci_containerd_start "$CD"

# ---- the images, imported offline: busybox, and the pause image (busybox and /pause) ------
oci_rootfs "$T/rootfs"
printf '#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 3600 & wait $!; done\n' >"$T/rootfs/pause"
chmod 755 "$T/rootfs/pause"
tar -C "$T/rootfs" --numeric-owner --owner=0 --group=0 -cf "$T/rootfs.tar" .
"$PY" "$HUTCH_TESTS_DIR/cri/oci-image.py" "$T/rootfs.tar" "$T/busybox.tar" 1 &&
	"$PY" "$HUTCH_TESTS_DIR/cri/oci-image.py" "$T/rootfs.tar" "$T/pause.tar" 1 /pause &&
	ctr images import --base-name docker.io/hutch/busybox "$T/busybox.tar" >/dev/null 2>"$T/.err" &&
	ctr images import --base-name docker.io/hutch/pause "$T/pause.tar" >/dev/null 2>>"$T/.err"
ok $? "the busybox and pause images are imported" || diag "$(cat "$T/.err")"

# cri CALL ARGS...: sets RC OUT ERR
cri() {
	LAST_CMD="cri.js $*"
	timeout -k 5 120 node "$HUTCH_TESTS_DIR/cri/cri.js" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

start_loopback_service
policy="{\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}, \"audit\": {\"file\": \"$T/cri-audit.jsonl\"}}"
"$PY" - "$CD" "$CG" "$policy" <<'EOF'
import json, sys
cd, cg, policy = sys.argv[1:4]
pod = {"metadata": {"name": "hutch-pod", "namespace": "default", "uid": "hutch-pod-uid-1", "attempt": 0},
       "hostname": "hutch-pod", "log_directory": cd + "/logs",
       "annotations": {"dev.hutch.policy": policy},
       "linux": {"cgroup_parent": "/" + cg,
                 "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}}}
ctr = {"metadata": {"name": "c1", "attempt": 0}, "image": {"image": "docker.io/hutch/busybox:1"},
       "command": ["sleep", "1000"], "working_dir": "/tmp", "log_path": "c1.log",
       "linux": {"security_context": {"seccomp": {"profile_type": "RuntimeDefault"}}}}
bad = dict(ctr, metadata={"name": "bad", "attempt": 0}, log_path="bad.log",
           annotations={"dev.hutch.policy": '{"limits": {"memory": "1G"}}'})
for name, v in (("pod", pod), ("ctr", ctr), ("bad", bad)):
    json.dump(v, open("%s/%s.json" % (cd, name), "w"))
EOF

# ---- the pod: RunPodSandbox with the handler, the pause container under hutch -------------
cri runp "$CD/pod.json" hutch
is "$RC" 0 "RunPodSandbox with the runtime handler hutch" || diag "$ERR"$'\n'"$(tail -5 "$CD/containerd.log")"
POD=$OUT
cri inspectp "$POD"
like "$OUT" '"state":"SANDBOX_READY"' "  the pod is ready"
like "$OUT" '"runtimeHandler":"hutch"|"runtime_handler":"hutch"' "  with hutch's handler"
daemons() { # the pid files of the namespace daemons that were not there before
	local f
	for f in "$NETNS_DIR"/*/hutch-netd.pid; do
		[ -e "$f" ] && ! grep -qxF "$(basename "$(dirname "$f")")" <<<"$NETNS_BEFORE" && echo "$f"
	done
}
pf=$(daemons)
is "$(wc -l <<<"$pf")" 1 "  one network daemon serves the pod's namespace" || diag "$(ls -R "$NETNS_DIR" 2>&1)"
cp "$pf" "$T/pod-daemon.pid" 2>/dev/null

cri create "$POD" "$CD/ctr.json" "$CD/pod.json"
is "$RC" 0 "CreateContainer (busybox)" || diag "$ERR"
CID=$OUT
cri start "$CID"
is "$RC" 0 "StartContainer" || diag "$ERR"
is "$(daemons)" "$pf" "  the container joined the pod's daemon: still one"

cri exec "$CID" sh -c "
ip -o -4 addr show eth0 | grep -o '198.51.100.10' && echo has-eth0
http_proxy=http://127.0.0.1:3128 wget -q -O- http://localhost.:$SRV_PORT/ && echo via-proxy-ok
wget -q -Y off -O- http://localhost.:$SRV_PORT/ && echo transparent-ok
wget -q -Y off -O- http://denied.example:$SRV_PORT/ 2>&1; echo denied-rc=\$?
http_proxy=http://127.0.0.1:3128 wget -q -O- http://denied.example:$SRV_PORT/ 2>&1; echo denied-proxy-rc=\$?
wget -q -Y off -O- http://198.51.100.1:$SRV_PORT/ 2>&1; echo raw-rc=\$?
touch /root/x 2>&1 || echo landlock-ok
touch /tmp/x && echo tmp-writable
unshare -U true 2>&1 || echo seccomp-ok
echo capeff=\$(sed -n 's/^CapEff:\t//p' /proc/self/status)
/bin/true cri-exec-marker"
is "$RC" 0 "ExecSync: its exit status" || diag "$ERR"
like "$OUT" "has-eth0" "  the pod has a network of its own (eth0, from the CNI plugin)"
like "$OUT" "via-proxy-ok" "  an allowed name is reached through hutch's proxy"
like "$OUT" "transparent-ok" "  and transparently"
like "$OUT" "bad address 'denied.example:$SRV_PORT'" "  a name not allowed does not resolve"
like "$OUT" "403 Forbidden \(hutch: connection to denied.example:$SRV_PORT refused: not in allowlist\)" "  and is refused by the proxy"
like "$OUT" "raw-rc=1" "  a connection to the pod's own network goes nowhere"
like "$OUT" "landlock-ok" "  Landlock applies"
like "$OUT" "tmp-writable" "  /tmp is writable"
like "$OUT" "seccomp-ok" "  seccomp applies"
capeff=$(sed -n 's/^capeff=//p' <<<"$OUT")
ok "$(((0x${capeff:-3000} >> 12) & 3))" "  no CAP_NET_ADMIN or CAP_NET_RAW (CapEff $capeff)"
audit_has() {
	"$PY" -c 'import json,sys; print(any(sys.argv[2] in e.get("process.command_args", []) for e in map(json.loads, open(sys.argv[1], "rb")) if e.get("event") == "exec"))' "$T/cri-audit.jsonl" "$1" 2>&1
}
for _ in $(seq 100); do [ "$(audit_has cri-exec-marker)" = True ] && break; sleep 0.1; done
is "$(audit_has cri-exec-marker)" True "  the exec is in the audit file"
is "$(audit_has /pause)" True "  and so is the pause container's process"
like "$(grep -c '"event":"deny"' "$T/cri-audit.jsonl" 2>/dev/null)" "^[1-9]" "  and the proxy's refusals"

# ---- a policy hutch cannot enforce: StartContainer fails with hutch's message -------------
cri create "$POD" "$CD/bad.json" "$CD/pod.json"
is "$RC" 0 "CreateContainer with a bad policy annotation (only metadata)"
BAD=$OUT
cri start "$BAD"
is "$RC" 1 "  StartContainer fails"
like "$ERR" "hutch: policy key limits .* is not supported by hutch oci yet" "  with hutch's message in the CRI error"
cri rm "$BAD"

# ---- stop and remove: the daemon ends with the pod, nothing is left -----------------------
cri stop "$CID"
is "$RC" 0 "StopContainer"
cri rm "$CID"
is "$RC" 0 "RemoveContainer"
ok "$(awk '{print $1}' "$T/pod-daemon.pid" | xargs -r -I{} kill -0 {} 2>/dev/null && echo 0 || echo 1)" "  the pod's daemon still serves the pause container"
cri stopp "$POD"
is "$RC" 0 "StopPodSandbox"
cri rmp "$POD"
is "$RC" 0 "RemovePodSandbox"
read -r dpid _ <"$T/pod-daemon.pid"
for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
ok "$(kill -0 "$dpid" 2>/dev/null && echo 1 || echo 0)" "  the pod's daemon has ended"
is "$(ls "$NETNS_DIR" 2>/dev/null)" "$NETNS_BEFORE" "  its state is gone"
is "$(ls "$CD/state/io.containerd.grpc.v1.cri/netns" 2>/dev/null)" "" "  and the pod's network namespace"
cri pods
is "$OUT" "[]" "no pod left"
left=$(oci_procs "$OCI_LINK *")
is "$left" "" "no hutch-oci process (a daemon) left"
is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's links, addresses, routes and nft rules are as they were"

done_testing
