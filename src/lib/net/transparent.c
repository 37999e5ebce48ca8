/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The original destination of a redirected connection: see transparent.h. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "net/resolver.h"
#include "net/transparent.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h, which clashes with netinet/in.h */
#endif

int hutch_transparent_dest(int fd, const struct hutch_resolver *res, struct hutch_host *h,
			   uint16_t *port, const char **why)
{
	struct sockaddr_in sin = {0};
	socklen_t sl = sizeof(sin);
	const char *name = NULL;
	int r;

	memset(h, 0, sizeof(*h));
	*port = 0;
	/* only IPv4 is redirected: IPv6 other than ::1 is dropped (sandbox/nft.c) */
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sin, &sl) < 0) {
		*why = "transparent connection without an original destination";
		return -errno;
	}
	if (sin.sin_family != AF_INET) {
		*why = "transparent connection without an IPv4 destination";
		return -EAFNOSUPPORT;
	}
	*port = ntohs(sin.sin_port);
	h->kind = HUTCH_HOST_ADDR;
	h->addr.family = AF_INET;
	memcpy(h->addr.b, &sin.sin_addr, 4);
	hutch_addr_format(&h->addr, h->name);
	r = hutch_resolver_name_of(res, &h->addr, &name);
	if (r == 0) {
		*why = "address of hutch's resolver pool that was never handed out";
		return -EPERM;
	}
	if (r > 0) {
		/* a pool name was checked when it was stored: it parses */
		if (hutch_host_parse((const uint8_t *)name, strlen(name), h, why) < 0)
			return -EINVAL;
	}
	if (!*port) {
		*why = "transparent connection to port 0";
		return -EINVAL;
	}
	return 0;
}

bool hutch_transparent_pool_name(const struct hutch_resolver *res, struct hutch_host *h)
{
	struct hutch_host named;
	const char *name = NULL;

	if (!res || h->kind != HUTCH_HOST_ADDR ||
	    hutch_resolver_name_of(res, &h->addr, &name) != 1 ||
	    hutch_host_parse((const uint8_t *)name, strlen(name), &named, NULL) < 0)
		return false;
	*h = named;
	return true;
}
