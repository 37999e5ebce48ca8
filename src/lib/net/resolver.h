/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's resolver (docs/network.md, "Transparent egress"): UDP and TCP
 * DNS sockets at 127.0.0.53:53 inside the sandbox's network namespace,
 * created by init and served here, in the supervisor's loop. Nothing is ever asked
 * upstream: a name the policy allows (for some port, hutch_filter_check_name)
 * gets an address of hutch's pool, 198.18.0.0/15, remembered for the run; its
 * AAAA and other types get an empty NOERROR answer; every other name gets
 * NXDOMAIN. A connection to a pool address (redirected to the transparent
 * listener, net/transparent.c) is mapped back to its name and checked like a
 * SOCKS5 CONNECT to that name.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hutch.h"
#include "policy/filter.h"

#define HUTCH_POOL_PREFIX 15	      /* 198.18.0.0/15 */
#define HUTCH_RESOLVER_MAX_NAMES 4096 /* names handed an address per run */
#define HUTCH_RESOLVER_TTL 300	      /* seconds; the mapping lasts the whole run */
#define HUTCH_RESOLVER_BATCH 64	      /* datagrams served per wake-up */

struct hutch_loop;
struct hutch_filter;
struct hutch_policy;
struct hutch_resolver;

struct hutch_resolver_stats {
	uint64_t queries;   /* well-formed queries */
	uint64_t addresses; /* A answers with a pool address */
	uint64_t nxdomain;  /* names not allowed */
	uint64_t ask;	    /* A answers for names not allowed, under --ask */
	uint64_t full;	    /* refused: the pool's bound was reached */
	uint64_t bad;	    /* malformed or unsupported */
	unsigned names;	    /* names mapped so far */
};

/* With the filter of @p (network.allow/deny); serve nothing until a socket is added. */
int hutch_resolver_new(const struct hutch_policy *p, struct hutch_resolver **out, hutch_error *err);
/* With a filter of its own (tests, fuzzing): @f is owned by the resolver. */
int hutch_resolver_new_filter(struct hutch_filter *f, struct hutch_resolver **out,
			      hutch_error *err);
void hutch_resolver_free(struct hutch_resolver *r);

/*
 * --ask (docs/network.md, "Transparent egress"): a name refused only for not
 * being in the allowlist gets a pool address too, instead of NXDOMAIN; the
 * question is put when a connection to it comes (its port then known), by
 * the proxy as for a CONNECT, and a refusal resets that connection. Set by
 * the supervisor when the proxy asks (not when a system policy fixes the
 * allowlist).
 */
void hutch_resolver_set_ask(struct hutch_resolver *r, bool ask);

/* Serve DNS over UDP on @fd (a bound socket; the resolver owns it). */
int hutch_resolver_add_udp(struct hutch_resolver *r, struct hutch_loop *loop, int fd,
			   hutch_error *err);

/*
 * Serve DNS over TCP on @fd (a listening socket; the resolver owns it), with
 * the same answers (net/dns-tcp.h: framing, bounds).
 */
int hutch_resolver_add_tcp(struct hutch_resolver *r, struct hutch_loop *loop, int fd,
			   hutch_error *err);

/*
 * The answer to one query message: its length, 0 when nothing is to be sent
 * (not a query). What the UDP socket does for each datagram, and TCP for
 * each message.
 */
size_t hutch_resolver_answer(struct hutch_resolver *r, const uint8_t *query, size_t len,
			     uint8_t *out, size_t cap);

/* Is @a in the pool (198.18.0.0/15)? */
bool hutch_pool_contains(const struct hutch_addr *a);
/*
 * The name handed out with pool address @a: 1 and *name (valid for the
 * resolver's life), 0 for a pool address never handed out, -1 for an
 * address outside the pool. @r may be NULL (nothing handed out).
 */
int hutch_resolver_name_of(const struct hutch_resolver *r, const struct hutch_addr *a,
			   const char **name);

void hutch_resolver_get_stats(const struct hutch_resolver *r, struct hutch_resolver_stats *st);
