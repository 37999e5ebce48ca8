#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installing: `make install PREFIX=/usr DESTDIR=D` from a copy of the tree puts exactly the
# listed files under D (binary, static library, header, pkg-config file, man pages,
# completions for bash/zsh/fish, the policy schema, the AppArmor profile where AppArmor is
# present), and they work: the binary runs, a program builds against the library through
# pkg-config, the man pages render. Then `make install PREFIX=DIR` from the same build
# directory: everything under DIR, nothing outside (the AppArmor profile goes to
# DIR/etc/apparmor.d). Then the Debian package: dpkg-buildpackage -us -uc -b in a copy of
# the tree, and (as root) dpkg -i, use, dpkg --purge, nothing left behind.
# shellcheck source=tests/lib.sh disable=SC2016
. "$(dirname "$0")/../lib.sh"

[ -f "$HUTCH_REPO/meson.build" ] && [ -d "$HUTCH_REPO/src" ] ||
	skip_all "no source tree next to these tests (the unprivileged pass runs a staged copy; the root pass covers this)"
for tool in make meson ninja gcc pkg-config; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (scripts/deps.sh)"
done

SRC=$T/src
D=$T/dest
mkdir -p "$SRC"
# A copy of the tree as it is: tracked files and new ones, not build directories.
if git -C "$HUTCH_REPO" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$HUTCH_REPO" ls-files -z --cached --others --exclude-standard |
		(cd "$HUTCH_REPO" && tar --null -T - -cf - 2>/dev/null) | tar -C "$SRC" -xf -
else
	tar -C "$HUTCH_REPO" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$SRC" -xf -
fi
check "copied the tree" test -f "$SRC/meson.build"

# ---- make install ---------------------------------------------------------------------------
log=$(timeout 900 make -C "$SRC" install BUILD="$T/build" PREFIX=/usr DESTDIR="$D" 2>&1)
ok $? "make install PREFIX=/usr DESTDIR=... succeeds" || diag "$(tail -20 <<<"$log")"

multiarch=$(cd "$D/usr/lib" 2>/dev/null && ls -d -- */pkgconfig 2>/dev/null | head -1)
libdir=usr/lib${multiarch:+/${multiarch%/pkgconfig}}
want="usr/bin/hutch
usr/bin/hutch-oci
usr/libexec/hutch/hutch-oci-init
$libdir/libhutch.a
$libdir/pkgconfig/hutch.pc
usr/include/hutch.h
usr/share/bash-completion/completions/hutch
usr/share/zsh/site-functions/_hutch
usr/share/fish/vendor_completions.d/hutch.fish
usr/share/hutch/hutch-policy.schema.json"
if command -v scdoc >/dev/null; then
	want="$want
usr/share/man/man1/hutch.1
usr/share/man/man5/hutch-policy.5"
else
	skip "scdoc is not installed: no man pages to check (apt-get install scdoc)"
fi
if [ -d /etc/apparmor.d ]; then
	want="$want
etc/apparmor.d/hutch"
fi
got=$(cd "$D" 2>/dev/null && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)
is "$got" "$(LC_ALL=C sort <<<"$want")" "exactly the expected files are installed under DESTDIR"
if [ -d /etc/apparmor.d ]; then
	pass "  /etc/apparmor.d exists here: the AppArmor profile is installed (absolute /etc, whatever the prefix)"
else
	check "  no /etc/apparmor.d here: no AppArmor profile installed" test ! -e "$D/etc/apparmor.d/hutch"
fi

if [ -f "$D/etc/apparmor.d/hutch" ]; then
	like "$(cat "$D/etc/apparmor.d/hutch")" '^profile hutch "/usr/bin/hutch" ' \
		"  the profile applies to the installed binary, /usr/bin/hutch"
fi

is "$("$D/usr/bin/hutch" --version)" "hutch $(sed -n "s/^ *version : '\(.*\)',/\1/p" "$SRC/meson.build")" \
	"the installed binary runs (--version)"
check "  and is executable by everyone" test "$(stat -c %a "$D/usr/bin/hutch")" = 755
like "$(cat "$D/$libdir/pkgconfig/hutch.pc")" "^prefix=/usr$" "hutch.pc has prefix=/usr"
like "$(cat "$D/$libdir/pkgconfig/hutch.pc")" "^Requires: .*libseccomp.*jansson.*libcares" \
	"  and requires what the static library needs"

# A program using the library, built through pkg-config against the DESTDIR tree.
cat >"$T/consumer.c" <<'EOF'
#include <stdio.h>
#include <hutch.h>
int main(void)
{
	hutch_error err = { 0 };
	hutch_policy *p = hutch_policy_new();
	const char *const *n = hutch_profile_names();

	if (hutch_policy_apply_profile(p, "claude-code", &err) < 0)
		return 1;
	for (; *n; n++)
		printf("%s ", *n);
	printf("%s\n", HUTCH_VERSION);
	hutch_policy_free(p);
	return 0;
}
EOF
flags=$(PKG_CONFIG_PATH=$D/$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config --cflags --libs hutch)
ok $? "pkg-config --cflags --libs hutch (DESTDIR tree)"
# shellcheck disable=SC2086
out=$(gcc -o "$T/consumer" "$T/consumer.c" $flags 2>&1)
ok $? "a program builds and links against the installed libhutch.a and hutch.h" || diag "$out"
like "$("$T/consumer" 2>&1)" "^default strict claude-code codex gemini aider 0\.1\.0" "  and runs"

if command -v scdoc >/dev/null && command -v man >/dev/null; then
	like "$(MANWIDTH=80 man -l "$D/usr/share/man/man1/hutch.1" 2>/dev/null)" "hutch run .*COMMAND" \
		"man hutch renders"
	like "$(MANWIDTH=80 man -l "$D/usr/share/man/man5/hutch-policy.5" 2>/dev/null)" "MERGE ORDER" \
		"man hutch-policy renders"
fi
"$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$D/usr/share/hutch/hutch-policy.schema.json"
ok $? "the installed schema is valid JSON"
bash -n "$D/usr/share/bash-completion/completions/hutch"
ok $? "the bash completion parses"

# ---- a prefix of one's own ------------------------------------------------------------------
# make install PREFIX=DIR without DESTDIR, from the same build directory (a new prefix): every
# file goes under DIR, the AppArmor profile too (DIR/etc/apparmor.d, where AppArmor is present,
# and the output says how to put it in place); /etc/apparmor.d is not touched, also as root.
P=$T/prefix
aa_before=$(ls -la --time-style=full-iso /etc/apparmor.d 2>&1)
log=$(timeout 900 make -C "$SRC" install BUILD="$T/build" PREFIX="$P" 2>&1)
ok $? "make install PREFIX=DIR (same build directory, no DESTDIR) succeeds" || diag "$(tail -20 <<<"$log")"
outside=$(grep -v '^#' "$T/build/meson-logs/install-log.txt" | grep -Ev "^$(re_quote "$P")(/|$)")
is "$outside" "" "  every installed file is under the prefix (meson's install log)"
is "$(ls -la --time-style=full-iso /etc/apparmor.d 2>&1)" "$aa_before" "  /etc/apparmor.d is untouched"
is "$("$P/bin/hutch" --version 2>&1)" "$("$D/usr/bin/hutch" --version)" "  PREFIX/bin/hutch runs"
if [ -d /etc/apparmor.d ]; then
	check "  the AppArmor profile is PREFIX/etc/apparmor.d/hutch" test -f "$P/etc/apparmor.d/hutch"
	like "$(cat "$P/etc/apparmor.d/hutch" 2>&1)" "^profile hutch \"$(re_quote "$P/bin/hutch")\" " \
		"  and applies to PREFIX/bin/hutch"
	like "$log" "sudo install -m 644 $(re_quote "$P/etc/apparmor.d/hutch") /etc/apparmor.d/hutch" \
		"  make install says how to put it in place"
else
	check "  no /etc/apparmor.d here: no AppArmor profile under the prefix" test ! -e "$P/etc/apparmor.d"
fi

# ---- the Debian package -----------------------------------------------------------------------
# Minutes of compiling: part of `make check-slow` (CI runs it after make check), not make check.
if [ "${HUTCH_SLOW_TESTS:-0}" != 1 ]; then
	skip "the Debian package build is slow: make check-slow (HUTCH_SLOW_TESTS=1) runs it" 1
	done_testing
fi
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	skip "dpkg-buildpackage/debhelper not installed (apt-get install dpkg-dev debhelper)" 1
	done_testing
fi
if ! deps=$(cd "$SRC" && dpkg-checkbuilddeps 2>&1); then
	skip "build dependencies missing: $deps" 1
	done_testing
fi
log=$(cd "$SRC" && timeout 1200 dpkg-buildpackage -us -uc -b 2>&1)
ok $? "dpkg-buildpackage -us -uc -b succeeds in a copy of the tree" || diag "$(tail -30 <<<"$log")"
arch=$(dpkg --print-architecture)
version=$(cd "$SRC" && dpkg-parsechangelog -S Version)
DEB=$T/hutch_${version}_$arch.deb
DEV=$T/libhutch-dev_${version}_$arch.deb
check "  hutch_${version}_$arch.deb built" test -f "$DEB"
check "  libhutch-dev_${version}_$arch.deb built" test -f "$DEV"
contents=$(dpkg -c "$DEB" 2>/dev/null | awk '{ print $6 }')
for f in ./usr/bin/hutch ./usr/bin/hutch-oci ./usr/libexec/hutch/hutch-oci-init ./usr/share/man/man1/hutch.1.gz ./usr/share/man/man5/hutch-policy.5.gz \
	./usr/share/bash-completion/completions/hutch ./usr/share/zsh/site-functions/_hutch \
	./usr/share/fish/vendor_completions.d/hutch.fish ./usr/share/hutch/hutch-policy.schema.json \
	./etc/apparmor.d/hutch; do
	grep -qxF -- "$f" <<<"$contents" || missing="${missing:-} $f"
done
is "${missing:-}" "" "the hutch package holds the binary, hutch-oci and its init, man pages, completions, schema, AppArmor profile"
like "$(dpkg -c "$DEV" | awk '{ print $6 }')" "/usr/include/hutch\.h" "libhutch-dev holds the header"
like "$(dpkg -c "$DEV" | awk '{ print $6 }')" "/libhutch\.a$" "  the static library"
like "$(dpkg -c "$DEV" | awk '{ print $6 }')" "/pkgconfig/hutch\.pc$" "  and the pkg-config file"

if [ "$(id -u)" != 0 ]; then
	skip "installing the package needs root" 1
	done_testing
fi
if dpkg-query -W -f='${Status}' hutch 2>/dev/null | grep -q "ok installed" ||
	dpkg-query -W -f='${Status}' libhutch-dev 2>/dev/null | grep -q "ok installed"; then
	skip "a hutch package is already installed on this machine: not replacing it" 1
	done_testing
fi
if [ -e /usr/bin/hutch ] || [ -e /usr/include/hutch.h ]; then
	skip "/usr/bin/hutch or /usr/include/hutch.h exists outside any package: not overwriting it" 1
	done_testing
fi
purge() { dpkg --purge hutch libhutch-dev >/dev/null 2>&1; }
trap 'purge; _t_cleanup' EXIT

out=$(dpkg -i "$DEB" "$DEV" 2>&1)
ok $? "dpkg -i installs both packages" || diag "$out"
is "$(/usr/bin/hutch --version)" "hutch $version" "/usr/bin/hutch runs"
is "$(man -w hutch 2>/dev/null)" "/usr/share/man/man1/hutch.1.gz" "man -w hutch finds the page"
is "$(pkg-config --modversion hutch 2>/dev/null)" "$version" "pkg-config finds hutch"
if [ -z "$(_t_userns_problem)" ]; then
	hrun_installed=$(cd "$WS" && /usr/bin/hutch run -q -- sh -c 'cat ~/.ssh/id_ed25519 2>/dev/null; echo ran' 2>&1)
	is "$hrun_installed" "ran" "the packaged hutch runs a sandbox (and ~/.ssh is hidden)"
else
	skip "no user namespaces here: $(_t_userns_problem)"
fi
out=$(dpkg --purge hutch libhutch-dev 2>&1)
ok $? "dpkg --purge removes them" || diag "$out"
left=
for f in /usr/bin/hutch /usr/include/hutch.h /usr/share/hutch /etc/apparmor.d/hutch \
	/usr/share/man/man1/hutch.1.gz /usr/share/bash-completion/completions/hutch; do
	[ -e "$f" ] && left="$left $f"
done
is "$left" "" "nothing left behind"

done_testing
