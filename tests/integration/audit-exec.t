#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit log tells the truth about execs: an exec the kernel refuses (no such file, a
# path of PATH_MAX bytes or more, a symlink loop, no execute bit, a directory, a noexec
# mount, an unknown format, a missing "#!" interpreter, argv too big) is an "exec_failed"
# event with the errno's name, never an "exec"; an exec that happens is one "exec" event;
# process.args_count is the real number of arguments even when only the first ones are
# kept (docs/audit.md).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

L=$T/exec.jsonl
# events EXPR: EXPR over the exec events `ev` and the exec_failed events `fe` of the log
# (python); `end` is the end event.
events() {
	"$PY" - "$L" "$1" <<'PYEOF'
import json, sys
all = [json.loads(l) for l in open(sys.argv[1], "rb")]
ev = [e for e in all if e["event"] == "exec"]
fe = [e for e in all if e["event"] == "exec_failed"]
end = [e for e in all if e["event"] == "end"][0]
print(eval(sys.argv[2]))
PYEOF
}
# failed NAME: the error.code of the exec_failed events whose path ends in /NAME, and how
# many exec events it has ("ENOEXEC 0").
failed() {
	events '" ".join([e["error.code"] for e in fe if e.get("process.executable.path", "").endswith("/'"$1"'")] + [str(len([e for e in ev if e.get("process.executable.path", "").endswith("/'"$1"'")]))])'
}

ln -s loop-b "$WS/loop-a"
ln -s loop-a "$WS/loop-b"
hrun run -q --audit "$L" -- "$PY" -c '
import errno, os, sys
def attempt(path):
    try:
        os.execv(path, [path])
    except OSError as e:
        print(errno.errorcode[e.errno])
attempt("/" + "d/" * 2100 + "x")
attempt("./loop-a")
attempt(os.getcwd() + "/loop-b")
'
is "$RC" 0 "the attempts ran"
is "$(words "$OUT")" "ENAMETOOLONG ELOOP ELOOP" "each exec failed in the kernel (too long, symlink loop)"
is "$(events '[e.get("process.executable.path", "")[-6:] for e in ev if "loop" in str(e.get("process.executable.path")) or len(str(e.get("process.executable.path"))) >= 4096]')" \
	"[]" "no exec event for a too-long path or a symlink loop"
is "$(events 'len(ev)')" 1 "  only the exec that happened (python itself) is logged"
is "$(events '[e["error.code"] for e in fe]')" "['ENAMETOOLONG', 'ELOOP', 'ELOOP']" \
	"  each attempt is an exec_failed event with the kernel's errno"
is "$(events 'end["counts"]["exec"], end["counts"]["exec_failed"]')" "(1, 3)" "  end counts them apart"

# Every kind of refusal, next to execs that happen. Each attempt is made by a child (the
# parent prints what the child's execv said).
printf 'plain text, not a program\n' >"$WS/text-x"
chmod 755 "$WS/text-x"
printf '#!/bin/sh\necho no-x ran\n' >"$WS/no-x"
chmod 644 "$WS/no-x"
printf '#!/nonexistent/interpreter\n' >"$WS/bad-interp"
chmod 755 "$WS/bad-interp"
printf '#!/bin/sh\necho script ran\n' >"$WS/good-script"
chmod 755 "$WS/good-script"
: >"$WS/empty-x"
chmod 755 "$WS/empty-x"
mkdir "$WS/a-dir"
ATTEMPTS='
import errno, os, sys
def attempt(path, args=None):
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(path, args or [path])
        except OSError as e:
            print(errno.errorcode[e.errno], flush=True)
            os._exit(1)
    os.waitpid(pid, 0)
for a in sys.argv[1:]:
    attempt(a)
attempt("/bin/true", ["true", "x" * 200000])
attempt("/bin/true", ["true"] + ["y" * 100000] * 70)
'
rm -f "$L"
hrun run -q --audit "$L" -- "$PY" -c "$ATTEMPTS" ./text-x ./no-x ./bad-interp ./empty-x \
	./a-dir "$WS/nonexistent" "./$(printf 'n%.0s' {1..300})" /bin/true ./good-script /bin/true
is "$RC" 0 "the attempts ran"
is "$(words "$OUT")" "ENOEXEC EACCES ENOENT ENOEXEC EACCES ENOENT ENAMETOOLONG script ran E2BIG E2BIG" \
	"the process saw the kernel's errors (and the good execs ran)"
is "$(failed text-x)" "ENOEXEC 0" "a file of no known format: exec_failed ENOEXEC, no exec"
is "$(failed empty-x)" "ENOEXEC 0" "an empty file: exec_failed ENOEXEC"
is "$(failed no-x)" "EACCES 0" "a file without an execute bit: exec_failed EACCES"
is "$(failed a-dir)" "EACCES 0" "a directory: exec_failed EACCES"
is "$(failed bad-interp)" "ENOENT 0" "a script whose interpreter does not exist: exec_failed ENOENT"
is "$(failed nonexistent)" "ENOENT 0" "no such file: exec_failed ENOENT"
is "$(events 'sum(1 for e in fe if e["error.code"] == "ENAMETOOLONG" and e["process.executable.path"].endswith("n" * 300))')" \
	1 "a name longer than NAME_MAX: exec_failed ENAMETOOLONG"
is "$(events '[e["process.args_count"] for e in fe if e["error.code"] == "E2BIG"]')" "[2, 71]" \
	"argv too big (one string, all of them): exec_failed E2BIG, with the real args_count"
is "$(events 'sum(1 for e in ev if e.get("process.executable.path") == "/bin/true")')" 2 \
	"an exec that happens is logged once each (/bin/true twice)"
is "$(failed good-script)" "1" "  a script that runs: one exec event"
is "$(events '[e.get("error.message") for e in fe if e["error.code"] == "ENOEXEC"][:1]')" \
	"['Exec format error']" "  error.message is the errno's text"
is "$(events 'end["counts"]["exec_failed"], len(fe)')" "(9, 9)" "  end counts the exec_failed events"

# What the supervisor cannot look up as the process would (/proc/self is the looker's) is
# left to the kernel: those execs run, and are logged as exec.
ln -s /proc/self/exe "$WS/self-link"
rm -f "$L"
hrun run -q --audit "$L" -- "$PY" -c '
import os, sys
if len(sys.argv) > 1:
    print("again", sys.argv[1])
    sys.exit(0)
pid = os.fork()
if pid == 0:
    os.execv("/proc/self/exe", ["python3", "-c", "import sys; print(\"self\")"])
os.waitpid(pid, 0)
os.execv("./self-link", ["python3", "-c", "print(\"link\")"])
'
is "$(words "$OUT")" "self link" "exec of /proc/self/exe, and of a symlink to it, run"
is "$(events 'len(fe)')" 0 "  no exec_failed event for them"

# The same with command rules: a refused exec is still an exec_failed event, not an exec.
printf '{"commands": {"deny": ["sudo *"]}}\n' >"$T/rules.json"
rm -f "$L"
hrun run -q -p "$T/rules.json" --audit "$L" -- "$PY" -c "$ATTEMPTS" ./text-x ./no-x /bin/true
is "$(words "$OUT")" "ENOEXEC EACCES E2BIG E2BIG" "with command rules: the same errors"
is "$(failed text-x) / $(failed no-x)" "ENOEXEC 0 / EACCES 0" "  exec_failed events, no exec"
is "$(events 'sum(1 for e in ev if e.get("process.executable.path") == "/bin/true")')" 1 \
	"  the good exec is logged once"

# A noexec mount (made in a user and mount namespace of the test's own, where hutch runs).
mkdir "$WS/noexec"
rm -f "$L"
LAST_CMD="hutch run (noexec mount)"
timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -rm sh -c '
	mount -t tmpfs -o noexec,mode=755 tmpfs "$1/noexec" || exit 99
	printf "#!/bin/sh\necho ran\n" >"$1/noexec/prog" && chmod 755 "$1/noexec/prog"
	shift
	exec "$@"' sh "$WS" "$HUTCH" run -q --audit "$L" -- "$PY" -c "$ATTEMPTS" ./noexec/prog \
	>"$T/.out" 2>"$T/.err"
RC=$?
OUT=$(cat "$T/.out")
if [ "$RC" = 99 ]; then
	skip "no tmpfs mount in a user namespace here: $(cat "$T/.err")" 2
else
	is "$(words "$OUT")" "EACCES E2BIG E2BIG" "a file on a noexec mount: EACCES"
	is "$(failed prog)" "EACCES 0" "  exec_failed EACCES, no exec"
fi

rm -f "$L"
hrun run -q --audit "$L" -- "$PY" -c 'import os; os.execv("/bin/true", ["true"] + ["a"] * 69999)'
is "$RC" 0 "an exec with 70000 arguments ran"
is "$(events '[e["process.args_count"] for e in ev if e.get("process.executable.name") == "true"]')" \
	"[70000]" "process.args_count is 70000 (the real count, not capped)"
is "$(events '[len(e["process.command_args"]) < 70000 and e.get("truncated") for e in ev if e.get("process.executable.name") == "true"]')" \
	"[True]" "  the arguments kept are capped, and flagged truncated"

done_testing
