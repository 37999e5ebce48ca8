/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One direction of a relayed connection: socket -> pipe -> socket with
 * splice(2), so the payload never enters user space. Backpressure is the
 * pipe: when the destination does not take what is in it, the source is not
 * read until EPOLLOUT.
 *
 * Pipes are borrowed from a per-proxy pool only while bytes are in flight
 * and given back as soon as they are empty, so a thousand idle tunnels hold
 * no pipe at all: the kernel accounts pipe buffers per user
 * (fs.pipe-user-pages-soft), and a proxy hoarding them would shrink every
 * pipe the user's other programs create. The first few pipes are enlarged
 * (1 MiB by default) because fewer, larger splices cost less CPU per byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUTCH_PIPE_POOL_MAX 16 /* idle pipes kept for reuse */
#define HUTCH_PIPE_BIG_MAX 8   /* enlarged pipes existing at once */
#define HUTCH_PIPE_BIG_DEFAULT (1 << 20)

struct hutch_pipe {
	int r, w;
	size_t cap;
	bool big;
};

struct hutch_pipe_pool {
	struct hutch_pipe idle[HUTCH_PIPE_POOL_MAX];
	size_t n_idle;
	unsigned big_out; /* enlarged pipes in existence (idle or lent) */
	int big_size;	  /* bytes; <= 0: never enlarge */
};

void hutch_pipe_pool_init(struct hutch_pipe_pool *pool, int big_size);
void hutch_pipe_pool_fini(struct hutch_pipe_pool *pool);

struct hutch_pump {
	struct hutch_pipe pipe; /* r < 0 when none is borrowed */
	size_t in_pipe;		/* bytes read from the source not yet written */
	bool eof;		/* the source reached end of file */
	bool shut;		/* the destination's write side was shut down */
	bool blocked;		/* the destination did not take everything: wait for EPOLLOUT */
	bool dst_failed;	/* the last error came from writing the destination */
	uint64_t bytes;		/* delivered to the destination */
};

#define HUTCH_PUMP_ROUNDS 16 /* read/write rounds per call, for fairness */

void hutch_pump_init(struct hutch_pump *p);
/* Give the pipe back (or close it if it still holds bytes). */
void hutch_pump_close(struct hutch_pump *p, struct hutch_pipe_pool *pool);

/*
 * Move what can be moved without blocking: flush the pipe into @dst, then
 * (if @read_src and @src >= 0) read @src into the pipe, repeatedly. Returns
 * > 0 if anything moved, 0 if not, or a negative errno when a socket failed
 * (-ECONNRESET, -EPIPE, ...; dst_failed tells which side).
 */
int hutch_pump_run(struct hutch_pump *p, struct hutch_pipe_pool *pool, int src, int dst,
		   bool read_src);

static inline bool hutch_pump_want_read(const struct hutch_pump *p)
{
	return !p->eof && !p->blocked;
}

static inline bool hutch_pump_want_write(const struct hutch_pump *p)
{
	return p->in_pipe > 0;
}
