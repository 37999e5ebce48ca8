#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch oci driven as an engine drives runc (docs/oci.md): run, create/start/state/kill/
# delete with a pid file, exec (command line and --process), the exit status, hutch's
# layers inside (Landlock: writes outside the writable places refused; seccomp: unshare
# refused; the default policy's "no network": IP sockets refused), the annotation
# dev.hutch.policy and --hutch-policy, and a policy that cannot be enforced: create fails
# with hutch's message on stderr and in --log as JSON, and no container is left.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc

R=$T/runc-root
B=$T/bundle
ID=oci-t-$$ # not hutch-*: runc names its cgroups after it, and hutch-* are hutch run's (limits.t)
oci_cleanup() {
	local st=$? c
	for c in "$ID" "$ID-c" "$ID-bad" "$ID-tty" "$ID-spec" "$ID-kill" "$ID-fail" "$ID-log"; do
		runc --root "$R" delete --force "$c" >/dev/null 2>&1
	done
	_t_cleanup
	return "$st"
}
trap oci_cleanup EXIT

# roci ARGS...: hutch oci --root $R ARGS (through the hutch-oci link), sets RC OUT ERR.
roci() {
	LAST_CMD="hutch-oci --root $R $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$OCI_LINK" --root "$R" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# engine_config CODE: as an engine writes config.json afresh for each create (the bundle's
# config.json.orig is hutch's copy of the last one).
engine_config() {
	[ -f "$B/config.json.orig" ] && mv -f "$B/config.json.orig" "$B/config.json"
	oci_config "$B" "$1"
}

oci_bundle "$B" sh -c '
echo hello
touch /work/w && echo wrote-work
touch /tmp/t && echo wrote-tmp
touch /root/x 2>&1 || echo no-root-write
touch /etc/x 2>&1 || echo no-etc-write
echo x 2>&1 >/.hutch/layers || echo layers-ro
unshare -U true 2>&1 || echo unshare-refused
nc -w 2 127.0.0.1 9 </dev/null 2>&1 || echo no-net
exit 3' || bail_out "could not build the bundle"

# ---- run: the workload's output and status, hutch's layers ----------------------------
roci run --bundle "$B" "$ID"
is "$RC" 3 "run: the workload's exit status is the runtime's"
like "$OUT" "^hello" "run: the workload ran and wrote to stdout"
like "$OUT" "wrote-work" "the working directory (the workspace) is writable"
like "$OUT" "wrote-tmp" "/tmp is writable"
like "$OUT" "no-root-write" "Landlock: /root is not writable"
like "$OUT" "touch: /root/x: Permission denied" "Landlock refuses it (EACCES, the root file system is writable for runc)"
like "$OUT" "no-etc-write" "Landlock: /etc is not writable"
like "$OUT" "layers-ro" "hutch's layers file cannot be changed from inside"
like "$OUT" "Operation not permitted.*unshare-refused|unshare-refused" "seccomp: unshare refused"
like "$OUT" "nc: socket: Permission denied" "default policy (network none): no IP socket (hutch's seccomp: EACCES)"
ok "$([ -f "$B/config.json.orig" ] && echo 0 || echo 1)" "the engine's config.json is kept as config.json.orig"
like "$(cat "$B/config.json")" '"/.hutch/init"' "config.json starts hutch's init"
roci state "$ID"
isnt "$RC" 0 "run removed the container when it ended (as runc run does)"

# ---- the annotation: network "host" = the container's own network as the engine made it ---
engine_config "c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"mode\": \"host\"}}'}"
roci run --bundle "$B" "$ID"
like "$OUT" "Connection refused" "network host: an IP socket, refused by the container's own loopback"
unlike "$OUT" "socket: Permission denied" "network host: IP sockets allowed"
like "$OUT" "no-root-write" "network host: Landlock still applies"

# ---- a workload that is not root: the init needs no privilege ---------------------------
engine_config "c.pop('annotations', None); c['process']['user'] = {'uid': 65534, 'gid': 65534}"
chmod 1777 "$B/rootfs/work"
rm -f "$B/rootfs/work/w" "$B/rootfs/tmp/t"
roci run --bundle "$B" "$ID"
is "$RC" 3 "as uid 65534: the workload ran"
like "$OUT" "wrote-work" "as uid 65534: the workspace is writable"
like "$OUT" "wrote-tmp" "as uid 65534: /tmp is writable"
like "$OUT" "unshare-refused" "as uid 65534: seccomp applies"
engine_config "c['process']['user'] = {'uid': 0, 'gid': 0}"

# ---- the runtime-wide policy (--hutch-policy) ----------------------------------------
engine_config "c.pop('annotations', None)"
printf '{"network": {"mode": "host"}, "filesystem": {"writable": ["/root"]}}\n' >"$T/oci.json"
roci --hutch-policy "$T/oci.json" run --bundle "$B" "$ID"
like "$OUT" "^hello" "--hutch-policy: the workload ran"
unlike "$OUT" "no-root-write" "--hutch-policy: its writable /root is writable"
unlike "$OUT" "socket: Permission denied" "--hutch-policy: its network mode applies"

# the runtime-wide policy is a ceiling: an annotation cannot loosen it
printf '{"network": {"mode": "none"}}\n' >"$T/oci-none.json"
engine_config "c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"mode\": \"host\"}}'}"
roci --hutch-policy "$T/oci-none.json" run --bundle "$B" "$ID"
is "$RC" 1 "an annotation asking for more network than the runtime-wide policy: refused"
like "$ERR" "network mode \"host\" is not allowed: the system policy .*oci-none.json.* allows at most \"none\"" \
	"  with both places named"
unlike "$OUT" "hello" "  and nothing ran"
engine_config "c.pop('annotations', None)"

# ---- create / start / state / kill / delete, pid file ---------------------------------
C=$T/bundle-c
oci_bundle "$C" sh -c 'echo started >/work/started; exec sleep 1000' || bail_out "bundle"
roci create --bundle "$C" --pid-file "$T/c.pid" "$ID-c" </dev/null
is "$RC" 0 "create (detached) succeeds"
pid=$(cat "$T/c.pid" 2>/dev/null)
like "$pid" '^[0-9]+$' "the pid file holds a pid ($pid)"
ok "$(kill -0 "$pid" 2>/dev/null && echo 0 || echo 1)" "that process exists"
roci state "$ID-c"
like "$OUT" '"status": "created"' "state: created"
ok "$([ -e "$C/rootfs/work/started" ] && echo 1 || echo 0)" "the workload has not run before start"
roci start "$ID-c"
is "$RC" 0 "start"
for _ in $(seq 100); do [ -e "$C/rootfs/work/started" ] && break; sleep 0.1; done
ok "$([ -e "$C/rootfs/work/started" ] && echo 0 || echo 1)" "the workload ran after start"
roci state "$ID-c"
like "$OUT" '"status": "running"' "state: running"
like "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "^sleep 1000" "the container's process is the workload, exec'd by the init"
like "$(grep NoNewPrivs "/proc/$pid/status")" "1" "the workload has no_new_privs"
like "$(grep '^Seccomp:' "/proc/$pid/status")" "2" "the workload runs under seccomp filters"

# exec: the command line form and the --process form, both under hutch's layers
roci exec "$ID-c" sh -c 'touch /root/e 2>&1 || echo exec-no-root; touch /work/e && echo exec-work'
like "$OUT" "exec-no-root" "exec: Landlock applies to an exec'd process"
like "$OUT" "exec-work" "exec: the workspace is writable"
"$PY" -c 'import json,sys; json.dump({"args":["sh","-c","unshare -U true 2>&1 || echo p-unshare-refused; exit 7"],"cwd":"/work","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}, open(sys.argv[1],"w"))' "$T/process.json"
roci exec --process "$T/process.json" "$ID-c"
is "$RC" 7 "exec --process: its exit status"
like "$OUT" "p-unshare-refused" "exec --process: seccomp applies"
like "$(cat "$T/process.json")" '"/.hutch/init"' "exec --process: the process file now starts hutch's init"

roci kill "$ID-c" 9
is "$RC" 0 "kill ID 9"
for _ in $(seq 100); do
	roci state "$ID-c"
	[[ $OUT == *'"status": "stopped"'* ]] && break
	sleep 0.1
done
like "$OUT" '"status": "stopped"' "state: stopped after kill"
roci delete "$ID-c"
is "$RC" 0 "delete"
roci state "$ID-c"
isnt "$RC" 0 "state after delete: no such container"

# ---- a terminal: the pty's master goes to --console-socket ------------------------------
TB=$T/bundle-tty
oci_bundle "$TB" sh -c 'tty; test -t 0 && echo in-is-a-tty; touch /root/t 2>&1; echo marker-end' ||
	bail_out "bundle"
oci_config "$TB" "c['process']['terminal'] = True"
# The receiving end of the console socket: the master's output until the marker.
"$PY" - "$T/console.sock" "$T/console.out" "$T/console.ready" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(20)
open(sys.argv[3], "w").close()
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1024, 1)
data = b""
while b"marker-end" not in data:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b:
        break
    data += b
open(sys.argv[2], "wb").write(data)
PYEOF
rpid=$!
bg_register "$rpid"
for _ in $(seq 100); do [ -e "$T/console.ready" ] && break; sleep 0.1; done
roci create --bundle "$TB" --console-socket "$T/console.sock" "$ID-tty"
is "$RC" 0 "create with --console-socket"
roci start "$ID-tty"
wait "$rpid"
tty_out=$(tr -d '\r' <"$T/console.out" 2>/dev/null)
like "$tty_out" "/dev/pts/0" "the workload's terminal is the pty whose master went to the console socket"
like "$tty_out" "in-is-a-tty" "its stdin is that terminal"
like "$tty_out" "touch: /root/t: Permission denied" "Landlock applies with a terminal too"
for _ in $(seq 100); do
	roci state "$ID-tty"
	[[ $OUT == *'"status": "stopped"'* ]] && break
	sleep 0.1
done
roci delete "$ID-tty"
is "$RC" 0 "delete of the stopped container"

# ---- runtime-spec behaviours the engines rely on, through hutch's rewritten config -------
# The root: relative to the bundle (what `runc spec` writes and the engines use) and absolute.
S=$T/bundle-spec
oci_bundle "$S" sh -c 'cat /work/m/which 2>&1; ls /.hutch' || bail_out "bundle"
is "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["root"]["path"])' "$S/config.json")" rootfs \
	"the bundles here have a relative root (rootfs)"
mkdir -p "$T/mnt-first" "$T/mnt-second"
echo first >"$T/mnt-first/which"
echo second >"$T/mnt-second/which"
# Mounts at one destination are applied in the order given: the last one is seen.
oci_config "$S" "
c['mounts'].append({'destination': '/work/m', 'type': 'bind', 'source': '$T/mnt-first', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/work/m', 'type': 'bind', 'source': '$T/mnt-second', 'options': ['rbind', 'ro']})
"
roci run --bundle "$S" "$ID-spec" </dev/null
is "$RC" 0 "run with two mounts at one destination"
like "$OUT" "^second" "  the later mount is the one seen (mount order kept)"
like "$OUT" "init" "  hutch's init is mounted beside them"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c["root"]["path"]=sys.argv[2]; json.dump(c,open(sys.argv[1],"w"))' \
	"$S/config.json.orig" "$S/rootfs"
mv -f "$S/config.json.orig" "$S/config.json"
roci run --bundle "$S" "$ID-spec" </dev/null
is "$RC" 0 "run with an absolute root"
like "$OUT" "^second" "  the same container"

# kill --all: every process of the container, not only its first one.
K=$T/bundle-kill
oci_bundle "$K" sh -c 'sleep 1001 & sleep 1002 & echo ready >/work/ready; wait' || bail_out "bundle"
roci create --bundle "$K" --pid-file "$T/k.pid" "$ID-kill" </dev/null
roci start "$ID-kill"
for _ in $(seq 100); do [ -e "$K/rootfs/work/ready" ] && break; sleep 0.1; done
kpid=$(cat "$T/k.pid" 2>/dev/null)
pidns_members "/proc/$kpid/ns/pid" >"$T/kill-members"
ok "$([ "$(wc -l <"$T/kill-members")" -ge 3 ] && echo 0 || echo 1)" "a container with three processes"
roci kill --all "$ID-kill" KILL
is "$RC" 0 "kill --all ID KILL"
for _ in $(seq 100); do
	[ "$(pidns_survivors "$T/kill-members" 2>/dev/null)" = 0 ] && break
	sleep 0.1
done
is "$(pidns_survivors "$T/kill-members")" 0 "  every process of the container is gone"
roci delete "$ID-kill"
is "$RC" 0 "  delete"

# A container whose create failed (a mount source that does not exist) leaves nothing that
# delete could not remove; with an allowlist, no daemon either.
F=$T/bundle-fail
oci_bundle "$F" true || bail_out "bundle"
oci_config "$F" "
c['mounts'].append({'destination': '/work/x', 'type': 'bind', 'source': '$T/no-such-dir', 'options': ['rbind']})
c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"mode\": \"proxy\", \"allow\": [\"example.org\"]}}'}
"
roci create --bundle "$F" "$ID-fail" </dev/null
isnt "$RC" 0 "create with a missing mount source fails"
roci delete --force "$ID-fail"
roci state "$ID-fail"
isnt "$RC" 0 "  delete --force leaves no container"
ok "$([ -e "$F/hutch-netd.pid" ] && echo 1 || echo 0)" "  and no daemon's pid file in the bundle"
check "  no hutch-oci daemon of it is running" \
	sh -c "! pgrep -f '[h]utch-oci.*$ID-fail' >/dev/null"

# "audit": {"file": "-"}: the log goes to the container's own stderr (the engine's log
# stream: docker logs, kubectl logs), beside what the workload writes there.
L=$T/bundle-logstream
oci_bundle "$L" sh -c 'echo workload-err >&2; /bin/true logstream-marker; exec sleep 1000' || bail_out "bundle"
oci_config "$L" "c['annotations'] = {'dev.hutch.policy': '{\"audit\": {\"file\": \"-\"}}'}"
# the container's stderr is what create is given (appended to: no other writer's offset)
: >"$T/log-stream"
"$OCI_LINK" --root "$R" create --bundle "$L" "$ID-log" </dev/null >/dev/null 2>>"$T/log-stream"
is "$?" 0 "create with audit.file \"-\""
roci start "$ID-log"
for _ in $(seq 50); do grep -q '"/bin/true","logstream-marker"' "$T/log-stream" 2>/dev/null && break; sleep 0.1; done
cstderr=$(cat "$T/log-stream")
like "$cstderr" '"event":"start".*"container.bundle"' "  the container's stderr has the audit's start"
like "$cstderr" '"event":"exec".*"process.command_args":\["/bin/true","logstream-marker"\]' \
	"  and what it ran"
like "$cstderr" "workload-err" "  beside the workload's own"
roci delete --force "$ID-log"

# ---- the engine's seccomp profile refuses Landlock: the init does not run the workload ---
engine_config "c.pop('annotations', None); c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['landlock_create_ruleset'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 38}]}"
roci run --bundle "$B" "$ID"
is "$RC" 125 "no Landlock in the container: status 125"
unlike "$OUT" "hello" "the workload did not run"
like "$ERR" "hutch oci init: Landlock is not available here" "hutch's init says why"
roci --allow-degraded run --bundle "$B" "$ID"
like "$OUT" "^hello" "with --allow-degraded the workload runs without Landlock"
like "$OUT" "unshare-refused" "  and still under hutch's seccomp"
engine_config "c.pop('annotations', None); c['linux'].pop('seccomp', None)"

# ---- a policy that cannot be enforced: create fails, hutch's message, no container ----
engine_config "c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"mode\": \"host\", \"allow\": [\"example.com\"]}}'}"
rm -f "$T/log.json"
roci --log "$T/log.json" --log-format json create --bundle "$B" "$ID-bad"
is "$RC" 1 "create with an allowlist under network mode host: status 1 (as runc's errors)"
like "$ERR" "network.allow needs network.mode \"proxy\" in a container" "hutch's message on stderr"
like "$(cat "$T/log.json" 2>/dev/null)" '^\{"level":"error","msg":"hutch: network.allow needs network.mode \\"proxy\\" in a container.*","time":"[0-9T:-]+Z"\}$' \
	"and as a JSON line in --log (what containerd and Docker show)"
roci state "$ID-bad"
isnt "$RC" 0 "no container was created"

engine_config "c['annotations'] = {'dev.hutch.policy': '{\"network\": '}"
roci create --bundle "$B" "$ID-bad"
is "$RC" 1 "create with invalid JSON in the annotation fails"
like "$ERR" "annotation dev.hutch.policy" "the message names the annotation"

engine_config "c['annotations'] = {'dev.hutch.polcy': '{}'}"
roci create --bundle "$B" "$ID-bad"
like "$ERR" "annotation dev.hutch.polcy: not supported" "an unknown dev.hutch. annotation is refused, not ignored"

engine_config "c['annotations'] = {'dev.hutch.policy': '{\"limits\": {\"memory\": \"1G\"}}'}"
roci create --bundle "$B" "$ID-bad"
like "$ERR" "policy key limits .*not supported by hutch oci yet" "a key hutch oci cannot enforce yet is refused"
roci state "$ID-bad"
isnt "$RC" 0 "still no container"

# ---- everything else goes to runc as it is -------------------------------------------
roci --version
like "$OUT" "^hutch-oci version" "--version: hutch's line"
like "$OUT" "runc version" "--version: then runc's"
LAST_CMD="HUTCH_OCI_RUNC=/nonexistent hutch-oci state x"
err=$(HUTCH_OCI_RUNC=/nonexistent "$OCI_LINK" --log "$T/log2.json" state x 2>&1)
like "$err" "cannot execute runc /nonexistent" "a missing runc is named"
like "$(cat "$T/log2.json" 2>/dev/null)" "^time=.*level=error msg=\"hutch: cannot execute runc" "and logged in runc's text format without --log-format json"

done_testing
