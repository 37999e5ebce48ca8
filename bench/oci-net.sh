#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the container's daemon of hutch oci costs (docs/oci.md, "Network allowlist", "Audit of
# execs"), as root: `podman run --rm --network none IMAGE true` with --runtime hutch-oci and
#   1. the default policy (no daemon);
#   2. a network allowlist (the daemon: its start, the namespace's set-up, its end);
#   3. an audit file (the daemon, and the init's hand-over of its exec listener);
# in interleaved rounds (one of each in turn), with runc alone as the baseline. Prints the
# medians and ratios as Markdown lines for bench/RESULTS.md. Not part of make check or CI.
#
#   bench/oci-net.sh [BUILD_DIR]   (default: build; ROUNDS=30, HUTCH=/path/to/hutch)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
rounds=${ROUNDS:-30}
for t in runc podman python3; do
	command -v "$t" >/dev/null || { echo "oci-net.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "oci-net.sh: run it as root" >&2; exit 1; }
bb=/bin/busybox
ldd "$bb" >/dev/null 2>&1 && { echo "oci-net.sh: $bb is not static (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/hutch-bench-ocinet.XXXXXX)
P=(podman --root "$work/root" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)
had_varlib=0 had_runc=0
[ -e /var/lib/containers ] && had_varlib=1
[ -e /run/runc ] && had_runc=1
cleanup() {
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
	"${P[@]}" rmi -af >/dev/null 2>&1 || true
	awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
	for d in /sys/fs/cgroup/*/oci-bench-net /sys/fs/cgroup/oci-bench-net; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ "$had_varlib" = 1 ] || rm -rf /var/lib/containers
	[ "$had_runc" = 1 ] || rmdir /run/runc 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp" \
	"$work/rootfs/sys" "$work/rootfs/etc"
cp "$bb" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
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
pod=("${P[@]}" run --rm --pull never --network none --cgroup-parent /oci-bench-net)
img=localhost/hutch-bench/true:1
allow='"dev.hutch.policy={""network"": {""allow"": [""example.com""]}}"'
audit="\"dev.hutch.policy={\"\"audit\"\": {\"\"file\"\": \"\"$work/audit.jsonl\"\"}}\""
cmds=(
	"$(q "${pod[@]}" --runtime /usr/sbin/runc "$img" true)"
	"$(q "${pod[@]}" --runtime "$work/hutch-oci" "$img" true)"
	"$(q "${pod[@]}" --runtime "$work/hutch-oci" --annotation "$allow" "$img" true)"
	"$(q "${pod[@]}" --runtime "$work/hutch-oci" --annotation "$audit" "$img" true)"
)
for c in "${cmds[@]}"; do eval "$c"; done # each must work before it is timed
grep -q '"event":"exec"' "$work/audit.jsonl"

echo "podman run --rm --network none IMAGE true, interleaved, $rounds rounds (median, minimum, ratio to runc):"
python3 - "$rounds" "${cmds[@]}" <<'EOF'
import shlex, statistics, subprocess, sys, time
rounds = int(sys.argv[1])
names = ["runc", "hutch-oci, default policy", "hutch-oci, network allowlist (daemon)",
         "hutch-oci, audit file (daemon, exec listener)"]
cmds = [shlex.split(c) for c in sys.argv[2:]]
times = [[] for _ in cmds]
for _ in range(rounds):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - t)
b = statistics.median(times[0])
for j, n in enumerate(names):
    m = statistics.median(times[j])
    print(f"| {n} | {m * 1000:.1f} ms | min {min(times[j]) * 1000:.1f} ms | {m / b:.2f}x |")
EOF
