# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034
#
# tests/lib-oci.sh: what the tests of `hutch oci` share (oci-runc.t, oci-podman.t).
# Sourced after tests/lib.sh.
#
#   oci_require PROGRAM...   skip_all, with the reason, unless each program is installed and
#                            this is root, or OCI_ROOTLESS=1 (a test with a rootless case:
#                            oci-podman.t, oci-*-rootless.t) and this user has what a rootless engine needs
#                            (newuidmap, newgidmap, subordinate ids: tests/run-suites.sh
#                            gives them to its test user); HUTCH_TEST_ENGINES=1 turns the
#                            skip of a missing program into a failure. HUTCH_MUST_WORK=1
#                            alone does not: a fresh machine (scripts/ci-fresh.sh) has no
#                            engines.
#   oci_rootfs DIR           a busybox-static root file system in DIR (bin/ with the applets,
#                            etc/passwd and group, the mount points, a writable /work)
#   oci_bundle DIR ARGS...   a bundle: DIR/rootfs and a config.json from `runc spec`, no
#                            terminal, writable root, cwd /work, process.args = ARGS
#   oci_config DIR PYTHON    edit DIR/config.json: PYTHON runs with `c` the parsed config
#   OCI_LINK                 a hutch-oci symbolic link to $HUTCH (the argv[0] form)
#   oci_net_snapshot         the host's links, addresses, routes and nft rules, as text
#   oci_lock                 wait until no other test holding it runs (containerd puts its
#                            shims' sockets in /run/containerd/s whatever its own directories
#                            are: the tests that start one take turns; a rootless engine
#                            takes it too, for the machine's two cores), held to the end

OCI_BUSYBOX=${OCI_BUSYBOX:-/bin/busybox}

oci_require() {
	local p missing=
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || missing+=" $p"
	done
	if [ "$(id -u)" != 0 ] && [ "${OCI_ROOTLESS:-0}" != 1 ]; then
		skip_all "this test of hutch oci runs as root only (oci-podman.t has the rootless case)"
	fi
	if [ "$(id -u)" != 0 ]; then
		local me
		me=$(id -un)
		command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1 ||
			missing+=" newuidmap newgidmap (uidmap)"
		if ! grep -q "^$me:" /etc/subuid 2>/dev/null || ! grep -q "^$me:" /etc/subgid 2>/dev/null; then
			[ "${HUTCH_TEST_ENGINES:-0}" = 1 ] && {
				LAST_CMD=
				fail "subordinate ids for $me in /etc/subuid and /etc/subgid (HUTCH_TEST_ENGINES=1)"
				done_testing
			}
			skip_all "a rootless engine needs subordinate ids for $me in /etc/subuid and /etc/subgid" \
				"(tests/run-suites.sh adds them for its test user)"
		fi
	fi
	if [ -n "$missing" ]; then
		if [ "${HUTCH_TEST_ENGINES:-0}" = 1 ]; then
			LAST_CMD=
			fail "the engine's programs are installed (HUTCH_TEST_ENGINES=1): missing$missing"
			done_testing
		fi
		skip_all "not installed:$missing (apt-get install runc podman conmon containerd docker.io rootlesskit uidmap busybox-static)"
	fi
	if ! [ -x "$OCI_BUSYBOX" ] || ldd "$OCI_BUSYBOX" >/dev/null 2>&1; then
		[ "${HUTCH_TEST_ENGINES:-0}" = 1 ] && {
			LAST_CMD=
			fail "a static busybox at $OCI_BUSYBOX (HUTCH_TEST_ENGINES=1)"
			done_testing
		}
		skip_all "no static busybox at $OCI_BUSYBOX (apt-get install busybox-static)"
	fi
	OCI_LINK=$T/bin/hutch-oci
	mkdir -p "$T/bin"
	ln -sf "$HUTCH" "$OCI_LINK"
}

oci_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,root,work,run}
	cp "$OCI_BUSYBOX" "$d/bin/busybox"
	for a in $("$d/bin/busybox" --list); do
		[ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$d/etc/group"
	chmod 1777 "$d/tmp"
}

oci_config() {
	local dir=$1 code=$2
	"$PY" - "$dir/config.json" "$code" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
c = json.load(open(path))
exec(code)
json.dump(c, open(path, "w"), indent=1)
EOF
}

oci_bundle() {
	local dir=$1
	shift
	mkdir -p "$dir"
	oci_rootfs "$dir/rootfs"
	(cd "$dir" && runc spec) || return 1
	oci_config "$dir" "
c['process']['terminal'] = False
c['root']['readonly'] = False
c['process']['cwd'] = '/work'
c['process']['args'] = $("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")
"
}

oci_net_snapshot() {
	ip -o link 2>&1 | sed 's/ qlen [0-9]*//'
	ip -o addr 2>&1
	ip route 2>&1
	nft list ruleset 2>&1
}

oci_lock() {
	local f
	f=$(dirname "$T")/oci-containerd.lock
	# another user's file (root's, for the test user's pass): a lock needs no write access
	if ! { exec {_OCI_LOCK_FD}>>"$f"; } 2>/dev/null; then
		exec {_OCI_LOCK_FD}<"$f" || bail_out "cannot open the lock file $f"
	fi
	flock -w 300 "$_OCI_LOCK_FD" || bail_out "another test of hutch oci held $f for 300 s"
}

# oci_containerd_start DIR: a containerd of the test's own (DIR/config.toml, its log in
# DIR/containerd.log; CONTAINERD_ADDRESS set by the caller), its pid in CPID; ok once it
# answers, else the log's end and the end of the test.
oci_containerd_start() {
	setsid containerd --config "$1/config.toml" >"$1/containerd.log" 2>&1 </dev/null {_OCI_LOCK_FD}>&- &
	CPID=$!
	for _ in $(seq 150); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
	ctr version >/dev/null 2>&1
	ok $? "the test's containerd answers on its own socket" || {
		diag "$(tail -20 "$1/containerd.log")"
		done_testing
		exit
	}
}

# oci_containerd_stop DIR: its tasks killed and removed, its containers removed, the daemon
# ended (SIGTERM, then SIGKILL after 5 s), and the mounts it left under DIR unmounted,
# deepest first (snapshots, the rootfs of a task killed mid-way, a pod's namespace).
oci_containerd_stop() {
	local t m
	if [ -n "${CPID:-}" ]; then
		for t in $(ctr task ls -q 2>/dev/null); do
			ctr task kill -a -s SIGKILL "$t" >/dev/null 2>&1
			ctr task rm -f "$t" >/dev/null 2>&1
		done
		for t in $(ctr container ls -q 2>/dev/null); do ctr container rm "$t" >/dev/null 2>&1; done
		kill -TERM "$CPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CPID" 2>/dev/null
	fi
	while read -r m; do umount -l "$m" 2>/dev/null; done < <(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
}

# oci_rootless_end DIR RK_PID MESSAGE [CHECK]: once a rootless daemon (rootlesskit RK_PID, its
# files in DIR) was told to stop: rootlesskit's end waited for (15 s), then that of every
# process whose command line names DIR/ (5 s); with CHECK the test MESSAGE that none is
# left; what is left is killed, rootlesskit too.
oci_rootless_end() {
	local dir=$1 rk=$2 i p left
	if [ -n "$rk" ]; then
		for ((i = 0; i < 150; i++)); do
			kill -0 "$rk" 2>/dev/null || break
			sleep 0.1
		done
	fi
	for ((i = 0; i < 50; i++)); do
		left=$(oci_procs "*$dir/*")
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "${4:-}" ]; then
		LAST_CMD=
		is "$left" "" "$3"
	fi
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	[ -n "$rk" ] && kill -KILL "$rk" 2>/dev/null
	return 0
}

# oci_rootless_rm DIR PATH...: a rootless daemon's files (DIR's, owned by subordinate ids)
# removed as root of a user namespace that rootlesskit maps as it mapped the daemon's.
oci_rootless_rm() {
	local dir=$1
	shift
	timeout -k 5 60 rootlesskit --net=host --port-driver=none --state-dir="$dir/rk-rm" \
		rm -rf "$@" >/dev/null 2>&1 </dev/null {_OCI_LOCK_FD}>&-
}

# oci_procs PATTERN: " PID PID...", the processes whose command line (its arguments joined
# by spaces) matches the glob PATTERN; oci_procs "$OCI_LINK *": hutch-oci's daemons.
oci_procs() {
	local p
	for p in /proc/[0-9]*; do
		# shellcheck disable=SC2053 # PATTERN is a glob
		[[ "$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" == $1 ]] && printf ' %s' "${p#/proc/}"
	done
}

# A container's script for a network allowlist that lets localhost.:$SRV_PORT (the test's
# server) alone: the name through the proxy variables and transparently, a name not
# allowed, an address not allowed; oci_allowlist_seen PREFIX: its output ($OUT) says so
# (PREFIX before each test's name).
oci_allowlist_sh() {
	printf '%s\n' "wget -q -O- http://localhost.:$SRV_PORT/ && echo via-proxy-ok" \
		"wget -q -Y off -O- http://localhost.:$SRV_PORT/ && echo transparent-ok" \
		"wget -q -O- http://denied.example/ 2>&1; wget -q -Y off -O- http://192.0.2.1/ 2>&1; true"
}
oci_allowlist_seen() {
	like "$OUT" "via-proxy-ok" "$1an allowed name is reached through the proxy variables"
	like "$OUT" "transparent-ok" "$1and transparently"
	like "$OUT" "403 Forbidden \(hutch: connection to denied.example:80 refused: not in allowlist\)" \
		"$1a name not allowed: the proxy's refusal"
	like "$OUT" "Connection reset by peer" "$1a connection to another address: reset"
}

# oci_docker_audited NAME: in Docker's container NAME (sleep 1000 under the runtime
# hutch-audit, its log $DD/audit.jsonl; drun is the test's docker), docker exec runs and
# the log has the container's start, what exec ran and the end; NAME removed.
oci_docker_audited() {
	local audit
	drun exec "$1" sh -c 'echo audited-exec'
	like "$OUT" "audited-exec" "  docker exec runs"
	drun stop -t 1 "$1"
	for _ in $(seq 50); do grep -q '"event":"end"' "$DD/audit.jsonl" 2>/dev/null && break; sleep 0.1; done
	audit=$(cat "$DD/audit.jsonl" 2>/dev/null)
	like "$audit" '"event":"start".*"process.command_args":\["sleep","1000"\]' "  the log has the container's start"
	like "$audit" '"event":"exec".*"process.command_args":\["sh","-c","echo audited-exec"\]' \
		"  and what docker exec ran"
	like "$audit" '"event":"end"' "  and its end"
	drun rm "$1"
}

# Docker's lifecycle commands on the running container $C (sleep 1000; drun is the test's
# docker): oci_docker_top_pause: top shows the workload, pause and unpause; then
# oci_docker_stop_kill: stop kills it (137) and rm removes it, and a second container
# ($C-k, started with RUN) is ended by kill (137) and removed.
oci_docker_top_pause() {
	drun top "$C"
	like "$OUT" "sleep 1000" "top (runtime ps): the workload itself, hutch's init gone by exec"
	drun pause "$C"
	drun inspect --format '{{.State.Status}}' "$C"
	is "$OUT" "paused" "pause"
	drun unpause "$C"
	drun exec "$C" true
	is "$RC" 0 "unpause: exec works again"
}
oci_docker_stop_kill() {
	drun stop -t 1 "$C"
	is "$RC" 0 "stop -t 1 (SIGTERM, which a PID 1 without a handler ignores, then SIGKILL)"
	drun inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$C"
	is "$OUT" "exited 137" "  the container was killed (137)"
	drun rm "$C"
	is "$RC" 0 "rm"
	drun "${RUN[@]}" -d --name "$C-k" "$IMG" sleep 1000
	drun kill "$C-k"
	is "$RC" 0 "kill"
	drun wait "$C-k"
	is "$OUT" 137 "  the container ended by SIGKILL"
	drun rm "$C-k"
}
