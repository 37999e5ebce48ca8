/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DNS over TCP for the sandbox's resolver (net/resolver.c; docs/network.md,
 * "Transparent egress"): the listening socket at 127.0.0.53:53, its
 * connections and their framing (RFC 1035 4.2.2: each message after a 2-byte
 * length; RFC 7766: several queries on one connection, answered in order).
 * Each query goes to @answer, the same function that answers a UDP datagram,
 * so both transports give the same answers.
 *
 * Bounds: HUTCH_DNS_TCP_MAX_CONNS connections at once (more are closed at
 * accept), a query over HUTCH_DNS_MSG_MAX bytes closes its connection (a stub
 * resolver's query is far smaller), a connection without a complete query
 * for HUTCH_DNS_TCP_IDLE_MS is closed, at most one answer waits to be sent
 * (a client that does not read is not read either).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

#define HUTCH_DNS_TCP_MAX_CONNS 64
#define HUTCH_DNS_TCP_IDLE_MS 10000
#define HUTCH_DNS_TCP_BATCH 16 /* queries (or accepts) served per wake-up */

struct hutch_loop;
struct hutch_dns_tcp;

/*
 * The answer to one query: its length, 0 to send nothing (then the
 * connection is closed). Called in the loop.
 */
typedef size_t (*hutch_dns_answer_fn)(void *data, const uint8_t *query, size_t len, uint8_t *out,
				      size_t cap);

/* Serve @fd (a listening socket; owned from now on, also on failure). */
int hutch_dns_tcp_new(struct hutch_loop *loop, int fd, hutch_dns_answer_fn answer, void *data,
		      struct hutch_dns_tcp **out, hutch_error *err);
/* Close the listener and every connection. NULL is fine. */
void hutch_dns_tcp_free(struct hutch_dns_tcp *t);
