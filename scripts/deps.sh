#!/bin/bash
# Install the Debian/Ubuntu packages hutch needs to build, test (make check) and demo, if
# missing: on a fresh Debian 12 these are all that `make demo` and `make check` need
# (scripts/ci-fresh.sh proves it in a debootstrapped root).
set -euo pipefail

pkgs=(
	meson ninja-build pkg-config gcc libseccomp-dev libjansson-dev libc-ares-dev libnftnl-dev libmnl-dev scdoc # build
	git python3 python3-pip curl openssl perl procps iproute2 libcap2-bin man-db nftables # tests
	bubblewrap hyperfine dnsmasq-base tmux # tests and benchmarks
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "hutch: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "hutch: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
