/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host ports (network.hostPorts, --host-port PORT): one chosen TCP port of
 * the host's loopback made reachable from the sandbox, for a model API
 * (Ollama, a LiteLLM or corporate gateway) that listens on 127.0.0.1.
 *
 * The sandbox's init creates listening sockets on 127.0.0.1:PORT and
 * [::1]:PORT inside the sandbox's network namespace and hands them to the
 * supervisor, which accepts on them and connects from the host's namespace
 * to 127.0.0.1:PORT (then [::1]:PORT when that is refused). Payload is
 * relayed with splice (relay.c); nothing is parsed. Every connection gives
 * proxy records (via HUTCH_PROXY_VIA_HOST_PORT) through the proxy's hooks,
 * so the audit log and -v see them like proxied ones. Bounds: at most 1024
 * connections at once, 10 s to connect, 30 min without a byte either way,
 * 2 min of one side not taking what the other sent.
 */
#pragma once

#include "hutch.h"
#include "net/proxy.h"

struct hutch_loop;
struct hutch_policy;
struct hutch_hostport;

/* @p gives where each network.hostPorts entry came from (for the records). */
int hutch_hostport_new(struct hutch_loop *loop, const struct hutch_policy *p,
		       const struct hutch_proxy_hooks *hooks, struct hutch_hostport **out,
		       hutch_error *err);
/*
 * Serve one listening socket made inside the sandbox (its bound port is the
 * host port). Takes ownership of @fd, also on failure.
 */
int hutch_hostport_add_listener(struct hutch_hostport *hp, int fd, hutch_error *err);
/* Close every connection (each gives its END record) and free everything. */
void hutch_hostport_free(struct hutch_hostport *hp);
