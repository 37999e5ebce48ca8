#!/bin/bash
# The administrator's policy (/etc/hutch/policy.json) cannot be loosened by
# anything after it: user policy, -p files, flags. hutch runs in a private mount
# namespace where /etc/hutch is a directory of this test (hrun_etc_hutch in
# tests/lib.sh), whether or not this machine has an /etc/hutch: nothing is
# written to the real /etc.
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

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
sysrun() { hrun_etc_hutch "$sysdir" "$@"; }

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

# With an empty /etc/hutch the same command runs: the refusals above came from the test
# policy, not from this machine.
mkdir -p "$T/etc-hutch-empty"
hrun_etc_hutch "$T/etc-hutch-empty" run --pids 1000 -- true
is "$RC" 0 "with an empty /etc/hutch, the same --pids 1000 runs"
sysrun run -- sh -c 'test -s /etc/passwd && cat /etc/hutch/policy.json'
is "$RC" 0 "inside, the rest of /etc is the host's and /etc/hutch is the test's"
like "$OUT" "system-hidden-marker" "  (the sandbox reads the test policy at /etc/hutch/policy.json)"

done_testing
