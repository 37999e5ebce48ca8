/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/pty.h"

#define RELAY_BUF (64 * 1024)

void hutch_tty_probe(struct hutch_tty_info *t)
{
	memset(t, 0, sizeof(*t));
	t->host_fd = -1;
	for (int fd = 0; fd < 3; fd++) {
		t->is_tty[fd] = isatty(fd);
		if (t->is_tty[fd])
			t->any = true;
	}
	/* Output goes to the caller's terminal: prefer stdout, then stderr, then stdin. */
	if (t->is_tty[1])
		t->host_fd = 1;
	else if (t->is_tty[2])
		t->host_fd = 2;
	else if (t->is_tty[0])
		t->host_fd = 0;
	if (t->any) {
		int fd = t->is_tty[0] ? 0 : t->host_fd;
		t->have_termios = tcgetattr(fd, &t->termios) == 0;
		if (ioctl(t->host_fd, TIOCGWINSZ, &t->winsize) < 0)
			memset(&t->winsize, 0, sizeof(t->winsize));
	}
}

int hutch_pty_open(const struct hutch_tty_info *t, int *master, int *slave, hutch_error *err)
{
	_cleanup_close_ int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0, s;

	if (m < 0)
		return hutch_err(err, errno, "terminal: opening the sandbox's ptmx");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return hutch_err(err, errno, "terminal: unlocking the pty");
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return hutch_err(err, errno, "terminal: opening the pty's peer");
	if (t->have_termios)
		(void)tcsetattr(s, TCSANOW, &t->termios);
	if (t->winsize.ws_row || t->winsize.ws_col)
		(void)ioctl(s, TIOCSWINSZ, &t->winsize);
	*master = TAKE_FD(m);
	*slave = s;
	return 0;
}

int hutch_pty_attach(const struct hutch_tty_info *t, int slave, hutch_error *err)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hutch_err(err, errno, "terminal: making the pty the controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (t->is_tty[fd] && dup2(slave, fd) < 0)
			return hutch_err(err, errno, "terminal: attaching fd %d", fd);
	return 0;
}

/* ---- supervisor-side relay ----------------------------------------------- */

struct buf {
	char data[RELAY_BUF];
	size_t off, len;
};

struct hutch_relay {
	struct hutch_loop *loop;
	struct hutch_tty_info t;
	int master;
	int in_fd;  /* caller's terminal input, -1 if stdin is not a terminal */
	int out_fd; /* caller's terminal output */
	bool raw;
	bool in_eof;
	bool master_dead;
	bool held;
	struct buf to_pty, from_pty;
	int in_fl, out_fl; /* original file status flags */
};

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void update_events(struct hutch_relay *r)
{
	uint32_t m = 0;

	if (r->master_dead)
		return;
	if (r->held) {
		hutch_loop_mod(r->loop, r->master, 0);
		if (r->in_fd >= 0 && !r->in_eof)
			hutch_loop_mod(r->loop, r->in_fd, 0);
		if (r->out_fd >= 0 && r->out_fd != r->in_fd)
			hutch_loop_mod(r->loop, r->out_fd, 0);
		return;
	}
	if (r->from_pty.len < sizeof(r->from_pty.data))
		m |= EPOLLIN;
	if (r->to_pty.len)
		m |= EPOLLOUT;
	hutch_loop_mod(r->loop, r->master, m);
	if (r->in_fd >= 0 && !r->in_eof)
		hutch_loop_mod(r->loop, r->in_fd,
			       r->to_pty.len < sizeof(r->to_pty.data) ? EPOLLIN : 0);
	if (r->out_fd >= 0 && r->out_fd != r->in_fd)
		hutch_loop_mod(r->loop, r->out_fd, r->from_pty.len ? EPOLLOUT : 0);
}

static void buf_fill(struct buf *b, int fd, bool *eof)
{
	ssize_t n;

	if (b->off && b->len)
		memmove(b->data, b->data + b->off, b->len);
	b->off = 0;
	n = read(fd, b->data + b->len, sizeof(b->data) - b->len);
	if (n > 0)
		b->len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		*eof = true;
}

static void buf_drain(struct buf *b, int fd)
{
	while (b->len) {
		ssize_t n = write(fd, b->data + b->off, b->len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return;
			b->len = 0; /* the other side is gone: drop */
			return;
		}
		b->off += (size_t)n;
		b->len -= (size_t)n;
	}
	b->off = 0;
}

static int on_master(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_relay *r = data;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		bool eof = false;
		buf_fill(&r->from_pty, fd, &eof);
		if (eof && !(events & EPOLLIN)) {
			r->master_dead = true;
			hutch_loop_del(loop, fd);
		}
		buf_drain(&r->from_pty, r->out_fd);
	}
	if ((events & EPOLLOUT) && !r->master_dead)
		buf_drain(&r->to_pty, fd);
	update_events(r);
	return 0;
}

static int on_in(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_relay *r = data;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		bool eof = false;
		buf_fill(&r->to_pty, fd, &eof);
		if (eof) {
			r->in_eof = true;
			hutch_loop_del(loop, fd);
		}
		if (!r->master_dead)
			buf_drain(&r->to_pty, r->master);
	}
	if ((events & EPOLLOUT) && fd == r->out_fd)
		buf_drain(&r->from_pty, fd);
	update_events(r);
	return 0;
}

static int on_out(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct hutch_relay *r = data;

	buf_drain(&r->from_pty, fd);
	update_events(r);
	return 0;
}

int hutch_relay_start(struct hutch_loop *loop, const struct hutch_tty_info *t, int master,
		      struct hutch_relay **out)
{
	struct hutch_relay *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->t = *t;
	r->master = master;
	r->in_fd = t->is_tty[0] ? 0 : -1;
	r->out_fd = t->host_fd;
	r->in_fl = r->in_fd >= 0 ? fcntl(r->in_fd, F_GETFL) : -1;
	r->out_fl = fcntl(r->out_fd, F_GETFL);
	if (t->have_termios && r->in_fd >= 0) {
		struct termios raw = t->termios;
		cfmakeraw(&raw);
		if (tcsetattr(r->in_fd, TCSADRAIN, &raw) == 0)
			r->raw = true;
	}
	set_nonblock(master, true);
	ret = hutch_loop_add(loop, master, EPOLLIN, on_master, r);
	if (ret >= 0 && r->in_fd >= 0) {
		set_nonblock(r->in_fd, true);
		ret = hutch_loop_add(loop, r->in_fd, EPOLLIN, on_in, r);
	}
	if (ret >= 0 && r->out_fd != r->in_fd) {
		set_nonblock(r->out_fd, true);
		ret = hutch_loop_add(loop, r->out_fd, 0, on_out, r);
	}
	if (ret < 0) {
		hutch_relay_finish(r);
		hutch_relay_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void hutch_relay_resize(struct hutch_relay *r)
{
	struct winsize ws;

	if (r && ioctl(r->out_fd, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(r->master, TIOCSWINSZ, &ws);
}

void hutch_relay_hold(struct hutch_relay *r, bool hold)
{
	if (!r || r->held == hold)
		return;
	r->held = hold;
	update_events(r);
}

void hutch_relay_finish(struct hutch_relay *r)
{
	if (!r)
		return;
	/* The sandbox is gone: copy what is still buffered in the pty. */
	if (!r->master_dead) {
		set_nonblock(r->out_fd, false);
		for (;;) {
			bool eof = false;
			if (r->from_pty.len == sizeof(r->from_pty.data))
				buf_drain(&r->from_pty, r->out_fd);
			buf_fill(&r->from_pty, r->master, &eof);
			buf_drain(&r->from_pty, r->out_fd);
			if (eof)
				break;
			{
				struct pollfd pfd = {.fd = r->master, .events = POLLIN};
				if (poll(&pfd, 1, 0) <= 0)
					break;
			}
		}
		r->master_dead = true;
	}
	if (r->in_fd >= 0 && r->in_fl >= 0)
		fcntl(r->in_fd, F_SETFL, r->in_fl);
	if (r->out_fl >= 0)
		fcntl(r->out_fd, F_SETFL, r->out_fl);
	if (r->raw) {
		tcsetattr(r->in_fd, TCSADRAIN, &r->t.termios);
		r->raw = false;
	}
}

void hutch_relay_free(struct hutch_relay *r)
{
	free(r);
}
