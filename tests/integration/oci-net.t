#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch oci with a network allowlist (docs/oci.md, "Network allowlist"), driven as an engine
# drives runc: create starts the container's network daemon on the host (pid and start time
# in the bundle), the container reaches an allowed name through the proxy variables and
# transparently, a name not allowed is refused with the proxy's answer, a raw connection to
# another address and UDP are refused; the daemon ends when the container is killed and on
# delete; the daemon runs as nobody with no capability (the audit's three with an audit file);
# runc run with an allowlist is refused; the host's network is unchanged. The
# proxy's net and deny events are in the container's audit log. With an audit file, every exec of the container and of `exec` is in the log with its argv, and
# with the daemon gone an exec does not run; the log has start (the container's process) and end
# (its signal or exit status). A process of the host outside the container (another
# user, root) cannot hand the control socket a listener (tests/helpers/ctl-inject.c).
#
# The allowed name is "localhost." with allowPrivate, as in transparent.t: the daemon
# resolves it on the host (127.0.0.1) and connects to the test's server on the host's
# loopback; the container's own loopback is another one.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/lib-oci.sh
. "$HUTCH_TESTS_DIR/lib-oci.sh"
require_sandbox
require_python
oci_require runc

R=$T/runc-root
B=$T/bundle
ID=oci-net-$$ # not hutch-*: runc names its cgroups after it, and hutch-* are hutch run's (limits.t)
A=$T/bundle-audit
NS=oci-net-t-$$ # network namespaces the test makes, as engines do (a path in config.json)

# daemon_alive PIDFILE: 0 if the process "PID STARTTIME" of the file still runs (an exited
# one not yet reaped by its new parent, a zombie, has ended).
daemon_alive() {
	local pid start now
	read -r pid start 2>/dev/null <"$1" || return 1
	now=$(awk '{ sub(/.*\) /, ""); if ($1 != "Z") print $20 }' "/proc/$pid/stat" 2>/dev/null)
	[ -n "$now" ] && [ "$now" = "$start" ]
}
oci_net_cleanup() {
	local st=$? c pid start
	for c in "$ID" "$ID-2" "$ID-run" "$ID-ns" "$ID-own" "$ID-pod" "$ID-other" "$ID-host" "$ID-a" "$ID-x"; do
		runc --root "$R" delete --force "$c" >/dev/null 2>&1
	done
	for c in "$NS" "$NS-own"; do
		ip netns delete "$c" 2>/dev/null
	done
	for c in "$T"/daemon-*.pid "$T"/netns-state/*/hutch-netd.pid "$B/hutch-netd.pid" "$A/hutch-netd.pid"; do
		if daemon_alive "$c"; then
			read -r pid start <"$c"
			kill -9 "$pid" 2>/dev/null
		fi
	done
	_t_cleanup
	return "$st"
}
trap oci_net_cleanup EXIT

# engine_config CODE: config.json afresh from the engine's copy, edited (as oci-runc.t).
engine_config() {
	[ -f "$B/config.json.orig" ] && mv -f "$B/config.json.orig" "$B/config.json"
	oci_config "$B" "$1"
}

roci() {
	LAST_CMD="hutch-oci --root $R $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$OCI_LINK" --root "$R" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

start_loopback_service
NET_BEFORE=$(oci_net_snapshot)

oci_bundle "$B" sh -c '
exec >/work/out 2>&1
cat /etc/resolv.conf
echo "proxy=$http_proxy"
wget -q -O- "http://localhost.:$1/" && echo via-proxy-ok
wget -q -Y off -O- "http://localhost.:$1/" && echo transparent-ok
wget -q -O- "http://denied.example:$1/"; echo "denied-proxy-rc=$?"
wget -q -Y off -O- "http://denied.example:$1/"; echo "denied-direct-rc=$?"
wget -q -Y off -O- "http://192.0.2.1:$1/"; echo "raw-rc=$?"
nslookup -timeout=1 localhost. 192.0.2.1; echo "udp-rc=$?"
touch /root/x || echo landlock-still
echo finished
exec sleep 1000' x "$SRV_PORT" || bail_out "could not build the bundle"
oci_config "$B" "c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}, \"audit\": {\"file\": \"$T/net-audit.jsonl\"}}'}"

# ---- create: the daemon runs before start --------------------------------------------------
roci create --bundle "$B" --pid-file "$T/c.pid" "$ID" </dev/null
is "$RC" 0 "create with a network allowlist succeeds"
ok "$([ -s "$B/hutch-netd.pid" ] && echo 0 || echo 1)" "the network daemon's pid is in the bundle"
cp "$B/hutch-netd.pid" "$T/daemon-1.pid" 2>/dev/null
read -r dpid _ <"$T/daemon-1.pid"
ok "$(daemon_alive "$T/daemon-1.pid" && echo 0 || echo 1)" "the daemon runs (pid $dpid)"
is "$(readlink "/proc/$dpid/ns/net")" "$(readlink /proc/self/ns/net)" "it serves from the host's network namespace"
unlike "$(ls -l "/proc/$dpid/fd" 2>/dev/null)" "$T/\.(out|err)" "it keeps none of the runtime's output files open"
isnt "$(awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$dpid/stat")" "$(awk '{ sub(/.*\) /, ""); print $4 }' /proc/self/stat)" "it has a session of its own"
# once set up it keeps only what it needs (src/lib/oci/confine.c): nobody; with the audit
# of execs CAP_KILL (5), CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19) and nothing else
dstatus() { grep -E "^($2):" "/proc/$1/status" | tr -s '\t' ' '; }
is "$(dstatus "$dpid" 'Uid|Gid')" "Uid: 65534 65534 65534 65534
Gid: 65534 65534 65534 65534" "the daemon runs as nobody (every uid and gid)"
is "$(dstatus "$dpid" 'Groups')" "Groups: " "  with no supplementary group"
is "$(dstatus "$dpid" 'CapInh|CapPrm|CapEff|CapBnd|CapAmb')" "CapInh: 0000000000000000
CapPrm: 0000000000080024
CapEff: 0000000000080024
CapBnd: 0000000000080024
CapAmb: 0000000000000000" "  with the audit's three capabilities alone"
is "$(dstatus "$dpid" 'NoNewPrivs|Seccomp')" "NoNewPrivs: 1
Seccomp: 2" "  no_new_privs and a seccomp filter"

roci start "$ID"
is "$RC" 0 "start"
for _ in $(seq 200); do grep -q finished "$B/rootfs/work/out" 2>/dev/null && break; sleep 0.1; done
out=$(cat "$B/rootfs/work/out" 2>/dev/null)
like "$out" "nameserver 127\.0\.0\.53" "resolv.conf names hutch's resolver"
like "$out" "proxy=http://127\.0\.0\.1:3128" "the proxy variables are set"
like "$out" "via-proxy-ok" "an allowed name is reached through the proxy variables"
like "$out" "transparent-ok" "and transparently, without them"
is "$(grep -c HUTCH-HTTP-OK <<<"$out")" 2 "  both times the test's server on the host answered"
like "$out" "403 Forbidden \(hutch: connection to denied.example:$SRV_PORT refused: not in allowlist\)" \
	"a name not allowed: the proxy's refusal (403), with hutch run's reason"
like "$out" "denied-proxy-rc=1" "  the client fails"
like "$out" "bad address 'denied.example:$SRV_PORT'" "a name not allowed does not resolve in the container"
like "$out" "denied-direct-rc=1" "  the client fails"
like "$out" "Connection reset by peer" "a TCP connection to an address is reset by the proxy"
like "$out" "raw-rc=1" "  the client fails"
like "$out" "write to '192.0.2.1': Operation not permitted" "UDP to another address is dropped (EPERM)"
like "$out" "udp-rc=1" "  the client fails"
like "$out" "landlock-still" "Landlock still applies"
# the audit log: the proxy's records, as hutch run writes them
netlog() {
	"$PY" -c 'import json,sys; print(sorted(set((e["event"], e.get("server.address"), e.get("proxy.via")) for e in map(json.loads, open(sys.argv[1], "rb")) if e.get("event") in ("net", "deny"))))' "$T/net-audit.jsonl" 2>&1
}
like "$(netlog)" "\('net', 'localhost', 'connect'\)|\('net', 'localhost', 'http'\)" "audit: a net event for the allowed name through the proxy"
like "$(netlog)" "\('net', 'localhost', 'transparent'\)" "  and one for the transparent connection"
like "$(netlog)" "\('deny', 'denied.example', 'http'\)" "  a deny event for the name not allowed"
like "$(netlog)" "\('deny', '192.0.2.1', 'transparent'\)" "  and for the address"

# ---- the container is killed: the daemon ends by itself ------------------------------------
roci kill "$ID" 9
is "$RC" 0 "kill ID 9"
for _ in $(seq 100); do daemon_alive "$T/daemon-1.pid" || break; sleep 0.1; done
ok "$(daemon_alive "$T/daemon-1.pid" && echo 1 || echo 0)" "the daemon ended with the container's process"
# lifecycle LOG: the start and end events of the log, as "TYPE key=value ..." lines
lifecycle() {
	"$PY" - "$1" <<'PYEOF'
import json, sys
for e in map(json.loads, open(sys.argv[1], "rb")):
    if e["event"] == "start":
        print("start", e["sandbox"], "pid=%s" % e["process.pid"], "uid=%s" % e["user.id"], "cwd=%s" % e["process.working_directory"], "args=%s" % e["process.command_args"], "layers=%s" % ",".join(e["layers"]), "net=%s" % e["network.mode"], "bundle=%s" % e["container.bundle"])
    elif e["event"] == "end":
        print("end", e["sandbox"], "code=%s" % e["process.exit.code"], "signal=%s" % e.get("signal"), "error=%s" % e.get("error"), "duration=%s" % type(e["duration_ms"]).__name__, "execs=%s" % e["counts"]["exec"], "net=%s" % e["counts"]["net"])
PYEOF
}
like "$(lifecycle "$T/net-audit.jsonl")" "^start $ID pid=$(cat "$T/c.pid") uid=0 cwd=/work args=\['sh', '-c', '.*exec sleep 1000', 'x', '$SRV_PORT'\] layers=landlock,seccomp net=proxy bundle=$B" \
	"audit: start, first, with the container's process (its pid on the host, user, cwd, argv)"
like "$(lifecycle "$T/net-audit.jsonl")" "end $ID code=137 signal=9 error=None duration=int execs=[1-9][0-9]* net=[1-9]" \
	"audit: end, with the signal that ended it (kill 9), the duration and the counts"
is "$(sed -n '1p;$p' "$T/net-audit.jsonl" | "$PY" -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))')" "start end" "  start is the log's first event, end its last"
roci delete "$ID"
is "$RC" 0 "delete"

# ---- delete without start: the daemon is ended by delete -----------------------------------
roci create --bundle "$B" "$ID-2" </dev/null
is "$RC" 0 "create again"
cp "$B/hutch-netd.pid" "$T/daemon-2.pid" 2>/dev/null
ok "$(daemon_alive "$T/daemon-2.pid" && echo 0 || echo 1)" "a daemon runs for it"
roci delete --force "$ID-2"
is "$RC" 0 "delete --force"
ok "$(daemon_alive "$T/daemon-2.pid" && echo 1 || echo 0)" "no daemon left once delete returns"
ok "$([ -e "$B/hutch-netd.pid" ] && echo 1 || echo 0)" "its pid file is gone"

# ---- runc run cannot be served: refused, nothing left ------------------------------------------
roci run --bundle "$B" "$ID-run" </dev/null
is "$RC" 1 "run with a network allowlist is refused"
like "$ERR" "network allowlist or an audit needs create and start" "  with hutch's message"
roci state "$ID-run"
isnt "$RC" 0 "  and no container"

# ---- a network namespace the engine made, named by its path ---------------------------------
ip netns add "$NS" && ip netns add "$NS-own" && ip -n "$NS-own" link add oci0 type veth peer name oci1 ||
	bail_out "could not make the test's network namespaces"
# (an allowlist without an audit file: its daemon keeps no capability)
net_path() {
	engine_config "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network'] + [{'type': 'network', 'path': '/run/netns/$1'}]
c['annotations'] = {'dev.hutch.policy': '{\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}}'}"
}
net_path "$NS"
rm -f "$B/rootfs/work/out"
roci create --bundle "$B" "$ID-ns" </dev/null
is "$RC" 0 "create in a network namespace given by path (lo alone)"
cp "$B/hutch-netd.pid" "$T/daemon-3.pid" 2>/dev/null
ok "$(daemon_alive "$T/daemon-3.pid" && echo 0 || echo 1)" "  its daemon runs"
like "$(ip netns exec "$NS" nft list ruleset 2>&1)" "redirect to :[0-9]+" "  hutch's rules are in that namespace"
read -r dpid _ <"$T/daemon-3.pid"
is "$(dstatus "$dpid" 'Uid|CapPrm|CapEff|CapBnd|NoNewPrivs')" "Uid: 65534 65534 65534 65534
CapPrm: 0000000000000000
CapEff: 0000000000000000
CapBnd: 0000000000000000
NoNewPrivs: 1" "  without an audit, the daemon is nobody with no capability at all"
roci start "$ID-ns"
for _ in $(seq 200); do grep -q finished "$B/rootfs/work/out" 2>/dev/null && break; sleep 0.1; done
out=$(cat "$B/rootfs/work/out" 2>/dev/null)
like "$out" "via-proxy-ok" "  and its proxy serves: an allowed name through the variables"
like "$out" "transparent-ok" "  and transparently"
like "$out" "denied-proxy-rc=1" "  a name not allowed is still refused"
roci delete --force "$ID-ns"
ok "$(daemon_alive "$T/daemon-3.pid" && echo 1 || echo 0)" "  no daemon after delete"

# ---- a namespace with an interface of its own (a pod's): one daemon for its containers ------
# As a CNI plugin does: oci0 with an address in the namespace (its peer oci1 there too, so
# nothing of it is on the host). Two containers join it, as a pod's pause container and
# its workload do; HUTCH_OCI_NETNS_DIR keeps the namespace daemon's state in the test's.
export HUTCH_OCI_NETNS_DIR=$T/netns-state
ip -n "$NS-own" addr add 198.51.100.10/24 dev oci0 && ip -n "$NS-own" link set oci0 up &&
	ip -n "$NS-own" link set oci1 up || bail_out "could not set the test's interface up"
P=$T/bundle-pod
pod_policy="{\"network\": {\"allowPrivate\": true, \"allow\": [\"localhost:$SRV_PORT\"]}}"
oci_bundle "$P" sh -c '
exec >/work/out 2>&1
wget -q -O- "http://localhost.:$1/" && echo pod-via-proxy-ok
wget -q -Y off -O- "http://localhost.:$1/" && echo pod-transparent-ok
wget -q -O- "http://denied.example:$1/"; echo "pod-denied-rc=$?"
wget -q -Y off -O- "http://198.51.100.1:$1/"; echo "pod-raw-rc=$?"
nslookup -timeout=1 localhost. 198.51.100.1; echo "pod-udp-rc=$?"
echo "capeff=$(sed -n "s/^CapEff:\t//p" /proc/self/status)"
ip link set oci0 down; echo "pod-linkdown-rc=$?"
echo finished
exec sleep 1000' x "$SRV_PORT" || bail_out "bundle"
pod_config() { # pod_config BUNDLE POLICY: the namespace by path and the policy
	[ -f "$1/config.json.orig" ] && mv -f "$1/config.json.orig" "$1/config.json"
	oci_config "$1" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network'] + [{'type': 'network', 'path': '/run/netns/$NS-own'}]
c['annotations'] = {'dev.hutch.policy': '$2'}
for k in ('bounding', 'effective', 'permitted'):
    c['process']['capabilities'][k] += ['CAP_NET_ADMIN', 'CAP_NET_RAW']"
}
pod_daemon() { # the pid file of the namespace's daemon, if any
	ls "$HUTCH_OCI_NETNS_DIR"/*/hutch-netd.pid 2>/dev/null
}
# a process in the namespace that holds CAP_NET_RAW: the proxy could not be its only way out
ip netns exec "$NS-own" sleep 1000 &
capper=$!
bg_register "$capper"
pod_config "$B" "$pod_policy"
for _ in $(seq 100); do [ "$(readlink "/proc/$capper/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1; done
roci create --bundle "$B" "$ID-own" </dev/null
is "$RC" 1 "a pod's namespace where another process holds CAP_NET_RAW: refused"
like "$ERR" "process $capper in the container's network namespace may use CAP_NET_ADMIN or CAP_NET_RAW" "  with hutch's message"
roci state "$ID-own"
isnt "$RC" 0 "  and no container is left"
kill "$capper"
wait "$capper" 2>/dev/null

roci create --bundle "$B" "$ID-own" </dev/null
is "$RC" 0 "a namespace with an interface of its own: the first container's create starts its daemon"
pf=$(pod_daemon)
ok "$([ -n "$pf" ] && daemon_alive "$pf" && echo 0 || echo 1)" "  the namespace's daemon runs (its state under \$HUTCH_OCI_NETNS_DIR)"
cp "$pf" "$T/daemon-pod.pid" 2>/dev/null
ok "$([ -e "$B/hutch-netd.pid" ] && echo 1 || echo 0)" "  and no daemon of the container's own"
rules=$(ip netns exec "$NS-own" nft list ruleset 2>&1)
like "$rules" "redirect to :[0-9]+" "  its rules are in the namespace"
like "$rules" 'oif "?lo"? accept' "  lo is let out"
like "$rules" "ct direction reply accept" "  and the answers to inbound connections"
pod_config "$P" "$pod_policy"
roci create --bundle "$P" "$ID-pod" </dev/null
is "$RC" 0 "a second container in the namespace joins its daemon"
is "$(pod_daemon)" "$pf" "  still one daemon"
roci start "$ID-pod"
for _ in $(seq 200); do grep -q finished "$P/rootfs/work/out" 2>/dev/null && break; sleep 0.1; done
out=$(cat "$P/rootfs/work/out" 2>/dev/null)
like "$out" "pod-via-proxy-ok" "in the pod's namespace: an allowed name through the proxy variables"
like "$out" "pod-transparent-ok" "  and transparently"
like "$out" "403 Forbidden \(hutch: connection to denied.example:$SRV_PORT refused: not in allowlist\)" "  a name not allowed: the proxy's refusal"
like "$out" "pod-raw-rc=1" "  a TCP connection to the pod's own network is redirected and reset"
like "$out" "write to '198.51.100.1': Operation not permitted" "  UDP out of the pod's interface is dropped (EPERM)"
capeff=$(sed -n 's/^capeff=//p' <<<"$out")
ok "$(( (0x${capeff:-3000} >> 12) & 3 ))" "  the workload has neither CAP_NET_ADMIN nor CAP_NET_RAW, which the engine gave (CapEff $capeff)"
like "$out" "pod-linkdown-rc=[1-9]" "  it cannot change the namespace's links"
pod_config "$B" '{"network": {"allow": ["example.org"]}}'
roci create --bundle "$B" "$ID-other" </dev/null
is "$RC" 1 "a container with another network policy in the same namespace: refused"
like "$ERR" "served with another network policy" "  with hutch's message"
# a container without an allowlist created into the served namespace: it does not join,
# but it cannot undo the rules either
H=$T/bundle-host
oci_bundle "$H" sh -c 'sed -n "s/^CapEff:\t//p" /proc/self/status >/work/caps; exec sleep 1000' || bail_out "bundle"
pod_config "$H" '{"network": {"mode": "host"}}'
roci create --bundle "$H" "$ID-host" </dev/null
is "$RC" 0 "a container without an allowlist in the served namespace"
roci start "$ID-host"
for _ in $(seq 100); do [ -s "$H/rootfs/work/caps" ] && break; sleep 0.1; done
capeff=$(cat "$H/rootfs/work/caps" 2>/dev/null)
ok "$(((0x${capeff:-3000} >> 12) & 3))" "  has neither CAP_NET_ADMIN nor CAP_NET_RAW either (CapEff $capeff)"
roci delete --force "$ID-host"
roci delete --force "$ID-own"
is "$RC" 0 "delete of the first container"
ok "$(daemon_alive "$T/daemon-pod.pid" && echo 0 || echo 1)" "  the namespace's daemon still serves the other one"
roci delete --force "$ID-pod"
is "$RC" 0 "delete of the last container"
ok "$(daemon_alive "$T/daemon-pod.pid" && echo 1 || echo 0)" "  the namespace's daemon has ended when delete returns"
is "$(ls -A "$HUTCH_OCI_NETNS_DIR" 2>&1)" "" "  and its state is gone"
unset HUTCH_OCI_NETNS_DIR
ip netns delete "$NS"
ip netns delete "$NS-own"

# ---- the audit of execs: the init hands its listener to the daemon, which writes the log ----
oci_bundle "$A" sh -c '/bin/true first-marker; exec sleep 1000' || bail_out "bundle"
oci_config "$A" "c['annotations'] = {'dev.hutch.policy': '{\"audit\": {\"file\": \"$T/audit.jsonl\"}}'}"
roci create --bundle "$A" "$ID-a" </dev/null
is "$RC" 0 "create with an audit (no network allowlist)"
cp "$A/hutch-netd.pid" "$T/daemon-4.pid" 2>/dev/null
ok "$(daemon_alive "$T/daemon-4.pid" && echo 0 || echo 1)" "  its daemon runs"
roci start "$ID-a"
is "$RC" 0 "start"
roci exec "$ID-a" sh -c 'echo exec-out; /bin/true exec-marker'
is "$RC" 0 "exec"
like "$OUT" "exec-out" "  its output"
# events CODE: python over the exec events `ev` of the audit log
events() {
	"$PY" - "$T/audit.jsonl" "$1" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], "rb")]
ev = [e for e in ev if e.get("event") == "exec"]
print(eval(sys.argv[2]))
PYEOF
}
for _ in $(seq 100); do
	[[ "$(events 'sum("exec-marker" in e.get("process.command_args", []) or e.get("process.command_args") == ["sleep", "1000"] for e in ev)' 2>/dev/null)" == 2 ]] && break
	sleep 0.1
done
like "$(events '[e["process.command_args"] for e in ev]')" "\['sh', '-c', '/bin/true first-marker; exec sleep 1000'\]" \
	"the audit log has the container's process (its argv)"
like "$(events '[e["process.command_args"] for e in ev]')" "\['/bin/true', 'first-marker'\]" "  and what it ran"
like "$(events '[e["process.command_args"] for e in ev]')" "\['sleep', '1000'\]" "  and its exec"
like "$(events '[e["process.command_args"] for e in ev]')" "\['/bin/true', 'exec-marker'\]" "an exec's commands are audited too"
# the control socket is open to every user of the container (0666); the daemon serves only
# processes in the container's mount namespace: another user of the host reaching the
# socket by its path (the test opens the way) cannot hand it a listener, nor can root
is "$(stat -c %a "$A/hutch-ctl/sock")" 666 "the control socket is 0666 (the container's users are any uids)"
other=$(id -u hutchtest 2>/dev/null || echo 64999)
chmod o+x "$T" "$A"
inj=$(setpriv --reuid "$other" --regid "$other" --clear-groups "$HUTCH_HELPERS/ctl-inject" "$A/hutch-ctl/sock" 2>&1)
like "$inj" "^connected" "another user of the host (uid $other) reaches the socket"
like "$inj" "refused" "  but the daemon does not take its listener"
inj_root=$("$HUTCH_HELPERS/ctl-inject" "$A/hutch-ctl/sock" 2>&1)
like "$inj_root" "refused" "  nor root's, outside the container"
roci exec "$ID-a" /bin/true after-inject-marker
is "$RC" 0 "the container's own execs are still served"
for _ in $(seq 100); do
	[[ "$(events 'sum("after-inject-marker" in e.get("process.command_args", []) for e in ev)' 2>/dev/null)" == 1 ]] && break
	sleep 0.1
done
like "$(events '[e["process.command_args"] for e in ev]')" "after-inject-marker" "  and audited"
unlike "$(cat "$T/audit.jsonl")" "ctl-inject" "nothing of the host's processes is in the container's log"
# fail closed: with its daemon gone, nothing more runs in the container unaudited
read -r dpid _ <"$T/daemon-4.pid"
kill -9 "$dpid"
for _ in $(seq 100); do daemon_alive "$T/daemon-4.pid" || break; sleep 0.1; done
roci exec "$ID-a" sh -c 'echo should-not-run'
is "$RC" 125 "the daemon killed: an exec does not run (status 125)"
like "$ERR" "hutch oci init: audit: connecting to hutch's daemon" "  the init says why"
unlike "$OUT" "should-not-run" "  and the command did not run"
roci delete --force "$ID-a"
is "$RC" 0 "delete --force"
ok "$(daemon_alive "$T/daemon-4.pid" && echo 1 || echo 0)" "  no daemon after delete"
ok "$([ -e "$A/hutch-netd.pid" ] && echo 1 || echo 0)" "  nor its pid file"

# the exit status in "end"
oci_config "$A" "c['process']['args'] = ['sh', '-c', 'exit 7']"
roci create --bundle "$A" "$ID-x" </dev/null
cp "$A/hutch-netd.pid" "$T/daemon-5.pid" 2>/dev/null
roci start "$ID-x"
for _ in $(seq 100); do daemon_alive "$T/daemon-5.pid" || break; sleep 0.1; done
like "$(lifecycle "$T/audit.jsonl")" "end $ID-x code=7 signal=None error=None" "audit: end with the container's exit status (7)"
roci delete "$ID-x"
is "$RC" 0 "  delete"

is "$(oci_net_snapshot)" "$NET_BEFORE" "the host's network is unchanged"

done_testing
