#!/bin/bash
# Named sessions: hutch run --name keeps the sandbox alive; hutch exec runs more
# commands in it with the same restrictions; hutch stop ends it (SIGTERM, then SIGKILL after
# --stop-timeout), and its commands end with their own status.
. "$(dirname "$0")/../lib.sh"
require_sandbox

name=t$$-$RANDOM
marker=hutch-named-$$-$RANDOM
trap '"$HUTCH" stop "$name" >/dev/null 2>&1; _t_cleanup' EXIT

hrun run --name "$name" -- sh -c "echo shared > /tmp/note; (sleep 300 $marker &) ; exit 3"
is "$RC" 3 "run --name returns the first command's exit status"

hrun exec "$name" -- cat /tmp/note
is "$OUT" "shared" "exec sees the session's private /tmp"
check "  and the host's /tmp does not have it" test ! -e /tmp/note

hrun exec "$name" -- sh -c "pgrep -f '[s]leep 300 $marker' >/dev/null && echo alive"
is "$OUT" "alive" "a background process of an earlier command is still running"

hrun exec "$name" -- sh -c 'exit 7'
is "$RC" 7 "exec propagates the exit status"

hrun exec "$name" -- sh -c 'kill -TERM $$'
is "$RC" 143 "a command killed by SIGTERM gives 143"

hrun exec "$name" -- /nonexistent/cmd
is "$RC" 127 "a missing command gives 127"
like "$ERR" "not found" "  with a message"

hrun exec "$name" -- sh -c 'cat ~/.ssh/id_ed25519'
isnt "$RC" 0 "the same hidden paths apply in exec"
unlike "$OUT" "$SECRET_MARK" "  and the secret never shows"

hrun exec "$name" -- sh -c 'echo x > ~/outside'
like "$ERR" "Read-only file system" "the same read-only view applies in exec"

hrun exec "$name" -- sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " "'
like "$OUT" "NoNewPrivs: 1" "exec'd commands have no_new_privs"
like "$OUT" "Seccomp: 2" "  and the seccomp filter"

# Every layer from the command's first instruction on: first-act's _start (no C library,
# no dynamic loader) tries what the sandbox forbids. Its commands are forked by the session's
# init, which applied the filter and the empty bounding set to itself once
# (src/lib/run/named-init.c); the same below with an audit log, where they are forked apart.
FIRST=$HUTCH_HELPERS/first-act
want_first='nnp=1 seccomp=2 capeff=0 capprm=0 bnd_sys_admin=0 unshare_user=-1 comm_write=-13'
if [ -x "$FIRST" ]; then
	hrun exec "$name" -- "$FIRST"
	is "$OUT" "$want_first" \
		"hutch exec: no_new_privs, seccomp, no capability, Landlock from the first instruction"
	hrun exec "$name" -- sh -c "$FIRST; $FIRST"
	is "$OUT" "$want_first
$want_first" "  and in what it runs"
else
	skip "first-act helper not built (x86_64 only, not with sanitizers)" 2
fi

# Each command's Landlock domain is made from the rules its session's init prepared once
# (src/lib/run/start.c, step_landlock_prepare) and stdio rules of its own: two commands
# whose stdout is a different file outside the writable roots can each reopen theirs.
for i in 1 2; do
	timeout 20 "$HUTCH" exec "$name" -- sh -c "echo direct$i; echo reopened$i >>/dev/stdout" \
		>"$T/named-out$i.txt" 2>"$T/named-out$i.err"
done
is "$(cat "$T/named-out1.txt")" "direct1
reopened1" "exec: /dev/stdout to a file outside the writable roots reopens (first command)"
is "$(cat "$T/named-out2.txt")" "direct2
reopened2" "  and for the next command, its own file (stderr: $(head -c 200 "$T/named-out2.err"))"
# Init makes each command's ruleset (hutch_landlock_prepared_ruleset()): a file's is made
# again for the next command on it (not kept: its rule would hold the file)...
timeout 20 "$HUTCH" exec "$name" -- sh -c "echo direct3; echo reopened3 >>/dev/stdout" \
	>"$T/named-out1.txt" 2>"$T/named-out1.err"
is "$(cat "$T/named-out1.txt")" "direct3
reopened3" "  and the first file again, for a third command (stderr: $(head -c 200 "$T/named-out1.err"))"
# ...and one for devices or pipes is kept for the next command with the same stdio.
for i in 1 2; do
	timeout 20 "$HUTCH" exec "$name" -- sh -c 'echo x >/dev/stdout && echo y >/dev/stderr' \
		>/dev/null 2>&1
	is "$?" 0 "exec: stdout and stderr on /dev/null reopen (command $i, the same ruleset)"
done
out=$(timeout 20 "$HUTCH" exec "$name" -- sh -c 'echo via-pipe >/dev/stdout' | cat)
is "$out" "via-pipe" "  and through a pipe"
# Init keeps those rules' paths open (O_PATH): out of the commands' reach, like all of init.
hrun exec "$name" -- sh -c 'n=0; for f in /proc/1/fd/*; do readlink "$f" >/dev/null 2>&1 && n=$((n + 1)); cat "$f" >/dev/null 2>&1 && n=$((n + 1)); done; echo "$n"'
is "$OUT" "0" "  no command can read or open the session init's descriptors"
hrun exec "$name" -- sh -c 'echo x > /etc/hutch-named-$$ || echo refused'
like "$OUT" "refused" "  a command still cannot write outside the writable roots"
hrun exec "$name" -- sh -c 'echo w > /tmp/named-w && cat /tmp/named-w'
is "$OUT" "w" "  and still writes to a writable root"

# The session's init (PID 1) applied them to itself before the first command: it runs
# under the same filter, with no_new_privs and an empty bounding set.
hrun exec "$name" -- sh -c 'grep -E "^(NoNewPrivs|Seccomp|CapBnd):" /proc/1/status | tr -s "\t " " "'
like "$OUT" "NoNewPrivs: 1" "the session's init has no_new_privs"
like "$OUT" "Seccomp: 2" "  the seccomp filter"
like "$OUT" "CapBnd: 0+$" "  and an empty bounding set"

out=$(printf 'via-stdin\n' | timeout 20 "$HUTCH" exec "$name" -- cat)
is "$out" "via-stdin" "stdin is passed to the exec'd command"

hrun exec "$name" -- sh -c 'ls -A "${XDG_STATE_HOME:-$HOME/.local/state}/hutch" 2>/dev/null | wc -l'
is "$OUT" "0" "the session's control socket directory is invisible inside"

hrun run --name "$name" -- true
is "$RC" 125 "a second session with the same name is refused"
like "$ERR" "already running" "  with a clear message"

hrun exec "bad/name" -- true
is "$RC" 125 "an invalid session name is refused"

# Signals reach the command: SIGTERM to the exec client.
timeout 20 "$HUTCH" exec "$name" -- sleep 30 &
client=$!
sleep 0.5
kill -TERM "$client"
wait "$client"
is "$?" 143 "SIGTERM to hutch exec reaches the command (143)"
# timeout(1) passes SIGTERM on, then SIGCONT: the client sends both, the daemon may close
# after the status with the second unread (a reset the client must read past).
bad=0
for _ in $(seq 1 10); do
	timeout 20 "$HUTCH" exec "$name" -- sleep 30 2>>"$T/term.err" &
	client=$!
	sleep 0.3
	kill -TERM "$client"
	wait "$client"
	rc=$?
	[ "$rc" = 143 ] || bad=$((bad + 1))
done
is "$bad" 0 "  ten times through timeout(1): 143 each time (stderr: $(sort -u "$T/term.err" | head -2))"

# ---- the proxy, the audit log and command rules in a named session --------------------------
net=n$$-$RANDOM
printf '{ "commands": { "deny": ["git push --force*"] } }\n' >"$T/rules.json"
hrun run --name "$net" --allow allowed.example -p "$T/rules.json" --audit "$T/named.jsonl" \
	-- sh -c 'echo "$http_proxy"'
is "$RC" 0 "a named session with --allow and an audit log starts"
like "$OUT" "^http://127\.0\.0\.1:[0-9]+$" "  its commands get the proxy"
hrun exec "$net" -- curl -sS -i -m 10 http://denied.example/
like "$OUT" "^HTTP/1\.[01] 403" "  hutch exec: a destination outside the allowlist -> 403 from the proxy"
hrun exec "$net" -- sh -c 'git push --force origin main; echo "rc=$?"'
like "$ERR" "Operation not permitted" "  a command rule holds in hutch exec (EPERM)"
like "$OUT" "rc=126" "  and the command did not run"
hrun exec "$net" -- echo second command
if [ -x "$FIRST" ]; then
	hrun exec "$net" -- "$FIRST"
	is "$OUT" "$want_first" "  hutch exec with exec auditing: every layer from the first instruction"
else
	skip "first-act helper not built (x86_64 only, not with sanitizers)"
fi
hrun stop "$net"
log=$(cat "$T/named.jsonl")
like "$log" '"event":"exec".*"process.command_args":\["echo","second","command"\]' \
	"  every exec of the session is in the audit log"
like "$log" '"event":"deny","layer":"commands"' "  and the denied one as a deny event"
like "$log" '"event":"deny","layer":"network","server.address":"denied\.example"' \
	"  and the refused destination"

hrun stop "$name"
is "$RC" 0 "stop ends the session"
sleep 0.3
check "  and the background process is gone" sh -c "! pgrep -f '[s]leep 300 $marker' >/dev/null"

hrun exec "$name" -- true
is "$RC" 125 "exec after stop fails"
like "$ERR" "no running session" "  saying there is no such session"

# ---- hutch stop: SIGTERM, then SIGKILL after the grace period; run --name gets the status ----
st=s$$-$RANDOM
trap '"$HUTCH" stop "$name" >/dev/null 2>&1; "$HUTCH" stop --stop-timeout 0 "$st" >/dev/null 2>&1; _t_cleanup' EXIT
hrun_bg run --name "$st" -- sleep 300.$$1
for _ in $(seq 100); do pgrep -f "^sleep 300\.$$1\$" >/dev/null && break; sleep 0.1; done
hrun stop "$st"
is "$RC" 0 "hutch stop of a session whose command ends on SIGTERM"
wait_hutch 30
is "$RC" 143 "  hutch run --name ends with the command's status, 143 (not 125)"

hrun_bg run --name "$st" -- sh -c "trap '' TERM; sleep 300.$$2 & sleep 300.$$3"
for _ in $(seq 100); do pgrep -f "^sleep 300\.$$3\$" >/dev/null && break; sleep 0.1; done
hrun stop --stop-timeout 1s "$st"
is "$RC" 0 "hutch stop --stop-timeout 1s of a session whose command ignores SIGTERM"
wait_hutch 30
is "$RC" 137 "  hutch run --name ends with 137: SIGKILL ended it after the grace period"
wait_no_process "^sleep 300\.$$[23]\$" 5
ok $? "  nothing of the session is left" || diag "left: $(pgrep -af "^sleep 300\.$$[23]\$")"

# SIGTERM to hutch run --name: passed on, SIGKILL to the command after its --stop-timeout.
hrun_bg run --name "$st" --stop-timeout 1s -- sh -c "trap '' TERM; sleep 300.$$4"
for _ in $(seq 100); do pgrep -f "^sleep 300\.$$4\$" >/dev/null && break; sleep 0.1; done
kill -TERM "$HPID"
wait_hutch 30
is "$RC" 143 "SIGTERM to hutch run --name, ignored by the command: 143 after --stop-timeout"
wait_no_process "^sleep 300\.$$4\$" 5
ok $? "  the command and its process group are gone"
hrun stop "$st"
is "$RC" 0 "  the session itself is still there until hutch stop"

hrun stop --stop-timeout never "$st"
is "$RC" 125 "hutch stop with an invalid --stop-timeout -> 125"

# ---- without cgroup limits, init takes hutch exec's connections itself -------------------
fs=f$$-$RANDOM
trap '"$HUTCH" stop "$name" >/dev/null 2>&1; "$HUTCH" stop --stop-timeout 0 "$st" >/dev/null 2>&1; "$HUTCH" stop --stop-timeout 0 "$fs" >/dev/null 2>&1; _t_cleanup' EXIT
printf '{ "limits": { "fileSize": "1M" } }\n' >"$T/fs.json"
hrun run -q --name "$fs" -p "$T/fs.json" -- true
is "$RC" 0 "a named session with limits.fileSize (an rlimit: no cgroup) starts"

# The daemon is off the way of each command: stopped, the commands still run.
daemon=
for p in $(pgrep -f -- "--name $fs "); do
	pgrep -f -- "--name $fs " | grep -qx "$(ps -o ppid= -p "$p" | tr -d ' ')" || daemon=$p
done
if [ -n "$daemon" ] && kill -STOP "$daemon"; then
	LAST_CMD="hutch exec $fs -- echo served (its daemon stopped)"
	# to a file: a daemon in the way would hold the descriptor it was sent, and a pipe open
	timeout -k 1 5 "$HUTCH" exec "$fs" -- echo served >"$T/served.out" 2>&1
	RC=$?
	kill -CONT "$daemon"
	OUT=$(cat "$T/served.out")
	is "$OUT" "served" "with the session's daemon stopped, hutch exec is served by init"
	is "$RC" 0 "  exit status 0"
else
	fail "the daemon of session $fs was not found (pgrep: $(pgrep -af -- "--name $fs "))"
fi

# A limit that ends a command: the daemon's line comes before the status.
hrun exec "$fs" -- sh -c 'exec head -c 2097152 /dev/zero > big'
is "$RC" 153 "a command killed by limits.fileSize: 153"
like "$ERR" 'file size limit \(1M\) reached' "  and hutch exec says which limit, before it ends"
rm -f "$WS/big"
hrun exec "$fs" -- true
unlike "$ERR" "limit" "  the next command hears nothing of it"

# hutch exec gone: its command gets the hang-up a terminal would give.
rm -f "$WS/hup" "$WS/hup-started"
hrun_bg exec "$fs" -- sh -c "trap 'echo hup > hup; exit 0' HUP; touch hup-started; while :; do sleep 0.1; done"
wait_for_file "$WS/hup-started"
kill -KILL "$HPID"
wait_hutch 10
wait_for_file "$WS/hup" 10
ok $? "a command whose hutch exec was killed gets SIGHUP"

# hutch stop while a command ignores SIGTERM: its hutch exec ends with 137 after the grace
# period (the daemon answers: init, which held the connection, was killed).
rm -f "$WS/stop-started"
hrun_bg exec "$fs" -- sh -c "trap '' TERM; touch stop-started; sleep 300.$$5"
wait_for_file "$WS/stop-started"
hrun stop --stop-timeout 1s "$fs"
is "$RC" 0 "hutch stop --stop-timeout 1s while a hutch exec's command ignores SIGTERM"
wait_hutch 30
is "$RC" 137 "  that hutch exec ends with 137, not with a lost connection"
wait_no_process "^sleep 300\.$$5\$" 5
ok $? "  and its command is gone"

done_testing
