/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's network namespace: only lo, up. */
#pragma once

#include <stdint.h>

#include "hutch.h"

int hutch_net_loopback_up(hutch_error *err);
/* The same through @sock, a socket of the network namespace whose lo it is. */
int hutch_net_loopback_up_fd(int sock, hutch_error *err);

/*
 * A listening TCP socket on 127.0.0.1:@port, created inside the sandbox's
 * network namespace; it is handed to the supervisor, which accepts on it and
 * connects out from the host namespace (no bridge process, no host port).
 */
int hutch_net_listen_loopback(uint16_t port, hutch_error *err);

/*
 * Transparent egress (docs/network.md): "default dev lo src 127.0.0.1", so
 * that a connection to any IPv4 address has a route and the nftables rules
 * (sandbox/nft.c) can redirect or drop it. lo must be up.
 */
int hutch_net_default_route_lo(hutch_error *err);

/* The sandbox's resolver: 127.0.0.53 (host order), port 53 (net/resolver.h). */
#define HUTCH_NET_RESOLVER_ADDR 0x7f000035u
#define HUTCH_NET_RESOLVER_TEXT "127.0.0.53"

/*
 * A socket of @type (SOCK_STREAM listening, or SOCK_DGRAM) bound to
 * @addr:@port (IPv4, host order) inside the sandbox's network namespace;
 * @port 0 lets the kernel choose, *bound (may be NULL) says which.
 */
int hutch_net_bind_inet(int type, uint32_t addr, uint16_t port, uint16_t *bound, hutch_error *err);

/*
 * A host port's listening sockets inside the sandbox's network namespace:
 * 127.0.0.1:@port in fds[0], [::1]:@port in fds[1] (-1 when the namespace
 * has no IPv6). Returns how many were made, or a negative errno.
 */
int hutch_net_listen_host_port(uint16_t port, int fds[2], hutch_error *err);
