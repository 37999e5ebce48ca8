/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host ports: the sandbox's 127.0.0.1:PORT relayed to the host's. See hostport.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/loop.h"
#include "policy/policy.h"
#include "net/hostport.h"
#include "net/relay.h"
#include "net/tcp.h"
#include "net/timer.h"

#define MAX_CONNS 1024
#define MAX_LISTENERS 256 /* two per port (IPv4, IPv6) */
#define CONNECT_MS 10000
#define IDLE_MS 1800000
#define STALL_MS 120000
#define ACCEPT_BATCH 64
#define SOCKBUF (256 * 1024)
#define DRIVE_ROUNDS 64

enum side { SIDE_CLIENT = 0, SIDE_HOST = 1 };

struct endpoint {
	struct hp_conn *c;
	enum side side;
};

struct hp_conn {
	struct hutch_hostport *hp;
	struct hp_conn *prev, *next;
	const struct listener *ls;
	int cfd, ufd;
	struct endpoint ep[2];
	uint32_t ev[2];
	bool unwatched[2];
	bool connecting, tried_v6, opened;
	char address[INET6_ADDRSTRLEN];
	struct hutch_pump up, down; /* client -> host, host -> client */
	uint64_t start_ms;
	struct hutch_tnode tn;
};

struct listener {
	struct hutch_hostport *hp;
	int fd;
	uint16_t port;
	char rule[8];	    /* the port, as listed */
	const char *origin; /* where it was listed, owned by the policy copy below */
};

struct hutch_hostport {
	struct hutch_loop *loop;
	struct hutch_proxy_hooks hooks;
	struct listener *lst[MAX_LISTENERS];
	size_t n_lst;
	struct hutch_rules origins; /* value "PORT", origin: where it was listed */
	struct hutch_timer timer;
	bool timer_ok;
	struct hutch_tlist l_connect, l_idle, l_stall;
	struct hutch_pipe_pool pipes;
	struct hp_conn *conns;
	unsigned n_conns;
	bool freeing;
};

static void conn_free(struct hp_conn *c, const char *reason);
static void conn_drive(struct hp_conn *c);

/* ---- records ------------------------------------------------------------------------ */

static void record(struct hp_conn *c, enum hutch_proxy_phase phase,
		   enum hutch_proxy_outcome outcome, const char *reason)
{
	struct hutch_proxy_record rec = {0};

	rec.phase = phase;
	rec.outcome = outcome;
	rec.via = HUTCH_PROXY_VIA_HOST_PORT;
	rec.host = c->address[0] ? c->address : "127.0.0.1";
	rec.port = c->ls->port;
	rec.address = c->address;
	rec.allowed = true;
	rec.rule = c->ls->rule;
	rec.origin = c->ls->origin;
	rec.reason = reason;
	rec.bytes_up = c->up.bytes;
	rec.bytes_down = c->down.bytes;
	rec.duration_ms = hutch_now_ms() - c->start_ms;
	if (c->hp->hooks.on_record)
		c->hp->hooks.on_record(&rec, c->hp->hooks.userdata);
}

/* ---- events ------------------------------------------------------------------------- */

static void set_events(struct hp_conn *c, enum side s, uint32_t ev)
{
	hutch_tcp_watch(c->hp->loop, s == SIDE_CLIENT ? c->cfd : c->ufd, c->unwatched[s], &c->ev[s],
			ev);
}

static void update_events(struct hp_conn *c)
{
	uint32_t cev = 0, uev = 0;

	if (c->connecting) {
		set_events(c, SIDE_CLIENT, 0);
		set_events(c, SIDE_HOST, EPOLLOUT);
		return;
	}
	if (hutch_pump_want_read(&c->up))
		cev |= EPOLLIN;
	if (hutch_pump_want_write(&c->down))
		cev |= EPOLLOUT;
	if (hutch_pump_want_read(&c->down))
		uev |= EPOLLIN;
	if (hutch_pump_want_write(&c->up))
		uev |= EPOLLOUT;
	set_events(c, SIDE_CLIENT, cev);
	set_events(c, SIDE_HOST, uev);
}

static void update_timer(struct hp_conn *c, bool moved)
{
	struct hutch_hostport *hp = c->hp;
	struct hutch_tlist *l;

	if (c->connecting)
		l = &hp->l_connect;
	else if (c->up.blocked || c->down.blocked)
		l = &hp->l_stall;
	else
		l = &hp->l_idle;
	if (moved || c->tn.list != l)
		hutch_tnode_arm(&hp->timer, l, &c->tn, hutch_now_ms());
}

/* ---- connecting to the host ---------------------------------------------------------- */

static int start_connect(struct hp_conn *c, bool v6)
{
	const struct in_addr lo4 = {htonl(INADDR_LOOPBACK)};
	bool now;
	int fd;

	snprintf(c->address, sizeof(c->address), "%s", v6 ? "::1" : "127.0.0.1");
	fd = hutch_tcp_connect(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)&in6addr_loopback : &lo4,
			       c->ls->port, SOCKBUF, &now);
	if (fd < 0)
		return fd;
	c->ufd = fd;
	c->connecting = true; /* connected at once too: EPOLLOUT comes at once, connect_check() */
	return 0;
}

static int on_fd(struct hutch_loop *loop, int fd, uint32_t events, void *data);

static void host_close(struct hp_conn *c)
{
	if (c->ufd < 0)
		return;
	hutch_loop_del(c->hp->loop, c->ufd);
	close(c->ufd);
	c->ufd = -1;
	c->ev[SIDE_HOST] = 0;
	c->unwatched[SIDE_HOST] = false;
}

/*
 * Connect to 127.0.0.1:PORT, or [::1]:PORT once the former was refused.
 * Returns false when it could not and @c was freed.
 */
static bool connect_host(struct hp_conn *c, int prev_err)
{
	char why[160];
	int r = -ECONNREFUSED;

	host_close(c);
	if (prev_err == 0)
		r = start_connect(c, false);
	if ((prev_err == -ECONNREFUSED || r == -ECONNREFUSED) && !c->tried_v6) {
		c->tried_v6 = true;
		r = start_connect(c, true);
		if (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)
			r = -ECONNREFUSED;
	} else if (prev_err < 0) {
		r = prev_err;
	}
	if (r == 0 &&
	    hutch_loop_add(c->hp->loop, c->ufd, EPOLLOUT, on_fd, &c->ep[SIDE_HOST]) == 0) {
		c->ev[SIDE_HOST] = EPOLLOUT;
		return true;
	}
	if (r == 0)
		r = -ENOMEM;
	snprintf(why, sizeof(why), "%s: %s",
		 r == -ECONNREFUSED
			 ? "nothing listens on the host's 127.0.0.1 or [::1] at this port"
			 : "cannot connect to the host port",
		 strerror(-r));
	c->connecting = false;
	/* the client sees a reset, as close to "connection refused" as an accepted socket gets */
	{
		struct linger lg = {1, 0};

		(void)setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	conn_free(c, why);
	return false;
}

/* The connection attempt ended: false when @c was freed. */
static bool connect_check(struct hp_conn *c)
{
	int so = 0;
	socklen_t sl = sizeof(so);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
		so = errno;
	if (so == EINPROGRESS || so == EALREADY)
		return true;
	if (so)
		return connect_host(c, -so);
	c->connecting = false;
	c->opened = true;
	record(c, HUTCH_PROXY_OPEN, HUTCH_PROXY_CONNECTED, "host port");
	return true;
}

/* ---- relaying ---------------------------------------------------------------------------- */

static int pump(struct hp_conn *c, struct hutch_pump *p, int src, int dst, bool *moved)
{
	int r = hutch_pump_run(p, &c->hp->pipes, src, dst, hutch_pump_want_read(p));

	if (r < 0)
		return r;
	if (r > 0)
		*moved = true;
	if (p->eof && !p->in_pipe && !p->shut) {
		shutdown(dst, SHUT_WR);
		p->shut = true;
		*moved = true;
	}
	return 0;
}

static void conn_drive(struct hp_conn *c)
{
	bool any = false;
	int r = 0;

	if (c->connecting)
		return;
	for (int i = 0; i < DRIVE_ROUNDS; i++) {
		bool moved = false;

		r = pump(c, &c->up, c->cfd, c->ufd, &moved);
		if (r >= 0)
			r = pump(c, &c->down, c->ufd, c->cfd, &moved);
		if (r < 0)
			break;
		any |= moved;
		if (!moved)
			break;
	}
	if (r < 0) {
		conn_free(c, r == -ECONNRESET || r == -EPIPE ? "closed" : "connection error");
		return;
	}
	if (c->up.shut && c->down.shut) {
		conn_free(c, "closed");
		return;
	}
	update_events(c);
	update_timer(c, any);
}

static int on_fd(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct endpoint *e = data;
	struct hp_conn *c = e->c;
	bool reading;

	if (c->connecting) {
		if (e->side == SIDE_CLIENT) {
			/* only errors and hang-ups are watched on the client meanwhile */
			conn_free(c, "the client left before the connection was made");
			return 0;
		}
		if (connect_check(c))
			conn_drive(c); /* nothing while still connecting */
		return 0;
	}
	if (events & EPOLLERR) {
		conn_free(c, e->side == SIDE_CLIENT ? "client connection reset"
						    : "server connection reset");
		return 0;
	}
	/*
	 * A hang-up is reported whatever was asked for: when that side is not read
	 * now (backpressure), stop watching it instead of spinning; what is left in
	 * its queue is read when the other side takes data again.
	 */
	reading = e->side == SIDE_CLIENT ? hutch_pump_want_read(&c->up)
					 : hutch_pump_want_read(&c->down);
	if ((events & EPOLLHUP) && !reading && !c->unwatched[e->side]) {
		hutch_loop_del(loop, fd);
		c->unwatched[e->side] = true;
		c->ev[e->side] = 0;
	}
	conn_drive(c);
	return 0;
}

/* ---- connections --------------------------------------------------------------------- */

static void conn_free(struct hp_conn *c, const char *reason)
{
	struct hutch_hostport *hp = c->hp;

	record(c, HUTCH_PROXY_END, c->opened ? HUTCH_PROXY_CONNECTED : HUTCH_PROXY_FAILED, reason);
	hutch_tnode_disarm(&c->tn);
	if (c->cfd >= 0) {
		hutch_loop_del(hp->loop, c->cfd);
		close(c->cfd);
	}
	host_close(c);
	hutch_pump_close(&c->up, &hp->pipes);
	hutch_pump_close(&c->down, &hp->pipes);
	if (c->prev)
		c->prev->next = c->next;
	else
		hp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	hp->n_conns--;
	free(c);
}

static void on_timer(struct hutch_timer *t, uint64_t now, void *data)
{
	struct hutch_hostport *hp = data;
	struct hutch_tlist *lists[] = {&hp->l_connect, &hp->l_idle, &hp->l_stall};
	static const char *const why[] = {"connect timed out", "idle timeout",
					  "stalled: a side did not take data in time"};
	uint64_t next = 0;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct hutch_tnode *n;

		for (int k = 0; k < 4096 && (n = hutch_tlist_expired(lists[i], now)); k++) {
			struct hp_conn *c =
				(struct hp_conn *)((char *)n - offsetof(struct hp_conn, tn));

			hutch_tnode_disarm(&c->tn);
			conn_free(c, why[i]);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		uint64_t d = hutch_tlist_next(lists[i]);

		if (d && (!next || d < next))
			next = d;
	}
	(void)hutch_timer_arm(t, next);
}

static void accept_one(struct listener *ls, int cfd)
{
	struct hutch_hostport *hp = ls->hp;
	struct hp_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(cfd);
		return;
	}
	c->hp = hp;
	c->ls = ls;
	c->cfd = cfd;
	c->ufd = -1;
	c->ep[SIDE_CLIENT] = (struct endpoint){c, SIDE_CLIENT};
	c->ep[SIDE_HOST] = (struct endpoint){c, SIDE_HOST};
	c->start_ms = hutch_now_ms();
	hutch_pump_init(&c->up);
	hutch_pump_init(&c->down);
	hutch_tcp_options(cfd, SOCKBUF);
	if (hutch_loop_add(hp->loop, cfd, 0, on_fd, &c->ep[SIDE_CLIENT]) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = hp->conns;
	if (hp->conns)
		hp->conns->prev = c;
	hp->conns = c;
	hp->n_conns++;
	hutch_tnode_arm(&hp->timer, &hp->l_connect, &c->tn, hutch_now_ms());
	connect_host(c, 0); /* may free it */
}

static int on_accept(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct listener *ls = data;

	(void)loop;
	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return 0;
		if (ls->hp->n_conns >= MAX_CONNS) {
			close(cfd);
			continue;
		}
		accept_one(ls, cfd);
	}
	return 0;
}

/* ---- public API ---------------------------------------------------------------------- */

int hutch_hostport_new(struct hutch_loop *loop, const struct hutch_policy *p,
		       const struct hutch_proxy_hooks *hooks, struct hutch_hostport **out,
		       hutch_error *err)
{
	struct hutch_hostport *hp = calloc(1, sizeof(*hp));
	struct sigaction sa;
	int r;

	if (!hp)
		return hutch_err(err, ENOMEM, "host ports");
	hp->loop = loop;
	if (hooks)
		hp->hooks = *hooks;
	hp->hooks.ask = NULL;
	for (size_t i = 0; p && i < p->net_host_ports.n; i++) {
		r = hutch_rules_add(&hp->origins, p->net_host_ports.v[i].value,
				    p->net_host_ports.v[i].origin, false);
		if (r < 0) {
			hutch_hostport_free(hp);
			return hutch_err(err, -r, "host ports");
		}
	}
	hutch_pipe_pool_init(&hp->pipes, HUTCH_PIPE_BIG_DEFAULT);
	hutch_tlist_init(&hp->l_connect, CONNECT_MS);
	hutch_tlist_init(&hp->l_idle, IDLE_MS);
	hutch_tlist_init(&hp->l_stall, STALL_MS);
	r = hutch_timer_init(&hp->timer, loop, on_timer, hp);
	if (r < 0) {
		hutch_hostport_free(hp);
		return hutch_err(err, -r, "host ports: timer");
	}
	hp->timer_ok = true;
	/* a peer closing mid-write must not kill the supervisor */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
	*out = hp;
	return 0;
}

int hutch_hostport_add_listener(struct hutch_hostport *hp, int fd, hutch_error *err)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	struct listener *ls;
	const struct hutch_rule *ru;
	uint16_t port;
	int fl, r;

	if (hp->n_lst >= MAX_LISTENERS) {
		close(fd);
		return hutch_errx(err, E2BIG, "host ports: too many listening sockets");
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		r = hutch_err(err, errno ? errno : EINVAL, "host ports: listening socket");
		close(fd);
		return r;
	}
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = hutch_err(err, errno, "host ports: listening socket");
		close(fd);
		return r;
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		close(fd);
		return hutch_err(err, ENOMEM, "host ports");
	}
	ls->hp = hp;
	ls->fd = fd;
	ls->port = port;
	snprintf(ls->rule, sizeof(ls->rule), "%u", (unsigned)port);
	ru = hutch_rules_find(&hp->origins, ls->rule);
	ls->origin = ru ? ru->origin : NULL;
	r = hutch_loop_add(hp->loop, fd, EPOLLIN, on_accept, ls);
	if (r < 0) {
		close(fd);
		free(ls);
		return hutch_err(err, -r, "host ports: watching the listening socket");
	}
	hp->lst[hp->n_lst++] = ls;
	return 0;
}

void hutch_hostport_free(struct hutch_hostport *hp)
{
	if (!hp)
		return;
	hp->freeing = true;
	while (hp->conns)
		conn_free(hp->conns, "sandbox ended");
	for (size_t i = 0; i < hp->n_lst; i++) {
		hutch_loop_del(hp->loop, hp->lst[i]->fd);
		close(hp->lst[i]->fd);
		free(hp->lst[i]);
	}
	hutch_pipe_pool_fini(&hp->pipes);
	if (hp->timer_ok)
		hutch_timer_fini(&hp->timer);
	hutch_rules_clear(&hp->origins);
	free(hp);
}
