/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Asynchronous name resolution for the proxy with c-ares, inside the
 * supervisor's loop: c-ares' sockets are watched by the loop, its timeouts
 * go through the proxy's timer. Only the supervisor resolves names; nothing
 * inside the sandbox can. Search domains and HOSTALIASES are disabled so the
 * name that was checked is exactly the name that is looked up.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hutch.h"
#include "policy/filter.h"

#define HUTCH_DNS_MAX_ADDRS 8	  /* addresses kept per answer */
#define HUTCH_DNS_MAX_PENDING 256 /* lookups in flight */

struct hutch_loop;
struct hutch_timer;
struct hutch_dns;
struct hutch_dns_query;

/*
 * @err is 0 with @n >= 1 addresses, or a negative errno (-ENOENT no such
 * name/no address, -ETIMEDOUT, -EIO other failure) with @why set.
 */
typedef void (*hutch_dns_cb)(void *data, int err, const char *why, const struct hutch_addr *addrs,
			     size_t n);

/*
 * @servers: NULL to use /etc/resolv.conf, else a c-ares server list
 * ("127.0.0.1:5353,[::1]:53") -- a test-only override, never set from
 * anything the sandbox controls.
 */
int hutch_dns_new(struct hutch_loop *loop, struct hutch_timer *timer, const char *servers,
		  unsigned timeout_ms, struct hutch_dns **out, hutch_error *err);
void hutch_dns_free(struct hutch_dns *d);

/*
 * Start a lookup of @name (a validated canonical name). @cb may run before
 * this returns (hosts file, immediate failure): callers must not touch
 * state that @cb can free after calling this. *q (set before any callback)
 * identifies the lookup for hutch_dns_cancel() until @cb runs.
 */
int hutch_dns_resolve(struct hutch_dns *d, const char *name, hutch_dns_cb cb, void *data,
		      struct hutch_dns_query **q);
/* The callback of @q will not run. Safe from inside any callback. */
void hutch_dns_cancel(struct hutch_dns_query *q);

/* Timer hook: process c-ares timeouts and re-arm the timer for the next one. */
void hutch_dns_on_timer(struct hutch_dns *d);
