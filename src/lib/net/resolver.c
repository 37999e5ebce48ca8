/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox's resolver: see resolver.h. Names get pool addresses in order,
 * 198.18.0.1 upwards; names[i] holds the name of pool offset i, and an
 * open-addressing table (twice the bound, so never full) finds a name's
 * offset.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/loop.h"
#include "net/dns-msg.h"
#include "net/dns-tcp.h"
#include "net/resolver.h"
#include "policy/filter.h"

#define SLOTS (2 * HUTCH_RESOLVER_MAX_NAMES) /* a power of two */

struct hutch_resolver {
	struct hutch_filter *filter;
	struct hutch_loop *loop;
	int udp_fd;
	struct hutch_dns_tcp *tcp; /* DNS over TCP: the same answers (net/dns-tcp.c) */
	bool ask;		   /* --ask: names the proxy would ask about get an address */
	char *names[HUTCH_RESOLVER_MAX_NAMES + 1]; /* [0] unused: 198.18.0.0 is never handed out */
	unsigned n_names;
	uint16_t slots[SLOTS]; /* pool offsets, 0 = empty */
	struct hutch_resolver_stats stats;
};

static const uint8_t pool_net[4] = {198, 18, 0, 0};

bool hutch_pool_contains(const struct hutch_addr *a)
{
	return a->family == AF_INET && a->b[0] == pool_net[0] && (a->b[1] & 0xfe) == pool_net[1];
}

static uint32_t pool_offset(const struct hutch_addr *a)
{
	return ((uint32_t)(a->b[1] & 1) << 16) | ((uint32_t)a->b[2] << 8) | a->b[3];
}

static void pool_addr(uint32_t off, uint8_t out[4])
{
	out[0] = pool_net[0];
	out[1] = (uint8_t)(pool_net[1] | ((off >> 16) & 1));
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The slot holding @name, or the empty slot where it would go. */
static size_t find_slot(const struct hutch_resolver *r, const char *name)
{
	size_t i = hash_name(name) & (SLOTS - 1);

	while (r->slots[i] && strcmp(r->names[r->slots[i]], name) != 0)
		i = (i + 1) & (SLOTS - 1);
	return i;
}

/* The pool offset of @name, given one if it has none: > 0, or -ENOSPC, -ENOMEM. */
static int map_name(struct hutch_resolver *r, const char *name)
{
	size_t i = find_slot(r, name);
	char *dup;

	if (r->slots[i])
		return r->slots[i];
	if (r->n_names >= HUTCH_RESOLVER_MAX_NAMES)
		return -ENOSPC;
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	r->names[++r->n_names] = dup;
	r->slots[i] = (uint16_t)r->n_names;
	r->stats.names = r->n_names;
	return (int)r->n_names;
}

int hutch_resolver_name_of(const struct hutch_resolver *r, const struct hutch_addr *a,
			   const char **name)
{
	uint32_t off;

	if (!hutch_pool_contains(a))
		return -1;
	off = pool_offset(a);
	if (!r || off == 0 || off > r->n_names)
		return 0;
	*name = r->names[off];
	return 1;
}

/*
 * Refused for no other reason than not being in the allowlist: what the
 * proxy's --ask puts to the user (maybe_ask() in net/proxy.c); never a name
 * a deny rule matches.
 */
static bool askable(const struct hutch_decision *d)
{
	return !d->rule && d->reason &&
	       (strcmp(d->reason, "not in allowlist") == 0 ||
		strcmp(d->reason, "allowlist is empty") == 0);
}

void hutch_resolver_set_ask(struct hutch_resolver *r, bool ask)
{
	r->ask = ask;
}

size_t hutch_resolver_answer(struct hutch_resolver *r, const uint8_t *query, size_t len,
			     uint8_t *out, size_t cap)
{
	struct hutch_dns_question q;
	struct hutch_decision d;
	struct hutch_host h;
	uint8_t a4[4];
	int ret = hutch_dns_parse_query(query, len, &q);

	if (ret == -EINVAL)
		return 0; /* a response, or not even a header: say nothing */
	if (ret < 0) {
		r->stats.bad++;
		q.wire = NULL; /* answer without a question section */
		return hutch_dns_build_answer(
			out, cap, &q, ret == -EOPNOTSUPP ? HUTCH_DNS_NOTIMP : HUTCH_DNS_FORMERR,
			NULL, 0);
	}
	r->stats.queries++;
	if (q.qclass != HUTCH_DNS_CLASS_IN && q.qclass != HUTCH_DNS_CLASS_ANY) {
		r->stats.bad++;
		return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_NOTIMP, NULL, 0);
	}
	/* the same canonicalisation as every host; a literal is no name to look up */
	if (hutch_host_parse((const uint8_t *)q.name, q.name_len, &h, NULL) < 0 ||
	    h.kind != HUTCH_HOST_NAME) {
		r->stats.nxdomain++;
		return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_NXDOMAIN, NULL, 0);
	}
	hutch_filter_check_name(r->filter, &h, &d);
	if (!d.allow && r->ask && askable(&d)) {
		d.allow = true; /* the question comes with the connection, and its port */
		if (q.qtype == HUTCH_DNS_TYPE_A)
			r->stats.ask++;
	}
	if (!d.allow) {
		r->stats.nxdomain++;
		return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_NXDOMAIN, NULL, 0);
	}
	if (q.qtype != HUTCH_DNS_TYPE_A)
		return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_NOERROR, NULL, 0);
	ret = map_name(r, h.name);
	if (ret < 0) {
		/* the bound was reached: a clear refusal, never a reused address */
		r->stats.full++;
		return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_REFUSED, NULL, 0);
	}
	pool_addr((uint32_t)ret, a4);
	r->stats.addresses++;
	return hutch_dns_build_answer(out, cap, &q, HUTCH_DNS_NOERROR, a4, HUTCH_RESOLVER_TTL);
}

static int on_udp(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_resolver *r = data;

	(void)loop;
	(void)events;
	for (int i = 0; i < HUTCH_RESOLVER_BATCH; i++) {
		uint8_t in[HUTCH_DNS_MSG_MAX + 1], out[HUTCH_DNS_MSG_MAX];
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, in, sizeof(in), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&peer, &pl);
		size_t m;

		if (n < 0)
			break; /* EAGAIN, or an ICMP error of an earlier answer */
		/* longer than 512 bytes: hutch_dns_parse_query() refuses it (FORMERR) */
		m = hutch_resolver_answer(r, in, (size_t)n < sizeof(in) ? (size_t)n : sizeof(in),
					  out, sizeof(out));
		if (m)
			(void)sendto(fd, out, m, MSG_DONTWAIT | MSG_NOSIGNAL,
				     (struct sockaddr *)&peer, pl);
	}
	return 0;
}

int hutch_resolver_new_filter(struct hutch_filter *f, struct hutch_resolver **out, hutch_error *err)
{
	struct hutch_resolver *r = calloc(1, sizeof(*r));

	if (!r) {
		hutch_filter_free(f);
		return hutch_err(err, ENOMEM, "resolver");
	}
	r->filter = f;
	r->udp_fd = -1;
	*out = r;
	return 0;
}

int hutch_resolver_new(const struct hutch_policy *p, struct hutch_resolver **out, hutch_error *err)
{
	struct hutch_filter *f;
	int ret = hutch_filter_new(p, &f, err);

	if (ret < 0)
		return ret;
	return hutch_resolver_new_filter(f, out, err);
}

int hutch_resolver_add_udp(struct hutch_resolver *r, struct hutch_loop *loop, int fd,
			   hutch_error *err)
{
	int ret;

	if (r->udp_fd >= 0) {
		close(fd);
		return hutch_errx(err, EEXIST, "resolver: a UDP socket is served already");
	}
	ret = hutch_loop_add(loop, fd, EPOLLIN, on_udp, r);
	if (ret < 0) {
		close(fd);
		return hutch_err(err, -ret, "resolver: watching its socket");
	}
	r->loop = loop;
	r->udp_fd = fd;
	return 0;
}

static size_t answer_tcp(void *data, const uint8_t *query, size_t len, uint8_t *out, size_t cap)
{
	return hutch_resolver_answer(data, query, len, out, cap);
}

int hutch_resolver_add_tcp(struct hutch_resolver *r, struct hutch_loop *loop, int fd,
			   hutch_error *err)
{
	if (r->tcp) {
		close(fd);
		return hutch_errx(err, EEXIST, "resolver: a TCP socket is served already");
	}
	return hutch_dns_tcp_new(loop, fd, answer_tcp, r, &r->tcp, err);
}

void hutch_resolver_free(struct hutch_resolver *r)
{
	if (!r)
		return;
	hutch_dns_tcp_free(r->tcp);
	if (r->udp_fd >= 0) {
		hutch_loop_del(r->loop, r->udp_fd);
		close(r->udp_fd);
	}
	for (unsigned i = 1; i <= r->n_names; i++)
		free(r->names[i]);
	hutch_filter_free(r->filter);
	free(r);
}

void hutch_resolver_get_stats(const struct hutch_resolver *r, struct hutch_resolver_stats *st)
{
	*st = r->stats;
}
