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
	int errfd; /* the command's setup report pipe */
};

static void init_send(struct run *r, uint32_t type, uint32_t id, int32_t value, const char *msg,
		      int fd)
{
	struct hutch_nm_hdr h = {.type = type, .id = id, .value = value};

	(void)hutch_nm_send(r->ctl[1], &h, msg, msg ? strlen(msg) : 0, fd >= 0 ? &fd : NULL,
			    fd >= 0 ? 1 : 0);
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

static void init_start_cmd(struct run *r, const struct hutch_nm_hdr *h, char *buf, size_t len,
			   int *fds, size_t nfds, struct named_init_cmd *cmds, size_t *n)
{
	_cleanup_free_ char *cwd = NULL;
	_cleanup_free_ char **argv = parse_exec(h, buf, len, &cwd);
	_cleanup_free_ struct cmd_spawn *s = NULL;
	struct hutch_tty_info t;
	int master = -1, slave = -1, ruleset = -1, ep[2];
	pid_t pid;

	memset(&t, 0, sizeof(t));
	t.host_fd = -1;
	for (int i = 0; i < 3; i++)
		t.is_tty[i] = (h->tty >> i) & 1;
	t.any = h->tty != 0;
	t.winsize = h->ws;
	if (!argv || *n >= HUTCH_NAMED_MAX_CMDS) {
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR,
			  argv ? "too many commands in this session" : "malformed command", -1);
		return;
	}
	for (size_t i = 0; i < nfds; i++) {
		struct stat st;
		if (fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR,
				  "a directory as stdin/stdout/stderr would bypass the sandbox's "
				  "filesystem view: refused",
				  -1);
			return;
		}
	}
	s = malloc(sizeof(*s));
	if (!s) {
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, "out of memory", -1);
		return;
	}
	if (t.any) {
		hutch_error e = {0};
		if (hutch_pty_open(&t, &master, &slave, &e) < 0) {
			init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, e.msg, -1);
			return;
		}
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, "pipe", -1);
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
		init_send(r, NM_ERROR, h->id, HUTCH_EXIT_ERROR, "fork failed", -1);
		goto out;
	}
	cmds[*n].id = h->id;
	cmds[*n].pid = pid;
	cmds[*n].errfd = ep[0];
	(*n)++;
	/* A terminal's master goes to the client; without one there is nothing to say. */
	if (master >= 0)
		init_send(r, NM_STARTED, h->id, 0, NULL, master);
out:
	if (ruleset >= 0)
		close(ruleset);
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
}

/* Reap what ended; true when no process but init is left. */
static bool init_reap(struct run *r, struct named_init_cmd *cmds, size_t *n)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (hutch_init_untrace(pid, st))
			continue;
		for (size_t i = 0; i < *n; i++) {
			struct child_report rep;
			if (cmds[i].pid != pid)
				continue;
			if (read(cmds[i].errfd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
				rep.msg[sizeof(rep.msg) - 1] = '\0';
				init_send(r, NM_ERROR, cmds[i].id, rep.status, rep.msg, -1);
			} else {
				init_send(r, NM_EXIT, cmds[i].id, hutch_wait_status_to_exit(st),
					  NULL, -1);
			}
			close(cmds[i].errfd);
			cmds[i] = cmds[--(*n)];
			break;
		}
	}
	return pid < 0 && errno == ECHILD;
}

/*
 * PID 1 of a named session: serve NM_EXEC requests from the supervisor until
 * it goes away (then exit, which ends every process of the sandbox).
 * Background processes started by one command live on for the next.
 */
__attribute__((noreturn)) void hutch_named_init_loop(struct run *r)
{
	struct named_init_cmd cmds[HUTCH_NAMED_MAX_CMDS];
	static char buf[HUTCH_NAMED_MAX_MSG + 1];
	size_t n = 0;
	sigset_t mask;
	bool stopping = false;
	int sfd;

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
		struct pollfd pfd[2] = {{r->ctl[1], POLLIN, 0}, {sfd, POLLIN, 0}};
		struct hutch_nm_hdr h;
		int fds[3];
		size_t nfds = 0;
		ssize_t len;

		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (init_reap(r, cmds, &n) && stopping)
				_exit(0); /* stopped: every process is gone */
		}
		if (!pfd[0].revents)
			continue;
		len = hutch_nm_recv(r->ctl[1], &h, buf, sizeof(buf) - 1, fds, &nfds);
		if (len == -EAGAIN || len == -EINTR)
			continue;
		if (len < 0 || h.type == 0)
			_exit(0); /* the supervisor is gone: so is the sandbox */
		if (h.type == NM_EXEC) {
			init_start_cmd(r, &h, buf, (size_t)len, fds, nfds, cmds, &n);
		} else if (h.type == NM_SIGNAL) {
			for (size_t i = 0; i < n; i++)
				if (cmds[i].id == h.id && h.value > 0 && h.value < 65) {
					kill(cmds[i].pid, h.value);
					/* the end of a grace period: its process group too */
					if (h.value == SIGKILL)
						kill(-cmds[i].pid, SIGKILL);
				}
		} else if (h.type == NM_STOP && h.value > 0 && h.value < 65) {
			/* the session ends: @value to every process, init leaves when all are gone
			 */
			stopping = true;
			(void)kill(-1, h.value);
			if (init_reap(r, cmds, &n))
				_exit(0);
		}
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
}
