/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proxy engine: see proxy.h. One struct conn per accepted client
 * connection. The client side is parsed (HTTP heads and bodies, SOCKS5,
 * the first ClientHello of a tunnel) through small bounded buffers; the
 * upstream-to-client direction and established tunnels are relayed with
 * splice (relay.c). Every decision goes through filter.c.
 *
 * Each connection has:
 * - an input mode for what the client sends (head, SOCKS handshake, body,
 *   TLS peek, raw splice, paused, discard-before-close);
 * - an upstream state (none, resolving, connecting, open);
 * - three buffers: ibuf (client input being parsed), obuf (bytes queued
 *   for upstream), dbuf (bytes the proxy itself says to the client). dbuf
 *   is written only after the down pipe drained, and upstream is not read
 *   while dbuf is pending, so the client sees bytes in order;
 * - one timer node in the list of its current phase.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/loop.h"
#include "policy/policy.h"
#include "net/dns.h"
#include "policy/filter.h"
#include "net/http.h"
#include "net/proxy.h"
#include "net/relay.h"
#include "net/socks5.h"
#include "net/tcp.h"
#include "net/timer.h"
#include "net/tls-sni.h"
#include "net/transparent.h"

#define IBUF_MAX HUTCH_TLS_HELLO_MAX	     /* a request head or a ClientHello */
#define OBUF_MAX (HUTCH_TLS_HELLO_MAX + 256) /* a rewritten head or a ClientHello */
#define DBUF_MAX 2048			     /* the proxy's own responses */
#define BUF_MIN 512
#define ACCEPT_BATCH 64
#define CLOSE_TIMEOUT_MS 5000 /* flush the final response and linger */
#define ACCEPT_RETRY_MS 1000
#define DRIVE_ROUNDS 64

#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_HANDSHAKE_MS 30000
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_IDLE_MS 1800000
#define DEFAULT_DNS_MS 5000
#define DEFAULT_STALL_MS 120000
/*
 * Kernel socket buffers per tunnel (docs/network.md, "What the proxy holds"):
 * the setsockopt values, which the kernel doubles. The sandbox side is a
 * loopback in its namespace (no latency to cover); the upstream side keeps
 * a window that fills a 100 ms path at about 40 Mbit/s.
 */
#define CLIENT_SOCKBUF (128 * 1024)
#define UPSTREAM_SOCKBUF (512 * 1024)
/*
 * What one tunnel can make the kernel hold at most: both buffers of both
 * sockets (the kernel doubles what is asked) and one big pipe.
 */
#define TUNNEL_KERNEL_MAX (4 * (CLIENT_SOCKBUF + UPSTREAM_SOCKBUF) + 1024 * 1024)
/* With --memory, the connection cap keeps what tunnels hold within it too. */
#define MIN_MAX_CONNS 16

/* ---- bounded buffers ------------------------------------------------------------ */

struct buf {
	uint8_t *p;
	size_t len, cap, max;
};

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * Make room for @n more bytes (up to max); returns the room available.
 * Buffers start small and double: most heads, SOCKS messages and replies are
 * a few hundred bytes, and a thousand idle tunnels should not cost 4 KiB each.
 */
static size_t buf_room(struct buf *b, size_t n)
{
	size_t want = b->len + n, cap;
	uint8_t *p;

	if (want > b->max)
		want = b->max;
	if (want <= b->cap)
		return b->cap - b->len;
	cap = b->cap ? b->cap : BUF_MIN;
	while (cap < want)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	p = realloc(b->p, cap);
	if (!p)
		return b->cap - b->len;
	b->p = p;
	b->cap = cap;
	return b->cap - b->len;
}

static int buf_append(struct buf *b, const void *data, size_t n)
{
	if (!n)
		return 0;
	if (buf_room(b, n) < n)
		return -ENOBUFS;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* ---- structures ----------------------------------------------------------------- */

enum side { SIDE_CLIENT = 0, SIDE_UPSTREAM = 1 };

enum in_mode {
	IN_HTTP_HEAD,	   /* reading a request head */
	IN_SOCKS_GREETING, /* reading the SOCKS5 greeting */
	IN_SOCKS_REQUEST,  /* reading the SOCKS5 request */
	IN_WAIT,	   /* not reading: waiting for the upstream or for the end */
	IN_HTTP_BODY,	   /* forwarding a request body */
	IN_TLS_PEEK,	   /* tunnel: looking at the first client bytes */
	IN_SPLICE,	   /* tunnel: raw relay */
	IN_DISCARD,	   /* final response sent: read and drop until EOF or timeout */
	IN_TRANSPARENT,	   /* redirected: the destination is read from the socket, not parsed */
};

enum up_state { UP_NONE, UP_RESOLVING, UP_CONNECTING, UP_OPEN };

struct endpoint {
	struct conn *c;
	enum side side;
};

/* The destination currently served on a connection and its accounting. */
struct session {
	bool active;
	enum hutch_proxy_via via;
	struct hutch_host host;
	uint16_t port;
	struct hutch_decision dec;
	char address[HUTCH_ADDR_STRLEN];
	char sni[HUTCH_HOST_MAX + 1];
	uint64_t start_ms, up0, down0;
	unsigned requests;
	bool connected; /* the upstream connection was made (OPEN record given) */
	bool failed;	/* unreachable(): the reason is why it could not be made */
};

struct conn {
	struct hutch_proxy *px;
	struct conn *prev, *next;
	int cfd, ufd;
	struct endpoint ep[2];
	uint32_t ev[2]; /* events registered per side, for cheap updates */
	bool socks;
	bool transparent; /* from the transparent listener: refusals reset the connection */
	enum in_mode in;
	enum up_state up_state;
	bool tunnel;	   /* CONNECT/SOCKS relay established */
	bool closing;	   /* final bytes queued: flush, shut down, discard, free */
	bool shut_sent;	   /* closing: SHUT_WR sent to the client */
	bool client_eof;   /* the client sent FIN (parsed modes) */
	bool c_rd, u_rd;   /* readiness hints from epoll */
	bool in_drive;	   /* conn_drive is on the stack: callbacks must not re-enter it */
	bool unwatched[2]; /* removed from epoll after a hang-up nobody was reading */
	bool tls_refused;
	bool over_cap; /* accepted over max_conns: its request is answered with a refusal */
	bool awaiting_response;
	/* --ask: the request waits for the user's answer about ask_key ("host:port") */
	bool asking;
	bool ask_once; /* the answer was "once": this connection's next check passes */
	char *ask_key;
	uint64_t request_down0; /* down bytes when the last request was sent */
	struct buf ibuf, obuf, dbuf;
	uint64_t up_written; /* bytes written upstream from obuf */
	struct hutch_pump up, down;
	/* the request being served */
	struct session s;
	int64_t body_left; /* IN_HTTP_BODY with Content-Length */
	bool body_chunked;
	struct hutch_chunked chunk;
	bool close_after; /* the client asked to close after this exchange */
	/* resolution and connection */
	struct hutch_dns_query *query;
	struct hutch_addr addrs[HUTCH_DNS_MAX_ADDRS];
	size_t n_addrs, next_addr;
	int last_connect_err;
	struct hutch_tnode tn;
};

enum listener_kind { LST_HTTP, LST_SOCKS, LST_TRANSPARENT, LST_N };

struct listener {
	struct hutch_proxy *px;
	int fd;
	enum listener_kind kind;
};

struct hutch_proxy {
	struct hutch_loop *loop;
	struct hutch_filter *filter;
	struct hutch_proxy_hooks hooks;
	struct hutch_proxy_opts opts;
	struct listener lst[LST_N];
	const struct hutch_resolver *resolver; /* pool names for the transparent listener */
	bool accept_paused;
	struct hutch_timer timer;
	bool timer_ok;
	struct hutch_tlist l_handshake, l_connect, l_idle, l_stall, l_close, l_retry;
	struct hutch_tnode retry_node;
	struct hutch_dns *dns;
	struct hutch_pipe_pool pipes;
	struct conn *conns;
	unsigned n_conns;
	unsigned n_over; /* over max_conns, kept only to be refused */
	struct hutch_proxy_stats stats;
	char *denied[HUTCH_PROXY_MAX_DENIED];
	size_t n_denied;
	uint64_t denied_more;
	bool freeing;
	/* --ask: the answers remembered for the run ("host:port"), bounded like denied[] */
	bool ask_ok;
	char *asked_allow[HUTCH_PROXY_MAX_DENIED], *asked_deny[HUTCH_PROXY_MAX_DENIED];
	size_t n_asked_allow, n_asked_deny;
};

static void conn_drive(struct conn *c);
static void conn_free(struct conn *c, const char *reason);

/* ---- --ask ------------------------------------------------------------------------ */

static bool in_list(char *const *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], key) == 0)
			return true;
	return false;
}

static void remember(char **v, size_t *n, const char *key)
{
	char *dup;

	if (*n >= HUTCH_PROXY_MAX_DENIED)
		return; /* full: later ones are asked again */
	dup = strdup(key);
	if (dup)
		v[(*n)++] = dup;
}

static bool ask_pending(const struct hutch_proxy *px, const char *key)
{
	for (const struct conn *c = px->conns; c; c = c->next)
		if (c->asking && c->ask_key && strcmp(c->ask_key, key) == 0)
			return true;
	return false;
}

/*
 * --ask (hutch_run_opts.ask): a destination refused for no other reason than
 * not being in the allowlist is put to the user. Not a deny rule, not a
 * special address literal; a name the user allows still goes through the
 * second stage (address deny rules, the special-class check) once resolved.
 * ONCE allows this connection; SESSION and ALWAYS the host:port for the run;
 * DENY is remembered too, so a retry loop is not asked again.
 *
 * The question is asynchronous: the connection stops (true: its request is
 * left unconsumed) while the loop serves everything else, and is checked
 * again when hutch_proxy_ask_answer() brings the answer.
 */
static bool maybe_ask(struct conn *c, const struct hutch_host *h, uint16_t port,
		      struct hutch_decision *d)
{
	struct hutch_proxy *px = c->px;
	char key[HUTCH_HOST_MAX + 16];
	enum hutch_ask_decision a;

	if (d->allow || d->rule || !px->ask_ok || c->over_cap || !d->reason ||
	    (strcmp(d->reason, "not in allowlist") != 0 &&
	     strcmp(d->reason, "allowlist is empty") != 0 &&
	     strcmp(d->reason, "IP address not in allowlist") != 0))
		return false;
	if (h->kind == HUTCH_HOST_ADDR && d->cls != HUTCH_ADDR_PUBLIC)
		return false;
	snprintf(key, sizeof(key), "%s:%u", h->name, (unsigned)port);
	if (c->ask_once) {
		c->ask_once = false;
		a = HUTCH_ASK_ONCE;
	} else if (in_list(px->asked_deny, px->n_asked_deny, key)) {
		return false;
	} else if (in_list(px->asked_allow, px->n_asked_allow, key)) {
		a = HUTCH_ASK_SESSION;
	} else {
		/* one question per host:port at a time; a second connection waits for it */
		bool first = !ask_pending(px, key);

		free(c->ask_key);
		c->ask_key = strdup(key);
		if (!c->ask_key ||
		    (first && px->hooks.ask(h->name, port, px->hooks.ask_data) < 0)) {
			free(c->ask_key);
			c->ask_key = NULL;
			return false; /* cannot ask: denied */
		}
		c->asking = true;
		return true;
	}
	d->allow = true;
	d->rule = a == HUTCH_ASK_ONCE ? "--ask (once)" : "--ask";
	d->origin = "--ask";
	d->reason = "allowed by the user";
	return false;
}

/* ---- records -------------------------------------------------------------------- */

static void remember_denied(struct hutch_proxy *px, const char *host, uint16_t port,
			    const char *note)
{
	char item[HUTCH_HOST_MAX + 300];
	char *dup;

	if (!host || !host[0])
		return;
	if (strchr(host, ':'))
		snprintf(item, sizeof(item), "[%s]:%u%s%s", host, port, note ? " " : "",
			 note ? note : "");
	else
		snprintf(item, sizeof(item), "%s:%u%s%s", host, port, note ? " " : "",
			 note ? note : "");
	for (size_t i = 0; i < px->n_denied; i++)
		if (strcmp(px->denied[i], item) == 0)
			return;
	if (px->n_denied == HUTCH_PROXY_MAX_DENIED) {
		px->denied_more++;
		return;
	}
	dup = strdup(item);
	if (dup)
		px->denied[px->n_denied++] = dup;
}

static void emit(struct hutch_proxy *px, const struct hutch_proxy_record *rec)
{
	if (rec->phase == HUTCH_PROXY_END) {
		px->stats.allowed += rec->allowed;
		px->stats.denied += !rec->allowed;
		px->stats.failed += rec->outcome == HUTCH_PROXY_FAILED;
	}
	if (px->hooks.on_record)
		px->hooks.on_record(rec, px->hooks.userdata);
}

static uint64_t up_total(const struct conn *c)
{
	return c->up.bytes + c->up_written;
}

static void session_begin(struct conn *c, enum hutch_proxy_via via, const struct hutch_host *h,
			  uint16_t port, const struct hutch_decision *d)
{
	memset(&c->s, 0, sizeof(c->s));
	c->s.active = true;
	c->s.via = via;
	c->s.host = *h;
	c->s.port = port;
	c->s.dec = *d;
	c->s.start_ms = hutch_now_ms();
	c->s.up0 = up_total(c);
	c->s.down0 = c->down.bytes;
}

static void session_record(const struct conn *c, struct hutch_proxy_record *rec)
{
	rec->via = c->s.via;
	rec->host = c->s.host.name;
	rec->port = c->s.port;
	rec->address = c->s.address;
	rec->rule = c->s.dec.rule;
	rec->origin = c->s.dec.origin;
	rec->sni = c->s.sni[0] ? c->s.sni : NULL;
}

/* The upstream connection was made: the OPEN record, when it happens. */
static void session_opened(struct conn *c)
{
	struct hutch_proxy_record rec = {0};

	if (!c->s.active || c->s.connected)
		return;
	c->s.connected = true;
	session_record(c, &rec);
	rec.phase = HUTCH_PROXY_OPEN;
	rec.outcome = HUTCH_PROXY_CONNECTED;
	rec.allowed = true;
	rec.reason = c->s.dec.reason;
	emit(c->px, &rec);
}

/*
 * Emit the END record of the current session; @allowed false turns it into a
 * denial. An allowed session that never connected failed: unreachable() gave
 * the cause; otherwise the client went away first.
 */
static void session_end(struct conn *c, bool allowed, const char *reason)
{
	struct hutch_proxy_record rec = {0};
	char why[300];

	if (!c->s.active)
		return;
	c->s.active = false;
	rec.phase = HUTCH_PROXY_END;
	if (!(allowed && c->s.dec.allow))
		rec.outcome = HUTCH_PROXY_REFUSED;
	else if (c->s.failed)
		rec.outcome = HUTCH_PROXY_FAILED;
	else if (!c->s.connected) {
		rec.outcome = HUTCH_PROXY_FAILED;
		snprintf(why, sizeof(why), "the client left before the connection was made (%s)",
			 reason ? reason : "closed");
		reason = why;
	} else
		rec.outcome = HUTCH_PROXY_CONNECTED;
	session_record(c, &rec);
	rec.allowed = rec.outcome != HUTCH_PROXY_REFUSED;
	rec.reason = reason ? reason : c->s.dec.reason;
	rec.bytes_up = up_total(c) - c->s.up0;
	rec.bytes_down = c->down.bytes - c->s.down0;
	rec.duration_ms = hutch_now_ms() - c->s.start_ms;
	rec.requests = c->s.requests;
	if (!rec.allowed)
		remember_denied(c->px, rec.host, rec.port,
				c->tls_refused ? "(TLS ClientHello refused)" : NULL);
	emit(c->px, &rec);
}

/* A refused request that never became a session (bad request, policy denial). */
static void record_refusal(struct conn *c, enum hutch_proxy_via via, const struct hutch_host *h,
			   uint16_t port, const struct hutch_decision *d, const char *address,
			   const char *reason)
{
	struct hutch_proxy_record rec = {0};

	rec.phase = HUTCH_PROXY_END;
	rec.outcome = HUTCH_PROXY_REFUSED;
	rec.via = via;
	rec.host = h ? h->name : "";
	rec.port = port;
	rec.address = address ? address : "";
	rec.allowed = false;
	rec.rule = d ? d->rule : NULL;
	rec.origin = d ? d->origin : NULL;
	rec.reason = reason ? reason : (d ? d->reason : "refused");
	if (h && h->name[0])
		remember_denied(c->px, h->name, port, NULL);
	emit(c->px, &rec);
}

/* "rule (origin)" or the reason, for X-Hutch-Deny and messages. */
static void deny_text(const struct hutch_decision *d, char *out, size_t cap)
{
	if (d->rule)
		snprintf(out, cap, "%s (%s)", d->rule,
			 d->origin && d->origin[0] ? d->origin : "policy");
	else
		snprintf(out, cap, "%s", d->reason ? d->reason : "denied");
}

/* ---- event interest and timers -------------------------------------------------- */

static bool reading_client(const struct conn *c)
{
	if ((c->client_eof && c->in != IN_SPLICE) || c->asking)
		return false;
	switch (c->in) {
	case IN_HTTP_HEAD:
	case IN_SOCKS_GREETING:
	case IN_SOCKS_REQUEST:
	case IN_TLS_PEEK:
		return !c->closing && c->ibuf.len < c->ibuf.max;
	case IN_HTTP_BODY:
		return c->obuf.len == 0 && c->ibuf.len < c->ibuf.max;
	case IN_SPLICE:
		return c->obuf.len == 0 && c->ufd >= 0 && hutch_pump_want_read(&c->up);
	case IN_DISCARD:
		return true;
	case IN_WAIT:
	case IN_TRANSPARENT:
		return false;
	}
	return false;
}

static bool reading_upstream(const struct conn *c)
{
	return c->up_state == UP_OPEN && c->dbuf.len == 0 && !c->closing &&
	       hutch_pump_want_read(&c->down);
}

static void set_events(struct conn *c, enum side side, uint32_t ev)
{
	hutch_tcp_watch(c->px->loop, side == SIDE_CLIENT ? c->cfd : c->ufd, c->unwatched[side],
			&c->ev[side], ev);
}

static void update_events(struct conn *c)
{
	uint32_t ce = 0, ue = 0;

	if (reading_client(c))
		ce |= EPOLLIN;
	if (hutch_pump_want_write(&c->down) || (c->dbuf.len && !c->down.in_pipe && !c->shut_sent))
		ce |= EPOLLOUT;
	set_events(c, SIDE_CLIENT, ce);
	if (c->ufd >= 0) {
		if (c->up_state == UP_CONNECTING)
			ue = EPOLLOUT;
		else if (c->up_state == UP_OPEN) {
			if (reading_upstream(c))
				ue |= EPOLLIN;
			if (c->obuf.len || hutch_pump_want_write(&c->up))
				ue |= EPOLLOUT;
		}
		set_events(c, SIDE_UPSTREAM, ue);
	}
}

/* Put the connection's timer in the list for its phase; @refresh restarts it. */
static void update_timer(struct conn *c, bool refresh)
{
	struct hutch_proxy *px = c->px;
	struct hutch_tlist *l;

	if (c->closing)
		l = &px->l_close;
	else if (c->asking)
		l = &px->l_idle; /* the user's answer has its own timeout */
	else if (c->up_state == UP_RESOLVING || c->up_state == UP_CONNECTING)
		l = &px->l_connect;
	else if (c->in == IN_SOCKS_GREETING || c->in == IN_SOCKS_REQUEST)
		l = &px->l_handshake;
	else if ((c->in == IN_HTTP_HEAD || c->in == IN_TLS_PEEK) &&
		 (c->ibuf.len > 0 ||
		  (c->in == IN_HTTP_HEAD && !c->s.active && !c->up.bytes && !c->up_written)))
		l = &px->l_handshake; /* a head must complete in time, however slowly it drips */
	else if (c->in == IN_SPLICE && (c->up.in_pipe || c->down.in_pipe))
		l = &px->l_stall; /* bytes wait for a side that does not take them */
	else
		l = &px->l_idle;
	if (c->tn.list != l || (refresh && (l == &px->l_idle || l == &px->l_stall)))
		hutch_tnode_arm(&px->timer, l, &c->tn, hutch_now_ms());
}

/* ---- client responses ----------------------------------------------------------- */

static void socket_abort(int fd);

/* Queue the final bytes for the client and stop everything else. */
static void finish_with(struct conn *c, const void *data, size_t n)
{
	c->dbuf.len = 0;
	(void)buf_append(&c->dbuf, data, n);
	c->closing = true;
	c->in = IN_WAIT;
	hutch_dns_cancel(c->query);
	c->query = NULL;
	if (c->ufd >= 0) {
		hutch_loop_del(c->px->loop, c->ufd);
		close(c->ufd);
		c->ufd = -1;
		c->ev[SIDE_UPSTREAM] = 0;
		c->unwatched[SIDE_UPSTREAM] = false;
	}
	c->up_state = UP_NONE;
	hutch_pump_close(&c->up, &c->px->pipes);
	if (c->transparent)
		socket_abort(c->cfd); /* no protocol to answer in: the close is a reset */
}

static void http_fail(struct conn *c, int status, const char *deny, const char *what)
{
	char resp[DBUF_MAX];
	size_t n = hutch_http_error(resp, sizeof(resp), status, deny, what);

	finish_with(c, resp, n);
}

static void socks_fail(struct conn *c, enum hutch_socks5_rep rep)
{
	uint8_t r[HUTCH_SOCKS5_REPLY_MAX];
	size_t n = hutch_socks5_reply(r, rep, NULL, 0);

	finish_with(c, r, n);
}

/* Refuse the current destination by policy (403 / SOCKS 0x02). */
static void refuse(struct conn *c, const struct hutch_decision *d, const char *detail)
{
	char text[600], what[800];

	deny_text(d, text, sizeof(text));
	snprintf(what, sizeof(what), "connection to %s:%u refused%s%s", c->s.host.name, c->s.port,
		 detail ? ": " : "", detail ? detail : "");
	if (c->transparent)
		finish_with(c, "", 0);
	else if (c->socks)
		socks_fail(c, HUTCH_SOCKS5_NOT_ALLOWED);
	else
		http_fail(c, 403, text, what);
}

/* Upstream could not be reached (502/504, SOCKS 0x04/0x05/0x03). */
static void unreachable(struct conn *c, int err, const char *why)
{
	char what[600];
	bool timeout = err == -ETIMEDOUT;

	snprintf(what, sizeof(what), "%s:%u: %s", c->s.host.name, c->s.port, why);
	c->s.failed = true;
	session_end(c, true, why);
	if (c->transparent) {
		finish_with(c, "", 0);
	} else if (c->socks) {
		enum hutch_socks5_rep rep = HUTCH_SOCKS5_HOST_UNREACHABLE;

		if (err == -ECONNREFUSED)
			rep = HUTCH_SOCKS5_REFUSED;
		else if (err == -EBUSY)
			rep = HUTCH_SOCKS5_FAILURE;
		else if (err == -ENETUNREACH)
			rep = HUTCH_SOCKS5_NET_UNREACHABLE;
		else if (timeout)
			rep = HUTCH_SOCKS5_TTL_EXPIRED;
		socks_fail(c, rep);
	} else {
		http_fail(c, timeout ? 504 : err == -EBUSY ? 503 : 502, NULL, what);
	}
}

/* ---- connecting ----------------------------------------------------------------- */

static void on_connected(struct conn *c);

static int on_fd(struct hutch_loop *loop, int fd, uint32_t events, void *data);

static void set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Fixed buffers (no autotuning): what a stalled tunnel can hold in the kernel is bounded. */
static void set_bufs(int fd, int size)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Try the next checked address; returns when connected, pending or out of addresses. */
static void connect_next(struct conn *c)
{
	while (c->next_addr < c->n_addrs) {
		const struct hutch_addr *a = &c->addrs[c->next_addr++];
		bool now;
		int fd;

		hutch_addr_format(a, c->s.address);
		fd = hutch_tcp_connect(a->family, a->b, c->s.port, UPSTREAM_SOCKBUF, &now);
		if (fd < 0) {
			c->last_connect_err = fd;
			continue;
		}
		c->ufd = fd;
		c->ev[SIDE_UPSTREAM] = EPOLLOUT;
		if (hutch_loop_add(c->px->loop, fd, EPOLLOUT, on_fd, &c->ep[SIDE_UPSTREAM]) < 0) {
			c->last_connect_err = -ENOMEM;
			close(fd);
			c->ufd = -1;
			continue;
		}
		c->up_state = UP_CONNECTING;
		hutch_tnode_arm(&c->px->timer, &c->px->l_connect, &c->tn, hutch_now_ms());
		if (now)
			on_connected(c);
		return;
	}
	c->up_state = UP_NONE;
	{
		char why[256];
		int e = c->last_connect_err ? c->last_connect_err : -EHOSTUNREACH;

		snprintf(why, sizeof(why), "connect to %s failed: %s", c->s.address, strerror(-e));
		unreachable(c, e, why);
	}
}

static void upstream_close(struct conn *c)
{
	if (c->ufd >= 0) {
		hutch_loop_del(c->px->loop, c->ufd);
		close(c->ufd);
		c->ufd = -1;
	}
	c->ev[SIDE_UPSTREAM] = 0;
	c->unwatched[SIDE_UPSTREAM] = false;
	c->up_state = UP_NONE;
	c->down.eof = false;
	c->down.blocked = false;
	c->awaiting_response = false;
}

static void connect_check(struct conn *c)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	if (e) {
		c->last_connect_err = -e;
		upstream_close(c);
		connect_next(c);
		return;
	}
	on_connected(c);
}

static void on_connected(struct conn *c)
{
	c->up_state = UP_OPEN;
	c->u_rd = false;
	session_opened(c);
	if (c->transparent) {
		c->tunnel = true;
		c->in = IN_TLS_PEEK;
	} else if (c->socks) {
		uint8_t r[HUTCH_SOCKS5_REPLY_MAX];
		size_t n = hutch_socks5_reply(r, HUTCH_SOCKS5_OK, NULL, 0);

		(void)buf_append(&c->dbuf, r, n);
		c->tunnel = true;
		c->in = IN_TLS_PEEK;
	} else if (c->s.via == HUTCH_PROXY_VIA_CONNECT) {
		static const char ok200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

		(void)buf_append(&c->dbuf, ok200, sizeof(ok200) - 1);
		c->tunnel = true;
		c->in = IN_TLS_PEEK;
	} else {
		/* the rewritten head is in obuf; the body (if any) follows */
		c->in = (c->body_left > 0 || c->body_chunked) ? IN_HTTP_BODY : IN_HTTP_HEAD;
		c->awaiting_response = true;
		c->request_down0 = c->down.bytes;
	}
	update_timer(c, true);
}

static void on_resolved(void *data, int err, const char *why, const struct hutch_addr *addrs,
			size_t n)
{
	struct conn *c = data;
	struct hutch_decision first_denial = {0};
	char first_addr[HUTCH_ADDR_STRLEN] = "";
	bool denied_one = false;

	c->query = NULL;
	if (err < 0) {
		char w[300];

		snprintf(w, sizeof(w), "cannot resolve %s: %s", c->s.host.name,
			 why ? why : "error");
		unreachable(c, -EHOSTUNREACH, w); /* unresolvable: 502 (SOCKS 0x04) */
		conn_drive(c);
		return;
	}
	/* every address is checked; only checked addresses are kept */
	c->n_addrs = 0;
	c->next_addr = 0;
	for (size_t i = 0; i < n; i++) {
		struct hutch_decision d;

		hutch_filter_check_addr(c->px->filter, &addrs[i], c->s.port, &c->s.dec, &d);
		if (d.allow) {
			/* the record keeps the name rule; an address rule only lifted the
			 * special-address refusal */
			c->addrs[c->n_addrs++] = addrs[i];
		} else if (!denied_one) {
			denied_one = true;
			first_denial = d;
			hutch_addr_format(&addrs[i], first_addr);
		}
	}
	if (!c->n_addrs) {
		char detail[HUTCH_HOST_MAX + HUTCH_ADDR_STRLEN + 32];

		snprintf(detail, sizeof(detail), "%s resolves to %s", c->s.host.name, first_addr);
		c->s.dec = first_denial;
		memcpy(c->s.address, first_addr, sizeof(first_addr));
		refuse(c, &first_denial, detail);
		session_end(c, false, first_denial.reason);
		conn_drive(c);
		return;
	}
	connect_next(c);
	conn_drive(c);
}

/* Connections open or being opened to the session's host:port, @c excluded. */
static unsigned dest_count(const struct conn *c)
{
	unsigned n = 0;

	for (const struct conn *o = c->px->conns; o; o = o->next)
		if (o != c && o->s.active && o->s.port == c->s.port &&
		    strcmp(o->s.host.name, c->s.host.name) == 0)
			n++;
	return n;
}

/* Begin resolving/connecting to the session's destination. The tail of a handler. */
static void start_upstream(struct conn *c)
{
	int r;

	if (c->over_cap) {
		char why[200];

		snprintf(why, sizeof(why),
			 "too many connections through the proxy (%u open, at most %u)",
			 c->px->n_conns, c->px->opts.max_conns);
		c->in = IN_WAIT;
		unreachable(c, -EBUSY, why);
		return;
	}
	/* one destination cannot take every connection the proxy has (max_per_dest) */
	if (dest_count(c) >= c->px->opts.max_per_dest) {
		char why[200];

		snprintf(why, sizeof(why),
			 "too many connections to this destination (%u open, at most %u)",
			 dest_count(c), c->px->opts.max_per_dest);
		c->in = IN_WAIT;
		unreachable(c, -EBUSY, why);
		return;
	}

	c->in = IN_WAIT;
	c->n_addrs = c->next_addr = 0;
	c->last_connect_err = 0;
	c->s.address[0] = '\0';
	if (c->s.host.kind == HUTCH_HOST_ADDR) {
		c->addrs[0] = c->s.host.addr;
		c->n_addrs = 1;
		connect_next(c);
		return;
	}
	c->up_state = UP_RESOLVING;
	update_timer(c, true);
	r = hutch_dns_resolve(c->px->dns, c->s.host.name, on_resolved, c, &c->query);
	if (r < 0) {
		c->query = NULL;
		c->up_state = UP_NONE;
		unreachable(c, r,
			    r == -EBUSY ? "too many DNS lookups in flight"
					: "cannot start DNS lookup");
	}
	/* on_resolved may already have run (and driven the connection) */
}

/* ---- HTTP ----------------------------------------------------------------------- */

static void handle_http(struct conn *c)
{
	struct hutch_http_request *req;
	const char *why = NULL;
	struct hutch_decision d;
	enum hutch_proxy_via via;
	int r;

	req = malloc(sizeof(*req));
	if (!req) {
		http_fail(c, 503, NULL, "out of memory");
		return;
	}
	r = hutch_http_parse_request(c->ibuf.p, c->ibuf.len, req, &why);
	if (r == 0 && c->client_eof) {
		r = -EINVAL;
		req->status = 400;
		why = "connection closed in the middle of a request head";
	}
	if (r == 0) {
		free(req);
		return;
	}
	if (r < 0) {
		char what[300];

		snprintf(what, sizeof(what), "bad request: %s", why ? why : "malformed");
		session_end(c, true, "closed");
		record_refusal(c, HUTCH_PROXY_VIA_HTTP, NULL, 0, NULL, NULL, what);
		http_fail(c, req->status ? req->status : 400, NULL, what);
		free(req);
		return;
	}
	via = req->form == HUTCH_HTTP_CONNECT ? HUTCH_PROXY_VIA_CONNECT : HUTCH_PROXY_VIA_HTTP;
	/* a tunnel only: an absolute-form request carries its Host header to the server */
	if (via == HUTCH_PROXY_VIA_CONNECT)
		(void)hutch_transparent_pool_name(c->px->resolver, &req->host);
	/* each request on a kept-alive connection is checked anew */
	hutch_filter_check_host(c->px->filter, &req->host, req->port, &d);
	if (maybe_ask(c, &req->host, req->port, &d)) {
		free(req); /* parsed again once answered */
		return;
	}
	if (!d.allow) {
		session_end(c, true, "closed");
		upstream_close(c);
		memset(&c->s, 0, sizeof(c->s));
		c->s.host = req->host;
		c->s.port = req->port;
		record_refusal(c, via, &req->host, req->port, &d, NULL, NULL);
		refuse(c, &d, d.reason);
		free(req);
		return;
	}
	c->close_after = req->close;
	if (via == HUTCH_PROXY_VIA_CONNECT) {
		buf_consume(&c->ibuf, (size_t)r); /* what follows belongs to the tunnel */
		session_end(c, true, "closed");
		upstream_close(c);
		session_begin(c, via, &req->host, req->port, &d);
		free(req);
		start_upstream(c);
		return;
	}
	/* absolute-form: rewrite to origin-form for the origin server */
	{
		ssize_t n;

		if (buf_room(&c->obuf, (size_t)r + 64) < (size_t)r + 64) {
			http_fail(c, 503, NULL, "out of memory");
			free(req);
			return;
		}
		n = hutch_http_rewrite(c->ibuf.p, req, c->obuf.p + c->obuf.len,
				       c->obuf.cap - c->obuf.len);
		if (n < 0) {
			record_refusal(c, via, &req->host, req->port, NULL, NULL,
				       "request head too large after rewriting");
			http_fail(c, 431, NULL, "request head too large");
			free(req);
			return;
		}
		c->obuf.len += (size_t)n;
	}
	buf_consume(&c->ibuf, (size_t)r);
	c->body_left = req->content_length > 0 ? req->content_length : 0;
	c->body_chunked = req->chunked;
	memset(&c->chunk, 0, sizeof(c->chunk));
	if (c->s.active && c->up_state == UP_OPEN && !c->down.eof && c->s.port == req->port &&
	    strcmp(c->s.host.name, req->host.name) == 0) {
		/* same destination: reuse the upstream connection (its address was checked) */
		c->s.requests++;
		c->s.dec = d;
		c->in = (c->body_left > 0 || c->body_chunked) ? IN_HTTP_BODY : IN_HTTP_HEAD;
		c->awaiting_response = true;
		c->request_down0 = c->down.bytes;
		free(req);
		return;
	}
	session_end(c, true, "closed");
	upstream_close(c);
	session_begin(c, via, &req->host, req->port, &d);
	c->s.requests = 1;
	free(req);
	start_upstream(c);
}

/* Move body bytes from ibuf to obuf; back to reading heads at the end of the body. */
static bool http_body(struct conn *c)
{
	size_t n = c->ibuf.len, room;

	if (!n)
		return false;
	room = buf_room(&c->obuf, n);
	if (n > room)
		n = room;
	if (!n)
		return false;
	if (c->body_chunked) {
		bool done = false;
		ssize_t k = hutch_chunked_scan(&c->chunk, c->ibuf.p, n, &done);

		if (k < 0) {
			session_end(c, true, "malformed chunked body");
			http_fail(c, 400, NULL, "malformed chunked request body");
			return true;
		}
		n = (size_t)k;
		if (done)
			c->body_chunked = false;
	} else {
		if ((int64_t)n > c->body_left)
			n = (size_t)c->body_left;
		c->body_left -= (int64_t)n;
	}
	memcpy(c->obuf.p + c->obuf.len, c->ibuf.p, n);
	c->obuf.len += n;
	buf_consume(&c->ibuf, n);
	if (!c->body_chunked && c->body_left == 0)
		c->in = IN_HTTP_HEAD;
	return true;
}

/* ---- SOCKS5 --------------------------------------------------------------------- */

static void handle_socks(struct conn *c)
{
	if (c->in == IN_SOCKS_GREETING) {
		uint8_t method = HUTCH_SOCKS5_AUTH_REFUSED, reply[2] = {5, 0};
		int r = hutch_socks5_parse_greeting(c->ibuf.p, c->ibuf.len, &method);

		if (r == 0 && !c->client_eof)
			return;
		if (r <= 0) {
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, NULL, 0, NULL, NULL,
				       "bad SOCKS5 greeting");
			finish_with(c, "", 0);
			return;
		}
		buf_consume(&c->ibuf, (size_t)r);
		reply[1] = method;
		if (method != HUTCH_SOCKS5_AUTH_NONE) {
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, NULL, 0, NULL, NULL,
				       "SOCKS5 client offers no usable authentication method");
			finish_with(c, reply, 2);
			return;
		}
		(void)buf_append(&c->dbuf, reply, 2);
		c->in = IN_SOCKS_REQUEST;
		return;
	}
	{
		struct hutch_socks5_request req;
		struct hutch_decision d;
		int r = hutch_socks5_parse_request(c->ibuf.p, c->ibuf.len, &req);

		if (r == 0 && !c->client_eof)
			return;
		if (r == 0) {
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, NULL, 0, NULL, NULL,
				       "truncated SOCKS5 request");
			finish_with(c, "", 0);
			return;
		}
		if (r < 0) {
			char what[200];

			snprintf(what, sizeof(what), "SOCKS5: %s",
				 req.why ? req.why : "bad request");
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, NULL, 0, NULL, NULL, what);
			socks_fail(c, req.rep);
			return;
		}
		(void)hutch_transparent_pool_name(c->px->resolver, &req.host);
		hutch_filter_check_host(c->px->filter, &req.host, req.port, &d);
		if (maybe_ask(c, &req.host, req.port, &d))
			return; /* the request stays in ibuf: parsed again once answered */
		buf_consume(&c->ibuf, (size_t)r);
		memset(&c->s, 0, sizeof(c->s));
		c->s.host = req.host;
		c->s.port = req.port;
		if (!d.allow) {
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, &req.host, req.port, &d, NULL,
				       NULL);
			refuse(c, &d, NULL);
			return;
		}
		session_begin(c, HUTCH_PROXY_VIA_SOCKS5, &req.host, req.port, &d);
		start_upstream(c);
	}
}

/* ---- transparent ---------------------------------------------------------------- */

/*
 * A redirected connection: its original destination is the request, checked
 * like a SOCKS5 CONNECT to that host (a pool address stands for its name).
 */
static void handle_transparent(struct conn *c)
{
	struct hutch_decision d;
	struct hutch_host h;
	const char *why = NULL;
	uint16_t port;
	int r = hutch_transparent_dest(c->cfd, c->px->resolver, &h, &port, &why);

	if (r < 0) {
		memset(&d, 0, sizeof(d));
		d.reason = why;
		record_refusal(c, HUTCH_PROXY_VIA_TRANSPARENT, &h, port, &d, NULL, why);
		finish_with(c, "", 0);
		return;
	}
	hutch_filter_check_host(c->px->filter, &h, port, &d);
	if (maybe_ask(c, &h, port, &d))
		return; /* handled again once answered */
	memset(&c->s, 0, sizeof(c->s));
	c->s.host = h;
	c->s.port = port;
	if (!d.allow) {
		record_refusal(c, HUTCH_PROXY_VIA_TRANSPARENT, &h, port, &d, NULL, NULL);
		refuse(c, &d, NULL);
		return;
	}
	session_begin(c, HUTCH_PROXY_VIA_TRANSPARENT, &h, port, &d);
	start_upstream(c);
}

/* ---- TLS peek ------------------------------------------------------------------- */

static void tls_refuse(struct conn *c, const char *reason)
{
	c->tls_refused = true;
	c->s.dec.allow = false;
	/* no policy rule decided this: the name rule allowed the tunnel, the check refused it */
	c->s.dec.rule = NULL;
	c->s.dec.origin = NULL;
	c->s.dec.reason = reason;
	session_end(c, false, reason);
	c->closing = true;
	c->in = IN_WAIT;
	/* close both sides now: nothing more may reach the server */
	finish_with(c, "", 0);
}

/* Decide on the first client bytes of a tunnel; true if the mode changed. */
static bool tls_peek(struct conn *c)
{
	struct hutch_tls_hello h;
	int r = hutch_tls_looks_like_handshake(c->ibuf.p, c->ibuf.len);

	if (c->ibuf.len == 0) {
		if (!c->client_eof)
			return false;
		/* the client finished without sending anything: pass the EOF on */
		c->up.eof = true;
		c->in = IN_SPLICE;
		buf_free(&c->ibuf);
		return true;
	}
	if (r == -EAGAIN && !c->client_eof)
		return false;
	if (r == 1) {
		r = hutch_tls_parse_client_hello(c->ibuf.p, c->ibuf.len, &h);
		if (r == 0 && !c->client_eof && c->ibuf.len < c->ibuf.max)
			return false;
		if (r <= 0) {
			tls_refuse(c, r == 0	    ? "incomplete TLS ClientHello"
				      : r == -E2BIG ? "TLS ClientHello too large"
						    : "malformed TLS ClientHello");
			return true;
		}
		if (h.has_sni)
			snprintf(c->s.sni, sizeof(c->s.sni), "%s", h.sni.name);
		if (h.ech) {
			tls_refuse(c, "encrypted ClientHello (ECH) refused: the server name cannot "
				      "be checked");
			return true;
		}
		if (c->s.host.kind == HUTCH_HOST_NAME) {
			if (!h.has_sni) {
				tls_refuse(c,
					   "TLS ClientHello without server name for a host allowed "
					   "by name");
				return true;
			}
			if (h.sni.kind != HUTCH_HOST_NAME || strcmp(h.sni.name, c->s.host.name)) {
				tls_refuse(c, "TLS server name does not match the tunnel's host "
					      "(domain fronting)");
				return true;
			}
		}
	}
	/* not TLS, or a ClientHello that matches: forward what we have and relay */
	if (buf_append(&c->obuf, c->ibuf.p, c->ibuf.len) < 0) {
		tls_refuse(c, "out of memory");
		return true;
	}
	c->ibuf.len = 0;
	buf_free(&c->ibuf);
	c->in = IN_SPLICE;
	if (c->client_eof)
		c->up.eof = true; /* already read: splice would not see it again */
	return true;
}

/* ---- I/O ------------------------------------------------------------------------ */

/* Read from the client into ibuf. >0 read, 0 nothing, <0 fatal. Sets client_eof. */
static int read_client(struct conn *c)
{
	size_t room;
	ssize_t n;

	if (!c->c_rd || c->client_eof)
		return 0;
	/* grow only when full: a read that finds nothing must not cost memory */
	room = c->ibuf.cap - c->ibuf.len;
	if (!room)
		room = buf_room(&c->ibuf, c->ibuf.cap ? c->ibuf.cap : BUF_MIN);
	if (!room)
		return 0;
	n = recv(c->cfd, c->ibuf.p + c->ibuf.len, room, MSG_DONTWAIT);
	if (n > 0) {
		c->ibuf.len += (size_t)n;
		return 1;
	}
	if (n == 0) {
		c->client_eof = true;
		return 1;
	}
	if (errno == EAGAIN || errno == EINTR) {
		c->c_rd = false;
		return 0;
	}
	return -errno;
}

/* Write obuf upstream. >0 progress, 0 none, <0 fatal. */
static int flush_obuf(struct conn *c)
{
	ssize_t n;

	if (!c->obuf.len || c->up_state != UP_OPEN)
		return 0;
	n = send(c->ufd, c->obuf.p, c->obuf.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		buf_consume(&c->obuf, (size_t)n);
		c->up_written += (uint64_t)n;
		if (!c->obuf.len && c->in == IN_SPLICE)
			buf_free(&c->obuf);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n < 0 ? -errno : -EPIPE;
}

/* Write dbuf to the client (only once the down pipe is empty). */
static int flush_dbuf(struct conn *c)
{
	ssize_t n;

	if (!c->dbuf.len || c->down.in_pipe)
		return 0;
	n = send(c->cfd, c->dbuf.p, c->dbuf.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		buf_consume(&c->dbuf, (size_t)n);
		if (!c->dbuf.len)
			buf_free(&c->dbuf);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n < 0 ? -errno : -EPIPE;
}

/* Upstream finished or failed while serving plain HTTP. */
static void http_upstream_done(struct conn *c, int err)
{
	bool no_response = c->awaiting_response && c->down.bytes == c->request_down0;

	if (err < 0 && no_response) {
		char w[200];

		snprintf(w, sizeof(w), "upstream connection failed: %s", strerror(-err));
		unreachable(c, err, w);
		return;
	}
	session_end(c, true, err < 0 ? "upstream connection failed" : "closed by server");
	upstream_close(c);
	/* the response may have been delimited by the close: the client sees it too */
	finish_with(c, "", 0);
}

/* One pass over everything that can progress. Returns true if something moved. */
static bool drive_once(struct conn *c, int *fatal)
{
	bool moved = false;
	int r;

	/* upstream -> client */
	if (c->down.in_pipe || (c->u_rd && reading_upstream(c))) {
		uint64_t before = c->down.bytes;
		bool rd = c->u_rd && reading_upstream(c);

		r = hutch_pump_run(&c->down, &c->px->pipes, c->ufd, c->cfd, rd);
		if (r < 0) {
			/* the client going away, or any failure of a tunnel, ends everything */
			if (c->down.dst_failed || c->tunnel) {
				*fatal = r;
				return false;
			}
			http_upstream_done(c, r);
			return true;
		}
		if (r > 0)
			moved = true;
		if (rd && r == 0)
			c->u_rd = false;
		if (c->down.bytes != before)
			c->awaiting_response = false;
	}
	if (c->down.eof && !c->down.in_pipe && c->up_state == UP_OPEN) {
		if (c->tunnel) {
			if (!c->down.shut) {
				shutdown(c->cfd, SHUT_WR);
				c->down.shut = true;
				moved = true;
			}
		} else {
			http_upstream_done(c, 0);
			return true;
		}
	}
	r = flush_dbuf(c);
	if (r < 0) {
		*fatal = r;
		return false;
	}
	moved |= r > 0;

	/* closing: after the last byte, shut down and discard what the client still sends */
	if (c->closing && c->transparent) {
		*fatal = -ECONNRESET; /* reset (finish_with): nothing to flush */
		return false;
	}
	if (c->closing) {
		if (!c->dbuf.len && !c->down.in_pipe && !c->shut_sent) {
			shutdown(c->cfd, SHUT_WR);
			c->shut_sent = true;
			c->in = IN_DISCARD;
			moved = true;
		}
		if (c->shut_sent && c->client_eof) {
			*fatal = -ECONNRESET; /* nothing left to discard: free */
			return false;
		}
		if (c->in == IN_DISCARD && c->c_rd) {
			char junk[4096];
			ssize_t n = recv(c->cfd, junk, sizeof(junk), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				*fatal = -ECONNRESET; /* done: free */
				return false;
			}
			if (n < 0)
				c->c_rd = false;
			else
				moved = true;
		}
		return moved;
	}

	/* client -> proxy / upstream */
	switch (c->in) {
	case IN_HTTP_HEAD:
	case IN_SOCKS_GREETING:
	case IN_SOCKS_REQUEST:
	case IN_TLS_PEEK: {
		enum in_mode before = c->in;

		r = read_client(c);
		if (r < 0) {
			*fatal = r;
			return false;
		}
		moved |= r > 0;
		if (c->in == IN_TLS_PEEK) {
			moved |= tls_peek(c);
		} else if (c->ibuf.len || c->client_eof) {
			if (c->client_eof && !c->ibuf.len) {
				/* the client is done sending requests */
				if (c->up_state == UP_OPEN && !c->up.shut) {
					shutdown(c->ufd, SHUT_WR);
					c->up.shut = true;
				}
				if (c->up_state != UP_OPEN && !c->down.in_pipe && !c->dbuf.len) {
					*fatal = -ECONNRESET;
					return false;
				}
				break;
			}
			if (c->asking)
				break; /* waiting for the user's answer */
			if (c->socks)
				handle_socks(c);
			else if (!c->obuf.len)
				handle_http(c); /* after the previous body reached its upstream */
			moved |= c->in != before || c->closing;
		}
		break;
	}
	case IN_HTTP_BODY:
		r = read_client(c);
		if (r < 0) {
			*fatal = r;
			return false;
		}
		moved |= r > 0;
		if (c->obuf.len == 0)
			moved |= http_body(c);
		if (c->in == IN_HTTP_BODY && c->client_eof && !c->ibuf.len) {
			session_end(c, true, "client closed during the request body");
			*fatal = -ECONNRESET;
			return false;
		}
		break;
	case IN_SPLICE:
		if (c->obuf.len)
			break; /* the peeked bytes go first */
		if (c->up.in_pipe || (c->c_rd && hutch_pump_want_read(&c->up))) {
			bool rd = c->c_rd && hutch_pump_want_read(&c->up);

			r = hutch_pump_run(&c->up, &c->px->pipes, c->cfd, c->ufd, rd);
			if (r < 0) {
				*fatal = r;
				return false;
			}
			if (r > 0)
				moved = true;
			if (rd && r == 0)
				c->c_rd = false;
		}
		if (c->up.eof && !c->up.in_pipe && !c->up.shut) {
			shutdown(c->ufd, SHUT_WR);
			c->up.shut = true;
			moved = true;
		}
		break;
	case IN_TRANSPARENT:
		if (!c->asking) {
			handle_transparent(c);
			moved = true;
		}
		break;
	case IN_WAIT:
	case IN_DISCARD:
		break;
	}
	if (c->closing)
		return true;
	r = flush_obuf(c);
	if (r < 0) {
		if (c->tunnel) {
			*fatal = r;
			return false;
		}
		http_upstream_done(c, r);
		return true;
	}
	moved |= r > 0;
	return moved;
}

static void conn_drive(struct conn *c)
{
	bool any = false;
	int fatal = 0;

	if (c->in_drive)
		return; /* the running drive loop picks the change up */
	c->in_drive = true;
	for (int i = 0; i < DRIVE_ROUNDS; i++) {
		bool moved = drive_once(c, &fatal);

		if (fatal)
			break;
		any |= moved;
		if (!moved)
			break;
	}
	c->in_drive = false;
	if (fatal) {
		conn_free(c,
			  fatal == -ECONNRESET || fatal == -EPIPE ? "closed" : "connection error");
		return;
	}
	if (c->tunnel && c->up.shut && c->down.shut && !c->up.in_pipe && !c->down.in_pipe) {
		conn_free(c, "closed");
		return;
	}
	update_events(c);
	update_timer(c, any);
}

static int on_fd(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct endpoint *e = data;
	struct conn *c = e->c;

	(void)loop;
	if (e->side == SIDE_CLIENT) {
		if (events & EPOLLERR) {
			/* reset: even a connection we are not reading from (backpressure) ends */
			conn_free(c, "client connection reset");
			return 0;
		}
		if (events & (EPOLLIN | EPOLLHUP))
			c->c_rd = true;
	} else {
		if (c->up_state == UP_CONNECTING) {
			connect_check(c);
			conn_drive(c);
			return 0;
		}
		if ((events & EPOLLERR) && c->up_state == UP_OPEN) {
			int so = 0;
			socklen_t sl = sizeof(so);

			(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
			if (c->tunnel) {
				conn_free(c, "server connection reset");
				return 0;
			}
			http_upstream_done(c, -(so ? so : ECONNRESET));
			conn_drive(c);
			return 0;
		}
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->u_rd = true;
	}
	/*
	 * epoll reports a hang-up whatever we asked for: when nobody reads that side
	 * now (waiting for DNS, backpressure), stop watching it instead of spinning.
	 * What is left in its receive queue is read when the state machine gets
	 * there; writes to it fail and end the connection.
	 */
	if ((events & EPOLLHUP) && !c->unwatched[e->side] &&
	    !(e->side == SIDE_CLIENT ? reading_client(c) : reading_upstream(c))) {
		hutch_loop_del(c->px->loop, fd);
		c->unwatched[e->side] = true;
		c->ev[e->side] = 0;
	}
	conn_drive(c);
	return 0;
}

/* ---- connection lifetime -------------------------------------------------------- */

/*
 * Reset rather than close: what the kernel holds for a socket that hutch cuts
 * (the run ended, a side stopped taking data) is freed now, not kept for
 * minutes while the kernel tries to deliver it to a peer that does not read.
 */
static void socket_abort(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void conn_free_ex(struct conn *c, const char *reason, bool abort);

static void conn_free(struct conn *c, const char *reason)
{
	conn_free_ex(c, reason, c->px->freeing);
}

static void conn_free_ex(struct conn *c, const char *reason, bool abort)
{
	struct hutch_proxy *px = c->px;

	if (abort) {
		socket_abort(c->cfd);
		socket_abort(c->ufd);
	}
	if (c->s.active)
		session_end(c, true, reason);
	hutch_dns_cancel(c->query);
	hutch_tnode_disarm(&c->tn);
	if (c->cfd >= 0) {
		hutch_loop_del(px->loop, c->cfd);
		close(c->cfd);
	}
	if (c->ufd >= 0) {
		hutch_loop_del(px->loop, c->ufd);
		close(c->ufd);
	}
	hutch_pump_close(&c->up, &c->px->pipes);
	hutch_pump_close(&c->down, &c->px->pipes);
	buf_free(&c->ibuf);
	buf_free(&c->obuf);
	buf_free(&c->dbuf);
	free(c->ask_key);
	if (c->prev)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->over_cap)
		px->n_over--;
	else
		px->n_conns--;
	px->stats.active = px->n_conns;
	free(c);
	if (px->accept_paused && !px->freeing) {
		px->accept_paused = false;
		for (int i = 0; i < LST_N; i++)
			if (px->lst[i].fd >= 0)
				(void)hutch_loop_mod(px->loop, px->lst[i].fd, EPOLLIN);
	}
}

/* A timer expired for @c. */
static void conn_timeout(struct conn *c)
{
	struct hutch_proxy *px = c->px;
	struct hutch_tlist *l = c->tn.list;

	hutch_tnode_disarm(&c->tn);
	if (l == &px->l_close) {
		conn_free(c, "closed");
		return;
	}
	if (l == &px->l_connect) {
		if (c->up_state == UP_CONNECTING && c->next_addr < c->n_addrs) {
			c->last_connect_err = -ETIMEDOUT;
			upstream_close(c);
			connect_next(c);
			conn_drive(c);
			return;
		}
		hutch_dns_cancel(c->query);
		c->query = NULL;
		upstream_close(c);
		unreachable(c, -ETIMEDOUT,
			    c->up_state == UP_RESOLVING ? "DNS lookup timed out"
							: "connect timed out");
		conn_drive(c);
		return;
	}
	if (l == &px->l_handshake) {
		if (c->in == IN_TLS_PEEK) {
			tls_refuse(c, "incomplete TLS ClientHello (timeout)");
		} else if (c->in == IN_HTTP_HEAD) {
			record_refusal(c, HUTCH_PROXY_VIA_HTTP, NULL, 0, NULL, NULL,
				       "request head timeout");
			session_end(c, true, "closed");
			http_fail(c, 408, NULL, "request head not received in time");
		} else {
			record_refusal(c, HUTCH_PROXY_VIA_SOCKS5, NULL, 0, NULL, NULL,
				       "SOCKS5 handshake timeout");
			conn_free(c, "handshake timeout");
			return;
		}
		conn_drive(c);
		return;
	}
	if (l == &px->l_stall) {
		conn_free_ex(c, "stalled: a side did not take data in time", true);
		return;
	}
	/* idle */
	if (!c->tunnel && c->awaiting_response && c->down.bytes == c->request_down0 &&
	    c->s.active) {
		upstream_close(c);
		unreachable(c, -ETIMEDOUT, "upstream did not respond in time");
		conn_drive(c);
		return;
	}
	conn_free(c, "idle timeout");
}

static void on_timer(struct hutch_timer *t, uint64_t now, void *data)
{
	struct hutch_proxy *px = data;
	struct hutch_tlist *lists[] = {&px->l_handshake, &px->l_connect, &px->l_idle, &px->l_stall,
				       &px->l_close};
	uint64_t next = 0;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct hutch_tnode *n;

		/* bounded per wake-up so a flood of expiries cannot stall the loop */
		for (int k = 0; k < 4096 && (n = hutch_tlist_expired(lists[i], now)); k++) {
			struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, tn));

			conn_timeout(c);
		}
	}
	if (hutch_tlist_expired(&px->l_retry, now)) {
		hutch_tnode_disarm(&px->retry_node);
		if (px->accept_paused) {
			px->accept_paused = false;
			for (int i = 0; i < LST_N; i++)
				if (px->lst[i].fd >= 0)
					(void)hutch_loop_mod(px->loop, px->lst[i].fd, EPOLLIN);
		}
	}
	if (px->dns)
		hutch_dns_on_timer(px->dns);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		uint64_t d = hutch_tlist_next(lists[i]);

		if (d && (!next || d < next))
			next = d;
	}
	{
		uint64_t d = hutch_tlist_next(&px->l_retry);

		if (d && (!next || d < next))
			next = d;
	}
	(void)hutch_timer_arm(t, next);
}

static int on_accept(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct listener *ls = data;
	struct hutch_proxy *px = ls->px;

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct conn *c;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* out of descriptors: stop accepting for a while */
				px->accept_paused = true;
				for (int k = 0; k < LST_N; k++)
					if (px->lst[k].fd >= 0)
						(void)hutch_loop_mod(loop, px->lst[k].fd, 0);
				hutch_tnode_arm(&px->timer, &px->l_retry, &px->retry_node,
						hutch_now_ms());
			}
			return 0;
		}
		if (px->n_conns >= px->opts.max_conns) {
			px->stats.refused_limit++;
			if (px->n_over >= HUTCH_PROXY_OVER_CAP_MAX) {
				close(cfd);
				continue;
			}
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->px = px;
		c->over_cap = px->n_conns >= px->opts.max_conns;
		c->cfd = cfd;
		c->ufd = -1;
		c->ep[SIDE_CLIENT] = (struct endpoint){c, SIDE_CLIENT};
		c->ep[SIDE_UPSTREAM] = (struct endpoint){c, SIDE_UPSTREAM};
		c->socks = ls->kind == LST_SOCKS;
		c->transparent = ls->kind == LST_TRANSPARENT;
		c->in = c->transparent ? IN_TRANSPARENT
			: c->socks     ? IN_SOCKS_GREETING
				       : IN_HTTP_HEAD;
		c->ibuf.max = IBUF_MAX;
		c->obuf.max = OBUF_MAX;
		c->dbuf.max = DBUF_MAX;
		hutch_pump_init(&c->up);
		hutch_pump_init(&c->down);
		set_nodelay(cfd);
		set_bufs(cfd, CLIENT_SOCKBUF);
		if (hutch_loop_add(loop, cfd, EPOLLIN, on_fd, &c->ep[SIDE_CLIENT]) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->ev[SIDE_CLIENT] = EPOLLIN;
		c->next = px->conns;
		if (px->conns)
			px->conns->prev = c;
		px->conns = c;
		if (c->over_cap) {
			px->n_over++;
		} else {
			px->n_conns++;
			px->stats.accepted++;
			px->stats.active = px->n_conns;
			if (px->n_conns > px->stats.peak)
				px->stats.peak = px->n_conns;
		}
		hutch_tnode_arm(&px->timer, &px->l_handshake, &c->tn, hutch_now_ms());
		if (c->transparent)
			conn_drive(c); /* the destination is known now: no request to wait for */
	}
	return 0;
}

/* ---- public API ------------------------------------------------------------------- */

int hutch_proxy_new(struct hutch_loop *loop, const struct hutch_policy *p, int http_listen_fd,
		    int socks_listen_fd, const struct hutch_proxy_hooks *hooks,
		    struct hutch_proxy **out, hutch_error *err)
{
	return hutch_proxy_new_opts(loop, p, http_listen_fd, socks_listen_fd, hooks, NULL, out,
				    err);
}

/* Make sure enough descriptors are available: each tunnel uses up to 6. */
static void raise_nofile(unsigned max_conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_conns * 6 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int hutch_proxy_new_opts(struct hutch_loop *loop, const struct hutch_policy *p, int http_listen_fd,
			 int socks_listen_fd, const struct hutch_proxy_hooks *hooks,
			 const struct hutch_proxy_opts *opts, struct hutch_proxy **out,
			 hutch_error *err)
{
	struct hutch_proxy *px;
	struct sigaction sa;
	int fds[2] = {http_listen_fd, socks_listen_fd};
	int r;

	px = calloc(1, sizeof(*px));
	if (!px) {
		r = hutch_err(err, ENOMEM, "proxy");
		goto fail_fds;
	}
	px->loop = loop;
	for (int i = 0; i < LST_N; i++)
		px->lst[i].fd = -1;
	if (hooks)
		px->hooks = *hooks;
	/* A system policy that fixes the allowlist is never asked around. */
	px->ask_ok = px->hooks.ask && p && !p->net_allow_locked;
	if (opts)
		px->opts = *opts;
	if (!px->opts.max_conns) {
		px->opts.max_conns = DEFAULT_MAX_CONNS;
		/*
		 * --memory bounds the sandbox's processes; what its tunnels make the
		 * supervisor's kernel hold is outside that cgroup, so it gets the
		 * same bound through the number of tunnels (docs/network.md).
		 */
		if (p && p->limits.memory &&
		    p->limits.memory / TUNNEL_KERNEL_MAX < DEFAULT_MAX_CONNS) {
			uint64_t n = p->limits.memory / TUNNEL_KERNEL_MAX;

			px->opts.max_conns = n < MIN_MAX_CONNS ? MIN_MAX_CONNS : (unsigned)n;
		}
	}
	if (px->opts.max_conns > HUTCH_PROXY_MAX_CONNS)
		px->opts.max_conns = HUTCH_PROXY_MAX_CONNS;
	if (!px->opts.handshake_timeout_ms)
		px->opts.handshake_timeout_ms = DEFAULT_HANDSHAKE_MS;
	if (!px->opts.connect_timeout_ms)
		px->opts.connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (!px->opts.idle_timeout_ms)
		px->opts.idle_timeout_ms = DEFAULT_IDLE_MS;
	if (!px->opts.dns_timeout_ms)
		px->opts.dns_timeout_ms = DEFAULT_DNS_MS;
	if (!px->opts.stall_timeout_ms)
		px->opts.stall_timeout_ms = DEFAULT_STALL_MS;
	if (!px->opts.max_per_dest || px->opts.max_per_dest > px->opts.max_conns / 2)
		px->opts.max_per_dest = px->opts.max_conns / 4 ? px->opts.max_conns / 4 : 1;
	px->opts.dns_servers = NULL; /* not kept: used once below */
	hutch_pipe_pool_init(&px->pipes,
			     px->opts.pipe_size ? px->opts.pipe_size : HUTCH_PIPE_BIG_DEFAULT);
	hutch_tlist_init(&px->l_handshake, px->opts.handshake_timeout_ms);
	hutch_tlist_init(&px->l_connect, px->opts.connect_timeout_ms);
	hutch_tlist_init(&px->l_idle, px->opts.idle_timeout_ms);
	hutch_tlist_init(&px->l_stall, px->opts.stall_timeout_ms);
	hutch_tlist_init(&px->l_close, CLOSE_TIMEOUT_MS);
	hutch_tlist_init(&px->l_retry, ACCEPT_RETRY_MS);

	r = hutch_filter_new(p, &px->filter, err);
	if (r < 0)
		goto fail;
	r = hutch_timer_init(&px->timer, loop, on_timer, px);
	if (r < 0) {
		hutch_err(err, -r, "proxy timer");
		goto fail;
	}
	px->timer_ok = true;
	r = hutch_dns_new(loop, &px->timer, opts ? opts->dns_servers : NULL,
			  px->opts.dns_timeout_ms, &px->dns, err);
	if (r < 0)
		goto fail;

	/* a peer closing mid-write must not kill the supervisor */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
	raise_nofile(px->opts.max_conns);

	for (int i = 0; i < 2; i++) {
		int fl;

		if (fds[i] < 0)
			continue;
		fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
			r = hutch_err(err, errno, "proxy listening socket");
			goto fail;
		}
		px->lst[i] = (struct listener){px, fds[i], i == 1 ? LST_SOCKS : LST_HTTP};
		fds[i] = -1;
		r = hutch_loop_add(loop, px->lst[i].fd, EPOLLIN, on_accept, &px->lst[i]);
		if (r < 0) {
			hutch_err(err, -r, "proxy: watching the listening socket");
			goto fail;
		}
	}
	*out = px;
	return 0;
fail:
	hutch_proxy_free(px);
fail_fds:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

int hutch_proxy_add_transparent(struct hutch_proxy *px, int fd, const struct hutch_resolver *res,
				hutch_error *err)
{
	struct listener *ls = &px->lst[LST_TRANSPARENT];
	int fl, r;

	if (ls->fd >= 0) {
		close(fd);
		return hutch_errx(err, EEXIST, "proxy: a transparent listener is served already");
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = hutch_err(err, errno, "proxy: transparent listening socket");
		close(fd);
		return r;
	}
	*ls = (struct listener){px, fd, LST_TRANSPARENT};
	px->resolver = res;
	r = hutch_loop_add(px->loop, fd, EPOLLIN, on_accept, ls);
	if (r < 0) {
		ls->fd = -1;
		close(fd);
		return hutch_err(err, -r, "proxy: watching the transparent listening socket");
	}
	return 0;
}

void hutch_proxy_free(struct hutch_proxy *px)
{
	if (!px)
		return;
	px->freeing = true;
	while (px->conns)
		conn_free(px->conns, "proxy shut down");
	for (int i = 0; i < LST_N; i++)
		if (px->lst[i].fd >= 0) {
			hutch_loop_del(px->loop, px->lst[i].fd);
			close(px->lst[i].fd);
		}
	hutch_pipe_pool_fini(&px->pipes);
	hutch_dns_free(px->dns);
	if (px->timer_ok)
		hutch_timer_fini(&px->timer);
	hutch_filter_free(px->filter);
	for (size_t i = 0; i < px->n_denied; i++)
		free(px->denied[i]);
	for (size_t i = 0; i < px->n_asked_allow; i++)
		free(px->asked_allow[i]);
	for (size_t i = 0; i < px->n_asked_deny; i++)
		free(px->asked_deny[i]);
	free(px);
}

void hutch_proxy_ask_answer(struct hutch_proxy *px, const char *host, uint16_t port,
			    enum hutch_ask_decision a)
{
	char key[HUTCH_HOST_MAX + 16];
	bool once_given = false;
	struct conn *c, *next;

	if (!px || !host)
		return;
	snprintf(key, sizeof(key), "%s:%u", host, (unsigned)port);
	if (a == HUTCH_ASK_DENY)
		remember(px->asked_deny, &px->n_asked_deny, key);
	else if (a == HUTCH_ASK_SESSION || a == HUTCH_ASK_ALWAYS)
		remember(px->asked_allow, &px->n_asked_allow, key);
	for (c = px->conns; c; c = next) {
		next = c->next;
		if (!c->asking || !c->ask_key || strcmp(c->ask_key, key) != 0)
			continue;
		c->asking = false;
		/* "once" is for one connection: the others waiting on it are asked again */
		if (a == HUTCH_ASK_ONCE && !once_given)
			c->ask_once = once_given = true;
		c->c_rd = true; /* what arrived meanwhile is read */
		conn_drive(c);	/* may free it, never another one */
	}
}

size_t hutch_proxy_n_denied(const struct hutch_proxy *px)
{
	return px->n_denied;
}

const char *hutch_proxy_denied(const struct hutch_proxy *px, size_t i)
{
	return i < px->n_denied ? px->denied[i] : NULL;
}

size_t hutch_proxy_denied_summary(const struct hutch_proxy *px, char *buf, size_t cap)
{
	size_t w = 0;

	if (!cap)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < px->n_denied && w + 1 < cap; i++) {
		int n = snprintf(buf + w, cap - w, "%s%s", i ? ", " : "", px->denied[i]);

		if (n < 0)
			break;
		w += (size_t)n;
	}
	if (px->denied_more && w + 1 < cap) {
		int n = snprintf(buf + w, cap - w, " (+%llu more)",
				 (unsigned long long)px->denied_more);
		if (n > 0)
			w += (size_t)n;
	}
	return w < cap ? w : cap - 1;
}

void hutch_proxy_get_stats(const struct hutch_proxy *px, struct hutch_proxy_stats *st)
{
	*st = px->stats;
}
