#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A/B: what `hutch oci create` + `delete --force` of a container with a network allowlist
# and an audit file costs with two builds of hutch (the container's daemon: its set-up, its
# privilege drop and seccomp filter, start and end in the log), driven as an engine drives
# runc. Interleaved rounds (A then B, each round), medians and the ratio B/A as Markdown
# lines for bench/RESULTS.md. As root. Not under chrt (RT=1 of bench/startup-interleaved.sh):
# runc cannot put a real-time process into a cgroup v1 cpu controller without an RT budget.
# Not part of make check or CI.
#
#   bench/oci-daemon.sh HUTCH_A HUTCH_B   (ROUNDS=40)
set -euo pipefail
a=$1 b=$2
rounds=${ROUNDS:-40}
[ "$(id -u)" = 0 ] || { echo "oci-daemon.sh: run it as root" >&2; exit 1; }
bb=/bin/busybox
work=$(mktemp -d /var/tmp/hutch-bench-ocid.XXXXXX)
cleanup() {
	for v in A B; do runc --root "$work/r$v" delete --force "c$v" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/b/rootfs/bin" "$work/b/rootfs/"{proc,dev,tmp,sys,etc,work}
cp "$bb" "$work/b/rootfs/bin/busybox"
ln -s busybox "$work/b/rootfs/bin/sh"
(cd "$work/b" && runc spec)
python3 - "$work/b/config.json" "$work/audit.jsonl" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c['process']['terminal'] = False
c['process']['args'] = ['sh', '-c', 'true']
c['root']['readonly'] = False
c['annotations'] = {'dev.hutch.policy': json.dumps({'network': {'allow': ['example.com']}, 'audit': {'file': sys.argv[2]}})}
json.dump(c, open(sys.argv[1], 'w'))
EOF
cp -a "$work/b" "$work/bA"
mv "$work/b" "$work/bB"
mkdir "$work/A" "$work/B" # the program is hutch-oci by its name
ln -s "$a" "$work/A/hutch-oci"
ln -s "$b" "$work/B/hutch-oci"

one() { # VARIANT: create + delete --force, in ns
	local v=$1 t0 t1
	t0=$(date +%s%N)
	"$work/$v/hutch-oci" --root "$work/r$v" create --bundle "$work/b$v" "c$v" </dev/null >/dev/null
	"$work/$v/hutch-oci" --root "$work/r$v" delete --force "c$v" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
for _ in 1 2 3; do one A >/dev/null; one B >/dev/null; done # warm-up
for _ in $(seq "$rounds"); do
	one A >>"$work/A.us"
	one B >>"$work/B.us"
done
python3 - "$work/A.us" "$work/B.us" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import statistics, sys
A = [int(l) / 1000 for l in open(sys.argv[1])]
B = [int(l) / 1000 for l in open(sys.argv[2])]
q = lambda v: statistics.quantiles(v, n=4)
ma, mb = statistics.median(A), statistics.median(B)
print(f"- create + delete --force, allowlist + audit file, {sys.argv[3]} interleaved rounds "
      f"(load {sys.argv[4]}): A {ma:.1f} ms (IQR {q(A)[0]:.1f}-{q(A)[2]:.1f}), "
      f"B {mb:.1f} ms (IQR {q(B)[0]:.1f}-{q(B)[2]:.1f}), B/A {mb / ma:.2f}")
EOF
