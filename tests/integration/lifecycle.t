#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Process lifecycle: no orphans after the command exits, everything dies with hutch (even
# SIGKILL), signals sent to hutch reach the command and, if it ignores them, SIGKILL ends
# the whole sandbox after --stop-timeout; zombies are reaped, hutch's own processes inside
# are not dumpable.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

SIG=$T/sig
mkdir "$SIG"
# A unique sleep duration is the marker: "sleep 1000.NNNNN" matches no other process,
# and the anchored pattern does not match hutch's own command line.
uniq_sleep() { echo "1000.$$$RANDOM$1"; }

# ---- background processes do not outlive the command ---------------------------------
D=$(uniq_sleep 1)
hrun_bg run --rw "$SIG" -- sh -c "sleep $D & touch '$SIG/started'; while [ ! -e '$SIG/go' ]; do sleep 0.1; done; echo done"
wait_for_file "$SIG/started"
ok $? "the command started a background sleep"
pgrep -f "^sleep $D\$" >/dev/null
ok $? "  the background sleep is visible on the host while the session runs"
touch "$SIG/go"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 0 "hutch returns once the command exits (the background sleep does not hold it)"
is "$OUT" "done" "  with the command's output"
wait_no_process "^sleep $D\$" 5
ok $? "a background process left by the command is gone after hutch returns"

# setsid + nohup + double fork: a daemon trying hard to survive.
D=$(uniq_sleep 2)
hrun run -- sh -c "setsid sh -c 'trap \"\" HUP TERM; nohup sleep $D >/dev/null 2>&1 &' & sleep 0.5; echo forked"
is "$OUT" "forked" "a command that daemonises (setsid, nohup, ignoring HUP/TERM) ran"
wait_no_process "^sleep $D\$" 5
ok $? "  the daemon is gone after hutch returns"

# ---- kill -9 of hutch kills everything inside -----------------------------------------
rm -f "$SIG"/*
D=$(uniq_sleep 3)
D2=$(uniq_sleep 4)
hrun_bg run --rw "$SIG" -- sh -c "sleep $D & touch '$SIG/started'; sleep $D2"
wait_for_file "$SIG/started"
ok $? "session for kill -9 started"
wait_process "^sleep $D2\$" 10 # the file is touched just before the command starts
ok $? "  its processes are running"
kill -KILL "$HPID"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 137 "hutch killed with SIGKILL"
wait_no_process "^sleep ($D|$D2)\$" 10
ok $? "after kill -9 of hutch, every process of the session is gone (no orphans)" ||
	diag "still running: $(pgrep -af "^sleep ($D|$D2)\$")"

# ---- signals sent to hutch reach the command ------------------------------------------
for s in TERM INT HUP; do
	rm -f "$SIG"/*
	hrun_bg run --rw "$SIG" -- sh -c "trap 'echo got-$s; exit 42' $s; touch '$SIG/started'; while :; do sleep 0.1; done"
	wait_for_file "$SIG/started"
	ok $? "session for SIG$s started"
	kill -"$s" "$HPID"
	wait_hutch "$HUTCH_TEST_TIMEOUT"
	is "$OUT" "got-$s" "SIG$s sent to hutch reaches the command"
	is "$RC" 42 "  and hutch exits with the command's status"
done

# Without a handler the command dies of the signal, hutch reports 128+N.
rm -f "$SIG"/*
hrun_bg run --rw "$SIG" -- sh -c "touch '$SIG/started'; exec sleep $(uniq_sleep 5)"
wait_for_file "$SIG/started"
sleep 0.2
kill -TERM "$HPID"
wait_hutch "$HUTCH_TEST_TIMEOUT"
is "$RC" 143 "SIGTERM to hutch kills a command without a handler -> 143"

# ---- a command that ignores the signal: SIGKILL to the whole sandbox after --stop-timeout ----
for s in TERM INT HUP; do
	rm -f "$SIG"/*
	sig=$(kill -l "$s")
	D=$(uniq_sleep "6$sig")
	D2=$(uniq_sleep "7$sig")
	hrun_bg run --stop-timeout 1s --rw "$SIG" -- sh -c "trap '' $s; sleep $D & touch '$SIG/started'; sleep $D2"
	wait_for_file "$SIG/started"
	ok $? "SIG$s ignored: session started"
	# the pid namespace of the sandbox, to look for what is left of it on the host afterwards
	wait_process "^sleep $D2\$" 10
	ns=$(readlink "/proc/$(pgrep -f "^sleep $D2\$" | head -1)/ns/pid" 2>/dev/null)
	pidns_members "/proc/$(pgrep -f "^sleep $D2\$" | head -1)/ns/pid" >"$T/members-$s"
	kill -"$s" "$HPID"
	wait_hutch 30 # a bound that only catches a hang (the grace period is 1 s)
	is "$RC" $((128 + sig)) "  hutch ends after the grace period with 128+SIG$s, the signal it got"
	wait_no_process "^sleep ($D|$D2)\$" 5
	ok $? "  no process of the sandbox is left (the command and its background child)" ||
		diag "still running: $(pgrep -af "^sleep ($D|$D2)\$")"
	# by pid and start time: the namespace's inode number may already be another's
	left=$(pidns_survivors "$T/members-$s")
	ok "$([ -n "$ns" ] && [ -s "$T/members-$s" ] && [ "$left" = 0 ] && echo 0 || echo 1)" \
		"  nothing of the sandbox's pid namespace is left on the host ($ns: $left)"
done

# A command that handles SIGTERM within the grace period keeps its own status.
rm -f "$SIG"/*
hrun_bg run --stop-timeout 20s --rw "$SIG" -- sh -c "trap 'sleep 0.5; echo cleaned; exit 3' TERM; touch '$SIG/started'; while :; do sleep 0.1; done"
wait_for_file "$SIG/started"
kill -TERM "$HPID"
wait_hutch 30
is "$RC" 3 "a command that cleans up after SIGTERM within --stop-timeout: its own status"
is "$OUT" "cleaned" "  after its handler ran"

hrun run --stop-timeout soon -- true
is "$RC" 125 "--stop-timeout with an invalid duration -> 125"
like "$ERR" "stop-timeout.*soon" "  the message names the value"

# ---- zombies are reaped ----------------------------------------------------------------
# Orphans re-parented to PID 1 inside exit; init must reap them.
hrun run -- sh -c '
	for i in 1 2 3 4 5; do sh -c "sleep 0.1 &"; done
	sleep 1.5
	for f in /proc/[0-9]*/stat; do read -r l < "$f" && echo "${l#*) }"; done | cut -d" " -f1 | sort | uniq -c'
is "$RC" 0 "orphans exited inside the sandbox"
unlike "$OUT" " Z$" "no zombie processes remain inside (init reaps orphans)"

# ---- hutch's processes inside are not dumpable ----------------------------------------
hrun run -- sh -c 'cat /proc/1/environ >/dev/null'
like "$ERR" "Permission denied" "/proc/1/environ (hutch's init) is not readable from the command (non-dumpable)"

done_testing
