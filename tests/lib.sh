# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034
#
# tests/lib.sh: sourced by every tests/integration/*.t and tests/escape/*.t script.
#
#   . "$(dirname "$0")/../lib.sh"
#   require_sandbox
#   hrun run -- true; is "$RC" 0 "true exits 0"
#   done_testing
#
# What it gives a test script:
#   - TAP: plan, ok, pass, fail, is, isnt, like, unlike, skip, skip_all, diag, note,
#     bail_out, done_testing (which also checks that no fake secret leaked into any
#     output of hutch).
#   - HUTCH: the binary (env HUTCH, default <repo>/build/src/cli/hutch).
#   - A fresh directory $T (removed on exit) holding a fake $HOME full of fake secrets
#     (each file carries $SECRET_MARK) and a workspace $WS (a git repository with one
#     commit), with HOME, XDG_* pointing there. The script runs with cwd = $WS and
#     stdin = /dev/null.
#   - hrun ARGS...: runs "$HUTCH" ARGS under a watchdog, sets RC, OUT, ERR.
#     hrun_bg ARGS...: starts hutch in the background, sets HPID; wait_hutch collects it.
#     hrun_etc_hutch DIR ARGS...: hrun with DIR as /etc/hutch, in a private namespace.
#
# Running as another user: with HUTCH_TEST_USER=NAME (e.g. hutchtest) and uid 0, each
# script re-executes itself as that user (setpriv), so everything — the fake home, the
# workspace, hutch itself — belongs to that unprivileged user. Running the whole prove
# as that user (setpriv ... prove) is equivalent.
#
# Temporary directories are NOT under /tmp, /var/tmp, /run or /dev/shm: those are private
# inside the sandbox, so a fake $HOME there would be invisible and the hidden-path tests
# would pass for the wrong reason. Base: $HUTCH_TEST_TMPDIR, else /var/lib/hutch-tests
# (mode 1777, created by root), else ${XDG_CACHE_HOME:-$HOME/.cache}/hutch-tests.
#
# HUTCH_MUST_WORK=1 turns "user namespaces are not usable here" from a skip into a failure.

set -u

HUTCH_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
HUTCH_REPO=$(dirname "$HUTCH_TESTS_DIR")
HUTCH=${HUTCH:-$HUTCH_REPO/build/src/cli/hutch}
case $HUTCH in /*) ;; *) HUTCH=$PWD/$HUTCH ;; esac
export HUTCH
HUTCH_TEST_TIMEOUT=${HUTCH_TEST_TIMEOUT:-20}
# The system python (also what the sandbox sees: /usr is visible inside, /root is not).
PY=/usr/bin/python3
HUTCH_HELPERS=${HUTCH_HELPERS:-$(dirname "$(dirname "$(dirname "$HUTCH")")")/tests/helpers}

_t_base_dir() {
	if [ -n "${HUTCH_TEST_TMPDIR:-}" ]; then
		mkdir -p "$HUTCH_TEST_TMPDIR" && printf '%s\n' "$HUTCH_TEST_TMPDIR"
		return
	fi
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /var/lib/hutch-tests && chmod 1777 /var/lib/hutch-tests
		printf '%s\n' /var/lib/hutch-tests
		return
	fi
	if [ -d /var/lib/hutch-tests ] && [ -w /var/lib/hutch-tests ]; then
		printf '%s\n' /var/lib/hutch-tests
		return
	fi
	local d=${XDG_CACHE_HOME:-$HOME/.cache}/hutch-tests
	mkdir -p "$d" && printf '%s\n' "$d"
}

# ---- re-execute as the unprivileged test user ------------------------------------------

if [ -n "${HUTCH_TEST_USER:-}" ] && [ "$(id -u)" = 0 ] && [ "$HUTCH_TEST_USER" != root ] &&
	[ -z "${_HUTCH_TEST_REEXEC:-}" ]; then
	if ! id -u "$HUTCH_TEST_USER" >/dev/null 2>&1; then
		if [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
			echo "1..1"
			echo "not ok 1 - test user $HUTCH_TEST_USER exists (create it: useradd -m $HUTCH_TEST_USER)"
			exit 1
		fi
		echo "1..0 # SKIP test user $HUTCH_TEST_USER does not exist (useradd -m $HUTCH_TEST_USER)"
		exit 0
	fi
	_t_base_dir >/dev/null
	export _HUTCH_TEST_REEXEC=1
	exec setpriv --reuid="$HUTCH_TEST_USER" --regid="$HUTCH_TEST_USER" --init-groups \
		-- "$BASH" "$0" "$@"
fi

# ---- TAP -----------------------------------------------------------------------------

_T_N=0
_T_FAILED=0
_T_PLANNED=
_T_DONE=0
LAST_CMD=
RC=
OUT=
ERR=

plan() {
	_T_PLANNED=$1
	echo "1..$1"
}

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line" >&2
	done <<<"$*"
}

note() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

_t_last_run_diag() {
	[ -n "$LAST_CMD" ] || return 0
	diag "last: $LAST_CMD -> exit $RC"
	[ -n "$OUT" ] && diag "stdout: $(printf '%s' "$OUT" | head -c 1500)"
	[ -n "$ERR" ] && diag "stderr: $(printf '%s' "$ERR" | head -c 1500)"
	return 0
}

# The first caller outside this file: "file line N".
_t_where() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[i]}" != "${BASH_SOURCE[0]}" ]; then
			echo "${BASH_SOURCE[i]} line ${BASH_LINENO[i - 1]}"
			return
		fi
	done
}

# ok STATUS NAME: STATUS is a shell status (0 = pass). Returns STATUS.
ok() {
	local st=$1
	shift
	_T_N=$((_T_N + 1))
	if [ "$st" = 0 ]; then
		echo "ok $_T_N - $*"
	else
		echo "not ok $_T_N - $*"
		_T_FAILED=$((_T_FAILED + 1))
		diag "  Failed test '$*' ($(_t_where))"
		_t_last_run_diag
	fi
	return "$st"
}

pass() { ok 0 "$@"; }
fail() { ok 1 "$@"; }

# check NAME CMD ARGS...: ok if the command succeeds.
check() {
	local name=$1
	shift
	"$@"
	ok $? "$name"
}

is() {
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "       got: '$got'"
		diag "  expected: '$want'"
		return 1
	fi
}

isnt() {
	local got=$1 unwanted=$2
	shift 2
	if [ "$got" != "$unwanted" ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "       got: '$got'"
		diag "  expected: anything else"
		return 1
	fi
}

# like GOT ERE NAME
like() {
	local got=$1 re=$2
	shift 2
	if grep -Eq -- "$re" <<<"$got"; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "                  '$(printf '%s' "$got" | head -c 1500)'"
		diag "    doesn't match '$re'"
		return 1
	fi
}

unlike() {
	local got=$1 re=$2
	shift 2
	if ! grep -Eq -- "$re" <<<"$got"; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "                  '$(printf '%s' "$got" | head -c 1500)'"
		diag "          matches '$re'"
		return 1
	fi
}

# skip REASON [COUNT]
skip() {
	local reason=$1 n=${2:-1} i
	for ((i = 0; i < n; i++)); do
		_T_N=$((_T_N + 1))
		echo "ok $_T_N # skip $reason"
	done
}

skip_all() {
	if [ "$_T_N" = 0 ] && [ -z "$_T_PLANNED" ]; then
		echo "1..0 # SKIP $*"
		_T_DONE=1
		exit 0
	fi
	diag "skipping the rest: $*"
	done_testing
}

bail_out() {
	echo "Bail out! $*"
	_T_DONE=1
	exit 255
}

done_testing() {
	if [ -n "${SECRET_MARK:-}" ] && [ -f "$T/.transcript" ]; then
		if grep -Fq -- "$SECRET_MARK" "$T/.transcript"; then
			LAST_CMD=
			fail "no fake secret (marker $SECRET_MARK) in any output of hutch in this file"
			diag "$(grep -F -- "$SECRET_MARK" "$T/.transcript" | head -5)"
		else
			pass "no fake secret in any output of hutch in this file"
		fi
	fi
	[ -z "$_T_PLANNED" ] && echo "1..$_T_N"
	_T_DONE=1
	if [ -n "$_T_PLANNED" ] && [ "$_T_PLANNED" != "$_T_N" ]; then
		diag "planned $_T_PLANNED tests but ran $_T_N"
		exit 255
	fi
	[ "$_T_FAILED" -gt 254 ] && exit 254
	exit "$_T_FAILED"
}

# ---- environment: fake home, workspace -----------------------------------------------

# starttime PID: the start time of process PID (empty once it is gone), read after the
# command name, which may hold spaces. _t_starttime PID sets STARTTIME instead of printing
# it: no process is started (a loop over /proc must stay cheap on a loaded machine).
_t_starttime() {
	local s f
	STARTTIME=
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 0
	read -r -a f <<<"${s##*) }"
	STARTTIME=${f[19]:-}
}
starttime() {
	_t_starttime "$1"
	[ -z "$STARTTIME" ] || echo "$STARTTIME"
}

# Processes to end with the script, as "PID START" (start time from starttime): a pid is
# given again to a new process once its own has been reaped (a fork bomb in a test running
# beside this one goes through all of them in seconds), and killing by number alone could
# hit another test's process, or anything else on the machine.
_T_BG_PIDS=()

_t_cleanup() {
	local st=$? p
	for p in "${_T_BG_PIDS[@]}"; do
		_t_same_process "${p% *}" "${p#* }" || continue
		{
			kill -KILL "${p% *}"
			wait "${p% *}"
		} 2>/dev/null
	done
	if [ -n "${T:-}" ] && [ -d "$T" ] && [ -z "${HUTCH_TEST_KEEP:-}" ]; then
		cd / || true
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	elif [ -n "${T:-}" ]; then
		echo "# kept $T" >&2
	fi
	return "$st"
}
trap _t_cleanup EXIT

# bg_register PID...: end these processes (those still running) when the script ends.
bg_register() {
	local p
	for p in "$@"; do
		_t_starttime "$p"
		[ -z "$STARTTIME" ] || _T_BG_PIDS+=("$p $STARTTIME")
	done
}

# _t_same_process PID START: true while PID is still the process that started at START.
_t_same_process() {
	_t_starttime "$1"
	[ -n "$2" ] && [ "$STARTTIME" = "$2" ]
}

# Files that hutch hides by default, each with the fake secret marker in it.
FAKE_SECRET_FILES=(
	.ssh/id_ed25519 .ssh/id_rsa .ssh/config
	.aws/credentials .aws/config
	.gnupg/private-keys-v1.d/key.key
	.config/gh/hosts.yml .config/gcloud/credentials.db .azure/accessTokens.json
	.kube/config .docker/config.json
	.netrc .git-credentials .npmrc .pypirc
	.cargo/credentials.toml .terraform.d/credentials.tfrc.json .vault-token
	.claude.json .claude/.credentials.json .codex/auth.json .config/gemini/oauth.json
)

make_fake_home() {
	local h=$1 f
	mkdir -p "$h"
	for f in "${FAKE_SECRET_FILES[@]}"; do
		mkdir -p "$h/$(dirname "$f")"
		printf '%s %s\n' "$SECRET_MARK" "$f" >"$h/$f"
	done
	chmod 700 "$h/.ssh" "$h/.gnupg"
	chmod 600 "$h/.ssh/id_ed25519" "$h/.ssh/id_rsa" "$h/.aws/credentials" "$h/.netrc"
	# Not a secret: must stay readable inside, so a test can tell "hidden" from
	# "the whole home is missing".
	echo "hutch-visible-note" >"$h/notes.txt"
	mkdir -p "$h/.config" "$h/.cache" "$h/.local/state" "$h/.local/share"
}

make_git_repo() {
	local d=$1
	mkdir -p "$d"
	git -C "$d" init -q
	git -C "$d" config user.name "Hutch Test"
	git -C "$d" config user.email "test@hutch.invalid"
	git -C "$d" config commit.gpgsign false
	echo "readme of $(basename "$d")" >"$d/README"
	git -C "$d" add README
	git -C "$d" commit -q -m "initial commit"
}

# same_tree BEFORE AFTER NAME: ok if two tree_snapshot outputs are equal, else diag the diff.
same_tree() {
	local before=$1 after=$2
	shift 2
	if [ "$before" = "$after" ]; then
		ok 0 "$@"
	else
		LAST_CMD=
		ok 1 "$@"
		diag "$(diff <(echo "$before") <(echo "$after") | head -40)"
		return 1
	fi
}

# Snapshot of a tree: every path, its type and for files a hash. For before/after diffs.
tree_snapshot() {
	(cd "$1" && find . -printf '%p %y\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

T=$(mktemp -d "$(_t_base_dir)/t.XXXXXX") || bail_out "cannot create a temporary directory"
chmod 755 "$T"
T=$(cd "$T" && pwd -P)
SECRET_MARK="hutch-fake-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export HOME=$T/home
make_fake_home "$HOME"
export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache
export XDG_STATE_HOME=$HOME/.local/state XDG_DATA_HOME=$HOME/.local/share
export XDG_RUNTIME_DIR=$T/xdg-runtime
mkdir -m 700 "$XDG_RUNTIME_DIR"
export GIT_CONFIG_NOSYSTEM=1 LC_ALL=C.UTF-8 TERM=xterm-256color
unset SSH_AUTH_SOCK GPG_AGENT_INFO DBUS_SESSION_BUS_ADDRESS GITHUB_TOKEN GH_TOKEN \
	AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN 2>/dev/null
WS=$T/ws
make_git_repo "$WS" >/dev/null || bail_out "cannot create the test workspace (git)"
TEST_UID=$(id -u)
TEST_GID=$(id -g)
TEST_USER=$(id -un)
cd "$WS" || bail_out "cd $WS"
exec </dev/null

# ---- running hutch -------------------------------------------------------------------

# hrun ARGS...: run hutch (stdin inherited), set RC, OUT, ERR (trailing newlines stripped).
hrun() {
	LAST_CMD="hutch $*"
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$HUTCH" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	cat "$T/.out" "$T/.err" >>"$T/.transcript"
	if [ "$RC" = 124 ]; then
		diag "watchdog: '$LAST_CMD' did not finish within ${HUTCH_TEST_TIMEOUT}s (or exited 124)"
	fi
	return 0
}

# hrun_etc_hutch DIR ARGS...: like hrun, with DIR standing in for /etc/hutch (the system
# policy's directory), whether or not this machine has one. hutch runs in a private user
# and mount namespace (unshare -rm) whose /etc is a view of the real one: a tmpfs holding
# each entry of /etc bound in from the host (symbolic links copied), and hutch -> DIR.
# Nothing is written to the real /etc, and the namespace ends with the command.
hrun_etc_hutch() {
	local dir=$1 view
	shift
	LAST_CMD="(/etc/hutch = $dir) hutch $*"
	view=$(mktemp -d "$T/.etc-view.XXXXXX")
	timeout -k 5 "$HUTCH_TEST_TIMEOUT" unshare -rm "$PY" -c "$ETC_VIEW_PY" "$dir" "$view" \
		"$HUTCH" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	rmdir "$view"
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	cat "$T/.out" "$T/.err" >>"$T/.transcript"
	return 0
}

ETC_VIEW_PY='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_BIND, MS_REC = 4096, 16384
def mount(src, dst, fstype, flags, data=None):
    if libc.mount(src.encode(), dst.encode(), fstype and fstype.encode(), flags, data) != 0:
        sys.exit("etc view: mount %s on %s: %s" % (src, dst, os.strerror(ctypes.get_errno())))
sysdir, view, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
mount("tmpfs", view, "tmpfs", 0, b"mode=755")
for name in os.listdir("/etc"):
    if name == "hutch":
        continue
    src, dst = "/etc/" + name, view + "/" + name
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        continue
    if os.path.isdir(src):
        os.mkdir(dst)
    else:
        open(dst, "w").close()
    mount(src, dst, None, MS_BIND | MS_REC)
os.mkdir(view + "/hutch")
mount(sysdir, view + "/hutch", None, MS_BIND)
mount(view, "/etc", None, MS_BIND | MS_REC)
os.execv(argv[0], argv)
'

# hrun_bg ARGS...: start hutch in the background with SIGINT/SIGQUIT at their defaults (a
# background job of a script inherits them ignored; a terminal's foreground job does not),
# and SIGHUP and SIGTERM too: a suite started under nohup would otherwise hand hutch a
# SIGHUP it must ignore, as nohup asks.
# Sets HPID (hutch's pid); output goes to $T/.bg.out and $T/.bg.err. A small subshell waits
# for hutch and records its status, so that killing hutch prints no job notice.
hrun_bg() {
	LAST_CMD="hutch $* (background)"
	_T_BG_CMD=$LAST_CMD
	rm -f "$T/.bg.pid" "$T/.bg.rc"
	(
		env --default-signal=HUP,INT,QUIT,TERM "$HUTCH" "$@" >"$T/.bg.out" 2>"$T/.bg.err" &
		echo $! >"$T/.bg.pid"
		wait $!
		echo $? >"$T/.bg.rc"
	) 2>/dev/null &
	_T_BG_WRAPPER=$!
	while [ ! -s "$T/.bg.pid" ]; do
		sleep 0.01
	done
	HPID=$(cat "$T/.bg.pid")
	_t_starttime "$HPID"
	_T_HPID_START=$STARTTIME
	bg_register "$HPID" "$_T_BG_WRAPPER"
}

# _t_alive PID [START]: PID runs and is not a zombie (and, given START, is still that process).
_t_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ] || return 1
	[ -z "${2+x}" ] || [ "$(cut -d' ' -f20 <<<"$s")" = "$2" ]
}

# wait_hutch [SECS]: wait for $HPID, set RC, OUT, ERR. If it is still running after SECS
# (default the watchdog timeout) it is killed and RC is set to "timeout".
wait_hutch() {
	local secs=${1:-$HUTCH_TEST_TIMEOUT} i timedout=0
	for ((i = 0; i < secs * 10; i++)); do
		_t_alive "$HPID" "$_T_HPID_START" || break
		sleep 0.1
	done
	if _t_alive "$HPID" "$_T_HPID_START"; then
		kill -KILL "$HPID" 2>/dev/null
		timedout=1
	fi
	wait "$_T_BG_WRAPPER" 2>/dev/null
	RC=$(cat "$T/.bg.rc" 2>/dev/null || echo unknown)
	[ "$timedout" = 1 ] && RC=timeout
	LAST_CMD=$_T_BG_CMD
	OUT=$(cat "$T/.bg.out")
	ERR=$(cat "$T/.bg.err")
	cat "$T/.bg.out" "$T/.bg.err" >>"$T/.transcript"
	return 0
}

# wait_for_file PATH [SECS]: true once PATH exists.
wait_for_file() {
	local i
	for ((i = 0; i < ${2:-$HUTCH_TEST_TIMEOUT} * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# pidns_members NSFILE: "PID STARTTIME" of each process in the pid namespace that NSFILE
# (/proc/PID/ns/pid of a process in it) is. A namespace's inode number may be given to a new
# namespace once it is gone (a test running beside this one makes many), so what is left is
# told by these pairs, not by the inode alone.
pidns_members() {
	local p
	[ -e "$1" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$p/ns/pid" -ef "$1" ] 2>/dev/null || continue
		# gone between the two reads (a fork bomb's processes come and go): nothing to
		# record, and an empty start time would match any pid that no longer exists
		_t_starttime "${p#/proc/}"
		[ -z "$STARTTIME" ] || echo "${p#/proc/} $STARTTIME"
	done
}

# pidns_survivors FILE: how many of the "PID STARTTIME" lines of FILE still run.
pidns_survivors() {
	local pid st n=0
	while read -r pid st; do
		[ -n "$st" ] || continue
		_t_starttime "$pid"
		if [ "$STARTTIME" = "$st" ]; then
			n=$((n + 1))
			diag "left: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) $(readlink "/proc/$pid/ns/pid" 2>/dev/null) $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)"
		fi
	done <"$1"
	echo "$n"
}

# wait_no_process ERE [SECS]: true once no process's full command line matches ERE.
wait_no_process() {
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# wait_process PATTERN [SECONDS]: until a process matching PATTERN (pgrep -f) runs (1 if never).
wait_process() {
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		pgrep -f -- "$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A TCP service on the host's loopback that answers every connection with "HUTCH-HTTP-OK".
# Sets SRV_PORT, SRV_PID. start_loopback_service_under CMD...: the server is executed by CMD
# (nsenter into another namespace's loopback: oci-docker-rootless.t).
start_loopback_service() { start_loopback_service_under env; }
start_loopback_service_under() {
	local portfile=$T/.srv-port
	rm -f "$portfile"
	"$@" "$PY" - "$portfile" <<'EOF' &
import socket, sys, os
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(tmp, sys.argv[1])
import select
while True:
    c, _ = s.accept()
    try:
        # Take the request first (when one comes): closing with unread bytes sends a
        # reset, which can overtake the answer on its way through a proxy.
        if select.select([c], [], [], 0.3)[0]:
            c.recv(65536)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\nHUTCH-HTTP-OK\n")
        c.shutdown(socket.SHUT_WR)
        c.settimeout(0.3)
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass
    except OSError:
        pass
    finally:
        c.close()
EOF
	SRV_PID=$!
	bg_register "$SRV_PID"
	wait_for_file "$portfile" 10 || bail_out "loopback test service did not start"
	SRV_PORT=$(cat "$portfile")
}

# A Unix socket listener (path, or @name for abstract) answering "HUTCH-UNIX-OK".
start_unix_service() {
	local path=$1 ready=$T/.unix-ready.$RANDOM
	"$PY" - "$path" "$ready" <<'EOF' &
import socket, sys
p = sys.argv[1]
addr = "\0" + p[1:] if p.startswith("@") else p
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(addr)
s.listen(16)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"HUTCH-UNIX-OK\n")
    finally:
        c.close()
EOF
	bg_register $!
	wait_for_file "$ready" 10 || bail_out "unix test service on $path did not start"
}

# Python snippet for inside the sandbox: connect to argv[1] (host:port or a unix path or
# @abstract), print what came back or "error: <strerror>".
CONNECT_PY='
import socket, sys
a = sys.argv[1]
try:
    if a.startswith("/") or a.startswith("@"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect("\0" + a[1:] if a.startswith("@") else a)
        print(s.recv(100).decode().strip())
    else:
        h, p = a.rsplit(":", 1)
        s = socket.create_connection((h.strip("[]"), int(p)), timeout=5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print(s.recv(200).decode().strip().splitlines()[-1])
except OSError as e:
    print("error: " + (e.strerror or str(e)))
'

# ---- feature gates --------------------------------------------------------------------

_t_userns_problem() {
	local v
	if [ -r /proc/sys/user/max_user_namespaces ]; then
		v=$(cat /proc/sys/user/max_user_namespaces)
		[ "$v" = 0 ] && { echo "user namespaces disabled (user.max_user_namespaces = 0)"; return; }
	fi
	if [ "$(id -u)" != 0 ] && [ -r /proc/sys/kernel/unprivileged_userns_clone ]; then
		v=$(cat /proc/sys/kernel/unprivileged_userns_clone)
		[ "$v" = 0 ] && { echo "unprivileged user namespaces disabled (kernel.unprivileged_userns_clone = 0)"; return; }
	fi
	if command -v unshare >/dev/null; then
		if ! v=$(unshare --user --map-current-user --mount true 2>&1); then
			if [ -r /proc/sys/kernel/apparmor_restrict_unprivileged_userns ] &&
				[ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns)" = 1 ]; then
				echo "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): $v"
			else
				echo "cannot create a user namespace as $(id -un): $v"
			fi
		fi
	fi
}

# require_sandbox: skip the whole file (with the reason) when this machine cannot run the
# sandbox; under HUTCH_MUST_WORK=1 that is a failure instead.
require_sandbox() {
	local problem=
	if [ ! -x "$HUTCH" ]; then
		problem="hutch binary not found at $HUTCH (build it, or set HUTCH=)"
	else
		problem=$(_t_userns_problem)
	fi
	[ -z "$problem" ] && return 0
	if [ "${HUTCH_MUST_WORK:-0}" = 1 ]; then
		LAST_CMD=
		fail "the sandbox can run here (HUTCH_MUST_WORK=1): $problem"
		SECRET_MARK=
		done_testing
	fi
	skip_all "$problem"
}

require_python() {
	[ -x "$PY" ] || skip_all "$PY not installed (apt-get install python3)"
}

# words STRING: STRING with runs of whitespace (newlines too) squashed to single spaces.
words() {
	local IFS=$' \t\n'
	set -f
	# shellcheck disable=SC2086
	set -- $1
	set +f
	echo "$*"
}

# re_quote STRING: STRING with ERE metacharacters escaped, for like/unlike.
re_quote() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[].[\\*^\$\(\)+?{}\|]) out+="\\$c" ;;
		*) out+=$c ;;
		esac
	done
	printf '%s\n' "$out"
}
