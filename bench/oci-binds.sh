#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A/B: what `hutch oci create` + `delete --force` of a container with a writable bind of a
# git repository costs with two builds of hutch (docs/oci.md, "Persistence: the mounted
# workspace": after runc create, the protected paths of the bind are found with hutch run's
# search and bound read-only in the container's mount namespace). Driven as an engine drives
# runc; the container is never started. Interleaved rounds (A then B, each round), medians
# and the ratio B/A as Markdown lines for bench/RESULTS.md. As root. Not under chrt (RT=1 of
# bench/startup-interleaved.sh): runc cannot put a real-time process into a cgroup v1 cpu
# controller without an RT budget. Not part of make check or CI.
#
#   bench/oci-binds.sh HUTCH_A HUTCH_B   (ROUNDS=40; DIRS=200: directories in the repository)
set -euo pipefail
a=$1 b=$2
rounds=${ROUNDS:-40}
dirs=${DIRS:-200}
[ "$(id -u)" = 0 ] || { echo "oci-binds.sh: run it as root" >&2; exit 1; }
bb=/bin/busybox
work=$(mktemp -d /var/tmp/hutch-bench-ocib.XXXXXX)
cleanup() {
	for v in A B; do runc --root "$work/r$v" delete --force "c$v" >/dev/null 2>&1 || true; done
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
(cd "$work/b" && runc spec)
python3 - "$work/b/config.json" "$work/proj" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c['process']['terminal'] = False
c['process']['args'] = ['sh', '-c', 'true']
c['root']['readonly'] = False
c['mounts'].append({'destination': '/work', 'type': 'bind', 'source': sys.argv[2], 'options': ['rbind', 'rw', 'rprivate']})
json.dump(c, open(sys.argv[1], 'w'))
EOF
cp -a "$work/b" "$work/bA"
mv "$work/b" "$work/bB"
mkdir "$work/A" "$work/B" # the program is hutch-oci by its name
ln -s "$a" "$work/A/hutch-oci"
ln -s "$b" "$work/B/hutch-oci"
export XDG_STATE_HOME=$work/state

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
python3 - "$work/A.us" "$work/B.us" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)" "$dirs" <<'EOF'
import statistics, sys
A = [int(l) / 1000 for l in open(sys.argv[1])]
B = [int(l) / 1000 for l in open(sys.argv[2])]
q = lambda v: statistics.quantiles(v, n=4)
ma, mb = statistics.median(A), statistics.median(B)
print(f"- create + delete --force, a writable bind of a repository ({sys.argv[5]} directories), "
      f"{sys.argv[3]} interleaved rounds (load {sys.argv[4]}): A {ma:.1f} ms (IQR {q(A)[0]:.1f}-{q(A)[2]:.1f}), "
      f"B {mb:.1f} ms (IQR {q(B)[0]:.1f}-{q(B)[2]:.1f}), B/A {mb / ma:.2f}, B-A {mb - ma:+.1f} ms")
EOF
