/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hutch_run(): the ordered setup and the supervisor.
 *
 *   supervisor (host side, the caller's uid)
 *     prepare: environment, mount plan, protected paths + placeholders, tty  (prepare.c)
 *     clone(NEWUSER|NEWNS|NEWPID|NEWIPC|NEWUTS|NEWCGROUP[|NEWNET]) ->         (start.c)
 *       init (PID 1)  runs init_steps[] in order, forks the workload
 *         workload    runs workload_steps[] in order, then execve()
 *     event loop: terminal relay, signals, (proxy, seccomp notifications)   (supervise.c)
 *     end: exit status, placeholders removed, nothing left behind          (teardown.c)
 *
 * Without user namespaces (--allow-degraded): degraded.c. Named sessions
 * (hutch session start, hutch exec): named-daemon.c and named-init.c.
 *
 * A setup failure in the sandbox is written to a CLOEXEC pipe as a struct
 * (errno, exit status, message); the launcher turns it into an error, never a
 * bare exit status. A successful execve() closes the pipe.
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

void hutch_run_init(struct run *r, const hutch_policy *p, char *const argv[],
		    const struct hutch_run_opts *opts)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->argv = argv;
	r->opts = opts;
	r->slave = r->sigfd = r->master = r->timerfd = -1;
	r->stop_ms = opts && opts->stop_timeout_set ? opts->stop_timeout_ms : HUTCH_STOP_TIMEOUT_MS;
	r->proxy_fd[0] = r->proxy_fd[1] = -1;
	r->transparent_fd = r->detach_efd = -1;
	r->errpipe[0] = r->errpipe[1] = -1;
	r->ctl[0] = r->ctl[1] = -1;
	r->session_listen = r->ready_fd = -1;
}

int hutch_run_main(struct run *r, int *status, hutch_error *err)
{
	const hutch_policy *p = r->p;
	sigset_t mask, oldmask;
	bool masked = false;
	long pid;
	int ret;

	clock_gettime(CLOCK_REALTIME, &r->start);
	ret = hutch_run_prepare(r, err);
	if (ret < 0)
		goto out;

	hutch_run_signal_set(&mask);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		ret = hutch_err(err, errno, "blocking signals");
		goto out;
	}
	masked = true;
	r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0) {
		ret = hutch_err(err, errno, "signalfd");
		goto out;
	}

	/*
	 * A plain run's init makes its network namespace itself, beside its mounts
	 * (start.c). With --allow-degraded, clone() makes it as before: a kernel that
	 * refuses it then refuses clone(), and the run falls back to degraded mode.
	 */
	r->netns_late =
		p->net_mode != HUTCH_NET_HOST && r->session_listen < 0 && !p->allow_degraded;
	pid = syscall(SYS_clone,
		      hutch_ns_clone_flags(p->net_mode != HUTCH_NET_HOST && !r->netns_late) |
			      SIGCHLD,
		      NULL, NULL, NULL, NULL);
	if (pid < 0) {
		unsigned required = p->allow_degraded ? p->require_locked : p->require;
		int errnum = errno;

		if (hutch_run_userns_refused(errnum) && !(required & HUTCH_LAYER_USERNS) &&
		    r->session_listen < 0 && !(r->opts && r->opts->session)) {
			ret = hutch_run_degraded(r, status, err);
			hutch_run_guard_persistence(r);
		} else
			ret = hutch_run_userns_error(errnum, err);
		goto out;
	}
	if (pid == 0)
		hutch_run_sandbox_init(r);
	r->init_pid = (pid_t)pid;
	close(r->errpipe[1]);
	r->errpipe[1] = -1;
	close(r->ctl[1]);
	r->ctl[1] = -1;
	ret = 0;
	if (r->parent_maps) {
		/* --ephemeral=root as the host's root: every id maps to itself */
		struct hutch_id_map m = {0, 0, 0, 0, 4294967295u};
		ret = hutch_ns_write_maps(r->init_pid, &m, err);
		if (ret >= 0 && send(r->ctl[0], "U", 1, MSG_NOSIGNAL) != 1)
			ret = hutch_err(err, errno, "starting the sandbox");
	}
	/* Into its cgroups before "G": init forks the workload only after it. */
	if (ret >= 0)
		ret = hutch_limits_enter(r->lim, r->init_pid, err);
	/* lo up before "G" (waiting here gives init the CPU at once), unless init does it. */
	if (ret >= 0 && r->p->net_mode != HUTCH_NET_HOST && r->session_listen < 0 && !r->netns_late)
		ret = hutch_run_loopback_up(r, err);
	/*
	 * In parallel with the sandbox's mounts: find the protected paths; send
	 * those that exist ("A": the sandbox mounts them at once), make the
	 * placeholders of the others, send those; "G" ends the list.
	 */
	if (ret >= 0)
		ret = hutch_run_plan_protected(r, err);
	if (ret >= 0) {
		int e = hutch_run_send_protected(r, r->protect_from, r->protect_split, 'A');
		if (e < 0)
			ret = hutch_err(err, e,
					"starting the sandbox: sending the protected paths");
	}
	if (ret >= 0) {
		/* Protected paths that exist may be a concurrent run's placeholders: share them. */
		_cleanup_free_ char **existing = calloc(r->plan->n + 1, sizeof(char *));
		size_t n_existing = 0;

		for (size_t i = 0; existing && i < r->plan->n; i++)
			if (r->plan->ops[i].kind == MOUNT_PROTECT)
				existing[n_existing++] = r->plan->ops[i].path;
		ret = existing ? hutch_placeholders_create(r->state_dir, r->missing, r->n_missing,
							   existing, n_existing, &r->ph, err)
			       : -ENOMEM;
	}
	if (ret >= 0) {
		int e = hutch_run_send_protected(r, r->protect_split, r->plan->n, 0);
		if (e < 0)
			ret = hutch_err(err, e,
					"starting the sandbox: sending the protected paths");
	}
	if (ret < 0 || send(r->ctl[0], "G", 1, MSG_NOSIGNAL) != 1) {
		if (ret >= 0)
			ret = hutch_err(err, errno, "starting the sandbox");
		kill(r->init_pid, SIGKILL);
		/*
		 * init builds the mounts meanwhile: when one fails it reports why and
		 * exits, and our next send gets EPIPE. Its report names the cause.
		 */
		if (ret == -EPIPE || ret == -ECONNRESET) {
			int rep = hutch_run_read_report(r, err);
			if (rep < 0)
				ret = rep;
		}
		waitpid(r->init_pid, NULL, 0);
		goto out;
	}
	ret = hutch_run_supervise(r, status, err);
	hutch_run_guard_persistence(r);
out:
	hutch_audit_finish(r->audit, ret, ret < 0 ? 0 : *status, r->timed_out, err,
			   r->opts ? r->opts->summary : NULL);
	if (r->guarded && r->opts && r->opts->summary) {
		r->opts->summary->persist_checked = true;
		r->opts->summary->persist_neutralised = r->guard.neutralised;
		r->opts->summary->persist_failed = r->guard.failed;
	}
	hutch_run_free(r, masked ? &oldmask : NULL);
	return ret;
}

int hutch_run(const hutch_policy *p, char *const argv[], const struct hutch_run_opts *opts,
	      int *status, hutch_error *err)
{
	struct run r;

	if (!p->finalized)
		return hutch_errx(err, EINVAL, "internal: the policy is not finalized");
	if (!argv || !argv[0])
		return hutch_errx(err, EINVAL, "no command given");
	hutch_run_init(&r, p, argv, opts);
	return hutch_run_main(&r, status, err);
}
