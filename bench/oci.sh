#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What hutch oci costs over runc (docs/oci.md), as root, in one hyperfine run each (-N):
#   1. the runtime alone: `runc run` and `hutch-oci run` of one busybox bundle running `true`
#      (hutch-oci: config.json rewritten, the layers file written, the init's Landlock and
#      seccomp, one more execve);
#   2. podman: `podman run --rm --network none IMAGE true` with --runtime runc and with
#      --runtime hutch-oci (podman's storage, run and tmp directories private to this run).
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
cleanup() {
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
# each must work before it is timed
eval "$runc_cmd" && eval "$hutch_cmd" && eval "$pod_runc" && eval "$pod_hutch"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
hyperfine -N -w 3 -r "$runs" --export-json "$out/oci-runtime-$stamp.json" \
	-n "runc run" "$runc_cmd" -n "hutch-oci run" "$hutch_cmd"
hyperfine -N -w 3 -r "$runs" --export-json "$out/oci-podman-$stamp.json" \
	-n "podman run --rm (runc)" "$pod_runc" -n "podman run --rm (hutch-oci)" "$pod_hutch"

python3 - "$out/oci-runtime-$stamp.json" "$out/oci-podman-$stamp.json" <<'EOF'
import json, statistics, sys
for path in sys.argv[1:]:
    res = json.load(open(path))["results"]
    base = statistics.median(res[0]["times"])
    for r in res:
        m = statistics.median(r["times"])
        print(f"| {r['command']} | {m * 1000:.1f} ms | ± {r['stddev'] * 1000:.1f} ms | {m / base:.2f}x |")
EOF

# The same pairs in interleaved rounds: one of each in turn, so that the other work of a
# shared machine weighs on both alike.
echo "interleaved, $rounds rounds (median, minimum, ratio of medians):"
python3 - "$rounds" "$runc_cmd" "$hutch_cmd" "$pod_runc" "$pod_hutch" <<'EOF'
import shlex, statistics, subprocess, sys, time
rounds = int(sys.argv[1])
names = ["runc run", "hutch-oci run", "podman run --rm (runc)", "podman run --rm (hutch-oci)"]
cmds = [shlex.split(c) for c in sys.argv[2:]]
times = [[] for _ in cmds]
for _ in range(rounds):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - t)
for i in range(0, len(cmds), 2):
    b = statistics.median(times[i])
    for j in (i, i + 1):
        m = statistics.median(times[j])
        print(f"| {names[j]} (interleaved) | {m * 1000:.1f} ms | min {min(times[j]) * 1000:.1f} ms | {m / b:.2f}x |")
EOF
