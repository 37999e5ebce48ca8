/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* splice(2) relaying with pooled pipes: see relay.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "net/relay.h"

static void pipe_close(struct hutch_pipe *p, struct hutch_pipe_pool *pool)
{
	if (p->r < 0)
		return;
	close(p->r);
	close(p->w);
	if (p->big && pool->big_out)
		pool->big_out--;
	p->r = p->w = -1;
	p->big = false;
}

void hutch_pipe_pool_init(struct hutch_pipe_pool *pool, int big_size)
{
	pool->n_idle = 0;
	pool->big_out = 0;
	pool->big_size = big_size;
}

void hutch_pipe_pool_fini(struct hutch_pipe_pool *pool)
{
	while (pool->n_idle)
		pipe_close(&pool->idle[--pool->n_idle], pool);
}

static int pipe_get(struct hutch_pipe_pool *pool, struct hutch_pipe *out)
{
	int fds[2], sz;

	if (pool->n_idle) {
		*out = pool->idle[--pool->n_idle];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	out->r = fds[0];
	out->w = fds[1];
	out->big = false;
	if (pool->big_size > 0 && pool->big_out < HUTCH_PIPE_BIG_MAX &&
	    fcntl(fds[1], F_SETPIPE_SZ, pool->big_size) >= 0) {
		out->big = true;
		pool->big_out++;
	}
	sz = fcntl(fds[1], F_GETPIPE_SZ);
	out->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static void pipe_put(struct hutch_pipe_pool *pool, struct hutch_pipe *p)
{
	if (p->r < 0)
		return;
	if (pool->n_idle < HUTCH_PIPE_POOL_MAX) {
		pool->idle[pool->n_idle++] = *p;
		p->r = p->w = -1;
		p->big = false;
		return;
	}
	pipe_close(p, pool);
}

void hutch_pump_init(struct hutch_pump *p)
{
	p->pipe.r = p->pipe.w = -1;
	p->pipe.cap = 0;
	p->pipe.big = false;
	p->in_pipe = 0;
	p->eof = false;
	p->shut = false;
	p->blocked = false;
	p->dst_failed = false;
	p->bytes = 0;
}

void hutch_pump_close(struct hutch_pump *p, struct hutch_pipe_pool *pool)
{
	if (p->in_pipe)
		pipe_close(&p->pipe, pool);
	else
		pipe_put(pool, &p->pipe);
	p->in_pipe = 0;
}

int hutch_pump_run(struct hutch_pump *p, struct hutch_pipe_pool *pool, int src, int dst,
		   bool read_src)
{
	bool moved = false;
	int r = 0;

	if (p->pipe.r < 0) {
		if (!read_src || src < 0 || p->eof)
			return 0;
		r = pipe_get(pool, &p->pipe);
		if (r < 0)
			return r;
	}
	for (int round = 0; round < HUTCH_PUMP_ROUNDS; round++) {
		bool progress = false;
		ssize_t n;

		if (p->in_pipe > 0 && dst >= 0) {
			n = splice(p->pipe.r, NULL, dst, NULL, p->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				p->in_pipe -= (size_t)n;
				p->bytes += (uint64_t)n;
				p->blocked = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				p->dst_failed = true;
				r = -errno;
				break;
			}
			if (p->in_pipe > 0 && !progress) {
				/* destination full: stop reading until EPOLLOUT (a pipe can also
				 * run out of slots before bytes, so never read into it blindly) */
				p->blocked = true;
				break;
			}
		}
		if (read_src && src >= 0 && !p->eof && p->in_pipe < p->pipe.cap) {
			n = splice(src, NULL, p->pipe.w, NULL, p->pipe.cap - p->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				p->in_pipe += (size_t)n;
				progress = true;
			} else if (n == 0) {
				p->eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				p->dst_failed = false;
				r = -errno;
				break;
			}
		}
		if (!progress)
			break;
		moved = true;
	}
	/* nothing in flight: the pipe goes back to the pool */
	if (!p->in_pipe)
		pipe_put(pool, &p->pipe);
	if (r < 0)
		return r;
	return moved ? 1 : 0;
}
