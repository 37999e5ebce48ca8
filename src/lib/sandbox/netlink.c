/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Netlink requests in a caller's buffer: see netlink.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/netlink.h"

void hutch_nl_init(struct hutch_nl *b, void *buf, size_t size)
{
	*b = (struct hutch_nl){.buf = buf, .size = size};
}

static struct nlmsghdr *last(struct hutch_nl *b)
{
	return (struct nlmsghdr *)(b->buf + b->msg);
}

/* @n bytes at the end of the last message, zeroed, its length grown by them aligned */
static void *grow(struct hutch_nl *b, size_t n)
{
	size_t aligned = NLMSG_ALIGN(n);
	void *p;

	if (b->oom || aligned > b->size - b->len) {
		b->oom = 1;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, aligned);
	b->len += aligned;
	last(b)->nlmsg_len += (uint32_t)aligned;
	return p;
}

void *hutch_nl_msg(struct hutch_nl *b, uint16_t type, uint16_t flags, uint32_t seq, size_t extra)
{
	struct nlmsghdr *h;

	if (b->oom || NLMSG_HDRLEN > b->size - b->len) {
		b->oom = 1;
		return NULL;
	}
	b->msg = b->len;
	h = last(b);
	memset(h, 0, NLMSG_HDRLEN);
	h->nlmsg_len = NLMSG_HDRLEN;
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	b->len += NLMSG_HDRLEN;
	return extra ? grow(b, extra) : NULL;
}

void hutch_nl_put(struct hutch_nl *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = grow(b, NLA_HDRLEN + len);

	if (!a)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
}

void hutch_nl_put_u32(struct hutch_nl *b, uint16_t type, uint32_t v)
{
	hutch_nl_put(b, type, &v, sizeof(v));
}

void hutch_nl_put_be32(struct hutch_nl *b, uint16_t type, uint32_t v)
{
	hutch_nl_put_u32(b, type, htonl(v));
}

void hutch_nl_put_str(struct hutch_nl *b, uint16_t type, const char *s)
{
	hutch_nl_put(b, type, s, strlen(s) + 1);
}

size_t hutch_nl_nest(struct hutch_nl *b, uint16_t type)
{
	size_t at = b->len;
	struct nlattr *a = grow(b, NLA_HDRLEN);

	if (a)
		a->nla_type = type | NLA_F_NESTED;
	return at;
}

void hutch_nl_nest_end(struct hutch_nl *b, size_t nest)
{
	if (!b->oom)
		((struct nlattr *)(b->buf + nest))->nla_len = (uint16_t)(b->len - nest);
}

/* Count the acknowledgements in @n bytes of answers: the first error ends it. */
static int take_acks(const char *buf, int n, unsigned *want)
{
	for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_type != NLMSG_ERROR)
			continue;
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EBADMSG;
		if (e->error)
			return e->error;
		if (*want)
			(*want)--;
	}
	return 0;
}

int hutch_nl_transact(int proto, const void *msgs, size_t len, unsigned acks)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	_cleanup_close_ int fd = -1;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	if (sendto(fd, msgs, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	while (acks) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		r = take_acks(buf, (int)n, &acks);
		if (r < 0)
			return r;
	}
	return 0;
}
