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
