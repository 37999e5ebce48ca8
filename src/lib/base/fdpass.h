/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptors passed over a Unix socket (SCM_RIGHTS) with a message: the
 * sandbox's listeners handed to the supervisor, a named session's stdio, the
 * OCI daemons' sockets and pidfds. Received descriptors are O_CLOEXEC; more
 * than the caller asked for are closed, never leaked.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define HUTCH_FDPASS_MAX 16

/*
 * Send the @len bytes of @buf with the @n descriptors of @fds (none when @n is
 * 0; at most HUTCH_FDPASS_MAX), MSG_NOSIGNAL. The bytes sent, or -errno.
 */
ssize_t hutch_fds_send(int sock, const void *buf, size_t len, const int *fds, size_t n);

/*
 * Receive a message of up to @len bytes into @buf, and up to @max descriptors
 * into @fds (*@n of them, the rest -1; extra ones closed). @flags is added to
 * MSG_CMSG_CLOEXEC (MSG_DONTWAIT). EINTR is retried. The bytes received (0 at
 * the end of the stream), or -errno (then no descriptor is kept).
 */
ssize_t hutch_fds_recv(int sock, void *buf, size_t len, int *fds, size_t max, size_t *n, int flags);

/* The same with the message in @iovcnt pieces; @msg_flags (may be NULL) gets recvmsg's. */
ssize_t hutch_fds_sendv(int sock, const struct iovec *iov, size_t iovcnt, const int *fds, size_t n);
ssize_t hutch_fds_recvv(int sock, struct iovec *iov, size_t iovcnt, int *fds, size_t max, size_t *n,
			int flags, int *msg_flags);
