/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Degraded mode (--allow-degraded, no user namespace): Landlock, seccomp and
 * rlimits only, the workload a child of hutch.
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

bool hutch_run_userns_refused(int errnum)
{
	return errnum == EPERM || errnum == EACCES || errnum == EINVAL || errnum == ENOSPC ||
	       errnum == EUSERS;
}

static int degraded_prepare(struct run *r, hutch_error *err)
{
	if (r->p->net_mode == HUTCH_NET_PROXY)
		return hutch_errx(
			err, EOPNOTSUPP,
			"--net proxy needs user namespaces, which are not available here");
	if (r->p->net_host_ports.n)
		return hutch_errx(err, EOPNOTSUPP,
				  "--host-port needs user namespaces (its own network "
				  "namespace), which are not available here");
	if (!(r->layers & HUTCH_LAYER_LANDLOCK))
		return hutch_errx(err, EOPNOTSUPP,
				  "without user namespaces hutch needs Landlock to enforce the "
				  "filesystem policy, and it is not available either");
	r->ll_protect = calloc(r->plan->n + 1, sizeof(char *));
	if (!r->ll_protect)
		return -ENOMEM;
	for (size_t i = 0; i < r->plan->n; i++)
		if (r->plan->ops[i].kind == MOUNT_PROTECT)
			r->ll_protect[r->n_ll_protect++] = r->plan->ops[i].path;
	if (r->tty.any) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0;
		if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0)
			return hutch_err(err, errno, "terminal: opening a pty");
		r->slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (r->slave < 0) {
			close(m);
			return hutch_err(err, errno, "terminal: opening the pty's peer");
		}
		if (r->tty.have_termios)
			(void)tcsetattr(r->slave, TCSANOW, &r->tty.termios);
		(void)ioctl(r->slave, TIOCSWINSZ, &r->tty.winsize);
		r->master = m;
	}
	r->degraded = true;
	if (r->opts && r->opts->warn)
		r->opts->warn(
			"warning: user namespaces are not available: degraded mode (Landlock, "
			"seccomp and rlimits only): /tmp and /proc are the host's, host Unix "
			"sockets are reachable, background processes are killed at the end "
			"but not if hutch itself is killed",
			r->opts->data);
	return 0;
}

/* As a child subreaper, kill what the workload left behind (daemons, orphans). */
static void degraded_kill_leftovers(void)
{
	for (int round = 0; round < 64; round++) {
		char path[64], buf[4096];
		_cleanup_close_ int fd = -1;
		ssize_t n;
		bool any = false;

		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n")) {
			pid_t pid = (pid_t)atoi(tok);
			if (pid > 0 && kill(pid, SIGKILL) == 0)
				any = true;
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!any)
			return;
		usleep(1000);
	}
}

int hutch_run_degraded(struct run *r, int *status, hutch_error *err)
{
	pid_t pid;
	int ret;

	ret = hutch_run_plan_protected(r, err);
	if (ret >= 0)
		ret = degraded_prepare(r, err);
	if (ret < 0)
		return ret;
	/* No mounts to cover them: Landlock protects paths that do not exist yet. */
	hutch_run_placeholders_done(r);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid = fork();
	if (pid < 0)
		return hutch_err(err, errno, "fork");
	if (pid == 0) {
		close(r->ctl[0]);
		close(r->errpipe[0]);
		if (r->master >= 0)
			close(r->master);
		{
			/* No init to move: the workload joins its cgroups itself. */
			hutch_error e = {0};
			if (hutch_limits_enter(r->lim, 0, &e) < 0)
				hutch_run_child_fail(r, "cgroup", &e);
		}
		hutch_run_workload(r);
	}
	r->init_pid = pid;
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	close(r->ctl[1]);
	r->ctl[1] = -1;
	if (r->slave >= 0) {
		close(r->slave);
		r->slave = -1;
	}
	ret = hutch_run_supervise(r, status, err);
	degraded_kill_leftovers();
	return ret;
}
