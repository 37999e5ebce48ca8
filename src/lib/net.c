/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "net.h"

int hutch_net_loopback_up_fd(int sock, hutch_error *err)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return hutch_err(err, errno, 0, "network: reading lo flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return hutch_err(err, errno, 0, "network: bringing lo up");
	return 0;
}

int hutch_net_loopback_up(hutch_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return hutch_err(err, errno, 0, "network: socket for lo");
	return hutch_net_loopback_up_fd(fd, err);
}

int hutch_net_listen_loopback(uint16_t port, hutch_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	if (fd < 0)
		return hutch_err(err, errno, 0, "network: proxy socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hutch_err(err, errno, 0, "network: binding the proxy to 127.0.0.1:%u",
				 (unsigned)port);
	if (listen(fd, 1024) < 0)
		return hutch_err(err, errno, 0, "network: listen on 127.0.0.1:%u", (unsigned)port);
	return TAKE_FD(fd);
}
