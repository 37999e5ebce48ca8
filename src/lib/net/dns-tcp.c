/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DNS over TCP for the sandbox's resolver: see dns-tcp.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/loop.h"
#include "net/dns-msg.h"
#include "net/dns-tcp.h"
#include "net/timer.h"

struct tconn {
	struct hutch_dns_tcp *t;
	int fd;
	struct hutch_tnode tn; /* idle: no complete query for HUTCH_DNS_TCP_IDLE_MS */
	uint8_t in[2 + HUTCH_DNS_MSG_MAX];
	size_t in_len;
	uint8_t out[2 + HUTCH_DNS_MSG_MAX];
	size_t out_len, out_off; /* out_off < out_len: an answer waits for the client to read */
	struct tconn *prev, *next;
};

struct hutch_dns_tcp {
	struct hutch_loop *loop;
	int lfd;
	hutch_dns_answer_fn answer;
	void *data;
	struct hutch_timer timer;
	bool timer_ok;
	struct hutch_tlist idle;
	struct tconn *conns;
	unsigned n_conns;
};

static void conn_close(struct tconn *c)
{
	struct hutch_dns_tcp *t = c->t;

	hutch_tnode_disarm(&c->tn);
	hutch_loop_del(t->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->n_conns--;
	free(c);
}

/* Send what is left of the answer: 1 when all of it is sent, 0 when it waits, -1 closed. */
static int flush_out(struct tconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)hutch_loop_mod(c->t->loop, c->fd, EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

/*
 * Read towards the next complete query: 1 when c->in holds one, 0 when more
 * is to come, -1 when the connection was closed (end, error, oversized).
 */
static int read_query(struct tconn *c)
{
	for (;;) {
		size_t want = c->in_len < 2 ? 2 : 2 + (((size_t)c->in[0] << 8) | c->in[1]);
		ssize_t n;

		if (c->in_len >= 2 && (want == 2 || want > sizeof(c->in))) {
			conn_close(c); /* an empty or oversized message: not a stub's query */
			return -1;
		}
		if (c->in_len == want)
			return 1;
		n = recv(c->fd, c->in + c->in_len, want - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->in_len += (size_t)n;
	}
}

/* Answer the queries that came, in order, until one waits (or the batch is done). */
static void serve(struct tconn *c)
{
	struct hutch_dns_tcp *t = c->t;

	for (int i = 0; i < HUTCH_DNS_TCP_BATCH; i++) {
		size_t m;
		int r = read_query(c);

		if (r <= 0)
			return;
		m = t->answer(t->data, c->in + 2, c->in_len - 2, c->out + 2, sizeof(c->out) - 2);
		c->in_len = 0;
		if (!m) {
			conn_close(c); /* a response, or not even a header */
			return;
		}
		c->out[0] = (uint8_t)(m >> 8);
		c->out[1] = (uint8_t)m;
		c->out_len = m + 2;
		c->out_off = 0;
		hutch_tnode_arm(&t->timer, &t->idle, &c->tn, hutch_now_ms());
		if (flush_out(c) <= 0)
			return; /* waits for EPOLLOUT (not read meanwhile), or closed */
	}
}

static int on_conn(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct tconn *c = data;

	(void)fd;
	if (c->out_off < c->out_len) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) || flush_out(c) <= 0)
			return 0;
		(void)hutch_loop_mod(loop, c->fd, EPOLLIN);
	}
	serve(c);
	return 0;
}

static int on_accept(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_dns_tcp *t = data;

	(void)events;
	for (int i = 0; i < HUTCH_DNS_TCP_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tconn *c;

		if (cfd < 0)
			break;
		c = t->n_conns < HUTCH_DNS_TCP_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c || hutch_loop_add(loop, cfd, EPOLLIN, on_conn, c) < 0) {
			free(c);
			close(cfd); /* over the bound: the client retries or gives up */
			continue;
		}
		c->t = t;
		c->fd = cfd;
		c->next = t->conns;
		if (t->conns)
			t->conns->prev = c;
		t->conns = c;
		t->n_conns++;
		hutch_tnode_arm(&t->timer, &t->idle, &c->tn, hutch_now_ms());
	}
	return 0;
}

static void on_timer(struct hutch_timer *timer, uint64_t now, void *data)
{
	struct hutch_dns_tcp *t = data;
	struct hutch_tnode *n;

	for (int k = 0; k < HUTCH_DNS_TCP_MAX_CONNS && (n = hutch_tlist_expired(&t->idle, now));
	     k++)
		conn_close((struct tconn *)((char *)n - offsetof(struct tconn, tn)));
	(void)hutch_timer_arm(timer, hutch_tlist_next(&t->idle));
}

int hutch_dns_tcp_new(struct hutch_loop *loop, int fd, hutch_dns_answer_fn answer, void *data,
		      struct hutch_dns_tcp **out, hutch_error *err)
{
	struct hutch_dns_tcp *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		close(fd);
		return hutch_err(err, ENOMEM, "resolver: DNS over TCP");
	}
	t->loop = loop;
	t->lfd = fd;
	t->answer = answer;
	t->data = data;
	hutch_tlist_init(&t->idle, HUTCH_DNS_TCP_IDLE_MS);
	r = hutch_timer_init(&t->timer, loop, on_timer, t);
	if (r < 0) {
		hutch_dns_tcp_free(t);
		return hutch_err(err, -r, "resolver: DNS over TCP: its timer");
	}
	t->timer_ok = true;
	r = hutch_loop_add(loop, fd, EPOLLIN, on_accept, t);
	if (r < 0) {
		hutch_dns_tcp_free(t);
		return hutch_err(err, -r, "resolver: watching its TCP socket");
	}
	*out = t;
	return 0;
}

void hutch_dns_tcp_free(struct hutch_dns_tcp *t)
{
	if (!t)
		return;
	while (t->conns)
		conn_close(t->conns);
	if (t->lfd >= 0) {
		hutch_loop_del(t->loop, t->lfd);
		close(t->lfd);
	}
	if (t->timer_ok)
		hutch_timer_fini(&t->timer);
	free(t);
}
