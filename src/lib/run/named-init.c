/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Named sessions, inside the sandbox: init (PID 1) serves the commands `hutch exec`
 * sends, each with its own setup steps (start.c), until the session stops.
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
#include "base/escape.h"
#include "base/error.h"
#include "base/path.h"
#include "sandbox/caps.h"
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

struct named_init_cmd {
	uint32_t id;
	pid_t pid;
	int errfd;   /* the command's setup report pipe */
	int client;  /* its hutch exec's connection when init took it, else -1 (the daemon's) */
	bool handed; /* the daemon has a copy of @client, and is told of the end (stopping) */
};

/* Connections accepted whose request has not come yet: hutch exec sends it at once. */
#define INIT_MAX_PENDING 16

struct named_init {
	struct run *r;
	struct named_init_cmd cmds[HUTCH_NAMED_MAX_CMDS];
	size_t n;
	int listen; /* control.sock when init takes hutch exec's connections, else -1 */
	int pending[INIT_MAX_PENDING];
	size_t n_pending;
	uint32_t next_id;
	bool stopping;
};

/* A message to @client, or to the daemon (which passes it on) when there is none. */
static void init_send_to(struct run *r, int client, uint32_t type, uint32_t id, int32_t value,
			 const char *msg, int fd)
{
	struct hutch_nm_hdr h = {.type = type, .id = id, .value = value};

	(void)hutch_nm_send(client >= 0 ? client : r->ctl[1], &h, msg, msg ? strlen(msg) : 0,
			    fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

static void init_send(struct run *r, uint32_t type, uint32_t id, int32_t value, const char *msg,
		      int fd)
{
	init_send_to(r, -1, type, id, value, msg, fd);
}

/* Parse "cwd" + argc NUL-terminated strings; argv points into @buf. */
static char **parse_exec(const struct hutch_nm_hdr *h, char *buf, size_t len, char **cwd)
{
	char **argv;
	size_t off;

	if (h->argc == 0 || h->argc > 65536 || h->cwd_len >= len)
		return NULL;
	argv = calloc(h->argc + 1, sizeof(char *));
	if (!argv)
		return NULL;
	off = h->cwd_len;
	for (uint32_t i = 0; i < h->argc; i++) {
		char *end = memchr(buf + off, '\0', len - off);
		if (!end || off >= len) {
			free(argv);
			return NULL;
		}
		argv[i] = buf + off;
		off = (size_t)(end - buf) + 1;
	}
	*cwd = strndup(buf, h->cwd_len);
	if (!*cwd) {
		free(argv);
		return NULL;
	}
	return argv;
}

/* One command's process, from its fork to its execve(): init's run, made its own. */
struct cmd_spawn {
	struct run run; /* a copy: the child may share init's memory (hutch_run_spawn) */
	const int *fds;
	size_t nfds;
	const char *cwd;
	int ep_read;
};

static int cmd_main(void *data)
{
	struct cmd_spawn *s = data;
	struct run *r = &s->run;

	for (int i = 0; i < 3; i++)
		if (!r->tty.is_tty[i] && (size_t)i < s->nfds && s->fds[i] != i)
			dup2(s->fds[i], i);
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i] > 2)
			close(s->fds[i]);
	if (chdir(s->cwd) < 0 && chdir(r->p->workspace) < 0)
		(void)!chdir("/");
	close(s->ep_read);
	hutch_run_workload(r);
}

/*
 * The command's process. It shares init's memory until its execve() when
 * nothing outside can hold that execve up; with exec notifications (audit log,
 * command rules) the supervisor answers each one, maybe after asking the user,
 * and init must not wait for that: a fork then.
 */
static pid_t cmd_spawn(struct run *r, struct cmd_spawn *s)
{
	pid_t pid;

	if (!hutch_audit_wants_exec(r->audit))
		return hutch_run_spawn(cmd_main, s);
	pid = fork();
	if (pid == 0)
		_exit(cmd_main(s));
	return pid < 0 ? -errno : pid;
}

/*
 * The command's Landlock ruleset, made here from the prepared rules and the stdio
 * the command will have (the client's, else init's own), or the one kept from an
 * earlier command with the same stdio: the command only enforces it. A terminal's
 * pty is new for every command (and its inode number is the pty's index, used
 * again): the command makes that ruleset itself, as it does when this fails.
 * Returns the ruleset to close once the command is spawned, or -1.
 */
static int cmd_ruleset(struct run *r, struct run *cmd, const int *fds, size_t nfds)
{
	hutch_error e = {0};
	int stdio[3], fd;
	bool kept;

	if (!r->ll_prepared || cmd->tty.any)
		return -1;
	for (int i = 0; i < 3; i++)
		stdio[i] = (size_t)i < nfds ? fds[i] : i;
	fd = hutch_landlock_prepared_ruleset(r->ll_prepared, stdio, &kept, &e);
	if (fd < 0)
		return -1;
	cmd->has_ll_ruleset = true;
	cmd->ll_ruleset = fd;
	return kept ? -1 : fd;
}

/*
 * The session stops: the daemon gets a copy of each connection init took, to
 * answer the client of a command that init, killed at the end of the grace
 * period, can no longer report (as killed by SIGKILL, not as a lost connection).
 */
static void init_hand_over(struct named_init *ni)
{
	for (size_t i = 0; i < ni->n; i++) {
		struct named_init_cmd *c = &ni->cmds[i];
		if (c->client < 0 || c->handed)
			continue;
		init_send(ni->r, NM_BEGUN, c->id, 0, NULL, c->client);
		c->handed = true;
	}
}

/*
 * Start the command @h asks for. @client: the connection of the hutch exec that
 * asked, when init took it itself (the answers go there), else -1 (the daemon's
 * request: the answers go to the daemon). True when the command runs, and the
 * command then owns @client.
 */
static bool init_start_cmd(struct named_init *ni, const struct hutch_nm_hdr *h, char *buf,
			   size_t len, int *fds, size_t nfds, int client)
{
	struct run *r = ni->r;
	_cleanup_free_ char *cwd = NULL;
	_cleanup_free_ char **argv = parse_exec(h, buf, len, &cwd);
	_cleanup_free_ struct cmd_spawn *s = NULL;
	struct hutch_tty_info t;
	struct named_init_cmd *c;
	int master = -1, slave = -1, ruleset = -1, ep[2];
	uint32_t id =
		client >= 0 ? HUTCH_NAMED_INIT_ID | (++ni->next_id & ~HUTCH_NAMED_INIT_ID) : h->id;
	bool started = false;
	pid_t pid;

	memset(&t, 0, sizeof(t));
	t.host_fd = -1;
	for (int i = 0; i < 3; i++)
		t.is_tty[i] = (h->tty >> i) & 1;
	t.any = h->tty != 0;
	t.winsize = h->ws;
	if (!argv || ni->n >= HUTCH_NAMED_MAX_CMDS) {
		init_send_to(r, client, NM_ERROR, id, HUTCH_EXIT_ERROR,
			     argv ? "too many commands in this session" : "malformed command", -1);
		return false;
	}
	for (size_t i = 0; i < nfds; i++) {
		struct stat st;
		if (fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			init_send_to(
				r, client, NM_ERROR, id, HUTCH_EXIT_ERROR,
				"a directory as stdin/stdout/stderr would bypass the sandbox's "
				"filesystem view: refused",
				-1);
			return false;
		}
	}
	s = malloc(sizeof(*s));
	if (!s) {
		init_send_to(r, client, NM_ERROR, id, HUTCH_EXIT_ERROR, "out of memory", -1);
		return false;
	}
	if (t.any) {
		hutch_error e = {0};
		if (hutch_pty_open(&t, &master, &slave, &e) < 0) {
			init_send_to(r, client, NM_ERROR, id, HUTCH_EXIT_ERROR, e.msg, -1);
			return false;
		}
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		init_send_to(r, client, NM_ERROR, id, HUTCH_EXIT_ERROR, "pipe", -1);
		goto out;
	}
	s->run = *r;
	s->run.argv = argv;
	s->run.tty = t;
	ruleset = cmd_ruleset(r, &s->run, fds, nfds);
	s->run.slave = slave;
	s->run.errpipe[0] = -1;
	s->run.errpipe[1] = ep[1];
	s->fds = fds;
	s->nfds = nfds;
	s->cwd = cwd;
	s->ep_read = ep[0];
	pid = cmd_spawn(r, s);
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		init_send_to(r, client, NM_ERROR, id, HUTCH_EXIT_ERROR, "fork failed", -1);
		goto out;
	}
	c = &ni->cmds[ni->n++];
	c->id = id;
	c->pid = pid;
	c->errfd = ep[0];
	c->client = client;
	c->handed = false;
	started = true;
	/* A terminal's master goes to the client; without one there is nothing to say. */
	if (master >= 0)
		init_send_to(r, client, NM_STARTED, id, 0, NULL, master);
	if (ni->stopping)
		init_hand_over(ni);
out:
	if (ruleset >= 0)
		close(ruleset);
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	return started;
}

/*
 * Would the daemon have a line for the user about a command that ended with
 * @status (a limit that ended it)? Its answer goes through the daemon then: the
 * line before the status. Init sees no cgroup counters when it takes commands.
 */
static bool init_limit_notice(const struct run *r, int status)
{
	struct hutch_limit_hit hits[HUTCH_MAX_LIMIT_HITS];
	size_t n = hutch_limits_hits(hutch_limits_info(r->lim), NULL, status, false, hits,
				     ARRAY_SIZE(hits));

	for (size_t i = 0; i < n; i++)
		if (!hits[i].quiet && hits[i].which != HUTCH_LIMIT_TIMEOUT)
			return true;
	return false;
}

/*
 * How command @c ended, to its client: from init itself, or through the daemon
 * (with the connection, unless the daemon has a copy) when the daemon has a line
 * to say first.
 */
static void init_report(struct run *r, struct named_init_cmd *c, uint32_t type, int32_t value,
			const char *msg)
{
	if (c->client < 0) {
		init_send(r, type, c->id, value, msg, -1);
		return;
	}
	if (type == NM_ERROR || !init_limit_notice(r, value)) {
		init_send_to(r, c->client, type, c->id, value, msg, -1);
		if (c->handed)
			init_send(r, NM_EXITED, c->id, value, NULL, -1);
	} else {
		init_send(r, type, c->id, value, msg, c->handed ? -1 : c->client);
	}
	close(c->client);
	c->client = -1;
}

/* Reap what ended; true when no process but init is left. */
static bool init_reap(struct named_init *ni)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (hutch_init_untrace(pid, st))
			continue;
		for (size_t i = 0; i < ni->n; i++) {
			struct named_init_cmd *c = &ni->cmds[i];
			struct child_report rep;
			if (c->pid != pid)
				continue;
			if (read(c->errfd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
				rep.msg[sizeof(rep.msg) - 1] = '\0';
				init_report(ni->r, c, NM_ERROR, rep.status, rep.msg);
			} else {
				init_report(ni->r, c, NM_EXIT, hutch_wait_status_to_exit(st), NULL);
			}
			close(c->errfd);
			*c = ni->cmds[--ni->n];
			break;
		}
	}
	return pid < 0 && errno == ECHILD;
}

/* A signal for the command @id: what its client sent, or the daemon. */
static void init_signal(struct named_init *ni, uint32_t id, int sig)
{
	for (size_t i = 0; i < ni->n; i++)
		if (ni->cmds[i].id == id && sig > 0 && sig < 65) {
			kill(ni->cmds[i].pid, sig);
			/* the end of a grace period: its process group too */
			if (sig == SIGKILL)
				kill(-ni->cmds[i].pid, SIGKILL);
		}
}

/*
 * A message on the connection of command @c's client: a signal to pass on. Its
 * end before the command's: the hang-up the command would get from a terminal.
 */
static void init_on_client(struct named_init *ni, struct named_init_cmd *c)
{
	static char buf[256];
	struct hutch_nm_hdr h;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(c->client, &h, buf, sizeof(buf), fds, &nfds);

	if (len == -EAGAIN || len == -EINTR)
		return;
	for (size_t i = 0; len >= 0 && i < nfds; i++)
		close(fds[i]);
	if (len < 0 || h.type == 0) {
		close(c->client);
		c->client = -1;
		init_signal(ni, c->id, SIGHUP);
		return;
	}
	if (h.type == NM_SIGNAL)
		init_signal(ni, c->id, h.value);
}

/*
 * The first message of a connection init took: a command to start, or hutch stop,
 * which goes to the daemon with its connection. False while it has not come.
 */
static bool init_on_request(struct named_init *ni, int fd)
{
	static char buf[HUTCH_NAMED_MAX_MSG + 1];
	struct hutch_nm_hdr h;
	int fds[3];
	size_t nfds = 0;
	ssize_t len = hutch_nm_recv(fd, &h, buf, sizeof(buf) - 1, fds, &nfds);
	bool taken = false;

	if (len == -EAGAIN || len == -EINTR)
		return false;
	if (len >= 0 && h.type == NM_EXEC)
		taken = init_start_cmd(ni, &h, buf, (size_t)len, fds, nfds, fd);
	else if (len >= 0 && h.type == NM_STOP)
		init_send(ni->r, NM_STOP, 0, h.value, NULL, fd);
	for (size_t i = 0; len >= 0 && i < nfds; i++)
		close(fds[i]);
	if (!taken)
		close(fd);
	return true;
}

/* New connections on control.sock: only from the user who owns the session. */
static void init_accept(struct named_init *ni)
{
	int fd;

	while ((fd = accept4(ni->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct ucred cred;
		socklen_t len = sizeof(cred);

		/* the directory is 0700 already: defence in depth (in init's user namespace) */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    cred.uid != getuid()) {
			close(fd);
			continue;
		}
		/* most often the request is here already: served now, not after a poll */
		if (init_on_request(ni, fd))
			continue;
		if (ni->n_pending < ARRAY_SIZE(ni->pending))
			ni->pending[ni->n_pending++] = fd;
		else
			close(fd);
	}
}

/*
 * What init waits for: the daemon, its children's ends, and when it takes hutch
 * exec's connections itself, control.sock, the requests not read yet and the
 * connections of the commands it runs. Returns how many of @pfd are set.
 */
static size_t init_poll_set(const struct named_init *ni, int sfd, struct pollfd *pfd)
{
	size_t k = 0;

	pfd[k++] = (struct pollfd){ni->r->ctl[1], POLLIN, 0};
	pfd[k++] = (struct pollfd){sfd, POLLIN, 0};
	if (ni->listen >= 0)
		pfd[k++] = (struct pollfd){ni->listen, POLLIN, 0};
	for (size_t i = 0; i < ni->n_pending; i++)
		pfd[k++] = (struct pollfd){ni->pending[i], POLLIN, 0};
	for (size_t i = 0; i < ni->n; i++)
		if (ni->cmds[i].client >= 0)
			pfd[k++] = (struct pollfd){ni->cmds[i].client, POLLIN, 0};
	return k;
}

/*
 * What the poll found on the connections (@pfd, @k: init_poll_set's). The requests
 * not read yet are few and rare: each is simply tried (nothing there yet: -EAGAIN).
 */
static void init_on_conns(struct named_init *ni, const struct pollfd *pfd, size_t k)
{
	/* the commands' connections first: their fds may be taken again by what follows */
	for (size_t j = 0; j < k; j++) {
		if (!pfd[j].revents)
			continue;
		for (size_t i = 0; i < ni->n; i++)
			if (ni->cmds[i].client == pfd[j].fd) {
				init_on_client(ni, &ni->cmds[i]);
				break;
			}
	}
	for (size_t i = ni->n_pending; i-- > 0;)
		if (init_on_request(ni, ni->pending[i]))
			ni->pending[i] = ni->pending[--ni->n_pending];
}

/*
 * PID 1 of a named session: serve NM_EXEC requests from the supervisor, or from
 * the clients themselves (hutch_named_init_serves), until the supervisor goes away
 * (then exit, which ends every process of the sandbox). Background processes
 * started by one command live on for the next.
 */
__attribute__((noreturn)) void hutch_named_init_loop(struct run *r)
{
	static struct named_init ni;
	static char buf[HUTCH_NAMED_MAX_MSG + 1];
	static struct pollfd pfd[3 + INIT_MAX_PENDING + HUTCH_NAMED_MAX_CMDS];
	sigset_t mask;
	int sfd;

	ni.r = r;
	ni.listen = hutch_named_init_serves(r) ? r->session_listen : -1;
	hutch_run_named_preload(r); /* fails through r->errpipe: the session does not start */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(HUTCH_EXIT_ERROR);
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	init_send(r, NM_STARTED, 0, 0, NULL, -1); /* the sandbox is ready */
	for (;;) {
		struct hutch_nm_hdr h;
		int fds[3];
		size_t nfds = 0, k = init_poll_set(&ni, sfd, pfd);
		ssize_t len;

		if (poll(pfd, k, -1) < 0)
			continue;
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (init_reap(&ni) && ni.stopping)
				_exit(0); /* stopped: every process is gone */
		}
		init_on_conns(&ni, pfd + 2, k - 2);
		if (ni.listen >= 0 && pfd[2].revents)
			init_accept(&ni);
		if (!pfd[0].revents)
			continue;
		len = hutch_nm_recv(r->ctl[1], &h, buf, sizeof(buf) - 1, fds, &nfds);
		if (len == -EAGAIN || len == -EINTR)
			continue;
		if (len < 0 || h.type == 0)
			_exit(0); /* the supervisor is gone: so is the sandbox */
		if (h.type == NM_EXEC) {
			(void)init_start_cmd(&ni, &h, buf, (size_t)len, fds, nfds, -1);
		} else if (h.type == NM_SIGNAL) {
			init_signal(&ni, h.id, h.value);
		} else if (h.type == NM_STOP && h.value > 0 && h.value < 65) {
			/* the session ends: @value to every process, init leaves when all are gone
			 */
			ni.stopping = true;
			init_hand_over(&ni);
			(void)kill(-1, h.value);
			if (init_reap(&ni))
				_exit(0);
		}
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
}
