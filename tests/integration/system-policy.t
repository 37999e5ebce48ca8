#!/bin/bash
# The administrator's policy (/etc/hutch/policy.json) cannot be loosened by
# anything after it: user policy, -p files, flags. The test binds a policy over
# /etc/hutch in a private mount namespace (unshare -rm), so nothing is written
# to the real /etc/hutch.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if [ ! -d /etc/hutch ]; then
	if [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
		fail "/etc/hutch exists (created by .ci/run) so a test policy can be bound over it"
		done_testing
	fi
	skip_all "/etc/hutch does not exist (mkdir -p /etc/hutch as root to run this test)"
fi

sysdir=$T/etc-hutch
mkdir -p "$sysdir"
cat >"$sysdir/policy.json" <<'JSON'
{
  "filesystem": { "hidden": ["/var/lib/hutch-tests/system-hidden-marker"] },
  "network": { "mode": "none", "allowPrivate": false },
  "env": { "drop": ["COMPANY_*"] },
  "limits": { "pids": 500 }
}
JSON
chmod 644 "$sysdir/policy.json"

# sysrun ARGS...: hutch with the test system policy in force.
sysrun() {
	LAST_CMD="(system policy) hutch $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -rm sh -c \
		'mount --bind "$0" /etc/hutch && exec "$@"' "$sysdir" "$HUTCH" "$@" \
		>"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	cat "$T/.out" "$T/.err" >>"$T/.transcript"
}

sysrun policy show
is "$RC" 0 "policy show works with a system policy"
like "$OUT" "system-hidden-marker" "  and includes the system policy's hidden path"

sysrun run --net host -- true
is "$RC" 125 "--net host is refused when the system policy says none"
like "$ERR" "system" "  and the message points at the system policy"

sysrun run -a example.com -- true
is "$RC" 125 "-a (proxy mode) is refused when the system policy says none"

sysrun run --pids 1000 -- true
is "$RC" 125 "a limit above the system's ceiling is refused"

sysrun run --pids 100 -- true
is "$RC" 0 "a limit below the system's ceiling is fine"

COMPANY_SECRET=s3cr3t sysrun run -e COMPANY_SECRET -- sh -c 'echo "[${COMPANY_SECRET:-}]"'
is "$OUT" "[]" "-e cannot pass a variable the system policy drops"

mkdir -p "$XDG_CONFIG_HOME/hutch"
echo '{ "network": { "mode": "host" } }' >"$XDG_CONFIG_HOME/hutch/policy.json"
sysrun run -- true
is "$RC" 125 "a user policy asking for more network than the system allows is refused"
rm -f "$XDG_CONFIG_HOME/hutch/policy.json"

done_testing
