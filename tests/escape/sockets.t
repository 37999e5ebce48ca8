#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Host daemons over Unix sockets (docker.sock, ssh-agent, D-Bus, X11, gpg-agent, syslog),
# named and abstract. Each test starts a real listener on the host that answers
# "HUTCH-UNIX-OK" and checks, with the specific error, that the sandbox cannot reach it.
#
# Layers under test: the private /tmp, /run, $XDG_RUNTIME_DIR and minimal /dev (named
# sockets in the usual places do not exist inside), hidden paths (~/.gnupg, ~/.docker),
# the environment filter (SSH_AUTH_SOCK, DBUS_SESSION_BUS_ADDRESS), the network namespace
# (abstract sockets are per network namespace) and Landlock's abstract-socket scope (for
# --net host, which shares the host's network namespace).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
require_python

# reach ADDR [HUTCH ARGS...]: connect from inside; OUT = the reply or "error: <strerror>".
reach() {
	local addr=$1
	shift
	hrun run "$@" -- "$PY" -c "$CONNECT_PY" "$addr"
}

# control: a socket the test can reach from the host, so a failure inside is the sandbox's.
host_reach() { "$PY" -c "$CONNECT_PY" "$1"; }

# ---- named sockets in the places daemons put them ------------------------------------------
SSH_DIR=$(mktemp -d /tmp/ssh-hutchXXXXXX)
trap 'rm -rf "$SSH_DIR"; _t_cleanup' EXIT
AGENT=$SSH_DIR/agent.$$
start_unix_service "$AGENT"
is "$(host_reach "$AGENT")" HUTCH-UNIX-OK "(control: the fake ssh-agent answers on the host)"
reach "$AGENT"
is "$OUT" "error: No such file or directory" "ssh-agent socket under /tmp -> ENOENT (private /tmp)"
SSH_AUTH_SOCK=$AGENT hrun run -- sh -c 'echo "[${SSH_AUTH_SOCK-unset}]"'
is "$OUT" "[unset]" "  and SSH_AUTH_SOCK is not passed in"

start_unix_service "$XDG_RUNTIME_DIR/bus"
is "$(host_reach "$XDG_RUNTIME_DIR/bus")" HUTCH-UNIX-OK "(control: the fake D-Bus answers on the host)"
reach "$XDG_RUNTIME_DIR/bus"
is "$OUT" "error: No such file or directory" "D-Bus session bus in \$XDG_RUNTIME_DIR -> ENOENT"
DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus hrun run -- \
	sh -c 'echo "[${DBUS_SESSION_BUS_ADDRESS-unset}]"'
is "$OUT" "[unset]" "  and DBUS_SESSION_BUS_ADDRESS is not passed in"

mkdir -p "$XDG_RUNTIME_DIR/podman"
start_unix_service "$XDG_RUNTIME_DIR/podman/podman.sock"
reach "$XDG_RUNTIME_DIR/podman/podman.sock"
is "$OUT" "error: No such file or directory" "rootless podman/docker in \$XDG_RUNTIME_DIR -> ENOENT"

start_unix_service "$HOME/.gnupg/S.gpg-agent"
is "$(host_reach "$HOME/.gnupg/S.gpg-agent")" HUTCH-UNIX-OK "(control: the fake gpg-agent answers on the host)"
reach "$HOME/.gnupg/S.gpg-agent"
is "$OUT" "error: No such file or directory" "gpg-agent in ~/.gnupg -> ENOENT (hidden)"

mkdir -p "$HOME/.docker/run"
start_unix_service "$HOME/.docker/run/docker.sock"
reach "$HOME/.docker/run/docker.sock"
is "$OUT" "error: No such file or directory" "Docker Desktop's ~/.docker/run/docker.sock -> ENOENT (hidden)"

# Fixed system paths: absent inside whatever the host has (private /run, minimal /dev).
hrun run -- "$PY" -c '
import os, errno
for p in ["/run/docker.sock", "/var/run/docker.sock", "/run/dbus/system_bus_socket",
          "/run/systemd/journal/socket", "/run/systemd/private", "/dev/log",
          "/tmp/.X11-unix/X0", "/run/containerd/containerd.sock", "/run/user"]:
    try:
        os.stat(p); print(p, "exists")
    except OSError as e: print(p, errno.errorcode[e.errno])'
is "$(words "$OUT")" "$(words "/run/docker.sock ENOENT /var/run/docker.sock ENOENT
/run/dbus/system_bus_socket ENOENT /run/systemd/journal/socket ENOENT /run/systemd/private ENOENT
/dev/log ENOENT /tmp/.X11-unix/X0 ENOENT /run/containerd/containerd.sock ENOENT /run/user ENOENT")" \
	"docker, system D-Bus, journald, systemd, syslog (/dev/log), X11, containerd: none exists inside"

# A daemon socket somewhere the sandbox can see: colima's Docker socket (Linux and macOS
# default ~/.colima/default/docker.sock) in the user's home, which is readable inside.
mkdir -p "$HOME/.colima/default"
start_unix_service "$HOME/.colima/default/docker.sock"
is "$(host_reach "$HOME/.colima/default/docker.sock")" HUTCH-UNIX-OK \
	"(control: the fake colima Docker socket answers on the host)"
reach "$HOME/.colima/default/docker.sock"
like "$OUT" "^error: (No such file or directory|Permission denied)$" "a host Docker socket under \$HOME (~/.colima/default/docker.sock) is unreachable"

# hutch's own session control sockets (a named session runs commands on request).
hrun run --name "esc$$" -- true
is "$RC" 0 "(a named session is running)"
reach "$XDG_STATE_HOME/hutch/named/esc$$/control.sock"
is "$OUT" "error: No such file or directory" "another session's control socket -> ENOENT (state dir hidden)"
"$HUTCH" stop "esc$$" >/dev/null 2>&1

# ---- abstract sockets --------------------------------------------------------------------------
ABS=@hutch-escape-$$-$RANDOM
start_unix_service "$ABS"
is "$(host_reach "$ABS")" HUTCH-UNIX-OK "(control: the abstract socket answers on the host)"
reach "$ABS" --net none
is "$OUT" "error: Connection refused" "abstract socket, --net none -> ECONNREFUSED (another network namespace)"
reach "@/tmp/.X11-unix/X0" --net none
is "$OUT" "error: Connection refused" "X11's abstract socket name, --net none -> ECONNREFUSED"
reach "$ABS" --net host
is "$OUT" "error: Operation not permitted" \
	"abstract socket, --net host (same network namespace) -> EPERM (Landlock scope)"

done_testing
