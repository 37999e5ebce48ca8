/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transparent listener's side of a connection (docs/network.md,
 * "Transparent egress"): in the sandbox's network namespace an nftables rule
 * (sandbox/nft.c) redirects every TCP connection to a non-loopback address
 * to a listening socket of hutch's; the proxy (net/proxy.c) accepts it and
 * asks here where it was going. A pool address handed out by the sandbox's
 * resolver (net/resolver.c) stands for its name; any other address is an IP
 * literal, allowed only by an address rule, exactly as through the proxy.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy/filter.h"

struct hutch_resolver;

/*
 * The original destination of accepted connection @fd as the host to check:
 * 0 with *h (a name from the pool, or an address) and *port; -EPERM for a
 * pool address never handed out (*h holds it, *why says so); another
 * negative errno when the destination cannot be read (*why says so).
 */
int hutch_transparent_dest(int fd, const struct hutch_resolver *res, struct hutch_host *h,
			   uint16_t *port, const char **why);

/*
 * A tunnel requested through the proxy (SOCKS5, CONNECT) to a pool address the
 * resolver handed out -- a client that resolved the name itself, through the
 * sandbox's resolver -- is a tunnel to that name: *h becomes the name (true).
 * Any other host is left alone (false), so both paths decide alike.
 */
bool hutch_transparent_pool_name(const struct hutch_resolver *res, struct hutch_host *h);
