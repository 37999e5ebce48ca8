#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The protections are in place before the workload's first instruction. The sandbox's start
# is a sequence of steps run partly in parallel (src/lib/run/run.c: the supervisor finds the
# protected paths and makes placeholders while the sandbox builds its mounts; the paths that
# exist are mounted before the placeholders of the others are made), so a change of order
# could leave a moment where something is not yet protected. The workload here is a static
# program (tests/helpers/first-protected.c) whose very first system calls try each protected
# action: write a git hook and the git config, create .vscode/.envrc (and .bashrc in a
# workspace that is a home), write
# .cursorrules (a file placeholder), write /usr,
# connect out, make a user namespace, ptrace init, find the host's old root (pivot_root
# stacks it on the new one; a thread of init detaches it while the workload runs its
# steps, src/lib/run/start.c). Each must fail with its own error; then
# the host is checked with the real git: nothing planted, nothing changed.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox

ACTS=$HUTCH_HELPERS/first-protected
[ -x "$ACTS" ] || bail_out "first-protected helper missing: $ACTS (build the tests)"
make_git_repo "$WS" >/dev/null
config_before=$(sha256sum .git/config)
before=$(tree_snapshot "$WS")

# expect NAME ERRNO...: the line of NAME in $OUT ends in one of the errnos.
expect() {
	local name=$1 got
	shift
	got=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$OUT")
	for e in "$@"; do
		if [ "$got" = "$e" ]; then
			pass "first syscalls: $name -> $got"
			return
		fi
	done
	fail "first syscalls: $name -> $got (want one of: $*)"
	diag "output: $OUT; stderr: $ERR"
}

for round in 1 2 3 4; do
	# the first makes the placeholders from scratch, later ones recycle them; the last two
	# with the workspace as $HOME, where a shell rc file is protected too (a shell reads it
	# from a home alone: src/lib/base/homedir.c; elsewhere it is the project's own file)
	if [ "$round" -le 2 ]; then
		hrun run --net none -- "$ACTS"
	else
		HOME=$WS hrun run --allow-dangerous-workspace --net none -- "$ACTS"
	fi
	is "$RC" 0 "round $round: the probe ran"
	expect hook EROFS
	expect git-config EROFS
	expect vscode EEXIST EROFS
	if [ "$round" -le 2 ]; then
		expect bashrc 0
		rm -f .bashrc
	else
		expect bashrc EISDIR EROFS
	fi
	expect envrc EISDIR EROFS
	expect cursorrules EROFS EACCES
	expect usr EROFS EACCES
	expect connect ENETUNREACH
	expect userns EPERM
	expect ptrace-scope EPERM
	expect old-root ENOENT
done

LAST_CMD=
same_tree "$before" "$(tree_snapshot "$WS")" "the workspace is exactly as before afterwards"
is "$(sha256sum .git/config)" "$config_before" "  its git config unchanged"
check "  git on the host runs no hook (none was planted)" test ! -e .git/hooks/pre-commit
check "  and the user's git works" git -c user.name=u -c user.email=u@hutch.invalid \
	commit -q --allow-empty -m after
check "  nothing was written to /usr" test ! -e /usr/first-protected-probe
done_testing
