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
 * A host port's listening sockets inside the sandbox's network namespace:
 * 127.0.0.1:@port in fds[0], [::1]:@port in fds[1] (-1 when the namespace
 * has no IPv6). Returns how many were made, or a negative errno.
 */
int hutch_net_listen_host_port(uint16_t port, int fds[2], hutch_error *err);
