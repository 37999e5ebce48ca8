/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* splice(2) relaying: see relay.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "proxy/relay.h"

void hutch_pump_init(struct hutch_pump *p)
{
	p->pr = p->pw = -1;
	p->in_pipe = 0;
	p->cap = 0;
	p->eof = false;
	p->shut = false;
	p->blocked = false;
	p->dst_failed = false;
	p->bytes = 0;
}

void hutch_pump_close(struct hutch_pump *p)
{
	if (p->pr >= 0)
		close(p->pr);
	if (p->pw >= 0)
		close(p->pw);
	p->pr = p->pw = -1;
	p->in_pipe = 0;
}

static int make_pipe(struct hutch_pump *p, int pipe_size)
{
	int fds[2], sz;

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (pipe_size > 0)
		(void)fcntl(fds[1], F_SETPIPE_SZ, pipe_size);
	sz = fcntl(fds[1], F_GETPIPE_SZ);
	p->pr = fds[0];
	p->pw = fds[1];
	p->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

int hutch_pump_run(struct hutch_pump *p, int src, int dst, bool read_src, int pipe_size)
{
	bool moved = false;

	if (p->pr < 0) {
		int r;

		if (!read_src || src < 0 || p->eof)
			return 0;
		r = make_pipe(p, pipe_size);
		if (r < 0)
			return r;
	}
	for (int round = 0; round < HUTCH_PUMP_ROUNDS; round++) {
		bool progress = false;
		ssize_t n;

		if (p->in_pipe > 0 && dst >= 0) {
			n = splice(p->pr, NULL, dst, NULL, p->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				p->in_pipe -= (size_t)n;
				p->bytes += (uint64_t)n;
				p->blocked = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				p->dst_failed = true;
				return -errno;
			}
			if (p->in_pipe > 0 && !progress) {
				/* destination full: stop reading until EPOLLOUT (a pipe can also
				 * run out of slots before bytes, so never read into it blindly) */
				p->blocked = true;
				break;
			}
		}
		if (read_src && src >= 0 && !p->eof && p->in_pipe < p->cap) {
			n = splice(src, NULL, p->pw, NULL, p->cap - p->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				p->in_pipe += (size_t)n;
				progress = true;
			} else if (n == 0) {
				p->eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				p->dst_failed = false;
				return -errno;
			}
		}
		if (!progress)
			break;
		moved = true;
	}
	return moved ? 1 : 0;
}
