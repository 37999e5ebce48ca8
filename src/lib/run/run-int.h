/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The run sequence's own state and steps, shared by its files (docs/ARCHITECTURE.md
 * has the flow):
 *
 *   run.c            hutch_run(): prepare, start, supervise, tear down, in that order
 *   prepare.c        host side, before clone()
 *   start.c          clone(), init's and the workload's setup steps, execve()
 *   supervise.c      the host side's event loop until init exits
 *   teardown.c       after the sandbox: placeholders, git redirections, gitguard, freeing
 *   degraded.c       --allow-degraded without user namespaces
 *   named-init.c     named sessions, in the sandbox: init serves `hutch exec`
 *   named-daemon.c   named sessions, on the host: the daemon and its clients
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hutch.h"
#include "audit/gitguard.h"
#include "limits/limit.h"
#include "sandbox/pty.h"

#define MAX_LANDLOCK_PATHS 1024
/* One message of protected paths from the supervisor to the sandbox (bytes). */
#define PROTECT_MSG_MAX (32 * 1024)

/* What a failed setup step sends to the launcher (fits in one atomic pipe write). */
struct child_report {
	int code;
	int status;
	char msg[1024];
	char hint[512];
};

struct run {
	const struct hutch_policy *p;
	char *const *argv;
	const struct hutch_run_opts *opts;
	char id[17];
	uid_t uid;
	gid_t gid;
	bool root_mode;	  /* --ephemeral=root: / is the session's root layer */
	bool parent_maps; /* the launcher writes the id maps (the whole range, as the host's root)
			   */
	char **env;
	char *state_dir;
	const char *xdg_runtime_dir; /* a private tmpfs inside, when set */
	struct hutch_mount_plan *plan;
	struct hutch_mount_tree *tree; /* sandbox: built in two steps (the protected paths last) */
	struct hutch_placeholders *ph;
	size_t protect_from;  /* plan->ops from here on: found by hutch_run_plan_protected() */
	size_t protect_split; /* and from here on: those of paths that need a placeholder */
	char **missing;	      /* protected paths needing a placeholder (made after clone) */
	size_t n_missing;
	struct hutch_tty_info tty;
	int errpipe[2];
	int ctl[2]; /* [0] supervisor, [1] sandbox */
	int slave;  /* sandbox: pty peer */
	unsigned layers;
	/* supervisor */
	pid_t init_pid;
	struct hutch_loop *loop;
	int sigfd;
	int master;
	struct hutch_relay *relay;
	bool init_exited;
	int init_status;
	int timerfd;
	bool degraded;		 /* no user namespace: Landlock + seccomp + rlimits only */
	bool user_notif;	 /* seccomp user notification is available */
	const char **ll_protect; /* degraded: absolute protected paths for Landlock */
	size_t n_ll_protect;
	int proxy_fd[2];		 /* listening sockets made inside the netns: HTTP, SOCKS5 */
	struct hutch_proxy *proxy;	 /* the filtering proxy, once both sockets arrived */
	int transparent_fd;		 /* the transparent listener, until the proxy starts */
	struct hutch_resolver *resolver; /* the sandbox's DNS (net/resolver.h) */
	struct hutch_asker *asker;	 /* --ask: the questions, off the loop */
	hutch_error proxy_err;		 /* why the proxy could not start (fail closed) */
	/* host ports (--host-port): made at their first listening socket */
	struct hutch_hostport *hostport;
	/* named sessions (named-daemon.c on the host, named-init.c in init) */
	int session_listen;  /* control.sock, -1 when not a named session */
	int stop_clients[8]; /* hutch stop's connections: told what the stop carried back */
	size_t n_stop_clients;
	int ready_fd;		      /* daemon -> foreground hutch: "ready" or an error */
	struct hutch_named_cmd *cmds; /* daemon: commands in flight, by id */
	size_t n_cmds;
	uint32_t next_id;
	bool timed_out;
	bool killed;
	/* stopping: the polite signal went in, SIGKILL to the whole sandbox after stop_ms */
	bool stopping;
	int stop_signal; /* SIGTERM, SIGINT or SIGHUP sent to hutch that started it, 0 if none */
	uint64_t stop_ms;
	struct hutch_limits_state *lim; /* limits: who enforces what, cgroups, what fired */
	struct hutch_audit *audit;	/* audit log, exec monitor, summary counters */
	struct timespec start;		/* CLOCK_REALTIME before the sandbox: for gitguard.c */
	struct hutch_gitguard_stats guard;
	bool guarded;
	/*
	 * A named session's init applied no_new_privs, the empty bounding set and the
	 * seccomp filter to itself before serving commands (hutch_run_named_preload):
	 * each command inherits them from the start, its steps do not load them again.
	 */
	bool preloaded;
	/* a named session's init: its commands' Landlock rules, prepared once */
	struct hutch_landlock_prepared *ll_prepared;
	/*
	 * A command of a named session: the ruleset its init made of those rules and
	 * the command's stdio (hutch_landlock_prepared_ruleset()), enforced as it is;
	 * without one, the command makes it itself.
	 */
	bool has_ll_ruleset;
	int ll_ruleset;
	/*
	 * Init makes the network namespace in a thread of its own while it builds
	 * the mounts (start.c, step_netns_begin): not in clone(), where it is
	 * most of the time the supervisor waits.
	 */
	bool netns_late;
	struct netns_job *netns;
	/*
	 * The old root is detached by the network namespace's thread of init while
	 * the workload runs its steps; the workload waits for it on this eventfd
	 * (the thread's) before its execve().
	 */
	bool detach_pending;
	int detach_efd;
};

struct setup_step {
	const char *name;
	int (*fn)(struct run *r, hutch_error *err);
};

#define HUTCH_NAMED_MAX_CMDS 256
/* The ids of the commands init takes itself: apart from the daemon's */
#define HUTCH_NAMED_INIT_ID 0x80000000u

struct hutch_named_cmd {
	uint32_t id;
	int client; /* -1 once the client went away */
	bool done;
	struct hutch_cg_events ev0; /* the limits' counters when it started */
};

/* prepare.c */
int hutch_run_prepare(struct run *r, hutch_error *err);
int hutch_run_plan_protected(struct run *r, hutch_error *err);
int hutch_run_send_protected(struct run *r, size_t from, size_t to, char end);

/* start.c (the sandbox side does not return) */
__attribute__((noreturn)) void hutch_run_sandbox_init(struct run *r);
__attribute__((noreturn)) void hutch_run_workload(struct run *r);
__attribute__((noreturn)) void hutch_run_child_fail(struct run *r, const char *step,
						    const hutch_error *e);
void hutch_run_named_preload(struct run *r);
/*
 * fn(arg) in a new process that shares the caller's memory until its execve()
 * or its exit, the caller waiting meanwhile, as posix_spawn() does (a plain
 * fork under AddressSanitizer). Its pid, or a negative errno.
 */
pid_t hutch_run_spawn(int (*fn)(void *), void *arg);
int hutch_run_loopback_up(struct run *r, hutch_error *err);
/* The workload's writes are notified (seccomp notify_writes): refused ones are counted. */
bool hutch_run_notify_writes(const struct run *r);
/* Landlock's writable paths for the workload (not --ephemeral=root's top directories). */
size_t hutch_run_landlock_writable(const struct run *r, const char **rw, size_t max);
int hutch_run_userns_error(int errnum, hutch_error *err);

/* supervise.c */
int hutch_run_supervise(struct run *r, int *status, hutch_error *err);
int hutch_run_recv_fd(int sock, uint32_t *tag);
int hutch_run_read_report(struct run *r, hutch_error *err);
int hutch_run_take_ctl_fd(struct run *r, struct hutch_loop *loop, uint32_t tag, int got);
void hutch_run_stop_begin(struct run *r);
void hutch_run_stop_terminate_all(struct run *r);
void hutch_run_signal_set(sigset_t *set);

/* teardown.c */
void hutch_run_placeholders_done(struct run *r);
void hutch_run_guard_persistence(struct run *r);
void hutch_run_sandbox_done(struct run *r);
void hutch_run_free(struct run *r, const sigset_t *oldmask);

/* degraded.c */
bool hutch_run_userns_refused(int errnum);
int hutch_run_degraded(struct run *r, int *status, hutch_error *err);

/* run.c */
void hutch_run_init(struct run *r, const hutch_policy *p, char *const argv[],
		    const struct hutch_run_opts *opts);
int hutch_run_main(struct run *r, int *status, hutch_error *err);

/* named-init.c: PID 1 of a named session */
__attribute__((noreturn)) void hutch_named_init_loop(struct run *r);

/* named-daemon.c: the supervisor of a named session */
int hutch_named_on_ctl(struct hutch_loop *loop, int fd, uint32_t events, void *data);
int hutch_named_on_listen(struct hutch_loop *loop, int fd, uint32_t events, void *data);
void hutch_named_end_cmds(struct run *r);
/*
 * Does init take hutch exec's connections on control.sock itself (named-init.c)?
 * Only when no cgroup counts what each command used: those counters are the
 * daemon's to read, when a command starts and when it ends.
 */
bool hutch_named_init_serves(const struct run *r);
