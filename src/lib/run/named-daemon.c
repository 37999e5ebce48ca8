/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Named sessions, on the host side: starting the background daemon that
 * supervises the sandbox (hutch_named_start), and its clients (`hutch exec`, `hutch
 * stop`) on control.sock. The message format and the client side: session/named.c.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run/asker.h"
#include "audit/audit.h"
#include "base/cleanup.h"
#include "base/file.h"
#include "base/escape.h"
#include "base/error.h"
#include "base/path.h"
#include "sandbox/caps.h"
#include "policy/agentstate.h"
#include "policy/env.h"
#include "sandbox/init.h"
#include "sandbox/landlock.h"
#include "limits/limit.h"
#include "base/loop.h"
#include "sandbox/mount.h"
#include "session/named.h"
#include "sandbox/netns.h"
#include "sandbox/ns.h"
#include "policy/policy.h"
#include "policy/profiles.h"
#include "sandbox/protect.h"
#include "net/hostport.h"
#include "net/proxy.h"
#include "sandbox/pty.h"
#include "limits/rlimit.h"
#include "audit/gitguard.h"
#include "run/run.h"
#include "sandbox/seccomp.h"
#include "session/session.h"
#include "run/run-int.h"

static struct hutch_named_cmd *cmd_by_id(struct run *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_cmds; i++)
		if (r->cmds[i].id == id)
			return &r->cmds[i];
	return NULL;
}

bool hutch_named_init_serves(const struct run *r)
{
	return r->session_listen >= 0 && !hutch_limits_uses_cgroup(r->lim);
}

/* A command in flight, whose client is @fd (in the loop unless init took it). */
static struct hutch_named_cmd *add_cmd(struct run *r, uint32_t id, int fd)
{
	struct hutch_named_cmd *v, *c;

	if (r->n_cmds >= HUTCH_NAMED_MAX_CMDS)
		return NULL;
	v = realloc(r->cmds, (r->n_cmds + 1) * sizeof(*v));
	if (!v)
		return NULL;
	r->cmds = v;
	c = &r->cmds[r->n_cmds++];
	c->id = id;
	c->client = fd;
	c->done = false;
	hutch_limits_events(r->lim, &c->ev0);
	return c;
}

static void drop_client(struct run *r, int fd)
{
	hutch_loop_del(r->loop, fd); /* -ENOENT for a command init took: not in the loop */
	for (size_t i = 0; i < r->n_cmds; i++) {
		struct hutch_named_cmd *c = &r->cmds[i];
		if (c->client != fd)
			continue;
		c->client = -1;
		if (!c->done) {
			/* The client went away: its command gets the hang-up it would get. */
			struct hutch_nm_hdr h = {.type = NM_SIGNAL, .id = c->id, .value = SIGHUP};
			(void)hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0);
		} else {
			r->cmds[i] = r->cmds[--r->n_cmds];
		}
		break;
	}
	close(fd);
}

/*
 * hutch stop on connection @fd, with its grace period (@grace_ms, < 0: the
 * default): told of the agent state carried back, once the sandbox is gone.
 * False when there is no room to keep @fd for that.
 */
static bool named_stop(struct run *r, int fd, int32_t grace_ms)
{
	bool kept = r->n_stop_clients < ARRAY_SIZE(r->stop_clients);

	if (kept)
		r->stop_clients[r->n_stop_clients++] = fd;
	if (!r->stopping && grace_ms >= 0)
		r->stop_ms = (uint64_t)grace_ms;
	hutch_run_stop_terminate_all(r);
	hutch_run_stop_begin(r);
	return kept;
}

static int on_client(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	static char buf[HUTCH_NAMED_MAX_MSG];
	struct hutch_nm_hdr h;
	struct hutch_named_cmd *c;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(fd, &h, buf, sizeof(buf), fds, &nfds);

	if (len == -EAGAIN)
		return 0;
	if (len < 0 || h.type == 0) {
		drop_client(r, fd);
		return 0;
	}
	switch (h.type) {
	case NM_EXEC:
		c = add_cmd(r, ++r->next_id, fd); /* an id lost on failure: they need only differ */
		if (!c) {
			struct hutch_nm_hdr e = {.type = NM_ERROR, .value = HUTCH_EXIT_ERROR};
			const char *msg = "too many commands in this session";
			(void)hutch_nm_send(fd, &e, msg, strlen(msg), NULL, 0);
			break;
		}
		h.id = c->id;
		(void)hutch_nm_send(r->ctl[0], &h, buf, (size_t)len, fds, nfds);
		break;
	case NM_SIGNAL:
		for (size_t i = 0; i < r->n_cmds; i++)
			if (r->cmds[i].client == fd && !r->cmds[i].done) {
				h.id = r->cmds[i].id;
				(void)hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0);
			}
		break;
	case NM_STOP:
		(void)named_stop(r, fd, h.value); /* the connection stays in the loop anyway */
		break;
	default:
		break;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

int hutch_named_on_listen(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return 0;
	/* Only the owner (the directory is 0700 already): defence in depth. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid() ||
	    hutch_loop_add(loop, c, EPOLLIN, on_client, r) < 0) {
		close(c);
		return 0;
	}
	/*
	 * hutch exec sends its request right after connecting: most often it is
	 * here already, served now rather than after another wake-up (nothing yet:
	 * the loop calls on_client when it comes).
	 */
	return on_client(loop, c, EPOLLIN, r);
}

static void named_ready(struct run *r, const hutch_error *e)
{
	struct child_report rep;

	if (r->ready_fd < 0)
		return;
	memset(&rep, 0, sizeof(rep));
	if (e) {
		rep.code = e->code;
		rep.status = e->status ? e->status : HUTCH_EXIT_ERROR;
		snprintf(rep.msg, sizeof(rep.msg), "%s", e->msg);
		snprintf(rep.hint, sizeof(rep.hint), "%s", e->hint);
	}
	(void)!write(r->ready_fd, &rep, sizeof(rep));
	close(r->ready_fd);
	r->ready_fd = -1;
}

/*
 * A command of a named session ended: the limits that fired while it ran go to
 * its client as notices (the daemon has no terminal) and to the audit log.
 */
static void named_limits_fired(struct run *r, const struct hutch_named_cmd *c, int status)
{
	const struct hutch_limit_hit *hits;
	size_t n;

	if (!hutch_limits_collect_since(r->lim, &c->ev0, status))
		return;
	hutch_audit_limits_fired(r->audit, r->lim);
	hits = hutch_limits_fired(r->lim, &n);
	for (size_t i = 0; c->client >= 0 && i < n; i++) {
		struct hutch_nm_hdr h = {.type = NM_NOTICE, .id = c->id};
		if (hits[i].quiet || hits[i].which == HUTCH_LIMIT_TIMEOUT)
			continue;
		(void)hutch_nm_send(c->client, &h, hits[i].message, strlen(hits[i].message) + 1,
				    NULL, 0);
	}
}

int hutch_named_on_ctl(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	static char buf[4096];
	struct hutch_nm_hdr h;
	struct hutch_named_cmd *c;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(fd, &h, buf, sizeof(buf), fds, &nfds);

	if (len == -EAGAIN)
		return 0;
	if (len < 0 || h.type == 0) {
		hutch_loop_del(loop, fd);
		return 0;
	}
	if (h.type == NM_FD && h.id == 0 && nfds == 1) {
		nfds = 0;
		return hutch_run_take_ctl_fd(r, loop, (uint32_t)h.value, fds[0]);
	} else if (h.type == NM_STARTED && h.id == 0) {
		named_ready(r, NULL);
	} else if (h.type == NM_BEGUN && nfds == 1) {
		/* a command init took: its client's connection, to answer if init cannot */
		if (add_cmd(r, h.id, fds[0]))
			nfds = 0;
	} else if (h.type == NM_STOP && nfds == 1) {
		/* hutch stop, whose connection init took */
		if (named_stop(r, fds[0], h.value))
			nfds = 0;
	} else if (h.type == NM_EXITED && (c = cmd_by_id(r, h.id))) {
		/* init told the client itself */
		close(c->client);
		*c = r->cmds[--r->n_cmds];
	} else if (h.type == NM_EXIT && nfds == 1 && !cmd_by_id(r, h.id)) {
		/* a command init took, ended by a limit: the line, then the status */
		struct hutch_named_cmd one = {.id = h.id, .client = fds[0]};

		named_limits_fired(r, &one, h.value);
		(void)hutch_nm_send(one.client, &h, NULL, 0, NULL, 0);
	} else if ((c = cmd_by_id(r, h.id))) {
		if (h.type == NM_EXIT)
			named_limits_fired(r, c, h.value);
		if (c->client >= 0)
			(void)hutch_nm_send(c->client, &h, buf, (size_t)len, fds, nfds);
		if (h.type == NM_EXIT || h.type == NM_ERROR) {
			c->done = true;
			if (c->client >= 0)
				drop_client(r, c->client);
			else
				*c = r->cmds[--r->n_cmds];
		}
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

/*
 * The sandbox of a named session is gone: what init said before it exited is
 * passed on; a command it could not report (init was killed at the end of a
 * grace period, and the kernel with it every process of the sandbox) ends
 * for its client as killed by SIGKILL, never as a lost connection.
 */
void hutch_named_end_cmds(struct run *r)
{
	for (int i = 0; i < 4 * HUTCH_NAMED_MAX_CMDS; i++) {
		char c;
		if (r->ctl[0] < 0 || recv(r->ctl[0], &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
			break; /* nothing more, or the end */
		hutch_named_on_ctl(r->loop, r->ctl[0], EPOLLIN, r);
	}
	while (r->n_cmds > 0) {
		struct hutch_named_cmd *c = &r->cmds[r->n_cmds - 1];
		struct hutch_nm_hdr h = {.type = NM_EXIT, .id = c->id, .value = 128 + SIGKILL};

		if (c->client >= 0 && !c->done) {
			(void)hutch_nm_send(c->client, &h, NULL, 0, NULL, 0);
			c->done = true;
			drop_client(r, c->client); /* may remove it from the list */
			continue;
		}
		r->n_cmds--;
	}
}

static int named_listen_socket(const char *dir, hutch_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
	    sizeof(sa.sun_path))
		return hutch_errx(err, ENAMETOOLONG, "session directory path too long: %s", dir);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hutch_err(err, errno, "session socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		int r = hutch_err(err, errno, "session socket %s", sa.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

/* A line for each hutch stop waiting (the agent state's carry-back). */
static void tell_stoppers(const char *msg, void *data)
{
	struct run *r = data;
	struct hutch_nm_hdr h = {.type = NM_NOTICE};

	for (size_t i = 0; i < r->n_stop_clients; i++)
		(void)hutch_nm_send(r->stop_clients[i], &h, msg, strlen(msg) + 1, NULL, 0);
}

/*
 * The agent's working copies (policy/agentstate.c) live as long as the session:
 * made before it starts, carried back when it ends, before the stop clients are let
 * go (their connections close with the daemon).
 */
static void end_agent_state(struct run *r, hutch_agentstate *state)
{
	hutch_error e = {0};

	if (hutch_agentstate_end(state, tell_stoppers, r, &e) < 0)
		tell_stoppers(e.msg, r);
	hutch_agentstate_free(state);
}

__attribute__((noreturn)) static void named_daemon(const hutch_policy *p, const char *dir,
						   int listen_fd, int ready_fd, pid_t client)
{
	struct hutch_run_opts o = {0};
	hutch_agentstate *state = NULL;
	hutch_error e = {0};
	struct run r;
	int status = 0, devnull;
	char path[PATH_MAX];

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	hutch_cgroup_allow_companion(client);
	hutch_run_init(&r, p, NULL, &o);
	r.session_listen = listen_fd;
	r.ready_fd = ready_fd;
	if (hutch_agentstate_begin(p, NULL, &state, &e) < 0)
		named_ready(&r, &e);
	else if (hutch_run_main(&r, &status, &e) < 0)
		named_ready(&r, &e);
	else
		named_ready(&r, NULL); /* not reached normally: ready was sent */
	end_agent_state(&r, state);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	unlink(path);
	rmdir(dir);
	_exit(0);
}

int hutch_named_start(const hutch_policy *p, const char *name, hutch_error *err)
{
	pid_t client = getpid();
	_cleanup_free_ char *base = hutch_named_dir(), *dir = NULL;
	struct child_report rep;
	int ready[2], fd, r, st;
	pid_t pid;
	ssize_t n;

	if (!p->finalized)
		return hutch_errx(err, EINVAL, "internal: the policy is not finalized");
	r = hutch_named_check_name(name, err);
	if (r < 0)
		return r;
	if (!base)
		return hutch_errx(err, EINVAL, "cannot find the state directory: HOME is not set");
	dir = hutch_path_join(base, name);
	if (!dir)
		return -ENOMEM;
	fd = hutch_named_connect(name, NULL);
	if (fd >= 0) {
		close(fd);
		return hutch_errx(err, EEXIST, "a session named '%s' is already running", name);
	}
	r = hutch_mkdir_p(dir, 0700);
	if (r < 0)
		return hutch_err(err, r, "session directory %s", dir);
	fd = named_listen_socket(dir, err);
	if (fd < 0)
		return fd;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(fd);
		return hutch_err(err, errno, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(fd);
		close(ready[0]);
		close(ready[1]);
		return hutch_err(err, errno, "fork");
	}
	if (pid == 0) {
		pid_t mid;
		close(ready[0]);
		setsid();
		mid = getpid();
		if (fork() != 0)
			_exit(0);
		/* gone from the cgroup only once exited: the daemon may have to be alone there */
		for (int i = 0; i < 1000 && getppid() == mid; i++)
			usleep(1000);
		named_daemon(p, dir, fd, ready[1], client);
	}
	close(fd);
	close(ready[1]);
	waitpid(pid, &st, 0);
	do
		n = read(ready[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != (ssize_t)sizeof(rep))
		return hutch_errx(err, EIO, "session %s: the sandbox did not start", name);
	if (rep.msg[0]) {
		rep.msg[sizeof(rep.msg) - 1] = rep.hint[sizeof(rep.hint) - 1] = '\0';
		hutch_errx(err, rep.code ? rep.code : EINVAL, "session %s: %s", name, rep.msg);
		hutch_err_status(err, rep.status);
		if (rep.hint[0])
			hutch_err_hint(err, "%s", rep.hint);
		return rep.code < 0 ? rep.code : -EINVAL;
	}
	return 0;
}
