#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A/B: what `hutch oci create` + `delete --force` of a container with a writable bind of a
# git repository costs with two builds of hutch (docs/oci.md, "Persistence: the mounted
# workspace": after runc create, the protected paths of the bind are found with hutch run's
# search and bound read-only in the container's mount namespace). Driven as an engine drives
# runc (with --pid-file); the container is never started. With PODMAN=1, also `podman run
# --rm -v REPO:/work IMAGE true` with each build as the runtime. Interleaved rounds (A then
# B, each round), medians and the ratio B/A as Markdown lines for bench/RESULTS.md. As root.
# Not under chrt (RT=1 of bench/startup-interleaved.sh): runc cannot put a real-time process
# into a cgroup v1 cpu controller without an RT budget. Not part of make check or CI.
#
#   bench/oci-binds.sh HUTCH_A HUTCH_B   (ROUNDS=40; DIRS=200: directories in the repository;
#                                          PODMAN=1)
set -euo pipefail
a=$1 b=$2
rounds=${ROUNDS:-40}
dirs=${DIRS:-200}
podman=${PODMAN:-0}
[ "$(id -u)" = 0 ] || { echo "oci-binds.sh: run it as root" >&2; exit 1; }
bb=/bin/busybox
work=$(mktemp -d /var/tmp/hutch-bench-ocib.XXXXXX)
P=(podman --root "$work/root" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)
had_varlib=0 had_runc=0
[ -e /var/lib/containers ] && had_varlib=1
[ -e /run/runc ] && had_runc=1 # podman's runc keeps its state there
cleanup() {
	for v in A B; do runc --root "$work/r$v" delete --force "c$v" >/dev/null 2>&1 || true; done
	if [ "$podman" = 1 ]; then
		"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
		"${P[@]}" rmi -af >/dev/null 2>&1 || true
		awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
		[ "$had_varlib" = 1 ] || rm -rf /var/lib/containers
		[ "$had_runc" = 1 ] || rmdir /run/runc 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# the project: a git repository with a submodule's git directory and $dirs directories
git init -q "$work/proj"
mkdir -p "$work/proj/.git/modules/lib/objects" "$work/proj/.vscode"
echo "ref: refs/heads/main" >"$work/proj/.git/modules/lib/HEAD"
for i in $(seq "$dirs"); do mkdir -p "$work/proj/src/d$((i % 20))/e$i" && echo x >"$work/proj/src/d$((i % 20))/e$i/f.c"; done
mkdir -p "$work/b/rootfs/bin" "$work/b/rootfs/"{proc,dev,tmp,sys,etc,work}
cp "$bb" "$work/b/rootfs/bin/busybox"
ln -s busybox "$work/b/rootfs/bin/sh"
ln -s busybox "$work/b/rootfs/bin/true"
(cd "$work/b" && runc spec)
python3 - "$work/b/config.json" "$work/proj" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c['process']['terminal'] = False
c['process']['args'] = ['sh', '-c', 'true']
c['root']['readonly'] = False
c['mounts'].append({'destination': '/work', 'type': 'bind', 'source': sys.argv[2], 'options': ['rbind', 'rw', 'rprivate']})
json.dump(c, open(sys.argv[1], 'w'))
PYEOF
cp -a "$work/b" "$work/bA"
mv "$work/b" "$work/bB"
mkdir "$work/A" "$work/B" # the program is hutch-oci by its name
ln -s "$a" "$work/A/hutch-oci"
ln -s "$b" "$work/B/hutch-oci"
export XDG_STATE_HOME=$work/state

report() { # WHAT A.us B.us
	python3 - "$2" "$3" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)" "$dirs" "$1" <<'PYEOF'
import statistics, sys
A = [int(l) / 1000 for l in open(sys.argv[1])]
B = [int(l) / 1000 for l in open(sys.argv[2])]
q = lambda v: statistics.quantiles(v, n=4)
ma, mb = statistics.median(A), statistics.median(B)
print(f"- {sys.argv[6]}, a writable bind of a repository ({sys.argv[5]} directories), "
      f"{sys.argv[3]} interleaved rounds (load {sys.argv[4]}): A {ma:.1f} ms (IQR {q(A)[0]:.1f}-{q(A)[2]:.1f}), "
      f"B {mb:.1f} ms (IQR {q(B)[0]:.1f}-{q(B)[2]:.1f}), B/A {mb / ma:.2f}, B-A {mb - ma:+.1f} ms")
PYEOF
}

one() { # VARIANT: create + delete --force, in us
	local v=$1 t0 t1
	t0=$(date +%s%N)
	"$work/$v/hutch-oci" --root "$work/r$v" create --bundle "$work/b$v" --pid-file "$work/p$v" "c$v" </dev/null >/dev/null
	"$work/$v/hutch-oci" --root "$work/r$v" delete --force "c$v" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
for _ in 1 2 3; do one A >/dev/null; one B >/dev/null; done # warm-up
for _ in $(seq "$rounds"); do
	one A >>"$work/A.us"
	one B >>"$work/B.us"
done
report "create + delete --force" "$work/A.us" "$work/B.us"
[ "$podman" = 1 ] || exit 0

# podman run --rm -v REPO:/work IMAGE true, with each build as the runtime; its default
# rlimits (nofile 1048576) pinned at this shell's, as in tests/integration/oci-podman.t
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
tar -C "$work/bA/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
"${P[@]}" import --change 'CMD ["sh"]' "$work/rootfs.tar" localhost/hutch-bench/binds >/dev/null
prun() { # VARIANT, in us
	local t0 t1
	t0=$(date +%s%N)
	"${P[@]}" run --rm --pull never --network none --runtime "$work/$1/hutch-oci" \
		-v "$work/proj:/work" localhost/hutch-bench/binds true >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
for _ in 1 2 3; do prun A >/dev/null; prun B >/dev/null; done # warm-up
for _ in $(seq "$rounds"); do
	prun A >>"$work/pA.us"
	prun B >>"$work/pB.us"
done
report "podman run --rm -v REPO:/work IMAGE true" "$work/pA.us" "$work/pB.us"
