#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's quick start on a fresh Debian machine, for real: a minimal Debian root made
# with debootstrap (variant minbase, plus make to run `make` and sudo for the normal user),
# entered in private mount and PID namespaces. Inside it:
#   1. as a normal user with sudo: make demo (which installs the build and test
#      dependencies with sudo apt-get), make check (the suite as that user), and
#      make install PREFIX=$HOME/.local (then the installed hutch and `man hutch` work);
#   2. as root: make demo, make check (as root, then as the unprivileged test user that
#      tests/run-suites.sh creates and removes again).
# Each step gets a root of its own, so make demo installs the dependencies from nothing both
# times; no hutchtest user, no /etc/hutch, nothing of the host is visible inside but /dev,
# /sys (with the cgroup tree) and a /proc of its own; apt uses the mirror this machine's apt
# uses. The whole make check runs, not a subset: the two steps take 5 to 6 minutes here.
#
#   scripts/ci-fresh.sh            as root; HUTCH_CI_CACHE (default /var/cache/hutch-ci)
#                                  keeps the bootstrapped root (a tarball keyed by the
#                                  suite, mirror and package list) and apt's downloads.
#   HUTCH_FRESH_STEPS="user root"  which of the two passes to run (default both); "shell"
#                                  gives a root shell in a fresh root, for a failure.
#
# The root is entered with pivot_root, not chroot: the kernel refuses to create a user
# namespace (hutch's sandbox) to a chrooted process.
set -euo pipefail

# ---- inside the fresh root -------------------------------------------------------------------
inside() {
	local step=$1 t0
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export LC_ALL=C.UTF-8 TERM=dumb HUTCH_MUST_WORK=1 CI=true
	t0=$SECONDS
	case $step in
	user)
		useradd -m -s /bin/bash dev
		echo 'dev ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/dev
		chmod 440 /etc/sudoers.d/dev
		cp -a /src/hutch /home/dev/hutch
		chown -R dev:dev /home/dev/hutch
		runuser -u dev -- env -i PATH="$PATH" HOME=/home/dev USER=dev LOGNAME=dev \
			LC_ALL="$LC_ALL" TERM="$TERM" HUTCH_MUST_WORK=1 CI=true bash -euo pipefail -c '
			cd ~/hutch
			echo "fresh: [dev] make demo"; make demo
			echo "fresh: [dev] make check"; make check
			echo "fresh: [dev] make install PREFIX=$HOME/.local"
			make install PREFIX="$HOME/.local"
			export PATH=$HOME/.local/bin:$PATH # as ~/.profile does once ~/.local/bin exists
			echo "fresh: [dev] installed: $(command -v hutch): $(hutch --version)"
			man -w hutch
			mkdir -p ~/project && cd ~/project && hutch run -q -- true # a project, not $HOME (refused)
			echo "fresh: [dev] the installed hutch runs a sandbox"
			left=$(find / -xdev -newer ~/hutch/meson.build \( -path /proc -o -path /home/dev \
				-o -path /var/lib/hutch-tests -o -path /tmp -o -path /var/tmp -o -path /var/cache \
				-o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/log -o -path /run \) \
				-prune -o -user dev -print 2>/dev/null || true)
			[ -z "$left" ] || { echo "fresh: [dev] files owned by dev outside its home: $left"; exit 1; }
		'
		;;
	root)
		cp -a /src/hutch /root/hutch
		cd /root/hutch
		echo "fresh: [root] make demo"
		HOME=/root make demo
		echo "fresh: [root] make check"
		HOME=/root make check
		if id -u hutchtest >/dev/null 2>&1; then
			echo "fresh: [root] the test user hutchtest was left behind" >&2
			exit 1
		fi
		;;
	shell) # for looking into a failure by hand: a root shell in a fresh root
		cp -a /src/hutch /root/hutch
		cd /root/hutch
		HOME=/root bash -i
		;;
	*) echo "fresh: unknown step $step" >&2; exit 2 ;;
	esac
	echo "fresh: step $step passed in $((SECONDS - t0)) s"
}

# ---- entering the root: runs as PID 1 of new mount and PID namespaces ------------------------
enter() {
	local root=$1 step=$2
	mount --make-rprivate /
	mount --bind "$root" "$root" # pivot_root needs a mount point
	mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --rbind /sys "$root/sys"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
	mkdir -p "$root/run/lock" "$root/src/hutch"
	mount --bind -o ro "$tree" "$root/src/hutch"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# debootstrap writes no /etc/hosts: the one Debian's installer writes (sudo looks the
	# host name up, net.t resolves localhost).
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		"$(hostname)" >"$root/etc/hosts"
	cd "$root"
	mkdir -p .host
	pivot_root . .host
	# shellcheck disable=SC2016
	exec chroot . /bin/bash -c 'umount -l /.host && rmdir /.host && cd / && exec bash /src/hutch/scripts/ci-fresh.sh --inside "$0"' "$step"
}

case ${1:-} in
--inside)
	inside "$2"
	exit
	;;
--enter)
	tree=$3
	enter "$2" "$4"
	;;
esac

# ---- on the host -----------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "ci-fresh: run as root (debootstrap, namespaces)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cache=${HUTCH_CI_CACHE:-/var/cache/hutch-ci}
steps=${HUTCH_FRESH_STEPS:-user root}
include=make,sudo
variant=minbase
t_start=$SECONDS
took=

# The mirror apt uses here: the first deb822 URIs or one-line "deb" source for this suite.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
arch=$(dpkg --print-architecture)
mirror=$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } | awk -v s="$suite" '
	/^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && uri != "") { print uri; exit } }
	/^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/ && $(i + 1) == s) { print $i; exit } }' || true)
[ -n "$mirror" ] || { echo "ci-fresh: no apt source for $suite in /etc/apt" >&2; exit 1; }
case $mirror in https:*) include=$include,ca-certificates ;; esac

if ! command -v debootstrap >/dev/null; then
	echo "ci-fresh: installing debootstrap"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

mkdir -p "$cache/apt-archives"
key=$(printf '%s\n' "$suite" "$arch" "$mirror" "$variant" "$include" | sha256sum | cut -c1-16)
tarball=$cache/root-$suite-$key.tar
if [ ! -f "$tarball" ]; then
	echo "ci-fresh: debootstrap $suite ($variant, +$include) from $mirror"
	t0=$SECONDS
	tmp=$(mktemp -d /var/tmp/hutch-ci-bootstrap.XXXXXX)
	if ! debootstrap --variant="$variant" --include="$include" --arch="$arch" \
		"$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
		tail -30 "$tmp/log" "$tmp/root/debootstrap/debootstrap.log" 2>/dev/null
		rm -rf "$tmp"
		exit 1
	fi
	rm -f "$tmp/root/var/cache/apt/archives/"*.deb
	tar -C "$tmp/root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$tmp"
	echo "ci-fresh: root made in $((SECONDS - t0)) s, cached as $tarball"
	# Older roots (another package list or mirror) are not needed any more.
	find "$cache" -maxdepth 1 -name "root-*.tar" ! -name "${tarball##*/}" -delete
fi

# copy_debs FROM TO: the .deb files, as hard links where FROM and TO share a filesystem.
copy_debs() {
	local f
	mkdir -p "$2"
	for f in "$1"/*.deb; do
		[ -f "$f" ] || continue
		ln -f "$f" "$2/" 2>/dev/null || cp -f "$f" "$2/"
	done
}

# The tree to test: tracked and new files, as make install's test copies it (no build dirs).
work=$(mktemp -d /var/tmp/hutch-ci-fresh.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/tree"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$repo" ls-files -z --cached --others --exclude-standard |
		(cd "$repo" && tar --null -T - -cf - 2>/dev/null) | tar -C "$work/tree" -xf -
else
	tar -C "$repo" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$work/tree" -xf -
fi

for step in $steps; do
	echo "ci-fresh: === $step: a fresh $suite root ==="
	t0=$SECONDS
	rm -rf "$work/root"
	mkdir "$work/root"
	tar -C "$work/root" -xf "$tarball"
	# apt's downloads from earlier runs (not a mount: hutch's ephemeral root layer must
	# be able to write there when a test installs a package inside the sandbox).
	copy_debs "$cache/apt-archives" "$work/root/var/cache/apt/archives"
	st=0
	unshare --mount --pid --fork --kill-child bash "$work/tree/scripts/ci-fresh.sh" \
		--enter "$work/root" "$work/tree" "$step" || st=$?
	echo "ci-fresh: $step: exit $st after $((SECONDS - t0)) s"
	took="${took:+$took, }$step $((SECONDS - t0)) s"
	# Keep exactly the packages this run downloaded, for the next run.
	rm -rf "$cache/apt-archives.new"
	mkdir -p "$cache/apt-archives.new"
	copy_debs "$work/root/var/cache/apt/archives" "$cache/apt-archives.new"
	rm -rf "$cache/apt-archives"
	mv "$cache/apt-archives.new" "$cache/apt-archives"
	[ "$st" = 0 ] || { echo "ci-fresh: FAILED ($step) after $((SECONDS - t_start)) s in all"; exit 1; }
done
echo "ci-fresh: the fresh-machine run took $((SECONDS - t_start)) s in all ($took)"
