/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* c-ares in the supervisor's loop: see dns.h. */
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/loop.h"
#include "net/dns.h"
#include "net/timer.h"

struct hutch_dns_query {
	struct hutch_dns *dns;
	hutch_dns_cb cb; /* NULL once cancelled */
	void *data;
};

struct hutch_dns {
	struct hutch_loop *loop;
	struct hutch_timer *timer;
	ares_channel channel;
	bool channel_ok;
	unsigned pending;
};

static void rearm(struct hutch_dns *d)
{
	struct timeval tv, *tvp;

	if (!d->channel_ok || !d->pending)
		return;
	tvp = ares_timeout(d->channel, NULL, &tv);
	if (tvp)
		(void)hutch_timer_arm(d->timer, hutch_now_ms() + (uint64_t)tvp->tv_sec * 1000 +
							(uint64_t)tvp->tv_usec / 1000 + 1);
}

static int on_sock(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_dns *d = data;

	(void)loop;
	ares_process_fd(d->channel,
			(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
			(events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
	rearm(d);
	return 0;
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct hutch_dns *d = data;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	if (!ev) {
		(void)hutch_loop_del(d->loop, fd);
		return;
	}
	if (hutch_loop_mod(d->loop, fd, ev) == -ENOENT)
		(void)hutch_loop_add(d->loop, fd, ev, on_sock, d);
}

static int sock_config(ares_socket_t fd, int type, void *data)
{
	(void)type;
	(void)data;
	return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

int hutch_dns_new(struct hutch_loop *loop, struct hutch_timer *timer, const char *servers,
		  unsigned timeout_ms, struct hutch_dns **out, hutch_error *err)
{
	struct ares_options o = {0};
	struct hutch_dns *d;
	int r;

	r = ares_library_init(ARES_LIB_INIT_ALL);
	if (r != ARES_SUCCESS)
		return hutch_errx(err, EIO, "c-ares: %s", ares_strerror(r));
	d = calloc(1, sizeof(*d));
	if (!d) {
		ares_library_cleanup();
		return hutch_err(err, ENOMEM, "dns");
	}
	d->loop = loop;
	d->timer = timer;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)(timeout_ms ? timeout_ms / 2 : 2500);
	o.tries = 2;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	r = ares_init_options(&d->channel, &o,
			      ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				      ARES_OPT_FLAGS);
	if (r != ARES_SUCCESS) {
		free(d);
		ares_library_cleanup();
		return hutch_errx(err, EIO, "c-ares init: %s", ares_strerror(r));
	}
	d->channel_ok = true;
	ares_set_socket_configure_callback(d->channel, sock_config, NULL);
	if (servers) {
		r = ares_set_servers_ports_csv(d->channel, servers);
		if (r != ARES_SUCCESS) {
			hutch_dns_free(d);
			return hutch_errx(err, EINVAL, "dns servers \"%s\": %s", servers,
					  ares_strerror(r));
		}
	}
	*out = d;
	return 0;
}

void hutch_dns_free(struct hutch_dns *d)
{
	if (!d)
		return;
	if (d->channel_ok)
		ares_destroy(d->channel); /* runs pending callbacks with ARES_EDESTRUCTION */
	ares_library_cleanup();
	free(d);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct hutch_dns_query *q = arg;
	struct hutch_addr addrs[HUTCH_DNS_MAX_ADDRS];
	size_t n = 0;
	int e = 0;
	const char *why = NULL;

	(void)timeouts;
	q->dns->pending--;
	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *i = res->nodes; i && n < HUTCH_DNS_MAX_ADDRS;
		     i = i->ai_next) {
			struct hutch_addr *a = &addrs[n];

			memset(a, 0, sizeof(*a));
			if (i->ai_family == AF_INET &&
			    i->ai_addrlen >= sizeof(struct sockaddr_in)) {
				a->family = AF_INET;
				memcpy(a->b, &((struct sockaddr_in *)(void *)i->ai_addr)->sin_addr,
				       4);
			} else if (i->ai_family == AF_INET6 &&
				   i->ai_addrlen >= sizeof(struct sockaddr_in6)) {
				a->family = AF_INET6;
				memcpy(a->b,
				       &((struct sockaddr_in6 *)(void *)i->ai_addr)->sin6_addr, 16);
				hutch_addr_normalize(a);
			} else {
				continue;
			}
			n++;
		}
		if (!n) {
			e = -ENOENT;
			why = "name has no address";
		}
	} else {
		switch (status) {
		case ARES_ENOTFOUND:
		case ARES_ENODATA:
		case ARES_ENONAME:
			e = -ENOENT;
			break;
		case ARES_ETIMEOUT:
			e = -ETIMEDOUT;
			break;
		default:
			e = -EIO;
			break;
		}
		why = ares_strerror(status);
	}
	if (res)
		ares_freeaddrinfo(res);
	if (q->cb)
		q->cb(q->data, e, why, addrs, n);
	free(q);
}

int hutch_dns_resolve(struct hutch_dns *d, const char *name, hutch_dns_cb cb, void *data,
		      struct hutch_dns_query **qp)
{
	struct ares_addrinfo_hints hints = {0};
	struct hutch_dns_query *q;

	if (d->pending >= HUTCH_DNS_MAX_PENDING)
		return -EBUSY;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->dns = d;
	q->cb = cb;
	q->data = data;
	*qp = q;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	d->pending++;
	ares_getaddrinfo(d->channel, name, NULL, &hints, on_answer, q);
	/* q may be gone here if the answer came synchronously */
	rearm(d);
	return 0;
}

void hutch_dns_cancel(struct hutch_dns_query *q)
{
	if (q)
		q->cb = NULL;
}

void hutch_dns_on_timer(struct hutch_dns *d)
{
	if (!d->channel_ok)
		return;
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(d);
}
