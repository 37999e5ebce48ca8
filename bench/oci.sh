#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What hutch oci costs over runc (docs/oci.md), as root, in one hyperfine run each (-N):
#   1. the runtime alone: `runc run` and `hutch-oci run` of one busybox bundle running `true`
#      (hutch-oci: config.json rewritten, the layers file written, the init's Landlock and
#      seccomp, one more execve);
#   2. podman: `podman run --rm --network none IMAGE true` with --runtime runc and with
#      --runtime hutch-oci (podman's storage, run and tmp directories private to this run);
#   3. Docker: `docker run --rm --network none IMAGE true` with the runtimes runc and hutch
#      (daemon.json) against a private dockerd (no bridge, no iptables);
#   4. containerd: `ctr run --rm --runc-binary X IMAGE ID true` against a private containerd.
# gVisor (`runsc --platform=ptrace --network=none`, where installed) is in the same hyperfine
# run of each engine, for context. An engine that is not installed is left out, and said so.
# Prints the medians and ratios, as Markdown lines for bench/RESULTS.md; raw exports go to
# BUILD_DIR/bench/. Not part of make check or CI.
#
#   bench/oci.sh [BUILD_DIR]   (default: build; RUNS=30 ROUNDS=40, HUTCH=/path/to/hutch)
# Then the same pairs in interleaved rounds (ROUNDS).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
runs=${RUNS:-30}
rounds=${ROUNDS:-40}
out=$build/bench
for t in hyperfine runc podman python3; do
	command -v "$t" >/dev/null || { echo "oci.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "oci.sh: run it as root (the engines' rootless modes are not set up)" >&2; exit 1; }
bb=/bin/busybox
ldd "$bb" >/dev/null 2>&1 && { echo "oci.sh: $bb is not static (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$out"

work=$(mktemp -d /var/tmp/hutch-bench-oci.XXXXXX)
P=(podman --root "$work/root" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)
had_varlib=0 had_runc=0
[ -e /var/lib/containers ] && had_varlib=1
[ -e /run/runc ] && had_runc=1 # podman's runc keeps its state there
had_key=0 had_rundocker=0 had_runcontainerd=0
[ -e /etc/docker/key.json ] && had_key=1
[ -e /run/docker ] && had_rundocker=1
[ -e /run/containerd ] && had_runcontainerd=1
stop_daemon() { # PIDFILE
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
	if [ -S "$work/docker.sock" ]; then
		/usr/bin/docker -H "unix://$work/docker.sock" ps -aq 2>/dev/null |
			xargs -r /usr/bin/docker -H "unix://$work/docker.sock" rm -f >/dev/null 2>&1 || true
	fi
	stop_daemon "$work/dockerd.pid"
	stop_daemon "$work/containerd.pid"
	[ "$had_key" = 1 ] || rm -f /etc/docker/key.json
	[ "$had_rundocker" = 1 ] || rm -rf /run/docker
	[ "$had_runcontainerd" = 1 ] || rm -rf /run/containerd
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
	"${P[@]}" rmi -af >/dev/null 2>&1 || true
	awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
	for d in /sys/fs/cgroup/*/oci-bench; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_varlib" = 1 ] || rm -rf /var/lib/containers
	[ "$had_runc" = 1 ] || rmdir /run/runc 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The image and the bundle: busybox with /bin/true and /bin/sh.
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" \
	"$work/bundle/rootfs/tmp" "$work/bundle/rootfs/sys"
cp "$bb" "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/true"
ln -s busybox "$work/bundle/rootfs/bin/sh"
(cd "$work/bundle" && runc spec)
python3 - "$work/bundle/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(sys.argv[1], "w"))
EOF
tar -C "$work/bundle/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
ln -s "$hutch" "$work/hutch-oci"
runsc=$(command -v runsc || true)
if [ -n "$runsc" ]; then
	printf '#!/bin/sh\nexec %q --platform=ptrace --network=none "$@"\n' "$runsc" >"$work/runsc-ptrace"
	chmod 755 "$work/runsc-ptrace"
else
	echo "oci.sh: no runsc (apt-get install runsc): gVisor left out" >&2
fi
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_config_dir = "$work/net.d"
EOF
export CONTAINERS_CONF=$work/containers.conf
"${P[@]}" import "$work/rootfs.tar" localhost/hutch-bench/true:1 >/dev/null

q() { printf '%q ' "$@"; }
rt=(--root "$work/state")
runc_cmd="$(q runc "${rt[@]}" run --bundle "$work/bundle" bench-runc)"
hutch_cmd="$(q "$work/hutch-oci" "${rt[@]}" run --bundle "$work/bundle" bench-hutch)"
pod=("${P[@]}" run --rm --pull never --network none --cgroup-parent /oci-bench)
pod_runc="$(q "${pod[@]}" --runtime /usr/sbin/runc localhost/hutch-bench/true:1 true)"
pod_hutch="$(q "${pod[@]}" --runtime "$work/hutch-oci" localhost/hutch-bench/true:1 true)"
# Groups of rows, one hyperfine run each: "name|command" lines, the baseline (runc) first.
groups=()
group() { # NAME ROW...
	local g=$1
	shift
	groups+=("$g")
	printf '%s\n' "$@" >"$work/group-$g"
}
group runtime "runc run|$runc_cmd" "hutch-oci run|$hutch_cmd"
rows=("podman run --rm (runc)|$pod_runc" "podman run --rm (hutch-oci)|$pod_hutch")
if [ -n "$runsc" ]; then
	rows+=("podman run --rm (runsc ptrace)|$(q "${pod[@]}" --runtime "$runsc" \
		--runtime-flag platform=ptrace --runtime-flag network=none localhost/hutch-bench/true:1 true)")
fi
group podman "${rows[@]}"

if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && command -v containerd >/dev/null; then
	{
		printf '{ "runtimes": { "hutch": { "path": "%s" }' "$work/hutch-oci"
		[ -z "$runsc" ] || printf ', "runsc-ptrace": { "path": "%s" }' "$work/runsc-ptrace"
		printf ' } }\n'
	} >"$work/daemon.json"
	setsid /usr/sbin/dockerd --config-file "$work/daemon.json" --data-root "$work/docker-root" \
		--exec-root "$work/docker-exec" --pidfile "$work/dockerd.pid" -H "unix://$work/docker.sock" \
		--iptables=false --ip6tables=false --bridge=none --ip-forward=false \
		--cgroup-parent /oci-bench >"$work/dockerd.log" 2>&1 </dev/null &
	D=(/usr/bin/docker -H "unix://$work/docker.sock")
	for ((i = 0; i < 300; i++)); do
		"${D[@]}" info >/dev/null 2>&1 && break
		sleep 0.1
	done
	"${D[@]}" import "$work/rootfs.tar" hutch-bench/true:1 >/dev/null
	drun=("${D[@]}" run --rm --network none)
	rows=("docker run --rm (runc)|$(q "${drun[@]}" --runtime runc hutch-bench/true:1 true)"
		"docker run --rm (hutch-oci)|$(q "${drun[@]}" --runtime hutch hutch-bench/true:1 true)")
	if [ -n "$runsc" ]; then
		rows+=("docker run --rm (runsc ptrace)|$(q "${drun[@]}" --runtime runsc-ptrace hutch-bench/true:1 true)")
	fi
	group docker "${rows[@]}"
	"${D[@]}" save hutch-bench/true:1 >"$work/image.tar"
else
	echo "oci.sh: no dockerd, docker or containerd (apt-get install docker.io): Docker left out" >&2
fi

if command -v containerd >/dev/null && command -v ctr >/dev/null && [ -f "$work/image.tar" ]; then
	cat >"$work/containerd.toml" <<TOML
version = 2
root = "$work/ctrd-root"
state = "$work/ctrd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/ctrd.sock"
[ttrpc]
  address = "$work/ctrd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/ctrd-root/opt"
TOML
	setsid containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 </dev/null &
	echo $! >"$work/containerd.pid"
	C=(ctr -a "$work/ctrd.sock" -n oci-bench)
	for ((i = 0; i < 300; i++)); do
		"${C[@]}" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	"${C[@]}" images import "$work/image.tar" >/dev/null
	img=docker.io/hutch-bench/true:1
	cr() { q "${C[@]}" run --rm --runc-binary "$1" "$img" "$2" true; }
	rows=("ctr run --rm (runc)|$(cr /usr/sbin/runc bench-c1)"
		"ctr run --rm (hutch-oci)|$(cr "$work/hutch-oci" bench-c2)")
	[ -z "$runsc" ] || rows+=("ctr run --rm (runsc ptrace)|$(cr "$work/runsc-ptrace" bench-c3)")
	group ctr "${rows[@]}"
else
	echo "oci.sh: no containerd, ctr or image (apt-get install containerd docker.io): containerd left out" >&2
fi

# each must work before it is timed
for g in "${groups[@]}"; do
	while IFS='|' read -r name cmd; do
		eval "$cmd" >/dev/null || { echo "oci.sh: '$name' failed: $cmd" >&2; exit 1; }
	done <"$work/group-$g"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
exports=()
for g in "${groups[@]}"; do
	args=()
	while IFS='|' read -r name cmd; do
		args+=(-n "$name" "$cmd")
	done <"$work/group-$g"
	hyperfine -N -w 3 -r "$runs" --export-json "$out/oci-$g-$stamp.json" "${args[@]}"
	exports+=("$out/oci-$g-$stamp.json")
done

python3 - "${exports[@]}" <<'PY'
import json, statistics, sys
for path in sys.argv[1:]:
    res = json.load(open(path))["results"]
    base = statistics.median(res[0]["times"])
    for r in res:
        m = statistics.median(r["times"])
        print(f"| {r['command']} | {m * 1000:.1f} ms | ± {r['stddev'] * 1000:.1f} ms | {m / base:.2f}x |")
PY

# The same groups in interleaved rounds: each row once in turn, so that the other work of a
# shared machine weighs on all alike.
echo "interleaved, $rounds rounds (median, minimum, ratio of medians to the group's first row):"
files=()
for g in "${groups[@]}"; do files+=("$work/group-$g"); done
python3 - "$rounds" "${files[@]}" <<'PY'
import shlex, statistics, subprocess, sys, time
rounds = int(sys.argv[1])
groups = [[l.rstrip("\n").split("|", 1) for l in open(p) if l.strip()] for p in sys.argv[2:]]
rows = [(g, name, shlex.split(cmd)) for g, grp in enumerate(groups) for name, cmd in grp]
times = [[] for _ in rows]
for _ in range(rounds):
    for i, (_, _, c) in enumerate(rows):
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - t)
for g in range(len(groups)):
    idx = [i for i, r in enumerate(rows) if r[0] == g]
    b = statistics.median(times[idx[0]])
    for i in idx:
        m = statistics.median(times[i])
        print(f"| {rows[i][1]} (interleaved) | {m * 1000:.1f} ms | min {min(times[i]) * 1000:.1f} ms | {m / b:.2f}x |")
PY
