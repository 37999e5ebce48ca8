/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Supervising the sandbox: the event loop of the host side (signals, timers, the
 * control socket, the proxy and host ports, --ask) until init exits.
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
#include "base/fdpass.h"
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
#include "net/resolver.h"
#include "sandbox/pty.h"
#include "limits/rlimit.h"
#include "audit/gitguard.h"
#include "run/run.h"
#include "sandbox/seccomp.h"
#include "session/session.h"
#include "run/run-int.h"

int hutch_run_recv_fd(int sock, uint32_t *tag)
{
	size_t nfds;
	int fd;
	ssize_t n = hutch_fds_recv(sock, tag, sizeof(*tag), &fd, 1, &nfds, MSG_DONTWAIT);

	if (n < 0)
		return (int)n;
	if (n == 0) {
		if (fd >= 0)
			close(fd);
		return -EPIPE;
	}
	if (fd < 0 && n == sizeof(*tag))
		return -ENOENT; /* a message without a descriptor: only the tag */
	return fd >= 0 ? fd : -EBADMSG;
}

/*
 * Init has killed and reaped every other process of the sandbox and is about
 * to exit: nothing in it can use a protected path or write a workspace any
 * more, so the placeholders go now and the workspace's git directories are
 * checked, while the kernel takes the namespaces down.
 */
static void sandbox_gone(struct run *r)
{
	if (r->session_listen >= 0 || r->degraded)
		return;
	hutch_run_sandbox_done(r);
}

static void on_proxy_record(const struct hutch_proxy_record *rec, void *data)
{
	struct run *r = data;
	char msg[600];

	hutch_audit_proxy_record(rec, r->audit);
	if (rec->phase != HUTCH_PROXY_END || rec->outcome == HUTCH_PROXY_CONNECTED || !r->opts ||
	    !r->opts->warn || r->opts->verbose < 1)
		return;
	if (rec->outcome == HUTCH_PROXY_FAILED)
		snprintf(msg, sizeof(msg), "network: connection to %s:%u failed: %s", rec->host,
			 (unsigned)rec->port, rec->reason ? rec->reason : "unknown error");
	else
		snprintf(msg, sizeof(msg), "network: denied %s:%u (%s)",
			 rec->host[0] ? rec->host : "?", (unsigned)rec->port,
			 rec->rule     ? rec->rule
			 : rec->reason ? rec->reason
				       : "not allowed");
	r->opts->warn(msg, r->opts->data);
}

/* --ask: a question for the user; the terminal relay holds still while any is open. */
static int proxy_ask(const char *host, uint16_t port, void *data)
{
	struct run *r = data;
	int ret = hutch_asker_ask(r->asker, host, port);

	if (ret >= 0)
		hutch_relay_hold(r->relay, true);
	return ret;
}

static void ask_answered(const char *host, uint16_t port, enum hutch_ask_decision answer,
			 unsigned busy, void *data)
{
	struct run *r = data;

	hutch_proxy_ask_answer(r->proxy, host, port, answer);
	if (!busy)
		hutch_relay_hold(r->relay, false);
}

/*
 * The audit log cannot go on (a write failed, its size bound was reached):
 * stop the sandbox rather than let it run unaudited. hutch_run_supervise() reports it.
 */
static void on_audit_stop(void *data)
{
	struct run *r = data;

	if (r->init_pid > 0 && !r->init_exited)
		kill(r->init_pid, SIGKILL);
}

/*
 * The proxy engine (src/lib/net) takes over both sockets. If it cannot
 * start, the sandbox is stopped: its namespace has no other way out, and a
 * command that silently has no network would only fail later and obscurely.
 */
static int start_proxy(struct run *r)
{
	struct hutch_proxy_hooks hooks = {.on_record = on_proxy_record, .userdata = r};

	int ret;

	/* --ask: the caller's question, put by the proxy, asked on the asker's thread */
	if (r->opts && r->opts->ask) {
		ret = hutch_asker_new(r->loop, r->opts, ask_answered, r, &r->asker);
		if (ret >= 0) {
			hooks.ask = proxy_ask;
			hooks.ask_data = r;
			/* names outside the allowlist resolve: the question comes with the port */
			if (r->resolver && !r->p->net_allow_locked)
				hutch_resolver_set_ask(r->resolver, true);
		} else if (r->opts->warn) {
			r->opts->warn("--ask: cannot ask (no thread for the questions): "
				      "destinations outside the allowlist are denied",
				      r->opts->data);
		}
	}

	ret = hutch_proxy_new(r->loop, r->p, r->proxy_fd[0], r->proxy_fd[1], &hooks, &r->proxy,
			      &r->proxy_err);
	r->proxy_fd[0] = r->proxy_fd[1] = -1; /* the proxy owns them now */
	if (ret >= 0 && r->transparent_fd >= 0) {
		ret = hutch_proxy_add_transparent(r->proxy, r->transparent_fd, r->resolver,
						  &r->proxy_err);
		r->transparent_fd = -1;
	}
	if (ret < 0) {
		if (!r->proxy_err.msg[0])
			hutch_err(&r->proxy_err, ret, "network: starting the proxy");
		kill(r->init_pid, SIGKILL);
	}
	return 0;
}

/* The exit summary (audit.c) lists the denied destinations so the user knows what to add. */
static void finish_proxy(struct run *r)
{
	hutch_proxy_free(r->proxy); /* closes what is left: each gives its record */
	r->proxy = NULL;
	hutch_resolver_free(r->resolver); /* after the proxy: it maps pool addresses with it */
	r->resolver = NULL;
	hutch_hostport_free(r->hostport);
	r->hostport = NULL;
}

/* A host port's listening socket: relayed to the host's loopback (proxy/hostport.h). */
static int take_host_port(struct run *r, int fd)
{
	struct hutch_proxy_hooks hooks = {.on_record = on_proxy_record, .userdata = r};
	int ret = 0;

	if (!r->hostport)
		ret = hutch_hostport_new(r->loop, r->p, &hooks, &r->hostport, &r->proxy_err);
	if (ret >= 0)
		ret = hutch_hostport_add_listener(r->hostport, fd, &r->proxy_err);
	else
		close(fd);
	if (ret < 0) /* fail closed, like the proxy: hutch_run_supervise() reports proxy_err */
		kill(r->init_pid, SIGKILL);
	return 0;
}

/* The sandbox's resolver sockets (transparent egress): served from the loop. */
static int take_dns(struct run *r, struct hutch_loop *loop, int fd, bool tcp)
{
	int ret = 0;

	if (!r->resolver)
		ret = hutch_resolver_new(r->p, &r->resolver, &r->proxy_err);
	if (ret >= 0)
		ret = (tcp ? hutch_resolver_add_tcp : hutch_resolver_add_udp)(r->resolver, loop, fd,
									      &r->proxy_err);
	else
		close(fd);
	if (ret < 0) /* fail closed, like the proxy */
		kill(r->init_pid, SIGKILL);
	return 0;
}

/* The rules could not be loaded in the sandbox: said once, the proxy variables still work. */
static void no_transparent(struct run *r, uint32_t tag)
{
	char msg[300];
	int e = (int)(tag >> 8);

	if (!r->opts || !r->opts->warn)
		return;
	snprintf(msg, sizeof(msg),
		 "warning: network: transparent egress unavailable (nf_tables in the sandbox: %s): "
		 "only programs using the proxy variables reach the network (hutch check)",
		 strerror(e));
	r->opts->warn(msg, r->opts->data);
}

/* A descriptor the sandbox handed over: the proxy's listeners, the exec listener, the pty. */
int hutch_run_take_ctl_fd(struct run *r, struct hutch_loop *loop, uint32_t tag, int got)
{
	if ((tag & 0xff) == HUTCH_CTL_NO_TRANSPARENT) {
		close(got);
		no_transparent(r, tag);
		return 0;
	}
	switch (tag) {
	case HUTCH_CTL_DNS_UDP:
	case HUTCH_CTL_DNS_TCP:
		return take_dns(r, loop, got, tag == HUTCH_CTL_DNS_TCP);
	case HUTCH_CTL_PROXY_TRANSPARENT:
		if (r->transparent_fd >= 0)
			close(r->transparent_fd);
		r->transparent_fd = got;
		break;
	case HUTCH_CTL_PROXY_HTTP:
	case HUTCH_CTL_PROXY_SOCKS: {
		int *slot = &r->proxy_fd[tag == HUTCH_CTL_PROXY_SOCKS];
		if (*slot >= 0)
			close(*slot);
		*slot = got;
		if (r->proxy_fd[0] >= 0 && r->proxy_fd[1] >= 0)
			return start_proxy(r);
		break;
	}
	case HUTCH_CTL_HOST_PORT:
		return take_host_port(r, got);
	case HUTCH_CTL_SECCOMP: {
		/* exec notifications: audit events, command rules (the monitor owns the fd) */
		int ret = hutch_audit_add_listener(r->audit, loop, got);
		if (ret < 0 && !r->proxy_err.msg[0]) {
			/* fail closed: nothing would answer its execs; reported like the proxy's */
			hutch_err(&r->proxy_err, ret, "audit: cannot serve the exec notifications");
			hutch_err_hint(&r->proxy_err,
				       "the thread that answers them could not start");
		}
		if (ret < 0 && r->init_pid > 0 && !r->init_exited)
			kill(r->init_pid, SIGKILL);
		break;
	}
	case HUTCH_CTL_PTY:
		if (r->master >= 0 || hutch_relay_start(loop, &r->tty, got, &r->relay) < 0) {
			close(got);
			break;
		}
		r->master = got;
		hutch_relay_resize(r->relay);
		break;
	default:
		close(got);
		break;
	}
	return 0;
}

static int on_ctl(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	uint32_t tag = 0;
	int got = hutch_run_recv_fd(fd, &tag);

	if (got == -EAGAIN)
		return 0;
	if (got == -ENOENT && tag == HUTCH_CTL_GONE) {
		sandbox_gone(r);
		return 0;
	}
	if (got < 0) {
		hutch_loop_del(loop, fd);
		return 0;
	}
	return hutch_run_take_ctl_fd(r, loop, tag, got);
}

static int arm_timer(int fd, uint64_t ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm it: at once instead */
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

/*
 * Stopping the sandbox, as `docker stop` does: a polite signal first, then,
 * if it is still there after the grace period (--stop-timeout, hutch stop's),
 * SIGKILL to init, which takes its whole PID namespace with it (in degraded
 * mode: to the workload, its leftovers are killed at the end).
 */
static void stop_kill(struct run *r)
{
	if (r->killed || r->init_pid <= 0)
		return;
	r->killed = true;
	kill(r->init_pid, SIGKILL);
}

void hutch_run_stop_begin(struct run *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	hutch_asker_cancel(r->asker); /* an open question is refused: the sandbox ends */
	if (r->timerfd < 0 || arm_timer(r->timerfd, r->stop_ms) < 0)
		stop_kill(r); /* no way to wait: fail closed, at once */
}

/* The polite signal to every process of the sandbox (a timeout, hutch stop): SIGTERM. */
void hutch_run_stop_terminate_all(struct run *r)
{
	if (r->session_listen >= 0) {
		struct hutch_nm_hdr h = {.type = NM_STOP, .value = SIGTERM};

		if (hutch_nm_send(r->ctl[0], &h, NULL, 0, NULL, 0) < 0)
			stop_kill(r);
	} else {
		kill(r->init_pid, r->degraded ? SIGTERM : HUTCH_SIG_TERMINATE_ALL);
	}
}

/* SIGTERM, SIGINT, SIGHUP sent to hutch: passed on, then the grace period. */
static bool is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

static int on_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t pid;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				/* degraded mode: the workload is ours, and may make us its tracer
				 */
				if (hutch_init_untrace(pid, st))
					continue;
				if (pid == r->init_pid) {
					r->init_exited = true;
					r->init_status = st;
				}
			}
			if (r->init_exited)
				hutch_loop_quit(loop, 0);
		} else if (si.ssi_signo == SIGWINCH) {
			hutch_relay_resize(r->relay);
		} else if (r->init_pid > 0 && r->session_listen >= 0) {
			/* the daemon of a named session: a stop of the whole session */
			if (is_stop_signal((int)si.ssi_signo)) {
				hutch_run_stop_terminate_all(r);
				hutch_run_stop_begin(r);
			}
		} else if (r->init_pid > 0) {
			kill(r->init_pid, (int)si.ssi_signo);
			if (is_stop_signal((int)si.ssi_signo)) {
				if (!r->stop_signal && !r->timed_out)
					r->stop_signal = (int)si.ssi_signo;
				hutch_run_stop_begin(r);
			}
		}
	}
	return 0;
}

static int on_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	uint64_t n;
	char msg[128];

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	if (!r->stopping) {
		r->timed_out = true;
		snprintf(msg, sizeof(msg),
			 "timeout: the command ran longer than %llu ms; stopping the sandbox",
			 (unsigned long long)r->p->limits.timeout_ms);
		if (r->opts && r->opts->warn)
			r->opts->warn(msg, r->opts->data);
		hutch_audit_limit(r->audit, "timeout", r->p->limits.timeout_ms, msg);
		hutch_run_stop_terminate_all(r);
		hutch_run_stop_begin(r);
		return 0;
	}
	stop_kill(r); /* the grace period is over */
	return 0;
}

void hutch_run_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; hutch_forwarded_signals[i]; i++)
		sigaddset(set, hutch_forwarded_signals[i]);
}

int hutch_run_read_report(struct run *r, hutch_error *err)
{
	struct child_report rep;
	ssize_t n = read(r->errpipe[0], &rep, sizeof(rep));

	if (n != (ssize_t)sizeof(rep))
		return 0;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	rep.hint[sizeof(rep.hint) - 1] = '\0';
	hutch_errx(err, rep.code, "%s", rep.msg);
	hutch_err_status(err, rep.status);
	if (rep.hint[0])
		hutch_err_hint(err, "%s", rep.hint);
	return rep.code < 0 ? rep.code : -EINVAL;
}

int hutch_run_supervise(struct run *r, int *status, hutch_error *err)
{
	int ret;

	ret = hutch_loop_new(&r->loop);
	if (ret < 0)
		return hutch_err(err, ret, "event loop");
	ret = hutch_loop_add(r->loop, r->sigfd, EPOLLIN, on_signal, r);
	if (ret >= 0)
		ret = hutch_loop_add(r->loop, r->ctl[0], EPOLLIN,
				     r->session_listen >= 0 ? hutch_named_on_ctl : on_ctl, r);
	if (ret >= 0 && r->session_listen >= 0 && !hutch_named_init_serves(r))
		ret = hutch_loop_add(r->loop, r->session_listen, EPOLLIN, hutch_named_on_listen, r);
	/* One timer: --timeout, then the grace period of a stop. */
	if (ret >= 0) {
		r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ret = r->timerfd < 0 ? -errno : 0;
		if (ret >= 0 && r->p->limits.timeout_ms)
			ret = arm_timer(r->timerfd, r->p->limits.timeout_ms);
		if (ret >= 0)
			ret = hutch_loop_add(r->loop, r->timerfd, EPOLLIN, on_timer, r);
	}
	/* Degraded mode: the pty was opened here, not handed over by the sandbox. */
	if (ret >= 0 && r->degraded && r->master >= 0)
		ret = hutch_relay_start(r->loop, &r->tty, r->master, &r->relay);
	if (ret < 0)
		return hutch_err(err, ret, "event loop");
	/* A SIGCHLD may have arrived before the loop started: check once. */
	{
		int st;
		if (waitpid(r->init_pid, &st, WNOHANG) == r->init_pid) {
			r->init_exited = true;
			r->init_status = st;
		}
	}
	hutch_audit_on_stop(r->audit, on_audit_stop, r);
	if (hutch_run_notify_writes(r)) {
		const char *rw[MAX_LANDLOCK_PATHS];
		size_t n = hutch_run_landlock_writable(r, rw, MAX_LANDLOCK_PATHS);

		/* --ephemeral=root adds the root layer's top directories: not foreseen */
		ret = hutch_audit_watch_writes(r->audit,
					       (r->layers & HUTCH_LAYER_LANDLOCK) && !r->root_mode,
					       rw, n, r->plan);
		if (ret < 0) {
			kill(r->init_pid, SIGKILL);
			waitpid(r->init_pid, NULL, 0);
			return hutch_err(err, ret, "audit: watching refused writes");
		}
	}
	/* "start" and the before-snapshot: the workload's first exec waits for the loop. */
	hutch_audit_started(r->audit, r->degraded ? r->layers & ~HUTCH_LAYER_USERNS : r->layers,
			    hutch_landlock_abi(), r->degraded, r->argv, r->plan);
	/* file events of a long session: written every HUTCH_AUDIT_FLUSH_MS */
	ret = hutch_audit_watch_files(r->audit, r->loop);
	if (ret < 0) {
		kill(r->init_pid, SIGKILL);
		waitpid(r->init_pid, NULL, 0);
		return hutch_err(err, ret, "audit: the file comparison timer");
	}
	if (!r->init_exited) {
		ret = hutch_loop_run(r->loop);
		if (ret < 0) {
			kill(r->init_pid, SIGKILL);
			waitpid(r->init_pid, NULL, 0);
			return hutch_err(err, ret, "event loop");
		}
	}
	/* A pty may have been handed over just before init exited. */
	if (r->session_listen < 0)
		on_ctl(r->loop, r->ctl[0], EPOLLIN, r);
	else
		hutch_named_end_cmds(r);
	/* the execs served last, in the log before the limits and "end" */
	hutch_audit_drain_execs(r->audit);
	hutch_asker_free(r->asker); /* an open question ends: nobody waits for it */
	r->asker = NULL;
	hutch_relay_hold(r->relay, false);
	if (r->relay)
		hutch_relay_finish(r->relay);
	finish_proxy(r);
	ret = hutch_run_read_report(r, err);
	if (ret < 0)
		return ret;
	if (r->proxy_err.msg[0]) {
		*err = r->proxy_err;
		return r->proxy_err.code ? r->proxy_err.code : -EIO;
	}
	ret = hutch_audit_stopped(r->audit, err);
	if (ret < 0)
		return ret;
	*status = r->timed_out ? HUTCH_EXIT_TIMEOUT : hutch_wait_status_to_exit(r->init_status);
	/* Killed after the grace period of a signal to hutch: as if that signal had ended it. */
	if (!r->timed_out && r->killed && r->stop_signal)
		*status = 128 + r->stop_signal;
	/* Which limits fired (OOM kills, refused forks): one line each; audit "limit" events. */
	hutch_limits_collect(r->lim, hutch_wait_status_to_exit(r->init_status), r->timed_out);
	hutch_audit_limits_fired(r->audit, r->lim);
	hutch_limits_say_fired(r->lim, r->opts && r->opts->verbose, r->opts ? r->opts->warn : NULL,
			       r->opts ? r->opts->data : NULL);
	return 0;
}
