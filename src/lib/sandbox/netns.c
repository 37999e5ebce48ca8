/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/netlink.h"
#include "sandbox/netns.h"

int hutch_net_loopback_up_fd(int sock, hutch_error *err)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return hutch_err(err, errno, "network: reading lo flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return hutch_err(err, errno, "network: bringing lo up");
	return 0;
}

int hutch_net_loopback_up(hutch_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return hutch_err(err, errno, "network: socket for lo");
	return hutch_net_loopback_up_fd(fd, err);
}

static int listen_on(int af, uint16_t port, const char *what, hutch_error *err)
{
	_cleanup_close_ int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int one = 1;

	if (fd < 0)
		return hutch_err(err, errno, "network: %s socket", what);
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return hutch_err(err, errno, "network: binding %s to %s:%u", what,
				 af == AF_INET6 ? "[::1]" : "127.0.0.1", (unsigned)port);
	if (listen(fd, 1024) < 0)
		return hutch_err(err, errno, "network: listen on %s:%u",
				 af == AF_INET6 ? "[::1]" : "127.0.0.1", (unsigned)port);
	return TAKE_FD(fd);
}

int hutch_net_listen_host_port(uint16_t port, int fds[2], hutch_error *err)
{
	fds[0] = listen_on(AF_INET, port, "the host port", err);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = listen_on(AF_INET6, port, "the host port", err);
	if (fds[1] >= 0)
		return 2;
	/* no IPv6 in the namespace (disabled, or no ::1): 127.0.0.1 alone */
	if (fds[1] == -EAFNOSUPPORT || fds[1] == -EADDRNOTAVAIL) {
		fds[1] = -1;
		if (err)
			memset(err, 0, sizeof(*err));
		return 1;
	}
	close(fds[0]);
	fds[0] = -1;
	return fds[1];
}

int hutch_net_listen_loopback(uint16_t port, hutch_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	if (fd < 0)
		return hutch_err(err, errno, "network: proxy socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hutch_err(err, errno, "network: binding the proxy to 127.0.0.1:%u",
				 (unsigned)port);
	if (listen(fd, 1024) < 0)
		return hutch_err(err, errno, "network: listen on 127.0.0.1:%u", (unsigned)port);
	return TAKE_FD(fd);
}

int hutch_net_default_route_lo(hutch_error *err)
{
	char buf[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct in_addr src = {htonl(INADDR_LOOPBACK)};
	unsigned idx = if_nametoindex("lo");
	struct hutch_nl nl;
	struct rtmsg *rtm;
	int r;

	if (!idx)
		return hutch_err(err, errno, "network: no lo");
	hutch_nl_init(&nl, buf, sizeof(buf));
	rtm = hutch_nl_msg(&nl, RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK,
			   1, sizeof(*rtm));
	if (rtm) {
		rtm->rtm_family = AF_INET;
		rtm->rtm_table = RT_TABLE_MAIN;
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_scope = RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	}
	hutch_nl_put_u32(&nl, RTA_OIF, idx);
	/* the source must be loopback: the filter drops what goes elsewhere, replies too */
	hutch_nl_put(&nl, RTA_PREFSRC, &src, sizeof(src));
	r = nl.oom ? -ENOMEM : hutch_nl_transact(NETLINK_ROUTE, buf, nl.len, 1);
	if (r < 0)
		return hutch_err(err, -r, "network: default route via lo");
	return 0;
}

int hutch_net_bind_inet(int type, uint32_t addr, uint16_t port, uint16_t *bound, hutch_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t sl = sizeof(sa);
	char text[INET_ADDRSTRLEN];
	int one = 1;

	sa.sin_addr.s_addr = htonl(addr);
	inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
	if (fd < 0)
		return hutch_err(err, errno, "network: socket for %s:%u", text, (unsigned)port);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hutch_err(err, errno, "network: binding %s:%u", text, (unsigned)port);
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		return hutch_err(err, errno, "network: listen on %s:%u", text, (unsigned)port);
	if (bound) {
		if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			return hutch_err(err, errno, "network: %s: its port", text);
		*bound = ntohs(sa.sin_port);
	}
	return TAKE_FD(fd);
}
