#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start-up of a container runtime against hutch and bubblewrap (not part of make check or CI):
# podman stands in for Docker (daemonless, same OCI containers; no Docker engine is
# installed on purpose: dockerd rewrites the host's networking and iptables). One hyperfine
# run, no shell in between (-N):
#   bare true | bwrap --unshare-all true | hutch run --net none -- true
#   | podman run --rm --network none localhost/mini true (as root)
#   | the same rootless, as ROOTLESS_USER through runuser (with `runuser true` as reference)
# localhost/mini is built offline when missing: a static busybox (Debian busybox-static) with
# /bin/true and /bin/sh linked to it, `podman import`ed (1.99 MB).
# Appends one entry under "## podman (a container runtime, as the Docker stand-in)" in
# bench/RESULTS.md (only that section is edited). Raw exports go to BUILD_DIR/bench/.
#
#   bench/podman.sh [BUILD_DIR]     (default: build; HUTCH=/path/to/hutch, PODMAN=/path/to/podman)
#   RUNS=40 ROOTLESS_USER=hutchtest PODMAN_OPTS='--runtime runc ...' NO_RECORD=1 bench/podman.sh
# Without PODMAN_OPTS the first of a few option sets that runs `true` is used (crun refuses a
# cgroup v1/v2 hybrid host; without CAP_SYS_RESOURCE podman's default rlimits cannot be set);
# the one used is printed and recorded. ROOTLESS_USER= (empty) skips the rootless row.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
build=$repo/${1:-build}
hutch=${HUTCH:-$build/src/cli/hutch}
runs=${RUNS:-40}
image=localhost/mini:latest
out=$build/bench
podman=${PODMAN:-$(type -P podman || true)}
if [ -z "$podman" ] || [ ! -x "$podman" ]; then
	echo "podman.sh: podman is missing (apt-get install podman), skipped" >&2
	exit 0
fi
for t in hyperfine bwrap python3; do
	command -v "$t" >/dev/null || { echo "podman.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$hutch" ] || { echo "podman.sh: no hutch binary at $hutch" >&2; exit 1; }
"$hutch" run --net none -- true || { echo "podman.sh: hutch run does not work here" >&2; exit 1; }
mkdir -p "$out"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The image, built offline for whoever runs podman ($1: empty for root, else a user name).
as() { if [ -n "$1" ]; then local u=$1; shift; runuser -u "$u" -- "$@"; else shift; "$@"; fi; }
ensure_image() {
	as "$1" "$podman" image exists "$image" && return 0
	if [ ! -s "$work/mini.tar" ]; then
		local bb
		bb=$(type -P busybox || true)
		[ -n "$bb" ] && file -L "$bb" | grep -q 'statically linked' ||
			{ echo "podman.sh: no static busybox to build $image (apt-get install busybox-static)" >&2; return 1; }
		mkdir -p "$work/root/bin"
		cp "$bb" "$work/root/bin/busybox"
		ln -s busybox "$work/root/bin/true"
		ln -s busybox "$work/root/bin/sh"
		tar -C "$work/root" -cf "$work/mini.tar" .
		chmod 755 "$work"
		chmod 644 "$work/mini.tar"
	fi
	as "$1" "$podman" import "$work/mini.tar" "$image" >/dev/null
}
ensure_image "" || exit 1

# Options that make `podman run ... true` work here, as root.
ulim="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=32768:32768"
if [ -n "${PODMAN_OPTS+x}" ]; then
	cands=("$PODMAN_OPTS")
else
	cands=("" "--ulimit host" "--runtime runc" "--runtime runc --ulimit host" "--runtime runc $ulim" "$ulim")
fi
# --runtime comes before `run` (a global option); the rest after it.
split_opts() {
	pglob=$(grep -o -- '--runtime [^ ]*' <<<"$1" || true)
	prun=$(sed 's/--runtime [^ ]*//; s/^ *//; s/ *$//' <<<"$1")
	podman_cmd="$podman${pglob:+ $pglob} run --rm --network none${prun:+ $prun} $image true"
}
popts=
ok=0
for o in "${cands[@]}"; do
	split_opts "$o"
	if $podman_cmd 2>"$work/err"; then popts=$o; ok=1; break; fi
	echo "podman.sh: '$podman_cmd': $(tail -1 "$work/err")" >&2
done
[ "$ok" = 1 ] || { echo "podman.sh: podman run does not work here as root (see above)" >&2; exit 1; }
echo "podman.sh: root: $podman_cmd" >&2
oci=$("$podman" info --format '{{.Host.OCIRuntime.Name}}')
[ -n "$pglob" ] && oci=${pglob#--runtime }
oci_v=$("$(type -P "$oci")" --version 2>/dev/null | head -1 || true)

# Rootless, if it works for ROOTLESS_USER (needs /etc/subuid and /etc/subgid entries).
ruser=${ROOTLESS_USER-hutchtest}
rootless_cmd=
rootless_why=
runuser_cmd=
if [ -n "$ruser" ] && [ "$(id -u)" = 0 ] && id "$ruser" >/dev/null 2>&1; then
	rcmd="runuser -u $ruser -- $podman${pglob:+ $pglob} run --rm --network none $image true"
	if ! ensure_image "$ruser" 2>"$work/err"; then
		rootless_why="import as $ruser failed: $(tail -1 "$work/err")"
	elif ! (cd / && $rcmd) 2>"$work/err"; then
		rootless_why="$(tail -1 "$work/err")"
	else
		rootless_cmd=$rcmd
		runuser_cmd="runuser -u $ruser -- $(type -P true)"
	fi
elif [ -n "$ruser" ]; then
	rootless_why="not run as root, or no user $ruser"
fi
[ -n "$rootless_why" ] && echo "podman.sh: rootless skipped: $rootless_why" >&2

true_cmd=$(type -P true)
bwrap_cmd="bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent $true_cmd"
args=(-N --warmup 5 --runs "$runs" --export-json "$out/podman.json"
	-n true "$true_cmd" -n bwrap "$bwrap_cmd" -n hutch "$hutch run --net none -- $true_cmd"
	-n podman "$podman_cmd")
[ -n "$rootless_cmd" ] && args+=(-n runuser "$runuser_cmd" -n "podman rootless" "$rootless_cmd")
load=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine "${args[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cmdline="hyperfine ${args[*]//$repo\//}"

# Nothing left behind: no container, and the rootless user's pause process (it holds the
# user namespace) stopped.
"$podman" ps -a -q | grep -q . && echo "podman.sh: containers left (podman ps -a)" >&2
if [ -n "$rootless_cmd" ]; then
	rr=$(runuser -u "$ruser" -- "$podman" info --format '{{.Store.RunRoot}}' 2>/dev/null || true)
	pf=${rr%/containers}/libpod/tmp/pause.pid
	[ -s "$pf" ] && kill "$(cat "$pf")" 2>/dev/null || true
fi

[ "${NO_RECORD:-0}" = 1 ] && exit 0
python3 - "$out/podman.json" "$repo/bench/RESULTS.md" "$cmdline" "$(nproc)" "$(uname -r)" \
	"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$repo" rev-parse --short HEAD)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$load" "$load_after" \
	"$("$podman" --version)" "$oci ${oci_v##* }" "$(bwrap --version)" "$popts" "$rootless_why" \
	"$("$podman" info --format '{{.Store.GraphDriverName}}')" \
	"$( [ -n "$rootless_cmd" ] && runuser -u "$ruser" -- "$podman" info --format '{{.Store.GraphDriverName}}' 2>/dev/null)" \
	"$ruser" <<'PY'
import json, os, sys
(jpath, rpath, cmdline, nproc, kernel, date, commit, cpu, load, load_after, podv, oci, bwrapv,
 popts, why, drv, rdrv, ruser) = sys.argv[1:19]
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
names = [k for k in ("true", "bwrap", "hutch", "podman", "runuser", "podman rootless") if k in res]
med = {k: res[k]["median"] * 1000 for k in names}
mad = {k: (sorted(abs(t - res[k]["median"]) for t in res[k]["times"])[len(res[k]["times"]) // 2])
       * 1000 for k in names}
label = {"true": "bare `true`", "bwrap": "bwrap --unshare-all", "hutch": "hutch run --net none",
         "podman": f"podman run --rm --network none (root, {drv})",
         "runuser": f"`runuser -u {ruser} -- true` (reference for the next row)",
         "podman rootless": f"podman run, rootless as {ruser} through runuser ({rdrv})"}
entry = [f"### {date} (commit {commit})", "",
         f"Machine: {nproc} CPUs ({cpu}), kernel {kernel}. {podv} with OCI runtime {oci}"
         f"{' (podman options: `' + popts + '`)' if popts else ''}, {bwrapv}. "
         f"Docker itself not measured (no engine installed here on purpose).", "",
         f"Start-up of `true`, one hyperfine run ({len(res['true']['times'])} runs each); "
         f"load average {load} before, {load_after} after:", "",
         "| command | median | MAD | vs true | vs bwrap | vs hutch |",
         "|---|---:|---:|---:|---:|---:|"]
for k in names:
    entry.append(f"| {label[k]} | {med[k]:.2f} ms | {mad[k]:.2f} ms | {med[k] / med['true']:.1f}x "
                 f"| {med[k] / med['bwrap']:.2f}x | {med[k] / med['hutch']:.2f}x |")
line = (f"podman/hutch = {med['podman'] / med['hutch']:.1f}x, "
        f"podman/bwrap = {med['podman'] / med['bwrap']:.1f}x (root)")
if "podman rootless" in med:
    line += (f"; rootless podman/hutch = {med['podman rootless'] / med['hutch']:.1f}x "
             f"({(med['podman rootless'] - med['runuser']) / med['hutch']:.1f}x without runuser's "
             f"{med['runuser']:.1f} ms)")
entry += ["", line + "."]
if why:
    entry += ["", f"Rootless not measured: {why}"]
entry += ["", "```", cmdline, "```", ""]
sys.path.insert(0, os.path.dirname(rpath))
from results import append_entry
append_entry(rpath, 'podman (a container runtime, as the Docker stand-in)', entry)
PY
