/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Outgoing TCP connections and the events watched on a relayed one. See tcp.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/loop.h"
#include "net/tcp.h"

static socklen_t fill_sockaddr(struct sockaddr_storage *ss, int family, const void *addr,
			       uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		return sizeof(*sin6);
	}
	return 0;
}

void hutch_tcp_options(int fd, int sockbuf)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof(sockbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof(sockbuf));
}

int hutch_tcp_connect(int family, const void *addr, uint16_t port, int sockbuf, bool *connected)
{
	struct sockaddr_storage ss;
	socklen_t sl = fill_sockaddr(&ss, family, addr, port);
	int fd;

	*connected = false;
	if (!sl)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	hutch_tcp_options(fd, sockbuf);
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		*connected = true;
		return fd;
	}
	if (errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

void hutch_tcp_watch(struct hutch_loop *loop, int fd, bool unwatched, uint32_t *cur, uint32_t ev)
{
	if (fd < 0 || unwatched || *cur == ev)
		return;
	if (hutch_loop_mod(loop, fd, ev) == 0)
		*cur = ev;
}
