#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What hutch oci costs over runc under rootless Docker (docs/oci.md, "Rootless Docker"):
# `docker run --rm --network none IMAGE true` with the runtime runc and with hutch-oci
# (daemon.json, hutch's default policy), against a private rootless dockerd started by
# Debian's dockerd-rootless.sh as an unprivileged user, in interleaved rounds (each row once
# in turn, so that the other work of a shared machine weighs on both alike). Prints the
# medians, minimums and the ratio as Markdown lines for bench/RESULTS.md. Not part of make
# check or CI.
#
#   bench/oci-rootless.sh [BUILD_DIR]   (default: build; ROUNDS=40, HUTCH=/path/to/hutch)
#
# Run as root: it runs itself as BENCH_USER (default hutchtest, who needs subordinate ids
# in /etc/subuid and /etc/subgid, and to read the build). RT=1 starts the daemon and the
# rounds at real-time priority (chrt -f 20; the daemon's processes, containerd, the shims
# and the runtimes inherit it), as bench/startup-interleaved.sh does for hutch run.
# rootlesskit's network: slirp4netns where the user may open /dev/net/tun, else the host's
# (with --bridge=none: Docker changes nothing there); the containers have --network none.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
build=$repo/${1:-build}
rounds=${ROUNDS:-40}
user=${BENCH_USER:-hutchtest}

if [ "$(id -u)" = 0 ]; then
	hutch=${HUTCH:-$build/src/cli/hutch}
	for t in rootlesskit /usr/sbin/dockerd /usr/bin/docker /usr/share/docker.io/contrib/dockerd-rootless.sh python3; do
		command -v "$t" >/dev/null || { echo "oci-rootless.sh: $t is missing (apt-get install docker.io rootlesskit)" >&2; exit 1; }
	done
	grep -q "^$user:" /etc/subuid || { echo "oci-rootless.sh: $user has no subordinate ids (/etc/subuid)" >&2; exit 1; }
	# a copy of hutch and its init that the user can read and run
	stage=$(mktemp -d /var/tmp/hutch-bench-oci-rootless.XXXXXX)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/build/src/cli" "$stage/build/src/oci"
	cp "$hutch" "$stage/build/src/cli/hutch"
	cp "$(dirname "$(dirname "$hutch")")/oci/hutch-oci-init" "$stage/build/src/oci/"
	cp "$0" "$stage/oci-rootless.sh"
	chmod -R a+rX "$stage"
	chmod 755 "$stage"
	mkdir "$stage/home" && chown "$user:" "$stage/home"
	rt=()
	[ "${RT:-0}" = 1 ] && rt=(chrt -f 20)
	"${rt[@]}" setpriv --reuid="$user" --regid="$user" --init-groups -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$stage/home" ROUNDS="$rounds" \
		HUTCH="$stage/build/src/cli/hutch" bash "$stage/oci-rootless.sh"
	exit
fi

work=$(mktemp -d "$HOME/work.XXXXXX")
export XDG_RUNTIME_DIR=$work/xdg HOME=$work/home DOCKER_CONFIG=$work/cli
mkdir -m 700 "$XDG_RUNTIME_DIR" && mkdir "$HOME"
export DOCKER_HOST=unix://$work/docker.sock
net=host bridge=(--bridge=none)
if { : <>/dev/net/tun; } 2>/dev/null; then net=slirp4netns bridge=(); fi
export DOCKERD_ROOTLESS_ROOTLESSKIT_NET=$net DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--state-dir=$work/rk"
[ "$net" = host ] && export DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none
ln -s "$HUTCH" "$work/hutch-oci"
printf '{ "runtimes": { "hutch": { "path": "%s" } } }\n' "$work/hutch-oci" >"$work/daemon.json"
cleanup() {
	local pid i p
	/usr/bin/docker ps -aq 2>/dev/null | xargs -r /usr/bin/docker rm -f >/dev/null 2>&1 || true
	pid=$(cat "$work/dockerd.pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		kill -0 "$rk" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$rk" 2>/dev/null || true
	for p in /proc/[0-9]*; do
		[[ "$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" == *"$work/"* ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	rootlesskit --net=host --port-driver=none --state-dir="$work/rk-rm" rm -rf "$work/root" "$work/exec" >/dev/null 2>&1 || true
	rm -rf "$work"
}
rk=
trap cleanup EXIT
setsid /usr/share/docker.io/contrib/dockerd-rootless.sh --config-file "$work/daemon.json" \
	--data-root "$work/root" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" \
	--iptables=false --ip6tables=false "${bridge[@]}" --ip-forward=false >"$work/dockerd.log" 2>&1 </dev/null &
rk=$!
for ((i = 0; i < 300; i++)); do
	/usr/bin/docker info >/dev/null 2>&1 && break
	sleep 0.1
done
/usr/bin/docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; exit 1; }

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
/usr/bin/docker import "$work/rootfs.tar" hutch-bench/true:1 >/dev/null
for r in runc hutch; do
	/usr/bin/docker run --rm --network none --runtime "$r" hutch-bench/true:1 true ||
		{ echo "oci-rootless.sh: docker run --runtime $r failed" >&2; exit 1; }
done

echo "rootless dockerd (rootlesskit --net=$net), interleaved, $rounds rounds after 3 warm-up rounds:"
python3 - "$rounds" <<'PY'
import statistics, subprocess, sys, time
rounds = int(sys.argv[1])
rows = [(f"docker run --rm (rootless, {r})", ["/usr/bin/docker", "run", "--rm", "--network", "none",
         "--runtime", r, "hutch-bench/true:1", "true"]) for r in ("runc", "hutch")]
times = [[] for _ in rows]
for k in range(rounds + 3):
    for i, (_, c) in enumerate(rows):
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
        if k >= 3:
            times[i].append(time.perf_counter() - t)
b = statistics.median(times[0])
for i, (name, _) in enumerate(rows):
    m = statistics.median(times[i])
    q = statistics.quantiles(times[i], n=4)
    print(f"| {name} | {m * 1000:.1f} ms | min {min(times[i]) * 1000:.1f} ms, "
          f"IQR {q[0] * 1000:.1f}-{q[2] * 1000:.1f} ms | {m / b:.2f}x |")
PY
