/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named sessions: the message format, and the client side (hutch exec, hutch stop). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/statedir.h"
#include "sandbox/init.h"
#include "base/fdpass.h"
#include "base/loop.h"
#include "session/named.h"
#include "sandbox/pty.h"

int hutch_nm_send(int sock, const struct hutch_nm_hdr *h, const void *payload, size_t len,
		  const int *fds, size_t nfds)
{
	struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)payload, len}};
	ssize_t r;

	if (len > HUTCH_NAMED_MAX_MSG || nfds > 3)
		return -E2BIG;
	r = hutch_fds_sendv(sock, iov, len ? 2 : 1, fds, nfds);
	return r < 0 ? (int)r : 0;
}

ssize_t hutch_nm_recv(int sock, struct hutch_nm_hdr *h, char *payload, size_t cap, int *fds,
		      size_t *nfds)
{
	struct iovec iov[2] = {{h, sizeof(*h)}, {payload, cap}};
	int flags = 0;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	n = hutch_fds_recvv(sock, iov, 2, fds, 3, nfds, 0, &flags);
	if (n < 0)
		return n;
	if (n == 0) {
		h->type = 0;
		return 0;
	}
	if ((size_t)n < sizeof(*h) || (flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EBADMSG;
	}
	return n - (ssize_t)sizeof(*h);
}

char *hutch_named_dir(void)
{
	return hutch_state_dir("named");
}

int hutch_named_check_name(const char *name, hutch_error *err)
{
	return hutch_state_check_name(name, HUTCH_NAMED_MAX_NAME, err);
}

static int socket_path(const char *name, struct sockaddr_un *sa, hutch_error *err)
{
	_cleanup_free_ char *dir = hutch_named_dir();
	int n;

	if (!dir)
		return hutch_errx(err, EINVAL, "cannot find the state directory: HOME is not set");
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s/control.sock", dir, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return hutch_errx(err, ENAMETOOLONG, "session %s: state path too long", name);
	return 0;
}

int hutch_named_connect(const char *name, hutch_error *err)
{
	struct sockaddr_un sa;
	int fd, r;

	r = hutch_named_check_name(name, err);
	if (r < 0)
		return r;
	r = socket_path(name, &sa, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hutch_err(err, errno, "session %s: socket", name);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		if (r == -ENOENT || r == -ECONNREFUSED) {
			hutch_errx(err, ENOENT, "no running session named '%s'", name);
			hutch_err_hint(err, "start one with: hutch run --name %s -- COMMAND", name);
			return -ENOENT;
		}
		return hutch_err(err, -r, "session %s: connecting", name);
	}
	return fd;
}

/* ---- client: run one command in a session -------------------------------- */

struct client {
	int sock;
	bool done;
	int status;
	hutch_error *err;
	int ret;
	struct hutch_relay *relay;
	struct hutch_tty_info tty;
	struct hutch_loop *loop;
	int master;
	void (*warn)(const char *msg, void *data);
	void *data;
	/* SIGTERM, SIGINT or SIGHUP passed on: SIGKILL to the command after stop_ms */
	int timerfd;
	uint64_t stop_ms;
	int stop_signal;
	bool killed;
};

static int on_session(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	struct hutch_nm_hdr h;
	char buf[2048];
	int fds[3];
	size_t nfds = 0;
	ssize_t n = hutch_nm_recv(fd, &h, buf, sizeof(buf) - 1, fds, &nfds);

	/*
	 * ECONNRESET: the daemon closed after the command's status while a message of
	 * ours (a signal passed on) was still unread there; the error is reported once,
	 * ahead of what is queued for us: read on (the status, then the end).
	 */
	if (n == -EAGAIN || n == -EINTR || n == -ECONNRESET)
		return 0;
	if (c->done) { /* the end came already (its status): what follows is the daemon closing */
		for (size_t i = 0; n >= 0 && i < nfds; i++)
			close(fds[i]);
		return 0;
	}
	if (n < 0 || h.type == 0) {
		c->ret = hutch_errx(c->err, EPIPE, "the session ended before the command finished");
		c->done = true;
		hutch_loop_quit(loop, 0);
		return 0;
	}
	buf[n] = '\0';
	switch (h.type) {
	case NM_STARTED:
		if (nfds == 1 && c->tty.any && !c->relay) {
			c->master = fds[0];
			if (hutch_relay_start(loop, &c->tty, c->master, &c->relay) < 0) {
				close(c->master);
				c->master = -1;
			}
			hutch_relay_resize(c->relay);
		} else {
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
		}
		break;
	case NM_EXIT:
		c->status = h.value;
		/* killed at the end of the grace period: as if that signal had ended it */
		if (c->killed && c->stop_signal)
			c->status = 128 + c->stop_signal;
		c->done = true;
		hutch_loop_quit(loop, 0);
		break;
	case NM_NOTICE:
		if (c->warn)
			c->warn(buf, c->data);
		break;
	case NM_ERROR:
		c->ret = hutch_errx(c->err, EINVAL, "%s", buf);
		hutch_err_status(c->err, h.value);
		c->done = true;
		hutch_loop_quit(loop, 0);
		break;
	default:
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		break;
	}
	return 0;
}

static void send_kill(struct client *c)
{
	struct hutch_nm_hdr h = {.type = NM_SIGNAL, .value = SIGKILL};

	c->killed = true;
	(void)hutch_nm_send(c->sock, &h, NULL, 0, NULL, 0);
}

static int on_client_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data);

/* The grace period's timer, made when a stop signal first needs it (most commands never do). */
static int arm_stop_timer(struct client *c, struct hutch_loop *loop, const struct itimerspec *its)
{
	if (c->timerfd < 0) {
		c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (c->timerfd < 0)
			return -errno;
		if (hutch_loop_add(loop, c->timerfd, EPOLLIN, on_client_timer, c) < 0) {
			close(c->timerfd);
			c->timerfd = -1;
			return -EIO;
		}
	}
	return timerfd_settime(c->timerfd, 0, its, NULL) < 0 ? -errno : 0;
}

static int on_client_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		struct hutch_nm_hdr h = {.type = NM_SIGNAL, .value = (int32_t)si.ssi_signo};
		if (si.ssi_signo == SIGWINCH) {
			hutch_relay_resize(c->relay);
			continue;
		}
		(void)hutch_nm_send(c->sock, &h, NULL, 0, NULL, 0);
		if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) &&
		    !c->stop_signal) {
			struct itimerspec its = {0};

			c->stop_signal = (int)si.ssi_signo;
			its.it_value.tv_sec = (time_t)(c->stop_ms / 1000);
			its.it_value.tv_nsec = (long)(c->stop_ms % 1000) * 1000000L + 1;
			if (arm_stop_timer(c, loop, &its) < 0)
				send_kill(c);
		}
	}
	return 0;
}

/* The grace period after a stop signal is over: SIGKILL to the command. */
static int on_client_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == sizeof(n))
		send_kill(c);
	return 0;
}

static int build_exec(char *const argv[], const char *cwd, char **out, size_t *len, uint32_t *argc)
{
	size_t total = strlen(cwd), off;
	char *buf;

	*argc = 0;
	for (size_t i = 0; argv[i]; i++) {
		total += strlen(argv[i]) + 1;
		(*argc)++;
	}
	if (total > HUTCH_NAMED_MAX_MSG)
		return -E2BIG;
	buf = malloc(total ? total : 1);
	if (!buf)
		return -ENOMEM;
	off = strlen(cwd);
	memcpy(buf, cwd, off);
	for (size_t i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(buf + off, argv[i], l);
		off += l;
	}
	*out = buf;
	*len = off;
	return 0;
}

int hutch_named_exec(const char *name, char *const argv[], void (*warn)(const char *, void *),
		     void *data, int64_t stop_timeout_ms, int *status, hutch_error *err)
{
	struct client c = {.sock = -1,
			   .err = err,
			   .master = -1,
			   .warn = warn,
			   .data = data,
			   .timerfd = -1,
			   .stop_ms = stop_timeout_ms < 0 ? HUTCH_STOP_TIMEOUT_MS
							  : (uint64_t)stop_timeout_ms};
	struct hutch_nm_hdr h = {.type = NM_EXEC};
	_cleanup_free_ char *payload = NULL, *cwd = getcwd(NULL, 0);
	int fds[3] = {0, 1, 2};
	sigset_t mask, old;
	int sigfd = -1, r;
	size_t len;

	if (!argv || !argv[0])
		return hutch_errx(err, EINVAL, "no command given");
	r = hutch_named_check_name(name, err);
	if (r < 0)
		return r;
	hutch_tty_probe(&c.tty);
	for (int i = 0; i < 3; i++)
		if (c.tty.is_tty[i])
			h.tty |= 1u << i;
	h.ws = c.tty.winsize;
	r = build_exec(argv, cwd ? cwd : "/", &payload, &len, &h.argc);
	if (r < 0)
		return hutch_err(err, r, "session %s: command too long", name);
	h.cwd_len = (uint32_t)strlen(cwd ? cwd : "/");

	sigemptyset(&mask);
	for (size_t i = 0; hutch_forwarded_signals[i]; i++)
		sigaddset(&mask, hutch_forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	r = hutch_loop_new(&c.loop);
	if (r < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return hutch_err(err, r, "session %s", name);
	}
	/*
	 * The request right after the connection, everything else made before: the
	 * daemon, woken by the connection, finds the request there already
	 * (hutch_named_on_listen) instead of being woken a second time for it.
	 */
	c.sock = hutch_named_connect(name, err);
	if (c.sock < 0) {
		hutch_loop_free(c.loop);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return c.sock;
	}
	r = hutch_nm_send(c.sock, &h, payload, len, fds, 3);
	if (r >= 0) {
		sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
		r = sigfd < 0 ? -errno
			      : hutch_loop_add(c.loop, sigfd, EPOLLIN, on_client_signal, &c);
	}
	if (r >= 0)
		r = hutch_loop_add(c.loop, c.sock, EPOLLIN, on_session, &c);
	if (r >= 0)
		r = hutch_loop_run(c.loop);
	if (r < 0 && !c.ret)
		c.ret = hutch_err(err, r, "session %s", name);
	if (c.relay) {
		hutch_relay_finish(c.relay);
		hutch_relay_free(c.relay);
	}
	if (c.master >= 0)
		close(c.master);
	hutch_loop_free(c.loop);
	if (sigfd >= 0)
		close(sigfd);
	if (c.timerfd >= 0)
		close(c.timerfd);
	close(c.sock);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (c.ret < 0)
		return c.ret;
	*status = c.status;
	return 0;
}

int hutch_named_stop(const char *name, int64_t stop_timeout_ms,
		     void (*warn)(const char *msg, void *data), void *data, hutch_error *err)
{
	struct hutch_nm_hdr h = {.type = NM_STOP, .value = -1};
	int fds[3];
	size_t nfds;
	char buf[1024];
	int fd = hutch_named_connect(name, err);
	ssize_t n;
	int r;

	if (fd < 0)
		return fd;
	if (stop_timeout_ms >= 0)
		h.value = stop_timeout_ms > INT32_MAX ? INT32_MAX : (int32_t)stop_timeout_ms;
	r = hutch_nm_send(fd, &h, NULL, 0, NULL, 0);
	/*
	 * The daemon closes the connection when the sandbox is gone and the agent's
	 * state is carried back; a notice before that is a line for the user.
	 */
	while (r >= 0 && (n = hutch_nm_recv(fd, &h, buf, sizeof(buf) - 1, fds, &nfds)) >= 0 &&
	       h.type != 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		buf[n] = '\0';
		if (h.type == NM_NOTICE && warn && n > 0)
			warn(buf, data);
	}
	close(fd);
	return r < 0 ? hutch_err(err, r, "stopping session %s", name) : 0;
}
