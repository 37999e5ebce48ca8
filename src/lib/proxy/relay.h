/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One direction of a relayed connection: socket -> pipe -> socket with
 * splice(2), so the payload never enters user space. Backpressure is the
 * pipe: when it is full the source is not read until the destination drains
 * it. The pipe is created on first use, so an idle connection costs no pipe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hutch_pump {
	int pr, pw;	 /* pipe ends, -1 until needed */
	size_t in_pipe;	 /* bytes read from the source not yet written */
	size_t cap;	 /* pipe capacity */
	bool eof;	 /* the source reached end of file */
	bool shut;	 /* the destination's write side was shut down */
	bool blocked;	 /* the destination did not take everything: wait for EPOLLOUT */
	bool dst_failed; /* the last error came from writing the destination */
	uint64_t bytes;	 /* delivered to the destination */
};

#define HUTCH_PUMP_ROUNDS 16 /* read/write rounds per call, for fairness */

void hutch_pump_init(struct hutch_pump *p);
void hutch_pump_close(struct hutch_pump *p);

/*
 * Move what can be moved without blocking: flush the pipe into @dst, then
 * (if @read_src and @src >= 0) read @src into the pipe, repeatedly. Returns
 * > 0 if anything moved, 0 if not, or a negative errno when a socket failed
 * (-ECONNRESET, -EPIPE, ...). @pipe_size asks for a pipe of that size (0:
 * the default); the kernel may give less.
 */
int hutch_pump_run(struct hutch_pump *p, int src, int dst, bool read_src, int pipe_size);

static inline bool hutch_pump_want_read(const struct hutch_pump *p)
{
	return !p->eof && !p->blocked && (p->pr < 0 || p->in_pipe < p->cap);
}

static inline bool hutch_pump_want_write(const struct hutch_pump *p)
{
	return p->in_pipe > 0;
}
