/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The filtering egress proxy (docs/network.md): HTTP CONNECT, absolute-form HTTP
 * with keep-alive, and SOCKS5, served from the supervisor's event loop with
 * no thread and no extra process.
 *
 * The listening sockets are created by the sandbox's init *inside* the
 * sandbox network namespace and handed to the supervisor; the proxy accepts
 * on them and connects out from the supervisor's (host) namespace. Names
 * are resolved here only (c-ares), every address is checked, and the
 * connection goes to a checked address (no second lookup). The first bytes
 * of every tunnel are inspected: a TLS ClientHello must name the host the
 * tunnel was opened for. Payload is relayed with splice(2).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"
#include "policy/proxy-env.h"

struct hutch_loop;
struct hutch_policy;
struct hutch_proxy;
struct hutch_resolver;

enum hutch_proxy_via {
	HUTCH_PROXY_VIA_CONNECT = 1, /* HTTP CONNECT tunnel */
	HUTCH_PROXY_VIA_HTTP = 2,    /* absolute-form http:// request(s) */
	HUTCH_PROXY_VIA_SOCKS5 = 3,
	HUTCH_PROXY_VIA_HOST_PORT = 4,	 /* a host port (hostport.h): relayed, not proxied */
	HUTCH_PROXY_VIA_TRANSPARENT = 5, /* redirected by the sandbox's nftables (transparent.h) */
};

/* What became of an allowed or refused destination. */
enum hutch_proxy_outcome {
	HUTCH_PROXY_CONNECTED = 0, /* allowed, and the upstream connection was made */
	HUTCH_PROXY_FAILED = 1,	   /* allowed, but not made (or no response): reason says why */
	HUTCH_PROXY_REFUSED = 2,   /* refused by the policy, or a malformed request */
};

enum hutch_proxy_phase {
	HUTCH_PROXY_END = 0,  /* the final record: how it ended, bytes, duration */
	HUTCH_PROXY_OPEN = 1, /* the upstream connection was just made (CONNECTED only) */
};

/*
 * One connection (or one upstream of a kept-alive HTTP client connection,
 * or one refused request). A connection that was made gives an OPEN record
 * at once and an END record when it closes; a failed or refused one gives
 * only its END record, when that is known. Strings are valid during the call.
 */
struct hutch_proxy_record {
	enum hutch_proxy_phase phase;
	enum hutch_proxy_outcome outcome;
	enum hutch_proxy_via via;
	const char *host;    /* canonical name or address text; "" if the request was unparsable */
	uint16_t port;	     /* 0 if unknown */
	const char *address; /* the checked address connected to (or refused); "" if none */
	bool allowed;	     /* the policy decision (outcome != HUTCH_PROXY_REFUSED) */
	const char *rule;    /* the rule that decided, NULL if none (e.g. not in allowlist) */
	const char *origin;  /* where that rule came from, NULL if none */
	const char *reason;  /* why it was denied, or how it ended ("closed", "idle timeout") */
	const char *sni;     /* TLS server name seen, NULL if none */
	uint64_t bytes_up;   /* client -> server payload bytes */
	uint64_t bytes_down; /* server -> client payload bytes */
	uint64_t duration_ms;
	unsigned requests; /* HTTP requests carried (VIA_HTTP) */
};

struct hutch_proxy_hooks {
	/* Called for every record; the audit log and `-v` plug in here. May be NULL. */
	void (*on_record)(const struct hutch_proxy_record *rec, void *userdata);
	void *userdata;
	/*
	 * --ask (see hutch.h): put "allow HOST:PORT?" to the user without waiting:
	 * 0 when asked (the connection waits; the answer comes through
	 * hutch_proxy_ask_answer()), < 0 when it cannot be (denied). NULL: never ask.
	 */
	int (*ask)(const char *host, uint16_t port, void *data);
	void *ask_data;
};

/* Tunables; zero fields take the defaults shown. */
struct hutch_proxy_opts {
	unsigned max_conns;	       /* 1024 concurrent client connections */
	unsigned handshake_timeout_ms; /* 30000: request head, SOCKS handshake, ClientHello */
	unsigned connect_timeout_ms;   /* 10000: DNS + TCP connect */
	unsigned idle_timeout_ms;      /* 1800000: no byte either way (also: no HTTP response) */
	unsigned stall_timeout_ms;     /* 120000: a tunnel's bytes not taken by the other side */
	unsigned max_per_dest;	       /* max_conns / 4: connections to one host:port at once */
	unsigned dns_timeout_ms;       /* 5000 */
	int pipe_size;		       /* enlarged splice pipes (bytes), 0: 1 MiB, < 0: never */
	/*
	 * Test-only resolver override (c-ares server list, e.g. "127.0.0.1:5353").
	 * Never exposed to anything the sandbox controls; NULL: /etc/resolv.conf.
	 */
	const char *dns_servers;
};

#define HUTCH_PROXY_MAX_CONNS 65536 /* hard ceiling for opts.max_conns */
/*
 * Connections over max_conns are still read up to their request so the client
 * gets a reason (HTTP 503 with X-Hutch-Error, a SOCKS general-failure reply) and
 * the log a failed connection saying why; at most this many at once, each without
 * an upstream side and under the handshake timeout. Beyond that a connection is
 * closed at once (stats.refused_limit counts both).
 */
#define HUTCH_PROXY_OVER_CAP_MAX 64
#define HUTCH_PROXY_MAX_DENIED 64 /* distinct denied destinations remembered */

/*
 * Start serving. @http_listen_fd and @socks_listen_fd are listening TCP
 * sockets (either may be -1); the proxy takes ownership of them (closes
 * them in hutch_proxy_free) and makes them non-blocking. @p gives
 * network.allow, network.deny and network.allowPrivate. @hooks may be NULL.
 */
int hutch_proxy_new(struct hutch_loop *loop, const struct hutch_policy *p, int http_listen_fd,
		    int socks_listen_fd, const struct hutch_proxy_hooks *hooks,
		    struct hutch_proxy **out, hutch_error *err);
int hutch_proxy_new_opts(struct hutch_loop *loop, const struct hutch_policy *p, int http_listen_fd,
			 int socks_listen_fd, const struct hutch_proxy_hooks *hooks,
			 const struct hutch_proxy_opts *opts, struct hutch_proxy **out,
			 hutch_error *err);
/*
 * Serve the transparent listener @fd too (docs/network.md, "Transparent
 * egress"): each connection's original destination (net/transparent.c) enters
 * the state machine of a SOCKS5 CONNECT, without the handshake; refusals and
 * failures reset the connection. @res maps pool addresses back to names (it
 * must outlive the proxy; NULL: none handed out). The proxy owns @fd.
 */
int hutch_proxy_add_transparent(struct hutch_proxy *px, int fd, const struct hutch_resolver *res,
				hutch_error *err);
/*
 * The answer to a question started through hooks.ask: the connections
 * waiting on HOST:PORT go on (or are refused); it is remembered for the run
 * except ONCE, which lets one of them through.
 */
void hutch_proxy_ask_answer(struct hutch_proxy *px, const char *host, uint16_t port,
			    enum hutch_ask_decision a);

/* Close every connection (each produces its record) and free everything. */
void hutch_proxy_free(struct hutch_proxy *px);

/* Denied destinations ("host:port"), distinct, in order of first denial. */
size_t hutch_proxy_n_denied(const struct hutch_proxy *px);
const char *hutch_proxy_denied(const struct hutch_proxy *px, size_t i);
/*
 * One line for the exit summary: "evil.com:443, 169.254.169.254:80 (+3 more)".
 * Returns the length written (0 when nothing was denied).
 */
size_t hutch_proxy_denied_summary(const struct hutch_proxy *px, char *buf, size_t cap);

struct hutch_proxy_stats {
	uint64_t accepted;	  /* client connections accepted */
	uint64_t refused_limit;	  /* over max_conns: refused (or closed, past the overflow) */
	uint64_t allowed, denied; /* decisions (END records) */
	uint64_t failed;	  /* ... of the allowed ones: not made */
	unsigned active, peak;	  /* concurrent client connections */
};
void hutch_proxy_get_stats(const struct hutch_proxy *px, struct hutch_proxy_stats *st);
