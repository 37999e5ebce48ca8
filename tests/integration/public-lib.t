#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed library (build/src/lib/libhutch.a, src/lib/export-public.py) exports
# exactly the functions include/hutch.h declares: a program built against it reaches
# those, and the library's internal functions are not there to be called.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"

[ -x "$HUTCH" ] || skip_all "hutch binary not found at $HUTCH"
LIB=$(cd "$(dirname "$HUTCH")/../lib" 2>/dev/null && pwd)/libhutch.a
[ -f "$LIB" ] || skip_all "no libhutch.a beside $HUTCH (the unprivileged pass runs a staged copy)"
HDR=$HUTCH_REPO/include/hutch.h
[ -f "$HDR" ] || skip_all "no include/hutch.h next to these tests"
for tool in gcc nm pkg-config; do
	command -v $tool >/dev/null || skip_all "$tool is not installed"
done
# $T is tests/lib.sh's temporary directory, removed at exit with the rest
# shellcheck disable=SC2207
libs=($(pkg-config --libs libseccomp jansson libcares libnftnl libmnl) -pthread)
# A library built with the sanitizers (make check-asan) needs their runtimes at link time.
if nm -u "$LIB" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
	libs+=("-fsanitize=address,undefined")
fi

declared=$(sed 's#/\*.*\*/##' "$HDR" | grep -oE '\bhutch_[a-z0-9_]+ *\(' | tr -d ' (' |
	grep -vxE 'hutch_ask_decision' | sort -u)
exported=$(nm -g --defined-only "$LIB" | awk 'NF == 3 { print $3 }' | sort -u)
isnt "$exported" "" "libhutch.a defines global symbols"
is "$(comm -13 <(echo "$declared") <(echo "$exported"))" "" \
	"every global symbol of libhutch.a is declared by hutch.h"
like "$exported" "hutch_policy_new" "  hutch_policy_new is one of them"
! grep -qx 'hutch_mount_plan_build' <<<"$exported"
ok $? "  an internal function (hutch_mount_plan_build) is not"

cat >"$T/public.c" <<'C'
#include <hutch.h>
int main(void)
{
	hutch_policy *p = hutch_policy_new();

	hutch_policy_free(p);
	return p ? 0 : 1;
}
C
out=$(gcc -I"$HUTCH_REPO/include" -o "$T/public" "$T/public.c" "$LIB" "${libs[@]}" 2>&1)
ok $? "a program using hutch.h links against libhutch.a" || diag "$out"
check "  and runs" "$T/public"

cat >"$T/internal.c" <<'C'
struct hutch_mount_plan;
int hutch_mount_plan_build(const void *p, const void *env, struct hutch_mount_plan **out, void *err);
int main(void) { return hutch_mount_plan_build(0, 0, 0, 0); }
C
out=$(gcc -o "$T/internal" "$T/internal.c" "$LIB" "${libs[@]}" 2>&1)
ok $((! $?)) "a program calling an internal function does not link"
like "$out" "undefined reference to .hutch_mount_plan_build" "  (undefined reference)"

done_testing
