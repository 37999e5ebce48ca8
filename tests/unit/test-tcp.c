/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection set-up the proxy and host ports share (src/lib/net/tcp.c): the
 * outgoing connection and its options, the events watched on a side. Loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/loop.h"
#include "net/tcp.h"
#include "tap.h"

static int listener(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static int nothing(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	return 0;
}

int main(void)
{
	const struct in_addr lo = {htonl(INADDR_LOOPBACK)};
	struct hutch_loop *loop = NULL;
	uint16_t port = 0;
	int lfd = listener(&port), fd, v = 0, so = -1;
	socklen_t sl = sizeof(v);
	uint32_t cur = 0;
	bool now = true;

	ok(lfd >= 0, "a listener on 127.0.0.1");
	fd = hutch_tcp_connect(AF_INET, &lo, port, 64 * 1024, &now);
	ok(fd >= 0, "hutch_tcp_connect to it");
	ok(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &sl) == 0 && v == 1, "  TCP_NODELAY");
	sl = sizeof(v);
	ok(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &sl) == 0 && v >= 64 * 1024 && v < 1024 * 1024,
	   "  a fixed receive buffer (got %d)", v);
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(fd, F_GETFL) & O_NONBLOCK),
	   "  close-on-exec, non-blocking");
	if (!now) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ok(poll(&p, 1, -1) == 1, "  pending, then writable");
	} else {
		ok(1, "  connected at once");
	}
	sl = sizeof(so);
	ok(getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0, "  and connected");

	is_int(hutch_loop_new(&loop), 0, "a loop");
	is_int(hutch_loop_add(loop, fd, 0, nothing, NULL), 0, "  watching the connection");
	hutch_tcp_watch(loop, fd, false, &cur, EPOLLIN);
	is_int((int)cur, EPOLLIN, "hutch_tcp_watch: the loop watches what was asked");
	hutch_tcp_watch(loop, fd, true, &cur, EPOLLOUT);
	is_int((int)cur, EPOLLIN, "  not an unwatched side");
	hutch_tcp_watch(loop, -1, false, &cur, EPOLLOUT);
	is_int((int)cur, EPOLLIN, "  not a closed one");
	hutch_tcp_watch(loop, 12345, false, &cur, EPOLLOUT);
	is_int((int)cur, EPOLLIN, "  what the loop refused is not recorded");
	hutch_loop_free(loop);
	close(fd);
	close(lfd);

	is_int(hutch_tcp_connect(AF_UNIX, &lo, port, 4096, &now), -EAFNOSUPPORT,
	       "another family: -EAFNOSUPPORT");
	return done_testing();
}
