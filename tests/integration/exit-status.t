#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exit status (docs/hutch.1.scd, EXIT STATUS): the command's own; 128+N for signal N; 125 hutch's own
# errors; 126 not executable; 127 not found. Messages as "hutch: <what>: <why>".
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

for st in 0 1 3 42 255; do
	hrun run -- sh -c "exit $st"
	is "$RC" "$st" "exit $st inside -> hutch exits $st"
done

hrun run -- false
is "$RC" 1 "false -> 1"

hrun run -- sh -c 'kill -TERM $$'
is "$RC" 143 "command killed by SIGTERM -> 143"
hrun run -- sh -c 'kill -KILL $$'
is "$RC" 137 "command killed by SIGKILL -> 137"
hrun run -- sh -c 'kill -SEGV $$'
is "$RC" 139 "command killed by SIGSEGV -> 139"
unlike "$ERR" "core dumped" "no core dump reported for SIGSEGV (core dumps off)"

# ---- a command that makes hutch's init its tracer cannot change the exit status ----------
# ptrace(PTRACE_TRACEME) makes the parent (init) the tracer: the command's signal stops then
# reach init's waitpid(). They are neither the end of the command nor a reason for 125.
if [ -x "$PY" ]; then
	cat >traceme.py <<'EOF'
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0, 0, None, None) != 0:  # PTRACE_TRACEME
    print("traceme-failed", ctypes.get_errno())
    sys.exit(99)
if sys.argv[1] == "exec":
    os.execv("/bin/sh", ["sh", "-c", "exit 5"])
os.kill(os.getpid(), getattr(signal, sys.argv[1]))
print("survived", flush=True)
sys.exit(7)
EOF
	hrun run -- "$PY" traceme.py SIGUSR1
	is "$RC" 138 "PTRACE_TRACEME, then SIGUSR1 -> 138 (128+10), not 125"
	hrun run -- "$PY" traceme.py SIGTERM
	is "$RC" 143 "PTRACE_TRACEME, then SIGTERM -> 143"
	hrun run -- "$PY" traceme.py SIGCHLD
	is "$RC:$OUT" "7:survived" "PTRACE_TRACEME, then an ignored signal: it goes on, its own status"
	hrun run -- "$PY" traceme.py exec
	is "$RC" 5 "PTRACE_TRACEME, then execve: the command's own status (no stray SIGTRAP)"
else
	skip "python3 is not installed (the PTRACE_TRACEME checks use ctypes)" 4
fi

# ---- not found / not executable ------------------------------------------------------
PATH=/usr/local/bin:/usr/bin:/bin hrun run -- hutch-no-such-command-xyz
is "$RC" 127 "a command not in PATH -> 127"
like "$ERR" "^hutch: .*hutch-no-such-command-xyz" "  with a 'hutch: ...' message naming the command"
like "$ERR" "[Nn]ot found|No such file or directory" "  saying it was not found"

# A PATH entry that cannot be searched does not turn "not found" into "not executable"
# (sh and bash say 127 here too; execvp alone would report EACCES).
mkdir -m 000 "$T/no-access"
PATH="$T/no-access:/usr/bin:/bin" hrun run -- hutch-no-such-command-xyz
is "$RC" 127 "not found with an unsearchable directory in PATH -> still 127"
like "$ERR" "[Nn]ot found|No such file or directory" "  saying it was not found"

hrun run -- /nonexistent/dir/cmd
is "$RC" 127 "a missing absolute path -> 127"
like "$ERR" "^hutch: .*/nonexistent/dir/cmd" "  with a message naming the path"

printf '#!/bin/sh\necho should-not-run\n' >not-executable.sh
chmod 644 not-executable.sh
hrun run -- ./not-executable.sh
is "$RC" 126 "a file without execute permission -> 126"
like "$ERR" "^hutch: .*not-executable\.sh.*Permission denied" "  with 'hutch: ...: Permission denied'"
unlike "$OUT" "should-not-run" "  and it did not run"

mkdir a-directory
hrun run -- ./a-directory
is "$RC" 126 "a directory as the command -> 126"

# ---- hutch's own errors: 125 ---------------------------------------------------------
printf '{ "filesystem": [ }\n' >bad.json
hrun run -p bad.json -- true
is "$RC" 125 "a bad policy file -> 125"
like "$ERR" "^hutch: " "  message starts with 'hutch: '"

hrun run --hutch-no-such-option -- true
is "$RC" 125 "an unknown option -> 125"
like "$ERR" "hutch-no-such-option" "  the message names the option"

hrun run -C "$T/no-such-workspace" -- true
is "$RC" 125 "a workspace that does not exist -> 125"
like "$ERR" "^hutch: .*no-such-workspace" "  the message names the workspace"

hrun run --profile no-such-profile -- true
is "$RC" 125 "an unknown profile -> 125"
like "$ERR" "no-such-profile" "  the message names the profile"

hrun run --net sometimes -- true
is "$RC" 125 "an invalid --net mode -> 125"

hrun run
is "$RC" 125 "hutch run without a command -> 125"

hrun run -- sh -c 'exit 125'
is "$RC" 125 "the command's own 125 still passes through"

done_testing
