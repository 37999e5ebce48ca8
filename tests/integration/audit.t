#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit log (docs/audit.md): JSON Lines with the required fields, exec
# events with exact argv, command rules (EPERM inside, logged, not run), package installs,
# file changes, limits, concurrent sessions on one log, refusing an unwritable log (125),
# the exit summary and `hutch log`.
# shellcheck source=tests/lib.sh disable=SC2016,SC1087 # $X[1] is python, not bash
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

LOGS=()
newlog() { # NAME: a fresh log path under $T (registered for the final every-line check)
	local f=$T/logs/$1.jsonl
	mkdir -p "$T/logs"
	rm -f "$f"
	LOGS+=("$f")
	printf '%s\n' "$f"
}

# jq-like queries with the system python: q FILE EXPR, where EXPR sees `ev` (list of events).
q() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys, base64, collections
ev = [json.loads(l) for l in open(sys.argv[1], "rb")]
def exact(e, key, i=None):
    raw = e.get("raw", {}).get(key)
    v = e[key] if i is None else e[key][i]
    r = raw if i is None or raw is None else (raw[i] if i < len(raw) else None)
    return base64.b64decode(r) if r is not None else v.encode()
print(eval(sys.argv[2]))
EOF
}

# ---- the log and its fields -----------------------------------------------------------
L=$(newlog basic)
hrun run --audit "$L" -- sh -c 'echo hello; ls / >/dev/null; exit 3'
is "$RC" 3 "the command's status with --audit"
is "$OUT" "hello" "  and its output"
is "$(q "$L" '[e["event"] for e in ev]')" "['start', 'exec', 'exec', 'end']" \
	"events: start, exec sh, exec ls, end"
is "$(q "$L" 'len(set(e["sandbox"] for e in ev))')" 1 "one sandbox id for the session"
is "$(q "$L" 'ev[0]["sandbox"] == ev[-1]["sandbox"] and len(ev[0]["sandbox"]) == 16')" True \
	"  16 hex characters"
like "$(q "$L" 'ev[0]["ts"]')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' \
	"timestamps: UTC with microseconds"
is "$(q "$L" 'all(e["v"] == 1 for e in ev)')" True "schema version 1 on every event"
like "$(q "$L" 'ev[0]["policy.digest"]')" '^sha256:[0-9a-f]{64}$' "start: policy digest"
like "$(q "$L" 'ev[0]["layers"]')" "seccomp" "start: layers enforced"
is "$(q "$L" 'ev[0]["workspace"]')" "$WS" "start: workspace"
is "$(q "$L" 'ev[0]["hutch.version"] != ""')" True "start: hutch version"
is "$(q "$L" 'ev[0]["process.command_args"]')" "['sh', '-c', 'echo hello; ls / >/dev/null; exit 3']" \
	"start: the command"
X='[e for e in ev if e["event"] == "exec"]'
is "$(q "$L" "$X[1][\"process.executable.path\"]")" "/usr/bin/ls" "exec: process.executable.path"
is "$(q "$L" "$X[1][\"process.command_args\"]")" "['ls', '/']" "exec: process.command_args"
is "$(q "$L" "$X[1][\"process.working_directory\"]")" "$WS" "exec: process.working_directory"
is "$(q "$L" "$X[1][\"process.parent_pid\"] == $X[0][\"process.pid\"]")" True \
	"exec: process.parent_pid is the shell's process.pid"
is "$(q "$L" "[e[\"decision\"] for e in $X]")" "['allow', 'allow']" "exec: decision allow"
is "$(q "$L" "[e[\"rule\"] for e in $X]")" "[None, None]" "exec: rule null (no rule decided)"
is "$(q "$L" 'ev[-1]["process.exit.code"]')" 3 "end: exit code"
is "$(q "$L" 'ev[-1]["counts"]["exec"]')" 2 "end: counts"
is "$(q "$L" 'ev[-1]["duration_ms"] >= 0')" True "end: duration"
like "$ERR" "hutch: session [0-9a-f]{16}: exit 3 after" "summary on stderr (an audit log was written)"
like "$ERR" "commands: 2 run" "  with the commands run"

hrun run -q --audit "$(newlog quiet)" -- true
is "$ERR" "" "-q: no summary"
hrun run -- true
is "$ERR" "" "no audit, not a terminal: no summary"
hrun run -v -- true
like "$ERR" "hutch: session [0-9a-f]{16}: exit 0" "-v: summary without an audit log"

# ---- argv round trip --------------------------------------------------------------------
L=$(newlog argv)
hrun run -q --audit "$L" -- /usr/bin/printf '%s|' 'a b' "q\"uo'te" $'new\nline' $'tab\there' \
	'日本語 ünï' $'bad\xff\xfebytes' $'\x80' '' $'\e[31mred' 'back\slash'
is "$RC" 0 "printf with hostile arguments ran"
got=$("$PY" - "$L" <<'EOF'
import json, sys, base64
want = [b"/usr/bin/printf", b"%s|", b"a b", b"q\"uo'te", b"new\nline", b"tab\there",
        "日本語 ünï".encode(), b"bad\xff\xfebytes", b"\x80", b"", b"\x1b[31mred", b"back\\slash"]
for line in open(sys.argv[1], "rb"):
    e = json.loads(line)
    if e["event"] != "exec":
        continue
    args = e["process.command_args"]
    raw = e.get("raw", {}).get("process.command_args") or []
    raw = raw + [None] * (len(args) - len(raw))  # raw stops at the last invalid element
    got = [base64.b64decode(r) if r is not None else v.encode() for v, r in zip(args, raw)]
    print("same" if got == want and e["process.args_count"] == len(want) else "differs: %r" % got)
    break
EOF
)
is "$got" "same" "argv with spaces, quotes, newlines, tabs, UTF-8, invalid bytes round-trips exactly"
is "$(q "$L" '"\ufffd" in [e for e in ev if e["event"] == "exec"][0]["process.command_args"][7]')" \
	True "  invalid bytes read as U+FFFD in the readable value"
if grep -q $'\xff' "$L"; then fail "no raw invalid byte in the log file"; else pass "no raw invalid byte in the log file"; fi
if LC_ALL=C grep -q $'\x1b' "$L"; then fail "no raw ESC in the log file"; else pass "no raw ESC in the log file"; fi
is "$("$PY" -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8"); print("utf8")' "$L")" \
	utf8 "the log is valid UTF-8"

# long arguments are cut and flagged, never silently
L=$(newlog long)
long=$(head -c 10000 /dev/zero | tr '\0' x)
hrun run -q --audit "$L" -- /bin/echo "$long"
is "$(q "$L" '[(len(e["process.command_args"][1]), e.get("truncated")) for e in ev if e["event"] == "exec"]')" \
	"[(4096, True)]" "a 10000-byte argument: cut at 4096 and flagged truncated"

# ---- command rules ----------------------------------------------------------------------
mkdir -p "$WS/bin"
printf '#!/bin/sh\necho SUDO-RAN >"%s/sudo-marker"\n' "$WS" >"$WS/bin/sudo"
chmod +x "$WS/bin/sudo"
printf '{"commands": {"deny": ["sudo *", "git push --force*"]}}\n' >"$T/deny.json"
L=$(newlog deny)
hrun run -p "$T/deny.json" --audit "$L" -- sh -c \
	'./bin/sudo rm -rf x; echo "rc=$?"; export PATH=$PWD/no-such-dir:$PWD/bin; sudo ls; echo "rc=$?"; echo after'
is "$RC" 0 "a denied command does not end the session"
like "$OUT" "rc=126" "  the shell sees the exec fail (126)"
like "$ERR" "sudo: Operation not permitted" "  with EPERM"
like "$OUT" "after" "  and goes on"
ok "$([ ! -e "$WS/sudo-marker" ]; echo $?)" "the denied command did not run"
D='[e for e in ev if e["event"] == "deny"]'
is "$(q "$L" "len($D)")" 2 "two deny events (one per attempt, none for PATH misses)"
is "$(q "$L" "$D[0][\"rule\"]")" "sudo *" "  rule: the matching pattern"
like "$(q "$L" "$D[0][\"rule_origin\"]")" "deny.json:1:" "  rule_origin: file:line:column"
is "$(q "$L" "$D[0][\"decision\"]")" deny "  decision: deny"
is "$(q "$L" "$D[0][\"layer\"]")" commands "  layer: commands"
is "$(q "$L" "$D[0][\"process.command_args\"]")" "['./bin/sudo', 'rm', '-rf', 'x']" "  with the argv"
is "$(q "$L" "$D[0][\"process.executable.path\"]")" "$WS/bin/sudo" "  and the resolved path"
is "$(q "$L" 'ev[-1]["counts"]["exec_denied"]')" 2 "end: denied count"
like "$ERR" "2 refused: \./bin/sudo rm -rf x; sudo ls" "summary: the refused commands"

hrun run -p "$T/deny.json" -- ./bin/sudo x
is "$RC" 126 "the denied command as hutch's own command: 126"
like "$ERR" "Operation not permitted" "  EPERM"
ok "$([ ! -e "$WS/sudo-marker" ]; echo $?)" "  and it did not run"

ln -s bin/sudo "$WS/innocent"
hrun run -p "$T/deny.json" -- sh -c './innocent; echo "rc=$?"'
like "$OUT" "rc=126" "a symlink to a denied program is refused too (resolved name)"

hrun run -p "$T/deny.json" -- "$PY" -c '
import os
fd = os.open("bin/sudo", os.O_RDONLY)
os.set_inheritable(fd, True)
try:
    os.execv("/proc/self/fd/%d" % fd, ["innocent"])
except OSError as e:
    print("refused:", e.strerror)'
is "$OUT" "refused: Operation not permitted" "an exec through /proc/self/fd/N of a denied program is refused"
ok "$([ ! -e "$WS/sudo-marker" ]; echo $?)" "  and it did not run"

hrun run -p "$T/deny.json" -- git --version
is "$RC" 0 "rules leave other commands alone"
hrun run -p "$T/deny.json" -- sh -c 'git push --force-with-lease nowhere 2>/dev/null; echo "rc=$?"'
is "$OUT" "rc=126" "'git push --force*' refuses git push --force-with-lease"

printf '{"commands": {"allow": ["sh *", "echo *", "/usr/bin/true"]}}\n' >"$T/allow.json"
L=$(newlog allow)
hrun run -p "$T/allow.json" --audit "$L" -- sh -c '/bin/echo ok; /usr/bin/true && echo true-ok; ls >/dev/null; echo "ls=$?"'
like "$OUT" "ok" "allow list: an allowed command runs"
like "$OUT" "true-ok" "  a full-path allow rule matches"
like "$OUT" "ls=126" "  a command matching no allow rule is refused"
# (dash tries every PATH entry that has an ls: /usr/bin/ls and /bin/ls are two attempts)
is "$(q "$L" 'sorted(set((e["process.executable.name"], e["reason"]) for e in ev if e["event"] == "deny"))')" \
	"[('ls', 'matches no commands.allow rule')]" "  logged with the reason"

# named sessions: the rules hold for the first command and for every hutch exec
name=audit-rules-$$-$RANDOM
L=$(newlog named)
hrun run --name "$name" -p "$T/deny.json" --audit "$L" -- sh -c './bin/sudo ls; echo "rc=$?"'
is "$RC" 0 "a named session with command rules starts"
like "$OUT" "rc=126" "  its first command is held to the rules"
hrun exec "$name" -- sh -c './bin/sudo ls; echo "rc=$?"'
like "$OUT" "rc=126" "  and so is a hutch exec"
"$HUTCH" stop "$name" >/dev/null 2>&1
is "$(q "$L" 'len([e for e in ev if e["event"] == "deny" and e["layer"] == "commands"])')" 2 \
	"  both refusals are deny events"

# degraded mode (no user namespace): exec events and rules still work
if command -v unshare >/dev/null && unshare -U --map-root-user true 2>/dev/null; then
	L=$(newlog degraded)
	LAST_CMD="(max_user_namespaces=0) hutch run --allow-degraded ..."
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -U --map-root-user sh -c \
		'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh \
		"$HUTCH" run -q --allow-degraded -p "$T/deny.json" --audit "$L" -- \
		sh -c './bin/sudo; echo "rc=$?"; ls >/dev/null' >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	like "$OUT" "rc=126" "degraded: a denied command is refused"
	is "$(q "$L" '(ev[0]["degraded"], "userns" in ev[0]["layers"], [e["event"] for e in ev[1:]])')" \
		"(True, False, ['exec', 'deny', 'exec', 'end'])" "degraded: start says so, exec and deny events"
	ok "$([ ! -e "$WS/sudo-marker" ]; echo $?)" "  the denied command did not run"
else
	skip "unshare cannot create a user namespace here" 3
fi

# ---- package installs ---------------------------------------------------------------------
L=$(newlog packages)
hrun run -q --audit "$L" -- sh -c "
	$PY -m pip install --no-cache-dir --retries 0 --timeout 2 requests-hutch-test >/dev/null 2>&1
	echo pip=\$?
	if command -v npm >/dev/null; then
		npm install --fetch-retries=0 --no-audit --no-fund left-pad@1.3.0 >/dev/null 2>&1
	fi
	echo done"
like "$OUT" "pip=[1-9]" "pip install with the network off fails"
P='[e for e in ev if e["event"] == "package"]'
is "$(q "$L" "[(e[\"package.manager\"], e[\"package.names\"]) for e in $P if e[\"package.manager\"] == \"pip\"]")" \
	"[('pip', ['requests-hutch-test'])]" "but the intent is recorded: pip, requests-hutch-test (once)"
if command -v npm >/dev/null; then
	is "$(q "$L" "[e[\"package.names\"] for e in $P if e[\"package.manager\"] == \"npm\"]")" \
		"[['left-pad@1.3.0']]" "npm install left-pad@1.3.0 recorded"
else
	skip "npm is not installed"
fi
is "$(q "$L" "all(e[\"process.pid\"] > 0 and e[\"process.command_args\"] for e in $P)")" True \
	"  package events carry the process and its argv"

# ---- network: proxy records, linked to the package install that made them -----------------
L=$(newlog net)
hrun run --audit "$L" -a pypi.org -- sh -c "
	$PY -m pip install --break-system-packages --no-cache-dir --retries 0 --timeout 3 \
		--target ./pip-target --index-url https://pypi.org/simple requests-hutch-test >/dev/null 2>&1
	$PY -c 'import urllib.request
try:
    urllib.request.urlopen(\"http://evil.example/\", timeout=5)
except Exception as e:
    print(\"evil:\", e)'"
like "$OUT" "evil: HTTP Error 403" "a destination outside the allowlist is refused by the proxy"
N='[e for e in ev if e["event"] == "net"]'
D='[e for e in ev if e["event"] == "deny"]'
P='[e for e in ev if e["event"] == "package"]'
is "$(q "$L" "sorted(set((e[\"server.address\"], e[\"server.port\"], e[\"decision\"], e[\"rule\"]) for e in $N))")" \
	"[('pypi.org', 443, 'allow', 'pypi.org')]" "net event: the registry, allowed by its rule"
is "$(q "$L" "all(e.get(\"package.pid\") == $P[0][\"process.pid\"] for e in $N)")" True \
	"  linked to the pip install that made it (package.pid)"
is "$(q "$L" "[(e[\"layer\"], e[\"server.address\"], e[\"server.port\"], e[\"decision\"], e[\"rule\"]) for e in $D]")" \
	"[('network', 'evil.example', 80, 'deny', None)]" "deny event for the refused connection"
like "$ERR" "network: [0-9]+ connections? made, ([0-9]+ failed: .*, )?1 refused: evil.example:80" "summary: the refused host"

# ---- file changes -------------------------------------------------------------------------
echo old >"$WS/modify-me"
echo bye >"$WS/delete-me"
mkdir -p "$WS/old-dir"
echo x >"$WS/old-dir/in"
L=$(newlog files)
hrun run -q --audit "$L" -- sh -c 'echo new >created; echo changed >modify-me; rm delete-me; rm -r old-dir; mkdir new-dir'
got=$("$PY" - "$L" "$WS" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(sorted((e["change"], e["file.path"].replace(sys.argv[2], "WS")) for e in ev if e["event"] == "file"))
EOF
)
is "$got" "[('created', 'WS/created'), ('created', 'WS/new-dir'), ('deleted', 'WS/delete-me'), ('deleted', 'WS/old-dir'), ('deleted', 'WS/old-dir/in'), ('modified', 'WS/modify-me')]" \
	"file events: created, modified, deleted under the workspace (nothing else)"
is "$(q "$L" '(ev[-1]["files"]["created"], ev[-1]["files"]["modified"], ev[-1]["files"]["deleted"], ev[-1]["files"]["complete"])')" \
	"(2, 1, 3, True)" "end: file counts, complete"

# --ephemeral: the workspace's changes come from the session layer, exactly
L=$(newlog ephemeral)
hrun run -q --ephemeral --audit "$L" -- sh -c 'echo e >eph-created; echo changed-in-layer >modify-me; rm created'
got=$("$PY" - "$L" "$WS" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(sorted((e["change"], e["file.path"].replace(sys.argv[2], "WS")) for e in ev if e["event"] == "file"))
EOF
)
is "$got" "[('created', 'WS/eph-created'), ('deleted', 'WS/created'), ('modified', 'WS/modify-me')]" \
	"--ephemeral: file events from the session layer"
is "$(q "$L" '(ev[-1]["files"]["from_layer"], len(ev[0]["session"]) > 0)')" "(True, True)" \
	"  end says so, start names the session"
ok "$([ ! -e "$WS/eph-created" ] && [ -e "$WS/created" ]; echo $?)" "  and the workspace itself is untouched"

# ---- limits ----------------------------------------------------------------------------------
L=$(newlog timeout)
hrun run -q --audit "$L" --timeout 1s -- sleep 30
is "$RC" 124 "timeout: 124"
is "$(q "$L" '[e["limit"] for e in ev if e["event"] == "limit"]')" "['timeout']" "limit event: timeout"
is "$(q "$L" '(ev[-1]["event"], ev[-1]["timed_out"], ev[-1]["process.exit.code"])')" "('end', True, 124)" \
	"end: timed out, 124"

# ---- an audit log that cannot be written refuses the run ----------------------------------
hrun run --audit /proc/version/audit.jsonl -- sh -c 'echo RAN'
is "$RC" 125 "an impossible audit path: hutch refuses to start (125)"
like "$ERR" "^hutch: audit log /proc/version/audit.jsonl" "  saying which log"
unlike "$OUT" "RAN" "  and the command did not run"
ln -s "$T/elsewhere.jsonl" "$T/link.jsonl"
hrun run --audit "$T/link.jsonl" -- sh -c 'echo RAN'
is "$RC" 125 "a symlink as the audit log: refused (125)"
like "$ERR" "symbolic link" "  saying why"
ok "$([ ! -e "$T/elsewhere.jsonl" ]; echo $?)" "  nothing written through it"
mkdir "$T/a-dir"
hrun run --audit "$T/a-dir" -- true
is "$RC" 125 "a directory as the audit log: refused (125)"
printf '{"audit": {"file": "/proc/version/x.jsonl"}}\n' >"$T/audit-policy.json"
hrun run -p "$T/audit-policy.json" -- sh -c 'echo RAN'
is "$RC" 125 "policy audit.file unwritable: refused (125)"
L=$(newlog from-policy)
printf '{"audit": {"file": "%s"}}\n' "$L" >"$T/audit-policy.json"
hrun run -q -p "$T/audit-policy.json" -- true
is "$(q "$L" '[e["event"] for e in ev][0]')" start "policy audit.file is used"
stat_mode=$(stat -c %a "$L")
is "$stat_mode" 600 "the log is created 0600"

# stderr
hrun run -q --audit - -- true
like "$ERR" '^\{"v":1,' "--audit - writes the events to stderr"

# syslog: /dev/log is usually absent here; either way nothing may land in a file named syslog.
hrun run -q --audit syslog -- true
check "--audit syslog is the syslog socket, not a file named syslog" test ! -e "$WS/syslog"
if [ -S /dev/log ]; then
	is "$RC" 0 "--audit syslog with a syslog socket"
else
	is "$RC" 125 "--audit syslog without /dev/log: refused (125)"
	like "$ERR" "syslog" "  saying so"
fi

# ---- concurrent sessions sharing one log --------------------------------------------------
L=$(newlog concurrent)
arg=$(head -c 3000 /dev/zero | tr '\0' y)
pids=()
for i in 1 2 3 4 5 6; do
	timeout -k 5 60 "$HUTCH" run -q --audit "$L" -- sh -c \
		"n=0; while [ \$n -lt 40 ]; do n=\$((n + 1)); /bin/echo $i-\$n $arg >/dev/null; done" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "6 sessions in parallel on one log"
is "$(q "$L" 'len(ev)')" $((6 * (2 + 1 + 40))) "  every event is there (6 x (start, sh, 40 echo, end))" ||
	diag "events by kind: $(q "$L" 'sorted(collections.Counter((e["event"], e.get("process.executable.name")) for e in ev).items())')"
is "$(q "$L" 'sorted(__import__("collections").Counter(e["sandbox"] for e in ev if e["event"] == "exec").values())')" \
	"[41, 41, 41, 41, 41, 41]" "  each session's exec events complete"

# ---- hutch log -------------------------------------------------------------------------------
L=$T/logs/deny.jsonl
hrun log "$L"
is "$RC" 0 "hutch log renders a log"
like "$OUT" "== session [0-9a-f]{16}" "  a header per session"
like "$OUT" "DENIED +exec \[[0-9]+\] \./bin/sudo rm -rf x \(rule \"sudo \*\"" "  refused commands with their rule"
like "$OUT" "exec +\[[0-9]+\] sh -c" "  the commands run"
like "$OUT" "end +exit 0" "  the end"
hrun log --type deny --json "$L"
is "$(printf '%s\n' "$OUT" | wc -l)" 2 "--type deny --json: the two deny events"
is "$(printf '%s\n' "$OUT" | "$PY" -c 'import json,sys; print(all(json.loads(l)["event"] == "deny" for l in sys.stdin))')" \
	True "  unchanged JSON, only deny"
sid=$(q "$T/logs/concurrent.jsonl" 'ev[0]["sandbox"]')
hrun log --session "${sid:0:6}" --json "$T/logs/concurrent.jsonl"
is "$(printf '%s\n' "$OUT" | wc -l)" 43 "--session PREFIX: one session's events"
hrun log "$T/logs/argv.jsonl"
if printf '%s' "$OUT" | LC_ALL=C grep -q $'\x1b'; then
	fail "hutch log never prints raw escape sequences from the sandbox"
else
	pass "hutch log never prints raw escape sequences from the sandbox"
fi
like "$OUT" "\\\\x1b\[31mred" "  it shows them escaped"
cp "$T/logs/basic.jsonl" "$T/damaged.jsonl"
printf '{"v":1,"ts":"2026-11-2\n' >>"$T/damaged.jsonl"
hrun log "$T/damaged.jsonl"
is "$RC" 1 "a damaged line: exit 1"
like "$ERR" "damaged.jsonl:5: not a JSON event" "  naming the line"

# ---- what the log accepts as its target, and policy files others could write ---------------
for dev in /dev/full /dev/null; do
	hrun run --audit "$dev" -- true
	is "$RC" 125 "--audit $dev: a character device is refused (125)"
	like "$ERR" "audit log $dev: not a regular file or a pipe" "  saying why"
done
echo '{}' >"$T/ow.json"
chmod 0666 "$T/ow.json"
hrun run -p "$T/ow.json" -- true
is "$RC" 125 "-p FILE writable by every user: refused (125)"
like "$ERR" "ow.json: writable by every user; refusing to use it as a policy" "  saying why"
chmod 0644 "$T/ow.json"
hrun run -p "$T/ow.json" -- true
is "$RC" 0 "  the same file without o+w is used"
# writable by the owner's own group: the primary group of the owner (in /etc/passwd), with
# no other member (in /etc/group), is private, and the file is used
gid=$(id -g)
grp=$(awk -F: -v g="$gid" '$3 == g {print $4; exit}' /etc/group)
if awk -F: -v u="$(id -u)" -v g="$gid" '$3 == u && $4 == g {f = 1} END {exit !f}' /etc/passwd &&
	awk -F: -v g="$gid" '$3 == g {f = 1} END {exit !f}' /etc/group &&
	{ [ -z "$grp" ] || [ "$grp" = "$(id -un)" ]; }; then
	chmod 0664 "$T/ow.json"
	hrun run -p "$T/ow.json" -- true
	is "$RC" 0 "-p FILE writable by the owner's private group ($(id -gn)): used"
	chmod 0644 "$T/ow.json"
else
	skip "$(id -un)'s primary group is not private in /etc/passwd and /etc/group" 1
fi
if [ "$(id -u)" = 0 ]; then
	# a group id no user has: not the owner's private group
	chown 0:54321 "$T/ow.json" && chmod 0664 "$T/ow.json"
	hrun run -p "$T/ow.json" -- true
	is "$RC" 125 "-p FILE writable by a group that is not the owner's own: refused"
	like "$ERR" "writable by a group shared with other users" "  saying why"
	chown 54321:0 "$T/ow.json" && chmod 0644 "$T/ow.json"
	hrun run -p "$T/ow.json" -- true
	is "$RC" 125 "-p FILE owned by another (non-root) user: refused"
	like "$ERR" "owned by another user" "  saying why"
	rm -f "$T/ow.json"
else
	skip "changing a file's owner or group to an unused id needs root" 4
fi

# ---- bounds: rate and size ------------------------------------------------------------------------
LOOP='i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done; echo finished'
L=$(newlog rate)
hrun run -q --audit "$L" -- sh -c "$LOOP"
is "$RC" 0 "an exec loop under the default bounds runs to its end"
# However fast the loop ran: every exec is either written or counted in a "suppressed" event.
is "$(q "$L" 'len([e for e in ev if e["event"] == "exec"]) + sum(e["count"] for e in ev if e["event"] == "suppressed" and e["suppressed.event"] == "exec") == ev[-1]["counts"]["exec"] == 3001')" True \
	"  exec events written + counts of the suppressed ones = counts.exec (nothing lost silently)"
is "$(q "$L" 'ev[-1].get("events_suppressed", 0) == sum(e["count"] for e in ev if e["event"] == "suppressed")')" True \
	"  end.events_suppressed is their sum"
is "$(q "$L" 'all(e["max_per_second"] == 1000 and e["window_ms"] == 1000 for e in ev if e["event"] == "suppressed")')" True \
	"  suppressed events say the bound (1000 a second)"

echo '{"audit": {"maxSize": "100K"}}' >"$T/cap.json"
L=$(newlog cap)
hrun run -p "$T/cap.json" --audit "$L" -- sh -c "$LOOP"
is "$RC" 125 "audit.maxSize reached: the sandbox is stopped (125)"
unlike "$OUT" "finished" "  before the command finished"
like "$ERR" "audit: the audit log reached its size bound for this session \(audit.maxSize, 102400 bytes\); the sandbox was stopped" \
	"  and hutch says why"
is "$(q "$L" '[e["event"] for e in ev[-2:]]')" "['limit', 'end']" "  the log ends with a limit event and end"
is "$(q "$L" 'ev[-2]["limit"]')" "audit.maxSize" "  limit: audit.maxSize"
like "$(q "$L" 'ev[-1]["error"]')" "size bound" "  end: the error"
size=$(stat -c %s "$L")
is "$((size <= 102400 + 4096))" 1 "  the log stayed within the bound (plus those two events): $size bytes"
echo '{"audit": {"maxSize": "1K"}}' >"$T/cap.json"
hrun run -p "$T/cap.json" -- true
is "$RC" 125 "audit.maxSize below 64K: refused"
like "$ERR" "invalid audit maxSize" "  saying why"

# ---- a log that cannot be written mid-run: fail closed --------------------------------------------
mkdir -p "$T/small"
if unshare -rm true 2>/dev/null; then
	# a 64 KiB tmpfs in a private mount namespace (unprivileged: unshare -r)
	out=$(cd "$WS" && timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -rm sh -c '
		mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
		"$2" run --audit "$1/a.jsonl" -- sh -c "$3"; echo "rc=$?"
		' sh "$T/small" "$HUTCH" "$LOOP" 2>&1)
	printf '%s\n' "$out" >>"$T/.transcript"
	if grep -q "^rc=" <<<"$out"; then
		like "$out" "rc=125" "the audit log's filesystem fills up mid-run: the sandbox is stopped (125)"
		unlike "$out" "finished" "  before the command finished"
		like "$out" "audit: cannot write the audit log: No space left on device; the sandbox was stopped" \
			"  and hutch says why"
	else
		skip "cannot mount a small tmpfs in a private mount namespace: $out" 3
	fi
else
	skip "unshare -rm is not available (no unprivileged user namespaces for the test itself)" 3
fi

# ---- every line of every log of this file ----------------------------------------------------
bad=$("$PY" - "${LOGS[@]}" <<'EOF'
import json, sys
bad = []
for f in sys.argv[1:]:
    try:
        data = open(f, "rb").read()
    except FileNotFoundError:
        continue
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            e = json.loads(line.decode("utf-8"))
            assert isinstance(e, dict)
            for k in ("v", "ts", "sandbox", "event"):
                assert k in e, k
            if e["event"] in ("exec", "deny", "net"):
                assert "decision" in e and "rule" in e, "decision/rule"
            if e["event"] in ("exec",) or e.get("layer") == "commands":
                for k in ("process.pid", "process.parent_pid", "process.executable.path",
                          "process.command_args", "process.working_directory"):
                    assert k in e, k
        except Exception as x:
            bad.append("%s:%d: %s" % (f, n, x))
    if data and not data.endswith(b"\n"):
        bad.append("%s: no final newline" % f)
print("\n".join(bad) if bad else "ok")
EOF
)
is "$bad" ok "every line of every audit log here is JSON with the required fields"

done_testing
