#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hutch check: one line per feature with available/missing, a fix line for each missing
# one, exit 0; what it says agrees with what the kernel says.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"
require_sandbox

hrun check
is "$RC" 0 "hutch check exits 0"
unlike "$OUT$ERR" $'\e' "no colour escapes when stdout is not a terminal"

# feature: ERE finding its line (case-insensitive)
features=(
	"userns:userns|user namespace"
	"landlock:landlock"
	"seccomp:^[^a-z]*seccomp([^-a-z]|$)"
	"seccomp user notification:seccomp.*(notif|user notification)"
	"overlayfs in a user namespace:overlay"
	"cgroup v2 delegation:cgroup"
	"transparent egress (nf_tables in a user namespace):transparent-egress"
)
for f in "${features[@]}"; do
	name=${f%%:*}
	re=${f#*:}
	line=$(grep -Ei -- "$re" <<<"$OUT" | grep -Evi '^[[:space:]]*fix' | head -1)
	like "$line" "available|missing" "$name: listed as available or missing ($line)"
done

# Every "missing" is followed by a fix, on its line or the next.
missing_without_fix=$(awk '
	tolower($0) ~ /missing/ { if (tolower($0) !~ /fix/) { pending = $0; next } }
	pending != "" { if (tolower($0) !~ /fix/) print pending; pending = "" }
	END { if (pending != "") print pending }' <<<"$OUT")
is "$missing_without_fix" "" "every missing feature comes with a fix line"

# Agreement with the kernel.
line=$(grep -Ei "userns|user namespace" <<<"$OUT" | head -1)
like "$line" "available" "userns available (this test already created one)"

abi=$("$PY" -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))' 2>/dev/null)
line=$(grep -i landlock <<<"$OUT" | head -1)
if [ -n "$abi" ] && [ "$abi" -gt 0 ]; then
	like "$line" "available" "landlock available (kernel ABI $abi)"
	like "$line" "(ABI|abi|version)[ :=v]*$abi([^0-9]|$)" "  and its ABI version is the kernel's ($abi)"
else
	like "$line" "missing" "landlock missing (the kernel says so)"
fi

if grep -q '^Seccomp:' /proc/self/status; then
	line=$(grep -Ei "^[^a-z]*seccomp([^-a-z]|$)" <<<"$OUT" | head -1)
	like "$line" "available" "seccomp available (/proc/self/status has Seccomp:)"
fi

# overlayfs in a user namespace, tried the plain way in a directory of ours.
mkdir -p "$T/ovl/l" "$T/ovl/u" "$T/ovl/w" "$T/ovl/m"
if unshare --user --map-root-user --mount sh -c \
	"mount -t overlay overlay -o lowerdir=$T/ovl/l,upperdir=$T/ovl/u,workdir=$T/ovl/w $T/ovl/m" 2>/dev/null; then
	like "$(grep -i overlay <<<"$OUT" | head -1)" "available" \
		"overlayfs in a user namespace: available (unshare + mount -t overlay works here)"
else
	like "$(grep -i overlay <<<"$OUT" | head -1)" "missing" \
		"overlayfs in a user namespace: missing (unshare + mount -t overlay fails here)"
fi

# transparent egress: the same kind of rules loaded with the nft tool in a fresh user and
# network namespace.
if command -v nft >/dev/null && command -v unshare >/dev/null; then
	if printf 'table ip t {\n chain o {\n  type nat hook output priority -100;\n  meta l4proto tcp redirect to :2\n }\n}\n' |
		unshare --user --map-root-user --net nft -f - 2>/dev/null; then
		like "$(grep -i transparent-egress <<<"$OUT")" "available" \
			"transparent egress: available (nft loads a redirect rule in a user namespace here)"
	else
		like "$(grep -i transparent-egress <<<"$OUT")" "missing" \
			"transparent egress: missing (nft cannot load a redirect rule in a user namespace here)"
	fi
else
	skip "nft or unshare not installed: transparent-egress not compared with the kernel"
fi

# hutch oci (docs/oci.md): runc that runs, Landlock and seccomp.
line=$(grep '^oci-node' <<<"$OUT")
if [ -x /usr/sbin/runc ] && /usr/sbin/runc --version >/dev/null 2>&1 &&
	grep -Eq '^landlock +available' <<<"$OUT" && grep -Eq '^seccomp +available' <<<"$OUT"; then
	like "$line" "available.*runc version" "oci-node: available (runc runs, Landlock, seccomp), runc's version named"
else
	like "$line" "missing" "oci-node: missing (no runc that runs, or no Landlock or seccomp)"
fi
LAST_CMD="HUTCH_OCI_RUNC=$T/no-runc hutch check"
out=$(HUTCH_OCI_RUNC=$T/no-runc "$HUTCH" check)
like "$(words "$(grep -A1 '^oci-node' <<<"$out")")" "missing.*$T/no-runc does not run.*fix: apt-get install runc" \
	"oci-node: a runc that is not there is missing, with a fix"

# The same as the unprivileged test user (tests/run-suites.sh creates it), if we are root.
tuser=${HUTCH_TEST_USER:-hutchtest}
if [ "$(id -u)" = 0 ] && id -u "$tuser" >/dev/null 2>&1; then
	out=$(setpriv --reuid="$tuser" --regid="$tuser" --init-groups "$HUTCH" check 2>&1)
	is "$?" 0 "hutch check as $tuser exits 0"
	like "$(grep -Ei "userns|user namespace" <<<"$out" | head -1)" "available" \
		"  and finds user namespaces available for an unprivileged user"
else
	skip "not root, or no user $tuser: hutch check as an unprivileged user is not run here" 2
fi

done_testing
