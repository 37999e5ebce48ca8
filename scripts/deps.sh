#!/bin/bash
# Install the Debian/Ubuntu packages hutch needs to build, test and demo, if missing.
set -euo pipefail

pkgs=(meson ninja-build pkg-config gcc libseccomp-dev libjansson-dev libc-ares-dev
	git python3 curl openssl bubblewrap hyperfine dnsmasq-base scdoc)
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
