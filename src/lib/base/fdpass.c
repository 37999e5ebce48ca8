/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Descriptors passed over a Unix socket (fdpass.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fdpass.h"

ssize_t hutch_fds_sendv(int sock, const struct iovec *iov, size_t iovcnt, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HUTCH_FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};
	ssize_t r;

	if (n > HUTCH_FDPASS_MAX)
		return -EINVAL;
	if (n) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do
		r = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t hutch_fds_recvv(int sock, struct iovec *iov, size_t iovcnt, int *fds, size_t max, size_t *n,
			int flags, int *msg_flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HUTCH_FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iovcnt};
	size_t got = 0;
	ssize_t r;

	for (size_t i = 0; i < max; i++)
		fds[i] = -1;
	*n = 0;
	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	*n = got;
	if (msg_flags)
		*msg_flags = msg.msg_flags;
	return r;
}

ssize_t hutch_fds_send(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
	struct iovec iov = {(void *)buf, len};

	return hutch_fds_sendv(sock, &iov, 1, fds, n);
}

ssize_t hutch_fds_recv(int sock, void *buf, size_t len, int *fds, size_t max, size_t *n, int flags)
{
	struct iovec iov = {buf, len};

	return hutch_fds_recvv(sock, &iov, 1, fds, max, n, flags, NULL);
}
