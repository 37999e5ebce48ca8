/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <unistd.h>

#include "base/loop.h"
#include "tap.h"

static int n_calls;

static int on_read(struct hutch_loop *l, int fd, uint32_t events, void *data)
{
	char c;

	(void)data;
	n_calls++;
	ok(read(fd, &c, 1) == 1 && c == 'x', "callback reads the byte written");
	hutch_loop_del(l, fd);
	hutch_loop_quit(l, 7);
	return 0;
}

int main(void)
{
	struct hutch_loop *l;
	int p[2];

	is_int(hutch_loop_new(&l), 0, "loop created");
	if (pipe(p) < 0)
		return 1;
	is_int(hutch_loop_add(l, p[0], EPOLLIN, on_read, NULL), 0, "watch added");
	is_int(hutch_loop_add(l, p[0], EPOLLIN, on_read, NULL), -EEXIST, "double add refused");
	is_int(write(p[1], "x", 1), 1, "byte written");
	is_int(hutch_loop_run(l), 7, "run returns the quit code");
	is_int(n_calls, 1, "callback ran once");
	is_int(hutch_loop_del(l, p[0]), -ENOENT, "deleted watch is gone");
	hutch_loop_free(l);
	close(p[0]);
	close(p[1]);
	return done_testing();
}
