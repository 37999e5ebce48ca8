#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fail-open on a missing layer: when a layer the policy requires is unavailable, hutch must
# refuse to run (exit 125) and name the layer, never run weaker without being asked by
# name; and a file inside the workspace must not loosen the policy on its own.
#
# Missing layers are simulated for real: user namespaces switched off with the sysctl inside
# a user namespace of the test's own, and Landlock, seccomp or user namespaces made to fail
# the way an unsupporting kernel answers, with a seccomp filter around hutch
# (tests/helpers/deny-syscall).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

DENY=$HUTCH_HELPERS/deny-syscall
[ -x "$DENY" ] || skip_all "deny-syscall helper not built ($DENY)"
MARKER=$T/ran
# (A subdirectory: in degraded mode the workspace root itself refuses new files, because
# Landlock guards the protected names that do not exist there yet.)
mkdir -p "$WS/src"

# ---- user namespaces off (user.max_user_namespaces = 0) ---------------------------------------
OUT=$(unshare -U --map-root-user sh -c \
	'echo 0 > /proc/sys/user/max_user_namespaces && "$0" run -- touch "$1"' "$HUTCH" "$MARKER" 2>&1)
RC=$?
LAST_CMD="unshare -U --map-root-user: max_user_namespaces=0; hutch run -- touch"
is "$RC" 125 "user.max_user_namespaces=0: hutch run exits 125"
like "$OUT" "required layer userns" "  naming the missing layer (userns)"
like "$OUT" "allow-degraded" "  and saying how to run anyway"
check "  the command did not run" test ! -e "$MARKER"

# ---- network namespaces off (user.max_net_namespaces = 0), user namespaces on -------------------
# init makes the network namespace itself, in a thread (src/lib/run/start.c): its refusal must
# stop the run before the command, not let it run in the host's network.
OUT=$(unshare -U --map-root-user sh -c \
	'echo 0 > /proc/sys/user/max_net_namespaces && "$0" run --net none -- touch "$1"' "$HUTCH" "$MARKER" 2>&1)
RC=$?
LAST_CMD="unshare -U --map-root-user: max_net_namespaces=0; hutch run --net none -- touch"
is "$RC" 125 "user.max_net_namespaces=0: hutch run --net none exits 125"
like "$OUT" "sandbox setup \(network namespace\).*No space left" "  naming the network namespace"
like "$OUT" "allow-degraded" "  and saying how to run anyway"
check "  the command did not run" test ! -e "$MARKER"
OUT=$(unshare -U --map-root-user sh -c \
	'echo 0 > /proc/sys/user/max_net_namespaces && "$0" run --allow-degraded --net none -- touch "$1"' \
	"$HUTCH" "$WS/src/ran-net" 2>&1)
RC=$?
LAST_CMD="unshare -U --map-root-user: max_net_namespaces=0; hutch run --allow-degraded --net none"
is "$RC" 0 "  with --allow-degraded: the run falls back to degraded mode"
like "$OUT" "degraded mode" "  and says so"
rm -f "$WS/src/ran-net"

# ---- user namespaces refused by the kernel (EPERM, as a restricting LSM answers) -----------------
OUT=$("$DENY" userns -- "$HUTCH" run -- touch "$MARKER" 2>&1)
RC=$?
LAST_CMD="deny-syscall userns -- hutch run -- touch"
is "$RC" 125 "clone(CLONE_NEWUSER) -> EPERM: hutch run exits 125"
like "$OUT" "required layer userns.*Operation not permitted" "  naming userns and the kernel's answer"
check "  the command did not run" test ! -e "$MARKER"

OUT=$("$DENY" userns -- "$HUTCH" run --allow-degraded -- touch "$WS/src/ran" 2>&1)
RC=$?
LAST_CMD="deny-syscall userns -- hutch run --allow-degraded -- touch"
is "$RC" 0 "with --allow-degraded (asked for by name) it runs"
like "$OUT" "degraded mode" "  and says it runs degraded"
rm -f "$WS/src/ran"

# ---- Landlock missing ------------------------------------------------------------------------
OUT=$("$DENY" landlock -- "$HUTCH" run -- touch "$MARKER" 2>&1)
RC=$?
LAST_CMD="deny-syscall landlock -- hutch run -- touch"
is "$RC" 125 "Landlock unavailable (EOPNOTSUPP), required by the default policy: exit 125"
like "$OUT" "required layer landlock is not available" "  naming the layer"
like "$OUT" "hint: " "  with a hint how to fix it"
check "  the command did not run" test ! -e "$MARKER"

# Not required: runs, and says Landlock is missing.
printf '{ "require": ["userns", "seccomp"] }\n' >"$T/no-landlock.json"
OUT=$("$DENY" landlock -- "$HUTCH" run -p "$T/no-landlock.json" -- touch "$WS/src/ran" 2>&1)
RC=$?
LAST_CMD="deny-syscall landlock -- hutch run -p no-landlock.json -- touch"
is "$RC" 0 "Landlock unavailable and not required by the policy: runs"
like "$OUT" "Landlock is not available" "  and warns that it runs without Landlock"
rm -f "$WS/src/ran"

# Neither user namespaces nor Landlock, even with --allow-degraded: nothing left to enforce
# the filesystem policy with.
OUT=$("$DENY" userns landlock -- "$HUTCH" run --allow-degraded -- touch "$MARKER" 2>&1)
RC=$?
LAST_CMD="deny-syscall userns landlock -- hutch run --allow-degraded -- touch"
is "$RC" 125 "no user namespaces and no Landlock, even with --allow-degraded: exit 125"
like "$OUT" "[Ll]andlock" "  naming Landlock"
check "  the command did not run" test ! -e "$MARKER"

# ---- seccomp missing ----------------------------------------------------------------------------
OUT=$("$DENY" seccomp -- "$HUTCH" run -- touch "$MARKER" 2>&1)
RC=$?
LAST_CMD="deny-syscall seccomp -- hutch run -- touch"
is "$RC" 125 "seccomp unavailable, required by the default policy: exit 125"
like "$OUT" "required layer seccomp is not available" "  naming the layer"
check "  the command did not run" test ! -e "$MARKER"

# ---- a policy file inside the workspace does not loosen anything by itself -----------------------
cat >.hutch.json <<'EOF'
{
  "network": { "mode": "host" },
  "filesystem": { "writable": ["~"] },
  "env": { "pass": ["*"], "drop": [] }
}
EOF
OUT=$(GITHUB_TOKEN=hutch-escape-token "$HUTCH" run -- sh -c \
	'ls /sys/class/net; touch ~/planted 2>&1; echo "token=[${GITHUB_TOKEN-}]"' 2>&1)
LAST_CMD="hutch run with an untrusted .hutch.json asking for host network, a writable home, all env"
like "$OUT" "ignor" "an untrusted .hutch.json is reported as ignored"
unlike "$OUT" "hutch-escape-token" "  secrets stay dropped from the environment"
like "$OUT" "Read-only file system" "  the home stays read-only"
check "  nothing was planted in the home" test ! -e "$HOME/planted"
rm -f .hutch.json

done_testing
